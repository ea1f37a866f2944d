//! StartWorkspaces, StopWorkspaces, RebootWorkspaces, RebuildWorkspaces, TerminateWorkspaces:
//! which states each accepts, and per-item failures.

use std::time::Instant;

use super::Store;
use crate::model::{RunningMode, WorkspaceState};
use crate::seed;
use crate::wire::{BatchOutput, FailedChange};

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

    /// The member as validation messages name it: `stopWorkspaceRequests`.
    pub fn member_path(self) -> String {
        let member = self.member();
        member[..1].to_ascii_lowercase() + &member[1..]
    }

    /// `Array Members`: at most 25 requests, exactly one for RebuildWorkspaces.
    pub fn max_items(self) -> usize {
        match self {
            BatchAction::Rebuild => 1,
            _ => 25,
        }
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

impl Store {
    /// Runs `action` on each WorkSpace; those it cannot apply to come back in `FailedRequests`.
    /// The request has passed its constraints (`constraints::Constrained`) first.
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
                .last_known_user_connection_timestamp
                .0;
            if let Some(ws) = self.workspaces.get_mut(id) {
                ws.last_connection = last;
            }
        }
        let (via, to) = action.path();
        self.begin_transition(id, via, to, now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::store::testing::{first_in, store};
    use crate::wire::DescribeWorkspacesInput;

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
}
