//! The AWS JSON 1.1 endpoint: `POST /` with `X-Amz-Target: WorkspacesService.<Action>`,
//! plus the emulator's own control endpoints under `/_emulator/`.

use std::net::SocketAddr;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};
use crate::faults::{FaultRule, Faults};
use crate::model::WorkspaceState;
use crate::seed::{self, Seed};
use crate::store::{BatchAction, Settings, Store};
use crate::wire::WorkspaceChangeRequest;

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

const TARGET_PREFIX: &str = "WorkspacesService.";
const CONTENT_TYPE: &str = "application/x-amz-json-1.1";

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
}

impl Emulator {
    pub fn new(config: Config) -> Self {
        Emulator {
            inner: Arc::new(Inner {
                store: RwLock::new(Store::new(config.settings, &config.seed)),
                faults: Faults::default(),
            }),
        }
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

    /// Runs one action on a JSON body, as the endpoint does after authentication.
    pub fn dispatch(&self, action: &str, body: &[u8]) -> ApiResult<Vec<u8>> {
        let now = Instant::now();
        let out = match action {
            "DescribeWorkspaces" => to_json(&self.read().describe_workspaces(parse(body)?, now)?),
            "DescribeWorkspaceBundles" => to_json(&self.read().describe_bundles(parse(body)?)?),
            "DescribeWorkspaceDirectories" => to_json(&self.read().describe_directories(parse(body)?)?),
            "DescribeWorkspacesConnectionStatus" => to_json(&self.read().describe_connection_status(
                parse(body)?,
                now,
                seed::now_epoch(),
            )?),
            "DescribeTags" => to_json(&self.read().describe_tags(parse(body)?, now)?),
            "CreateTags" => to_json(&self.write().create_tags(parse(body)?, now)?),
            "DeleteTags" => to_json(&self.write().delete_tags(parse(body)?, now)?),
            "CreateWorkspaces" => to_json(&self.write().create_workspaces(parse(body)?, now)?),
            "ModifyWorkspaceProperties" => to_json(&self.write().modify_properties(parse(body)?, now)?),
            other => {
                let action = BatchAction::from_action(other).ok_or_else(|| ApiError::invalid_action(other))?;
                let requests = batch_member(action.member(), body)?;
                let ids = Store::validate_batch(action, &requests)?;
                to_json(&self.write().batch(action, ids, now))
            }
        };
        Ok(out)
    }
}

fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    // Serializing these plain structs cannot fail.
    serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec())
}

fn is_blank(body: &[u8]) -> bool {
    body.iter().all(u8::is_ascii_whitespace)
}

/// Decodes a request body; an empty body is an empty request, as the SDKs may send.
fn parse<T: DeserializeOwned + Default>(body: &[u8]) -> ApiResult<T> {
    if is_blank(body) {
        return Ok(T::default());
    }
    // serde would read a struct from a JSON array too; AWS requires an object.
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::serialization("The request body must be a JSON object."));
    }
    serde_json::from_slice(body).map_err(|e| ApiError::serialization(describe_json_error(&e)))
}

fn describe_json_error(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    match e.classify() {
        Category::Data => format!("A member of the request has the wrong JSON type ({e})."),
        _ => format!("The request body is not valid JSON ({e})."),
    }
}

/// The array member of a batch request, under the name its action uses.
fn batch_member(member: &str, body: &[u8]) -> ApiResult<Option<Vec<WorkspaceChangeRequest>>> {
    let mut map: serde_json::Map<String, serde_json::Value> = parse(body)?;
    match map.remove(member) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(value) => serde_json::from_value(value)
            .map(Some)
            .map_err(|e| ApiError::serialization(format!("{member} has the wrong JSON type ({e})."))),
    }
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

fn respond(status: u16, body: Vec<u8>, request_id: &str, error_type: Option<&str>) -> Response {
    let mut response = (StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST), body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    if let Ok(id) = HeaderValue::from_str(request_id) {
        headers.insert("x-amzn-requestid", id);
    }
    if let Some(code) = error_type.and_then(|c| HeaderValue::from_str(c).ok()) {
        headers.insert("x-amzn-errortype", code);
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

async fn aws_endpoint(State(emulator): State<Emulator>, headers: HeaderMap, body: Bytes) -> Response {
    let started = Instant::now();
    let request_id = request_id();
    let action = target(&headers).map(str::to_owned);
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
        emulator.dispatch(&action, &body)
    }
    .await;
    let response = match result {
        Ok(body) => respond(200, body, &request_id, None),
        Err(e) => respond(e.status, e.to_json().into_bytes(), &request_id, Some(e.code)),
    };
    tracing::info!(
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

async fn health(State(emulator): State<Emulator>) -> Json<serde_json::Value> {
    let workspaces = emulator.read().workspace_count(Instant::now());
    Json(serde_json::json!({ "status": "ok", "workspaces": workspaces }))
}

fn control_error(message: String) -> Response {
    (StatusCode::BAD_REQUEST, Json(serde_json::json!({ "message": message }))).into_response()
}

async fn not_found() -> Response {
    respond(
        404,
        ApiError::invalid_action("(none)").to_json().into_bytes(),
        &request_id(),
        Some("UnknownOperationException"),
    )
}

/// The emulator as an axum router: the AWS endpoint at `/` and control endpoints.
pub fn router(emulator: Emulator) -> Router {
    Router::new()
        .route("/", post(aws_endpoint))
        .route("/_emulator/health", get(health))
        .route(
            "/_emulator/faults",
            get(list_faults).post(add_fault).delete(clear_faults),
        )
        .route("/_emulator/workspaces/{id}/state", post(force_state))
        .fallback(not_found)
        .with_state(emulator)
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
/// This is how the portal embeds it and how tests start it.
pub async fn spawn(emulator: Emulator) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router(emulator)).await {
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
        assert_eq!(err.code, "InvalidParameterValuesException");
        assert!(err.message.contains("StartWorkspaceRequests"), "{}", err.message);
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
    fn request_ids_look_like_uuids() {
        let id = request_id();
        let parts: Vec<usize> = id.split('-').map(str::len).collect();
        assert_eq!(parts, vec![8, 4, 4, 4, 12], "{id}");
        assert_ne!(request_id(), id);
    }
}
