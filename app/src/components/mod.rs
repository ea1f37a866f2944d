//! Small pieces shared by the pages.

use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_router::components::A;
use leptos_router::hooks::use_location;

use crate::auth::{AuthState, Me, Role, SignOut};
use crate::error::AppError;

/// Who is signed in, loaded once per page load (provided by `App`).
pub type WhoResource = Resource<Result<AuthState, AppError>>;

pub fn use_who() -> WhoResource {
    expect_context::<WhoResource>()
}

/// The signed-in user, once known (inside a `Suspense`/`Transition`).
pub async fn signed_in_user() -> Option<Me> {
    use_who().await.ok().and_then(|w| w.user)
}

#[component]
pub fn Nav() -> impl IntoView {
    let location = use_location();
    let current = move |prefix: &'static str| {
        let path = location.pathname.get();
        let active = if prefix == "/" {
            path == "/"
        } else {
            path.starts_with(prefix)
        };
        if active {
            "page"
        } else {
            "false"
        }
    };
    let sign_out = ServerAction::<SignOut>::new();
    Effect::new(move |_| {
        if sign_out.value().get().is_some() {
            let _ = window().location().assign("/login");
        }
    });
    view! {
        <header class="topbar">
            <a class="brand" href="/">"WorkSpaces Portal"</a>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let me = signed_in_user().await?;
                    let admin = me.role.allows(Role::Admin);
                    Some(view! {
                        <nav aria-label="Main">
                            <A href="/" attr:aria-current=move || current("/")>"Overview"</A>
                            <A href="/workspaces" attr:aria-current=move || current("/workspaces")>"WorkSpaces"</A>
                            <A href="/bundles" attr:aria-current=move || current("/bundles")>"Bundles"</A>
                            <A href="/directories" attr:aria-current=move || current("/directories")>"Directories"</A>
                            <A href="/audit" attr:aria-current=move || current("/audit")>"Audit log"</A>
                            {admin.then(|| view! { <A href="/admin/users" attr:aria-current=move || current("/admin")>"Users"</A> })}
                        </nav>
                        <div class="who">
                            <span class="user-name" data-role=me.role.as_str()>{me.name.clone()}</span>
                            <span class="badge badge-other">{me.role.as_str()}</span>
                            <PostForm action=sign_out class="sign-out">
                                <button type="submit" class="button subtle">"Sign out"</button>
                            </PostForm>
                        </div>
                    })
                })}
            </Transition>
        </header>
    }
}

/// Said where a form or buttons would be, when the signed-in role may not use them.
#[component]
pub fn NotAllowed(needed: Role, #[prop(into)] what: String) -> impl IntoView {
    view! {
        <p class="notice not-allowed" role="note">
            {format!("{what} needs the {needed} role or higher. Ask an administrator if you need it.")}
        </p>
    }
}

/// A WorkSpace state as a coloured badge; transitional states pulse.
#[component]
pub fn StateBadge(#[prop(into)] state: Signal<String>) -> impl IntoView {
    let class = move || {
        let s = state.get();
        let kind = match s.as_str() {
            "AVAILABLE" => "ok",
            "STOPPED" => "idle",
            "ERROR" | "IMPAIRED" | "UNHEALTHY" | "SUSPENDED" => "bad",
            "TERMINATED" | "TERMINATING" => "gone",
            _ if crate::workspaces::is_transitional(&s) => "busy",
            _ => "other",
        };
        format!("badge badge-{kind}")
    };
    view! { <span class=class data-state=move || state.get()>{move || state.get()}</span> }
}

/// An error as the user should see it: what went wrong and what to do.
#[component]
pub fn ErrorBox(error: AppError) -> impl IntoView {
    let hint = error.hint();
    let (detail, code) = match &error {
        AppError::Upstream { code, message } => (message.clone(), Some(code.clone())),
        AppError::Validation { field, message } => (format!("{field}: {message}"), None),
        other => (other.to_string(), None),
    };
    view! {
        <div class="error-box" role="alert">
            <strong>{error.title()}</strong>
            {code.map(|c| view! { <code class="error-code">{c}</code> })}
            <p>{detail}</p>
            {hint.map(|h| view! { <p class="hint">{h}</p> })}
        </div>
    }
}

/// A label/value row of a properties list.
#[component]
pub fn Prop(label: &'static str, #[prop(into)] value: String) -> impl IntoView {
    let value = if value.is_empty() { "—".to_string() } else { value };
    view! {
        <div class="prop">
            <dt>{label}</dt>
            <dd>{value}</dd>
        </div>
    }
}

pub fn yes_no(value: bool) -> &'static str {
    if value {
        "Yes"
    } else {
        "No"
    }
}

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
        impl $crate::components::FromForm for $function {
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
