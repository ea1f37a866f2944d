//! WorkSpaces Portal: the Leptos application, one folder per domain.
//!
//! - [`fleet`], [`catalog`], [`identity`], [`audit`], [`approvals`]: each domain's types, server functions,
//!   pages, and (feature `ssr`) its service on the server;
//! - [`policy`]: who may call what — one table, read by the server and the pages;
//! - [`ui`]: widgets the pages share; [`forms`]: forms that post to server functions;
//!   [`url`]: the one codec for searches kept in URLs; [`error`]: the one error type;
//! - `ssr`: what every domain shares on the server — state, the request pipeline, the
//!   database, the WorkSpaces client.
//!
//! Rendered on the server (feature `ssr`) and hydrated in the browser (feature `hydrate`).

// The pages' view types are deep (the create page's most); the release build needs more than
// the default 128 to lay out their hydration futures.
#![recursion_limit = "256"]

pub mod access;
pub mod approvals;
pub mod audit;
pub mod catalog;
pub mod error;
pub mod fleet;
pub mod forms;
pub mod identity;
pub mod policy;
pub mod ui;
pub mod url;

#[cfg(feature = "ssr")]
pub mod ssr;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{lazy_route, path, Lazy, LazyRoute};

use access::pages::{AccessAlertsPage, AccessLoginsPage};
use approvals::pages::{ApprovalRequestPage, ApprovalsListPage};
use audit::pages::{AuditLogPage, AuditRecordPage};
use catalog::pages::{BundlesPage, DirectoriesPage};
use fleet::pages::{CreatePage, DetailPage, FleetPage, HomePage};
use identity::pages::{LoginPage, SetupPage, UsersPage};
use ui::{Nav, NotFound};

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
    let who: ui::WhoResource = Resource::new(|| (), |_| identity::who_am_i());
    provide_context(who);
    view! {
        <Stylesheet id="leptos" href="/pkg/workspaces-portal.css"/>
        <Title text="WorkSpaces Portal"/>
        <Router>
            <a class="skip-link" href="#main">"Skip to content"</a>
            <RememberRoutedUrl/>
            <Nav/>
            <main id="main">
                <Routes fallback=|| view! { <NotFound/> }>
                    <Route path=path!("/") view={Lazy::<HomeRoute>::new()}/>
                    <Route path=path!("/workspaces") view={Lazy::<FleetRoute>::new()}/>
                    <Route path=path!("/workspaces/new") view={Lazy::<CreateRoute>::new()}/>
                    <Route path=path!("/workspaces/:id") view={Lazy::<DetailRoute>::new()}/>
                    <Route path=path!("/bundles") view={Lazy::<BundlesRoute>::new()}/>
                    <Route path=path!("/directories") view={Lazy::<DirectoriesRoute>::new()}/>
                    <Route path=path!("/approvals") view={Lazy::<ApprovalsRoute>::new()}/>
                    <Route path=path!("/approvals/:id") view={Lazy::<ApprovalRequestRoute>::new()}/>
                    <Route path=path!("/access") view={Lazy::<AccessRoute>::new()}/>
                    <Route path=path!("/access/alerts") view={Lazy::<AccessAlertsRoute>::new()}/>
                    <Route path=path!("/audit") view={Lazy::<AuditLogRoute>::new()}/>
                    <Route path=path!("/audit/:event_id") view={Lazy::<AuditRecordRoute>::new()}/>
                    <Route path=path!("/admin/users") view={Lazy::<UsersRoute>::new()}/>
                    <Route path=path!("/login") view={Lazy::<LoginRoute>::new()}/>
                    <Route path=path!("/setup") view={Lazy::<SetupRoute>::new()}/>
                </Routes>
            </main>
        </Router>
    }
}

thread_local! {
    static ROUTED_URL: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// The URL the router shows or is loading, in the browser. The address bar changes only once a
/// page's code is in; when that code fails to load, the browser entry asks the server for this
/// URL — the page the user went to — instead.
pub fn routed_url() -> Option<String> {
    ROUTED_URL.with_borrow(|url| url.clone())
}

#[component]
fn RememberRoutedUrl() -> impl IntoView {
    let location = leptos_router::hooks::use_location();
    Effect::new(move |_| {
        let search = location.search.get();
        let url = format!(
            "{}{}{search}{}",
            location.pathname.get(),
            if search.is_empty() { "" } else { "?" },
            location.hash.get()
        );
        ROUTED_URL.set(Some(url));
    });
}

// Each page is its own lazily loaded part of the browser bundle (split by `cargo leptos
// --split`): the first load fetches the shell and the page it lands on, not every page.

/// A route whose page is loaded lazily: `lazy_page!(FleetRoute => FleetPage);`.
macro_rules! lazy_page {
    ($($route:ident => $page:ident;)+) => {$(
        pub struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            fn view(_this: Self) -> AnyView {
                view! { <$page/> }.into_any()
            }
        }
    )+};
}

lazy_page! {
    HomeRoute => HomePage;
    FleetRoute => FleetPage;
    CreateRoute => CreatePage;
    DetailRoute => DetailPage;
    BundlesRoute => BundlesPage;
    DirectoriesRoute => DirectoriesPage;
    ApprovalsRoute => ApprovalsListPage;
    ApprovalRequestRoute => ApprovalRequestPage;
    AccessRoute => AccessLoginsPage;
    AccessAlertsRoute => AccessAlertsPage;
    AuditLogRoute => AuditLogPage;
    AuditRecordRoute => AuditRecordPage;
    UsersRoute => UsersPage;
    LoginRoute => LoginPage;
    SetupRoute => SetupPage;
}
