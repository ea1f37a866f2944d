//! The routes: pages and server functions (Leptos), the audit export, health checks and static
//! files — and the layers every request passes, outermost first: security headers, sessions,
//! the signed-in user (with cross-site refusal and the redirect to sign in), and the portal's
//! answer to server-function arguments that cannot be read.

use app::ssr::db::Db;
use app::ssr::AppState;
use app::{shell, App};
use axum::routing::{get, post};
use axum::Router;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};
use tower_sessions_sqlx_store::SqliteStore;

use crate::handlers;
use crate::middleware;

/// The whole app, for users reaching it at `site`; readiness checks of WorkSpaces are reused
/// for `readiness_cache`.
pub fn router(state: AppState, site: middleware::Site, readiness_cache: std::time::Duration) -> Router {
    let site = std::sync::Arc::new(site);
    let layers = middleware::Layers {
        app: state.clone(),
        site: site.clone(),
    };
    let readiness = handlers::Readiness::new(readiness_cache);
    let sessions = session_layer(&state.portal.db, state.portal.identity.settings());
    let routes = generate_route_list(App);
    let leptos_options = state.leptos_options.clone();
    let context_state = state.clone();
    let pages = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/readyz",
            get(move |state: axum::extract::State<AppState>| handlers::readyz(state, readiness.clone())),
        )
        .route(app::audit::EXPORT_PATH, get(handlers::export_audit))
        .route(app::fleet::EXPORT_PATH, get(handlers::export_fleet))
        .route(app::access::EXPORT_PATH, get(handlers::export_access))
        .leptos_routes_with_context(
            &state,
            routes,
            move || {
                provide_context(context_state.clone());
                // The page's scripts carry the nonce the Content-Security-Policy names.
                let nonce = use_context::<axum::http::request::Parts>()
                    .and_then(|p| p.extensions.get::<middleware::CspNonce>().cloned());
                if let Some(nonce) = nonce {
                    provide_context(leptos::nonce::Nonce::from_value(nonce.0));
                }
            },
            move || shell(leptos_options.clone()),
        )
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::unreadable_arguments,
        ))
        .layer(axum::middleware::from_fn_with_state(layers, middleware::identify))
        .layer(sessions);
    // EventBridge's deliveries pass none of the session layers: an ingest token is their way in.
    let events = Router::new().route(app::access::INGEST_PATH, post(handlers::access::ingest));
    pages
        .merge(events)
        .layer(axum::middleware::from_fn_with_state(site, middleware::guard))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Sessions in the portal's database: they survive a restart. The cookie is HttpOnly,
/// SameSite=Lax (cross-site writes are refused by [`middleware::identify`] as well), and Secure
/// when configured; it expires after the idle timeout, renewed as the session is used.
fn session_layer(db: &Db, settings: &app::identity::ssr::IdentitySettings) -> SessionManagerLayer<SqliteStore> {
    let idle = tower_sessions::cookie::time::Duration::seconds(settings.idle_timeout.as_secs() as i64);
    SessionManagerLayer::new(SqliteStore::new(db.clone()))
        .with_name("portal_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(settings.secure_cookies)
        .with_expiry(Expiry::OnInactivity(idle))
}
