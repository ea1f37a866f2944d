//! CreateWorkspaces: every request validated first, then created or failed one by one.

use std::time::Instant;

use super::tags::reserved_tag_keys;
use super::{auto_stop_timeout, parse_running_mode, Store, MAX_TAGS};
use crate::error::{ApiError, ApiResult};
use crate::model::{DirectoryState, RunningMode, Tag, Workspace, WorkspaceState};
use crate::seed;
use crate::wire::*;

impl Store {
    pub fn create_workspaces(
        &mut self,
        input: CreateWorkspacesInput,
        now: Instant,
    ) -> ApiResult<CreateWorkspacesOutput<'_>> {
        let requests = input.workspaces.as_deref().unwrap_or_default();
        let mut parsed = Vec::with_capacity(requests.len());
        for (i, r) in requests.iter().enumerate() {
            parsed.push(validate_workspace_request(i, r)?);
        }
        self.sweep(now);
        let epoch = seed::now_epoch();
        let mut failed = Vec::new();
        let mut created = Vec::new();
        for (request, props) in requests.iter().zip(parsed) {
            match self.create_one(request, props, now, epoch) {
                Ok(id) => created.push(id),
                Err((code, message)) => failed.push(FailedCreate {
                    error_code: code.to_string(),
                    error_message: message,
                    workspace_request: request.clone(),
                }),
            }
        }
        let pending = created
            .iter()
            .map(|id| {
                let mut out = Self::workspace_out(&self.workspaces[id], now);
                out.state = WorkspaceState::Pending; // as the call returns it, even with no delay
                out
            })
            .collect();
        Ok(CreateWorkspacesOutput {
            failed_requests: failed,
            pending_requests: pending,
        })
    }

    fn create_one(
        &mut self,
        request: &WorkspaceRequest,
        (running_mode, timeout): (RunningMode, Option<i32>),
        now: Instant,
        epoch: i64,
    ) -> Result<String, (&'static str, String)> {
        // Validation has made these present.
        let directory_id = request.directory_id.clone().unwrap_or_default();
        let bundle_id = request.bundle_id.clone().unwrap_or_default();
        let user_name = request.user_name.clone().unwrap_or_default();

        let directory = self.directories.get(&directory_id).ok_or_else(|| {
            (
                "ResourceNotFoundException",
                format!("The directory {directory_id} could not be found."),
            )
        })?;
        if directory.state != DirectoryState::Registered {
            return Err((
                "InvalidResourceStateException",
                format!(
                    "The directory {directory_id} is {}; WorkSpaces can only be created in a REGISTERED directory.",
                    directory.state
                ),
            ));
        }
        if !self.bundles.contains_key(&bundle_id) {
            return Err((
                "ResourceNotFoundException",
                format!("The bundle {bundle_id} could not be found."),
            ));
        }
        let taken = self.workspaces.values().any(|w| {
            w.directory_id == directory_id
                && w.user_name.eq_ignore_ascii_case(&user_name)
                && w.state_at(now) != WorkspaceState::Terminated
                && !w.is_gone_at(now)
        });
        if taken {
            return Err((
                "ResourceAlreadyExistsException",
                format!("The user {user_name} already has a WorkSpace in directory {directory_id}."),
            ));
        }

        let subnet_index = self.created as usize % directory.subnet_ids.len();
        let subnet_id = directory.subnet_ids[subnet_index].clone();
        let ip_address = seed::ip_in_subnet(&directory.dns_ip_addresses[0], 50_000 + self.created);
        self.created = self.created.wrapping_add(1);
        let id = loop {
            let candidate = format!("ws-{}", seed::base36(self.rng.u64(..), 9));
            if !self.workspaces.contains_key(&candidate) {
                break candidate;
            }
        };
        let computer_name = format!("WSAMZN-{}", seed::base36(self.rng.u64(..), 8).to_ascii_uppercase());
        let tags = request.tags.iter().flatten().fold(Vec::<Tag>::new(), |mut tags, t| {
            let (key, value) = (t.key.clone().unwrap_or_default(), t.value.clone().unwrap_or_default());
            match tags.iter_mut().find(|e| e.key == key) {
                Some(e) => e.value = value,
                None => tags.push(Tag { key, value }),
            }
            tags
        });
        let ws = Workspace {
            id: id.clone(),
            directory_id,
            bundle_id,
            user_name,
            computer_name,
            ip_address,
            subnet_id,
            state: WorkspaceState::Pending,
            transition: None,
            removal_at: None,
            properties_busy_until: None,
            running_mode,
            auto_stop_timeout_minutes: timeout,
            root_volume_encryption_enabled: request.root_volume_encryption_enabled.unwrap_or(false),
            user_volume_encryption_enabled: request.user_volume_encryption_enabled.unwrap_or(false),
            volume_encryption_key: request.volume_encryption_key.clone(),
            error_code: None,
            error_message: None,
            tags,
            last_connection: epoch,
        };
        self.workspaces.insert(id.clone(), ws);
        self.begin_transition(&id, WorkspaceState::Pending, WorkspaceState::Available, now);
        Ok(id)
    }
}

/// The rules of one `WorkspaceRequest` beyond its modeled constraints (checked before);
/// returns its running mode and timeout.
fn validate_workspace_request(i: usize, r: &WorkspaceRequest) -> ApiResult<(RunningMode, Option<i32>)> {
    let p = |name: &str| format!("Workspaces[{i}].{name}");
    if r.volume_encryption_key.as_deref() == Some("") {
        return Err(ApiError::invalid(
            &p("VolumeEncryptionKey"),
            "an empty key names no KMS key",
        ));
    }
    if let Some(tags) = &r.tags {
        reserved_tag_keys(&p("Tags"), tags)?;
        if tags.len() > MAX_TAGS {
            return Err(ApiError::limit_exceeded(format!(
                "{} has {} tags; a WorkSpace can have at most {MAX_TAGS}.",
                p("Tags"),
                tags.len()
            )));
        }
    }
    let props = r.workspace_properties.clone().unwrap_or_default();
    let mode = match &props.running_mode {
        Some(m) => parse_running_mode(&p("WorkspaceProperties.RunningMode"), m)?,
        None => RunningMode::AlwaysOn,
    };
    let timeout_param = p("WorkspaceProperties.RunningModeAutoStopTimeoutInMinutes");
    let timeout = props
        .running_mode_auto_stop_timeout_in_minutes
        .map(|t| auto_stop_timeout(&timeout_param, t))
        .transpose()?;
    match mode {
        RunningMode::AlwaysOn if timeout.is_some() => Err(ApiError::invalid(
            &timeout_param,
            "it applies only to the AUTO_STOP running mode",
        )),
        RunningMode::AlwaysOn => Ok((mode, None)),
        RunningMode::AutoStop => Ok((mode, timeout.or(Some(60)))),
    }
}
