//! The two AWS endpoints, on the same store, validation, fault injection and request log:
//! AWS JSON 1.1 (`POST /` with `X-Amz-Target: WorkspacesService.<Action>`) and Smithy RPC v2
//! CBOR (`POST /service/WorkspacesService/operation/<Action>`), plus the emulator's own control
//! endpoints under `/_emulator/`.

use std::net::SocketAddr;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::constraints::Constrained;
use crate::error::{ApiError, ApiResult};
use crate::faults::{FaultRule, Faults};
use crate::model::WorkspaceState;
use crate::protocol::{Protocol, SMITHY_PROTOCOL};
use crate::seed::{self, Seed};
use crate::store::{BatchAction, Settings, Store};
use crate::wire::*;

/// The 14 actions of API version 2015-04-08.
pub const ACTIONS: [&str; 14] = [
    "CreateTags",
    "CreateWorkspaces",
    "DeleteTags",
    "DescribeTags",
    "DescribeWorkspaceBundles",
    "DescribeWorkspaceDirectories",
    "DescribeWorkspaces",
    "DescribeWorkspacesConnectionStatus",
    "ModifyWorkspaceProperties",
    "RebootWorkspaces",
    "RebuildWorkspaces",
    "StartWorkspaces",
    "StopWorkspaces",
    "TerminateWorkspaces",
];

/// The service shape's name, as both protocols address it.
const SERVICE: &str = "WorkspacesService";
/// Its absolute shape ID with `#` written as `.`, which RPC v2 CBOR paths may use too.
const SERVICE_ABSOLUTE: &str = "com.amazonaws.workspaces.WorkspacesService";
const TARGET_PREFIX: &str = "WorkspacesService.";

/// What the emulator starts with.
#[derive(Clone, Debug, Default)]
pub struct Config {
    pub settings: Settings,
    pub seed: Seed,
}

/// A running emulator's state; cheap to clone, safe to share between requests.
#[derive(Clone)]
pub struct Emulator {
    inner: Arc<Inner>,
}

struct Inner {
    store: RwLock<Store>,
    faults: Faults,
    /// Requests per action, answered or not (for tests and embedding programs).
    calls: std::sync::Mutex<std::collections::HashMap<String, u64>>,
}

impl Emulator {
    pub fn new(config: Config) -> Self {
        Emulator {
            inner: Arc::new(Inner {
                store: RwLock::new(Store::new(config.settings, &config.seed)),
                faults: Faults::default(),
                calls: Default::default(),
            }),
        }
    }

    /// How many requests for `action` the emulator received (valid or not).
    pub fn calls(&self, action: &str) -> u64 {
        let calls = self.inner.calls.lock().unwrap_or_else(|e| e.into_inner());
        calls.get(action).copied().unwrap_or(0)
    }

    /// Reads the store (a panic elsewhere never locks the emulator up).
    pub fn read(&self) -> RwLockReadGuard<'_, Store> {
        self.inner.store.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Changes the store directly, for embedding programs and tests.
    pub fn write(&self) -> RwLockWriteGuard<'_, Store> {
        self.inner.store.write().unwrap_or_else(|e| e.into_inner())
    }

    pub fn faults(&self) -> &Faults {
        &self.inner.faults
    }

    /// Runs one action on an AWS JSON 1.1 body, as the endpoint does after authentication.
    pub fn dispatch(&self, action: &str, body: &[u8]) -> ApiResult<Vec<u8>> {
        self.dispatch_in(Protocol::AwsJson1_1, action, body)
    }

    /// Runs one action on a body in `protocol` and answers in it: the request is decoded,
    /// checked against its modeled constraints, then given to the action's rules.
    pub fn dispatch_in(&self, protocol: Protocol, action: &str, body: &[u8]) -> ApiResult<Vec<u8>> {
        let p = protocol;
        let now = Instant::now();
        *self
            .inner
            .calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(action.to_string())
            .or_default() += 1;
        // Each request is decoded and checked before the store is locked.
        let out = match action {
            "DescribeWorkspaces" => {
                let input = input(p, body)?;
                p.encode(&self.read().describe_workspaces(input, now)?)
            }
            "DescribeWorkspaceBundles" => {
                let input = input(p, body)?;
                p.encode(&self.read().describe_bundles(input)?)
            }
            "DescribeWorkspaceDirectories" => {
                let input = input(p, body)?;
                p.encode(&self.read().describe_directories(input)?)
            }
            "DescribeWorkspacesConnectionStatus" => {
                let input = input(p, body)?;
                p.encode(&self.read().describe_connection_status(input, now, seed::now_epoch())?)
            }
            "DescribeTags" => {
                let input = input(p, body)?;
                p.encode(&self.read().describe_tags(input, now)?)
            }
            "CreateTags" => {
                let input = input(p, body)?;
                p.encode(&self.write().create_tags(input, now)?)
            }
            "DeleteTags" => {
                let input = input(p, body)?;
                p.encode(&self.write().delete_tags(input, now)?)
            }
            "CreateWorkspaces" => {
                let input = input(p, body)?;
                p.encode(&self.write().create_workspaces(input, now)?)
            }
            "ModifyWorkspaceProperties" => {
                let input = input(p, body)?;
                p.encode(&self.write().modify_properties(input, now)?)
            }
            "StartWorkspaces" => {
                let requests = input::<StartWorkspacesInput>(p, body)?.start_workspace_requests;
                p.encode(&self.batch(BatchAction::Start, requests, now))
            }
            "StopWorkspaces" => {
                let requests = input::<StopWorkspacesInput>(p, body)?.stop_workspace_requests;
                p.encode(&self.batch(BatchAction::Stop, requests, now))
            }
            "RebootWorkspaces" => {
                let requests = input::<RebootWorkspacesInput>(p, body)?.reboot_workspace_requests;
                p.encode(&self.batch(BatchAction::Reboot, requests, now))
            }
            "RebuildWorkspaces" => {
                let requests = input::<RebuildWorkspacesInput>(p, body)?.rebuild_workspace_requests;
                p.encode(&self.batch(BatchAction::Rebuild, requests, now))
            }
            "TerminateWorkspaces" => {
                let requests = input::<TerminateWorkspacesInput>(p, body)?.terminate_workspace_requests;
                p.encode(&self.batch(BatchAction::Terminate, requests, now))
            }
            other => return Err(ApiError::invalid_action(other)),
        };
        Ok(out)
    }

    fn batch(&self, action: BatchAction, requests: Option<Vec<WorkspaceChangeRequest>>, now: Instant) -> BatchOutput {
        // The constraints have made every request name a WorkSpace.
        let ids = requests.into_iter().flatten().filter_map(|r| r.workspace_id).collect();
        self.write().batch(action, ids, now)
    }
}

/// A request body decoded and checked against the constraints of its shape.
fn input<T: DeserializeOwned + Default + Constrained>(protocol: Protocol, body: &[u8]) -> ApiResult<T> {
    protocol.decode::<T>(body)?.validated()
}

/// A request ID in the format AWS uses (a random UUID).
fn request_id() -> String {
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        fastrand::u32(..),
        fastrand::u16(..),
        fastrand::u16(..0x1000),
        0x8000 | fastrand::u16(..0x4000),
        fastrand::u64(..1 << 48)
    )
}

fn respond(protocol: Protocol, status: u16, body: Vec<u8>, request_id: &str, error: Option<&ApiError>) -> Response {
    let mut response = (StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST), body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(protocol.content_type()));
    if let Ok(id) = HeaderValue::from_str(request_id) {
        headers.insert("x-amzn-requestid", id);
    }
    match protocol {
        // RPC v2 CBOR names the error in the body only, and always frames its answers.
        Protocol::RpcV2Cbor => {
            headers.insert("smithy-protocol", HeaderValue::from_static(SMITHY_PROTOCOL));
        }
        Protocol::AwsJson1_1 => {
            if let Some(code) = error.and_then(|e| HeaderValue::from_str(e.code).ok()) {
                headers.insert("x-amzn-errortype", code);
            }
        }
    }
    response
}

/// Which action a request names, from `X-Amz-Target`.
fn target(headers: &HeaderMap) -> ApiResult<&str> {
    let value = headers.get("x-amz-target").ok_or_else(ApiError::missing_action)?;
    let text = value.to_str().map_err(|_| ApiError::missing_action())?;
    let action = text
        .strip_prefix(TARGET_PREFIX)
        .ok_or_else(|| ApiError::invalid_action(text))?;
    if ACTIONS.contains(&action) {
        Ok(action)
    } else {
        Err(ApiError::invalid_action(action))
    }
}

/// Which action an RPC v2 CBOR request names, once it is framed as the protocol requires.
fn operation(service: &str, operation: &str, headers: &HeaderMap, body: &[u8]) -> ApiResult<String> {
    if headers.contains_key("x-amz-target") || headers.contains_key("x-amzn-target") {
        return Err(ApiError::unknown_operation(
            "An RPC v2 CBOR request must not carry X-Amz-Target or X-Amzn-Target.",
        ));
    }
    let framing = headers.get("smithy-protocol").and_then(|v| v.to_str().ok());
    if framing != Some(SMITHY_PROTOCOL) {
        return Err(ApiError::unknown_operation(format!(
            "An RPC v2 CBOR request needs the header smithy-protocol: {SMITHY_PROTOCOL}."
        )));
    }
    if service != SERVICE && service != SERVICE_ABSOLUTE {
        return Err(ApiError::unknown_operation(format!(
            "There is no service {service} here; this is {SERVICE}."
        )));
    }
    if !ACTIONS.contains(&operation) {
        return Err(ApiError::unknown_operation(format!(
            "{SERVICE} has no operation {operation}."
        )));
    }
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::trim);
    if !body.is_empty() && media != Some(Protocol::RpcV2Cbor.content_type()) {
        return Err(ApiError::unsupported_media_type(format!(
            "An RPC v2 CBOR request body is application/cbor, not {}.",
            media.unwrap_or("untyped")
        )));
    }
    Ok(operation.to_string())
}

/// `{prefix}/service/{service}/operation/{operation}`: RPC v2 CBOR routes on the last four
/// segments of the path, whatever comes before.
fn rpc_v2_path(path: &str) -> Option<(&str, &str)> {
    let mut last = path.rsplitn(5, '/');
    let (operation, word, service, keyword) = (last.next()?, last.next()?, last.next()?, last.next()?);
    (keyword == "service" && word == "operation" && !service.is_empty() && !operation.is_empty())
        .then_some((service, operation))
}

async fn aws_json_endpoint(State(emulator): State<Emulator>, headers: HeaderMap, body: Bytes) -> Response {
    let action = target(&headers).map(str::to_owned);
    serve_request(&emulator, Protocol::AwsJson1_1, action, &headers, &body).await
}

async fn rpc_v2_cbor_endpoint(
    State(emulator): State<Emulator>,
    Path((service, op)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let action = operation(&service, &op, &headers, &body);
    serve_request(&emulator, Protocol::RpcV2Cbor, action, &headers, &body).await
}

/// What both endpoints do with a request: check it is signed, apply fault rules, run the
/// action, answer in the request's protocol, and log one line.
async fn serve_request(
    emulator: &Emulator,
    protocol: Protocol,
    action: ApiResult<String>,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let started = Instant::now();
    let request_id = request_id();
    let label = action.as_deref().unwrap_or("-").to_owned();
    let result = async {
        // Signatures are not verified, but a request must be signed, as SDKs always do.
        if !headers.contains_key(header::AUTHORIZATION) {
            return Err(ApiError::missing_authentication_token());
        }
        let action = action?;
        if let Some(fault) = emulator.faults().decide(&action) {
            if !fault.latency.is_zero() {
                tokio::time::sleep(fault.latency).await;
            }
            if let Some(error) = fault.error {
                return Err(error);
            }
        }
        emulator.dispatch_in(protocol, &action, body)
    }
    .await;
    let response = match result {
        Ok(body) => respond(protocol, 200, body, &request_id, None),
        Err(e) => respond(protocol, e.status, protocol.error_body(&e), &request_id, Some(&e)),
    };
    tracing::info!(
        protocol = protocol.name(),
        action = %label,
        status = response.status().as_u16(),
        duration_us = started.elapsed().as_micros() as u64,
        request_id = %request_id,
        "request"
    );
    response
}

// ---------------------------------------------------------------------------------------------
// Control endpoints

async fn list_faults(State(emulator): State<Emulator>) -> Json<Vec<FaultRule>> {
    Json(emulator.faults().list())
}

async fn add_fault(State(emulator): State<Emulator>, body: Bytes) -> Response {
    let rule: FaultRule = match serde_json::from_slice(&body) {
        Ok(rule) => rule,
        Err(e) => return control_error(format!("The fault rule is not valid JSON of the expected shape: {e}")),
    };
    match emulator.faults().add(rule) {
        Ok(()) => (StatusCode::CREATED, Json(emulator.faults().list())).into_response(),
        Err(e) => control_error(e),
    }
}

async fn clear_faults(State(emulator): State<Emulator>) -> StatusCode {
    emulator.faults().clear();
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ForceState {
    state: String,
}

/// Puts a WorkSpace into any state, e.g. SUSPENDED or ERROR, which no action leads to.
async fn force_state(State(emulator): State<Emulator>, Path(id): Path<String>, body: Bytes) -> Response {
    let wanted: ForceState = match serde_json::from_slice(&body) {
        Ok(w) => w,
        Err(e) => return control_error(format!("Expected {{\"state\": \"<State>\"}}: {e}")),
    };
    let Some(state) = WorkspaceState::parse(&wanted.state) else {
        return control_error(format!(
            "state: '{}' is not one of {}",
            wanted.state,
            WorkspaceState::valid_values()
        ));
    };
    match emulator.write().force_state(&id, state, Instant::now()) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => (StatusCode::NOT_FOUND, Json(serde_json::json!({ "message": e.message }))).into_response(),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Reassign {
    user_name: String,
}

/// Gives a WorkSpace to another user (`{"userName": "…"}`), which no action of the API does.
async fn reassign(State(emulator): State<Emulator>, Path(id): Path<String>, body: Bytes) -> Response {
    let wanted: Reassign = match serde_json::from_slice(&body) {
        Ok(w) => w,
        Err(e) => return control_error(format!("Expected {{\"userName\": \"<name>\"}}: {e}")),
    };
    if wanted.user_name.trim().is_empty() || wanted.user_name.len() > 63 {
        return control_error("userName: 1 to 63 characters".into());
    }
    match emulator.write().reassign(&id, wanted.user_name.trim(), Instant::now()) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => (StatusCode::NOT_FOUND, Json(serde_json::json!({ "message": e.message }))).into_response(),
    }
}

async fn health(State(emulator): State<Emulator>) -> Json<serde_json::Value> {
    let workspaces = emulator.read().workspace_count(Instant::now());
    Json(serde_json::json!({ "status": "ok", "workspaces": workspaces }))
}

fn control_error(message: String) -> Response {
    (StatusCode::BAD_REQUEST, Json(serde_json::json!({ "message": message }))).into_response()
}

/// Anything else: an RPC v2 CBOR request under a path prefix is served; the rest is unknown,
/// answered in the protocol the request looks like.
async fn fallback(
    State(emulator): State<Emulator>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let (&Method::POST, Some((service, op))) = (&method, rpc_v2_path(uri.path())) {
        let action = operation(service, op, &headers, &body);
        return serve_request(&emulator, Protocol::RpcV2Cbor, action, &headers, &body).await;
    }
    if headers.contains_key("smithy-protocol") {
        let error = ApiError::unknown_operation(format!("Nothing is served at {method} {}.", uri.path()));
        let body = Protocol::RpcV2Cbor.error_body(&error);
        return respond(Protocol::RpcV2Cbor, 404, body, &request_id(), Some(&error));
    }
    // An InvalidAction body, typed UnknownOperationException in the header.
    let body = ApiError::invalid_action("(none)").to_json().into_bytes();
    let typed = ApiError::unknown_operation("");
    respond(Protocol::AwsJson1_1, 404, body, &request_id(), Some(&typed))
}

/// The emulator as an axum router: both AWS endpoints and the control endpoints.
pub fn router(emulator: Emulator) -> Router {
    router_with(emulator, true)
}

/// The emulator as an axum router, with or without the control endpoints (`/_emulator/…`):
/// an embedding program that must not let a local process change the state behind its back
/// leaves them out.
pub fn router_with(emulator: Emulator, control: bool) -> Router {
    let mut router = Router::new()
        .route("/", post(aws_json_endpoint))
        .route("/service/{service}/operation/{operation}", post(rpc_v2_cbor_endpoint));
    if control {
        router = router
            .route("/_emulator/health", get(health))
            .route(
                "/_emulator/faults",
                get(list_faults).post(add_fault).delete(clear_faults),
            )
            .route("/_emulator/workspaces/{id}/state", post(force_state))
            .route("/_emulator/workspaces/{id}/user", post(reassign));
    }
    router.fallback(fallback).with_state(emulator)
}

/// Serves the emulator on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    emulator: Emulator,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(emulator))
        .with_graceful_shutdown(shutdown)
        .await
}

/// Starts the emulator on a free loopback port in the background; returns its address.
/// This is how tests start it.
pub async fn spawn(emulator: Emulator) -> std::io::Result<SocketAddr> {
    spawn_with(emulator, true).await
}

/// Starts the emulator on a free loopback port in the background, with or without its control
/// endpoints; returns its address. This is how the portal embeds it.
pub async fn spawn_with(emulator: Emulator, control: bool) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router_with(emulator, control)).await {
            tracing::error!(error = %e, "the embedded WorkSpaces emulator stopped");
        }
    });
    Ok(addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn emulator() -> Emulator {
        Emulator::new(Config::default())
    }

    #[test]
    fn malformed_or_mistyped_bodies_are_serialization_errors() {
        let emu = emulator();
        for body in [
            &b"{not json"[..],
            b"[1,2]",
            br#"{"Limit": "five"}"#,
            br#"{"WorkspaceIds": "ws-abcdefgh1"}"#,
            b"null",
        ] {
            let err = emu.dispatch("DescribeWorkspaces", body).unwrap_err();
            assert_eq!(
                (err.status, err.code),
                (400, "SerializationException"),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        let err = emu
            .dispatch("StopWorkspaces", br#"{"StopWorkspaceRequests": [{"WorkspaceId": 7}]}"#)
            .unwrap_err();
        assert_eq!(err.code, "SerializationException");
    }

    #[test]
    fn a_batch_reads_only_its_own_member_name() {
        let emu = emulator();
        let err = emu
            .dispatch(
                "StartWorkspaces",
                br#"{"StopWorkspaceRequests": [{"WorkspaceId": "ws-abcdefgh1"}]}"#,
            )
            .unwrap_err();
        assert_eq!(err.code, "ValidationException");
        assert!(
            err.message.contains(
                "Value null at 'startWorkspaceRequests' failed to satisfy constraint: Member must not be null"
            ),
            "{}",
            err.message
        );
    }

    #[test]
    fn an_empty_body_is_an_empty_request() {
        let out = emulator().dispatch("DescribeWorkspaces", b"").unwrap();
        let value: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(value["Workspaces"].as_array().unwrap().len(), 25);
    }

    #[test]
    fn targets_must_name_a_workspaces_action() {
        let mut headers = HeaderMap::new();
        assert_eq!(target(&headers).unwrap_err().code, "MissingAction");
        headers.insert(
            "x-amz-target",
            HeaderValue::from_static("WorkspacesService.DescribeWorkspaces"),
        );
        assert_eq!(target(&headers).unwrap(), "DescribeWorkspaces");
        headers.insert(
            "x-amz-target",
            HeaderValue::from_static("WorkspacesService.DeleteEverything"),
        );
        assert_eq!(target(&headers).unwrap_err().code, "InvalidAction");
        headers.insert("x-amz-target", HeaderValue::from_static("DynamoDB_20120810.GetItem"));
        assert_eq!(target(&headers).unwrap_err().code, "InvalidAction");
    }

    #[test]
    fn rpc_v2_routes_on_the_last_four_path_segments() {
        assert_eq!(
            rpc_v2_path("/service/WorkspacesService/operation/StopWorkspaces"),
            Some(("WorkspacesService", "StopWorkspaces"))
        );
        assert_eq!(
            rpc_v2_path("/v1/service/WorkspacesService/operation/StopWorkspaces"),
            Some(("WorkspacesService", "StopWorkspaces"))
        );
        for path in [
            "/",
            "/service/WorkspacesService",
            "/service/WorkspacesService/operation/",
            "/services/WorkspacesService/operation/StopWorkspaces",
            "/service/WorkspacesService/operation/StopWorkspaces/extra",
        ] {
            assert_eq!(rpc_v2_path(path), None, "{path}");
        }
    }

    #[test]
    fn rpc_v2_requests_name_the_service_by_name_or_absolute_id() {
        let mut headers = HeaderMap::new();
        headers.insert("smithy-protocol", HeaderValue::from_static(SMITHY_PROTOCOL));
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/cbor"));
        for service in [SERVICE, SERVICE_ABSOLUTE] {
            assert_eq!(
                operation(service, "RebootWorkspaces", &headers, &[0xa0]).unwrap(),
                "RebootWorkspaces"
            );
        }
        let err = operation("WorkSpaces", "RebootWorkspaces", &headers, &[0xa0]).unwrap_err();
        assert_eq!((err.status, err.code), (404, "UnknownOperationException"));
        // No body needs no content type.
        headers.remove(header::CONTENT_TYPE);
        assert!(operation(SERVICE, "DescribeTags", &headers, b"").is_ok());
        let err = operation(SERVICE, "DescribeTags", &headers, &[0xa0]).unwrap_err();
        assert_eq!((err.status, err.code), (415, "UnsupportedMediaTypeException"));
    }

    #[test]
    fn both_protocols_run_the_same_rules() {
        let emu = emulator();
        let json = emu
            .dispatch("RebuildWorkspaces", br#"{"RebuildWorkspaceRequests": []}"#)
            .unwrap_err();
        let cbor = emu
            .dispatch_in(
                Protocol::RpcV2Cbor,
                "RebuildWorkspaces",
                &Protocol::RpcV2Cbor.encode(&serde_json::json!({"RebuildWorkspaceRequests": []})),
            )
            .unwrap_err();
        assert_eq!(json, cbor);
        assert_eq!(json.code, "ValidationException");
    }

    #[test]
    fn request_ids_look_like_uuids() {
        let id = request_id();
        let parts: Vec<usize> = id.split('-').map(str::len).collect();
        assert_eq!(parts, vec![8, 4, 4, 4, 12], "{id}");
        assert_ne!(request_id(), id);
    }
}
