//! The few routes that are not pages or server functions: readiness, and the audit export
//! (streamed, so a plain handler).

use app::ssr::{db, workspaces, AppState};
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

/// Ready when the database and WorkSpaces answer.
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let (database, workspaces) = tokio::join!(db::ping(&state.portal.db), workspaces::ping(&state.portal.workspaces));
    let ready = database.is_ok() && workspaces.is_ok();
    let body = serde_json::json!({
        "status": if ready { "ready" } else { "not ready" },
        "database": database.map(|_| "ok".to_string()).unwrap_or_else(|e| e.to_string()),
        "workspaces": workspaces.map(|_| "ok".to_string()).unwrap_or_else(|e| e.to_string()),
    });
    let status = if ready {
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
