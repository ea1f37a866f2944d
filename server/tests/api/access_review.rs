//! Reviewing the logins: alerts (outside the allowed networks, new networks) raised on arrival
//! and acknowledged, the allowed networks' checks, the fleet's last login and idle filter, the
//! downloads, the charts, and concurrent duplicate deliveries stored exactly once.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

use app::identity::Role;
use serde_json::{json, Value};

use crate::access::{deliver, login, make_token, stored};
use crate::harness::{Session, TestPortal};

/// UTC text of `days` ago (RFC 3339, as events carry it).
fn days_ago(days: u64) -> String {
    app::audit::ssr::record::utc_text(SystemTime::now() - Duration::from_secs(days * 86_400))
}

/// The open alerts as (event id, kind).
async fn open_alerts(session: &Session) -> (u64, BTreeSet<(String, String)>) {
    let page = session.form("access/alerts/list", &[]).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let kinds = page.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["event_id"].as_str().unwrap().to_string(),
                a["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    (page.body["open"].as_u64().unwrap(), kinds)
}

/// Text of a download, with its status and content type.
async fn download(session: &Session, path: &str) -> (u16, String, String) {
    let response = session.http.get(session.url(path)).send().await.unwrap();
    let status = response.status().as_u16();
    let kind = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, kind, response.text().await.unwrap())
}

#[tokio::test]
async fn alerts_are_raised_for_outside_and_new_networks_and_not_for_allowed_ones() {
    let (p, admin) = TestPortal::with_admin(2, 50).await;
    let token = make_token(&admin, "eventbridge").await;
    // The seed's events are of directory d-123456789.
    for (name, cidr, directory) in [
        ("Branch", "203.0.113.0/24", ""),
        ("HQ (its directory only)", "198.51.100.0/24", "d-123456789"),
        ("HQ of another directory", "192.0.2.0/25", "d-000000000"),
    ] {
        let added = admin
            .form(
                "access/networks/add",
                &[("name", name), ("cidr", cidr), ("directory", directory)],
            )
            .await;
        assert_eq!(added.status, 200, "{}", added.body);
    }
    let ws = "ws-abcdefgh1";
    let events = vec![
        // The WorkSpace's first login: allowed, and no habits to differ from yet.
        login("e1", ws, "2026-11-01T09:00:00Z", "203.0.113.5"),
        login("e2", ws, "2026-11-02T09:00:00Z", "203.0.113.9"),
        // Outside every network that applies (192.0.2.0/25 is another directory's), and new.
        login("e3", ws, "2026-11-03T09:00:00Z", "192.0.2.7"),
        // Allowed for its directory, but a /24 the WorkSpace has not used.
        login("e4", ws, "2026-11-04T09:00:00Z", "198.51.100.4"),
        // The same /24 again: nothing.
        login("e5", ws, "2026-11-05T09:00:00Z", "198.51.100.77"),
        // No address: nothing to judge.
        login("e6", ws, "2026-11-05T10:00:00Z", ""),
        // IPv6, allowed nowhere, a new /64.
        login("e7", ws, "2026-11-06T09:00:00Z", "2001:db8:1:2::5"),
        // A month and more after its last login: allowed (HQ, its directory's), and no login in
        // the 30 days before to differ from.
        login("e8", ws, "2026-12-20T09:00:00Z", "198.51.100.8"),
        // An IPv4 address written as IPv6 is that address: the branch's /24, used before.
        login("e9", ws, "2026-11-07T09:00:00Z", "::ffff:203.0.113.7"),
        // Another WorkSpace whose only earlier login had no address: no habits to differ from.
        login("f1", "ws-abcdefgh2", "2026-11-01T09:00:00Z", ""),
        login("f2", "ws-abcdefgh2", "2026-11-02T09:00:00Z", "203.0.113.50"),
    ];
    let (status, answer) = deliver(&p, Some(&token), Value::Array(events.clone()).to_string()).await;
    assert_eq!((status, answer["accepted"].as_u64()), (200, Some(11)), "{answer}");
    let expected: BTreeSet<(String, String)> = [
        ("e3", "outside"),
        ("e3", "new-network"),
        ("e4", "new-network"),
        ("e7", "outside"),
        ("e7", "new-network"),
    ]
    .into_iter()
    .map(|(e, k)| (e.to_string(), k.to_string()))
    .collect();
    assert_eq!(open_alerts(&admin).await, (5, expected.clone()));
    // e8: its WorkSpace has no login in the 30 days before, so no new-network alert either.
    // Delivered again (at least once): no second alert.
    assert_eq!(deliver(&p, Some(&token), Value::Array(events).to_string()).await.0, 200);
    assert_eq!(open_alerts(&admin).await.0, 5);

    // Acknowledging: not a viewer's to do; an operator's, once; recorded.
    let page = admin.form("access/alerts/list", &[]).await.body;
    let first = page["items"][0]["id"].as_i64().unwrap().to_string();
    let viewer = p.signed_in("vera", Role::Viewer, "api-test").await;
    assert_eq!(
        viewer.form("access/alerts/acknowledge", &[("id", &first)]).await.status,
        403
    );
    let operator = p.signed_in("otto", Role::Operator, "api-test").await;
    let done = operator.form("access/alerts/acknowledge", &[("id", &first)]).await;
    assert_eq!(done.status, 200, "{}", done.body);
    let again = operator.form("access/alerts/acknowledge", &[("id", &first)]).await;
    assert_eq!(again.status, 409, "{}", again.body);
    assert!(again.body.to_string().contains("otto"), "{}", again.body);
    assert_eq!(
        operator
            .form("access/alerts/acknowledge", &[("id", "nine")])
            .await
            .status,
        400
    );
    assert_eq!(open_alerts(&admin).await.0, 4);
    let all = admin.form("access/alerts/list", &[("query[all]", "true")]).await.body;
    assert_eq!(all["items"].as_array().unwrap().len(), 5);
    let acknowledged = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"].as_i64().unwrap().to_string() == first)
        .unwrap();
    assert_eq!(acknowledged["acknowledged_by"], "otto");
    let records = admin.records(&[("event", "AcknowledgeAccessAlert")]).await;
    assert_eq!(records.len(), 4, "the refused and the accepted attempts are recorded");
}

#[tokio::test]
async fn allowed_networks_are_checked_named_and_an_admins_to_change() {
    let (p, admin) = TestPortal::with_admin(2, 50).await;
    let add = |name: &'static str, cidr: &'static str, directory: &'static str| {
        let admin = &admin;
        async move {
            admin
                .form(
                    "access/networks/add",
                    &[("name", name), ("cidr", cidr), ("directory", directory)],
                )
                .await
        }
    };
    for (name, cidr, directory, field) in [
        ("", "10.0.0.0/8", "", "name"),
        ("Bad", "10.0.0.0/33", "", "cidr"),
        ("Bad", "the office", "", "cidr"),
        ("Bad", "10.0.0.0/8", "directory-1", "directory"),
    ] {
        let refused = add(name, cidr, directory).await;
        assert_eq!(
            (refused.status, refused.body["field"].as_str()),
            (400, Some(field)),
            "{}",
            refused.body
        );
    }
    // Host bits are dropped: the network is stored as it is meant.
    let made = add("Office", "198.51.100.7/24", "").await;
    assert_eq!(
        (made.status, made.body["cidr"].as_str()),
        (200, Some("198.51.100.0/24"))
    );
    assert_eq!(add("Office again", "198.51.100.0/24", "").await.status, 409);
    assert_eq!(
        add("Office, one directory", "198.51.100.0/24", "domain/d-123456789")
            .await
            .status,
        200
    );
    let listed = admin.form("access/networks/list", &[]).await.body;
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert_eq!(listed[1]["directory_id"], "d-123456789");

    let operator = p.signed_in("otto", Role::Operator, "api-test").await;
    let refused = operator
        .form(
            "access/networks/add",
            &[("name", "x"), ("cidr", "10.0.0.0/8"), ("directory", "")],
        )
        .await;
    assert_eq!(refused.status, 403);
    assert_eq!(operator.form("access/networks/list", &[]).await.status, 200);
    let id = made.body["id"].as_i64().unwrap().to_string();
    assert_eq!(
        operator.form("access/networks/remove", &[("id", &id)]).await.status,
        403
    );
    assert_eq!(admin.form("access/networks/remove", &[("id", &id)]).await.status, 200);
    assert_eq!(admin.form("access/networks/remove", &[("id", &id)]).await.status, 404);
    assert_eq!(
        admin
            .form("access/networks/list", &[])
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn the_fleet_shows_each_last_login_filters_the_unused_and_exports_them() {
    let (p, admin) = TestPortal::with_admin(3, 50).await;
    let token = make_token(&admin, "eventbridge").await;
    let fleet = admin.list(&[]).await;
    let ids: Vec<String> = fleet["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["id"].as_str().unwrap().to_string())
        .collect();
    let (recent, old, never) = (&ids[0], &ids[1], &ids[2]);
    let recent_time = days_ago(1);
    // Out of order: the later login arrives first, and stays the last one.
    for event in [
        login("r2", recent, &recent_time, "203.0.113.5"),
        login("r1", recent, &days_ago(3), "203.0.113.5"),
        login("o1", old, &days_ago(40), "203.0.113.5"),
    ] {
        assert_eq!(deliver(&p, Some(&token), event.to_string()).await.0, 200);
    }
    let last_of = |page: &Value, id: &str| {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["id"] == id)
            .map(|w| w["last_login"].clone())
    };
    let page = admin.list(&[]).await;
    assert_eq!(last_of(&page, recent), Some(json!(recent_time)));
    assert_eq!(last_of(&page, never), Some(Value::Null));
    assert_eq!(admin.ids_where(&[("query[idle]", "never")]).await, vec![never.clone()]);
    let mut idle = admin.ids_where(&[("query[idle]", "30")]).await;
    idle.sort();
    let mut expected = vec![old.clone(), never.clone()];
    expected.sort();
    assert_eq!(idle, expected);
    // Sorted by last login: never first, then the oldest.
    let sorted = admin.ids_where(&[("query[sort]", "last_login")]).await;
    assert_eq!(sorted, vec![never.clone(), old.clone(), recent.clone()]);

    // The export has the page's filters, order and column.
    let (status, kind, csv) = download(&admin, "/api/workspaces/export?sort=last_login&desc=true").await;
    assert_eq!((status, kind.as_str()), (200, "text/csv; charset=utf-8"), "{csv}");
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("workspaceId,userName,state,"), "{csv}");
    assert!(lines[0].ends_with(",lastLogin"));
    assert_eq!(lines.len(), 4, "{csv}");
    assert!(
        lines[1].starts_with(recent.as_str()) && lines[1].ends_with(&recent_time),
        "{csv}"
    );
    assert!(lines[3].starts_with(never.as_str()) && lines[3].ends_with(','), "{csv}");
    let (_, _, unused) = download(&admin, "/api/workspaces/export?idle=never").await;
    assert_eq!(unused.lines().count(), 2, "{unused}");
    // Anonymous: refused.
    let anonymous = p.anonymous("api-test");
    assert_eq!(download(&anonymous, "/api/workspaces/export").await.0, 401);
}

#[tokio::test]
async fn logins_download_as_csv_and_ndjson_and_are_charted() {
    let (p, admin) = TestPortal::with_admin(2, 50).await;
    let token = make_token(&admin, "eventbridge").await;
    let mut events = vec![
        login("c1", "ws-chart0001", "2026-11-02T08:15:00Z", "203.0.113.5"),
        login("c2", "ws-chart0001", "2026-11-02T08:45:00Z", "203.0.113.6"),
        login("c3", "ws-chart0002", "2026-11-04T17:05:00Z", "2001:db8:1:2::5"),
        login("c4", "ws-chart0002", "2026-11-04T17:06:00Z", ""),
    ];
    events[2]["detail"]["clientPlatform"] = json!("OSX");
    // A field that must be quoted in CSV, and a formula that must not run.
    events[3]["detail"]["workspacesClientProductName"] = json!("=HYPERLINK(\"x\"), with a comma");
    assert_eq!(deliver(&p, Some(&token), Value::Array(events).to_string()).await.0, 200);

    let (status, kind, csv) = download(&admin, "/api/access/export?format=csv&from=2026-11-01&to=2026-11-05").await;
    assert_eq!((status, kind.as_str()), (200, "text/csv; charset=utf-8"), "{csv}");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "loginTime,workspaceId,userName,directoryId,clientIpAddress,clientPlatform,clientProductName,eventId,receivedAt");
    assert_eq!(lines.len(), 5, "{csv}");
    assert!(
        lines[1].starts_with("2026-11-04T17:06:00.000Z,ws-chart0002"),
        "newest first: {csv}"
    );
    assert!(lines[1].contains("\"'=HYPERLINK(\"\"x\"\"), with a comma\""), "{csv}");
    let (status, kind, ndjson) = download(&admin, "/api/access/export?format=ndjson&ip=203.0.113.0/24").await;
    assert_eq!((status, kind.as_str()), (200, "application/x-ndjson"));
    let rows: Vec<Value> = ndjson.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.len(), 2, "{ndjson}");
    assert_eq!(rows[0]["eventId"], "c2");
    assert_eq!(rows[1]["clientIpAddress"], "203.0.113.5");
    let (status, _, refused) = download(&admin, "/api/access/export?format=xlsx").await;
    assert_eq!(status, 400);
    assert!(refused.contains("format"), "{refused}");
    let (status, _, refused) = download(&admin, "/api/access/export?format=csv&ip=nowhere").await;
    assert_eq!(status, 400);
    assert!(refused.contains("ip"), "{refused}");

    // The charts count what the search finds, per day and platform, hour and network.
    let charts = admin
        .form(
            "access/charts",
            &[("query[from]", "2026-11-01"), ("query[to]", "2026-11-08")],
        )
        .await;
    assert_eq!(charts.status, 200, "{}", charts.body);
    let c = charts.body;
    assert_eq!(
        (c["first_day"].as_str(), c["last_day"].as_str()),
        (Some("2026-11-01"), Some("2026-11-07"))
    );
    assert_eq!(c["total"], 4);
    assert_eq!(c["platforms"], json!(["Windows", "OSX"]));
    assert_eq!(c["days"].as_array().unwrap().len(), 7);
    assert_eq!(c["days"][1], json!({ "day": "2026-11-02", "counts": [2, 0] }));
    assert_eq!(c["days"][3], json!({ "day": "2026-11-04", "counts": [1, 1] }));
    assert_eq!(
        (c["hours"][8].as_u64(), c["hours"][17].as_u64(), c["hours"][0].as_u64()),
        (Some(2), Some(2), Some(0))
    );
    let networks: Vec<(String, u64)> = c["networks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["network"].as_str().unwrap().to_string(),
                n["logins"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        networks,
        vec![
            ("203.0.113.0/24".to_string(), 2),
            // Ties in address order: no address first.
            ("no address".to_string(), 1),
            ("2001:db8:1:2::/64".to_string(), 1),
        ]
    );
    // The same search read from the logins (a filter every login matches) counts the same as
    // read from the counts kept on arrival.
    let raw = admin
        .form(
            "access/charts",
            &[
                ("query[from]", "2026-11-01"),
                ("query[to]", "2026-11-08"),
                ("query[directory]", "d-123456789"),
            ],
        )
        .await
        .body;
    assert_eq!(raw, c);
    let narrowed = admin
        .form(
            "access/charts",
            &[
                ("query[from]", "2026-11-01"),
                ("query[to]", "2026-11-08"),
                ("query[platform]", "OSX"),
            ],
        )
        .await
        .body;
    assert_eq!(narrowed["total"], 1);
    let backwards = admin
        .form(
            "access/charts",
            &[("query[from]", "2026-11-09"), ("query[to]", "2026-11-08")],
        )
        .await;
    assert_eq!(
        (backwards.status, backwards.body["field"].as_str()),
        (400, Some("from"))
    );
}

/// EventBridge delivers at least once, and retries in parallel: the same events racing in many
/// deliveries at once are stored once, every delivery is answered 200 (or 429 with
/// `Retry-After`, then retried), and the accepted counts add up to the events exactly.
#[tokio::test]
async fn racing_duplicate_deliveries_store_each_event_exactly_once() {
    let (p, admin) = TestPortal::with_admin(2, 50).await;
    let token = make_token(&admin, "eventbridge").await;
    let events: Vec<Value> = (0..300)
        .map(|i| {
            login(
                &format!("race-{i:04}"),
                &format!("ws-race{:05}", i % 40),
                &format!("2026-11-{:02}T{:02}:{:02}:00Z", 1 + i % 28, i % 24, i % 60),
                &format!("198.51.100.{}", i % 250),
            )
        })
        .collect();
    let body = Value::Array(events).to_string();
    let deliveries = 24;
    let mut tasks = Vec::new();
    for _ in 0..deliveries {
        let (url, token, body) = (p.url(app::access::INGEST_PATH), token.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut overloaded = 0;
            loop {
                let response = client
                    .post(&url)
                    .header("authorization", format!("Bearer {token}"))
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await
                    .unwrap();
                match response.status().as_u16() {
                    200 => {
                        let answer: Value = response.json().await.unwrap();
                        return (answer, overloaded);
                    }
                    429 => {
                        assert!(response.headers().contains_key("retry-after"), "429 says when to retry");
                        overloaded += 1;
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    other => panic!("a delivery was answered {other}: {}", response.text().await.unwrap()),
                }
            }
        }));
    }
    let (mut accepted, mut duplicates, mut overloaded) = (0, 0, 0);
    for task in tasks {
        let (answer, refused) = task.await.unwrap();
        accepted += answer["accepted"].as_u64().unwrap();
        duplicates += answer["duplicates"].as_u64().unwrap();
        overloaded += refused;
    }
    assert_eq!(accepted, 300, "each event accepted by exactly one delivery");
    assert_eq!(duplicates, 300 * (deliveries - 1), "and a duplicate in every other");
    assert_eq!(stored(&p).await, 300);
    let last: i64 = sqlx::query_scalar("SELECT count(*) FROM workspace_last_login")
        .fetch_one(p.db())
        .await
        .unwrap();
    assert_eq!(last, 40, "one last login per WorkSpace");
    let counted: (i64, i64) = sqlx::query_as(
        "SELECT (SELECT sum(logins) FROM access_hourly), (SELECT sum(logins) FROM access_daily_networks)",
    )
    .fetch_one(p.db())
    .await
    .unwrap();
    assert_eq!(counted, (300, 300), "the charts' counts hold each event once");
    eprintln!("{overloaded} deliveries were answered 429 and retried");
}

/// `--alert-webhook`: each new alert is posted (JSON with a `text` line); a post the webhook
/// refuses is shown on its alert.
#[tokio::test]
async fn each_new_alert_is_posted_to_the_webhook_and_a_refused_post_is_shown() {
    let (url, mut posted) = crate::approvals::receiver(404).await;
    let mut config = crate::harness::fleet_config(2, 50);
    config.alert_webhook = Some(url.parse().unwrap());
    let p = TestPortal::start(config).await;
    let admin = p.signed_in("admin", Role::Admin, "api-test").await;
    let token = make_token(&admin, "eventbridge").await;
    let added = admin
        .form(
            "access/networks/add",
            &[("name", "Branch"), ("cidr", "203.0.113.0/24"), ("directory", "")],
        )
        .await;
    assert_eq!(added.status, 200);
    let event = login("w1", "ws-hooked001", "2026-11-03T09:00:00Z", "192.0.2.44");
    assert_eq!(deliver(&p, Some(&token), event.to_string()).await.0, 200);
    let body = tokio::time::timeout(Duration::from_secs(5), posted.recv())
        .await
        .expect("the alert is posted")
        .unwrap();
    assert_eq!(body["kind"], "outside");
    assert_eq!(body["workspaceId"], "ws-hooked001");
    assert_eq!(body["clientIpAddress"], "192.0.2.44");
    assert!(body["text"].as_str().unwrap().contains("ws-hooked001"), "{body}");
    // Delivered again: no second alert, no second post.
    assert_eq!(deliver(&p, Some(&token), event.to_string()).await.0, 200);
    let mut shown = Value::Null;
    for _ in 0..100 {
        shown = admin.form("access/alerts/list", &[]).await.body["items"][0]["webhook_error"].clone();
        if !shown.is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(shown.as_str().unwrap_or_default().contains("404"), "{shown}");
    assert!(posted.try_recv().is_err(), "posted once");
}
