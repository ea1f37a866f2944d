//! The record: CloudTrail's format, field for field, plus what the portal knows besides.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::format_description::FormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

use crate::audit::Outcome;
use crate::identity::ssr::User;

/// The CloudTrail record version whose fields these are.
pub const EVENT_VERSION: &str = "1.08";
/// The event source of every WorkSpaces API call.
pub const WORKSPACES_SOURCE: &str = "workspaces.amazonaws.com";
/// The source of the portal's own events: sign-in, sign-out, user changes, refusals of
/// requests for the audit log.
pub const PORTAL_SOURCE: &str = "workspaces-portal";
/// `userIdentity.userName` of a failed sign-in with a name that does not exist (as
/// CloudTrail records it: the typed text may be a password).
pub const HIDDEN_USER: &str = "HIDDEN_DUE_TO_SECURITY_REASONS";

/// One audit record, serialized exactly as CloudTrail writes its records.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditRecord {
    pub event_version: String,
    pub user_identity: UserIdentity,
    pub event_time: String,
    pub event_source: String,
    pub event_name: String,
    pub aws_region: String,
    #[serde(rename = "sourceIPAddress")]
    pub source_ip_address: String,
    pub user_agent: String,
    pub request_parameters: Value,
    pub response_elements: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    #[serde(rename = "requestID")]
    pub request_id: Option<String>,
    #[serde(rename = "eventID")]
    pub event_id: String,
    pub read_only: bool,
    pub resources: Vec<Resource>,
    pub event_type: String,
    pub management_event: bool,
    pub recipient_account_id: Option<String>,
    pub event_category: String,
    pub additional_event_data: PortalData,
}

/// What made a request, as `userIdentity.type` says it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum IdentityKind {
    /// A signed-in portal user.
    PortalUser,
    /// `workspaces-portal` commands on the portal's machine.
    CommandLine,
    /// Not signed in.
    Anonymous,
    /// The portal itself (expiring approval requests).
    Portal,
    /// An ingest token's delivery of WorkSpaces Access events (EventBridge).
    IngestToken,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserIdentity {
    #[serde(rename = "type")]
    pub kind: IdentityKind,
    pub principal_id: String,
    pub user_name: String,
    pub portal_role: Option<String>,
    pub session_id: Option<String>,
}

impl UserIdentity {
    /// A signed-in portal user.
    pub fn portal_user(user: &User) -> Self {
        UserIdentity {
            kind: IdentityKind::PortalUser,
            principal_id: format!("user-{}", user.id),
            user_name: user.name.clone(),
            portal_role: Some(user.role.as_str().into()),
            session_id: Some(user.session_ref.clone()),
        }
    }

    /// The command line on the portal's machine (`workspaces-portal user …`), as the
    /// operating-system user who ran it.
    pub fn command_line(os_user: &str) -> Self {
        UserIdentity {
            kind: IdentityKind::CommandLine,
            principal_id: format!("os-user:{os_user}"),
            user_name: if os_user.is_empty() {
                "command-line".into()
            } else {
                os_user.into()
            },
            portal_role: Some("admin".into()),
            session_id: None,
        }
    }

    /// The portal, acting on its own.
    pub fn portal() -> Self {
        UserIdentity {
            kind: IdentityKind::Portal,
            principal_id: "workspaces-portal".into(),
            user_name: "workspaces-portal".into(),
            portal_role: None,
            session_id: None,
        }
    }

    /// The delivery of an ingest token (named, never the token).
    pub fn ingest_token(name: &str) -> Self {
        UserIdentity {
            kind: IdentityKind::IngestToken,
            principal_id: format!("ingest-token:{name}"),
            user_name: name.into(),
            portal_role: None,
            session_id: None,
        }
    }

    pub fn anonymous() -> Self {
        UserIdentity {
            kind: IdentityKind::Anonymous,
            principal_id: "anonymous".into(),
            user_name: "anonymous".into(),
            portal_role: None,
            session_id: None,
        }
    }

    /// A sign-in that names a stored user who did not sign in (a wrong password, throttled):
    /// the account under attack is recorded, but no session.
    /// A portal user known by ID and name only (the requester of an approved request).
    pub fn requester(id: i64, name: &str) -> Self {
        UserIdentity {
            kind: IdentityKind::PortalUser,
            principal_id: format!("user-{id}"),
            user_name: name.into(),
            portal_role: None,
            session_id: None,
        }
    }

    pub fn named_user(id: i64, name: &str) -> Self {
        UserIdentity {
            principal_id: format!("user-{id}"),
            user_name: name.into(),
            ..UserIdentity::anonymous()
        }
    }

    /// A sign-in with a name that does not exist: the typed text is not recorded (it may be a
    /// password).
    pub fn hidden() -> Self {
        UserIdentity {
            user_name: HIDDEN_USER.into(),
            ..UserIdentity::anonymous()
        }
    }
}

/// What kind of event a record is about to describe.
pub struct EventKind<'a> {
    pub source: &'a str,
    pub event_type: &'a str,
    pub name: &'a str,
    pub action: &'a str,
    pub read_only: bool,
}

impl AuditRecord {
    /// A new record of a request starting now; the rest is filled in as it runs.
    pub fn start(
        kind: EventKind<'_>,
        identity: UserIdentity,
        source_ip: &str,
        user_agent: &str,
        params: Value,
    ) -> Self {
        AuditRecord {
            event_version: EVENT_VERSION.into(),
            user_identity: identity,
            event_time: utc_now(),
            event_source: kind.source.into(),
            event_name: kind.name.into(),
            aws_region: String::new(),
            source_ip_address: source_ip.into(),
            user_agent: user_agent.into(),
            request_parameters: params,
            response_elements: Value::Null,
            error_code: None,
            error_message: None,
            request_id: None,
            event_id: event_id(),
            read_only: kind.read_only,
            resources: Vec::new(),
            event_type: kind.event_type.into(),
            management_event: true,
            recipient_account_id: None,
            event_category: "Management".into(),
            additional_event_data: PortalData {
                outcome: Outcome::Started,
                portal_action: kind.action.into(),
                ..Default::default()
            },
        }
    }
}

/// A resource the request touched, as CloudTrail lists them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Resource {
    #[serde(rename = "ARN")]
    pub arn: String,
    #[serde(rename = "accountId")]
    pub account_id: Option<String>,
    #[serde(rename = "type")]
    pub kind: String,
}

/// What the portal adds to CloudTrail's fields.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PortalData {
    /// `started` while the request runs, `completed` once its outcome is known, `unknown` if
    /// the portal stopped in between.
    pub outcome: Outcome,
    /// The portal's name for the request (its server function).
    pub portal_action: String,
    /// Every resource ID the request touched (the WorkSpace history index).
    pub resource_ids: Vec<String>,
    /// The request IDs of every AWS call made (`requestID` holds the first).
    #[serde(default)]
    pub request_ids: Vec<String>,
    /// Items of a batch that WorkSpaces refused (their codes are in `responseElements`).
    #[serde(default)]
    pub failed_items: usize,
    pub elapsed_ms: Option<u64>,
    /// An aggregate of refused anonymous requests: how many it stands for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregated_count: Option<u64>,
    /// Sealed at start-up from a request's start left pending, not by the request itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed_from: Option<SealedFrom>,
    /// The approved request (or break-glass action) that carried this action out: its ID,
    /// hash, requester and approvers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<Value>,
}

/// How a record sealed at start-up came to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SealedFrom {
    /// A start the portal signed, whose request's outcome was lost (a crash).
    Recovered,
    /// A pending row without a valid signature: not written by the portal.
    Unverified,
}

impl AuditRecord {
    /// The CloudTrail `resources` entries for these IDs.
    pub fn resources_for(ids: &[String], region: &str, account: Option<&str>) -> Vec<Resource> {
        ids.iter()
            .map(|id| {
                let (kind, path) = if id.starts_with("ws-") {
                    ("AWS::WorkSpaces::Workspace", "workspace")
                } else if id.starts_with("wsb-") {
                    ("AWS::WorkSpaces::WorkspaceBundle", "workspacebundle")
                } else if id.starts_with("d-") {
                    ("AWS::WorkSpaces::Directory", "directory")
                } else {
                    ("AWS::WorkSpaces::Resource", "resource")
                };
                Resource {
                    arn: format!("arn:aws:workspaces:{region}:{}:{path}/{id}", account.unwrap_or("")),
                    account_id: account.map(str::to_owned),
                    kind: kind.into(),
                }
            })
            .collect()
    }
}

/// A new event ID: a random UUID (version 4).
pub fn event_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// How the audit log writes times: UTC, fixed width with milliseconds, so text order is time
/// order.
const LOG_TIME: &[FormatItem<'_>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

/// UTC time as the audit log writes it.
pub fn utc_text(time: SystemTime) -> String {
    OffsetDateTime::from(time)
        .to_offset(UtcOffset::UTC)
        .format(LOG_TIME)
        .unwrap_or_default()
}

pub fn utc_now() -> String {
    utc_text(SystemTime::now())
}

/// A time typed into a filter (`2026-11-22`, `2026-11-22T10:00`, `…T10:00:30`, or RFC 3339 in
/// UTC) in the audit log's form; `None` if it is not one of those.
pub fn parse_filter_time(text: &str) -> Option<String> {
    const FORMS: &[&[FormatItem<'_>]] = &[
        format_description!("[year]-[month]-[day]"),
        format_description!("[year]-[month]-[day]T[hour]:[minute]"),
        format_description!("[year]-[month]-[day] [hour]:[minute]"),
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]"),
        format_description!("[year]-[month]-[day] [hour]:[minute]:[second]"),
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond]"),
    ];
    let text = text.trim();
    let local = text.strip_suffix('Z').unwrap_or(text);
    let parsed = FORMS.iter().find_map(|form| {
        PrimitiveDateTime::parse(local, form)
            .ok()
            .or_else(|| time::Date::parse(local, form).ok().map(|d| d.midnight()))
    })?;
    parsed.assume_utc().format(LOG_TIME).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn times_are_fixed_width_utc() {
        assert_eq!(utc_text(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let t = UNIX_EPOCH + Duration::from_millis(1_795_344_123_456);
        assert_eq!(utc_text(t), "2026-11-22T10:42:03.456Z");
        // Leap day.
        assert_eq!(
            utc_text(UNIX_EPOCH + Duration::from_secs(1_709_164_800)),
            "2024-02-29T00:00:00.000Z"
        );
    }

    #[test]
    fn filter_times_accept_what_browsers_send() {
        assert_eq!(
            parse_filter_time("2026-11-22T10:05").as_deref(),
            Some("2026-11-22T10:05:00.000Z")
        );
        assert_eq!(
            parse_filter_time("2026-11-22").as_deref(),
            Some("2026-11-22T00:00:00.000Z")
        );
        assert_eq!(
            parse_filter_time("2026-11-22T10:05:07.5Z").as_deref(),
            Some("2026-11-22T10:05:07.500Z")
        );
        for bad in [
            "yesterday",
            "2026-13-01",
            "2026-11-22T25:00",
            "2026/11/22",
            "2026-11-22T10",
        ] {
            assert_eq!(parse_filter_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn event_ids_are_uuids() {
        let id = event_id();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert_ne!(id, event_id());
    }
}
