//! The emulator's state and the rules of the 14 actions.
//!
//! Time is passed in (`now`), so the rules are plain functions of state and time. Reads see
//! due transitions without applying them (`Workspace::state_at`); writes apply them first.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::ops::Bound;
use std::time::{Duration, Instant};

use crate::error::{ApiError, ApiResult};
use crate::model::{
    Bundle, ConnectionState, Directory, DirectoryState, RunningMode, Tag, Transition, Workspace, WorkspaceState,
};
use crate::seed::{self, Seed};
use crate::token::{self, Listing};
use crate::validate::{self, IdPattern};
use crate::wire::*;

/// Page size of the listings without a `Limit` parameter, and the largest `Limit`.
pub const PAGE_SIZE: usize = 25;
/// Most tags a WorkSpace can carry.
pub const MAX_TAGS: usize = 50;

#[derive(Clone, Debug)]
pub struct Settings {
    /// How long a WorkSpace stays in each transitional state.
    pub transition_delay: Duration,
    /// The account that owns non-AMAZON bundles.
    pub account_id: String,
    /// Simulated user sessions start or end on multiples of this many seconds.
    pub session_period_secs: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            transition_delay: Duration::from_secs(3),
            account_id: seed::DEFAULT_ACCOUNT_ID.to_string(),
            session_period_secs: 60,
        }
    }
}

/// The five batch actions and their rules (API reference, one section each).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BatchAction {
    Start,
    Stop,
    Reboot,
    Rebuild,
    Terminate,
}

impl BatchAction {
    pub fn from_action(action: &str) -> Option<Self> {
        Some(match action {
            "StartWorkspaces" => BatchAction::Start,
            "StopWorkspaces" => BatchAction::Stop,
            "RebootWorkspaces" => BatchAction::Reboot,
            "RebuildWorkspaces" => BatchAction::Rebuild,
            "TerminateWorkspaces" => BatchAction::Terminate,
            _ => return None,
        })
    }

    /// The request member holding the array of `*Request` structures.
    pub fn member(self) -> &'static str {
        match self {
            BatchAction::Start => "StartWorkspaceRequests",
            BatchAction::Stop => "StopWorkspaceRequests",
            BatchAction::Reboot => "RebootWorkspaceRequests",
            BatchAction::Rebuild => "RebuildWorkspaceRequests",
            BatchAction::Terminate => "TerminateWorkspaceRequests",
        }
    }

    fn max_items(self) -> usize {
        match self {
            BatchAction::Rebuild => 1,
            _ => 25,
        }
    }

    fn min_items(self) -> usize {
        1
    }

    fn verb(self) -> &'static str {
        match self {
            BatchAction::Start => "started",
            BatchAction::Stop => "stopped",
            BatchAction::Reboot => "rebooted",
            BatchAction::Rebuild => "rebuilt",
            BatchAction::Terminate => "terminated",
        }
    }

    fn allowed(self, state: WorkspaceState) -> bool {
        use WorkspaceState::*;
        match self {
            BatchAction::Start => state == Stopped,
            BatchAction::Stop => matches!(state, Available | Impaired | Unhealthy | Error),
            BatchAction::Reboot => matches!(state, Available | Impaired | Unhealthy),
            BatchAction::Rebuild => matches!(state, Available | Error),
            BatchAction::Terminate => state != Suspended,
        }
    }

    fn allowed_states(self) -> String {
        let states: Vec<&str> = WorkspaceState::ALL
            .iter()
            .filter(|s| self.allowed(**s))
            .map(|s| s.as_str())
            .collect();
        if self == BatchAction::Terminate {
            "any state except SUSPENDED".to_string()
        } else {
            states.join(", ")
        }
    }

    fn needs_auto_stop(self) -> bool {
        matches!(self, BatchAction::Start | BatchAction::Stop)
    }

    /// (transitional state, final state)
    fn path(self) -> (WorkspaceState, WorkspaceState) {
        use WorkspaceState::*;
        match self {
            BatchAction::Start => (Starting, Available),
            BatchAction::Stop => (Stopping, Stopped),
            BatchAction::Reboot => (Rebooting, Available),
            BatchAction::Rebuild => (Rebuilding, Available),
            BatchAction::Terminate => (Terminating, Terminated),
        }
    }
}

pub struct Store {
    settings: Settings,
    workspaces: BTreeMap<String, Workspace>,
    bundles: BTreeMap<String, Bundle>,
    directories: BTreeMap<String, Directory>,
    /// Due times of transitions and removals, so writes settle only what is due.
    timers: BinaryHeap<Reverse<(Instant, String)>>,
    rng: fastrand::Rng,
    created: u32,
}

impl Store {
    pub fn new(settings: Settings, seed: &Seed) -> Self {
        let directories = seed::directories(&settings.account_id);
        let bundles = seed::bundles(&settings.account_id);
        let now = seed::now_epoch();
        let workspaces = (0..seed.workspaces)
            .map(|i| {
                let ws = seed::seeded_workspace(i, &directories, &bundles, now);
                (ws.id.clone(), ws)
            })
            .collect();
        Store {
            workspaces,
            bundles: bundles.into_iter().map(|b| (b.id.clone(), b)).collect(),
            directories: directories.into_iter().map(|d| (d.id.clone(), d)).collect(),
            timers: BinaryHeap::new(),
            rng: fastrand::Rng::new(),
            created: 0,
            settings,
        }
    }

    /// Adds or replaces a bundle (for embedding programs and tests).
    pub fn put_bundle(&mut self, bundle: Bundle) {
        self.bundles.insert(bundle.id.clone(), bundle);
    }

    /// Adds or replaces a directory (for embedding programs and tests).
    pub fn put_directory(&mut self, directory: Directory) {
        self.directories.insert(directory.id.clone(), directory);
    }

    /// Adds or replaces a WorkSpace (for embedding programs and tests).
    pub fn put_workspace(&mut self, workspace: Workspace) {
        self.workspaces.insert(workspace.id.clone(), workspace);
    }

    /// Forces a WorkSpace into `state` (for tests that need ERROR, SUSPENDED, ...).
    pub fn force_state(&mut self, id: &str, state: WorkspaceState, now: Instant) -> ApiResult<()> {
        self.sweep(now);
        let ws = self.visible_mut(id, now)?;
        ws.state = state;
        ws.transition = None;
        ws.removal_at = None;
        Ok(())
    }

    pub fn workspace_count(&self, now: Instant) -> usize {
        self.workspaces.values().filter(|w| !w.is_gone_at(now)).count()
    }

    // -----------------------------------------------------------------------------------------
    // Time

    /// Applies the transitions and removals that are due.
    fn sweep(&mut self, now: Instant) {
        while let Some(Reverse((due, _))) = self.timers.peek() {
            if *due > now {
                break;
            }
            let Some(Reverse((_, id))) = self.timers.pop() else {
                break;
            };
            let gone = match self.workspaces.get_mut(&id) {
                Some(ws) => {
                    ws.settle(now);
                    ws.is_gone_at(now)
                }
                None => false,
            };
            if gone {
                self.workspaces.remove(&id);
            }
        }
    }

    fn begin_transition(&mut self, id: &str, via: WorkspaceState, to: WorkspaceState, now: Instant) {
        let delay = self.settings.transition_delay;
        let due = now + delay;
        if let Some(ws) = self.workspaces.get_mut(id) {
            ws.state = via;
            ws.transition = Some(Transition { to, due });
            if to == WorkspaceState::Terminated {
                // A terminated WorkSpace stays listed as TERMINATED for one more delay.
                let removal = due + delay;
                ws.removal_at = Some(removal);
                self.timers.push(Reverse((removal, id.to_string())));
            }
        }
        self.timers.push(Reverse((due, id.to_string())));
    }

    fn visible(&self, id: &str, now: Instant) -> Option<&Workspace> {
        self.workspaces.get(id).filter(|w| !w.is_gone_at(now))
    }

    fn visible_mut(&mut self, id: &str, now: Instant) -> ApiResult<&mut Workspace> {
        match self.workspaces.get_mut(id) {
            Some(ws) if !ws.is_gone_at(now) => {
                ws.settle(now);
                Ok(ws)
            }
            _ => Err(ApiError::not_found(format!("The WorkSpace {id} could not be found."))),
        }
    }

    // -----------------------------------------------------------------------------------------
    // Views

    fn workspace_out(ws: &Workspace, now: Instant) -> WorkspaceOut<'_> {
        WorkspaceOut {
            bundle_id: &ws.bundle_id,
            computer_name: &ws.computer_name,
            directory_id: &ws.directory_id,
            error_code: ws.error_code.as_deref(),
            error_message: ws.error_message.as_deref(),
            ip_address: &ws.ip_address,
            root_volume_encryption_enabled: ws.root_volume_encryption_enabled,
            state: ws.state_at(now),
            subnet_id: &ws.subnet_id,
            user_name: &ws.user_name,
            user_volume_encryption_enabled: ws.user_volume_encryption_enabled,
            volume_encryption_key: ws.volume_encryption_key.as_deref(),
            workspace_id: &ws.id,
            workspace_properties: PropertiesOut {
                running_mode: ws.running_mode,
                running_mode_auto_stop_timeout_in_minutes: ws.auto_stop_timeout_minutes,
            },
        }
    }

    fn bundle_out(b: &Bundle) -> BundleOut {
        BundleOut {
            bundle_id: b.id.clone(),
            compute_type: ComputeTypeOut { name: b.compute_type },
            description: b.description.clone(),
            name: b.name.clone(),
            owner: b.owner.clone(),
            user_storage: UserStorageOut {
                capacity: b.user_storage_gb.to_string(),
            },
        }
    }

    fn directory_out(d: &Directory) -> DirectoryOut {
        let p = &d.creation_properties;
        DirectoryOut {
            alias: d.alias.clone(),
            customer_user_name: d.customer_user_name.clone(),
            directory_id: d.id.clone(),
            directory_name: d.name.clone(),
            directory_type: d.directory_type,
            dns_ip_addresses: d.dns_ip_addresses.clone(),
            iam_role_id: d.iam_role_id.clone(),
            registration_code: d.registration_code.clone(),
            state: d.state,
            subnet_ids: d.subnet_ids.clone(),
            workspace_creation_properties: CreationPropertiesOut {
                custom_security_group_id: p.custom_security_group_id.clone(),
                default_ou: p.default_ou.clone(),
                enable_internet_access: p.enable_internet_access,
                enable_work_docs: p.enable_work_docs,
                user_enabled_as_local_administrator: p.user_enabled_as_local_administrator,
            },
            workspace_security_group_id: d.security_group_id.clone(),
        }
    }

    /// Simulated user sessions: in each session period a running WorkSpace's user is connected
    /// or not, decided by a hash of its ID and the period, so sessions come and go over time
    /// and every client sees the same answer.
    fn connection_status(&self, ws: &Workspace, now: Instant, epoch: i64) -> ConnectionStatusOut {
        use WorkspaceState::*;
        let period = self.settings.session_period_secs.max(1);
        let id_hash = ws.id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
        });
        let connected_in = |bucket: i64| seed::mix(id_hash ^ bucket as u64) % 5 < 3;
        let (state, last) = match ws.state_at(now) {
            Available | Impaired | Unhealthy => {
                let bucket = epoch / period;
                if connected_in(bucket) {
                    (ConnectionState::Connected, epoch)
                } else {
                    let last = (1..=96)
                        .map(|k| bucket - k)
                        .find(|b| connected_in(*b))
                        .map(|b| (b + 1) * period)
                        .unwrap_or(ws.last_connection);
                    (ConnectionState::Disconnected, last.max(ws.last_connection))
                }
            }
            Pending | Starting | Rebooting | Rebuilding | Maintenance => {
                (ConnectionState::Disconnected, ws.last_connection)
            }
            _ => (ConnectionState::Unknown, ws.last_connection),
        };
        ConnectionStatusOut {
            connection_state: state,
            connection_state_check_timestamp: epoch,
            last_known_user_connection_timestamp: last,
            workspace_id: ws.id.clone(),
        }
    }

    fn status_entry<'a>(&self, w: &'a Workspace, now: Instant, epoch: i64) -> Option<(&'a str, ConnectionStatusOut)> {
        (!w.is_gone_at(now)).then(|| (w.id.as_str(), self.connection_status(w, now, epoch)))
    }

    // -----------------------------------------------------------------------------------------
    // Describe actions (read-only)

    pub fn describe_workspaces(
        &self,
        input: DescribeWorkspacesInput,
        now: Instant,
    ) -> ApiResult<DescribeWorkspacesOutput<'_>> {
        let filters = [
            input.bundle_id.is_some(),
            input.directory_id.is_some(),
            input.workspace_ids.is_some(),
        ];
        if filters.iter().filter(|f| **f).count() > 1 {
            return Err(ApiError::invalid(
                "BundleId, DirectoryId, WorkspaceIds",
                "only one of the filter parameters BundleId, DirectoryId or WorkspaceIds can be specified at a time",
            ));
        }
        if input.user_name.is_some() && input.directory_id.is_none() {
            return Err(ApiError::invalid(
                "UserName",
                "it can only be used together with DirectoryId",
            ));
        }
        if let Some(id) = &input.bundle_id {
            IdPattern::Bundle.check("BundleId", id)?;
        }
        if let Some(id) = &input.directory_id {
            IdPattern::Directory.check("DirectoryId", id)?;
        }
        if let Some(user) = &input.user_name {
            validate::length("UserName", user, 1, Some(63))?;
        }
        let ids = workspace_ids("WorkspaceIds", &input.workspace_ids)?;
        let limit = match input.limit {
            None => PAGE_SIZE,
            Some(n) if (1..=PAGE_SIZE as i64).contains(&n) => n as usize,
            Some(n) => {
                return Err(ApiError::invalid(
                    "Limit",
                    format!("it must be between 1 and 25, got {n}"),
                ))
            }
        };
        validate::next_token(&input.next_token)?;
        let after = input
            .next_token
            .as_deref()
            .map(|t| token::decode(Listing::Workspaces, t))
            .transpose()?;

        let keep = |ws: &Workspace| {
            !ws.is_gone_at(now)
                && input.bundle_id.as_ref().is_none_or(|b| &ws.bundle_id == b)
                && input.directory_id.as_ref().is_none_or(|d| &ws.directory_id == d)
                && input
                    .user_name
                    .as_ref()
                    .is_none_or(|u| ws.user_name.eq_ignore_ascii_case(u))
        };
        let (workspaces, next_token) = match ids {
            Some(ids) => {
                let found: Vec<&Workspace> = ids
                    .iter()
                    .filter(|id| after.as_ref().is_none_or(|a| id.as_str() > a.as_str()))
                    .filter_map(|id| self.workspaces.get(id.as_str()))
                    .collect();
                paginate(found.into_iter(), limit, Listing::Workspaces, |w| {
                    keep(w).then(|| (w.id.as_str(), Self::workspace_out(w, now)))
                })
            }
            None => paginate(
                range_after(&self.workspaces, after.as_deref()),
                limit,
                Listing::Workspaces,
                |w| keep(w).then(|| (w.id.as_str(), Self::workspace_out(w, now))),
            ),
        };
        Ok(DescribeWorkspacesOutput { workspaces, next_token })
    }

    pub fn describe_bundles(&self, input: DescribeWorkspaceBundlesInput) -> ApiResult<DescribeBundlesOutput> {
        if input.bundle_ids.is_some() && input.owner.is_some() {
            return Err(ApiError::invalid(
                "BundleIds, Owner",
                "BundleIds and Owner cannot be combined",
            ));
        }
        if let Some(ids) = &input.bundle_ids {
            validate::members("BundleIds", ids, 1, 25)?;
            for (i, id) in ids.iter().enumerate() {
                IdPattern::Bundle.check(&format!("BundleIds[{i}]"), id)?;
            }
        }
        validate::next_token(&input.next_token)?;
        let after = input
            .next_token
            .as_deref()
            .map(|t| token::decode(Listing::Bundles, t))
            .transpose()?;
        // Owner null means the bundles of the calling account; AMAZON means AWS's own.
        let owner = input.owner.clone().unwrap_or_else(|| self.settings.account_id.clone());
        let keep = |b: &Bundle| match &input.bundle_ids {
            Some(ids) => ids.contains(&b.id),
            None => b.owner == owner,
        };
        let (bundles, next_token) = paginate(
            range_after(&self.bundles, after.as_deref()),
            PAGE_SIZE,
            Listing::Bundles,
            |b| keep(b).then(|| (b.id.as_str(), Self::bundle_out(b))),
        );
        Ok(DescribeBundlesOutput { bundles, next_token })
    }

    pub fn describe_directories(
        &self,
        input: DescribeWorkspaceDirectoriesInput,
    ) -> ApiResult<DescribeDirectoriesOutput> {
        if let Some(ids) = &input.directory_ids {
            validate::members("DirectoryIds", ids, 1, 25)?;
            for (i, id) in ids.iter().enumerate() {
                IdPattern::Directory.check(&format!("DirectoryIds[{i}]"), id)?;
            }
        }
        validate::next_token(&input.next_token)?;
        let after = input
            .next_token
            .as_deref()
            .map(|t| token::decode(Listing::Directories, t))
            .transpose()?;
        let (directories, next_token) = paginate(
            range_after(&self.directories, after.as_deref()),
            PAGE_SIZE,
            Listing::Directories,
            |d| {
                input
                    .directory_ids
                    .as_ref()
                    .is_none_or(|ids| ids.contains(&d.id))
                    .then(|| (d.id.as_str(), Self::directory_out(d)))
            },
        );
        Ok(DescribeDirectoriesOutput {
            directories,
            next_token,
        })
    }

    pub fn describe_connection_status(
        &self,
        input: DescribeConnectionStatusInput,
        now: Instant,
        epoch: i64,
    ) -> ApiResult<DescribeConnectionStatusOutput> {
        let ids = workspace_ids("WorkspaceIds", &input.workspace_ids)?;
        validate::next_token(&input.next_token)?;
        let after = input
            .next_token
            .as_deref()
            .map(|t| token::decode(Listing::ConnectionStatus, t))
            .transpose()?;
        let (workspaces_connection_status, next_token) = match ids {
            Some(ids) => {
                let found: Vec<&Workspace> = ids
                    .iter()
                    .filter(|id| after.as_ref().is_none_or(|a| id.as_str() > a.as_str()))
                    .filter_map(|id| self.workspaces.get(id.as_str()))
                    .collect();
                paginate(found.into_iter(), PAGE_SIZE, Listing::ConnectionStatus, |w| {
                    self.status_entry(w, now, epoch)
                })
            }
            None => paginate(
                range_after(&self.workspaces, after.as_deref()),
                PAGE_SIZE,
                Listing::ConnectionStatus,
                |w| self.status_entry(w, now, epoch),
            ),
        };
        Ok(DescribeConnectionStatusOutput {
            workspaces_connection_status,
            next_token,
        })
    }

    pub fn describe_tags(&self, input: DescribeTagsInput, now: Instant) -> ApiResult<DescribeTagsOutput> {
        let id = resource_id(&input.resource_id)?;
        let ws = self.visible(id, now).ok_or_else(|| resource_not_found(id))?;
        let tag_list = ws
            .tags
            .iter()
            .map(|t| TagOut {
                key: t.key.clone(),
                value: t.value.clone(),
            })
            .collect();
        Ok(DescribeTagsOutput { tag_list })
    }

    // -----------------------------------------------------------------------------------------
    // Tags

    pub fn create_tags(&mut self, input: CreateTagsInput, now: Instant) -> ApiResult<Empty> {
        let id = resource_id(&input.resource_id)?.to_string();
        let tags = validate::required("Tags", &input.tags)?;
        validate::members("Tags", tags, 1, usize::MAX)?;
        for (i, t) in tags.iter().enumerate() {
            validate::tag(&format!("Tags[{i}]"), &t.key, &t.value)?;
        }
        self.sweep(now);
        let ws = self.visible_mut(&id, now).map_err(|_| resource_not_found(&id))?;
        let mut merged = ws.tags.clone();
        for t in tags {
            let (key, value) = (t.key.clone().unwrap_or_default(), t.value.clone().unwrap_or_default());
            match merged.iter_mut().find(|existing| existing.key == key) {
                Some(existing) => existing.value = value,
                None => merged.push(Tag { key, value }),
            }
        }
        if merged.len() > MAX_TAGS {
            return Err(ApiError::limit_exceeded(format!(
                "A WorkSpace can have at most {MAX_TAGS} tags; {id} has {} and this request would make it {}.",
                ws.tags.len(),
                merged.len()
            )));
        }
        ws.tags = merged;
        Ok(Empty {})
    }

    pub fn delete_tags(&mut self, input: DeleteTagsInput, now: Instant) -> ApiResult<Empty> {
        let id = resource_id(&input.resource_id)?.to_string();
        let keys = validate::required("TagKeys", &input.tag_keys)?;
        validate::members("TagKeys", keys, 1, usize::MAX)?;
        for (i, key) in keys.iter().enumerate() {
            validate::length(&format!("TagKeys[{i}]"), key, 1, Some(127))?;
        }
        self.sweep(now);
        let ws = self.visible_mut(&id, now).map_err(|_| resource_not_found(&id))?;
        ws.tags.retain(|t| !keys.contains(&t.key));
        Ok(Empty {})
    }

    // -----------------------------------------------------------------------------------------
    // CreateWorkspaces

    pub fn create_workspaces(
        &mut self,
        input: CreateWorkspacesInput,
        now: Instant,
    ) -> ApiResult<CreateWorkspacesOutput<'_>> {
        let requests = validate::required("Workspaces", &input.workspaces)?;
        validate::members("Workspaces", requests, 1, 25)?;
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

    // -----------------------------------------------------------------------------------------
    // ModifyWorkspaceProperties

    pub fn modify_properties(&mut self, input: ModifyWorkspacePropertiesInput, now: Instant) -> ApiResult<Empty> {
        let id = validate::required("WorkspaceId", &input.workspace_id)?.clone();
        IdPattern::Workspace.check("WorkspaceId", &id)?;
        let props = validate::required("WorkspaceProperties", &input.workspace_properties)?;
        if props.running_mode.is_none() && props.running_mode_auto_stop_timeout_in_minutes.is_none() {
            return Err(ApiError::invalid(
                "WorkspaceProperties",
                "it must set RunningMode or RunningModeAutoStopTimeoutInMinutes",
            ));
        }
        let mode = props
            .running_mode
            .as_deref()
            .map(|m| parse_running_mode("WorkspaceProperties.RunningMode", m))
            .transpose()?;
        let timeout = props
            .running_mode_auto_stop_timeout_in_minutes
            .map(|t| auto_stop_timeout("WorkspaceProperties.RunningModeAutoStopTimeoutInMinutes", t))
            .transpose()?;

        self.sweep(now);
        let delay = self.settings.transition_delay;
        let ws = self.visible_mut(&id, now)?;
        if ws.properties_busy_until.is_some_and(|until| until > now) {
            return Err(ApiError::in_progress(format!(
                "The properties of WorkSpace {id} are currently being modified. Try again in a moment."
            )));
        }
        let state = ws.state;
        if !matches!(state, WorkspaceState::Available | WorkspaceState::Stopped) {
            return Err(ApiError::invalid_state(format!(
                "The WorkSpace {id} is {state}; its properties can only be modified while it is AVAILABLE or STOPPED."
            )));
        }
        let new_mode = mode.unwrap_or(ws.running_mode);
        if new_mode == RunningMode::AlwaysOn && timeout.is_some() {
            return Err(ApiError::invalid(
                "WorkspaceProperties.RunningModeAutoStopTimeoutInMinutes",
                "it applies only to the AUTO_STOP running mode",
            ));
        }
        ws.running_mode = new_mode;
        ws.auto_stop_timeout_minutes = match new_mode {
            RunningMode::AlwaysOn => None,
            RunningMode::AutoStop => timeout.or(ws.auto_stop_timeout_minutes).or(Some(60)),
        };
        ws.properties_busy_until = Some(now + delay);
        // An AlwaysOn WorkSpace runs: switching a stopped one to ALWAYS_ON starts it.
        if state == WorkspaceState::Stopped && new_mode == RunningMode::AlwaysOn {
            self.begin_transition(&id, WorkspaceState::Starting, WorkspaceState::Available, now);
        }
        Ok(Empty {})
    }

    // -----------------------------------------------------------------------------------------
    // Start, Stop, Reboot, Rebuild, Terminate

    /// Validates a batch request's array: presence, size and every ID's pattern.
    pub fn validate_batch(
        action: BatchAction,
        requests: &Option<Vec<WorkspaceChangeRequest>>,
    ) -> ApiResult<Vec<String>> {
        let member = action.member();
        let requests = validate::required(member, requests)?;
        validate::members(member, requests, action.min_items(), action.max_items())?;
        requests
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let param = format!("{member}[{i}].WorkspaceId");
                let id = validate::required(&param, &r.workspace_id)?;
                IdPattern::Workspace.check(&param, id)?;
                Ok(id.clone())
            })
            .collect()
    }

    pub fn batch(&mut self, action: BatchAction, ids: Vec<String>, now: Instant) -> BatchOutput {
        self.sweep(now);
        let epoch = seed::now_epoch();
        let mut failed = Vec::new();
        for id in ids {
            if let Err((code, message)) = self.change_one(action, &id, now, epoch) {
                failed.push(FailedChange {
                    error_code: code.to_string(),
                    error_message: message,
                    workspace_id: id,
                });
            }
        }
        BatchOutput {
            failed_requests: failed,
        }
    }

    fn change_one(
        &mut self,
        action: BatchAction,
        id: &str,
        now: Instant,
        epoch: i64,
    ) -> Result<(), (&'static str, String)> {
        let ws = match self.workspaces.get_mut(id) {
            Some(ws) if !ws.is_gone_at(now) => ws,
            _ => {
                return Err((
                    "ResourceNotFoundException",
                    format!("The WorkSpace {id} could not be found."),
                ))
            }
        };
        ws.settle(now);
        let state = ws.state;
        if action == BatchAction::Terminate && matches!(state, WorkspaceState::Terminating | WorkspaceState::Terminated)
        {
            return Ok(()); // already on its way out: terminating again is a no-op
        }
        if !action.allowed(state) {
            return Err((
                "InvalidResourceStateException",
                format!(
                    "The WorkSpace {id} is {state} and cannot be {}; this requires {}.",
                    action.verb(),
                    action.allowed_states()
                ),
            ));
        }
        if action.needs_auto_stop() && ws.running_mode != RunningMode::AutoStop {
            return Err((
                "UnsupportedWorkspaceConfigurationException",
                format!(
                    "The WorkSpace {id} has running mode {}; only AUTO_STOP WorkSpaces can be {}.",
                    ws.running_mode,
                    action.verb()
                ),
            ));
        }
        if action == BatchAction::Rebuild {
            ws.error_code = None;
            ws.error_message = None;
        }
        if matches!(action, BatchAction::Stop | BatchAction::Terminate) {
            // Remember the last connection: once stopped, the status reports UNKNOWN.
            let last = self
                .connection_status(&self.workspaces[id], now, epoch)
                .last_known_user_connection_timestamp;
            if let Some(ws) = self.workspaces.get_mut(id) {
                ws.last_connection = last;
            }
        }
        let (via, to) = action.path();
        self.begin_transition(id, via, to, now);
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers

fn resource_id(value: &Option<String>) -> ApiResult<&str> {
    let id = validate::required("ResourceId", value)?;
    validate::length("ResourceId", id, 1, None)?;
    Ok(id)
}

fn resource_not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("The resource {id} could not be found."))
}

/// Validates an optional `WorkspaceIds` array; returns the IDs sorted, without duplicates.
fn workspace_ids(parameter: &str, ids: &Option<Vec<String>>) -> ApiResult<Option<Vec<String>>> {
    let Some(ids) = ids else { return Ok(None) };
    validate::members(parameter, ids, 1, 25)?;
    for (i, id) in ids.iter().enumerate() {
        IdPattern::Workspace.check(&format!("{parameter}[{i}]"), id)?;
    }
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.dedup();
    Ok(Some(sorted))
}

fn parse_running_mode(parameter: &str, text: &str) -> ApiResult<RunningMode> {
    RunningMode::parse(text).ok_or_else(|| {
        ApiError::invalid(
            parameter,
            format!("'{text}' is not one of {}", RunningMode::valid_values()),
        )
    })
}

/// `RunningModeAutoStopTimeoutInMinutes`: configured in 60-minute intervals.
fn auto_stop_timeout(parameter: &str, minutes: i64) -> ApiResult<i32> {
    if minutes <= 0 || minutes % 60 != 0 || minutes > i32::MAX as i64 {
        return Err(ApiError::invalid(
            parameter,
            format!("it must be a positive multiple of 60 minutes, got {minutes}"),
        ));
    }
    Ok(minutes as i32)
}

/// Whole-call validation of one `WorkspaceRequest`; returns its running mode and timeout.
fn validate_workspace_request(i: usize, r: &WorkspaceRequest) -> ApiResult<(RunningMode, Option<i32>)> {
    let p = |name: &str| format!("Workspaces[{i}].{name}");
    IdPattern::Bundle.check(&p("BundleId"), validate::required(&p("BundleId"), &r.bundle_id)?)?;
    IdPattern::Directory.check(
        &p("DirectoryId"),
        validate::required(&p("DirectoryId"), &r.directory_id)?,
    )?;
    validate::length(
        &p("UserName"),
        validate::required(&p("UserName"), &r.user_name)?,
        1,
        Some(63),
    )?;
    if let Some(key) = &r.volume_encryption_key {
        validate::length(&p("VolumeEncryptionKey"), key, 1, None)?;
    }
    if let Some(tags) = &r.tags {
        for (j, t) in tags.iter().enumerate() {
            validate::tag(&p(&format!("Tags[{j}]")), &t.key, &t.value)?;
        }
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

/// Items of a map whose key comes after `after`, in key order.
fn range_after<'a, T>(map: &'a BTreeMap<String, T>, after: Option<&str>) -> impl Iterator<Item = &'a T> + 'a {
    let start = match after {
        Some(key) => Bound::Excluded(key.to_string()),
        None => Bound::Unbounded,
    };
    map.range((start, Bound::Unbounded)).map(|(_, v)| v)
}

/// Takes up to `limit` kept items; a token is returned only when another kept item follows.
fn paginate<'a, T: 'a, O>(
    items: impl Iterator<Item = &'a T>,
    limit: usize,
    listing: Listing,
    mut keep: impl FnMut(&'a T) -> Option<(&'a str, O)>,
) -> (Vec<O>, Option<String>) {
    let mut out = Vec::with_capacity(limit.min(PAGE_SIZE));
    let mut last_key = None;
    for item in items {
        let Some((key, value)) = keep(item) else { continue };
        if out.len() == limit {
            return (out, last_key.map(|k| token::encode(listing, k)));
        }
        last_key = Some(key);
        out.push(value);
    }
    (out, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(delay_ms: u64, workspaces: usize) -> Store {
        let settings = Settings {
            transition_delay: Duration::from_millis(delay_ms),
            ..Settings::default()
        };
        Store::new(settings, &Seed { workspaces })
    }

    fn first_in(store: &Store, state: WorkspaceState, mode: RunningMode) -> String {
        store
            .workspaces
            .values()
            .find(|w| w.state == state && w.running_mode == mode)
            .unwrap()
            .id
            .clone()
    }

    #[test]
    fn stop_moves_through_stopping_to_stopped() {
        let mut s = store(1000, 40);
        let t0 = Instant::now();
        let id = first_in(&s, WorkspaceState::Available, RunningMode::AutoStop);
        let out = s.batch(BatchAction::Stop, vec![id.clone()], t0);
        assert!(out.failed_requests.is_empty());
        assert_eq!(s.workspaces[&id].state_at(t0), WorkspaceState::Stopping);
        assert_eq!(
            s.workspaces[&id].state_at(t0 + Duration::from_millis(999)),
            WorkspaceState::Stopping
        );
        assert_eq!(
            s.workspaces[&id].state_at(t0 + Duration::from_millis(1000)),
            WorkspaceState::Stopped
        );
    }

    #[test]
    fn batch_failures_are_per_item() {
        let mut s = store(1000, 40);
        let now = Instant::now();
        let ok = first_in(&s, WorkspaceState::Available, RunningMode::AutoStop);
        let always_on = first_in(&s, WorkspaceState::Available, RunningMode::AlwaysOn);
        let stopped = first_in(&s, WorkspaceState::Stopped, RunningMode::AutoStop);
        let out = s.batch(
            BatchAction::Stop,
            vec![ok.clone(), always_on.clone(), stopped.clone(), "ws-missing00".into()],
            now,
        );
        let codes: Vec<_> = out
            .failed_requests
            .iter()
            .map(|f| (f.workspace_id.as_str(), f.error_code.as_str()))
            .collect();
        assert_eq!(
            codes,
            vec![
                (always_on.as_str(), "UnsupportedWorkspaceConfigurationException"),
                (stopped.as_str(), "InvalidResourceStateException"),
                ("ws-missing00", "ResourceNotFoundException"),
            ]
        );
        assert_eq!(s.workspaces[&ok].state, WorkspaceState::Stopping);
        assert_eq!(s.workspaces[&always_on].state, WorkspaceState::Available);
    }

    #[test]
    fn each_batch_action_accepts_exactly_the_states_of_the_reference() {
        use WorkspaceState::*;
        let cases = [
            (BatchAction::Start, vec![Stopped]),
            (BatchAction::Stop, vec![Available, Impaired, Unhealthy, Error]),
            (BatchAction::Reboot, vec![Available, Impaired, Unhealthy]),
            (BatchAction::Rebuild, vec![Available, Error]),
        ];
        for (action, allowed) in cases {
            for state in WorkspaceState::ALL {
                assert_eq!(action.allowed(*state), allowed.contains(state), "{action:?} in {state}");
            }
        }
        for state in WorkspaceState::ALL {
            assert_eq!(BatchAction::Terminate.allowed(*state), *state != Suspended);
        }
    }

    #[test]
    fn terminated_workspaces_linger_then_disappear() {
        let mut s = store(100, 40);
        let t0 = Instant::now();
        let id = first_in(&s, WorkspaceState::Available, RunningMode::AlwaysOn);
        assert!(s
            .batch(BatchAction::Terminate, vec![id.clone()], t0)
            .failed_requests
            .is_empty());
        let ids = |s: &Store, at| -> Vec<(String, WorkspaceState)> {
            s.describe_workspaces(
                DescribeWorkspacesInput {
                    workspace_ids: Some(vec![id.clone()]),
                    ..Default::default()
                },
                at,
            )
            .unwrap()
            .workspaces
            .into_iter()
            .map(|w| (w.workspace_id.to_string(), w.state))
            .collect()
        };
        assert_eq!(ids(&s, t0), vec![(id.clone(), WorkspaceState::Terminating)]);
        assert_eq!(
            ids(&s, t0 + Duration::from_millis(150)),
            vec![(id.clone(), WorkspaceState::Terminated)]
        );
        assert!(ids(&s, t0 + Duration::from_millis(250)).is_empty());
        s.sweep(t0 + Duration::from_millis(250));
        assert!(!s.workspaces.contains_key(&id), "the sweep frees terminated WorkSpaces");
    }

    #[test]
    fn pages_cover_every_workspace_once_while_states_change() {
        let mut s = store(0, 120);
        let now = Instant::now();
        let mut seen = Vec::new();
        let mut token = None;
        loop {
            let page = s
                .describe_workspaces(
                    DescribeWorkspacesInput {
                        next_token: token.clone(),
                        limit: Some(7),
                        ..Default::default()
                    },
                    now,
                )
                .unwrap();
            assert!(page.workspaces.len() <= 7);
            seen.extend(page.workspaces.iter().map(|w| w.workspace_id.to_string()));
            let next = page.next_token;
            // Meanwhile, other WorkSpaces change state.
            let available: Vec<String> = s
                .workspaces
                .values()
                .filter(|w| w.state == WorkspaceState::Available)
                .take(2)
                .map(|w| w.id.clone())
                .collect();
            s.batch(BatchAction::Reboot, available, now);
            match next {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(seen.len(), 120);
        assert_eq!(unique.len(), 120);
    }

    #[test]
    fn the_last_full_page_has_no_token() {
        let s = store(0, 50);
        let now = Instant::now();
        let first = s.describe_workspaces(DescribeWorkspacesInput::default(), now).unwrap();
        let second = s
            .describe_workspaces(
                DescribeWorkspacesInput {
                    next_token: first.next_token,
                    ..Default::default()
                },
                now,
            )
            .unwrap();
        assert_eq!(second.workspaces.len(), 25);
        assert_eq!(second.next_token, None);
    }

    #[test]
    fn tags_are_merged_by_key_and_limited_to_fifty() {
        let mut s = store(0, 5);
        let now = Instant::now();
        let id = s.workspaces.keys().next().unwrap().clone();
        let tag = |k: &str, v: &str| TagIn {
            key: Some(k.into()),
            value: Some(v.into()),
        };
        s.workspaces.get_mut(&id).unwrap().tags.clear();
        s.create_tags(
            CreateTagsInput {
                resource_id: Some(id.clone()),
                tags: Some(vec![tag("a", "1"), tag("b", "2")]),
            },
            now,
        )
        .unwrap();
        s.create_tags(
            CreateTagsInput {
                resource_id: Some(id.clone()),
                tags: Some(vec![tag("a", "3")]),
            },
            now,
        )
        .unwrap();
        assert_eq!(
            s.workspaces[&id].tags,
            vec![
                Tag {
                    key: "a".into(),
                    value: "3".into()
                },
                Tag {
                    key: "b".into(),
                    value: "2".into()
                }
            ]
        );

        let many: Vec<TagIn> = (0..49).map(|i| tag(&format!("k{i}"), "v")).collect();
        let err = s
            .create_tags(
                CreateTagsInput {
                    resource_id: Some(id.clone()),
                    tags: Some(many),
                },
                now,
            )
            .unwrap_err();
        assert_eq!(err.code, "ResourceLimitExceededException");
        assert_eq!(s.workspaces[&id].tags.len(), 2, "a refused call changes nothing");
    }

    #[test]
    fn modify_refuses_a_second_change_while_the_first_applies() {
        let mut s = store(1000, 40);
        let now = Instant::now();
        let id = first_in(&s, WorkspaceState::Available, RunningMode::AutoStop);
        let input = |mode: &str| ModifyWorkspacePropertiesInput {
            workspace_id: Some(id.clone()),
            workspace_properties: Some(PropertiesIn {
                running_mode: Some(mode.into()),
                running_mode_auto_stop_timeout_in_minutes: None,
            }),
        };
        s.modify_properties(input("ALWAYS_ON"), now).unwrap();
        assert_eq!(
            s.modify_properties(input("AUTO_STOP"), now).unwrap_err().code,
            "OperationInProgressException"
        );
        s.modify_properties(input("AUTO_STOP"), now + Duration::from_millis(1001))
            .unwrap();
        assert_eq!(s.workspaces[&id].auto_stop_timeout_minutes, Some(60));
    }

    #[test]
    fn switching_a_stopped_workspace_to_always_on_starts_it() {
        let mut s = store(1000, 40);
        let now = Instant::now();
        let id = first_in(&s, WorkspaceState::Stopped, RunningMode::AutoStop);
        s.modify_properties(
            ModifyWorkspacePropertiesInput {
                workspace_id: Some(id.clone()),
                workspace_properties: Some(PropertiesIn {
                    running_mode: Some("ALWAYS_ON".into()),
                    running_mode_auto_stop_timeout_in_minutes: None,
                }),
            },
            now,
        )
        .unwrap();
        assert_eq!(s.workspaces[&id].state_at(now), WorkspaceState::Starting);
        assert_eq!(
            s.workspaces[&id].state_at(now + Duration::from_secs(1)),
            WorkspaceState::Available
        );
    }
}
