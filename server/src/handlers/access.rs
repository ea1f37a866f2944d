//! `POST /events/workspaces-access`: WorkSpaces Access events as EventBridge's API destination
//! delivers them. Outside the session layers: no cookie, no cross-site check — an ingest token
//! (`Authorization: Bearer …`) is the only way in, and it reaches nothing else.

use app::access::MAX_DELIVERY_BYTES;
use app::error::AppError;
use app::ssr::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderValue, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

/// An error answer, with `Retry-After` when it says when to try again.
fn answer(error: AppError) -> Response {
    let retry = error.retry_after();
    let mut response = error.into_response();
    if let Some(secs) = retry {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

/// The token first (nothing of the body is read for a caller without one), then the place to
/// store (429 when too many deliveries are being stored), then the body within its limit (413),
/// then each event's checks: 200 with the counts, or 400 naming the field.
pub async fn ingest(State(state): State<AppState>, request: Request<Body>) -> Response {
    let (parts, body) = request.into_parts();
    let access = &state.portal.access;
    let anonymous = state.portal.pipeline.caller_of(&parts);
    let authorization = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let caller = match access.authenticate(&anonymous, authorization).await {
        Ok(caller) => caller,
        Err(e) => return answer(e),
    };
    let _stored = match access.admit() {
        Ok(permit) => permit,
        Err(e) => return answer(e),
    };
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_DELIVERY_BYTES) {
        return answer(access.too_large(&caller).await);
    }
    let bytes = match axum::body::to_bytes(body, MAX_DELIVERY_BYTES).await {
        Ok(bytes) => bytes,
        Err(_) => return answer(access.too_large(&caller).await),
    };
    match access.ingest(&caller, &bytes).await {
        Ok(outcome) => (StatusCode::OK, Json(outcome)).into_response(),
        Err(e) => answer(e),
    }
}
