//! The fleet's pages: the list with its filters and bulk actions, a WorkSpace's own page, the
//! create page and the overview.

mod create;
mod detail;
mod list;
mod overview;

pub use create::CreatePage;
pub use detail::DetailPage;
pub use list::FleetPage;
pub use overview::HomePage;

/// How often a page showing transitional WorkSpaces asks for their state again.
pub const LIVE_REFRESH: std::time::Duration = std::time::Duration::from_secs(2);

use leptos::prelude::*;

use crate::fleet::RefreshWorkspaces;
use crate::ui::ErrorBox;

/// How fresh what the page shows is, and *Refresh now*: re-reads `ids` from AWS at once (the
/// page reloads when the action's version changes).
#[component]
fn Freshness(#[prop(into)] text: String, ids: Vec<String>, refresh: ServerAction<RefreshWorkspaces>) -> impl IntoView {
    let empty = ids.is_empty();
    view! {
        <div class="freshness">
            <span class="muted">{text}</span>
            <button type="button" class="button subtle small"
                disabled=move || empty || refresh.pending().get()
                on:click=move |_| { refresh.dispatch(RefreshWorkspaces { ids: ids.clone() }); }>
                {move || if refresh.pending().get() { "Refreshing…" } else { "Refresh now" }}
            </button>
        </div>
        {move || refresh.value().get().and_then(Result::err).map(|error| view! { <ErrorBox error/> })}
    }
}
