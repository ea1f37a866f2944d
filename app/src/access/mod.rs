//! WorkSpaces Access: the login events WorkSpaces clients send to EventBridge, received on
//! `POST /events/workspaces-access` (with an ingest token) and reviewed on `/access`.
//!
//! Here: the types and server functions of the logins and the ingest tokens; [`review`]: those
//! of the charts, the allowed networks and the alerts; [`pages`]: the logins and alerts pages
//! and the ingest tokens' panel; `ssr`: the service (ingest, search, tokens, review), its
//! store, and the event's checks.

pub mod pages;
mod review;
#[cfg(feature = "ssr")]
pub mod ssr;

pub use review::*;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::url::url_query;

/// Where EventBridge's API destination delivers events.
pub const INGEST_PATH: &str = "/events/workspaces-access";

/// Where the logins of a search are downloaded (`?format=csv|ndjson&<the page's query>`).
pub const EXPORT_PATH: &str = "/api/access/export";

/// The most one delivery's body may hold (EventBridge's own events are at most 256 KB).
pub const MAX_DELIVERY_BYTES: usize = 256 * 1024;

/// One login, as the page shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Login {
    pub event_id: String,
    pub workspace_id: String,
    pub directory_id: String,
    pub client_ip: String,
    pub platform: String,
    pub product: String,
    /// UTC: `2018-07-01T17:52:51.595Z`.
    pub login_time: String,
    /// The WorkSpace's user when the event arrived (`None`: not known yet, or the WorkSpace was
    /// not found).
    pub user_name: Option<String>,
    pub received_at: String,
}

/// The logins page's search, in the URL. Every field narrows it (they combine).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AccessQuery {
    pub workspace: String,
    pub user: String,
    pub directory: String,
    /// An address or a network: `192.0.2.3`, `192.0.2.0/24`, `2001:db8::/32`.
    pub ip: String,
    pub platform: String,
    pub product: String,
    /// UTC, as the audit log's filters take it (`2026-11-22`, `2026-11-22T10:00`, …).
    pub from: String,
    pub to: String,
    /// Keyset: logins older than this one (`login_time~row`).
    pub before: String,
}

url_query!(AccessQuery, "/access", {
    workspace, user, directory, ip, platform, product, from, to, before
});

impl AccessQuery {
    /// The download of this search's logins (every page of it).
    pub fn export_href(&self, format: &str) -> String {
        let mut query = self.clone();
        query.before.clear();
        match crate::url::UrlQuery::to_query_string(&query) {
            qs if qs.is_empty() => format!("{EXPORT_PATH}?format={format}"),
            qs => format!("{EXPORT_PATH}?format={format}&{qs}"),
        }
    }
}

/// One page of logins, newest first.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AccessPage {
    pub items: Vec<Login>,
    /// The `before` of the next page, if there is one.
    pub next: Option<String>,
}

/// An ingest token as listed (never the token itself).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngestToken {
    pub name: String,
    pub created_at: String,
    pub created_by: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

/// A token just made: shown once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewIngestToken {
    pub name: String,
    pub token: String,
}

/// What a delivery's answer says: how many events were stored, how many were already there,
/// and each refused one, by its index in the delivery.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngestOutcome {
    pub accepted: usize,
    pub duplicates: usize,
    pub refused: Vec<RefusedEvent>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusedEvent {
    pub index: usize,
    pub field: String,
    pub message: String,
}

#[server(endpoint = "access/list")]
pub async fn list_access(#[server(default)] query: AccessQuery) -> Result<AccessPage, AppError> {
    let (portal, caller) = crate::ssr::request()?;
    portal.access.list(&caller, query).await
}

#[server(endpoint = "access/tokens/list")]
pub async fn list_ingest_tokens() -> Result<Vec<IngestToken>, AppError> {
    let (portal, caller) = crate::ssr::request()?;
    portal.access.tokens(&caller).await
}

#[server(endpoint = "access/tokens/create")]
pub async fn create_ingest_token(name: String) -> Result<NewIngestToken, AppError> {
    let (portal, caller) = crate::ssr::request()?;
    portal.access.create_token(&caller, &name).await
}

#[server(endpoint = "access/tokens/revoke")]
pub async fn revoke_ingest_token(name: String) -> Result<(), AppError> {
    let (portal, caller) = crate::ssr::request()?;
    portal.access.revoke_token(&caller, &name).await
}

crate::forms::text_form! {
    CreateIngestToken { name };
    RevokeIngestToken { name };
}
