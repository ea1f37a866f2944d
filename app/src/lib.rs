//! WorkSpaces Portal: the Leptos application (pages, components, server functions).
//!
//! Rendered on the server (feature `ssr`) and hydrated in the browser (feature `hydrate`).

// The pages' view types are deep (the create page's most); the release build needs more than
// the default 128 to lay out their hydration futures.
#![recursion_limit = "256"]

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
use leptos_router::{lazy_route, path, Lazy, LazyRoute};

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

pub struct HomeRoute;

#[lazy_route]
impl LazyRoute for HomeRoute {
    fn data() -> Self {
        HomeRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <HomePage/> }.into_any()
    }
}

pub struct FleetRoute;

#[lazy_route]
impl LazyRoute for FleetRoute {
    fn data() -> Self {
        FleetRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <FleetPage/> }.into_any()
    }
}

pub struct CreateRoute;

#[lazy_route]
impl LazyRoute for CreateRoute {
    fn data() -> Self {
        CreateRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <CreatePage/> }.into_any()
    }
}

pub struct DetailRoute;

#[lazy_route]
impl LazyRoute for DetailRoute {
    fn data() -> Self {
        DetailRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <DetailPage/> }.into_any()
    }
}

pub struct BundlesRoute;

#[lazy_route]
impl LazyRoute for BundlesRoute {
    fn data() -> Self {
        BundlesRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <BundlesPage/> }.into_any()
    }
}

pub struct DirectoriesRoute;

#[lazy_route]
impl LazyRoute for DirectoriesRoute {
    fn data() -> Self {
        DirectoriesRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <DirectoriesPage/> }.into_any()
    }
}

pub struct AuditLogRoute;

#[lazy_route]
impl LazyRoute for AuditLogRoute {
    fn data() -> Self {
        AuditLogRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <AuditLogPage/> }.into_any()
    }
}

pub struct AuditRecordRoute;

#[lazy_route]
impl LazyRoute for AuditRecordRoute {
    fn data() -> Self {
        AuditRecordRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <AuditRecordPage/> }.into_any()
    }
}

pub struct UsersRoute;

#[lazy_route]
impl LazyRoute for UsersRoute {
    fn data() -> Self {
        UsersRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <UsersPage/> }.into_any()
    }
}

pub struct LoginRoute;

#[lazy_route]
impl LazyRoute for LoginRoute {
    fn data() -> Self {
        LoginRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <LoginPage/> }.into_any()
    }
}

pub struct SetupRoute;

#[lazy_route]
impl LazyRoute for SetupRoute {
    fn data() -> Self {
        SetupRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <SetupPage/> }.into_any()
    }
}
