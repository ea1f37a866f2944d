//! Request and response bodies of the 14 actions: the shapes of the service model, with the
//! member names both protocols use (AWS JSON 1.1 and RPC v2 CBOR encode the same structures).
//!
//! Request members are `Option`s and enums arrive as strings, so a missing or unknown value
//! becomes a `ValidationException` naming the member, not a decoding error.

use serde::{Deserialize, Serialize, Serializer};

use crate::model::{ComputeType, ConnectionState, DirectoryState, DirectoryType, RunningMode, WorkspaceState};

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct TagIn {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct PropertiesIn {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub running_mode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub running_mode_auto_stop_timeout_in_minutes: Option<i64>,
}

/// `WorkspaceRequest`; echoed back unchanged in `FailedCreateWorkspaceRequest`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct WorkspaceRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bundle_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub directory_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub root_volume_encryption_enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<TagIn>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_volume_encryption_enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume_encryption_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workspace_properties: Option<PropertiesIn>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CreateTagsInput {
    pub resource_id: Option<String>,
    pub tags: Option<Vec<TagIn>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DeleteTagsInput {
    pub resource_id: Option<String>,
    pub tag_keys: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeTagsInput {
    pub resource_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CreateWorkspacesInput {
    pub workspaces: Option<Vec<WorkspaceRequest>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeWorkspaceBundlesInput {
    pub bundle_ids: Option<Vec<String>>,
    pub next_token: Option<String>,
    pub owner: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeWorkspaceDirectoriesInput {
    pub directory_ids: Option<Vec<String>>,
    pub next_token: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeWorkspacesInput {
    pub bundle_id: Option<String>,
    pub directory_id: Option<String>,
    pub limit: Option<i64>,
    pub next_token: Option<String>,
    pub user_name: Option<String>,
    pub workspace_ids: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeConnectionStatusInput {
    pub next_token: Option<String>,
    pub workspace_ids: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ModifyWorkspacePropertiesInput {
    pub workspace_id: Option<String>,
    pub workspace_properties: Option<PropertiesIn>,
}

/// `StartRequest`, `StopRequest`, `RebootRequest`, `RebuildRequest`, `TerminateRequest`.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct WorkspaceChangeRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workspace_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct StartWorkspacesInput {
    pub start_workspace_requests: Option<Vec<WorkspaceChangeRequest>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct StopWorkspacesInput {
    pub stop_workspace_requests: Option<Vec<WorkspaceChangeRequest>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RebootWorkspacesInput {
    pub reboot_workspace_requests: Option<Vec<WorkspaceChangeRequest>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RebuildWorkspacesInput {
    pub rebuild_workspace_requests: Option<Vec<WorkspaceChangeRequest>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct TerminateWorkspacesInput {
    pub terminate_workspace_requests: Option<Vec<WorkspaceChangeRequest>>,
}

// ---------------------------------------------------------------------------------------------
// Responses

#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct TagOut {
    pub key: String,
    pub value: String,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct PropertiesOut {
    pub running_mode: RunningMode,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub running_mode_auto_stop_timeout_in_minutes: Option<i32>,
}

/// `Workspace`, borrowed from the store: the hot path serializes without copying strings.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct WorkspaceOut<'a> {
    pub bundle_id: &'a str,
    pub computer_name: &'a str,
    pub directory_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<&'a str>,
    pub ip_address: &'a str,
    pub root_volume_encryption_enabled: bool,
    pub state: WorkspaceState,
    pub subnet_id: &'a str,
    pub user_name: &'a str,
    pub user_volume_encryption_enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume_encryption_key: Option<&'a str>,
    pub workspace_id: &'a str,
    pub workspace_properties: PropertiesOut,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ComputeTypeOut {
    pub name: ComputeType,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UserStorageOut {
    pub capacity: String,
}

/// `WorkspaceBundle`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BundleOut {
    pub bundle_id: String,
    pub compute_type: ComputeTypeOut,
    pub description: String,
    pub name: String,
    pub owner: String,
    pub user_storage: UserStorageOut,
}

/// `DefaultWorkspaceCreationProperties`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreationPropertiesOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_security_group_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_ou: Option<String>,
    pub enable_internet_access: bool,
    pub enable_work_docs: bool,
    pub user_enabled_as_local_administrator: bool,
}

/// `WorkspaceDirectory`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DirectoryOut {
    pub alias: String,
    pub customer_user_name: String,
    pub directory_id: String,
    pub directory_name: String,
    pub directory_type: DirectoryType,
    pub dns_ip_addresses: Vec<String>,
    pub iam_role_id: String,
    pub registration_code: String,
    pub state: DirectoryState,
    pub subnet_ids: Vec<String>,
    pub workspace_creation_properties: CreationPropertiesOut,
    pub workspace_security_group_id: String,
}

/// A `Timestamp`, in seconds since the epoch: a plain number in AWS JSON, CBOR tag 1 (epoch-based
/// date/time) in RPC v2 CBOR. serde tells the two apart: JSON is the human-readable format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct EpochSeconds(pub i64);

impl Serialize for EpochSeconds {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.serialize_i64(self.0)
        } else {
            ciborium::tag::Required::<i64, 1>(self.0).serialize(serializer)
        }
    }
}

/// `WorkspaceConnectionStatus`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConnectionStatusOut {
    pub connection_state: ConnectionState,
    pub connection_state_check_timestamp: EpochSeconds,
    pub last_known_user_connection_timestamp: EpochSeconds,
    pub workspace_id: String,
}

/// `FailedWorkspaceChangeRequest`.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct FailedChange {
    pub error_code: String,
    pub error_message: String,
    pub workspace_id: String,
}

/// `FailedCreateWorkspaceRequest`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct FailedCreate {
    pub error_code: String,
    pub error_message: String,
    pub workspace_request: WorkspaceRequest,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchOutput {
    pub failed_requests: Vec<FailedChange>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateWorkspacesOutput<'a> {
    pub failed_requests: Vec<FailedCreate>,
    pub pending_requests: Vec<WorkspaceOut<'a>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeTagsOutput {
    pub tag_list: Vec<TagOut>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeWorkspacesOutput<'a> {
    pub workspaces: Vec<WorkspaceOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeBundlesOutput {
    pub bundles: Vec<BundleOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeDirectoriesOutput {
    pub directories: Vec<DirectoryOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeConnectionStatusOutput {
    pub workspaces_connection_status: Vec<ConnectionStatusOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// Actions whose response is `HTTP 200 with an empty body`; AWS sends `{}`.
#[derive(Debug, Serialize)]
pub struct Empty {}
