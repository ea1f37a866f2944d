//! What changes the fleet: the five batch actions with the rules the API reference gives them,
//! the create form, and the per-item outcomes both report.

use serde::{Deserialize, Serialize};

use super::{RunningMode, WorkspaceId, WorkspaceState};
use crate::identity::Me;

/// The five actions that change WorkSpaces in batches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchAction {
    Start,
    Stop,
    Reboot,
    Rebuild,
    Terminate,
}

impl BatchAction {
    pub const ALL: [BatchAction; 5] = [
        BatchAction::Start,
        BatchAction::Stop,
        BatchAction::Reboot,
        BatchAction::Rebuild,
        BatchAction::Terminate,
    ];

    pub fn label(self) -> &'static str {
        match self {
            BatchAction::Start => "Start",
            BatchAction::Stop => "Stop",
            BatchAction::Reboot => "Reboot",
            BatchAction::Rebuild => "Rebuild",
            BatchAction::Terminate => "Terminate",
        }
    }

    /// The AWS action name, as audit records, logs and the policy table name it.
    pub fn api_name(self) -> &'static str {
        match self {
            BatchAction::Start => "StartWorkspaces",
            BatchAction::Stop => "StopWorkspaces",
            BatchAction::Reboot => "RebootWorkspaces",
            BatchAction::Rebuild => "RebuildWorkspaces",
            BatchAction::Terminate => "TerminateWorkspaces",
        }
    }

    /// The request list's name in the action's API call, as CloudTrail records it.
    pub fn api_parameter(self) -> &'static str {
        match self {
            BatchAction::Start => "startWorkspaceRequests",
            BatchAction::Stop => "stopWorkspaceRequests",
            BatchAction::Reboot => "rebootWorkspaceRequests",
            BatchAction::Rebuild => "rebuildWorkspaceRequests",
            BatchAction::Terminate => "terminateWorkspaceRequests",
        }
    }

    /// The actions the signed-in user's role allows, by the policy table (none when signed out).
    pub fn allowed_for(me: Option<&Me>) -> Vec<BatchAction> {
        BatchAction::ALL
            .into_iter()
            .filter(|a| me.is_some_and(|me| crate::policy::allows(me.role, a.endpoint(), a.api_name())))
            .collect()
    }

    /// The server function that runs it.
    pub fn endpoint(self) -> &'static str {
        <super::RunBatch as leptos::server_fn::ServerFn>::PATH
    }

    /// Destructive actions need the user to type this word to confirm.
    pub fn confirmation_word(self) -> Option<&'static str> {
        match self {
            BatchAction::Rebuild => Some("rebuild"),
            BatchAction::Terminate => Some("terminate"),
            _ => None,
        }
    }

    /// What is lost, in the API reference's words.
    pub fn warning(self) -> Option<&'static str> {
        match self {
            BatchAction::Rebuild => Some(
                "Rebuilding restores the system to the image of the bundle the WorkSpace was created from: \
                 applications installed and system settings made since it was created are lost. The data drive (D:) \
                 is re-created from the last automatic snapshot, which can be up to 12 hours old; its current contents \
                 are overwritten.",
            ),
            BatchAction::Terminate => Some(
                "Terminating is permanent and cannot be undone. The user's data is not kept and will be destroyed.",
            ),
            _ => None,
        }
    }

    /// Whether the API reference allows this action on a WorkSpace, and if not, why.
    pub fn check(self, state: &WorkspaceState, running_mode: &RunningMode) -> Result<(), String> {
        use WorkspaceState as S;
        let allowed: &[WorkspaceState] = match self {
            BatchAction::Start => &[S::Stopped],
            BatchAction::Stop => &[S::Available, S::Impaired, S::Unhealthy, S::Error],
            BatchAction::Reboot => &[S::Available, S::Impaired, S::Unhealthy],
            BatchAction::Rebuild => &[S::Available, S::Error],
            BatchAction::Terminate => {
                return match state {
                    S::Suspended => Err("a SUSPENDED WorkSpace cannot be terminated".into()),
                    S::Terminating | S::Terminated => Err(format!("it is already {state}")),
                    _ => Ok(()),
                };
            }
        };
        if matches!(self, BatchAction::Start | BatchAction::Stop) && *running_mode != RunningMode::AutoStop {
            let verb = if self == BatchAction::Start {
                "started"
            } else {
                "stopped"
            };
            return Err(format!(
                "only AutoStop WorkSpaces can be {verb}; this one is {running_mode}"
            ));
        }
        if allowed.contains(state) {
            Ok(())
        } else {
            let names: Vec<&str> = allowed.iter().map(WorkspaceState::as_str).collect();
            Err(format!(
                "it is {state}; {} needs {}",
                self.label().to_lowercase(),
                names.join(" or ")
            ))
        }
    }

    /// How many WorkSpaces one API call takes.
    pub fn api_batch_size(self) -> usize {
        match self {
            BatchAction::Rebuild => 1,
            _ => 25,
        }
    }
}

/// The outcome for one WorkSpace of a batch action.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ItemOutcome {
    pub workspace_id: WorkspaceId,
    /// None: accepted. Some: the per-item error code (or the whole call's, if that failed).
    pub error_code: Option<String>,
    pub error_message: Option<String>,
}

impl ItemOutcome {
    pub fn ok(&self) -> bool {
        self.error_code.is_none()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BatchOutcome {
    pub action: BatchAction,
    pub items: Vec<ItemOutcome>,
}

impl BatchOutcome {
    pub fn succeeded(&self) -> usize {
        self.items.iter().filter(|i| i.ok()).count()
    }
}

/// The create form, as the browser posts it (checked on the server).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CreateForm {
    pub directory_id: String,
    pub bundle_id: String,
    /// One user name per line.
    pub users: String,
    pub running_mode: String,
    pub auto_stop_minutes: String,
    pub root_volume_encrypted: Option<String>,
    pub user_volume_encrypted: Option<String>,
    pub volume_encryption_key: String,
    /// `key=value` per line.
    pub tags: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CreateOutcomeItem {
    pub user_name: String,
    pub workspace_id: Option<WorkspaceId>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CreateOutcome {
    pub items: Vec<CreateOutcomeItem>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_checks_follow_the_reference() {
        use RunningMode::{AlwaysOn, AutoStop};
        use WorkspaceState as S;
        assert!(BatchAction::Start.check(&S::Stopped, &AutoStop).is_ok());
        assert!(BatchAction::Start
            .check(&S::Stopped, &AlwaysOn)
            .unwrap_err()
            .contains("AutoStop"));
        assert!(BatchAction::Stop.check(&S::Error, &AutoStop).is_ok());
        assert!(BatchAction::Reboot
            .check(&S::Stopped, &AlwaysOn)
            .unwrap_err()
            .contains("STOPPED"));
        assert!(BatchAction::Rebuild.check(&S::Error, &AlwaysOn).is_ok());
        assert!(BatchAction::Terminate.check(&S::Suspended, &AlwaysOn).is_err());
        assert!(BatchAction::Terminate.check(&S::Impaired, &AlwaysOn).is_ok());
        assert_eq!(
            BatchAction::Stop.check(&S::Available, &AlwaysOn).unwrap_err(),
            "only AutoStop WorkSpaces can be stopped; this one is ALWAYS_ON"
        );
    }
}
