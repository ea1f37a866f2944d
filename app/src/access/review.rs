//! Reviewing the logins: the charts of the logins page, the networks logins are allowed from,
//! and the alerts raised by logins from elsewhere — their types and server functions.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::AccessQuery;
use crate::error::AppError;
use crate::url::url_query;

/// How many days a WorkSpace's networks are remembered: a login from a /24 (IPv4) or /64
/// (IPv6) it has not used for this long raises a `new-network` alert.
pub const NEW_NETWORK_DAYS: u32 = 30;

/// A named network logins are allowed from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllowedNetwork {
    pub id: i64,
    pub name: String,
    /// Canonical: `198.51.100.0/24`, `2001:db8::/32`.
    pub cidr: String,
    /// `None`: every directory.
    pub directory_id: Option<String>,
    pub created_at: String,
    pub created_by: String,
}

/// Why a login raised an alert.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AlertKind {
    /// From no allowed network (of its directory, or of every directory).
    #[serde(rename = "outside")]
    Outside,
    /// From a network (/24 or /64) its WorkSpace had not used in [`NEW_NETWORK_DAYS`] days.
    #[serde(rename = "new-network")]
    NewNetwork,
}

impl AlertKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::Outside => "outside",
            AlertKind::NewNetwork => "new-network",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [AlertKind::Outside, AlertKind::NewNetwork]
            .into_iter()
            .find(|k| k.as_str() == text)
    }

    /// In words, for the page (the kind is never told by colour alone).
    pub fn label(self) -> &'static str {
        match self {
            AlertKind::Outside => "Outside allowed networks",
            AlertKind::NewNetwork => "New network",
        }
    }
}

/// An alert, as listed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessAlert {
    pub id: i64,
    pub kind: AlertKind,
    pub event_id: String,
    pub workspace_id: String,
    pub directory_id: String,
    pub user_name: Option<String>,
    pub client_ip: String,
    /// The login's /24 or /64.
    pub network: String,
    pub login_time: String,
    pub raised_at: String,
    pub acknowledged_at: Option<String>,
    pub acknowledged_by: Option<String>,
    /// Why `--alert-webhook` could not be posted to, if it could not.
    pub webhook_error: Option<String>,
}

/// The alerts page's view, in the URL.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AlertQuery {
    /// Acknowledged alerts too.
    pub all: bool,
    /// Keyset: alerts older than this one (`login_time~id`).
    pub before: String,
}

url_query!(AlertQuery, "/access/alerts", { all, before });

/// A page of alerts, newest login first, with how many are open in all.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertPage {
    pub items: Vec<AccessAlert>,
    pub next: Option<String>,
    pub open: u64,
}

/// The logins page's charts, over the range of its search.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LoginCharts {
    /// The range charted (UTC days, inclusive).
    pub first_day: String,
    pub last_day: String,
    /// The platforms seen, most logins first: the order of each day's counts.
    pub platforms: Vec<String>,
    /// Every day of the range, oldest first, with its logins per platform.
    pub days: Vec<DayCount>,
    /// Logins per hour of the day (UTC), 0 to 23.
    pub hours: Vec<u64>,
    /// The ten client networks (/24, /64) with most logins.
    pub networks: Vec<NetworkCount>,
    pub total: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayCount {
    /// `2026-11-22`.
    pub day: String,
    pub counts: Vec<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkCount {
    /// `198.51.100.0/24`, or "no address".
    pub network: String,
    pub logins: u64,
}

#[server(endpoint = "access/charts")]
pub async fn get_login_charts(#[server(default)] query: AccessQuery) -> Result<LoginCharts, AppError> {
    let (portal, caller) = crate::ssr::request()?;
    portal.access.charts(&caller, query).await
}

#[server(endpoint = "access/networks/list")]
pub async fn list_allowed_networks() -> Result<Vec<AllowedNetwork>, AppError> {
    let (portal, caller) = crate::ssr::request()?;
    portal.access.networks(&caller).await
}

/// Allows logins from `cidr` (an address or a network), for one directory or (empty) all.
#[server(endpoint = "access/networks/add")]
pub async fn add_allowed_network(name: String, cidr: String, directory: String) -> Result<AllowedNetwork, AppError> {
    let (portal, caller) = crate::ssr::request()?;
    portal.access.add_network(&caller, &name, &cidr, &directory).await
}

#[server(endpoint = "access/networks/remove")]
pub async fn remove_allowed_network(id: String) -> Result<(), AppError> {
    let (portal, caller) = crate::ssr::request()?;
    portal.access.remove_network(&caller, &id).await
}

#[server(endpoint = "access/alerts/list")]
pub async fn list_alerts(#[server(default)] query: AlertQuery) -> Result<AlertPage, AppError> {
    let (portal, caller) = crate::ssr::request()?;
    portal.access.alerts(&caller, query).await
}

#[server(endpoint = "access/alerts/acknowledge")]
pub async fn acknowledge_alert(id: String) -> Result<(), AppError> {
    let (portal, caller) = crate::ssr::request()?;
    portal.access.acknowledge(&caller, &id).await
}

crate::forms::text_form! {
    AddAllowedNetwork { name, cidr, directory };
    RemoveAllowedNetwork { id };
    AcknowledgeAlert { id };
}
