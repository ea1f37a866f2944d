//! The emulator's state and the rules of the 14 actions.
//!
//! Time is passed in (`now`), so the rules are plain functions of state and time. Reads see
//! due transitions without applying them (`Workspace::state_at`); writes apply them first.
//!
//! One module per action family: `describe`, `tags`, `create`, `modify` and `batch`; this one
//! holds the store itself, its clock and what the families share.
//!
//! The actions check the rules of the reference's prose; a request's modeled constraints are
//! checked before it gets here (`constraints::Constrained::validated`, as `Emulator` does), so
//! an embedding program calling these methods directly should validate its requests first.

mod batch;
mod create;
mod describe;
mod logins;

pub use logins::USUAL_NETWORKS;
mod modify;
mod tags;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::time::{Duration, Instant};

use crate::error::{ApiError, ApiResult};
use crate::model::{Bundle, Directory, RunningMode, Transition, Workspace, WorkspaceState};
use crate::seed::{self, Seed};

pub use batch::BatchAction;
pub use logins::{rfc3339, SLOT_SECS};

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

    /// Gives a WorkSpace to another user, as a directory change or a rebuild elsewhere could
    /// (for tests of what changed behind a request's back).
    pub fn reassign(&mut self, id: &str, user_name: &str, now: Instant) -> ApiResult<()> {
        self.sweep(now);
        let ws = self.visible_mut(id, now)?;
        ws.user_name = user_name.to_string();
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

#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    pub(crate) fn store(delay_ms: u64, workspaces: usize) -> Store {
        let settings = Settings {
            transition_delay: Duration::from_millis(delay_ms),
            ..Settings::default()
        };
        Store::new(settings, &Seed { workspaces })
    }

    pub(crate) fn first_in(store: &Store, state: WorkspaceState, mode: RunningMode) -> String {
        store
            .workspaces
            .values()
            .find(|w| w.state == state && w.running_mode == mode)
            .unwrap()
            .id
            .clone()
    }
}
