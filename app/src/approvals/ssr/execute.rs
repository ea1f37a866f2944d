//! Carrying out a request whose approvals are in (or a break-glass action): once, only what was
//! approved, and only on WorkSpaces that are still the ones the reviewers saw.
//!
//! The request was claimed (`pending` → `executing`) by one conditional update before this runs,
//! so no other caller can get here for the same request. Its frozen content is checked against
//! its hash first: a database edit after approval is refused, not executed. Each WorkSpace is
//! read again; one that now has another user, bundle or directory — or is gone — is skipped as
//! `changed`. The action is one audited request by the portal, naming the approval it carries
//! out, through the same pipeline and the same fleet code as a direct action.

use std::sync::Arc;

use leptos::server_fn::ServerFn;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::store::{self, Stored};
use super::{snapshots, summary_of};
use crate::approvals::{ApprovalAction, ApprovalState, Frozen, ItemResult};
use crate::audit::ssr::record::{utc_now, UserIdentity};
use crate::error::{AppError, AppResult};
use crate::fleet::ssr::Fleet;
use crate::fleet::{ItemOutcome, RunBatch, WorkspaceId};
use crate::ssr::{Audited, Caller, Operation, Portal};

/// What an executed request sent, for its audit record.
struct Sent {
    items: Vec<ItemResult>,
}

impl Audited for Sent {
    fn response_elements(&self) -> Value {
        let by = |outcome: &str| -> Vec<&str> {
            self.items
                .iter()
                .filter(|i| i.outcome == outcome)
                .map(|i| i.workspace_id.as_str())
                .collect()
        };
        let failed: Vec<Value> = self
            .items
            .iter()
            .filter(|i| i.outcome == "failed")
            .map(|i| json!({ "workspaceId": i.workspace_id, "errorCode": i.error_code, "errorMessage": i.message }))
            .collect();
        json!({ "succeededWorkspaceIds": by("accepted"), "failedRequests": failed, "skippedAsChanged": by("changed") })
    }

    fn failed_items(&self) -> usize {
        self.items.iter().filter(|i| i.outcome != "accepted").count()
    }
}

/// Executes a claimed request and records how it ended. Never fails: every outcome, including
/// an error, ends in the request's state.
pub async fn execute(portal: &Arc<Portal>, request: Stored) {
    let now = utc_now();
    let (state, items) = match run(portal, &request).await {
        Ok(items) => (ApprovalState::Executed, items),
        Err(Refusal::Tampered) => (ApprovalState::Refused, Vec::new()),
        Err(Refusal::Failed(e)) => {
            tracing::warn!(request = %request.public_id, error = %e, "executing an approved request failed");
            let frozen: Option<Frozen> = serde_json::from_str(&request.frozen).ok();
            let items = frozen
                .map(|f| {
                    f.workspaces
                        .iter()
                        .map(|w| ItemResult {
                            workspace_id: w.id.clone(),
                            outcome: "failed".into(),
                            error_code: Some(e.audit_code().to_string()),
                            message: Some(e.to_string()),
                        })
                        .collect()
                })
                .unwrap_or_default();
            (ApprovalState::Executed, items)
        }
    };
    let outcome = serde_json::to_string(&items).unwrap_or_else(|_| "[]".into());
    if let Err(e) = store::finish(&portal.db, request.id, state, &outcome, &now).await {
        tracing::error!(request = %request.public_id, error = %e, "recording the end of an approved request failed");
    }
    if let Ok(Some(done)) = store::by_public_id(&portal.db, &request.public_id).await {
        let verb = match state {
            ApprovalState::Refused => "refused (its stored content no longer matched its hash)",
            _ => "executed",
        };
        portal.approvals.notify(verb, &summary_of(&done), None);
    }
}

enum Refusal {
    /// The stored content is not what was approved.
    Tampered,
    Failed(AppError),
}

impl From<AppError> for Refusal {
    fn from(e: AppError) -> Self {
        Refusal::Failed(e)
    }
}

async fn run(portal: &Arc<Portal>, request: &Stored) -> Result<Vec<ItemResult>, Refusal> {
    let hash = hex::encode(Sha256::digest(request.frozen.as_bytes()));
    let frozen: Option<Frozen> = serde_json::from_str(&request.frozen).ok();
    let Some(frozen) = frozen.filter(|f| hash == request.frozen_hash && f.id == request.public_id) else {
        refuse_tampered(portal, request, &hash).await;
        return Err(Refusal::Tampered);
    };
    let approvers: Vec<String> = store::reviews(&portal.db, request)
        .await?
        .into_iter()
        .filter(|r| r.counts)
        .map(|r| r.reviewer)
        .collect();
    let approval = json!({
        "requestId": request.public_id,
        "hash": request.frozen_hash,
        "requester": frozen.requester,
        "reason": frozen.reason,
        "approvers": approvers,
        "breakGlass": request.break_glass,
    });

    // Still the WorkSpaces the reviewers saw?
    let ids: Vec<WorkspaceId> = frozen.workspaces.iter().map(|w| w.id.clone()).collect();
    let now = snapshots(&portal.workspaces, &ids, false).await?;
    let mut items: Vec<ItemResult> = Vec::with_capacity(ids.len());
    let mut send: Vec<WorkspaceId> = Vec::with_capacity(ids.len());
    for then in &frozen.workspaces {
        match now.iter().find(|n| n.id == then.id) {
            Some(n) if !then.drifted(n) => send.push(then.id.clone()),
            Some(n) => items.push(changed(&then.id, then.drift(n).join("; "))),
            None => items.push(changed(&then.id, "it no longer exists".into())),
        }
    }
    if send.is_empty() {
        return Ok(items);
    }

    let caller = Caller::on_behalf_of(UserIdentity::requester(request.requester_id, &request.requester_name));
    let fleet = &portal.fleet;
    match (frozen.action.batch(), &frozen.properties) {
        (Some(action), _) => {
            let requests: Vec<Value> = send.iter().map(|id| json!({ "workspaceId": id })).collect();
            let op = Operation::aws_write(
                RunBatch::PATH,
                action.api_name(),
                json!({ action.api_parameter(): requests }),
            )
            .touching(send.iter().map(WorkspaceId::as_str).chain([request.public_id.as_str()]))
            .approved(approval);
            let sent = portal
                .pipeline
                .run(&caller, op, async {
                    let outcomes = fleet.send_action(action, &send).await;
                    fleet.reread(&send).await;
                    Ok(Sent {
                        items: outcomes.into_iter().map(item_of).collect(),
                    })
                })
                .await?;
            items.extend(sent.items);
        }
        (None, Some(properties)) => {
            debug_assert_eq!(frozen.action, ApprovalAction::Modify);
            for id in &send {
                let op = Fleet::modify_operation(
                    id.as_str(),
                    properties.running_mode.as_str(),
                    json!(properties.auto_stop_minutes),
                )
                .touching([request.public_id.as_str()])
                .approved(approval.clone());
                let sent = portal
                    .pipeline
                    .run(&caller, op, async {
                        let result = fleet
                            .send_modify(id, &properties.running_mode, properties.auto_stop_minutes)
                            .await;
                        Ok(Sent {
                            items: vec![match result {
                                Ok(()) => accepted(id),
                                Err(e) => failed(id, &e),
                            }],
                        })
                    })
                    .await?;
                items.extend(sent.items);
            }
        }
        (None, None) => {
            return Err(Refusal::Failed(crate::ssr::internal(
                "a request to change the running mode without the mode asked for",
            )))
        }
    }
    items.sort_by_key(|i| ids.iter().position(|id| *id == i.workspace_id));
    Ok(items)
}

/// The stored request no longer matches the hash its reviewers approved: recorded as a refused
/// execution, and nothing is sent.
async fn refuse_tampered(portal: &Arc<Portal>, request: &Stored, hash: &str) {
    tracing::error!(
        request = %request.public_id,
        stored_hash = %request.frozen_hash,
        computed = %hash,
        "an approved request's stored content does not match its hash: not executed"
    );
    let op = Operation::portal_write(
        "/api/approvals/execute",
        "ExecuteApprovalRequest",
        json!({ "requestId": request.public_id, "approvedHash": request.frozen_hash, "storedContentHash": hash }),
    )
    .touching([request.public_id.as_str()]);
    let refused: AppResult<Sent> = Err(AppError::Conflict {
        message: format!(
            "{}: the stored request does not match the hash its reviewers approved; nothing was sent",
            request.public_id
        ),
    });
    let _ = portal.pipeline.run(&Caller::portal(), op, async { refused }).await;
}

fn item_of(o: ItemOutcome) -> ItemResult {
    ItemResult {
        outcome: if o.ok() { "accepted" } else { "failed" }.into(),
        workspace_id: o.workspace_id,
        error_code: o.error_code,
        message: o.error_message,
    }
}

fn accepted(id: &WorkspaceId) -> ItemResult {
    ItemResult {
        workspace_id: id.clone(),
        outcome: "accepted".into(),
        error_code: None,
        message: None,
    }
}

fn failed(id: &WorkspaceId, e: &AppError) -> ItemResult {
    let (code, message) = match e {
        AppError::Upstream { code, message } => (code.clone(), message.clone()),
        other => (other.audit_code().to_string(), other.to_string()),
    };
    ItemResult {
        workspace_id: id.clone(),
        outcome: "failed".into(),
        error_code: Some(code),
        message: Some(message),
    }
}

fn changed(id: &WorkspaceId, what: String) -> ItemResult {
    ItemResult {
        workspace_id: id.clone(),
        outcome: "changed".into(),
        error_code: None,
        message: Some(format!("not touched: changed since the request ({what})")),
    }
}
