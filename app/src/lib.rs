//! WorkSpaces Portal: the Leptos application (pages, components, server functions).
//!
//! Rendered on the server (feature `ssr`) and hydrated in the browser (feature `hydrate`).

pub mod audit;
pub mod auth;
pub mod catalog;
pub mod components;
pub mod error;
pub mod pages;
pub mod validate;
pub mod workspaces;

#[cfg(feature = "ssr")]
pub mod ssr;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

use components::Nav;
use pages::{
    AuditLogPage, AuditRecordPage, BundlesPage, CreatePage, DetailPage, DirectoriesPage, FleetPage, HomePage,
    LoginPage, NotFound, SetupPage, UsersPage,
};

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href="data:,"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Who is signed in: read by the navigation and by pages that hide what the role can't do.
    let who: components::WhoResource = Resource::new(|| (), |_| auth::who_am_i());
    provide_context(who);
    view! {
        <Stylesheet id="leptos" href="/pkg/workspaces-portal.css"/>
        <Title text="WorkSpaces Portal"/>
        <Router>
            <a class="skip-link" href="#main">"Skip to content"</a>
            <Nav/>
            <main id="main">
                <Routes fallback=|| view! { <NotFound/> }>
                    <Route path=path!("/") view=HomePage/>
                    <Route path=path!("/workspaces") view=FleetPage/>
                    <Route path=path!("/workspaces/new") view=CreatePage/>
                    <Route path=path!("/workspaces/:id") view=DetailPage/>
                    <Route path=path!("/bundles") view=BundlesPage/>
                    <Route path=path!("/directories") view=DirectoriesPage/>
                    <Route path=path!("/audit") view=AuditLogPage/>
                    <Route path=path!("/audit/:event_id") view=AuditRecordPage/>
                    <Route path=path!("/admin/users") view=UsersPage/>
                    <Route path=path!("/login") view=LoginPage/>
                    <Route path=path!("/setup") view=SetupPage/>
                </Routes>
            </main>
        </Router>
    }
}
