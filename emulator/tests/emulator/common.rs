//! Shared set-up: an emulator on a free port and a real `aws-sdk-workspaces` client for it.

use std::net::SocketAddr;
use std::time::Duration;

use aws_sdk_workspaces::config::retry::RetryConfig;
use aws_sdk_workspaces::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_workspaces::Client;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use workspaces_emulator::{spawn, Config, Emulator, Seed, Settings};

pub struct Harness {
    pub emulator: Emulator,
    pub addr: SocketAddr,
    pub client: Client,
}

pub async fn start(transition_delay_ms: u64, workspaces: usize) -> Harness {
    let emulator = Emulator::new(Config {
        settings: Settings {
            transition_delay: Duration::from_millis(transition_delay_ms),
            ..Settings::default()
        },
        seed: Seed { workspaces },
    });
    let addr = spawn(emulator.clone()).await.expect("emulator starts");
    let client = client(addr, RetryConfig::disabled());
    Harness { emulator, addr, client }
}

/// A client as an application would build one, pointed at the emulator.
pub fn client(addr: SocketAddr, retry: RetryConfig) -> Client {
    let config = aws_sdk_workspaces::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "AKIDEXAMPLE",
            "not-a-real-secret",
            None,
            None,
            "tests",
        ))
        .endpoint_url(format!("http://{addr}"))
        .retry_config(retry)
        .build();
    Client::from_conf(config)
}

/// A raw HTTP/1.1 exchange, for what an SDK would never send. Returns (status, headers, body).
pub async fn raw(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, head.to_ascii_lowercase(), body.to_string())
}

/// Calls an action with a signed-looking request carrying `body`.
pub async fn call(addr: SocketAddr, action: &str, body: &str) -> (u16, serde_json::Value) {
    let target = format!("WorkspacesService.{action}");
    let (status, _, body) = raw(
        addr,
        "POST",
        "/",
        &[
            ("Content-Type", "application/x-amz-json-1.1"),
            ("X-Amz-Target", &target),
            (
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/workspaces/aws4_request",
            ),
        ],
        body,
    )
    .await;
    (status, serde_json::from_str(&body).unwrap_or(serde_json::Value::Null))
}

/// Polls until `check` holds, for at most 10 s; transitions happen on their own clock.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..200 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for: {what}");
}
