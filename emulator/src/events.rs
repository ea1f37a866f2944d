//! Delivering the fleet's simulated `WorkSpaces Access` events to a target URL the way an
//! EventBridge API destination does: `POST` with `Authorization: Bearer <token>`, one event per
//! request, at least once (now and then twice), not always in order, retrying 429 and 5xx
//! (honouring `Retry-After`). The history of the last days goes first, in arrays of events.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use serde_json::Value;

use crate::server::Emulator;

type HttpClient = hyper_util::client::legacy::Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

/// Where and how events are delivered.
#[derive(Clone, Debug)]
pub struct EventTarget {
    /// `http://host:port/events/workspaces-access`.
    pub url: String,
    pub token: String,
    /// Days of history delivered first.
    pub history_days: u32,
}

fn epoch_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Posts `body`; retries 429, 5xx and network errors (honouring `Retry-After`) for a while.
/// Answers whether the target took it.
async fn post(client: &HttpClient, target: &EventTarget, body: String) -> bool {
    for attempt in 0..30u32 {
        let request = hyper::Request::post(&target.url)
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .header(hyper::header::AUTHORIZATION, format!("Bearer {}", target.token))
            .header(
                hyper::header::USER_AGENT,
                "workspaces-emulator (EventBridge API destination)",
            )
            .body(Full::new(Bytes::from(body.clone())));
        let Ok(request) = request else { return false };
        let wait = match tokio::time::timeout(Duration::from_secs(10), client.request(request)).await {
            Ok(Ok(answer)) => {
                let status = answer.status().as_u16();
                let retry_after = answer
                    .headers()
                    .get(hyper::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok());
                let _ = answer.into_body().collect().await;
                match status {
                    200..=299 => return true,
                    429 | 500..=599 => Duration::from_secs(retry_after.unwrap_or(1 << attempt.min(5))),
                    _ => {
                        tracing::warn!(status, "the events target refused a delivery (not retried)");
                        return false;
                    }
                }
            }
            _ => Duration::from_secs(1 << attempt.min(5)),
        };
        tokio::time::sleep(wait).await;
    }
    false
}

/// Delivers the fleet's logins to `target` until the task is dropped: first the last days'
/// history (arrays of up to 200 events), then each new login as it happens (checked every few
/// seconds).
pub async fn deliver(emulator: Emulator, target: EventTarget) {
    let client: HttpClient =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http();
    let now = epoch_now();
    let mut from = now - i64::from(target.history_days) * 86_400;
    let history = emulator.read().logins_between(from, now, Instant::now(), false);
    let mut sent = 0usize;
    for chunk in history.chunks(200) {
        let mut chunk = chunk.to_vec();
        fastrand::shuffle(&mut chunk);
        if post(&client, &target, Value::Array(chunk.clone()).to_string()).await {
            sent += chunk.len();
        }
    }
    tracing::info!(events = sent, url = %target.url, "delivered the history of WorkSpaces Access events");
    from = now;
    loop {
        tokio::time::sleep(Duration::from_secs(5)).await;
        let to = epoch_now();
        let mut live = emulator.read().logins_between(from, to, Instant::now(), true);
        from = to;
        // No particular order, and at least once.
        fastrand::shuffle(&mut live);
        for event in live {
            let body = event.to_string();
            post(&client, &target, body.clone()).await;
            if fastrand::u8(..20) == 0 {
                post(&client, &target, body).await;
            }
        }
    }
}
