//! Changing the fleet: batch actions, create, running mode and tags — input checked against the
//! API reference, split into API-sized calls, each WorkSpace's outcome reported.

use std::collections::{HashMap, HashSet};

use aws_sdk_workspaces::types as sdk;
use leptos::server_fn::ServerFn;
use serde_json::{json, Value};

use super::Fleet;
use crate::error::{AppError, AppResult};
use crate::fleet::validate;
use crate::fleet::{
    BatchAction, BatchOutcome, BundleId, CreateForm, CreateOutcome, CreateOutcomeItem, CreateWorkspaces, DeleteTag,
    DirectoryId, ItemOutcome, ModifyWorkspace, RunBatch, RunningMode, SetTag, WorkspaceId,
};
use crate::ssr::workspaces::{build_error, sdk_error};
use crate::ssr::{Audited, Caller, Operation};

impl Audited for BatchOutcome {
    fn response_elements(&self) -> Value {
        let failed: Vec<Value> = self
            .items
            .iter()
            .filter(|i| !i.ok())
            .map(|i| json!({ "workspaceId": i.workspace_id, "errorCode": i.error_code, "errorMessage": i.error_message }))
            .collect();
        let succeeded: Vec<&str> = self
            .items
            .iter()
            .filter(|i| i.ok())
            .map(|i| i.workspace_id.as_str())
            .collect();
        json!({ "failedRequests": failed, "succeededWorkspaceIds": succeeded })
    }

    fn failed_items(&self) -> usize {
        self.items.iter().filter(|i| !i.ok()).count()
    }
}

impl Audited for CreateOutcome {
    fn response_elements(&self) -> Value {
        let pending: Vec<Value> = self
            .items
            .iter()
            .filter(|i| i.workspace_id.is_some())
            .map(|i| json!({ "userName": i.user_name, "workspaceId": i.workspace_id, "state": "PENDING" }))
            .collect();
        let failed: Vec<Value> = self
            .items
            .iter()
            .filter(|i| i.workspace_id.is_none())
            .map(|i| json!({ "userName": i.user_name, "errorCode": i.error_code, "errorMessage": i.error_message }))
            .collect();
        json!({ "pendingRequests": pending, "failedRequests": failed })
    }

    fn failed_items(&self) -> usize {
        self.items.iter().filter(|i| i.workspace_id.is_none()).count()
    }

    fn resource_ids(&self) -> Vec<String> {
        self.items
            .iter()
            .filter_map(|i| i.workspace_id.as_ref().map(|id| id.to_string()))
            .collect()
    }
}

impl Fleet {
    /// `workspaces/batch`: a batch action on any number of WorkSpaces, in API-sized calls.
    pub async fn batch(
        &self,
        caller: &Caller,
        action: BatchAction,
        ids: Vec<String>,
        confirm: Option<String>,
    ) -> AppResult<BatchOutcome> {
        let requests: Vec<Value> = ids.iter().map(|id| json!({ "workspaceId": id })).collect();
        let op = Operation::aws_write(
            RunBatch::PATH,
            action.api_name(),
            json!({ action.api_parameter(): requests }),
        )
        .touching(&ids);
        let work = async {
            let ids = checked_ids(&ids, MAX_BATCH)?;
            if let Some(word) = action.confirmation_word() {
                if confirm.as_deref().map(str::trim) != Some(word) {
                    return Err(AppError::validation(
                        "confirm",
                        format!("type '{word}' to confirm: {}", action.warning().unwrap_or_default()),
                    ));
                }
            }
            let items = self.send_action(action, &ids).await;
            self.reread(&ids).await;
            Ok(BatchOutcome { action, items })
        };
        self.pipeline.run(caller, op, work).await
    }

    /// Sends `action` for `ids` in API-sized calls (rebuild one at a time); each WorkSpace's
    /// outcome. Checks nothing: callers have (a batch request, an approved request).
    pub(crate) async fn send_action(&self, action: BatchAction, ids: &[WorkspaceId]) -> Vec<ItemOutcome> {
        let mut items = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(action.api_batch_size()) {
            let failed = self.send_batch(action, chunk).await;
            for id in chunk {
                let failure = match &failed {
                    Ok(failed) => failed.get(id.as_str()).cloned(),
                    // The whole call failed: every WorkSpace of this batch shares the error.
                    Err(AppError::Upstream { code, message }) => Some((code.clone(), message.clone())),
                    Err(other) => Some(("Error".to_string(), other.to_string())),
                };
                items.push(ItemOutcome {
                    workspace_id: id.clone(),
                    error_code: failure.as_ref().map(|f| f.0.clone()),
                    error_message: failure.map(|f| f.1),
                });
            }
        }
        items
    }

    /// Sends a running-mode change for one WorkSpace.
    pub(crate) async fn send_modify(
        &self,
        id: &WorkspaceId,
        mode: &RunningMode,
        minutes: Option<i32>,
    ) -> AppResult<()> {
        let properties = sdk::WorkspaceProperties::builder()
            .running_mode(sdk::RunningMode::from(mode.as_str()))
            .set_running_mode_auto_stop_timeout_in_minutes(minutes)
            .build();
        self.client
            .modify_workspace_properties()
            .workspace_id(id.as_str())
            .workspace_properties(properties)
            .send()
            .await
            .map_err(|e| sdk_error("ModifyWorkspaceProperties", e))?;
        self.reread(std::slice::from_ref(id)).await;
        Ok(())
    }

    /// One API call; returns the per-item failures by WorkSpace ID.
    async fn send_batch(
        &self,
        action: BatchAction,
        ids: &[WorkspaceId],
    ) -> AppResult<HashMap<String, (String, String)>> {
        let c = &self.client;
        let ids = ids.iter().map(WorkspaceId::as_str);
        let failed = match action {
            BatchAction::Start => c
                .start_workspaces()
                .set_start_workspace_requests(Some(
                    ids.map(|id| sdk::StartRequest::builder().workspace_id(id).build())
                        .collect(),
                ))
                .send()
                .await
                .map(|o| o.failed_requests().to_vec())
                .map_err(|e| sdk_error(action.api_name(), e)),
            BatchAction::Stop => c
                .stop_workspaces()
                .set_stop_workspace_requests(Some(
                    ids.map(|id| sdk::StopRequest::builder().workspace_id(id).build())
                        .collect(),
                ))
                .send()
                .await
                .map(|o| o.failed_requests().to_vec())
                .map_err(|e| sdk_error(action.api_name(), e)),
            BatchAction::Reboot => c
                .reboot_workspaces()
                .set_reboot_workspace_requests(Some(
                    ids.map(|id| sdk::RebootRequest::builder().workspace_id(id).build())
                        .collect::<Result<_, _>>()
                        .map_err(build_error)?,
                ))
                .send()
                .await
                .map(|o| o.failed_requests().to_vec())
                .map_err(|e| sdk_error(action.api_name(), e)),
            BatchAction::Rebuild => c
                .rebuild_workspaces()
                .set_rebuild_workspace_requests(Some(
                    ids.map(|id| sdk::RebuildRequest::builder().workspace_id(id).build())
                        .collect::<Result<_, _>>()
                        .map_err(build_error)?,
                ))
                .send()
                .await
                .map(|o| o.failed_requests().to_vec())
                .map_err(|e| sdk_error(action.api_name(), e)),
            BatchAction::Terminate => c
                .terminate_workspaces()
                .set_terminate_workspace_requests(Some(
                    ids.map(|id| sdk::TerminateRequest::builder().workspace_id(id).build())
                        .collect::<Result<_, _>>()
                        .map_err(build_error)?,
                ))
                .send()
                .await
                .map(|o| o.failed_requests().to_vec())
                .map_err(|e| sdk_error(action.api_name(), e)),
        }?;
        Ok(failed
            .iter()
            .map(|f| {
                (
                    f.workspace_id().unwrap_or_default().to_string(),
                    (
                        f.error_code().unwrap_or("Failed").to_string(),
                        f.error_message().unwrap_or_default().to_string(),
                    ),
                )
            })
            .collect())
    }

    /// `workspaces/create`: one WorkSpace per user line, 25 per call, each user's outcome.
    pub async fn create(&self, caller: &Caller, form: CreateForm) -> AppResult<CreateOutcome> {
        let op = Operation::aws_write(CreateWorkspaces::PATH, "CreateWorkspaces", create_parameters(&form))
            .touching([form.directory_id.trim(), form.bundle_id.trim()]);
        let work = async {
            let directory = DirectoryId::parse("directory_id", &form.directory_id)?;
            let bundle = BundleId::parse("bundle_id", &form.bundle_id)?;
            let users = validate::parse_user_lines("users", &form.users)?;
            let mode = if form.running_mode.trim().is_empty() {
                RunningMode::AlwaysOn
            } else {
                RunningMode::parse("running_mode", &form.running_mode)?
            };
            // AUTO_STOP defaults to one hour, as in the console.
            let minutes =
                auto_stop_minutes(&mode, &form.auto_stop_minutes)?.or((mode == RunningMode::AutoStop).then_some(60));
            let tags = validate::parse_tag_lines("tags", &form.tags)?;
            let root = form.root_volume_encrypted.is_some();
            let user = form.user_volume_encrypted.is_some();
            let key = form.volume_encryption_key.trim();
            if (root || user) && key.is_empty() {
                return Err(AppError::validation(
                    "volume_encryption_key",
                    "volume encryption needs a KMS key (ARN or alias)",
                ));
            }
            let properties = sdk::WorkspaceProperties::builder()
                .running_mode(sdk::RunningMode::from(mode.as_str()))
                .set_running_mode_auto_stop_timeout_in_minutes(minutes)
                .build();
            let sdk_tags: Vec<sdk::Tag> = tags
                .iter()
                .map(|t| sdk::Tag::builder().key(&t.key).value(&t.value).build())
                .collect::<Result<_, _>>()
                .map_err(build_error)?;

            let mut items = Vec::with_capacity(users.len());
            for chunk in users.chunks(25) {
                let requests = chunk
                    .iter()
                    .map(|u| {
                        sdk::WorkspaceRequest::builder()
                            .directory_id(directory.as_str())
                            .bundle_id(bundle.as_str())
                            .user_name(u)
                            .root_volume_encryption_enabled(root)
                            .user_volume_encryption_enabled(user)
                            .set_volume_encryption_key((!key.is_empty()).then(|| key.to_string()))
                            .workspace_properties(properties.clone())
                            .set_tags((!sdk_tags.is_empty()).then(|| sdk_tags.clone()))
                            .build()
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(build_error)?;
                match self
                    .client
                    .create_workspaces()
                    .set_workspaces(Some(requests))
                    .send()
                    .await
                {
                    Ok(out) => {
                        let mut by_user: HashMap<String, CreateOutcomeItem> = HashMap::new();
                        for p in out.pending_requests() {
                            let name = p.user_name().unwrap_or_default().to_string();
                            by_user.insert(
                                name.to_lowercase(),
                                CreateOutcomeItem {
                                    user_name: name,
                                    workspace_id: p.workspace_id().map(WorkspaceId::from_api),
                                    error_code: None,
                                    error_message: None,
                                },
                            );
                        }
                        for f in out.failed_requests() {
                            let name = f
                                .workspace_request()
                                .map(|r| r.user_name().to_string())
                                .unwrap_or_default();
                            by_user.entry(name.to_lowercase()).or_insert(CreateOutcomeItem {
                                user_name: name,
                                workspace_id: None,
                                error_code: f.error_code().map(str::to_owned),
                                error_message: f.error_message().map(str::to_owned),
                            });
                        }
                        for u in chunk {
                            items.push(by_user.remove(&u.to_lowercase()).unwrap_or(CreateOutcomeItem {
                                user_name: u.clone(),
                                workspace_id: None,
                                error_code: Some("NoAnswer".into()),
                                error_message: Some("WorkSpaces did not report on this request.".into()),
                            }));
                        }
                    }
                    Err(e) => {
                        let (code, message) = match sdk_error("CreateWorkspaces", e) {
                            AppError::Upstream { code, message } => (code, message),
                            other => ("Error".to_string(), other.to_string()),
                        };
                        items.extend(chunk.iter().map(|u| CreateOutcomeItem {
                            user_name: u.clone(),
                            workspace_id: None,
                            error_code: Some(code.clone()),
                            error_message: Some(message.clone()),
                        }));
                    }
                }
            }
            let made: Vec<WorkspaceId> = items.iter().filter_map(|i| i.workspace_id.clone()).collect();
            self.reread(&made).await;
            Ok(CreateOutcome { items })
        };
        self.pipeline.run(caller, op, work).await
    }

    /// The operation of a `ModifyWorkspaceProperties` call, as the audit log records it (a
    /// direct call, or an approved request's).
    pub fn modify_operation(id: &str, running_mode: &str, auto_stop: serde_json::Value) -> Operation {
        Operation::aws_write(
            ModifyWorkspace::PATH,
            "ModifyWorkspaceProperties",
            json!({
                "workspaceId": id,
                "workspaceProperties": {
                    "runningMode": running_mode,
                    "runningModeAutoStopTimeoutInMinutes": auto_stop,
                },
            }),
        )
        .touching([id])
    }

    /// `workspaces/modify`: running mode and AutoStop timeout.
    pub async fn modify(&self, caller: &Caller, id: &str, running_mode: &str, auto_stop: &str) -> AppResult<()> {
        let op = Self::modify_operation(id, running_mode, json!(auto_stop));
        let work = async {
            let id = WorkspaceId::parse("id", id)?;
            let mode = RunningMode::parse("running_mode", running_mode)?;
            let minutes = auto_stop_minutes(&mode, auto_stop)?;
            self.send_modify(&id, &mode, minutes).await
        };
        self.pipeline.run(caller, op, work).await
    }

    /// `workspaces/tags/set`: adds a tag, or changes the value of the key.
    pub async fn set_tag(&self, caller: &Caller, id: &str, key: &str, value: &str) -> AppResult<()> {
        let op = Operation::aws_write(
            SetTag::PATH,
            "CreateTags",
            json!({ "resourceId": id, "tags": [{ "key": key, "value": value }] }),
        )
        .touching([id]);
        let work = async {
            let id = WorkspaceId::parse("id", id)?;
            let tag = validate::tag("tag", key, value)?;
            let tag = sdk::Tag::builder()
                .key(tag.key)
                .value(tag.value)
                .build()
                .map_err(build_error)?;
            self.client
                .create_tags()
                .resource_id(id.as_str())
                .tags(tag)
                .send()
                .await
                .map_err(|e| sdk_error("CreateTags", e))?;
            self.reread_tags(&id).await;
            Ok(())
        };
        self.pipeline.run(caller, op, work).await
    }

    /// `workspaces/tags/delete`.
    pub async fn delete_tag(&self, caller: &Caller, id: &str, key: &str) -> AppResult<()> {
        let op = Operation::aws_write(
            DeleteTag::PATH,
            "DeleteTags",
            json!({ "resourceId": id, "tagKeys": [key] }),
        )
        .touching([id]);
        let work = async {
            let id = WorkspaceId::parse("id", id)?;
            if key.is_empty() {
                return Err(AppError::validation("key", "is required"));
            }
            self.client
                .delete_tags()
                .resource_id(id.as_str())
                .tag_keys(key)
                .send()
                .await
                .map_err(|e| sdk_error("DeleteTags", e))?;
            self.reread_tags(&id).await;
            Ok(())
        };
        self.pipeline.run(caller, op, work).await
    }
}

impl Fleet {
    /// After a tag write: its WorkSpace's tags read again at once (the sync does it later if
    /// this fails).
    async fn reread_tags(&self, id: &WorkspaceId) {
        if let Err(e) = self.sync.reread_details(id).await {
            tracing::warn!(error = %e, "re-reading tags after a write failed; the sync will");
            let _ = self.inventory.mark_details_due(std::slice::from_ref(id)).await;
        }
    }
}

/// CreateWorkspaces' parameters as the form sent them, one request per user line.
fn create_parameters(form: &CreateForm) -> Value {
    let users: Vec<&str> = form.users.lines().map(str::trim).filter(|u| !u.is_empty()).collect();
    let tags: Vec<Value> = form
        .tags
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| match l.split_once('=') {
            Some((k, v)) => json!({ "key": k.trim(), "value": v.trim() }),
            None => json!({ "key": l.trim() }),
        })
        .collect();
    let workspaces: Vec<Value> = users
        .iter()
        .map(|u| {
            json!({
                "directoryId": form.directory_id.trim(),
                "bundleId": form.bundle_id.trim(),
                "userName": u,
                "rootVolumeEncryptionEnabled": form.root_volume_encrypted.is_some(),
                "userVolumeEncryptionEnabled": form.user_volume_encrypted.is_some(),
                "volumeEncryptionKey": form.volume_encryption_key.trim(),
                "workspaceProperties": {
                    "runningMode": form.running_mode,
                    "runningModeAutoStopTimeoutInMinutes": form.auto_stop_minutes,
                },
                "tags": tags,
            })
        })
        .collect();
    json!({ "workspaces": workspaces })
}

/// The AutoStop timeout typed in a form: none for ALWAYS_ON or an empty field.
pub(crate) fn auto_stop_minutes(mode: &RunningMode, text: &str) -> AppResult<Option<i32>> {
    let text = text.trim();
    if *mode != RunningMode::AutoStop || text.is_empty() {
        return Ok(None);
    }
    let minutes: i32 = text
        .parse()
        .map_err(|_| AppError::validation("auto_stop_minutes", format!("'{text}' is not a number of minutes")))?;
    validate::auto_stop_minutes("auto_stop_minutes", minutes).map(Some)
}

/// The most WorkSpaces one batch request names (the portal sends them 25 to a call).
pub const MAX_BATCH: usize = 500;
/// The most WorkSpaces one refresh asks for (a page shows at most 200).
pub const MAX_REFRESH: usize = 200;

/// Parses up to `most` IDs (naming the bad one by position) and drops duplicates, keeping
/// order; in time linear in their number.
pub(crate) fn checked_ids(ids: &[String], most: usize) -> AppResult<Vec<WorkspaceId>> {
    if ids.is_empty() {
        return Err(AppError::validation("ids", "select at least one WorkSpace"));
    }
    if ids.len() > most {
        return Err(AppError::validation(
            "ids",
            format!("{} WorkSpaces given; one request takes at most {most}", ids.len()),
        ));
    }
    let mut seen = HashSet::with_capacity(ids.len());
    let mut out = Vec::with_capacity(ids.len());
    for (i, id) in ids.iter().enumerate() {
        let id = WorkspaceId::parse(&format!("ids[{i}]"), id)?;
        if seen.insert(id.clone()) {
            out.push(id);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_checked_by_position_and_deduplicated() {
        let ids = vec!["ws-abcdefgh1".to_string(), "ws-abcdefgh1".into(), "ws-abcdefgh2".into()];
        let checked: Vec<String> = checked_ids(&ids, 10).unwrap().iter().map(|id| id.to_string()).collect();
        assert_eq!(checked, vec!["ws-abcdefgh1", "ws-abcdefgh2"]);
        let err = checked_ids(&["ws-abcdefgh1".into(), "nope".into()], 10).unwrap_err();
        assert_eq!(err.field(), Some("ids[1]"));
        assert_eq!(checked_ids(&[], 10).unwrap_err().field(), Some("ids"));
        let many: Vec<String> = (0..11).map(|i| format!("ws-{i:08}")).collect();
        assert!(checked_ids(&many, 10).unwrap_err().to_string().contains("at most 10"));
        // Linear: 100,000 distinct IDs are checked at once (a quadratic check would take minutes).
        let lots: Vec<String> = (0..100_000).map(|i| format!("ws-{i:09}")).collect();
        assert_eq!(checked_ids(&lots, lots.len()).unwrap().len(), 100_000);
    }
}
