//! WorkSpaces Access events: deliveries as EventBridge makes them (an ingest token, one event or
//! an array), each refusal with its status and field, duplicates stored once, the logins'
//! search, the tokens' life, and the import command.

use app::identity::Role;
use serde_json::{json, Value};

use crate::harness::{Session, TestPortal};

/// The seed's example event, exactly.
pub(crate) fn seed_example() -> Value {
    json!({
        "version": "0",
        "id": "64ca0eda-9751-dc55-c41a-1bd50b4fc9b7",
        "detail-type": "WorkSpaces Access",
        "source": "aws.workspaces",
        "account": "123456789012",
        "time": "2018-07-01T17:53:06Z",
        "region": "us-east-2",
        "resources": [],
        "detail": {
            "clientIpAddress": "192.0.2.3",
            "actionType": "successfulLogin",
            "workspacesClientProductName": "WorkSpaces Desktop client",
            "loginTime": "2018-07-01T17:52:51.595Z",
            "clientPlatform": "Windows",
            "directoryId": "d-123456789",
            "workspaceId": "ws-xyskdga"
        }
    })
}

/// A login event of `workspace` at `login_time` from `ip`.
pub(crate) fn login(id: &str, workspace: &str, login_time: &str, ip: &str) -> Value {
    let mut event = seed_example();
    event["id"] = json!(id);
    event["detail"]["workspaceId"] = json!(workspace);
    event["detail"]["loginTime"] = json!(login_time);
    event["detail"]["clientIpAddress"] = json!(ip);
    event
}

/// A delivery to the endpoint, as EventBridge's API destination sends it.
pub(crate) async fn deliver(p: &TestPortal, token: Option<&str>, body: impl Into<reqwest::Body>) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(p.url(app::access::INGEST_PATH))
        .header("content-type", "application/json")
        .body(body);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

pub(crate) async fn make_token(admin: &Session, name: &str) -> String {
    let made = admin.form("access/tokens/create", &[("name", name)]).await;
    assert_eq!(made.status, 200, "{}", made.body);
    made.body["token"].as_str().unwrap().to_string()
}

pub(crate) async fn stored(p: &TestPortal) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM access_events")
        .fetch_one(p.db())
        .await
        .unwrap()
}

/// The logins matching the page's filters (`workspace`, `ip`, …), as the page asks for them.
async fn logins(session: &Session, filters: &[(&str, &str)]) -> Value {
    let args: Vec<(String, String)> = filters
        .iter()
        .map(|(k, v)| (format!("query[{k}]"), v.to_string()))
        .collect();
    let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let page = session.form("access/list", &args).await;
    assert_eq!(page.status, 200, "{}", page.body);
    page.body
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["event_id"].as_str().unwrap().to_string())
        .collect()
}

/// The refusals of deliveries recorded in the audit log: (user, error code, message).
async fn refused_deliveries(p: &TestPortal) -> Vec<(String, String, String)> {
    p.settled().await;
    sqlx::query_as(
        "SELECT user_name, error_code, error_message FROM audit_records WHERE event_name = 'PutAccessEvents' ORDER BY id",
    )
    .fetch_all(p.db())
    .await
    .unwrap()
}

#[tokio::test]
async fn the_seed_example_is_accepted_once_and_searchable() {
    let (p, admin) = TestPortal::with_admin(3, 50).await;
    let token = make_token(&admin, "eventbridge").await;
    let body = seed_example().to_string();
    let (status, answer) = deliver(&p, Some(&token), body.clone()).await;
    assert_eq!(
        (status, &answer),
        (200, &json!({ "accepted": 1, "duplicates": 0, "refused": [] }))
    );
    // At least once: the same event again is accepted, and stored once.
    let (status, answer) = deliver(&p, Some(&token), body).await;
    assert_eq!(
        (status, &answer),
        (200, &json!({ "accepted": 0, "duplicates": 1, "refused": [] }))
    );
    assert_eq!(stored(&p).await, 1);

    let page = logins(&admin, &[]).await;
    let item = &page["items"][0];
    assert_eq!(item["event_id"], "64ca0eda-9751-dc55-c41a-1bd50b4fc9b7");
    assert_eq!(item["workspace_id"], "ws-xyskdga");
    assert_eq!(item["client_ip"], "192.0.2.3");
    assert_eq!(item["platform"], "Windows");
    assert_eq!(item["product"], "WorkSpaces Desktop client");
    assert_eq!(item["login_time"], "2018-07-01T17:52:51.595Z");
    assert_eq!(item["directory_id"], "d-123456789");
    // Each filter finds it, and a filter that does not match leaves it out.
    for (key, hit, miss) in [
        ("workspace", "ws-xyskdga", "ws-other"),
        ("ip", "192.0.2.0/24", "198.51.100.0/24"),
        ("ip", "192.0.2.3", "192.0.2.4"),
        ("directory", "d-123456789", "d-999"),
        ("platform", "Windows", "Linux"),
        ("product", "WorkSpaces Desktop client", "WorkSpaces Web client"),
        ("from", "2018-07-01", "2018-07-02"),
    ] {
        assert_eq!(ids(&logins(&admin, &[(key, hit)]).await).len(), 1, "{key}={hit}");
        assert!(ids(&logins(&admin, &[(key, miss)]).await).is_empty(), "{key}={miss}");
    }
    assert!(ids(&logins(&admin, &[("to", "2018-07-01")]).await).is_empty());
    // A filter that cannot be read names its field.
    let bad = admin.form("access/list", &[("query[ip]", "192.0.2.0/99")]).await;
    assert_eq!(
        (bad.status, bad.body["field"].as_str()),
        (400, Some("ip")),
        "{}",
        bad.body
    );
    // Accepted events are data, not requests: nothing recorded.
    assert!(refused_deliveries(&p).await.is_empty());
}

#[tokio::test]
async fn each_refusal_has_its_status_and_field_stores_nothing_and_is_recorded() {
    let (p, admin) = TestPortal::with_admin(2, 50).await;
    let token = make_token(&admin, "eventbridge").await;
    let mut cases: Vec<(Value, &str)> = Vec::new();
    let mut with = |path: &[&str], value: Value, field: &'static str| {
        let mut event = seed_example();
        match path {
            [key] => event[*key] = value,
            [a, b] => event[*a][*b] = value,
            _ => unreachable!(),
        }
        if event
            .pointer("/detail")
            .is_some_and(|d| d.get("workspaceId") == Some(&Value::Null))
        {
            event["detail"].as_object_mut().unwrap().remove("workspaceId");
        }
        cases.push((event, field));
    };
    with(&["source"], json!("aws.ec2"), "source");
    with(&["detail-type"], json!("WorkSpaces State Change"), "detail-type");
    with(&["id"], json!(""), "id");
    with(&["detail", "actionType"], json!("failedLogin"), "detail.actionType");
    with(&["detail", "workspaceId"], Value::Null, "detail.workspaceId");
    with(&["detail", "loginTime"], json!("last tuesday"), "detail.loginTime");
    with(&["time"], json!("2018-07-01 17:53"), "time");
    for (event, field) in &cases {
        let (status, answer) = deliver(&p, Some(&token), event.to_string()).await;
        assert_eq!(status, 400, "{field}: {answer}");
        assert_eq!(answer["field"], *field, "{answer}");
    }
    let (status, answer) = deliver(&p, Some(&token), "this is not JSON").await;
    assert_eq!((status, answer["field"].as_str()), (400, Some("body")), "{answer}");
    assert!(answer["message"].as_str().unwrap().contains("not JSON"), "{answer}");
    // Over 256 KB: 413, before the events are read.
    let big = format!("[{}]", vec![seed_example().to_string(); 700].join(","));
    assert!(big.len() > 256 * 1024);
    let (status, answer) = deliver(&p, Some(&token), big).await;
    assert_eq!((status, answer["kind"].as_str()), (413, Some("too_large")), "{answer}");
    assert_eq!(stored(&p).await, 0, "a refused delivery stores nothing");

    let recorded = refused_deliveries(&p).await;
    assert_eq!(recorded.len(), cases.len() + 2, "{recorded:?}");
    assert!(
        recorded.iter().all(|(user, _, _)| user == "eventbridge"),
        "{recorded:?}"
    );
    assert!(
        recorded.iter().any(|(_, code, _)| code == "RequestTooLarge"),
        "{recorded:?}"
    );
}

#[tokio::test]
async fn only_a_live_token_may_deliver_and_a_session_is_not_one() {
    let (p, admin) = TestPortal::with_admin(2, 50).await;
    let body = seed_example().to_string();
    let (status, _) = deliver(&p, None, body.clone()).await;
    assert_eq!(status, 401);
    let (status, _) = deliver(&p, Some("wsp_not-a-token"), body.clone()).await;
    assert_eq!(status, 401);
    // An administrator's session cookie does not open the endpoint.
    let response = admin
        .http
        .post(p.url(app::access::INGEST_PATH))
        .header("content-type", "application/json")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);

    let token = make_token(&admin, "eventbridge").await;
    assert!(token.starts_with("wsp_") && token.len() > 40, "{token}");
    // A second live token of the same name is refused.
    let again = admin.form("access/tokens/create", &[("name", "eventbridge")]).await;
    assert_eq!(again.status, 409, "{}", again.body);
    let bad = admin.form("access/tokens/create", &[("name", "two words")]).await;
    assert_eq!((bad.status, bad.body["field"].as_str()), (400, Some("name")));
    assert_eq!(deliver(&p, Some(&token), body.clone()).await.0, 200);
    // Nothing else is reachable with a token.
    let response = reqwest::Client::new()
        .post(p.url("/api/access/list"))
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);

    // Listed without the token, with its last use; revoked, it is refused.
    let listed = admin.form("access/tokens/list", &[]).await;
    assert_eq!(listed.status, 200);
    assert_eq!(listed.body[0]["name"], "eventbridge");
    assert!(listed.body[0]["last_used_at"].is_string(), "{}", listed.body);
    assert!(!listed.body.to_string().contains(&token), "the token is never listed");
    assert_eq!(
        admin
            .form("access/tokens/revoke", &[("name", "eventbridge")])
            .await
            .status,
        200
    );
    assert_eq!(
        admin
            .form("access/tokens/revoke", &[("name", "eventbridge")])
            .await
            .status,
        404
    );
    assert_eq!(deliver(&p, Some(&token), body).await.0, 401);

    // Only administrators manage tokens; token changes are recorded, never the token.
    let operator = p.signed_in("op", Role::Operator, "api-test").await;
    assert_eq!(
        operator.form("access/tokens/create", &[("name", "mine")]).await.status,
        403
    );
    assert_eq!(operator.form("access/tokens/list", &[]).await.status, 403);
    p.settled().await;
    let changes: Vec<(String, Option<String>, String)> = sqlx::query_as(
        "SELECT event_name, error_code, record FROM audit_records \
         WHERE event_name IN ('CreateIngestToken', 'RevokeIngestToken') ORDER BY id",
    )
    .fetch_all(p.db())
    .await
    .unwrap();
    let names: Vec<(&str, Option<&str>)> = changes.iter().map(|(e, c, _)| (e.as_str(), c.as_deref())).collect();
    assert_eq!(
        names,
        [
            ("CreateIngestToken", None),
            ("CreateIngestToken", Some("Conflict")),
            ("CreateIngestToken", Some("ValidationError")),
            ("RevokeIngestToken", None),
            ("RevokeIngestToken", Some("NotFound")),
            ("CreateIngestToken", Some("AccessDenied")),
        ]
    );
    assert!(changes.iter().all(|(_, _, record)| !record.contains(&token)));
    // No token, an unknown one, a session's cookie, a revoked token (the token sent to a
    // server function was refused there, as a caller not signed in).
    let refused = refused_deliveries(&p).await;
    assert_eq!(refused.len(), 4, "{refused:?}");
    assert!(refused
        .iter()
        .all(|(user, code, _)| user == "anonymous" && code == "AccessDenied"));
}

#[tokio::test]
async fn arrays_out_of_order_and_real_world_variants() {
    let (p, admin) = TestPortal::with_admin(2, 50).await;
    let token = make_token(&admin, "replay").await;
    let mut variant = login("e-variant", "ws-abc12345", "2026-11-02T08:00:00Z", "");
    variant["detail"]["directoryId"] = json!("corp.example.com/d-906734a1b2");
    variant["detail"]["clientPlatform"] = json!("Windows ARM64");
    let batch = json!([
        login("e-3", "ws-abc12345", "2026-11-03T09:00:00.250Z", "203.0.113.9"),
        login("e-1", "ws-abc12345", "2026-11-01T09:00:00Z", "198.51.100.7"),
        { "id": "e-bad", "source": "aws.workspaces", "detail-type": "WorkSpaces Access", "detail": { "actionType": "successfulLogin" } },
        variant,
        login("e-1", "ws-abc12345", "2026-11-01T09:00:00Z", "198.51.100.7"),
        "not an event",
    ]);
    let (status, answer) = deliver(&p, Some(&token), batch.to_string()).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        (answer["accepted"].as_u64(), answer["duplicates"].as_u64()),
        (Some(3), Some(1)),
        "{answer}"
    );
    let refused: Vec<(u64, &str)> = answer["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["index"].as_u64().unwrap(), r["field"].as_str().unwrap()))
        .collect();
    assert_eq!(refused, [(2, "detail.workspaceId"), (5, "event")]);
    // Newest first by login time, whatever the order they came in.
    let page = logins(&admin, &[("workspace", "ws-abc12345")]).await;
    assert_eq!(ids(&page), ["e-3", "e-variant", "e-1"]);
    assert_eq!(page["items"][1]["directory_id"], "d-906734a1b2");
    assert_eq!(page["items"][1]["client_ip"], "");
    assert_eq!(page["items"][1]["platform"], "Windows ARM64");
    assert_eq!(
        ids(&logins(&admin, &[("directory", "corp.example.com/d-906734a1b2")]).await),
        ["e-variant"]
    );
    // An address filter leaves out logins without an address.
    assert_eq!(ids(&logins(&admin, &[("ip", "0.0.0.0/0")]).await), ["e-3", "e-1"]);
    // An array with nothing valid is refused whole.
    let (status, answer) = deliver(&p, Some(&token), json!(["x", 1]).to_string()).await;
    assert_eq!((status, answer["field"].as_str()), (400, Some("events")), "{answer}");
    // The partly refused delivery is recorded, with the refused indexes.
    let recorded = refused_deliveries(&p).await;
    assert_eq!(recorded.len(), 2, "{recorded:?}");
    assert!(recorded[0].2.contains("2 of 6 events refused"), "{recorded:?}");
}

#[tokio::test]
async fn logins_are_paged_newest_first_and_named_after_the_workspaces_user() {
    let (p, admin) = TestPortal::with_admin(3, 50).await;
    let token = make_token(&admin, "eventbridge").await;
    let fleet = admin.list(&[]).await;
    let first = &fleet["items"][0];
    let (workspace, user) = (first["id"].as_str().unwrap(), first["user_name"].as_str().unwrap());
    let events: Vec<Value> = (0..120)
        .map(|i| {
            login(
                &format!("e-{i:03}"),
                workspace,
                &format!("2026-11-{:02}T{:02}:{:02}:00Z", 1 + i / 24 % 28, i % 24, i % 60),
                "203.0.113.5",
            )
        })
        .collect();
    assert_eq!(deliver(&p, Some(&token), Value::Array(events).to_string()).await.0, 200);
    let mut seen = Vec::new();
    let mut filters: Vec<(&str, String)> = Vec::new();
    loop {
        let args: Vec<(&str, &str)> = filters.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let page = logins(&admin, &args).await;
        let times: Vec<String> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["login_time"].as_str().unwrap().into())
            .collect();
        assert!(times.len() <= 50);
        seen.extend(times);
        match page["next"].as_str() {
            Some(next) => filters = vec![("before", next.to_string())],
            None => break,
        }
    }
    assert_eq!(seen.len(), 120, "every login once, across pages");
    assert!(seen.windows(2).all(|w| w[0] >= w[1]), "newest first");
    // The user is found from the fleet shortly after the events arrive.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let page = logins(&admin, &[("user", user)]).await;
        if page["items"].as_array().unwrap().len() == 50 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the logins are named after {user}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn tokens_and_imports_from_the_command_line() {
    let (p, admin) = TestPortal::with_admin(2, 50).await;
    let made = p.cli(&["ingest-token", "create", "--name", "eventbridge"], "").await;
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let stdout = String::from_utf8(made.stdout).unwrap();
    let token = stdout.lines().last().unwrap().trim().to_string();
    assert!(token.starts_with("wsp_"), "{stdout}");
    assert_eq!(deliver(&p, Some(&token), seed_example().to_string()).await.0, 200);

    let listed = p.cli(&["ingest-token", "list"], "").await;
    let text = String::from_utf8(listed.stdout).unwrap();
    assert!(text.contains("eventbridge") && !text.contains(&token), "{text}");

    // One event per line, as a CloudWatch Logs export has them; one already stored, one broken.
    let dir = std::env::temp_dir().join(format!("access-import-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("events.ndjson");
    let lines = [
        seed_example().to_string(),
        login("i-1", "ws-abc12345", "2026-10-01T10:00:00Z", "192.0.2.10").to_string(),
        login("i-2", "ws-abc12345", "2026-10-02T10:00:00Z", "192.0.2.11").to_string(),
        "{broken".to_string(),
    ];
    std::fs::write(&file, lines.join("\n")).unwrap();
    let imported = p.cli(&["access", "import", file.to_str().unwrap()], "").await;
    let out = String::from_utf8(imported.stdout).unwrap();
    assert!(out.contains("2 stored, 1 already there, 1 refused"), "{out}");
    assert!(String::from_utf8_lossy(&imported.stderr).contains("#3 (line)"));
    assert_eq!(stored(&p).await, 3);
    assert_eq!(
        ids(&logins(&admin, &[("workspace", "ws-abc12345")]).await),
        ["i-2", "i-1"]
    );

    let revoked = p.cli(&["ingest-token", "revoke", "--name", "eventbridge"], "").await;
    assert!(revoked.status.success());
    assert_eq!(deliver(&p, Some(&token), seed_example().to_string()).await.0, 401);
    let unknown = p.cli(&["ingest-token", "revoke", "--name", "eventbridge"], "").await;
    assert_eq!(unknown.status.code(), Some(2));
}
