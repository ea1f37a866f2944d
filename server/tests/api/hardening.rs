//! What an outsider, a slow client and a careless caller can do: each test here failed before
//! the shared mechanism it exercises was fixed.

use std::time::{Duration, Instant};

use app::identity::Role;
use serde_json::{json, Value};

use crate::harness::{fleet_config, test_config, TestPortal, PASSWORD};

/// The audit records of an operation, straight from the table (after the writer has settled).
async fn stored(p: &TestPortal, event: &str) -> Vec<(String, Option<String>, String)> {
    p.settled().await;
    sqlx::query_as("SELECT user_name, error_code, record FROM audit_records WHERE event_name = ? ORDER BY id")
        .bind(event)
        .fetch_all(p.db())
        .await
        .unwrap()
}

#[tokio::test]
async fn anonymous_calls_are_refused_before_their_body_is_read_and_recorded_small() {
    let p = TestPortal::start(test_config()).await;
    // A create form with 400 users and 40 tags: a few hundred kilobytes of audit parameters, had
    // they been made from it.
    let users: String = (0..400).map(|i| format!("user{i:04}\n")).collect();
    let tags: String = (0..40).map(|i| format!("Tag{i}={}\n", "v".repeat(200))).collect();
    let anonymous = p.anonymous("outsider");
    let asked = Instant::now();
    let answer = anonymous
        .form(
            "workspaces/create",
            &[
                ("form[directory_id]", "d-1234567890"),
                ("form[bundle_id]", "wsb-12345678"),
                ("form[users]", &users),
                ("form[tags]", &tags),
            ],
        )
        .await;
    assert_eq!(answer.status, 401, "{}", answer.body);
    assert!(asked.elapsed() < Duration::from_secs(2));
    let records = stored(&p, "CreateWorkspaces").await;
    assert_eq!(records.len(), 1);
    let (user, code, json) = &records[0];
    assert_eq!((user.as_str(), code.as_deref()), ("anonymous", Some("AccessDenied")));
    assert!(json.len() < 2_000, "the refusal's record is {} bytes", json.len());
    let record: Value = serde_json::from_str(json).unwrap();
    assert_eq!(record["requestParameters"]["endpoint"], "workspaces/create");
    assert!(record["requestParameters"]["contentLength"].as_u64().unwrap() > 10_000);

    // A megabyte of IDs: refused at once, the body unread.
    let ids: Vec<String> = (0..50_000).map(|i| format!("ws-{i:012}")).collect();
    let asked = Instant::now();
    let answer = anonymous.json("workspaces/refresh", json!({ "ids": ids })).await;
    assert_eq!(answer.status, 401);
    assert!(asked.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn bodies_and_lists_have_limits_that_name_what_is_too_large() {
    let p = TestPortal::start(test_config()).await;
    let operator = p.signed_in("olive", Role::Operator, "t").await;
    let ids: Vec<String> = (0..50_000).map(|i| format!("ws-{i:012}")).collect();
    let answer = operator.json("workspaces/refresh", json!({ "ids": ids })).await;
    assert_eq!(answer.status, 413, "{}", answer.body);
    assert_eq!(answer.body["kind"], "too_large");
    let records = stored(&p, "DescribeWorkspaces").await;
    let (_, code, json) = records.last().unwrap();
    assert_eq!(code.as_deref(), Some("RequestTooLarge"));
    assert!(json.len() < 2_000);

    // Within the body limit, a list over the per-field limit is refused naming the field.
    let ids: Vec<String> = (0..501).map(|i| format!("ws-{i:08}")).collect();
    let answer = operator
        .json("workspaces/batch", json!({ "action": "reboot", "ids": ids }))
        .await;
    assert_eq!(
        (answer.status, answer.body["field"].as_str()),
        (400, Some("ids")),
        "{}",
        answer.body
    );
    assert!(answer.body["message"].as_str().unwrap().contains("at most 500"));
    // The refusal keeps the first IDs and a count, not all 501.
    let records = stored(&p, "RebootWorkspaces").await;
    let record: Value = serde_json::from_str(&records.last().unwrap().2).unwrap();
    let kept = record["requestParameters"]["rebootWorkspaceRequests"]
        .as_array()
        .unwrap();
    assert_eq!(kept.len(), 6, "{kept:?}");
    assert_eq!(kept[5]["count"], 501);
}

#[tokio::test]
async fn a_flood_of_anonymous_refusals_is_recorded_a_few_at_a_time() {
    let p = TestPortal::start(test_config()).await;
    let anonymous = p.anonymous("flood");
    for _ in 0..40 {
        assert_eq!(anonymous.form("workspaces/list", &[]).await.status, 401);
    }
    let records = stored(&p, "DescribeWorkspaces").await;
    assert_eq!(
        records.len(),
        10,
        "10 are recorded one by one; the rest are counted into one record a minute"
    );
}

#[tokio::test]
async fn parallel_guesses_are_counted_as_they_start() {
    let p = TestPortal::start(test_config()).await;
    p.add_user("tess", Role::Admin).await;
    let guesses = (0..40).map(|i| {
        let session = p.anonymous("guesser");
        async move { session.sign_in("tess", &format!("wrong password {i}")).await }
    });
    let statuses = futures::future::join_all(guesses).await;
    let checked = statuses.iter().filter(|s| **s == 401).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(checked + refused, 40, "{statuses:?}");
    assert!(
        checked <= 5,
        "{checked} passwords checked at once for one account from one address"
    );
    let failures = stored(&p, "SignIn").await;
    let failed_auth = failures
        .iter()
        .filter(|(_, c, _)| c.as_deref() == Some("FailedAuthentication"))
        .count();
    assert_eq!(failed_auth, checked);
    // A throttled answer says when to come back.
    let answer = p
        .anonymous("guesser")
        .form("auth/sign-in", &[("name", "tess"), ("password", PASSWORD)])
        .await;
    assert_eq!(answer.status, 429);
}

#[tokio::test]
async fn guesses_from_one_address_do_not_lock_the_account_out_elsewhere_and_ipv6_counts_per_64() {
    let mut config = test_config();
    config.trusted_proxies = vec![app::ssr::pipeline::parse_network("127.0.0.1").unwrap()];
    let p = TestPortal::start(config).await;
    p.add_user("ada", Role::Admin).await;
    let from = |address: &'static str, name: &str, password: String| {
        let name = name.to_string();
        let http = reqwest::Client::new();
        let url = p.url("/api/auth/sign-in");
        async move {
            http.post(url)
                .header("x-forwarded-for", address)
                .form(&[("name", name.as_str()), ("password", password.as_str())])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    for i in 0..6 {
        from("203.0.113.1", "ada", format!("guess {i}")).await;
    }
    assert_eq!(
        from("203.0.113.1", "ada", PASSWORD.into()).await,
        429,
        "the guessing address is throttled"
    );
    assert_eq!(
        from("198.51.100.2", "ada", PASSWORD.into()).await,
        200,
        "the owner elsewhere signs in"
    );

    // 20 failures from one IPv6 /64, whatever the address within it, throttle the whole /64.
    for i in 0..20 {
        let address: &'static str = Box::leak(format!("2001:db8:5:6::{:x}", i + 1).into_boxed_str());
        from(address, &format!("nobody{i}"), "x".into()).await;
    }
    assert_eq!(from("2001:db8:5:6:ffff::1", "ada", PASSWORD.into()).await, 429);
    assert_eq!(
        from("2001:db8:5:7::1", "ada", PASSWORD.into()).await,
        200,
        "the next /64 is not"
    );
}

#[tokio::test]
async fn sign_in_follows_only_paths_of_this_site() {
    let p = TestPortal::start(test_config()).await;
    p.add_user("nina", Role::Viewer).await;
    for (next, expected) in [
        ("/workspaces?state=STOPPED", "/workspaces?state=STOPPED"),
        ("/\t/evil.example", "/"),
        ("/%09/x/../..//evil.example", "/"),
        ("https://evil.example/", "/"),
    ] {
        let answer = p
            .anonymous("t")
            .form(
                "auth/sign-in",
                &[("name", "nina"), ("password", PASSWORD), ("next", next)],
            )
            .await;
        assert_eq!((answer.status, answer.body.as_str()), (200, Some(expected)), "{next:?}");
    }
    let redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .unwrap();
    redirect
        .post(p.url("/api/auth/sign-in"))
        .form(&[("name", "nina"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    let page = redirect
        .get(p.url("/login?next=%2F%09%2Fevil.example"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.headers()["location"], "/");
}

#[tokio::test]
async fn a_request_whose_client_goes_away_is_sealed_at_once() {
    let (p, admin) = TestPortal::with_admin(60, 300).await;
    let ids = admin.ids_where(&[]).await;
    // Each RebootWorkspaces call takes 700 ms: the 3-call batch outlasts the client.
    p.fault(r#"{"action":"RebootWorkspaces","latencyMs":700}"#);
    let impatient = reqwest::Client::builder()
        .cookie_store(true)
        .timeout(Duration::from_millis(900))
        .build()
        .unwrap();
    assert_eq!(
        impatient
            .post(p.url("/api/auth/sign-in"))
            .form(&[("name", "admin"), ("password", PASSWORD)])
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let gone = impatient
        .post(p.url("/api/workspaces/batch"))
        .json(&json!({ "action": "reboot", "ids": ids }))
        .send()
        .await;
    assert!(gone.is_err(), "the client gave up");
    // Within seconds the record is sealed, and says what happened.
    let mut sealed = Vec::new();
    for _ in 0..50 {
        sealed = admin.records(&[("event", "RebootWorkspaces"), ("errors", "1")]).await;
        if !sealed.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(sealed.len(), 1, "{sealed:#?}");
    assert_eq!(sealed[0]["outcome"], "unknown");
    assert_eq!(sealed[0]["error_code"], "ClientDisconnected");
    p.settled().await;
    let pending: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_pending")
        .fetch_one(p.db())
        .await
        .unwrap();
    assert_eq!(pending, 0);
}

#[tokio::test]
async fn exports_are_limited_and_slow_readers_hold_no_database_connection() {
    let (p, admin) = TestPortal::with_admin(6, 50).await;
    // Enough records (20 MB) that an export outlasts every buffer between it and a reader that
    // reads nothing.
    let audit = p.running.portal.pipeline.audit();
    let caller = app::ssr::Caller::command_line();
    for _ in 0..10_000 {
        let mut record = app::audit::ssr::AuditRecord::start(
            app::audit::ssr::record::EventKind {
                source: "workspaces.amazonaws.com",
                event_type: "AwsApiCall",
                name: "DescribeWorkspaces",
                action: "test",
                read_only: true,
            },
            caller.identity(),
            "10.0.0.1",
            "test",
            json!({ "filler": "x".repeat(2_000) }),
        );
        record.additional_event_data.outcome = app::audit::Outcome::Completed;
        audit.append(record).await.unwrap();
    }
    let mut readers = Vec::new();
    for n in 0..app::audit::ssr::MAX_EXPORTS {
        let viewer = p.signed_in(&format!("reader{n}"), Role::Viewer, "slow").await;
        let response = viewer
            .http
            .get(p.url("/api/audit/export?format=cloudtrail&reads=1"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        readers.push(response); // never read
    }
    let one_more = p.signed_in("reader-late", Role::Viewer, "slow").await;
    let refused = one_more.get("/api/audit/export?format=csv").await;
    assert_eq!(refused.status, 429, "{}", refused.body);
    // The database still serves everyone else at once.
    let asked = Instant::now();
    assert_eq!(p.anonymous("t").sign_in("reader0", PASSWORD).await, 200);
    assert_eq!(admin.form("audit/list", &[]).await.status, 200);
    assert!(asked.elapsed() < Duration::from_secs(3), "{:?}", asked.elapsed());
    drop(readers);
    // The places are given back once the exports end.
    let mut status = 0;
    for _ in 0..50 {
        status = one_more.get("/api/audit/export?format=csv").await.status;
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_database_error_while_reading_a_session_keeps_the_session() {
    let p = TestPortal::start(test_config()).await;
    let viewer = p.signed_in("vic", Role::Viewer, "t").await;
    sqlx::query("ALTER TABLE users RENAME TO users_away")
        .execute(p.db())
        .await
        .unwrap();
    let answer = viewer.form("workspaces/list", &[]).await;
    assert_eq!(
        (answer.status, answer.body["kind"].as_str()),
        (503, Some("unavailable"))
    );
    sqlx::query("ALTER TABLE users_away RENAME TO users")
        .execute(p.db())
        .await
        .unwrap();
    assert_eq!(viewer.form("workspaces/list", &[]).await.status, 200, "still signed in");
}

#[tokio::test]
async fn readiness_says_little_and_asks_workspaces_at_most_once_per_period() {
    let mut config = fleet_config(3, 50);
    config.readiness_cache_secs = 60;
    let p = TestPortal::start(config).await;
    let anonymous = p.anonymous("probe");
    let before = p.emulator().calls("DescribeWorkspaceDirectories");
    for _ in 0..10 {
        let ready = anonymous.get("/readyz").await;
        assert_eq!(ready.status, 200);
        assert_eq!(ready.body, json!({ "status": "ready", "reason": null }));
    }
    assert!(p.emulator().calls("DescribeWorkspaceDirectories") - before <= 1);

    let p = TestPortal::start(test_config()).await;
    p.fault(r#"{"action":"DescribeWorkspaceDirectories","error":"InternalFailure"}"#);
    let not_ready = p.anonymous("probe").get("/readyz").await;
    assert_eq!(not_ready.status, 503);
    assert_eq!(
        not_ready.body,
        json!({ "status": "not ready", "reason": "workspaces" }),
        "no error text"
    );
}

#[tokio::test]
async fn with_a_public_url_other_hosts_and_origins_are_refused() {
    let mut config = test_config();
    config.public_url = Some("https://portal.example.test/".parse().unwrap());
    let p = TestPortal::start(config).await;
    p.add_user("pat", Role::Operator).await;
    let http = reqwest::Client::new();
    // DNS rebinding: the portal's address under another name.
    let rebound = http.get(p.url("/login")).send().await.unwrap();
    assert_eq!(rebound.status(), 421);
    assert_eq!(
        http.get(p.url("/healthz")).send().await.unwrap().status(),
        200,
        "health checks pass"
    );
    let sign_in = |origin: &'static str| {
        http.post(p.url("/api/auth/sign-in"))
            .header("host", "portal.example.test")
            .header("origin", origin)
            .form(&[("name", "pat"), ("password", PASSWORD)])
            .send()
    };
    assert_eq!(
        sign_in("http://portal.example.test").await.unwrap().status(),
        403,
        "another scheme"
    );
    let ok = sign_in("https://portal.example.test").await.unwrap();
    assert_eq!(ok.status(), 200);
    assert!(ok.headers()["strict-transport-security"]
        .to_str()
        .unwrap()
        .contains("max-age"));
    let cookie = ok.headers()["set-cookie"].to_str().unwrap().to_lowercase();
    assert!(cookie.contains("secure"), "{cookie}");
}

#[tokio::test]
async fn the_embedded_emulator_serves_no_control_endpoints_unless_asked() {
    let p = TestPortal::start(test_config()).await;
    let addr = p.running.emulator_addr.unwrap();
    let control = format!("http://{addr}/_emulator/faults");
    let http = reqwest::Client::new();
    assert_eq!(http.get(&control).send().await.unwrap().status(), 404);
    let mut config = test_config();
    config.emulator_control = true;
    let p = TestPortal::start(config).await;
    let control = format!("http://{}/_emulator/faults", p.running.emulator_addr.unwrap());
    assert_eq!(http.get(&control).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn without_a_record_nobody_signs_in_and_the_command_line_changes_nothing() {
    let p = TestPortal::start(test_config()).await;
    p.add_user("sam", Role::Admin).await;
    sqlx::query("DROP TABLE audit_pending").execute(p.db()).await.unwrap();
    let session = p.anonymous("t");
    let answer = session
        .form("auth/sign-in", &[("name", "sam"), ("password", PASSWORD)])
        .await;
    assert_eq!(answer.status, 503, "{}", answer.body);
    assert_eq!(session.form("workspaces/list", &[]).await.status, 401, "not signed in");
    let add = p
        .cli(&["user", "add", "--name", "newcomer", "--role", "viewer"], PASSWORD)
        .await;
    assert!(!add.status.success());
    let users = p.running.portal.identity.users().list().await.unwrap();
    assert!(users.iter().all(|u| u.name != "newcomer"), "no record, no change");
}
