//! The few routes that are not pages or server functions: readiness, and the audit export
//! (streamed, so a plain handler).

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

/// `GET /api/audit/export?format=cloudtrail|csv&<the audit page's filters>`: the whole
/// filtered set as a download, streamed.
pub async fn export_audit(State(state): State<AppState>, request: axum::http::Request<Body>) -> Response {
    let (parts, _) = request.into_parts();
    let params: Vec<(String, String)> = match Query::<Vec<(String, String)>>::try_from_uri(&parts.uri) {
        Ok(Query(params)) => params,
        Err(e) => return app::error::AppError::validation("query", e.body_text()).into_response(),
    };
    let caller = state.portal.pipeline.caller_of(&parts);
    let (format, chunks) = match app::audit::ssr::export_for(&state.portal, &caller, &params).await {
        Ok(started) => started,
        Err(e) => return e.into_response(),
    };
    let body = Body::from_stream(futures::stream::unfold(chunks, |mut rx| async move {
        rx.recv()
            .await
            .map(|chunk| (chunk.map(axum::body::Bytes::from).map_err(std::io::Error::other), rx))
    }));
    let name = format!(
        "audit-{}.{}",
        app::audit::ssr::record::utc_now().replace([':', '.'], "-"),
        format.extension()
    );
    (
        [
            (header::CONTENT_TYPE, format.content_type().to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        body,
    )
        .into_response()
}
