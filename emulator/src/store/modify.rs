//! ModifyWorkspaceProperties: one change at a time, only while AVAILABLE or STOPPED.

use std::time::Instant;

use super::{auto_stop_timeout, parse_running_mode, Store};
use crate::error::{ApiError, ApiResult};
use crate::model::{RunningMode, WorkspaceState};
use crate::wire::*;

impl Store {
    pub fn modify_properties(&mut self, input: ModifyWorkspacePropertiesInput, now: Instant) -> ApiResult<Empty> {
        let id = input.workspace_id.clone().unwrap_or_default();
        let props = input.workspace_properties.unwrap_or_default();
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
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::model::RunningMode;
    use crate::store::testing::{first_in, store};

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
