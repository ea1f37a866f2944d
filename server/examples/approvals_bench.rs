//! Approvals benchmark, with the release build and the embedded emulator:
//! 1. a request for 500 WorkSpaces (the most one request may hold): the time to ask, and from the
//!    last approval to the request executed, with the calls the emulator received;
//! 2. the approvals list with 100,000 requests stored: p50/p95 of filtered pages.
//!
//!   cargo run --release -p server --example approvals_bench -- [REQUESTS]
//!
//! Results: docs/benchmarks.md.

use std::time::{Duration, Instant};

use app::identity::Role;
use clap::Parser;
use portal_server::{start, Config};
use serde_json::json;

mod common;

use common::{ms, percentile, Client, PASSWORD};

#[tokio::main]
async fn main() {
    let requests: usize = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(100_000);
    let dir = std::env::temp_dir().join(format!("approvals-bench-{}", std::process::id()));
    let mut config = Config::parse_from(["workspaces-portal"]);
    config.listen = ([127, 0, 0, 1], 0).into();
    config.database_url = format!("sqlite://{}/portal.db", dir.display());
    config.audit_key_file = dir.join("audit.key");
    config.emulator_seed_workspaces = Some(600);
    config.emulator_transition_delay_ms = 60_000;
    config.inventory_max_calls_per_sec = 1000.0;
    let running = start(config).await.expect("the portal starts");
    let base = format!("http://{}", running.addr);
    let users = running.portal.identity.users();
    users.create("olivia", Role::Operator, PASSWORD).await.unwrap();
    users.create("aaron", Role::Approver, PASSWORD).await.unwrap();
    let operator = Client::signed_in(&base, "olivia").await;
    let approver = Client::signed_in(&base, "aaron").await;
    let emulator = running.emulator.clone().expect("the embedded emulator");

    // 1. One request for 500 WorkSpaces.
    let mut ids: Vec<String> = Vec::new();
    for page in 1..=3 {
        let page = page.to_string();
        let (_, body) = operator
            .form("workspaces/list", &[("query[per_page]", "200"), ("query[page]", &page)])
            .await;
        ids.extend(
            body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|w| w["id"].as_str().unwrap().to_string()),
        );
    }
    let spare = ids.split_off(500);
    assert_eq!(ids.len(), 500);
    let asked = Instant::now();
    let (status, body) = operator
        .json(
            "approvals/request",
            json!({ "action": "TerminateWorkspaces", "ids": ids, "reason": "benchmark: 500 WorkSpaces at once" }),
        )
        .await;
    let ask_time = asked.elapsed();
    assert_eq!(status, 200, "{body}");
    let id = body["id"].as_str().unwrap().to_string();
    let opened = Instant::now();
    let (_, detail) = approver.form("approvals/get", &[("id", &id)]).await;
    let review_time = opened.elapsed();
    let hash = detail["hash"].as_str().unwrap().to_string();
    let (describes, terminates) = (
        emulator.calls("DescribeWorkspaces"),
        emulator.calls("TerminateWorkspaces"),
    );
    let approved = Instant::now();
    let (status, body) = approver
        .form("approvals/approve", &[("id", &id), ("hash", &hash)])
        .await;
    assert_eq!(status, 200, "{body}");
    let outcome = loop {
        let (_, d) = approver.form("approvals/get", &[("id", &id)]).await;
        if d["summary"]["state"] != "executing" && d["summary"]["state"] != "pending" {
            break d;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let execute_time = approved.elapsed();
    let accepted = outcome["outcome"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["outcome"] == "accepted")
        .count();
    println!("## A request for 500 WorkSpaces");
    println!(
        "- ask (snapshot of 500 WorkSpaces with tags and connection status, frozen, stored): {}",
        ms(ask_time)
    );
    println!(
        "- open the request page's data (snapshot beside a fresh read of all 500): {}",
        ms(review_time)
    );
    println!(
        "- approve → executed: {} ({}; {accepted} of 500 accepted); calls: {} DescribeWorkspaces (re-read), {} TerminateWorkspaces (25 a call)",
        ms(execute_time),
        outcome["summary"]["state"],
        emulator.calls("DescribeWorkspaces") - describes,
        emulator.calls("TerminateWorkspaces") - terminates,
    );

    // 2. The list with `requests` requests stored: copies of a one-WorkSpace request, with 40
    // requesters, five states and a WorkSpace each, spread over a year.
    let (status, body) = operator
        .json(
            "approvals/request",
            json!({ "action": "TerminateWorkspaces", "ids": [spare[0]], "reason": "benchmark: the request copied" }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let id = body["id"].as_str().unwrap().to_string();
    let db = &running.portal.db;
    let filled = Instant::now();
    let states = ["executed", "rejected", "expired", "cancelled", "pending"];
    let mut tx = db.begin().await.unwrap();
    for n in 0..requests {
        let state = states[n % states.len()];
        let requester = format!("user{:02}", n % 40);
        let created = format!("2026-{:02}-{:02}T{:02}:00:00.000Z", 1 + n % 12, 1 + n % 28, n % 24);
        let row: (i64,) = sqlx::query_as(
            "INSERT INTO approval_requests (public_id, action, state, requester_id, requester_name, reason, frozen, \
             frozen_hash, approvals_needed, workspace_count, created_at, expires_at, decided_at, executed_at, outcome) \
             SELECT ?, action, ?, requester_id, ?, reason, frozen, frozen_hash, approvals_needed, 1, ?, '2027-01-01T00:00:00.000Z', \
             decided_at, executed_at, '[]' FROM approval_requests WHERE public_id = ? RETURNING id",
        )
        .bind(format!("apr-{n:016x}"))
        .bind(state)
        .bind(&requester)
        .bind(&created)
        .bind(&id)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
        sqlx::query("INSERT INTO approval_targets (request_id, workspace_id, user_key) VALUES (?, ?, ?)")
            .bind(row.0)
            .bind(format!("ws-{:09}", n % 20_000))
            .bind(format!("person{}", n % 5_000))
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    println!();
    println!(
        "## The approvals list with {requests} requests stored (filled in {:.1} s)",
        filled.elapsed().as_secs_f64()
    );
    let searches: [(&str, Vec<(&str, &str)>); 6] = [
        ("all, newest first", vec![("query[tab]", "all")]),
        (
            "state = executed",
            vec![("query[tab]", "all"), ("query[state]", "executed")],
        ),
        (
            "requester + state",
            vec![
                ("query[tab]", "all"),
                ("query[requester]", "user07"),
                ("query[state]", "expired"),
            ],
        ),
        (
            "requester + a state none of theirs has (every row of theirs read)",
            vec![
                ("query[tab]", "all"),
                ("query[requester]", "user07"),
                ("query[state]", "rejected"),
            ],
        ),
        (
            "one WorkSpace",
            vec![("query[tab]", "all"), ("query[workspace]", "ws-000004711")],
        ),
        ("to review (pending, oldest first)", vec![("query[tab]", "review")]),
    ];
    for (name, args) in searches {
        let mut times = Vec::with_capacity(200);
        let mut shown = 0;
        for _ in 0..200 {
            let t = Instant::now();
            let (status, body) = approver.form("approvals/list", &args).await;
            times.push(t.elapsed());
            assert_eq!(status, 200, "{body}");
            shown = body["items"].as_array().map_or(0, |a| a.len());
        }
        times.sort();
        println!(
            "- {name}: p50 {}, p95 {} ({shown} rows on the page; 200 sequential calls)",
            ms(percentile(&times, 0.5)),
            ms(percentile(&times, 0.95))
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
