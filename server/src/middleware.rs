//! What every request passes through before the app: cross-site request refusal, security
//! headers with a per-response CSP nonce, and the signed-in user (or a redirect to sign in).

use app::error::AppError;
use app::ssr::{AppState, Operation};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;

/// The CSP nonce of the response being made; the page's scripts carry it.
#[derive(Clone, Debug)]
pub struct CspNonce(pub String);

/// Why a state-changing request looks cross-site, if it does.
///
/// Browsers send `Sec-Fetch-Site` (and `Origin` on POST); a request from another site is
/// refused whatever cookies it carries. Requests without either header come from scripts and
/// tools, which a browser cannot be tricked into sending with the user's cookies.
pub fn cross_site(headers: &HeaderMap) -> Option<String> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = text("sec-fetch-site") {
        return match site {
            "same-origin" | "none" => None,
            other => Some(format!("Sec-Fetch-Site is {other}")),
        };
    }
    let origin = text("origin")?;
    let host = text("host").unwrap_or("");
    let origin_host = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .unwrap_or("");
    if origin_host.is_empty() || !origin_host.eq_ignore_ascii_case(host) {
        return Some(format!("Origin {origin} is not this site ({host})"));
    }
    None
}

/// Adds the security headers to every response.
pub async fn guard(mut req: Request, next: Next) -> Response {
    let nonce = app::identity::ssr::random_hex(16);
    req.extensions_mut().insert(CspNonce(nonce.clone()));
    with_headers(next.run(req).await, &nonce)
}

fn with_headers(mut response: Response, nonce: &str) -> Response {
    let script = format!("'self' 'nonce-{nonce}' 'wasm-unsafe-eval'");
    let csp = format!(
        "default-src 'self'; script-src {script}; style-src 'self'; style-src-attr 'unsafe-inline'; \
         img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
         form-action 'self'; frame-ancestors 'none'"
    );
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// Paths anyone may open without signing in.
fn public(path: &str) -> bool {
    path == "/login" || path == "/setup" || path == "/healthz" || path == "/readyz" || path.starts_with("/pkg/")
}

/// Puts the signed-in user in the request's extensions; refuses cross-site writes (recorded in
/// the audit log, as the user whose cookie came along); sends anyone else opening a page to
/// the sign-in page. Server functions decide for themselves (the pipeline and its policy table).
pub async fn identify(State(state): State<AppState>, session: Session, mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if safe && (path.starts_with("/pkg/") || path == "/healthz" || path == "/readyz") {
        return next.run(req).await;
    }
    let identity = state.portal.identity.identify(&session).await;
    if !safe {
        if let Some(reason) = cross_site(req.headers()) {
            tracing::warn!(%path, %reason, "cross-site request refused");
            let (mut parts, _) = req.into_parts();
            if let Some(identity) = identity {
                parts.extensions.insert(identity);
            }
            let op = Operation::portal_write(
                "security/cross-site",
                "CrossSiteRequestRefused",
                serde_json::json!({ "method": parts.method.as_str(), "path": parts.uri.path() }),
            );
            let refusal = AppError::Forbidden {
                message: format!("cross-site request refused ({reason})"),
            };
            let caller = state.portal.pipeline.caller_of(&parts);
            return state
                .portal
                .pipeline
                .refuse(&caller, &op, refusal)
                .await
                .into_response();
        }
    }
    let page = req.method() == Method::GET && !path.starts_with("/api/");
    match identity {
        Some(identity) => {
            if page && path == "/login" {
                let next_page = req
                    .uri()
                    .query()
                    .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("next=")))
                    .map(app::url::decode)
                    .unwrap_or_default();
                return Redirect::to(&app::identity::safe_next(&next_page)).into_response();
            }
            req.extensions_mut().insert(identity);
        }
        None if page && !public(&path) => {
            let wanted = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
            let target = if wanted == "/" {
                "/login".to_string()
            } else {
                format!("/login?next={}", app::url::encode(wanted))
            };
            return Redirect::to(&target).into_response();
        }
        None => {}
    }
    next.run(req).await
}

/// A server function whose arguments cannot be read (a field missing, a value of the wrong
/// type) is answered by `server_fn` before its body runs: 500, no sign-in check, no audit
/// record. This turns that answer into the portal's own — 401 when the caller must sign in
/// first, else 400 with the reason — and records the attempt (`Portal::refuse_unreadable`).
pub async fn unreadable_arguments(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if !req.uri().path().starts_with("/api/") {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let head = parts.clone();
    let response = next.run(Request::from_parts(parts, body)).await;
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR || !response.headers().contains_key("serverfnerror") {
        return response;
    }
    let (response_parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    match serde_json::from_slice::<AppError>(&bytes) {
        // Only `server_fn`'s own decoding names the field "request" (see `AppError`'s
        // `FromServerFnError`); the portal's answers carry their status already.
        Ok(AppError::Validation { field, message }) if field == "request" => {
            let caller = state.portal.pipeline.caller_of(&head);
            let error = state
                .portal
                .pipeline
                .refuse_unreadable(&caller, head.uri.path(), message)
                .await;
            let mut response = error.into_response();
            if let Some(marker) = response_parts.headers.get("serverfnerror") {
                response.headers_mut().insert("serverfnerror", marker.clone());
            }
            response
        }
        _ => Response::from_parts(response_parts, axum::body::Body::from(bytes)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn same_site_requests_and_tools_pass_cross_site_ones_do_not() {
        assert_eq!(cross_site(&headers(&[("sec-fetch-site", "same-origin")])), None);
        assert_eq!(
            cross_site(&headers(&[("origin", "http://portal:3000"), ("host", "portal:3000")])),
            None
        );
        assert_eq!(
            cross_site(&headers(&[("host", "portal:3000")])),
            None,
            "curl sends neither"
        );
        assert!(cross_site(&headers(&[("sec-fetch-site", "cross-site")])).is_some());
        assert!(cross_site(&headers(&[("sec-fetch-site", "same-site")])).is_some());
        assert!(cross_site(&headers(&[("origin", "https://evil.example"), ("host", "portal:3000")])).is_some());
        assert!(cross_site(&headers(&[("origin", "null"), ("host", "portal:3000")])).is_some());
    }
}
