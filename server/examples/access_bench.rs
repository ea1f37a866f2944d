//! WorkSpaces Access events benchmark, with the release build and the embedded emulator:
//! 1. ingest: events/s stored by the Access service, one delivery after another (so one core
//!    busy at a time) — single events, arrays of 200, and the same arrays again (every event a
//!    duplicate); then over HTTP with 8 concurrent senders;
//! 2. with EVENTS (default 10,000,000) logins stored for 10,000 WorkSpaces over 400 days: p50/p95
//!    of filtered pages of `/access`, of the fleet page sorted by *Last login* and filtered by
//!    *no login for 30 days*, and of the charts over 90 days.
//!
//!   cargo run --release -p server --example access_bench -- [EVENTS]
//!
//! Results: docs/benchmarks.md.

use std::time::{Duration, Instant, SystemTime};

use app::identity::Role;
use clap::Parser;
use portal_server::{start, Config};

mod common;

use common::{Client, PASSWORD};
use serde_json::{json, Value};

const WORKSPACES: usize = 10_000;
const PLATFORMS: &[&str] = &["Windows", "OSX", "Web", "iOS", "Linux", "Android"];

/// A cheap deterministic mix (splitmix64).
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn event(id: &str, workspace: &str, at: SystemTime, ip: &str, platform: &str) -> Value {
    let time = app::audit::ssr::record::utc_text(at);
    json!({
        "version": "0", "id": id, "detail-type": "WorkSpaces Access", "source": "aws.workspaces",
        "account": "123456789012", "time": time, "region": "us-east-1", "resources": [],
        "detail": {
            "clientIpAddress": ip, "actionType": "successfulLogin",
            "workspacesClientProductName": "WorkSpaces Desktop client", "loginTime": time,
            "clientPlatform": platform, "directoryId": "d-906734e5a1", "workspaceId": workspace
        }
    })
}

fn ip_of(h: u64) -> String {
    match h % 10 {
        0..=5 => format!("198.51.100.{}", h % 250 + 2),
        6..=7 => format!("203.0.113.{}", (h >> 8) % 250 + 2),
        8 => format!("100.{}.{}.{}", 64 + (h >> 16) % 64, (h >> 24) % 256, (h >> 8) % 250 + 2),
        _ => format!(
            "2001:db8:{:x}:{:x}::{:x}",
            (h >> 16) % 0xffff,
            (h >> 32) % 0xffff,
            h % 250 + 2
        ),
    }
}

#[tokio::main]
async fn main() {
    let events: u64 = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000_000);
    let dir = std::env::temp_dir().join(format!("access-bench-{}", std::process::id()));
    let mut config = Config::parse_from(["workspaces-portal"]);
    config.listen = ([127, 0, 0, 1], 0).into();
    config.database_url = format!("sqlite://{}/portal.db", dir.display());
    config.audit_key_file = dir.join("audit.key");
    config.emulator_seed_workspaces = Some(WORKSPACES);
    config.emulator_access_events_days = 0;
    let running = start(config).await.expect("the portal starts");
    let base = format!("http://{}", running.addr);
    let portal = running.portal.clone();
    portal
        .identity
        .users()
        .create("ada", Role::Admin, PASSWORD)
        .await
        .unwrap();
    let admin = Client {
        http: reqwest::Client::builder().cookie_store(true).build().unwrap(),
        base: base.clone(),
    };
    assert_eq!(
        admin
            .form("auth/sign-in", &[("name", "ada"), ("password", PASSWORD)])
            .await
            .0,
        200
    );
    let mut fleet: Vec<String> = fleet_users(&portal).await.into_keys().collect();
    fleet.sort();
    println!("{} WorkSpaces in the emulator", fleet.len());
    let made = portal
        .access
        .create_token(&app::ssr::Caller::portal(), "bench")
        .await
        .unwrap();
    let caller = portal
        .access
        .authenticate(&app::ssr::Caller::portal(), Some(&format!("Bearer {}", made.token)))
        .await
        .unwrap();
    for (name, cidr) in [("Office", "198.51.100.0/24"), ("Branch", "203.0.113.0/24")] {
        portal
            .access
            .add_network(&app::ssr::Caller::portal(), name, cidr, "")
            .await
            .unwrap();
    }

    // 1. Ingest, in-process, one delivery after another.
    let now = SystemTime::now();
    let mut n = 0u64;
    let mut next_event = |batch: usize| -> Vec<u8> {
        let values: Vec<Value> = (0..batch)
            .map(|_| {
                n += 1;
                let h = mix(n);
                let ws = &fleet[(h % fleet.len() as u64) as usize];
                let at = now - Duration::from_secs(h % (30 * 86_400));
                event(
                    &format!("bench-{n:012}"),
                    ws,
                    at,
                    &ip_of(h >> 3),
                    PLATFORMS[(h >> 40) as usize % PLATFORMS.len()],
                )
            })
            .collect();
        if batch == 1 {
            values[0].to_string().into_bytes()
        } else {
            Value::Array(values).to_string().into_bytes()
        }
    };
    println!("\n| ingest (in-process, sequential) | deliveries | events | time | events/s |\n|---|---|---|---|---|");
    let singles: Vec<Vec<u8>> = (0..5_000).map(|_| next_event(1)).collect();
    let started = Instant::now();
    for body in &singles {
        assert_eq!(portal.access.ingest(&caller, body).await.unwrap().accepted, 1);
    }
    let took = started.elapsed();
    println!(
        "| one event per delivery | 5,000 | 5,000 | {:.2} s | {:.0} |",
        took.as_secs_f64(),
        5_000.0 / took.as_secs_f64()
    );
    let arrays: Vec<Vec<u8>> = (0..200).map(|_| next_event(200)).collect();
    for (label, expect_new) in [
        ("arrays of 200, new", true),
        ("the same arrays again (all duplicates)", false),
    ] {
        let started = Instant::now();
        for body in &arrays {
            let outcome = portal.access.ingest(&caller, body).await.unwrap();
            assert_eq!(outcome.accepted == 200, expect_new);
        }
        let took = started.elapsed();
        println!(
            "| {label} | 200 | 40,000 | {:.2} s | {:.0} |",
            took.as_secs_f64(),
            40_000.0 / took.as_secs_f64()
        );
    }
    // Over HTTP: 8 senders at once, arrays of 200.
    let http_arrays: Vec<Vec<u8>> = (0..200).map(|_| next_event(200)).collect();
    let started = Instant::now();
    let chunks: Vec<Vec<Vec<u8>>> = http_arrays.chunks(25).map(|c| c.to_vec()).collect();
    let mut tasks = Vec::new();
    for chunk in chunks {
        let (url, token) = (format!("{base}{}", app::access::INGEST_PATH), made.token.clone());
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut retried = 0;
            for body in chunk {
                loop {
                    let status = client
                        .post(&url)
                        .header("authorization", format!("Bearer {token}"))
                        .header("content-type", "application/json")
                        .body(body.clone())
                        .send()
                        .await
                        .unwrap()
                        .status()
                        .as_u16();
                    if status == 200 {
                        break;
                    }
                    assert_eq!(status, 429);
                    retried += 1;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
            retried
        }));
    }
    let mut retried = 0;
    for t in tasks {
        retried += t.await.unwrap();
    }
    let took = started.elapsed();
    println!(
        "| over HTTP, 8 senders at once, arrays of 200 ({retried} answered 429 and retried) | 200 | 40,000 | {:.2} s | {:.0} |",
        took.as_secs_f64(),
        40_000.0 / took.as_secs_f64()
    );

    // 2. Fill the table to EVENTS logins (bulk, indexes built afterwards), over 400 days — once
    // the portal has named the users of the logins above (it writes meanwhile).
    let db = portal.db.clone();
    let waited = Instant::now();
    while portal.access.has_unnamed().await.unwrap() {
        assert!(
            waited.elapsed() < Duration::from_secs(300),
            "the logins' users are named"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let have: i64 = sqlx::query_scalar("SELECT count(*) FROM access_events")
        .fetch_one(&db)
        .await
        .unwrap();
    let to_add = events.saturating_sub(have as u64);
    let started = Instant::now();
    let indexes: Vec<(String,)> = sqlx::query_as(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'access_events' AND sql IS NOT NULL",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    for name in [
        "access_events_login",
        "access_events_workspace",
        "access_events_user",
        "access_events_ip",
        "access_events_unnamed",
    ] {
        sqlx::query(&format!("DROP INDEX IF EXISTS {name}"))
            .execute(&db)
            .await
            .unwrap();
    }
    let users = fleet_users(&portal).await;
    let mut last: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    let mut added = 0u64;
    while added < to_add {
        let mut tx = db.begin().await.unwrap();
        for _ in 0..20 {
            let n = 500.min(to_add - added);
            if n == 0 {
                break;
            }
            let rows: Vec<[String; 6]> = (0..n)
                .map(|_| {
                    added += 1;
                    let h = mix(added ^ 0xACCE55);
                    let ws = fleet[(h % fleet.len() as u64) as usize].clone();
                    let at = app::audit::ssr::record::utc_text(now - Duration::from_secs(h % (400 * 86_400)));
                    let ip = ip_of(h >> 3);
                    let key = app::access::ssr::event::ip_key(ip.parse().unwrap());
                    let entry = last.entry(ws.clone()).or_default();
                    if at > *entry {
                        *entry = at.clone();
                    }
                    let platform = PLATFORMS[(h >> 40) as usize % PLATFORMS.len()].to_string();
                    [format!("fill-{added:012}"), ws, ip, key, platform, at]
                })
                .collect();
            let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
                "INSERT INTO access_events (event_id, workspace_id, directory_id, client_ip, ip_key, platform, product, \
                 login_time, event_time, account, region, user_name, received_at, token_name) ",
            );
            q.push_values(&rows, |mut b, [id, ws, ip, key, platform, at]| {
                b.push_bind(id)
                    .push_bind(ws)
                    .push_bind("d-906734e5a1")
                    .push_bind(ip)
                    .push_bind(key)
                    .push_bind(platform)
                    .push_bind("WorkSpaces Desktop client")
                    .push_bind(at)
                    .push_bind(at)
                    .push_bind("123456789012")
                    .push_bind("us-east-1")
                    .push_bind(users.get(ws).cloned().unwrap_or_default())
                    .push_bind(at)
                    .push_bind("bulk");
            });
            q.build().execute(&mut *tx).await.unwrap();
        }
        tx.commit().await.unwrap();
    }
    let filled = started.elapsed();
    for (sql,) in &indexes {
        let sql = sql.replacen("CREATE INDEX", "CREATE INDEX IF NOT EXISTS", 1);
        sqlx::query(&sql).execute(&db).await.unwrap();
    }
    let mut tx = db.begin().await.unwrap();
    for (ws, at) in &last {
        sqlx::query(
            "INSERT INTO workspace_last_login (workspace_id, login_time, client_ip) VALUES (?, ?, '') \
             ON CONFLICT (workspace_id) DO UPDATE SET login_time = max(login_time, excluded.login_time)",
        )
        .bind(ws)
        .bind(at)
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    // The charts' counts, as the insert of each login keeps them (the fill went around it).
    for sql in [
        "DELETE FROM access_hourly",
        "INSERT INTO access_hourly (hour, platform, logins) \
         SELECT substr(login_time, 1, 13), platform, count(*) FROM access_events GROUP BY 1, 2",
        "DELETE FROM access_daily_networks",
        "INSERT INTO access_daily_networks (day, network, logins) SELECT substr(login_time, 1, 10), \
         CASE WHEN ip_key = '' THEN '' WHEN substr(ip_key, 1, 24) = '00000000000000000000ffff' \
         THEN substr(ip_key, 1, 30) ELSE substr(ip_key, 1, 16) END, count(*) FROM access_events GROUP BY 1, 2",
    ] {
        sqlx::query(sql).execute(&db).await.unwrap();
    }
    sqlx::query("ANALYZE").execute(&db).await.unwrap();
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM access_events")
        .fetch_one(&db)
        .await
        .unwrap();
    println!(
        "\n{total} logins stored ({to_add} added in {:.0} s, indexes built in {:.0} s more)",
        filled.as_secs_f64(),
        (started.elapsed() - filled).as_secs_f64()
    );

    // 3. Reads with that many stored, over HTTP, signed in, sequential.
    let some_ws = fleet[17].clone();
    let some_user = users.get(&some_ws).cloned().unwrap_or_default();
    let ninety = app::audit::ssr::record::utc_text(now - Duration::from_secs(90 * 86_400));
    let ninety = &ninety[..10];
    let week = app::audit::ssr::record::utc_text(now - Duration::from_secs(7 * 86_400));
    let week = &week[..10];
    println!("\n| read ({total} logins) | p50 | p95 | rows |\n|---|---|---|---|");
    admin.timed("logins, newest first", 200, "access/list", &[]).await;
    admin
        .timed(
            "logins of one WorkSpace",
            200,
            "access/list",
            &[("query[workspace]", &some_ws)],
        )
        .await;
    admin
        .timed("logins of one user", 200, "access/list", &[("query[user]", &some_user)])
        .await;
    admin
        .timed(
            "logins from 203.0.113.0/24, Windows, last 7 days",
            200,
            "access/list",
            &[
                ("query[ip]", "203.0.113.0/24"),
                ("query[platform]", "Windows"),
                ("query[from]", week),
            ],
        )
        .await;
    admin
        .timed(
            "logins from 100.64.0.0/10 (one in ten)",
            200,
            "access/list",
            &[("query[ip]", "100.64.0.0/10")],
        )
        .await;
    admin
        .timed(
            &format!("fleet ({WORKSPACES} WorkSpaces) sorted by last login"),
            100,
            "workspaces/list",
            &[("query[sort]", "last_login")],
        )
        .await;
    admin
        .timed(
            "fleet, no login for 30 days",
            100,
            "workspaces/list",
            &[("query[idle]", "30")],
        )
        .await;
    admin
        .timed(
            "charts over the last 90 days",
            10,
            "access/charts",
            &[("query[from]", ninety)],
        )
        .await;
    admin
        .timed(
            "charts over 90 days of one WorkSpace",
            50,
            "access/charts",
            &[("query[from]", ninety), ("query[workspace]", &some_ws)],
        )
        .await;
    admin
        .timed(
            "charts over the last 7 days",
            20,
            "access/charts",
            &[("query[from]", week)],
        )
        .await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// Each WorkSpace's user, once the inventory's first sweep is complete.
async fn fleet_users(portal: &app::ssr::Portal) -> std::collections::HashMap<String, String> {
    loop {
        if let Some(users) = portal.fleet.users().await.unwrap() {
            return users;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
