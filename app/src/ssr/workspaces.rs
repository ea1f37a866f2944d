//! The WorkSpaces client — the same for Amazon WorkSpaces and the emulator — and the one place
//! where SDK types become the portal's own types and SDK errors become `AppError`s. Nothing else
//! in the app touches SDK types' shapes.

use aws_sdk_workspaces::config::interceptors::BeforeDeserializationInterceptorContextRef;
use aws_sdk_workspaces::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_workspaces::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_workspaces::primitives::{DateTime, DateTimeFormat};
use aws_sdk_workspaces::types as sdk;

use crate::catalog::ssr::CatalogIndex;
use crate::catalog::{BundleInfo, DirectoryInfo};
use crate::error::{AppError, AppResult};
use crate::fleet::{
    BundleId, ConnectionStatus, DirectoryId, RunningMode, Tag, WorkspaceId, WorkspaceState, WorkspaceSummary,
};

pub type Client = aws_sdk_workspaces::Client;

/// The client for an SDK configuration (AWS's standard one, or the emulator's endpoint), with
/// the interceptor that notes every AWS request ID in the audit record of the request being
/// served — paginated walks and retries included.
pub fn client(config: aws_sdk_workspaces::config::Builder) -> Client {
    Client::from_conf(config.interceptor(RequestIds).build())
}

#[derive(Debug)]
struct RequestIds;

impl Intercept for RequestIds {
    fn name(&self) -> &'static str {
        "PortalAuditRequestIds"
    }

    fn read_after_transmit(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let headers = context.response().headers();
        if let Some(id) = headers
            .get("x-amzn-requestid")
            .or_else(|| headers.get("x-amz-request-id"))
        {
            super::note_request_id(id);
        }
        Ok(())
    }
}

/// Checks that WorkSpaces answers (for `/readyz`).
pub async fn ping(client: &Client) -> AppResult<()> {
    client
        .describe_workspace_directories()
        .send()
        .await
        .map(|_| ())
        .map_err(|e| sdk_error("DescribeWorkspaceDirectories", e))
}

pub fn workspace(w: &sdk::Workspace, catalog: &CatalogIndex) -> WorkspaceSummary {
    let bundle_id = BundleId::from_api(w.bundle_id().unwrap_or_default());
    let directory_id = DirectoryId::from_api(w.directory_id().unwrap_or_default());
    let bundle = catalog.bundles.get(&bundle_id);
    let directory = catalog.directories.get(&directory_id);
    let props = w.workspace_properties();
    WorkspaceSummary {
        id: WorkspaceId::from_api(w.workspace_id().unwrap_or_default()),
        user_name: w.user_name().unwrap_or_default().to_string(),
        state: WorkspaceState::from_api(w.state().map(|s| s.as_str()).unwrap_or("UNKNOWN")),
        directory_id,
        directory_alias: directory.map(|d| d.alias.clone()).filter(|a| !a.is_empty()),
        bundle_id,
        bundle_name: bundle.map(|b| b.name.clone()),
        compute_type: props
            .and_then(|p| p.compute_type_name())
            .map(|c| c.as_str().to_string())
            .or_else(|| bundle.map(|b| b.compute_type.clone())),
        running_mode: RunningMode::from_api(props.and_then(|p| p.running_mode()).map(|m| m.as_str()).unwrap_or("")),
        auto_stop_minutes: props.and_then(|p| p.running_mode_auto_stop_timeout_in_minutes()),
        ip_address: w.ip_address().map(str::to_owned),
        computer_name: w.computer_name().map(str::to_owned),
        subnet_id: w.subnet_id().map(str::to_owned),
        root_volume_encrypted: w.root_volume_encryption_enabled().unwrap_or(false),
        user_volume_encrypted: w.user_volume_encryption_enabled().unwrap_or(false),
        volume_encryption_key: w.volume_encryption_key().map(str::to_owned),
        error_code: w.error_code().map(str::to_owned),
        error_message: w.error_message().map(str::to_owned),
        last_login: None,
        gone_at: None,
    }
}

pub fn bundle(b: &sdk::WorkspaceBundle) -> BundleInfo {
    BundleInfo {
        id: BundleId::from_api(b.bundle_id().unwrap_or_default()),
        name: b.name().unwrap_or_default().to_string(),
        owner: b.owner().unwrap_or_default().to_string(),
        description: b.description().unwrap_or_default().to_string(),
        compute_type: b
            .compute_type()
            .and_then(|c| c.name())
            .map(|n| n.as_str().to_string())
            .unwrap_or_default(),
        user_storage: b.user_storage().map(|s| s.capacity().to_string()).unwrap_or_default(),
    }
}

pub fn directory(d: &sdk::WorkspaceDirectory) -> DirectoryInfo {
    let props = d.workspace_creation_properties();
    DirectoryInfo {
        id: DirectoryId::from_api(d.directory_id().unwrap_or_default()),
        alias: d.alias().unwrap_or_default().to_string(),
        name: d.directory_name().unwrap_or_default().to_string(),
        directory_type: d.directory_type().map(|t| t.as_str().to_string()).unwrap_or_default(),
        state: d.state().map(|s| s.as_str().to_string()).unwrap_or_default(),
        dns_ip_addresses: d.dns_ip_addresses().to_vec(),
        subnet_ids: d.subnet_ids().to_vec(),
        security_group_id: d.workspace_security_group_id().map(str::to_owned),
        registration_code: d.registration_code().map(str::to_owned),
        customer_user_name: d.customer_user_name().map(str::to_owned),
        iam_role_id: d.iam_role_id().map(str::to_owned),
        default_ou: props.and_then(|p| p.default_ou()).map(str::to_owned),
        custom_security_group_id: props.and_then(|p| p.custom_security_group_id()).map(str::to_owned),
        enable_internet_access: props.and_then(|p| p.enable_internet_access()),
        user_enabled_as_local_administrator: props.and_then(|p| p.user_enabled_as_local_administrator()),
        workspace_count: 0,
    }
}

pub fn tag(t: &sdk::Tag) -> Tag {
    Tag {
        key: t.key().to_string(),
        value: t.value().unwrap_or_default().to_string(),
    }
}

pub fn connection(c: &sdk::WorkspaceConnectionStatus) -> ConnectionStatus {
    ConnectionStatus {
        state: c
            .connection_state()
            .map(|s| s.as_str().to_string())
            .unwrap_or_else(|| "UNKNOWN".into()),
        checked_at: c.connection_state_check_timestamp().and_then(rfc3339),
        last_user_connection: c.last_known_user_connection_timestamp().and_then(rfc3339),
    }
}

fn rfc3339(t: &DateTime) -> Option<String> {
    t.fmt(DateTimeFormat::DateTime).ok()
}

/// An SDK request that could not be built (a required member missing): a bug, logged.
pub fn build_error(e: aws_sdk_workspaces::error::BuildError) -> AppError {
    super::internal(format!("could not build a WorkSpaces request: {e}"))
}

/// An SDK failure as the user should see it: AWS's own code and message for service errors;
/// for anything else (connection refused, timeouts, bad responses) a safe message, with the
/// details logged under a reference.
pub fn sdk_error<E, R>(action: &str, err: SdkError<E, R>) -> AppError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match &err {
        SdkError::ServiceError(service) => {
            let e = service.err();
            AppError::Upstream {
                code: e.code().unwrap_or("UnknownError").to_string(),
                message: e.message().unwrap_or("WorkSpaces gave no message.").to_string(),
            }
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => {
            let reference = super::reference();
            tracing::warn!(%reference, action, error = %DisplayErrorContext(&err), "WorkSpaces endpoint unreachable");
            AppError::Upstream {
                code: "ServiceUnavailable".into(),
                message: format!(
                    "The WorkSpaces endpoint could not be reached (reference {reference}). Try again shortly."
                ),
            }
        }
        _ => {
            let reference = super::reference();
            tracing::error!(%reference, action, error = %DisplayErrorContext(&err), "WorkSpaces call failed");
            AppError::Internal { reference }
        }
    }
}
