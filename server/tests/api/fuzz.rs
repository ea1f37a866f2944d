//! Every server function against random, truncated, mistyped, huge and control-character
//! bodies, signed in and not: no 5xx, no panic, and every refused write is in the audit log.

use app::identity::Role;
use app::policy;
use serde_json::{json, Value};

use crate::harness::{test_config, Session, TestPortal};

/// Server functions whose arguments travel as JSON (the rest are forms).
const JSON_ENDPOINTS: &[&str] = &[
    "/api/workspaces/refresh",
    "/api/workspaces/batch",
    "/api/approvals/request",
    "/api/approvals/break-glass",
    "/api/approvals/pending",
];

/// Reading the portal's own data records only refusals of the caller, not bad input.
const READS: &[&str] = &[
    "/api/auth/me",
    "/api/users/list",
    "/api/audit/list",
    "/api/audit/get",
    "/api/approvals/list",
    "/api/approvals/get",
    "/api/approvals/pending",
    "/api/access/list",
    "/api/access/tokens/list",
];

fn text(rng: &mut fastrand::Rng) -> String {
    let len = match rng.u8(..10) {
        0 => 20_000,
        1 => 0,
        _ => rng.usize(1..80),
    };
    (0..len)
        .map(|_| match rng.u8(..8) {
            0 => char::from(rng.u8(0..32)),
            1 => ['\u{202e}', '\u{0}', 'é', '\u{FFFF}', '🦀'][rng.usize(..5)],
            _ => char::from(rng.u8(32..127)),
        })
        .collect()
}

fn scalar(rng: &mut fastrand::Rng) -> Value {
    match rng.u8(..6) {
        0 => json!(rng.i64(..)),
        1 => json!(rng.bool()),
        2 => Value::Null,
        3 => json!([text(rng), 1, null]),
        4 => json!({ "x": text(rng) }),
        _ => json!(text(rng)),
    }
}

/// One hostile body for `endpoint`: (content type, bytes).
fn body(rng: &mut fastrand::Rng, endpoint: &str) -> (&'static str, Vec<u8>) {
    let json_endpoint = JSON_ENDPOINTS.contains(&endpoint);
    let fields = [
        "id",
        "ids",
        "action",
        "confirm",
        "name",
        "password",
        "role",
        "key",
        "value",
        "query[state]",
        "query[page]",
        "event_id",
        "token",
        "form[users]",
        "form[directory_id]",
        "owner",
        "enabled",
        "next",
        "reason",
        "hash",
        "comment",
        "decision",
        "query[tab]",
    ];
    match rng.u8(..5) {
        // Random bytes.
        0 => {
            let len = rng.usize(..3_000);
            let bytes = (0..len).map(|_| rng.u8(..)).collect();
            (
                if json_endpoint {
                    "application/json"
                } else {
                    "application/x-www-form-urlencoded"
                },
                bytes,
            )
        }
        // A plausible body, cut short.
        1 => {
            let full = if json_endpoint {
                json!({ "action": "reboot", "ids": ["ws-abcdefgh1", "ws-abcdefgh2"], "confirm": null }).to_string()
            } else {
                "id=ws-abcdefgh1&name=someone&password=long+enough+password&role=viewer&key=k&value=v".to_string()
            };
            let cut = rng.usize(..full.len());
            (
                if json_endpoint {
                    "application/json"
                } else {
                    "application/x-www-form-urlencoded"
                },
                full.as_bytes()[..cut].to_vec(),
            )
        }
        // Fields of the wrong type (JSON) or every field with hostile text (form).
        _ if json_endpoint => {
            let mut map = serde_json::Map::new();
            for f in fields {
                if rng.bool() {
                    map.insert(f.to_string(), scalar(rng));
                }
            }
            if rng.bool() {
                map.insert(
                    "ids".into(),
                    json!((0..rng.usize(..600)).map(|_| text(rng)).collect::<Vec<_>>()),
                );
            }
            ("application/json", Value::Object(map).to_string().into_bytes())
        }
        _ => {
            let mut pairs: Vec<String> = Vec::new();
            for f in fields {
                if rng.u8(..3) > 0 {
                    pairs.push(format!("{}={}", app::url::encode(f), app::url::encode(&text(rng))));
                }
            }
            ("application/x-www-form-urlencoded", pairs.join("&").into_bytes())
        }
    }
}

async fn records(p: &TestPortal) -> i64 {
    p.settled().await;
    sqlx::query_scalar("SELECT COUNT(*) FROM audit_records")
        .fetch_one(p.db())
        .await
        .unwrap()
}

async fn send(session: &Session, endpoint: &str, content_type: &str, bytes: Vec<u8>) -> (u16, String) {
    let response = session
        .http
        .post(session.url(endpoint))
        .header("content-type", content_type)
        .body(bytes)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default())
}

#[tokio::test]
async fn hostile_bodies_get_a_4xx_and_each_refused_write_is_recorded() {
    let p = TestPortal::start(test_config()).await;
    let admin = p.signed_in("fuzzer", Role::Admin, "fuzz").await;
    let anonymous = p.anonymous("fuzz");
    let mut rng = fastrand::Rng::with_seed(20261202);
    let mut endpoints: Vec<&str> = policy::TABLE
        .iter()
        .map(|e| e.endpoint)
        // The downloads are GETs, not server functions (the matrix and their own tests call them).
        .filter(|e| {
            ![
                app::audit::EXPORT_PATH,
                app::fleet::EXPORT_PATH,
                app::access::EXPORT_PATH,
            ]
            .contains(e)
        })
        .filter(|e| !e.ends_with("auth/sign-out"))
        .collect();
    endpoints.dedup();
    let mut sent = 0;
    for endpoint in &endpoints {
        for round in 0..14 {
            let (content_type, bytes) = body(&mut rng, endpoint);
            let shown = String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).to_string();
            // Signed in: never a 5xx; a refusal of a write is in the log.
            let before = records(&p).await;
            let (status, answer) = send(&admin, endpoint, content_type, bytes.clone()).await;
            assert!(
                status < 500,
                "{endpoint} #{round} as admin: {status} {answer} for {shown:?}"
            );
            if (400..500).contains(&status) && !READS.contains(endpoint) {
                assert!(
                    records(&p).await > before,
                    "{endpoint} #{round}: {status} {answer} unrecorded"
                );
            }
            // Anonymous: never a 5xx either.
            let (status, answer) = send(&anonymous, endpoint, content_type, bytes).await;
            assert!(
                status < 500,
                "{endpoint} #{round} anonymous: {status} {answer} for {shown:?}"
            );
            sent += 2;
        }
    }
    assert!(sent > 500, "{sent}");
    // Still serving, still signed in.
    assert_eq!(admin.form("workspaces/list", &[]).await.status, 200);
}

#[tokio::test]
async fn hostile_deliveries_of_access_events_get_a_4xx_and_each_refusal_is_recorded() {
    let p = TestPortal::start(test_config()).await;
    let admin = p.signed_in("fuzzer", Role::Admin, "fuzz").await;
    let made = admin.form("access/tokens/create", &[("name", "fuzz")]).await;
    let token = made.body["token"].as_str().unwrap().to_string();
    let mut rng = fastrand::Rng::with_seed(20261204);
    let url = p.url(app::access::INGEST_PATH);
    let client = reqwest::Client::new();
    let event = || {
        json!({
            "version": "0", "id": "e-1", "detail-type": "WorkSpaces Access", "source": "aws.workspaces",
            "account": "123456789012", "time": "2018-07-01T17:53:06Z", "region": "us-east-2", "resources": [],
            "detail": { "clientIpAddress": "192.0.2.3", "actionType": "successfulLogin",
                "workspacesClientProductName": "WorkSpaces Desktop client", "loginTime": "2018-07-01T17:52:51.595Z",
                "clientPlatform": "Windows", "directoryId": "d-123456789", "workspaceId": "ws-xyskdga" }
        })
    };
    let keys = ["id", "source", "detail-type", "time", "detail"];
    let detail_keys = [
        "actionType",
        "workspaceId",
        "loginTime",
        "clientIpAddress",
        "directoryId",
        "clientPlatform",
    ];
    for round in 0..150 {
        let bytes: Vec<u8> = match rng.u8(..4) {
            // Random text.
            0 => text(&mut rng).into_bytes(),
            // An event with one field mistyped or replaced.
            1 => {
                let mut e = event();
                e[keys[rng.usize(..keys.len())]] = scalar(&mut rng);
                e.to_string().into_bytes()
            }
            2 => {
                let mut e = event();
                e["detail"][detail_keys[rng.usize(..detail_keys.len())]] = scalar(&mut rng);
                e.to_string().into_bytes()
            }
            // An event cut short.
            _ => {
                let full = Value::Array(vec![event(), scalar(&mut rng)]).to_string().into_bytes();
                full[..rng.usize(1..full.len())].to_vec()
            }
        };
        let shown = String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).to_string();
        let before = records(&p).await;
        let response = client
            .post(&url)
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body(bytes.clone())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let answer = response.text().await.unwrap_or_default();
        assert!(status < 500, "#{round}: {status} {answer} for {shown:?}");
        let refused = (400..500).contains(&status) || answer.contains("\"index\"");
        if refused {
            assert!(records(&p).await > before, "#{round}: {status} {answer} unrecorded");
        }
        // Without the token, never a 5xx either.
        let status = client.post(&url).body(bytes).send().await.unwrap().status().as_u16();
        assert_eq!(status, 401, "#{round}");
    }
}
