//! Approvals on the server: the service behind the approvals server functions ([`store`] keeps
//! requests and reviews, [`execute`] carries an approved request out, [`notify`] posts to the
//! approvals webhook). Every step is one audited request through the pipeline; the rules that a
//! role alone cannot say (not one's own request, not one's own WorkSpace) are checked here,
//! against the request, and refused as `Forbidden` like any other refusal.

mod execute;
mod notify;
mod reads;
mod snapshots;
pub mod store;

pub(crate) use snapshots::snapshots;

use std::sync::Arc;
use std::time::Duration;

use leptos::server_fn::ServerFn;
use serde_json::json;
use sha2::{Digest, Sha256};

pub use crate::ssr::webhook::Webhook;

use super::{
    AcknowledgePostReview, ApprovalAction, ApprovalDetail, ApprovalId, ApprovalPage, ApprovalQuery, ApprovalRule,
    ApprovalState, ApprovalSummary, ApproveRequest, BreakGlass, CancelRequest, Decision, Frozen, GetApproval,
    ItemResult, ListApprovals, LiveWorkspace, PendingApproval, PendingApprovals, RejectRequest, RequestApproval,
    RequestedProperties, WorkspaceSnapshot, MIN_REASON,
};
use crate::audit::ssr::record::{self, utc_now};
use crate::error::{AppError, AppResult};
use crate::fleet::RunningMode;
use crate::identity::Role;
use crate::ssr::db::Db;
use crate::ssr::workspaces::Client;
use crate::ssr::{Audited, Caller, Operation, Pipeline, Portal};

/// The approvals rule, as configured.
#[derive(Clone, Debug)]
pub struct ApprovalSettings {
    /// The actions that need an approved request.
    pub required: Vec<ApprovalAction>,
    /// Distinct approvers besides the requester.
    pub approvals_needed: u32,
    /// How long a request waits for its approvals.
    pub ttl: Duration,
    /// Whether an admin may act at once (with a reason, and a post-review).
    pub break_glass: bool,
    /// Where each new request and each decision is posted.
    pub webhook: Option<Webhook>,
    /// The portal's address for links in notifications (`--public-url`).
    pub public_url: Option<String>,
}

impl Default for ApprovalSettings {
    fn default() -> Self {
        ApprovalSettings {
            required: vec![ApprovalAction::Terminate, ApprovalAction::Rebuild],
            approvals_needed: 1,
            ttl: Duration::from_secs(24 * 3600),
            break_glass: false,
            webhook: None,
            public_url: None,
        }
    }
}

/// The approvals service.
pub struct Approvals {
    db: Db,
    pipeline: Pipeline,
    client: Client,
    settings: ApprovalSettings,
}

impl Audited for ApprovalSummary {
    fn resource_ids(&self) -> Vec<String> {
        vec![self.id.to_string()]
    }
}
impl Audited for ApprovalPage {}
impl Audited for ApprovalDetail {}
impl Audited for Vec<PendingApproval> {}

/// The most WorkSpaces one request covers.
pub const MAX_TARGETS: usize = 500;

impl Approvals {
    pub fn new(db: Db, pipeline: Pipeline, client: Client, settings: ApprovalSettings) -> Self {
        Approvals {
            db,
            pipeline,
            client,
            settings,
        }
    }

    /// The rule, for the pages.
    pub fn rule(&self) -> ApprovalRule {
        ApprovalRule {
            required: self
                .settings
                .required
                .iter()
                .map(|a| a.api_name().to_string())
                .collect(),
            approvals_needed: self.settings.approvals_needed,
            break_glass: self.settings.break_glass,
        }
    }

    /// The event names of the operations that need an approved request (for the pipeline).
    pub fn gated(settings: &ApprovalSettings) -> Vec<&'static str> {
        settings.required.iter().map(|a| a.api_name()).collect()
    }

    /// How many requests wait for `caller` to review them (for the navigation's badge).
    pub async fn to_review(&self, caller: &Caller) -> AppResult<usize> {
        match caller.user() {
            Some(user) if user.role.allows(Role::Approver) => {
                store::count_to_review(&self.db, &user.name).await.map(|n| n as usize)
            }
            _ => Ok(0),
        }
    }

    /// Starts the upkeep: requests a previous run left executing become `unknown` (never sent
    /// again), and pending requests expire on time.
    pub async fn start(self: &Arc<Self>) -> AppResult<()> {
        let unknown = store::recover(&self.db, &utc_now()).await?;
        if unknown > 0 {
            tracing::warn!(
                requests = unknown,
                "approved requests were being executed when the portal stopped: marked unknown, not run again"
            );
        }
        let approvals = Arc::clone(self);
        let period = (self.settings.ttl / 4).clamp(Duration::from_millis(200), Duration::from_secs(15));
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(period).await;
                if let Err(e) = approvals.expire().await {
                    tracing::warn!(error = %e, "expiring approval requests failed");
                }
            }
        });
        Ok(())
    }

    /// Marks pending requests whose time is up as expired, each recorded.
    async fn expire(&self) -> AppResult<()> {
        for request in store::expire_due(&self.db, &utc_now()).await? {
            let op = Operation::portal_write(
                "/api/approvals/expire",
                "ExpireApprovalRequest",
                json!({ "requestId": request.public_id, "expiredAt": request.expires_at }),
            )
            .touching([request.public_id.as_str()]);
            let summary = summary_of(&request);
            let answered = self.pipeline.run(&Caller::portal(), op, async { Ok(summary) }).await;
            if let Ok(summary) = answered {
                self.notify("expired", &summary, None);
            }
        }
        Ok(())
    }

    // -----------------------------------------------------------------------------------------
    // Asking

    /// `approvals/request` (and, with `break_glass`, `approvals/break-glass`): freezes the action
    /// with a snapshot of each WorkSpace and waits for approvals — or, break-glass, executes at
    /// once.
    #[allow(clippy::too_many_arguments)]
    pub async fn request(
        &self,
        portal: &Arc<Portal>,
        caller: &Caller,
        action: &str,
        ids: &[String],
        reason: &str,
        running_mode: Option<&str>,
        auto_stop_minutes: Option<&str>,
        break_glass: bool,
    ) -> AppResult<ApprovalSummary> {
        let (endpoint, event) = if break_glass {
            (BreakGlass::PATH, "BreakGlass")
        } else {
            (RequestApproval::PATH, "CreateApprovalRequest")
        };
        let op = Operation::portal_write(
            endpoint,
            event,
            json!({ "action": action, "workspaceIds": ids, "reason": reason, "runningMode": running_mode }),
        )
        .touching(ids);
        let work = async {
            let action = ApprovalAction::from_api(action).ok_or_else(|| {
                AppError::validation(
                    "action",
                    "must be one of TerminateWorkspaces, RebuildWorkspaces, StopWorkspaces, RebootWorkspaces, \
                     ModifyWorkspaceProperties",
                )
            })?;
            if break_glass && !self.settings.break_glass {
                return Err(AppError::Forbidden {
                    message: "break-glass is not enabled on this portal (--break-glass)".into(),
                });
            }
            if !break_glass && !self.settings.required.contains(&action) {
                return Err(AppError::validation(
                    "action",
                    format!("{} needs no approval here: do it directly", action.api_name()),
                ));
            }
            let Some(requester) = caller.user() else {
                return Err(AppError::Forbidden {
                    message: "only a signed-in user can ask for an action".into(),
                });
            };
            let ids = crate::fleet::ssr::checked_ids(ids, MAX_TARGETS)?;
            if action == ApprovalAction::Rebuild && ids.len() > 25 {
                // Rebuild goes one call per WorkSpace: still fine, only slow; nothing to refuse.
            }
            let reason = reason.trim();
            if reason.chars().count() < MIN_REASON {
                return Err(AppError::validation(
                    "reason",
                    format!("say why, in at least {MIN_REASON} characters: reviewers read it"),
                ));
            }
            if reason.chars().count() > 2_000 {
                return Err(AppError::validation("reason", "at most 2,000 characters"));
            }
            let properties = match action {
                ApprovalAction::Modify => {
                    let mode = RunningMode::parse("running_mode", running_mode.unwrap_or_default())?;
                    let minutes = crate::fleet::ssr::auto_stop_minutes(&mode, auto_stop_minutes.unwrap_or_default())?;
                    Some(RequestedProperties {
                        running_mode: mode,
                        auto_stop_minutes: minutes,
                    })
                }
                _ => None,
            };
            let workspaces = snapshots(&self.client, &ids, true).await?;
            if let Some(missing) = ids.iter().find(|id| !workspaces.iter().any(|w| &w.id == *id)) {
                return Err(AppError::validation(
                    "ids",
                    format!("{missing} does not exist (or was terminated)"),
                ));
            }
            let now = std::time::SystemTime::now();
            let frozen = Frozen {
                id: new_id(),
                action,
                workspaces,
                properties,
                requester: requester.name.clone(),
                reason: reason.to_string(),
                approvals_needed: if break_glass { 0 } else { self.settings.approvals_needed },
                created_at: record::utc_text(now),
                expires_at: record::utc_text(now + self.settings.ttl),
            };
            let json = serde_json::to_string(&frozen).map_err(crate::ssr::internal)?;
            let hash = hex::encode(Sha256::digest(json.as_bytes()));
            let row_id = store::insert(&self.db, &frozen, &json, &hash, requester.id, break_glass).await?;
            let request = store::by_public_id(&self.db, &frozen.id)
                .await?
                .ok_or_else(|| crate::ssr::internal("a request vanished as it was stored"))?;
            if break_glass {
                // Carried out at once, as its own audited action, like an approved request.
                execute::execute(portal, request.clone()).await;
            }
            let _ = row_id;
            Ok(summary_of(
                &store::by_public_id(&self.db, &frozen.id).await?.unwrap_or(request),
            ))
        };
        let summary = self.pipeline.run(caller, op, work).await?;
        self.notify(if break_glass { "break-glass" } else { "requested" }, &summary, None);
        Ok(summary)
    }

    // -----------------------------------------------------------------------------------------
    // Reviewing

    /// `approvals/approve` and `approvals/reject`. An approval names the hash it saw; the last
    /// approval needed claims the request's execution, which then runs on its own.
    pub async fn review(
        &self,
        portal: &Arc<Portal>,
        caller: &Caller,
        id: &str,
        hash: &str,
        comment: &str,
        decision: Decision,
    ) -> AppResult<ApprovalSummary> {
        let (endpoint, event) = match decision {
            Decision::Approve => (ApproveRequest::PATH, "ApproveRequest"),
            Decision::Reject => (RejectRequest::PATH, "RejectRequest"),
        };
        let op = Operation::portal_write(
            endpoint,
            event,
            json!({ "requestId": id, "hash": hash, "comment": comment }),
        )
        .touching([id]);
        let work = async {
            let id = ApprovalId::parse("id", id)?;
            let request = self.found(&id).await?;
            let Some(reviewer) = caller.user() else {
                return Err(AppError::Unauthorized);
            };
            let now = utc_now();
            if request.state == ApprovalState::Pending && request.expires_at <= now {
                self.expire().await?;
                return Err(AppError::Conflict {
                    message: format!(
                        "{id} expired at {}: ask again if it is still needed",
                        request.expires_at
                    ),
                });
            }
            if request.state != ApprovalState::Pending {
                return Err(AppError::Conflict {
                    message: format!("{id} is {}: it can no longer be reviewed", request.state.as_str()),
                });
            }
            if let Some(why) = cannot_review(&request, &reviewer.name)? {
                return Err(AppError::Forbidden { message: why });
            }
            if hash.trim() != request.frozen_hash {
                return Err(AppError::validation(
                    "hash",
                    "this is not the hash of the request as it is stored: reload the request and review what it says now",
                ));
            }
            let comment = comment.trim();
            if comment.chars().count() > 2_000 {
                return Err(AppError::validation("comment", "at most 2,000 characters"));
            }
            if decision == Decision::Reject && comment.is_empty() {
                return Err(AppError::validation(
                    "comment",
                    "say why you reject it: the requester reads it",
                ));
            }
            store::insert_review(
                &self.db,
                &request,
                reviewer.id,
                &reviewer.name,
                decision,
                comment,
                &request.frozen_hash,
            )
            .await?;
            match decision {
                Decision::Reject => {
                    store::end_pending(&self.db, request.id, ApprovalState::Rejected, &now).await?;
                }
                Decision::Approve => {
                    if store::claim(&self.db, request.id, &now).await? {
                        let claimed = self.found(&id).await?;
                        let portal = Arc::clone(portal);
                        tokio::spawn(async move { execute::execute(&portal, claimed).await });
                    }
                }
            }
            Ok(summary_of(&self.found(&id).await?))
        };
        let summary = self.pipeline.run(caller, op, work).await?;
        let verb = match (decision, summary.state) {
            (Decision::Reject, _) => "rejected",
            (Decision::Approve, ApprovalState::Pending) => "approved (more approvals needed)",
            (Decision::Approve, _) => "approved",
        };
        self.notify(verb, &summary, Some(comment));
        Ok(summary)
    }

    /// `approvals/cancel`: the requester, or an admin, withdraws a pending request.
    pub async fn cancel(&self, caller: &Caller, id: &str) -> AppResult<ApprovalSummary> {
        let op = Operation::portal_write(CancelRequest::PATH, "CancelApprovalRequest", json!({ "requestId": id }))
            .touching([id]);
        let work = async {
            let id = ApprovalId::parse("id", id)?;
            let request = self.found(&id).await?;
            let mine = caller.user().is_some_and(|u| u.id == request.requester_id);
            if !mine && caller.role() != Some(Role::Admin) {
                return Err(AppError::Forbidden {
                    message: format!(
                        "only {} (who asked) or an admin can cancel {id}",
                        request.requester_name
                    ),
                });
            }
            if !store::end_pending(&self.db, request.id, ApprovalState::Cancelled, &utc_now()).await? {
                return Err(AppError::Conflict {
                    message: format!(
                        "{id} is {}: only a pending request can be cancelled",
                        request.state.as_str()
                    ),
                });
            }
            Ok(summary_of(&self.found(&id).await?))
        };
        let summary = self.pipeline.run(caller, op, work).await?;
        self.notify("cancelled", &summary, None);
        Ok(summary)
    }

    /// `approvals/acknowledge`: an approver (not the admin who acted) acknowledges or flags a
    /// break-glass action.
    pub async fn acknowledge(
        &self,
        caller: &Caller,
        id: &str,
        verdict: &str,
        comment: &str,
    ) -> AppResult<ApprovalSummary> {
        let op = Operation::portal_write(
            AcknowledgePostReview::PATH,
            "AcknowledgePostReview",
            json!({ "requestId": id, "decision": verdict, "comment": comment }),
        )
        .touching([id]);
        let work = async {
            let id = ApprovalId::parse("id", id)?;
            let request = self.found(&id).await?;
            let Some(reviewer) = caller.user() else {
                return Err(AppError::Unauthorized);
            };
            // The request's state is a conflict; who reviews it is a matter of rights.
            if !request.break_glass || request.post_review.as_deref() != Some("open") {
                let why = cannot_acknowledge(&request, &reviewer.name).unwrap_or_default();
                return Err(AppError::Conflict {
                    message: format!("{id}: {why}"),
                });
            }
            if let Some(why) = cannot_acknowledge(&request, &reviewer.name) {
                return Err(AppError::Forbidden { message: why });
            }
            let verdict = match verdict.trim() {
                "acknowledge" | "acknowledged" => "acknowledged",
                "flag" | "flagged" => "flagged",
                _ => return Err(AppError::validation("decision", "acknowledge or flag")),
            };
            let comment = comment.trim();
            if verdict == "flagged" && comment.is_empty() {
                return Err(AppError::validation("comment", "say what is wrong with it"));
            }
            if !store::post_review(&self.db, request.id, verdict, &reviewer.name, comment, &utc_now()).await? {
                return Err(AppError::Conflict {
                    message: format!("{id} has no open post-review"),
                });
            }
            Ok(summary_of(&self.found(&id).await?))
        };
        self.pipeline.run(caller, op, work).await
    }

    async fn found(&self, id: &ApprovalId) -> AppResult<store::Stored> {
        store::by_public_id(&self.db, id)
            .await?
            .ok_or_else(|| AppError::NotFound {
                message: format!("no approval request {id}"),
            })
    }

    /// Posts to the webhook, if one is configured, without waiting.
    fn notify(&self, what: &str, summary: &ApprovalSummary, comment: Option<&str>) {
        if let Some(webhook) = &self.settings.webhook {
            notify::send(
                webhook,
                &self.db,
                self.settings.public_url.as_deref(),
                what,
                summary,
                comment,
            );
        }
    }
}

/// Why `reviewer` may not review `request` (`None`: they may): not their own request, not one on
/// their own WorkSpace.
pub(super) fn cannot_review(request: &store::Stored, reviewer: &str) -> AppResult<Option<String>> {
    if request.requester_name.eq_ignore_ascii_case(reviewer) {
        return Ok(Some("you asked for it: someone else must review it".into()));
    }
    let frozen: Frozen = serde_json::from_str(&request.frozen).map_err(crate::ssr::internal)?;
    if let Some(own) = frozen
        .workspaces
        .iter()
        .find(|w| w.user_name.eq_ignore_ascii_case(reviewer))
    {
        return Ok(Some(format!(
            "{} is your own WorkSpace: someone else must review it",
            own.id
        )));
    }
    Ok(None)
}

/// Why `reviewer` may not acknowledge `request`'s break-glass action (`None`: they may).
pub(super) fn cannot_acknowledge(request: &store::Stored, reviewer: &str) -> Option<String> {
    if !request.break_glass {
        return Some("it is not a break-glass action".into());
    }
    if request.post_review.as_deref() != Some("open") {
        return Some(format!(
            "its post-review is {}",
            request.post_review.as_deref().unwrap_or("closed")
        ));
    }
    if request.requester_name.eq_ignore_ascii_case(reviewer) {
        return Some("you acted: someone else must review it".into());
    }
    None
}

pub(super) fn summary_of(r: &store::Stored) -> ApprovalSummary {
    ApprovalSummary {
        id: r.public_id.clone(),
        action: r.action,
        state: r.state,
        requester: r.requester_name.clone(),
        reason: r.reason.clone(),
        workspace_count: r.workspace_count as usize,
        created_at: r.created_at.clone(),
        expires_at: r.expires_at.clone(),
        approvals: r.approvals as usize,
        approvals_needed: r.approvals_needed as usize,
        break_glass: r.break_glass,
        post_review: r.post_review.clone(),
    }
}

fn new_id() -> ApprovalId {
    ApprovalId::from_stored(format!("apr-{}", crate::identity::ssr::random_hex(8)))
}
