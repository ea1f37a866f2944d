//! The few routes that are not pages or server functions: readiness, and the downloads (the
//! audit log, the fleet, the logins: files, some streamed, so plain handlers).

pub mod access;

use std::sync::Arc;

use app::ssr::{db, workspaces, AppState};
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

/// The last readiness answer of WorkSpaces, reused for a while: `/readyz` is anonymous, and must
/// not turn each hit into an AWS call.
#[derive(Clone)]
pub struct Readiness {
    ttl: std::time::Duration,
    last: Arc<tokio::sync::Mutex<Option<(std::time::Instant, bool)>>>,
}

impl Readiness {
    pub fn new(ttl: std::time::Duration) -> Self {
        Readiness {
            ttl,
            last: Arc::default(),
        }
    }

    async fn workspaces(&self, client: &workspaces::Client) -> bool {
        let mut last = self.last.lock().await;
        if let Some((at, ok)) = *last {
            if at.elapsed() < self.ttl {
                return ok;
            }
        }
        let ok = match workspaces::ping(client).await {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(error = %e, "readiness: WorkSpaces does not answer");
                false
            }
        };
        *last = Some((std::time::Instant::now(), ok));
        ok
    }
}

/// Ready when the database and WorkSpaces answer. The answer says only which part is not ready;
/// the details go to the server log.
pub async fn readyz(State(state): State<AppState>, readiness: Readiness) -> impl IntoResponse {
    let (database, workspaces) = tokio::join!(
        db::ping(&state.portal.db),
        readiness.workspaces(&state.portal.workspaces)
    );
    if let Err(e) = &database {
        tracing::warn!(error = %e, "readiness: the database does not answer");
    }
    let reason = match (database.is_ok(), workspaces) {
        (true, true) => None,
        (false, _) => Some("database"),
        (true, false) => Some("workspaces"),
    };
    let body = serde_json::json!({
        "status": if reason.is_none() { "ready" } else { "not ready" },
        "reason": reason,
    });
    let status = if reason.is_none() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body))
}

/// The query string's pairs, or the refusal of an unreadable one.
fn query_pairs(uri: &axum::http::Uri) -> Result<Vec<(String, String)>, app::error::AppError> {
    Query::<Vec<(String, String)>>::try_from_uri(uri)
        .map(|Query(params)| params)
        .map_err(|e| app::error::AppError::validation("query", e.body_text()))
}

/// A download named `{what}-{now}.{extension}`.
fn attachment(what: &str, extension: &str, content_type: &str, body: Body) -> Response {
    let name = format!(
        "{what}-{}.{extension}",
        app::audit::ssr::record::utc_now().replace([':', '.'], "-"),
    );
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        body,
    )
        .into_response()
}

/// The chunks of an export's channel as a streamed body.
fn streamed(chunks: tokio::sync::mpsc::Receiver<Result<Vec<u8>, String>>) -> Body {
    Body::from_stream(futures::stream::unfold(chunks, |mut rx| async move {
        rx.recv()
            .await
            .map(|chunk| (chunk.map(axum::body::Bytes::from).map_err(std::io::Error::other), rx))
    }))
}

/// `GET /api/workspaces/export?<the fleet page's query>`: the filtered fleet, in the page's
/// order, with each WorkSpace's last login, as CSV.
pub async fn export_fleet(State(state): State<AppState>, request: axum::http::Request<Body>) -> Response {
    let (parts, _) = request.into_parts();
    let params = match query_pairs(&parts.uri) {
        Ok(params) => params,
        Err(refused) => return refused.into_response(),
    };
    let caller = state.portal.pipeline.caller_of(&parts);
    let query = <app::fleet::FleetQuery as app::url::UrlQuery>::from_pairs(
        params.iter().map(|(k, v)| (k.as_str(), v.as_str())),
    );
    match state.portal.fleet.export(&caller, query).await {
        Ok(csv) => attachment("workspaces", "csv", "text/csv; charset=utf-8", Body::from(csv)),
        Err(e) => e.into_response(),
    }
}

/// `GET /api/access/export?format=csv|ndjson&<the logins page's search>`: every matching
/// login, newest first, streamed.
pub async fn export_access(State(state): State<AppState>, request: axum::http::Request<Body>) -> Response {
    let (parts, _) = request.into_parts();
    let params = match query_pairs(&parts.uri) {
        Ok(params) => params,
        Err(refused) => return refused.into_response(),
    };
    let caller = state.portal.pipeline.caller_of(&parts);
    match state
        .portal
        .access
        .export(&caller, &state.portal.exports, &params)
        .await
    {
        Ok((format, chunks)) => attachment("logins", format.extension(), format.content_type(), streamed(chunks)),
        Err(e) => e.into_response(),
    }
}

/// `GET /api/audit/export?format=cloudtrail|csv&<the audit page's filters>`: the whole
/// filtered set as a download, streamed.
pub async fn export_audit(State(state): State<AppState>, request: axum::http::Request<Body>) -> Response {
    let (parts, _) = request.into_parts();
    let params = match query_pairs(&parts.uri) {
        Ok(params) => params,
        Err(refused) => return refused.into_response(),
    };
    let caller = state.portal.pipeline.caller_of(&parts);
    match app::audit::ssr::export_for(&state.portal, &caller, &params).await {
        Ok((format, chunks)) => attachment("audit", format.extension(), format.content_type(), streamed(chunks)),
        Err(e) => e.into_response(),
    }
}
