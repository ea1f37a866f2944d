//! The audit log: one CloudTrail-shaped record per request made through the portal.
//!
//! Here: what the browser sees — the search, the rows of a page, a record in full — and the
//! server functions that read them; [`pages`]: the log's page, a record's page and a
//! resource's history; `ssr`: the records, the hash chain and its writer, verification, search
//! and export, on the server. Records are written by the request pipeline (`crate::ssr`) for
//! every request.

pub mod pages;
#[cfg(feature = "ssr")]
pub mod ssr;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::url::{url_query, UrlQuery};

/// Where the browser downloads an export (a plain handler, not a server function: it streams).
pub const EXPORT_PATH: &str = "/api/audit/export";

/// Records per page, as in CloudTrail's event history.
pub const PAGE_SIZE: usize = 50;

/// The event names a filter can choose from: the WorkSpaces actions the portal calls.
pub const EVENT_NAMES: &[&str] = &[
    "CreateTags",
    "CreateWorkspaces",
    "DeleteTags",
    "DescribeTags",
    "DescribeWorkspaceBundles",
    "DescribeWorkspaceDirectories",
    "DescribeWorkspaces",
    "DescribeWorkspacesConnectionStatus",
    "ModifyWorkspaceProperties",
    "RebootWorkspaces",
    "RebuildWorkspaces",
    "StartWorkspaces",
    "StopWorkspaces",
    "TerminateWorkspaces",
    // The portal's own events.
    "SignIn",
    "SignOut",
    "CompleteSetup",
    "CreateUser",
    "SetUserRole",
    "DisableUser",
    "EnableUser",
    "ResetUserPassword",
    "ListUsers",
    "LookupAuditRecords",
    "GetAuditRecord",
    "ExportAuditRecords",
    "CrossSiteRequestRefused",
    "InvalidRequest",
    "RefusedRequest",
    "ListAccessEvents",
    "ListIngestTokens",
    "CreateIngestToken",
    "RevokeIngestToken",
    "PutAccessEvents",
    "GetLoginCharts",
    "ExportAccessEvents",
    "ListAllowedNetworks",
    "AddAllowedNetwork",
    "RemoveAllowedNetwork",
    "ListAccessAlerts",
    "AcknowledgeAccessAlert",
    "CreateApprovalRequest",
    "ApproveRequest",
    "RejectRequest",
    "CancelApprovalRequest",
    "ExpireApprovalRequest",
    "ExecuteApprovalRequest",
    "BreakGlass",
    "AcknowledgePostReview",
    "ListApprovalRequests",
    "GetApprovalRequest",
    "ListPendingApprovals",
];

/// A search of the audit log. Every filter applies at once; every field lives in the URL.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditQuery {
    pub event: String,
    pub user: String,
    /// A WorkSpace ID, or any other resource ID a request touched.
    pub resource: String,
    /// UTC, `2026-11-22T10:00` (as a `datetime-local` field sends it) or RFC 3339; inclusive.
    pub from: String,
    /// UTC, exclusive.
    pub to: String,
    pub ip: String,
    /// Show read-only events too (hidden by default, as in CloudTrail).
    pub reads: bool,
    /// Only requests that failed, or had per-item failures.
    pub errors: bool,
    /// Keyset pagination: records older than this one.
    pub before: Option<i64>,
}

impl AuditQuery {
    fn normalize(mut self) -> Self {
        self.before = self.before.filter(|n| *n > 0);
        self
    }

    /// Where the browser downloads this search (every page of it) in `format`.
    pub fn export_href(&self, format: &str) -> String {
        let qs = AuditQuery {
            before: None,
            ..self.clone()
        }
        .to_query_string();
        if qs.is_empty() {
            format!("{EXPORT_PATH}?format={format}")
        } else {
            format!("{EXPORT_PATH}?format={format}&{qs}")
        }
    }
}

url_query!(AuditQuery, "/audit", normalize = AuditQuery::normalize, {
    event, user, resource, from, to, ip, reads, errors, before
});

/// Where a record stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The request is running (its outcome is not recorded yet).
    #[default]
    Started,
    /// Its outcome is recorded.
    Completed,
    /// The portal stopped before the outcome was recorded.
    Unknown,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Started => "started",
            Outcome::Completed => "completed",
            Outcome::Unknown => "unknown",
        }
    }

    /// The outcome as stored; anything unexpected reads as unknown.
    pub fn from_stored(text: &str) -> Self {
        match text {
            "started" => Outcome::Started,
            "completed" => Outcome::Completed,
            _ => Outcome::Unknown,
        }
    }
}

/// One record, as a row of the audit page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditRow {
    pub id: i64,
    pub event_id: String,
    pub event_time: String,
    pub event_source: String,
    pub event_name: String,
    pub user_name: String,
    pub source_ip: String,
    pub read_only: bool,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub failed_items: i64,
    pub outcome: Outcome,
    pub resources: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditPage {
    pub items: Vec<AuditRow>,
    /// The `before` of the next (older) page, if there is one.
    pub next_before: Option<i64>,
}

/// A record in full: its row and its CloudTrail JSON, pretty-printed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditDetail {
    pub row: AuditRow,
    pub json: String,
    /// Sealed into the hash chain (false while the request runs).
    pub chain_seq: Option<i64>,
    pub hash: Option<String>,
}

#[server(endpoint = "audit/list")]
pub async fn list_audit(#[server(default)] query: AuditQuery) -> Result<AuditPage, AppError> {
    let (portal, caller) = crate::ssr::request()?;
    ssr::list(&portal, &caller, query).await
}

#[server(endpoint = "audit/get")]
pub async fn get_audit_record(event_id: String) -> Result<AuditDetail, AppError> {
    let (portal, caller) = crate::ssr::request()?;
    ssr::get(&portal, &caller, &event_id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_survives_the_url() {
        let q = AuditQuery {
            event: "RebootWorkspaces".into(),
            user: "anonymous".into(),
            resource: "ws-abcdefgh1".into(),
            from: "2026-11-22T10:00".into(),
            to: String::new(),
            ip: "10.0.0.1".into(),
            reads: true,
            errors: true,
            before: Some(42),
        };
        let qs = q.to_query_string();
        let pairs: Vec<(String, String)> = qs
            .split('&')
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap();
                (k.to_string(), v.replace("%3A", ":"))
            })
            .collect();
        let back = AuditQuery::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        assert_eq!(back, q);
        assert!(!q.export_href("csv").contains("before="), "an export covers every page");
        assert!(q
            .export_href("csv")
            .starts_with("/api/audit/export?format=csv&event=RebootWorkspaces"));
    }

    #[test]
    fn every_operation_of_the_policy_can_be_searched_for() {
        for entry in crate::policy::TABLE {
            assert!(
                EVENT_NAMES.contains(&entry.event) || entry.event == "GetSignedInUser",
                "{} is missing from EVENT_NAMES",
                entry.event
            );
        }
    }

    #[test]
    fn reads_are_hidden_unless_asked_for() {
        assert!(!AuditQuery::from_pairs([]).reads);
        assert!(AuditQuery::from_pairs([("reads", "on")]).reads);
        assert_eq!(AuditQuery::from_pairs([("before", "-3")]).before, None);
    }
}
