//! The fleet's values, parsed once at the edge: IDs checked against the API reference's
//! patterns, states and running modes as enums, and the rows the pages show.

use serde::{Deserialize, Serialize};

use super::validate;
use crate::error::AppResult;

/// An ID type of the API reference: a prefix and 8–63 characters of a given alphabet.
macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, prefix = $prefix:literal, example = $example:literal, alphabet = $ok:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Checks `text` against the reference's pattern; a refusal names `field`.
            pub fn parse(field: &str, text: &str) -> AppResult<Self> {
                let text = text.trim();
                validate::pattern(field, text, $prefix, 8, 63, $ok, $example)?;
                Ok($name(text.to_string()))
            }

            /// An ID that WorkSpaces itself answered with (not checked again).
            pub fn from_api(text: impl Into<String>) -> Self {
                $name(text.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

fn lower_alphanumeric(b: &u8) -> bool {
    b.is_ascii_digit() || b.is_ascii_lowercase()
}

fn lower_hex(b: &u8) -> bool {
    b.is_ascii_hexdigit() && !b.is_ascii_uppercase()
}

id_type!(
    /// `^ws-[0-9a-z]{8,63}$`
    WorkspaceId, prefix = "ws-", example = "ws-xxxxxxxx", alphabet = lower_alphanumeric
);
id_type!(
    /// `^wsb-[0-9a-z]{8,63}$`
    BundleId, prefix = "wsb-", example = "wsb-xxxxxxxx", alphabet = lower_alphanumeric
);
id_type!(
    /// `^d-[0-9a-f]{8,63}$`
    DirectoryId, prefix = "d-", example = "d-xxxxxxxxxx", alphabet = lower_hex
);

/// Serializes as the API's name; any name reads back (an unknown one as `Other`).
macro_rules! api_enum_serde {
    ($name:ident) => {
        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                String::deserialize(d).map(|s| $name::from_api(&s))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl crate::url::QueryValue for $name {
            fn parse(text: &str) -> Option<Self> {
                Some($name::from_api(text))
            }
            fn render(&self) -> String {
                self.as_str().to_string()
            }
        }
    };
}

/// A WorkSpace's state (`WorkspaceState` in the API reference).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum WorkspaceState {
    Pending,
    Available,
    Impaired,
    Unhealthy,
    Rebooting,
    Starting,
    Rebuilding,
    Maintenance,
    Terminating,
    Terminated,
    Suspended,
    Stopping,
    Stopped,
    Error,
    /// A state newer than the reference this portal follows, kept as WorkSpaces named it.
    Other(String),
}

impl WorkspaceState {
    /// Every state the reference lists, in its order.
    pub const ALL: [WorkspaceState; 14] = [
        WorkspaceState::Pending,
        WorkspaceState::Available,
        WorkspaceState::Impaired,
        WorkspaceState::Unhealthy,
        WorkspaceState::Rebooting,
        WorkspaceState::Starting,
        WorkspaceState::Rebuilding,
        WorkspaceState::Maintenance,
        WorkspaceState::Terminating,
        WorkspaceState::Terminated,
        WorkspaceState::Suspended,
        WorkspaceState::Stopping,
        WorkspaceState::Stopped,
        WorkspaceState::Error,
    ];

    pub fn as_str(&self) -> &str {
        match self {
            WorkspaceState::Pending => "PENDING",
            WorkspaceState::Available => "AVAILABLE",
            WorkspaceState::Impaired => "IMPAIRED",
            WorkspaceState::Unhealthy => "UNHEALTHY",
            WorkspaceState::Rebooting => "REBOOTING",
            WorkspaceState::Starting => "STARTING",
            WorkspaceState::Rebuilding => "REBUILDING",
            WorkspaceState::Maintenance => "MAINTENANCE",
            WorkspaceState::Terminating => "TERMINATING",
            WorkspaceState::Terminated => "TERMINATED",
            WorkspaceState::Suspended => "SUSPENDED",
            WorkspaceState::Stopping => "STOPPING",
            WorkspaceState::Stopped => "STOPPED",
            WorkspaceState::Error => "ERROR",
            WorkspaceState::Other(name) => name,
        }
    }

    /// The state WorkSpaces names; never fails (an unknown name is kept).
    pub fn from_api(name: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == name)
            .unwrap_or_else(|| WorkspaceState::Other(name.to_string()))
    }

    /// A state a WorkSpace passes through on its own; pages refresh while one is shown.
    pub fn is_transitional(&self) -> bool {
        matches!(
            self,
            WorkspaceState::Pending
                | WorkspaceState::Starting
                | WorkspaceState::Stopping
                | WorkspaceState::Rebooting
                | WorkspaceState::Rebuilding
                | WorkspaceState::Terminating
        )
    }

    /// ERROR, IMPAIRED and UNHEALTHY: shown on the overview.
    pub fn needs_attention(&self) -> bool {
        matches!(
            self,
            WorkspaceState::Error | WorkspaceState::Impaired | WorkspaceState::Unhealthy
        )
    }
}

api_enum_serde!(WorkspaceState);

/// How a WorkSpace runs and is billed (`RunningMode`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RunningMode {
    /// Billed by the hour, stopped when not used.
    AutoStop,
    /// Billed monthly.
    AlwaysOn,
    /// A mode newer than the reference (or none reported), kept as WorkSpaces named it.
    Other(String),
}

impl RunningMode {
    pub fn as_str(&self) -> &str {
        match self {
            RunningMode::AutoStop => "AUTO_STOP",
            RunningMode::AlwaysOn => "ALWAYS_ON",
            RunningMode::Other(name) => name,
        }
    }

    pub fn from_api(name: &str) -> Self {
        match name {
            "AUTO_STOP" => RunningMode::AutoStop,
            "ALWAYS_ON" => RunningMode::AlwaysOn,
            other => RunningMode::Other(other.to_string()),
        }
    }

    /// A mode typed into a form: only the two the reference allows.
    pub fn parse(field: &str, text: &str) -> AppResult<Self> {
        match RunningMode::from_api(text.trim()) {
            RunningMode::Other(other) => Err(crate::error::AppError::validation(
                field,
                format!(
                    "'{}' is not a running mode; use AUTO_STOP or ALWAYS_ON",
                    validate::clip(&other)
                ),
            )),
            mode => Ok(mode),
        }
    }

    /// As the console names it.
    pub fn label(&self) -> &str {
        match self {
            RunningMode::AutoStop => "AutoStop",
            RunningMode::AlwaysOn => "AlwaysOn",
            RunningMode::Other(name) if name.is_empty() => "—",
            RunningMode::Other(name) => name,
        }
    }
}

api_enum_serde!(RunningMode);

/// One row of the fleet: a WorkSpace with its bundle and directory names joined in.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkspaceSummary {
    pub id: WorkspaceId,
    pub user_name: String,
    pub state: WorkspaceState,
    pub directory_id: DirectoryId,
    pub directory_alias: Option<String>,
    pub bundle_id: BundleId,
    pub bundle_name: Option<String>,
    pub compute_type: Option<String>,
    pub running_mode: RunningMode,
    pub auto_stop_minutes: Option<i32>,
    pub ip_address: Option<String>,
    pub computer_name: Option<String>,
    pub subnet_id: Option<String>,
    pub root_volume_encrypted: bool,
    pub user_volume_encrypted: bool,
    pub volume_encryption_key: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    /// The last login the portal received (UTC), from WorkSpaces Access events; `None`: none.
    #[serde(default)]
    pub last_login: Option<String>,
    /// When a complete sweep (or a read by ID) found it no longer in AWS (UTC); `None`: it is.
    /// Gone WorkSpaces are kept in the inventory for history.
    #[serde(default)]
    pub gone_at: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConnectionStatus {
    pub state: String,
    /// RFC 3339, UTC.
    pub checked_at: Option<String>,
    pub last_user_connection: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkspaceDetail {
    pub workspace: WorkspaceSummary,
    pub tags: Vec<Tag>,
    pub connection: Option<ConnectionStatus>,
    /// Seconds since this WorkSpace was last read from AWS.
    #[serde(default)]
    pub read_secs_ago: u64,
    /// Its tags have not been read yet (shown as such, not as "no tags").
    #[serde(default)]
    pub tags_pending: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Count {
    pub label: String,
    pub count: usize,
}

/// How the inventory's sync is doing: how fresh the pages are, and what it costs in AWS calls.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SyncHealth {
    /// Seconds since the last complete sweep of the fleet ended (`None`: none yet).
    pub synced_secs_ago: Option<u64>,
    /// Sweeps of the whole fleet completed so far.
    pub completed_sweeps: u64,
    /// A sweep is under way, `sweep_calls` pages into it.
    pub sweeping: bool,
    pub sweep_calls: u64,
    /// The last complete sweep: how long it took and how many calls it made.
    pub last_sweep_ms: Option<u64>,
    pub last_sweep_calls: Option<u64>,
    /// Failed calls since the inventory was made, and the last one.
    pub errors: u64,
    pub last_error: Option<String>,
    pub last_error_secs_ago: Option<u64>,
    /// Calls this process made to AWS for the inventory in the last minute, and the limit.
    pub calls_last_minute: usize,
    pub max_calls_per_sec: f64,
    /// WorkSpaces whose tags and connection status are still to be read (new or changed
    /// ones): until then the tag filters do not match them.
    #[serde(default)]
    pub details_due: u64,
}

impl SyncHealth {
    /// "synced 40 s ago", or what the first sweep has done.
    pub fn freshness(&self) -> String {
        match (self.synced_secs_ago, self.sweeping) {
            (Some(ago), _) => format!("synced {}", ago_text(ago)),
            (None, true) => format!("first sync under way ({} pages read)", self.sweep_calls),
            (None, false) => "not synced yet".to_string(),
        }
    }
}

/// "just now", "40 s ago", "3 min ago", "2 h ago", "4 days ago".
pub fn ago_text(secs: u64) -> String {
    match secs {
        0..=1 => "just now".to_string(),
        2..=119 => format!("{secs} s ago"),
        120..=7_199 => format!("{} min ago", secs / 60),
        7_200..=172_799 => format!("{} h ago", secs / 3600),
        _ => format!("{} days ago", secs / 86_400),
    }
}

/// The fleet at a glance, for the overview page.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FleetOverview {
    #[serde(default)]
    pub sync: SyncHealth,
    pub total: usize,
    pub by_state: Vec<Count>,
    pub by_directory: Vec<Count>,
    pub by_running_mode: Vec<Count>,
    /// The first [`ATTENTION_SHOWN`] WorkSpaces in ERROR, IMPAIRED or UNHEALTHY (by ID)…
    pub attention: Vec<WorkspaceSummary>,
    /// …of this many.
    #[serde(default)]
    pub attention_total: usize,
}

/// How many WorkSpaces needing attention the overview lists (the rest: through its links).
pub const ATTENTION_SHOWN: usize = 50;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_the_reference_patterns() {
        assert!(WorkspaceId::parse("id", "ws-abcd1234").is_ok());
        assert_eq!(
            WorkspaceId::parse("id", " ws-abcd1234 ").unwrap().as_str(),
            "ws-abcd1234"
        );
        assert!(WorkspaceId::parse("id", "ws-abc").is_err());
        assert!(WorkspaceId::parse("id", "WS-ABCD1234").is_err());
        assert!(BundleId::parse("b", "wsb-92tn3b7gx").is_ok());
        assert!(DirectoryId::parse("d", "d-906734e5a1").is_ok());
        assert!(DirectoryId::parse("d", "d-906734E5A1").is_err());
        let err = WorkspaceId::parse("WorkspaceId", "bogus").unwrap_err();
        assert_eq!(err.field(), Some("WorkspaceId"));
        assert!(err.to_string().contains("ws-xxxxxxxx"), "{err}");
        assert_eq!(WorkspaceId::parse("id", "").unwrap_err().to_string(), "id: is required");
    }

    #[test]
    fn states_and_modes_read_every_name_and_keep_unknown_ones() {
        for state in WorkspaceState::ALL {
            assert_eq!(WorkspaceState::from_api(state.as_str()), state);
        }
        let newer = WorkspaceState::from_api("ADMIN_MAINTENANCE");
        assert_eq!(newer, WorkspaceState::Other("ADMIN_MAINTENANCE".into()));
        assert_eq!(serde_json::to_string(&newer).unwrap(), "\"ADMIN_MAINTENANCE\"");
        assert!(WorkspaceState::Rebooting.is_transitional() && !WorkspaceState::Stopped.is_transitional());
        assert_eq!(RunningMode::parse("m", " ALWAYS_ON ").unwrap(), RunningMode::AlwaysOn);
        assert_eq!(RunningMode::parse("m", "SOMETIMES").unwrap_err().field(), Some("m"));
        assert_eq!(RunningMode::from_api("").label(), "—");
        assert_eq!(
            serde_json::from_str::<RunningMode>("\"AUTO_STOP\"").unwrap(),
            RunningMode::AutoStop
        );
    }
}
