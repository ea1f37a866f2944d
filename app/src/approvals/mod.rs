//! Approvals: destructive actions gated by a second person.
//!
//! An operator asks for an action on some WorkSpaces with a reason; the request freezes what
//! will be sent (the action, the WorkSpaces and a snapshot of each) under a SHA-256 hash;
//! approvers — never the requester, never on their own WorkSpace — approve that hash; when the
//! last approval arrives the request executes, once, skipping WorkSpaces that changed since.
//! Here: the types and server functions; [`pages`]: the list, a request's page and the request
//! dialog the fleet's pages open; `ssr`: the service, its store and the executor.

pub mod pages;
#[cfg(feature = "ssr")]
pub mod ssr;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::fleet::{BatchAction, ConnectionStatus, RunningMode, Tag, WorkspaceId, WorkspaceState};
use crate::url::url_query;

/// The actions that can be made to need an approval (`--approval-required`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ApprovalAction {
    #[serde(rename = "TerminateWorkspaces")]
    Terminate,
    #[serde(rename = "RebuildWorkspaces")]
    Rebuild,
    #[serde(rename = "StopWorkspaces")]
    Stop,
    #[serde(rename = "RebootWorkspaces")]
    Reboot,
    #[serde(rename = "ModifyWorkspaceProperties")]
    Modify,
}

impl ApprovalAction {
    pub const ALL: [ApprovalAction; 5] = [
        ApprovalAction::Terminate,
        ApprovalAction::Rebuild,
        ApprovalAction::Stop,
        ApprovalAction::Reboot,
        ApprovalAction::Modify,
    ];

    /// The AWS action name (its audit records' event name).
    pub fn api_name(self) -> &'static str {
        match self {
            ApprovalAction::Terminate => "TerminateWorkspaces",
            ApprovalAction::Rebuild => "RebuildWorkspaces",
            ApprovalAction::Stop => "StopWorkspaces",
            ApprovalAction::Reboot => "RebootWorkspaces",
            ApprovalAction::Modify => "ModifyWorkspaceProperties",
        }
    }

    pub fn from_api(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.api_name() == name.trim())
    }

    /// The batch action it is, if it is one.
    pub fn batch(self) -> Option<BatchAction> {
        match self {
            ApprovalAction::Terminate => Some(BatchAction::Terminate),
            ApprovalAction::Rebuild => Some(BatchAction::Rebuild),
            ApprovalAction::Stop => Some(BatchAction::Stop),
            ApprovalAction::Reboot => Some(BatchAction::Reboot),
            ApprovalAction::Modify => None,
        }
    }

    pub fn of_batch(action: BatchAction) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.batch() == Some(action))
    }

    pub fn label(self) -> &'static str {
        match self {
            ApprovalAction::Terminate => "Terminate",
            ApprovalAction::Rebuild => "Rebuild",
            ApprovalAction::Stop => "Stop",
            ApprovalAction::Reboot => "Reboot",
            ApprovalAction::Modify => "Change running mode",
        }
    }
}

/// Where a request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApprovalState {
    /// Waiting for approvals (until it expires).
    Pending,
    /// Approved; being sent to WorkSpaces.
    Executing,
    /// Sent: each WorkSpace's outcome is recorded.
    Executed,
    Rejected,
    Cancelled,
    Expired,
    /// Approved, but not sent: its stored content no longer matched its hash.
    Refused,
    /// The portal stopped while sending it: check the WorkSpaces (never sent again).
    Unknown,
}

impl ApprovalState {
    pub const ALL: [ApprovalState; 8] = [
        ApprovalState::Pending,
        ApprovalState::Executing,
        ApprovalState::Executed,
        ApprovalState::Rejected,
        ApprovalState::Cancelled,
        ApprovalState::Expired,
        ApprovalState::Refused,
        ApprovalState::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalState::Pending => "pending",
            ApprovalState::Executing => "executing",
            ApprovalState::Executed => "executed",
            ApprovalState::Rejected => "rejected",
            ApprovalState::Cancelled => "cancelled",
            ApprovalState::Expired => "expired",
            ApprovalState::Refused => "refused",
            ApprovalState::Unknown => "unknown",
        }
    }

    pub fn from_stored(text: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .unwrap_or(ApprovalState::Unknown)
    }
}

impl crate::url::QueryValue for ApprovalState {
    fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
    fn render(&self) -> String {
        self.as_str().to_string()
    }
}

/// A request's ID: `apr-` and 16 hexadecimal digits.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ApprovalId(String);

impl ApprovalId {
    pub fn parse(field: &str, text: &str) -> Result<Self, AppError> {
        let text = text.trim();
        let ok = text.strip_prefix("apr-").is_some_and(|hex| {
            hex.len() == 16 && hex.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        });
        if ok {
            Ok(ApprovalId(text.to_string()))
        } else if text.is_empty() {
            Err(AppError::validation(field, "is required"))
        } else {
            Err(AppError::validation(
                field,
                format!(
                    "'{}' is not a request ID; it looks like apr-0123456789abcdef",
                    crate::fleet::validate::clip(text)
                ),
            ))
        }
    }

    pub fn from_stored(text: String) -> Self {
        ApprovalId(text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ApprovalId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a reviewer decides on, for one WorkSpace: as it was when the request was made.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkspaceSnapshot {
    pub id: WorkspaceId,
    pub state: WorkspaceState,
    pub user_name: String,
    pub directory_id: String,
    pub bundle_id: String,
    pub running_mode: RunningMode,
    pub tags: Vec<Tag>,
    pub connection: Option<ConnectionStatus>,
}

impl WorkspaceSnapshot {
    /// What changed between this snapshot and `now`, in words (state, user, bundle, directory,
    /// running mode, tags).
    pub fn changes(&self, now: &WorkspaceSnapshot) -> Vec<String> {
        let mut out = Vec::new();
        let mut field = |name: &str, then: &str, now: &str| {
            if then != now {
                out.push(format!("{name}: {then} → {now}"));
            }
        };
        field("state", self.state.as_str(), now.state.as_str());
        field("user", &self.user_name, &now.user_name);
        field("directory", &self.directory_id, &now.directory_id);
        field("bundle", &self.bundle_id, &now.bundle_id);
        field("running mode", self.running_mode.as_str(), now.running_mode.as_str());
        let tags = |t: &[Tag]| {
            let mut t: Vec<String> = t.iter().map(|t| format!("{}={}", t.key, t.value)).collect();
            t.sort();
            t.join(", ")
        };
        field("tags", &tags(&self.tags), &tags(&now.tags));
        out
    }

    /// Whether a change since the snapshot means the WorkSpace must not be touched: another
    /// user, bundle or directory is another WorkSpace than the reviewers decided on.
    pub fn drifted(&self, now: &WorkspaceSnapshot) -> bool {
        self.user_name != now.user_name || self.bundle_id != now.bundle_id || self.directory_id != now.directory_id
    }

    /// The changes that make it drifted (what an execution reports for a WorkSpace it skips;
    /// its re-read does not fetch tags or connections).
    pub fn drift(&self, now: &WorkspaceSnapshot) -> Vec<String> {
        let mut out = Vec::new();
        for (name, then, now) in [
            ("user", &self.user_name, &now.user_name),
            ("directory", &self.directory_id, &now.directory_id),
            ("bundle", &self.bundle_id, &now.bundle_id),
        ] {
            if then != now {
                out.push(format!("{name}: {then} → {now}"));
            }
        }
        out
    }
}

/// The running mode a request to change it asks for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestedProperties {
    pub running_mode: RunningMode,
    pub auto_stop_minutes: Option<i32>,
}

/// Exactly what a request will send, frozen when it is made; its SHA-256 is what reviewers
/// approve.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Frozen {
    pub id: ApprovalId,
    pub action: ApprovalAction,
    pub workspaces: Vec<WorkspaceSnapshot>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<RequestedProperties>,
    pub requester: String,
    pub reason: String,
    pub approvals_needed: u32,
    pub created_at: String,
    pub expires_at: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Approve,
    Reject,
}

/// One reviewer's decision.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Review {
    pub reviewer: String,
    pub decision: Decision,
    pub comment: String,
    pub created_at: String,
    /// Still counts (the reviewer is still an enabled approver or admin, and saw this hash).
    pub counts: bool,
}

/// What happened to one WorkSpace when the request was executed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemResult {
    pub workspace_id: WorkspaceId,
    /// `accepted`, `failed`, or `changed` (not touched: it changed since the request).
    pub outcome: String,
    pub error_code: Option<String>,
    pub message: Option<String>,
}

/// A request, as a row of the list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApprovalSummary {
    pub id: ApprovalId,
    pub action: ApprovalAction,
    pub state: ApprovalState,
    pub requester: String,
    pub reason: String,
    pub workspace_count: usize,
    pub created_at: String,
    pub expires_at: String,
    pub approvals: usize,
    pub approvals_needed: usize,
    pub break_glass: bool,
    /// Break-glass only: open, acknowledged or flagged.
    pub post_review: Option<String>,
}

/// A WorkSpace of a request now, beside its snapshot.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LiveWorkspace {
    pub id: WorkspaceId,
    /// `None`: it no longer exists.
    pub now: Option<WorkspaceSnapshot>,
    pub changes: Vec<String>,
    /// It changed so that execution will not touch it.
    pub drifted: bool,
}

/// A request in full.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApprovalDetail {
    pub summary: ApprovalSummary,
    pub hash: String,
    pub frozen: Frozen,
    pub live: Vec<LiveWorkspace>,
    pub reviews: Vec<Review>,
    pub outcome: Vec<ItemResult>,
    /// Why the signed-in user may not review it (`None`: they may).
    pub cannot_review: Option<String>,
    pub may_cancel: bool,
    /// Break-glass: why the signed-in user may not acknowledge it (`None`: they may).
    pub cannot_acknowledge: Option<String>,
    pub post_reviewer: Option<String>,
    pub post_comment: Option<String>,
    pub webhook_error: Option<String>,
}

/// A WorkSpace with a pending request on it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PendingApproval {
    pub workspace_id: WorkspaceId,
    pub action: ApprovalAction,
    pub request: ApprovalId,
}

/// Which requests the list shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Tab {
    /// Pending requests the signed-in user may review, oldest first.
    #[default]
    Review,
    /// The signed-in user's own requests.
    Mine,
    /// Every request.
    All,
}

impl crate::url::QueryValue for Tab {
    fn parse(text: &str) -> Option<Self> {
        match text {
            "review" => Some(Tab::Review),
            "mine" => Some(Tab::Mine),
            "all" => Some(Tab::All),
            _ => None,
        }
    }
    fn render(&self) -> String {
        match self {
            Tab::Review => "review",
            Tab::Mine => "mine",
            Tab::All => "all",
        }
        .to_string()
    }
}

/// The list's search, in the URL.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ApprovalQuery {
    pub tab: Tab,
    pub state: Option<ApprovalState>,
    pub requester: String,
    pub reviewer: String,
    pub action: String,
    pub workspace: String,
    /// UTC, as the audit log's filters take it.
    pub from: String,
    pub to: String,
    /// Break-glass actions whose post-review is still open after a day.
    pub overdue: bool,
    /// Keyset: requests after (review tab) or before (the others) this row.
    pub before: Option<i64>,
}

url_query!(ApprovalQuery, "/approvals", {
    tab, state, requester, reviewer, action, workspace, from, to, overdue, before
});

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApprovalPage {
    pub items: Vec<ApprovalSummary>,
    pub next: Option<i64>,
}

/// What the approvals rule is, for the pages (the server decides either way).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalRule {
    /// The actions that need an approved request (their event names).
    pub required: Vec<String>,
    pub approvals_needed: u32,
    /// An admin may act at once, with a reason, and a post-review.
    pub break_glass: bool,
}

impl ApprovalRule {
    pub fn requires(&self, action: ApprovalAction) -> bool {
        self.required.iter().any(|r| r == action.api_name())
    }
}

/// The shortest reason a requester may give.
pub const MIN_REASON: usize = 10;

// ---------------------------------------------------------------------------------------------
// Server functions

/// Asks for an action on WorkSpaces (one to 500): freezes it, and waits for approvals.
#[server(endpoint = "approvals/request", input = server_fn::codec::Json)]
pub async fn request_approval(
    action: String,
    ids: Vec<String>,
    reason: String,
    #[server(default)] running_mode: Option<String>,
    #[server(default)] auto_stop_minutes: Option<String>,
) -> Result<ApprovalSummary, AppError> {
    let (portal, caller) = crate::ssr::request()?;
    portal
        .approvals
        .request(
            &portal,
            &caller,
            &action,
            &ids,
            &reason,
            running_mode.as_deref(),
            auto_stop_minutes.as_deref(),
            false,
        )
        .await
}

#[server(endpoint = "approvals/list")]
pub async fn list_approvals(#[server(default)] query: ApprovalQuery) -> Result<ApprovalPage, AppError> {
    let (portal, caller) = crate::ssr::request()?;
    portal.approvals.list(&caller, query).await
}

#[server(endpoint = "approvals/get")]
pub async fn get_approval(id: String) -> Result<ApprovalDetail, AppError> {
    let (portal, caller) = crate::ssr::request()?;
    portal.approvals.get(&portal, &caller, &id).await
}

/// Approves the request whose frozen content has `hash` (the one shown).
#[server(endpoint = "approvals/approve")]
pub async fn approve_request(
    id: String,
    hash: String,
    #[server(default)] comment: String,
) -> Result<ApprovalSummary, AppError> {
    let (portal, caller) = crate::ssr::request()?;
    portal
        .approvals
        .review(&portal, &caller, &id, &hash, &comment, Decision::Approve)
        .await
}

/// Rejects the request (a comment is required); one rejection ends it.
#[server(endpoint = "approvals/reject")]
pub async fn reject_request(
    id: String,
    hash: String,
    #[server(default)] comment: String,
) -> Result<ApprovalSummary, AppError> {
    let (portal, caller) = crate::ssr::request()?;
    portal
        .approvals
        .review(&portal, &caller, &id, &hash, &comment, Decision::Reject)
        .await
}

/// Cancels a pending request (its requester, or an admin).
#[server(endpoint = "approvals/cancel")]
pub async fn cancel_request(id: String) -> Result<ApprovalSummary, AppError> {
    let (portal, caller) = crate::ssr::request()?;
    portal.approvals.cancel(&caller, &id).await
}

/// Break-glass (when enabled): an admin acts at once, with a reason; an approver reviews it after.
#[server(endpoint = "approvals/break-glass", input = server_fn::codec::Json)]
pub async fn break_glass(
    action: String,
    ids: Vec<String>,
    reason: String,
    #[server(default)] running_mode: Option<String>,
    #[server(default)] auto_stop_minutes: Option<String>,
) -> Result<ApprovalSummary, AppError> {
    let (portal, caller) = crate::ssr::request()?;
    portal
        .approvals
        .request(
            &portal,
            &caller,
            &action,
            &ids,
            &reason,
            running_mode.as_deref(),
            auto_stop_minutes.as_deref(),
            true,
        )
        .await
}

/// Post-review of a break-glass action: `acknowledge` or `flag`, with a comment.
#[server(endpoint = "approvals/acknowledge")]
pub async fn acknowledge_post_review(
    id: String,
    decision: String,
    #[server(default)] comment: String,
) -> Result<ApprovalSummary, AppError> {
    let (portal, caller) = crate::ssr::request()?;
    portal.approvals.acknowledge(&caller, &id, &decision, &comment).await
}

/// The pending requests on these WorkSpaces (for the fleet's pages).
#[server(endpoint = "approvals/pending", input = server_fn::codec::Json)]
pub async fn pending_approvals(ids: Vec<String>) -> Result<Vec<PendingApproval>, AppError> {
    let (portal, caller) = crate::ssr::request()?;
    portal.approvals.pending(&caller, &ids).await
}

crate::forms::text_form! {
    ApproveRequest { id, hash, comment };
    RejectRequest { id, hash, comment };
    CancelRequest { id };
    AcknowledgePostReview { id, decision, comment };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::url::UrlQuery;

    fn snapshot() -> WorkspaceSnapshot {
        WorkspaceSnapshot {
            id: WorkspaceId::from_api("ws-abcdefgh1"),
            state: WorkspaceState::Available,
            user_name: "alice".into(),
            directory_id: "d-1234567890".into(),
            bundle_id: "wsb-12345678".into(),
            running_mode: RunningMode::AlwaysOn,
            tags: vec![Tag {
                key: "Team".into(),
                value: "A".into(),
            }],
            connection: None,
        }
    }

    #[test]
    fn a_change_of_state_or_tags_is_shown_but_only_another_user_bundle_or_directory_stops_it() {
        let then = snapshot();
        let mut now = snapshot();
        now.state = WorkspaceState::Stopped;
        now.tags.clear();
        assert_eq!(then.changes(&now), ["state: AVAILABLE → STOPPED", "tags: Team=A → "]);
        assert!(!then.drifted(&now));
        assert_eq!(then.drift(&now), Vec::<String>::new());
        now.user_name = "mallory".into();
        assert!(then.drifted(&now));
        assert_eq!(then.drift(&now), ["user: alice → mallory"]);
    }

    #[test]
    fn ids_and_names_are_parsed_at_the_edge() {
        assert!(ApprovalId::parse("id", "apr-0123456789abcdef").is_ok());
        assert_eq!(ApprovalId::parse("id", "apr-XYZ").unwrap_err().field(), Some("id"));
        assert_eq!(
            ApprovalAction::from_api("TerminateWorkspaces"),
            Some(ApprovalAction::Terminate)
        );
        assert_eq!(ApprovalAction::from_api("StartWorkspaces"), None);
        let q = ApprovalQuery::from_pairs([("tab", "all"), ("state", "expired"), ("workspace", "ws-1")]);
        assert_eq!((q.tab, q.state), (Tab::All, Some(ApprovalState::Expired)));
        assert_eq!(q.href(), "/approvals?tab=all&state=expired&workspace=ws-1");
    }
}
