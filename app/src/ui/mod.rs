//! Widgets every domain's pages share: the navigation, error and notice boxes, state badges,
//! property lists, and (in [`batch`]) the batch-action result and confirmation dialog.

mod batch;
mod dialog;

pub use batch::{batch_action, BatchActionHandle, BatchResult, ConfirmDialog};
pub use dialog::{dialog_focus, on_dialog_key};

use leptos::either::Either;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_location;

use crate::error::AppError;
use crate::fleet::WorkspaceState;
use crate::forms::PostForm;
use crate::identity::{AuthState, Me, Role, SignOut};

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
                    let who = use_who().await.ok()?;
                    let me = who.user?;
                    let admin = me.role.allows(Role::Admin);
                    let waiting = who.to_review;
                    Some(view! {
                        <nav aria-label="Main">
                            <A href="/" attr:aria-current=move || current("/")>"Overview"</A>
                            <A href="/workspaces" attr:aria-current=move || current("/workspaces")>"WorkSpaces"</A>
                            <A href="/bundles" attr:aria-current=move || current("/bundles")>"Bundles"</A>
                            <A href="/directories" attr:aria-current=move || current("/directories")>"Directories"</A>
                            <A href="/approvals" attr:aria-current=move || current("/approvals")>
                                "Approvals"
                                {(waiting > 0).then(|| view! {
                                    <span class="nav-count" title=format!("{waiting} waiting for your review")>
                                        {if waiting >= 100 { "99+".to_string() } else { waiting.to_string() }}
                                    </span>
                                })}
                            </A>
                            <A href="/access" attr:aria-current=move || current("/access")>"Logins"</A>
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

/// Said where a form or buttons would be, when the signed-in role may not use them; the role
/// needed comes from the policy table.
#[component]
pub fn NotAllowed(endpoint: &'static str, event: &'static str, #[prop(into)] what: String) -> impl IntoView {
    let needed = crate::policy::least_role(endpoint, event).unwrap_or(Role::Admin);
    view! {
        <p class="notice not-allowed" role="note">
            {format!("{what} needs the {needed} role or higher. Ask an administrator if you need it.")}
        </p>
    }
}

/// A WorkSpace state as a coloured badge; transitional states pulse.
#[component]
pub fn StateBadge(state: WorkspaceState) -> impl IntoView {
    let kind = match &state {
        WorkspaceState::Available => "ok",
        WorkspaceState::Stopped => "idle",
        WorkspaceState::Error | WorkspaceState::Impaired | WorkspaceState::Unhealthy | WorkspaceState::Suspended => {
            "bad"
        }
        WorkspaceState::Terminated | WorkspaceState::Terminating => "gone",
        s if s.is_transitional() => "busy",
        _ => "other",
    };
    let name = state.as_str().to_string();
    view! { <span class=format!("badge badge-{kind}") data-state=name.clone()>{name.clone()}</span> }
}

/// A WorkSpace gone from AWS (kept in the inventory for history): when it went, and the
/// state it was last read in.
#[component]
pub fn GoneBadge(at: String, last: WorkspaceState) -> impl IntoView {
    let title = format!(
        "No longer in AWS since {} UTC; last read as {}",
        utc_minute(&at),
        last.as_str()
    );
    view! { <span class="badge badge-gone" data-state="GONE" title=title>"GONE"</span> }
}

/// A stored UTC time (`2026-11-22T10:00:30.123Z`) as the pages show it, to the second:
/// `2026-11-22 10:00:30`.
pub fn utc_second(text: &str) -> String {
    utc_to(text, 19)
}

/// The same, to the minute: `2026-11-22 10:00`.
pub fn utc_minute(text: &str) -> String {
    utc_to(text, 16)
}

fn utc_to(text: &str, len: usize) -> String {
    text.replace('T', " ")
        .trim_end_matches('Z')
        .get(..len)
        .unwrap_or(text)
        .to_string()
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
/// Links to the first page and the next one of a keyset-paged list; nothing when the list fits
/// on one page.
#[component]
pub fn KeysetPager(
    first: Option<String>,
    next: Option<String>,
    first_label: &'static str,
    next_label: &'static str,
) -> impl IntoView {
    (first.is_some() || next.is_some()).then(|| {
        view! {
            <nav class="pager" aria-label="Pages">
                {match first {
                    Some(href) => Either::Left(view! { <a href=href>{first_label}</a> }),
                    None => Either::Right(view! { <span class="disabled">{first_label}</span> }),
                }}
                {match next {
                    Some(href) => Either::Left(view! { <a href=href rel="next">{next_label}</a> }),
                    None => Either::Right(view! { <span class="disabled">{next_label}</span> }),
                }}
            </nav>
        }
    })
}

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

/// The outcome of a form's server action: a short confirmation or the error.
#[component]
pub fn ActionResult(result: Signal<Option<Result<(), AppError>>>, ok: &'static str) -> impl IntoView {
    move || {
        result.get().map(|r| match r {
            Ok(()) => Either::Left(view! { <p class="success" role="status">{ok}</p> }),
            Err(e) => Either::Right(view! { <ErrorBox error=e/> }),
        })
    }
}

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <h1>"Page not found"</h1>
        <p>"There is nothing at this address. " <a href="/workspaces">"Go to the WorkSpaces list"</a> "."</p>
    }
}
