//! The audit log as the browser sees it: the search filters, the rows of a page, and the
//! server functions that read them. The records themselves are written on the server, by the
//! service layer, for every request (`ssr::audit`).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::workspaces::urlencode;

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
];

/// A search of the audit log. Every filter applies at once; every field lives in the URL.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
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
    #[serde(deserialize_with = "flag")]
    pub reads: bool,
    /// Only requests that failed, or had per-item failures.
    #[serde(deserialize_with = "flag")]
    pub errors: bool,
    /// Keyset pagination: records older than this one.
    pub before: Option<i64>,
}

/// A checkbox as forms send it: `true`, `1` or `on` (or a JSON boolean).
fn flag<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Flag {
        Bool(bool),
        Text(String),
    }
    Ok(match Flag::deserialize(d)? {
        Flag::Bool(b) => b,
        Flag::Text(t) => matches!(t.as_str(), "true" | "1" | "on"),
    })
}

impl AuditQuery {
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut q = AuditQuery::default();
        for (k, v) in pairs {
            let v = v.trim();
            match k {
                "event" => q.event = v.to_string(),
                "user" => q.user = v.to_string(),
                "resource" => q.resource = v.to_string(),
                "from" => q.from = v.to_string(),
                "to" => q.to = v.to_string(),
                "ip" => q.ip = v.to_string(),
                "reads" => q.reads = matches!(v, "1" | "true" | "on"),
                "errors" => q.errors = matches!(v, "1" | "true" | "on"),
                "before" => q.before = v.parse().ok().filter(|n| *n > 0),
                _ => {}
            }
        }
        q
    }

    /// The query string (without `?`) of this search; empty filters are left out.
    pub fn to_query_string(&self) -> String {
        let mut parts = Vec::new();
        for (k, v) in [
            ("event", &self.event),
            ("user", &self.user),
            ("resource", &self.resource),
            ("from", &self.from),
            ("to", &self.to),
            ("ip", &self.ip),
        ] {
            if !v.is_empty() {
                parts.push(format!("{k}={}", urlencode(v)));
            }
        }
        if self.reads {
            parts.push("reads=1".into());
        }
        if self.errors {
            parts.push("errors=1".into());
        }
        if let Some(before) = self.before {
            parts.push(format!("before={before}"));
        }
        parts.join("&")
    }

    pub fn href(&self) -> String {
        let qs = self.to_query_string();
        if qs.is_empty() {
            "/audit".into()
        } else {
            format!("/audit?{qs}")
        }
    }

    /// Where the browser downloads this search (every page of it) in `format`.
    pub fn export_href(&self, format: &str) -> String {
        let qs = AuditQuery {
            before: None,
            ..self.clone()
        }
        .to_query_string();
        if qs.is_empty() {
            format!("/api/audit/export?format={format}")
        } else {
            format!("/api/audit/export?format={format}&{qs}")
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
    /// started (outcome not recorded yet), completed, or unknown (the portal stopped first).
    pub outcome: String,
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
    crate::ssr::portal()?.audit_list(query).await
}

#[server(endpoint = "audit/get")]
pub async fn get_audit_record(event_id: String) -> Result<AuditDetail, AppError> {
    crate::ssr::portal()?.audit_get(&event_id).await
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
    fn reads_are_hidden_unless_asked_for() {
        assert!(!AuditQuery::from_pairs([]).reads);
        assert!(AuditQuery::from_pairs([("reads", "on")]).reads);
        assert_eq!(AuditQuery::from_pairs([("before", "-3")]).before, None);
    }
}
