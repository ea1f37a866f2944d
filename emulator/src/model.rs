//! The WorkSpaces data types of API version 2015-04-08, as the emulator stores them.
//!
//! Stored types are plain Rust; the wire shapes (PascalCase JSON) live in `wire.rs`.

use std::fmt;
use std::time::Instant;

/// Declares a string enum of the API reference with its exact wire spelling.
macro_rules! api_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }

            /// The valid values, as the reference lists them: `A | B | C`.
            pub fn valid_values() -> String {
                Self::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(" | ")
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}

api_enum!(
    /// `Workspace.State`.
    WorkspaceState {
        Pending => "PENDING",
        Available => "AVAILABLE",
        Impaired => "IMPAIRED",
        Unhealthy => "UNHEALTHY",
        Rebooting => "REBOOTING",
        Starting => "STARTING",
        Rebuilding => "REBUILDING",
        Maintenance => "MAINTENANCE",
        Terminating => "TERMINATING",
        Terminated => "TERMINATED",
        Suspended => "SUSPENDED",
        Stopping => "STOPPING",
        Stopped => "STOPPED",
        Error => "ERROR",
    }
);

api_enum!(
    /// `WorkspaceProperties.RunningMode`.
    RunningMode {
        AutoStop => "AUTO_STOP",
        AlwaysOn => "ALWAYS_ON",
    }
);

api_enum!(
    /// `ComputeType.Name`.
    ComputeType {
        Value => "VALUE",
        Standard => "STANDARD",
        Performance => "PERFORMANCE",
    }
);

api_enum!(
    /// `WorkspaceDirectory.State`.
    DirectoryState {
        Registering => "REGISTERING",
        Registered => "REGISTERED",
        Deregistering => "DEREGISTERING",
        Deregistered => "DEREGISTERED",
        Error => "ERROR",
    }
);

api_enum!(
    /// `WorkspaceDirectory.DirectoryType`.
    DirectoryType {
        SimpleAd => "SIMPLE_AD",
        AdConnector => "AD_CONNECTOR",
    }
);

api_enum!(
    /// `WorkspaceConnectionStatus.ConnectionState`.
    ConnectionState {
        Connected => "CONNECTED",
        Disconnected => "DISCONNECTED",
        Unknown => "UNKNOWN",
    }
);

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// A state change under way: the WorkSpace shows its transitional state until `due`.
#[derive(Clone, Copy, Debug)]
pub struct Transition {
    pub to: WorkspaceState,
    pub due: Instant,
}

#[derive(Clone, Debug)]
pub struct Workspace {
    pub id: String,
    pub directory_id: String,
    pub bundle_id: String,
    pub user_name: String,
    pub computer_name: String,
    pub ip_address: String,
    pub subnet_id: String,
    pub state: WorkspaceState,
    pub transition: Option<Transition>,
    /// When a TERMINATED WorkSpace stops being listed.
    pub removal_at: Option<Instant>,
    /// Until then, ModifyWorkspaceProperties answers OperationInProgressException.
    pub properties_busy_until: Option<Instant>,
    pub running_mode: RunningMode,
    pub auto_stop_timeout_minutes: Option<i32>,
    pub root_volume_encryption_enabled: bool,
    pub user_volume_encryption_enabled: bool,
    pub volume_encryption_key: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub tags: Vec<Tag>,
    /// Epoch seconds of the last user connection known before the WorkSpace stopped running.
    pub last_connection: i64,
}

impl Workspace {
    /// The state a caller sees at `now`: a due transition counts as done even before the
    /// store has applied it, so reads never need a write lock.
    pub fn state_at(&self, now: Instant) -> WorkspaceState {
        match self.transition {
            Some(t) if t.due <= now => t.to,
            _ => self.state,
        }
    }

    /// True once a terminated WorkSpace has dropped out of DescribeWorkspaces.
    pub fn is_gone_at(&self, now: Instant) -> bool {
        self.removal_at.is_some_and(|at| at <= now)
    }

    /// Applies a due transition. Returns true when something changed.
    pub fn settle(&mut self, now: Instant) -> bool {
        match self.transition {
            Some(t) if t.due <= now => {
                self.state = t.to;
                self.transition = None;
                true
            }
            _ => false,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Bundle {
    pub id: String,
    pub name: String,
    pub owner: String,
    pub description: String,
    pub compute_type: ComputeType,
    /// User volume size in GB, as the API's `UserStorage.Capacity` string.
    pub user_storage_gb: u32,
}

#[derive(Clone, Debug)]
pub struct CreationProperties {
    pub custom_security_group_id: Option<String>,
    pub default_ou: Option<String>,
    pub enable_internet_access: bool,
    pub enable_work_docs: bool,
    pub user_enabled_as_local_administrator: bool,
}

#[derive(Clone, Debug)]
pub struct Directory {
    pub id: String,
    pub alias: String,
    pub name: String,
    pub customer_user_name: String,
    pub directory_type: DirectoryType,
    pub dns_ip_addresses: Vec<String>,
    pub iam_role_id: String,
    pub registration_code: String,
    pub state: DirectoryState,
    pub subnet_ids: Vec<String>,
    pub security_group_id: String,
    pub creation_properties: CreationProperties,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn enums_round_trip_their_wire_names() {
        for state in WorkspaceState::ALL {
            assert_eq!(WorkspaceState::parse(state.as_str()), Some(*state));
        }
        assert_eq!(RunningMode::parse("AUTO_STOP"), Some(RunningMode::AutoStop));
        assert_eq!(RunningMode::parse("auto_stop"), None);
        assert_eq!(RunningMode::valid_values(), "AUTO_STOP | ALWAYS_ON");
        assert_eq!(WorkspaceState::ALL.len(), 14);
    }

    #[test]
    fn a_due_transition_is_visible_before_it_is_applied() {
        let now = Instant::now();
        let mut ws = crate::seed::sample_workspace("ws-abcdefgh1");
        ws.state = WorkspaceState::Stopping;
        ws.transition = Some(Transition {
            to: WorkspaceState::Stopped,
            due: now + Duration::from_secs(5),
        });
        assert_eq!(ws.state_at(now), WorkspaceState::Stopping);
        assert_eq!(ws.state_at(now + Duration::from_secs(5)), WorkspaceState::Stopped);
        assert!(!ws.settle(now));
        assert!(ws.settle(now + Duration::from_secs(6)));
        assert_eq!(ws.state, WorkspaceState::Stopped);
        assert!(ws.transition.is_none());
    }
}
