//! Everything that runs only on the server: state, the WorkSpaces client, the services.
//! None of it is compiled into the browser bundle.

pub mod audit;
pub mod auth;
pub mod db;
mod mapping;
mod service;

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::prelude::*;

use crate::error::{AppError, AppResult};

pub use service::{audit_error, Portal, PortalSettings};

/// The server's shared state, provided to every page render and server function.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub portal: Arc<Portal>,
}

/// The service layer, from inside a server function.
pub fn portal() -> AppResult<Arc<Portal>> {
    use_context::<AppState>().map(|s| s.portal).ok_or_else(|| {
        let reference = reference();
        tracing::error!(%reference, "server function called without the portal state in context");
        AppError::Internal { reference }
    })
}

/// The signed-in user of the request being served, if any (put there by the server's
/// session middleware).
pub fn identity() -> Option<auth::Identity> {
    use_context::<axum::http::request::Parts>().and_then(|parts| parts.extensions.get::<auth::Identity>().cloned())
}

/// An unexpected failure: logged here with a reference, which alone reaches the browser.
pub fn internal(detail: impl std::fmt::Display) -> AppError {
    let reference = reference();
    tracing::error!(%reference, %detail, "internal error");
    AppError::Internal { reference }
}

/// A short reference that ties an error the user sees to its lines in the server log.
pub fn reference() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::{SystemTime, UNIX_EPOCH};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{:08x}", (nanos ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15)) as u32)
}
