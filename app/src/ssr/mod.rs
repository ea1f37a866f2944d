//! What every domain shares on the server (none of it reaches the browser bundle): the state
//! every page render and server function sees ([`AppState`], [`Portal`]), the request pipeline
//! ([`pipeline`]), the database ([`db`]) and the WorkSpaces client ([`workspaces`]). Who may call
//! what is the policy table, `crate::policy`, shared with the pages.

mod caller;
pub mod db;
pub mod pipeline;
mod refusals;
pub mod webhook;
pub mod workspaces;

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::prelude::*;

pub use ipnet::IpNet;
pub use pipeline::{
    audit_unavailable, note_error_message, note_identity, note_params, note_request_id, Audited, Caller, Kind,
    Operation, Pipeline, PipelineSettings, Principal,
};

use crate::catalog::ssr::Catalog;
use crate::error::{AppError, AppResult};
use crate::fleet::ssr::Fleet;
use crate::identity::ssr::Identity;

/// The portal's services, one per domain, and what they share.
pub struct Portal {
    pub pipeline: Pipeline,
    pub db: db::Db,
    pub workspaces: workspaces::Client,
    pub identity: Identity,
    pub catalog: Arc<Catalog>,
    pub fleet: Fleet,
    pub approvals: Arc<crate::approvals::ssr::Approvals>,
    pub access: Arc<crate::access::ssr::Access>,
    /// Audit exports running now (a few at a time).
    pub exports: crate::audit::ssr::Exports,
}

/// The server's shared state, provided to every page render and server function.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub portal: Arc<Portal>,
}

/// The services, and who makes the request being served — what every server function's one
/// line starts with.
pub fn request() -> AppResult<(Arc<Portal>, Caller)> {
    let portal = use_context::<AppState>().map(|s| s.portal).ok_or_else(|| {
        let reference = reference();
        tracing::error!(%reference, "server function called without the portal state in context");
        AppError::Internal { reference }
    })?;
    let caller = match use_context::<axum::http::request::Parts>() {
        Some(parts) => portal.pipeline.caller_of(&parts),
        None => return Err(internal("server function called outside an HTTP request")),
    };
    Ok((portal, caller))
}

/// An unexpected failure: logged here with a reference, which alone reaches the browser.
pub fn internal(detail: impl std::fmt::Display) -> AppError {
    let reference = reference();
    tracing::error!(%reference, %detail, "internal error");
    AppError::Internal { reference }
}

/// A short reference that ties an error the user sees to its lines in the server log.
pub fn reference() -> String {
    let mut bytes = [0u8; 4];
    if getrandom::fill(&mut bytes).is_err() {
        bytes = (std::process::id() ^ std::time::Instant::now().elapsed().subsec_nanos()).to_le_bytes();
    }
    hex::encode(bytes)
}

/// A value read at some moment, shared by the requests that reuse it.
pub struct Cached<T> {
    pub at: std::time::Instant,
    pub value: Arc<T>,
}

impl<T> Cached<T> {
    pub fn new(value: T) -> Self {
        Cached {
            at: std::time::Instant::now(),
            value: Arc::new(value),
        }
    }

    /// Whether it was read less than `ttl` ago.
    pub fn fresh(&self, ttl: std::time::Duration) -> bool {
        self.at.elapsed() < ttl
    }
}
