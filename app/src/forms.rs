//! Forms that post to server functions: [`PostForm`], and [`FromForm`] — how a server
//! function's input is read from a submitted form's fields.
//!
//! Used by every domain's pages and implemented beside each domain's server functions, so it
//! lives apart from the UI widgets.

use leptos::prelude::*;
use leptos::server_fn::ServerFn;

/// A server function's input read from a submitted form's fields, by name.
///
/// What `PostForm` needs instead of `ActionForm`'s query-string deserializer, which the
/// browser bundle would carry once per form type. A missing field reads as empty; the
/// server validates every field either way.
pub trait FromForm {
    fn from_form(field: impl Fn(&str) -> String) -> Self;
}

/// `FromForm` for server functions whose arguments are all text, each posted in the form field
/// of its own name: `text_form!(SetTag { id, key, value });`.
macro_rules! text_form {
    ($($function:ident { $($field:ident),* $(,)? });+ $(;)?) => {$(
        impl $crate::forms::FromForm for $function {
            #[allow(unused_variables)]
            fn from_form(field: impl Fn(&str) -> String) -> Self {
                Self { $($field: field(stringify!($field))),* }
            }
        }
    )+};
}
pub(crate) use text_form;

/// A form posting to a server function. Before the WASM loads (or without it) it is a plain
/// `POST` to the function's URL; once hydrated it dispatches `action` and stays on the page.
#[component]
pub fn PostForm<S, C>(
    action: ServerAction<S>,
    #[prop(optional)] class: Option<&'static str>,
    children: TypedChildren<C>,
) -> impl IntoView
where
    S: ServerFn + FromForm + Send + Sync + Clone + 'static,
    S::Output: Send + Sync + 'static,
    S::Error: Send + Sync + 'static,
    C: IntoView + 'static,
{
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        use leptos::wasm_bindgen::JsCast;
        let form = ev
            .target()
            .and_then(|t| t.dyn_into::<leptos::web_sys::HtmlFormElement>().ok());
        let Some(data) = form.and_then(|f| leptos::web_sys::FormData::new_with_form(&f).ok()) else {
            return; // not a form: let the browser post it
        };
        ev.prevent_default();
        action.dispatch(S::from_form(|name| data.get(name).as_string().unwrap_or_default()));
    };
    let children = children.into_inner();
    view! { <form action=S::url() method="post" class=class on:submit=on_submit>{children()}</form> }
}
