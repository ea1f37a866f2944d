//! Outgoing webhooks: JSON posted to a configured URL (HTTP or HTTPS, the system's trusted
//! roots) by a task of its own, so that no request waits for a chat server. Each post is tried a
//! few times (at once, after 1 s, 5 s and 30 s) on a network error, a 429 or a 5xx; what finally
//! happened is answered to whoever asked, who records it where a person will see it.

use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

type HttpClient = hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    Full<Bytes>,
>;

/// How a post ended: `Ok` (a 2xx) or why not, in words.
pub type Delivered = Result<(), String>;

struct Delivery {
    body: Value,
    done: oneshot::Sender<Delivered>,
}

/// A webhook: posts are queued (up to 1,024) and sent in order.
#[derive(Clone)]
pub struct Webhook {
    name: &'static str,
    tx: mpsc::Sender<Delivery>,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a secret (chat webhooks do): never printed.
        f.debug_struct("Webhook")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Webhook {
    /// Starts the task that posts to `url` (checked by the configuration: http or https).
    pub fn spawn(name: &'static str, url: String) -> Self {
        let (tx, mut rx) = mpsc::channel::<Delivery>(1024);
        tokio::spawn(async move {
            let client = http_client(name);
            while let Some(delivery) = rx.recv().await {
                let body = delivery.body.to_string();
                let mut last = String::new();
                let mut result = Err(String::new());
                for (attempt, wait) in [0, 1, 5, 30].into_iter().enumerate() {
                    tokio::time::sleep(Duration::from_secs(wait)).await;
                    match post(&client, &url, &body).await {
                        Ok(status) if status < 300 => {
                            result = Ok(());
                            break;
                        }
                        Ok(status) if status < 500 && status != 429 => {
                            last = format!("the webhook answered HTTP {status}");
                            break;
                        }
                        Ok(status) => last = format!("the webhook answered HTTP {status}"),
                        Err(e) => last = e,
                    }
                    tracing::info!(webhook = name, attempt, error = %last, "webhook: will retry");
                }
                if result.is_err() {
                    tracing::warn!(webhook = name, error = %last, "a notification could not be posted to the webhook");
                    result = Err(last);
                }
                let _ = delivery.done.send(result);
            }
        });
        Webhook { name, tx }
    }

    /// Queues `body`; the answer says how its post ended (or that the queue was full).
    pub fn send(&self, body: Value) -> oneshot::Receiver<Delivered> {
        let (done, answer) = oneshot::channel();
        if let Err(mpsc::error::TrySendError::Full(d) | mpsc::error::TrySendError::Closed(d)) =
            self.tx.try_send(Delivery { body, done })
        {
            let _ = d.done.send(Err(
                "too many notifications waiting to be posted: this one was dropped".into()
            ));
        }
        answer
    }
}

/// HTTP and HTTPS (the system's trusted roots), HTTP/1.1; `None` without any trusted root.
fn http_client(name: &str) -> Option<HttpClient> {
    let https = match hyper_rustls::HttpsConnectorBuilder::new().with_native_roots() {
        Ok(builder) => builder.https_or_http().enable_http1().build(),
        Err(e) => {
            tracing::error!(webhook = name, error = %e, "no trusted root certificates: the webhook cannot be posted to");
            return None;
        }
    };
    Some(hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build(https))
}

/// POSTs a JSON body; answers the status, within 10 seconds.
async fn post(client: &Option<HttpClient>, url: &str, body: &str) -> Result<u16, String> {
    let client = client.as_ref().ok_or("no HTTP client (no trusted root certificates)")?;
    let request = hyper::Request::post(url)
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .header(hyper::header::USER_AGENT, "workspaces-portal")
        .body(Full::new(Bytes::from(body.to_string())))
        .map_err(|e| e.to_string())?;
    let answer = tokio::time::timeout(Duration::from_secs(10), client.request(request))
        .await
        .map_err(|_| "no answer within 10 s".to_string())?
        .map_err(|e| format!("could not reach the webhook: {e}"))?;
    let status = answer.status().as_u16();
    // Read (and drop) the body so the connection can be reused.
    let _ = answer.into_body().collect().await;
    Ok(status)
}
