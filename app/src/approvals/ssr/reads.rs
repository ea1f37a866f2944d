//! Reading approvals: the list, one request beside its WorkSpaces now, the pending marks.

use std::sync::Arc;
use std::time::Duration;

use leptos::server_fn::ServerFn;
use serde_json::json;

use super::{
    ApprovalAction, ApprovalDetail, ApprovalId, ApprovalPage, ApprovalQuery, ApprovalState, Frozen, GetApproval,
    ItemResult, ListApprovals, LiveWorkspace, PendingApproval, PendingApprovals,
};
use crate::audit::ssr::record;
use crate::error::{AppError, AppResult};
use crate::fleet::WorkspaceId;
use crate::identity::Role;
use crate::ssr::{Caller, Operation, Portal};

use super::{cannot_acknowledge, cannot_review, snapshots, store, summary_of, Approvals};

impl Approvals {
    /// `approvals/list`.
    pub async fn list(&self, caller: &Caller, query: ApprovalQuery) -> AppResult<ApprovalPage> {
        let op = Operation::portal_read(ListApprovals::PATH, "ListApprovalRequests", json!({ "filters": query }));
        let work = async {
            let me = caller.user().map(|u| u.name.clone()).unwrap_or_default();
            let time = |field: &str, text: &str| -> AppResult<Option<String>> {
                let text = text.trim();
                if text.is_empty() {
                    return Ok(None);
                }
                record::parse_filter_time(text).map(Some).ok_or_else(|| {
                    AppError::validation(
                        field,
                        format!("'{text}' is not a date and time; use the form 2026-11-22T10:00 (UTC)"),
                    )
                })
            };
            for (field, value) in [
                ("requester", &query.requester),
                ("reviewer", &query.reviewer),
                ("action", &query.action),
                ("workspace", &query.workspace),
            ] {
                if value.len() > 256 {
                    return Err(AppError::validation(field, "is longer than 256 characters"));
                }
            }
            let overdue_before = query
                .overdue
                .then(|| record::utc_text(std::time::SystemTime::now() - Duration::from_secs(24 * 3600)));
            let search = store::Search {
                query: &query,
                me: &me,
                from: time("from", &query.from)?,
                to: time("to", &query.to)?,
                overdue_before,
            };
            let (rows, next) = store::list(&self.db, &search).await?;
            Ok(ApprovalPage {
                items: rows.iter().map(summary_of).collect(),
                next,
            })
        };
        self.pipeline.run(caller, op, work).await
    }

    /// `approvals/get`: the frozen request, each WorkSpace now beside its snapshot, the reviews,
    /// and what the caller may do with it.
    pub async fn get(&self, _portal: &Arc<Portal>, caller: &Caller, id: &str) -> AppResult<ApprovalDetail> {
        let op = Operation::portal_read(GetApproval::PATH, "GetApprovalRequest", json!({ "requestId": id }));
        let work = async {
            let id = ApprovalId::parse("id", id)?;
            let request = self.found(&id).await?;
            let frozen: Frozen = serde_json::from_str(&request.frozen).map_err(crate::ssr::internal)?;
            let reviews = store::reviews(&self.db, &request).await?;
            let ids: Vec<WorkspaceId> = frozen.workspaces.iter().map(|w| w.id.clone()).collect();
            // Tags are read again for small requests only: one call per WorkSpace.
            let now = snapshots(&self.client, &ids, ids.len() <= 25).await?;
            let live = frozen
                .workspaces
                .iter()
                .map(|then| {
                    let now = now.iter().find(|w| w.id == then.id).cloned().map(|mut w| {
                        if ids.len() > 25 {
                            w.tags = then.tags.clone();
                        }
                        w
                    });
                    LiveWorkspace {
                        id: then.id.clone(),
                        changes: now
                            .as_ref()
                            .map(|n| then.changes(n))
                            .unwrap_or_else(|| vec!["it no longer exists".into()]),
                        drifted: now.as_ref().is_none_or(|n| then.drifted(n)),
                        now,
                    }
                })
                .collect();
            let me = caller.user();
            let cannot = match me {
                None => Some("sign in first".to_string()),
                Some(_) if request.state != ApprovalState::Pending => Some(format!("it is {}", request.state.as_str())),
                Some(user) if !user.role.allows(Role::Approver) => {
                    Some(format!("reviewing needs the approver role; you are {}", user.role))
                }
                Some(user) => cannot_review(&request, &user.name)?,
            };
            let may_cancel = request.state == ApprovalState::Pending
                && me.is_some_and(|u| u.id == request.requester_id || u.role == Role::Admin);
            let cannot_acknowledge = match me {
                Some(user) if user.role.allows(Role::Approver) => cannot_acknowledge(&request, &user.name),
                _ => Some("acknowledging needs the approver role".into()),
            };
            let outcome: Vec<ItemResult> = request
                .outcome
                .as_deref()
                .and_then(|o| serde_json::from_str(o).ok())
                .unwrap_or_default();
            Ok(ApprovalDetail {
                summary: summary_of(&request),
                hash: request.frozen_hash.clone(),
                frozen,
                live,
                reviews,
                outcome,
                cannot_review: cannot,
                may_cancel,
                cannot_acknowledge,
                post_reviewer: request.post_reviewer.clone(),
                post_comment: request.post_comment.clone(),
                webhook_error: request.webhook_error.clone(),
            })
        };
        self.pipeline.run(caller, op, work).await
    }

    /// `approvals/pending`: the pending requests on these WorkSpaces.
    pub async fn pending(&self, caller: &Caller, ids: &[String]) -> AppResult<Vec<PendingApproval>> {
        let op = Operation::portal_read(
            PendingApprovals::PATH,
            "ListPendingApprovals",
            json!({ "count": ids.len() }),
        );
        let work = async {
            let ids = crate::fleet::ssr::checked_ids(ids, 200)?;
            let ids: Vec<String> = ids.iter().map(|id| id.to_string()).collect();
            Ok(store::pending_for(&self.db, &ids)
                .await?
                .into_iter()
                .filter_map(|(workspace, action, request)| {
                    Some(PendingApproval {
                        workspace_id: WorkspaceId::from_api(workspace),
                        action: ApprovalAction::from_api(&action)?,
                        request: ApprovalId::from_stored(request),
                    })
                })
                .collect())
        };
        self.pipeline.run(caller, op, work).await
    }
}
