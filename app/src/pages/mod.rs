//! One module per page.

mod audit;
mod auth;
mod catalog;
mod create;
mod detail;
mod fleet;
mod home;
mod users;

pub use audit::{AuditLogPage, AuditRecordPage, ResourceHistory};
pub use auth::{LoginPage, SetupPage};
pub use catalog::{BundlesPage, DirectoriesPage};
pub use create::CreatePage;
pub use detail::DetailPage;
pub use fleet::FleetPage;
pub use home::HomePage;
pub use users::UsersPage;

use leptos::prelude::*;

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
