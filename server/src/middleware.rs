//! What every request passes through before the app: the site check (`--public-url`), security
//! headers with a per-response CSP nonce, the signed-in user (or a redirect to sign in),
//! cross-site refusal, and — before a server function's body is read — the refusal of callers
//! the policy table lets call none of its operations, and the body limit.

use std::sync::Arc;

use app::error::AppError;
use app::policy;
use app::ssr::{AppState, Operation};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;

/// The CSP nonce of the response being made; the page's scripts carry it.
#[derive(Clone, Debug)]
pub struct CspNonce(pub String);

/// Where users reach the portal (`--public-url`), when it is known.
#[derive(Clone, Debug, Default)]
pub struct Site {
    /// `https://portal.example.com` (scheme, host and port, as browsers send `Origin`).
    pub origin: Option<String>,
    /// `portal.example.com` (as browsers send `Host`).
    pub host: Option<String>,
    /// Reached over HTTPS: Secure cookies, HSTS.
    pub https: bool,
}

impl Site {
    /// The site of a public URL such as `https://portal.example.com/`.
    pub fn of(public_url: Option<&url::Url>) -> Self {
        let Some(url) = public_url else {
            return Site::default();
        };
        let origin = url.origin().ascii_serialization();
        let host = url.host_str().map(|h| match url.port() {
            Some(port) => format!("{h}:{port}"),
            None => h.to_string(),
        });
        Site {
            origin: Some(origin),
            host,
            https: url.scheme() == "https",
        }
    }
}

/// What the middleware needs: the app's state and the site.
#[derive(Clone)]
pub struct Layers {
    pub app: AppState,
    pub site: Arc<Site>,
}

/// Why a state-changing request looks cross-site, if it does.
///
/// Browsers send `Sec-Fetch-Site` (and `Origin` on POST); a request from another site is
/// refused whatever cookies it carries. Requests without either header come from scripts and
/// tools, which a browser cannot be tricked into sending with the user's cookies. With a public
/// URL, `Origin` must be exactly its origin (scheme included); without one, its host must be
/// the request's `Host`.
pub fn cross_site(headers: &HeaderMap, site: &Site) -> Option<String> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(fetch_site) = text("sec-fetch-site") {
        if !matches!(fetch_site, "same-origin" | "none") {
            return Some(format!("Sec-Fetch-Site is {fetch_site}"));
        }
    }
    let origin = text("origin")?;
    if let Some(expected) = &site.origin {
        return (!origin.eq_ignore_ascii_case(expected)).then(|| format!("Origin {origin} is not {expected}"));
    }
    if text("sec-fetch-site").is_some() {
        return None;
    }
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

/// Checks the site and adds the security headers to every response.
///
/// With a public URL, a request for another `Host` is answered 421 (DNS rebinding reaches
/// nothing); health checks are answered whatever their `Host`.
pub async fn guard(State(site): State<Arc<Site>>, mut req: Request, next: Next) -> Response {
    let nonce = app::identity::ssr::random_hex(16);
    if let Some(expected) = &site.host {
        let path = req.uri().path();
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !host.eq_ignore_ascii_case(expected) && path != "/healthz" && path != "/readyz" {
            let refusal = (
                StatusCode::MISDIRECTED_REQUEST,
                axum::Json(AppError::Forbidden {
                    message: format!("this portal answers as {expected}, not as '{}'", host.escape_default()),
                }),
            );
            return with_headers(refusal.into_response(), &nonce, &site);
        }
    }
    req.extensions_mut().insert(CspNonce(nonce.clone()));
    with_headers(next.run(req).await, &nonce, &site)
}

fn with_headers(mut response: Response, nonce: &str, site: &Site) -> Response {
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
    if site.https {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    response
}

/// Paths anyone may open without signing in.
fn public(path: &str) -> bool {
    path == "/login" || path == "/setup" || path == "/healthz" || path == "/readyz" || path.starts_with("/pkg/")
}

/// The most a request's body may hold, by endpoint; what the API reference allows fits well
/// within (the create form takes up to 500 user lines and 50 tags; a batch up to 500 IDs).
pub fn body_limit(path: &str) -> usize {
    const KIB: usize = 1024;
    match path.trim_start_matches("/api/") {
        "workspaces/create" => 256 * KIB,
        "workspaces/batch"
        | "workspaces/refresh"
        | "approvals/request"
        | "approvals/break-glass"
        | "approvals/pending" => 64 * KIB,
        _ => 16 * KIB,
    }
}

/// Puts the signed-in user in the request's extensions; refuses cross-site writes (recorded in
/// the audit log, as the user whose cookie came along); sends anyone else opening a page to
/// the sign-in page. Before a server function's body is read, refuses (and records) callers
/// the policy table lets call none of its operations, and bodies over its limit. Server
/// functions then decide for themselves (the pipeline and its policy table).
pub async fn identify(State(layers): State<Layers>, session: Session, mut req: Request, next: Next) -> Response {
    let state = &layers.app;
    let path = req.uri().path().to_string();
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if safe && (path.starts_with("/pkg/") || path == "/healthz" || path == "/readyz") {
        return next.run(req).await;
    }
    let identity = match state.portal.identity.identify(&session).await {
        Ok(identity) => identity,
        // The session could not be read (the database is busy or down): neither signed in nor
        // out — ask to try again rather than end the session.
        Err(e) => return e.into_response(),
    };
    if let Some(identity) = identity.clone() {
        req.extensions_mut().insert(identity);
    }
    if !safe {
        if let Some(reason) = cross_site(req.headers(), &layers.site) {
            tracing::warn!(%path, reason = %app::ssr::pipeline::escaped(&reason), "cross-site request refused");
            let (parts, _) = req.into_parts();
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
        if path.starts_with("/api/") {
            req = match before_the_body(state, req).await {
                Ok(req) => req,
                Err(refused) => return refused,
            };
        }
    }
    let page = req.method() == Method::GET && !path.starts_with("/api/");
    match identity {
        Some(_) if page && path == "/login" => {
            let next_page = req
                .uri()
                .query()
                .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("next=")))
                .map(app::url::decode)
                .unwrap_or_default();
            return Redirect::to(&app::identity::ssr::safe_next(&next_page)).into_response();
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
        _ => {}
    }
    next.run(req).await
}

/// What a call of a server function must pass before its body is read: a caller whom the
/// policy table lets call at least one of its operations, and a body within the endpoint's
/// limit. A refusal is recorded with only the endpoint and the body's announced size.
async fn before_the_body(state: &AppState, req: Request) -> Result<Request, Response> {
    let path = req.uri().path().to_string();
    let (parts, body) = req.into_parts();
    let caller = state.portal.pipeline.caller_of(&parts);
    let length = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let rows: Vec<&policy::Entry> = policy::TABLE.iter().filter(|e| e.endpoint == path).collect();
    let op = |rows: &[&policy::Entry]| {
        // One operation names itself; an endpoint of several (a batch) is named by its path.
        let event = match rows {
            [only] => only.event,
            _ => "RefusedRequest",
        };
        let endpoint = rows.first().map(|e| e.endpoint).unwrap_or("invalid-request");
        Operation::portal_write(
            endpoint,
            event,
            serde_json::json!({ "endpoint": path.trim_start_matches("/api/"), "contentLength": length }),
        )
    };
    if !rows.is_empty() && !rows.iter().any(|e| e.rule.allows(caller.role())) {
        let refusal = match caller.role() {
            None => AppError::Unauthorized,
            Some(role) => {
                let needed = rows
                    .iter()
                    .filter_map(|e| e.rule.least_role())
                    .min()
                    .unwrap_or(app::identity::Role::Admin);
                let what = match rows.as_slice() {
                    [only] => only.event.to_string(),
                    _ => path.trim_start_matches("/api/").to_string(),
                };
                AppError::Forbidden {
                    message: format!("{what} needs the {needed} role; you are {role}"),
                }
            }
        };
        return Err(state
            .portal
            .pipeline
            .refuse(&caller, &op(&rows), refusal)
            .await
            .into_response());
    }
    let limit = body_limit(&path);
    if length.is_some_and(|n| n > limit as u64) {
        let refusal = AppError::TooLarge {
            message: format!(
                "the request has {} bytes; this endpoint takes at most {limit}",
                length.unwrap_or_default()
            ),
        };
        return Err(state
            .portal
            .pipeline
            .refuse(&caller, &op(&rows), refusal)
            .await
            .into_response());
    }
    // A body without a length is cut at the limit as it is read.
    let body = axum::body::Body::new(http_body_util::Limited::new(body, limit));
    Ok(Request::from_parts(parts, body))
}

/// A server function whose arguments cannot be read (a field missing, a value of the wrong
/// type) is answered by `server_fn` before its body runs: 500, no sign-in check, no audit
/// record. This turns that answer into the portal's own — 401 when the caller must sign in
/// first, else 400 with the reason — and records the attempt (`Pipeline::refuse_unreadable`).
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
        let any = Site::default();
        assert_eq!(cross_site(&headers(&[("sec-fetch-site", "same-origin")]), &any), None);
        assert_eq!(
            cross_site(
                &headers(&[("origin", "http://portal:3000"), ("host", "portal:3000")]),
                &any
            ),
            None
        );
        assert_eq!(
            cross_site(&headers(&[("host", "portal:3000")]), &any),
            None,
            "curl sends neither"
        );
        assert!(cross_site(&headers(&[("sec-fetch-site", "cross-site")]), &any).is_some());
        assert!(cross_site(&headers(&[("sec-fetch-site", "same-site")]), &any).is_some());
        assert!(cross_site(
            &headers(&[("origin", "https://evil.example"), ("host", "portal:3000")]),
            &any
        )
        .is_some());
        assert!(cross_site(&headers(&[("origin", "null"), ("host", "portal:3000")]), &any).is_some());
    }

    #[test]
    fn with_a_public_url_the_origin_must_be_it_scheme_included() {
        let url = url::Url::parse("https://portal.example.com/").unwrap();
        let site = Site::of(Some(&url));
        assert_eq!(site.host.as_deref(), Some("portal.example.com"));
        let same = headers(&[
            ("origin", "https://portal.example.com"),
            ("sec-fetch-site", "same-origin"),
        ]);
        assert_eq!(cross_site(&same, &site), None);
        // The same host over plain HTTP is another origin.
        let plain = headers(&[("origin", "http://portal.example.com"), ("host", "portal.example.com")]);
        assert!(cross_site(&plain, &site).is_some());
        let rebound = headers(&[
            ("origin", "http://attacker.example:3000"),
            ("host", "attacker.example:3000"),
        ]);
        assert!(cross_site(&rebound, &site).is_some());
    }

    #[test]
    fn every_server_function_has_a_body_limit_that_its_largest_valid_input_fits() {
        // 500 IDs of the longest allowed form, as the batch's JSON.
        let ids: Vec<String> = (0..500).map(|i| format!("ws-{i:0>63}")).collect();
        let batch = serde_json::json!({ "action": "reboot", "ids": ids, "confirm": null }).to_string();
        assert!(batch.len() < body_limit("/api/workspaces/batch"), "{}", batch.len());
        let reason = "r".repeat(2_000);
        let request = serde_json::json!({ "action": "TerminateWorkspaces", "ids": ids, "reason": reason }).to_string();
        assert!(
            request.len() < body_limit("/api/approvals/request"),
            "{}",
            request.len()
        );
        assert!(body_limit("/api/auth/sign-in") >= 4 * 256 + 256);
    }
}
