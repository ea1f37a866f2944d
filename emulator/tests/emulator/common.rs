//! Shared set-up: an emulator on a free port, a real `aws-sdk-workspaces` client for it in the
//! protocol under test, and raw requests framed as either protocol frames them.

use std::net::SocketAddr;
use std::time::Duration;

use aws_sdk_workspaces::config::retry::RetryConfig;
use aws_sdk_workspaces::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_workspaces::Client;
use aws_smithy_cbor::protocol::RpcV2CborProtocol;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use workspaces_emulator::{spawn, Config, Emulator, Protocol, Seed, Settings};

pub const SIGNED: (&str, &str) = (
    "Authorization",
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/workspaces/aws4_request",
);

pub struct Harness {
    pub emulator: Emulator,
    pub addr: SocketAddr,
    pub client: Client,
}

pub async fn start(protocol: Protocol, transition_delay_ms: u64, workspaces: usize) -> Harness {
    let emulator = Emulator::new(Config {
        settings: Settings {
            transition_delay: Duration::from_millis(transition_delay_ms),
            ..Settings::default()
        },
        seed: Seed { workspaces },
    });
    let addr = spawn(emulator.clone()).await.expect("emulator starts");
    let client = client(addr, protocol, RetryConfig::disabled());
    Harness { emulator, addr, client }
}

/// A client as an application would build one, pointed at the emulator. The SDK picks AWS
/// JSON 1.1 on its own; RPC v2 CBOR is the protocol the service model lists first, which the
/// SDK speaks when configured with it.
pub fn client(addr: SocketAddr, protocol: Protocol, retry: RetryConfig) -> Client {
    let mut config = aws_sdk_workspaces::Config::builder()
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
        .retry_config(retry);
    if protocol == Protocol::RpcV2Cbor {
        config = config.protocol(RpcV2CborProtocol::new());
    }
    Client::from_conf(config.build())
}

/// An HTTP answer: status, head and body.
pub struct Answer {
    pub status: u16,
    pub head: String,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A header's value; names match whatever their case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (n, value) = line.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }
}

/// A raw HTTP/1.1 exchange, for what an SDK would never send.
pub async fn raw(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Answer {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    let mut bytes = request.into_bytes();
    bytes.extend_from_slice(body);
    stream.write_all(&bytes).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(response.len());
    let head = String::from_utf8_lossy(&response[..split]).into_owned();
    let body = response.get(split + 4..).unwrap_or_default().to_vec();
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    Answer { status, head, body }
}

/// `value` as a request body of `protocol`.
pub fn encode(protocol: Protocol, value: &serde_json::Value) -> Vec<u8> {
    match protocol {
        Protocol::AwsJson1_1 => serde_json::to_vec(value).unwrap(),
        Protocol::RpcV2Cbor => {
            let mut out = Vec::new();
            ciborium::into_writer(value, &mut out).unwrap();
            out
        }
    }
}

/// An answer's body as JSON, whichever protocol it came in (CBOR tags dropped: a timestamp
/// reads as its epoch seconds). Null when the body is not of the protocol.
pub fn decode(protocol: Protocol, body: &[u8]) -> serde_json::Value {
    match protocol {
        Protocol::AwsJson1_1 => serde_json::from_slice(body).unwrap_or(serde_json::Value::Null),
        Protocol::RpcV2Cbor => ciborium::from_reader::<ciborium::Value, _>(body)
            .map(json_of)
            .unwrap_or(serde_json::Value::Null),
    }
}

fn json_of(value: ciborium::Value) -> serde_json::Value {
    use ciborium::Value as C;
    use serde_json::Value as J;
    match value {
        C::Integer(i) => J::from(i64::try_from(i128::from(i)).expect("fits an i64")),
        C::Float(f) => J::from(f),
        C::Text(s) => J::String(s),
        C::Bool(b) => J::Bool(b),
        C::Null => J::Null,
        C::Tag(_, inner) => json_of(*inner),
        C::Array(items) => J::Array(items.into_iter().map(json_of).collect()),
        C::Map(members) => J::Object(
            members
                .into_iter()
                .map(|(k, v)| (k.into_text().expect("text keys"), json_of(v)))
                .collect(),
        ),
        other => panic!("no JSON form for {other:?}"),
    }
}

/// The path and headers `protocol` sends `action` with, signed as an SDK signs.
pub fn framing(protocol: Protocol, action: &str) -> (String, Vec<(&'static str, String)>) {
    let signed = (SIGNED.0, SIGNED.1.to_string());
    match protocol {
        Protocol::AwsJson1_1 => (
            "/".to_string(),
            vec![
                ("Content-Type", "application/x-amz-json-1.1".into()),
                ("X-Amz-Target", format!("WorkspacesService.{action}")),
                signed,
            ],
        ),
        Protocol::RpcV2Cbor => (
            format!("/service/WorkspacesService/operation/{action}"),
            vec![
                ("Content-Type", "application/cbor".into()),
                ("Accept", "application/cbor".into()),
                ("smithy-protocol", "rpc-v2-cbor".into()),
                signed,
            ],
        ),
    }
}

/// Sends `body` (already encoded) to `action` over `protocol`.
pub async fn send(addr: SocketAddr, protocol: Protocol, action: &str, body: &[u8]) -> Answer {
    let (path, headers) = framing(protocol, action);
    let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
    raw(addr, "POST", &path, &headers, body).await
}

/// Calls an action over `protocol` with `body`; returns the status and the answer as JSON.
pub async fn call(
    addr: SocketAddr,
    protocol: Protocol,
    action: &str,
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    let answer = send(addr, protocol, action, &encode(protocol, &body)).await;
    (answer.status, decode(protocol, &answer.body))
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
