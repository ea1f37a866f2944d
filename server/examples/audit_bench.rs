//! Audit log benchmark: fills a log with generated records through the real writer, then
//! measures compound-filter query latency, and the audit log's share of a request's time.
//! Export throughput and memory are measured by `server/bench/audit.sh` with the real binary.
//!
//!   cargo run --release -p server --example audit_bench -- RECORDS DATABASE_URL KEY_FILE

use std::sync::Arc;
use std::time::{Duration, Instant};

use app::audit::ssr::{
    self as audit, record, AuditKey, AuditLog, AuditRecord, AuditSettings, PortalData, UserIdentity,
};
use app::audit::AuditQuery;
use app::audit::Outcome;
use app::ssr::db;
use clap::Parser;
use serde_json::{json, Value};

const EVENTS: &[&str] = &[
    "DescribeWorkspaces",
    "DescribeWorkspaces",
    "DescribeWorkspaces",
    "DescribeTags",
    "DescribeWorkspaceBundles",
    "StartWorkspaces",
    "StopWorkspaces",
    "RebootWorkspaces",
    "CreateTags",
    "ModifyWorkspaceProperties",
    "TerminateWorkspaces",
    "CreateWorkspaces",
];

fn generated(n: u64, start: std::time::SystemTime) -> AuditRecord {
    let mut rng = fastrand::Rng::with_seed(n);
    let event = EVENTS[rng.usize(..EVENTS.len())];
    let read_only = event.starts_with("Describe");
    let ws = format!("ws-{:09}", rng.u32(..20_000));
    let user = format!("admin{:02}", rng.u32(..40));
    let failed = !read_only && rng.u8(..20) == 0;
    let error = rng.u16(..200) == 0;
    // Spread over 90 days, in order.
    let time = start + Duration::from_millis(n * 7_776);
    AuditRecord {
        event_version: record::EVENT_VERSION.into(),
        user_identity: UserIdentity {
            kind: record::IdentityKind::PortalUser,
            principal_id: user.clone(),
            user_name: user,
            portal_role: Some("operator".into()),
            session_id: Some(format!("s-{}", rng.u32(..))),
        },
        event_time: record::utc_text(time),
        event_source: record::WORKSPACES_SOURCE.into(),
        event_name: event.into(),
        aws_region: "us-east-1".into(),
        source_ip_address: format!("10.{}.{}.{}", rng.u8(..4), rng.u8(..), rng.u8(1..255)),
        user_agent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
            .into(),
        request_parameters: json!({ "workspaceIds": [ws] }),
        response_elements: if read_only {
            Value::Null
        } else {
            json!({ "failedRequests": if failed { json!([{ "workspaceId": ws, "errorCode": "InvalidResourceStateException" }]) } else { json!([]) } })
        },
        error_code: error.then(|| "ThrottlingException".into()),
        error_message: error.then(|| "Rate exceeded".into()),
        request_id: Some(record::event_id()),
        event_id: record::event_id(),
        read_only,
        resources: Vec::new(),
        event_type: "AwsApiCall".into(),
        management_event: true,
        recipient_account_id: Some("123456789012".into()),
        event_category: "Management".into(),
        additional_event_data: PortalData {
            outcome: Outcome::Completed,
            portal_action: "bench".into(),
            resource_ids: vec![ws],
            failed_items: usize::from(failed),
            ..Default::default()
        },
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let total: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(1_000_000);
    let url = args
        .get(2)
        .cloned()
        .unwrap_or("sqlite:///tmp/audit-bench/portal.db".into());
    let key_file = args.get(3).cloned().unwrap_or("/tmp/audit-bench/audit.key".into());
    let db = db::open(&url).await.expect("database");
    let key = AuditKey::load_or_create(key_file.as_ref()).expect("key");
    let log = AuditLog::open(db.clone(), AuditSettings::new(key.clone()))
        .await
        .unwrap();

    let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_records")
        .fetch_one(&db)
        .await
        .unwrap();
    if (existing as u64) < total {
        let start = std::time::SystemTime::now() - Duration::from_secs(90 * 86_400);
        let begun = Instant::now();
        let next = Arc::new(std::sync::atomic::AtomicU64::new(existing as u64));
        let mut writers = Vec::new();
        for _ in 0..64 {
            let (log, next) = (log.clone(), next.clone());
            writers.push(tokio::spawn(async move {
                loop {
                    let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if n >= total {
                        return;
                    }
                    log.append(generated(n, start)).await.unwrap();
                }
            }));
        }
        for w in writers {
            w.await.unwrap();
        }
        log.checkpoint().await.unwrap();
        let secs = begun.elapsed().as_secs_f64();
        println!(
            "generated {} records through the audit writer in {secs:.1} s ({:.0} records/s, 64 concurrent writers)",
            total - existing as u64,
            (total - existing as u64) as f64 / secs
        );
    }
    sqlx::query("ANALYZE").execute(&db).await.unwrap();

    // Compound filters, as the audit page sends them.
    let q = |f: &dyn Fn(&mut AuditQuery)| {
        let mut query = AuditQuery::default();
        f(&mut query);
        query
    };
    let cases: Vec<(&str, AuditQuery)> = vec![
        ("newest writes (the default page)", q(&|_| {})),
        ("newest, reads included", q(&|a| a.reads = true)),
        ("event name", q(&|a| a.event = "TerminateWorkspaces".into())),
        (
            "event name + user",
            q(&|a| {
                a.event = "RebootWorkspaces".into();
                a.user = "admin07".into();
            }),
        ),
        (
            "WorkSpace history (resource), reads included",
            q(&|a| {
                a.resource = "ws-000012345".into();
                a.reads = true;
            }),
        ),
        ("errors only", q(&|a| a.errors = true)),
        ("source IP (rare)", q(&|a| a.ip = "10.1.77.200".into())),
        (
            "user + one day + errors only",
            q(&|a| {
                a.user = "admin03".into();
                a.from = record::utc_text(std::time::SystemTime::now() - Duration::from_secs(40 * 86_400));
                a.to = record::utc_text(std::time::SystemTime::now() - Duration::from_secs(39 * 86_400));
                a.errors = true;
            }),
        ),
        (
            "event + time range + reads",
            q(&|a| {
                a.event = "DescribeTags".into();
                a.from = record::utc_text(std::time::SystemTime::now() - Duration::from_secs(10 * 86_400));
                a.to = record::utc_text(std::time::SystemTime::now() - Duration::from_secs(5 * 86_400));
                a.reads = true;
            }),
        ),
    ];
    println!("\ncompound-filter queries on {total} records (page of 50, then the next page by keyset):");
    println!("| filters | p50 | p95 | rows on page 1 |");
    println!("|---|---|---|---|");
    let mut all = Vec::new();
    for (name, query) in &cases {
        let filter = audit::Filter::parse(query).unwrap();
        let mut times = Vec::new();
        let mut rows = 0;
        for _ in 0..40 {
            let t = Instant::now();
            let page = audit::query::list(&db, &filter).await.unwrap();
            times.push(t.elapsed());
            rows = page.items.len();
            if let Some(before) = page.next_before {
                let next = audit::Filter {
                    before: Some(before),
                    ..filter.clone()
                };
                let t = Instant::now();
                audit::query::list(&db, &next).await.unwrap();
                times.push(t.elapsed());
            }
        }
        times.sort();
        println!(
            "| {name} | {} | {} | {rows} |",
            ms(percentile(&times, 0.5)),
            ms(percentile(&times, 0.95))
        );
        all.extend(times);
    }
    all.sort();
    println!(
        "| **all queries** | {} | {} | |",
        ms(percentile(&all, 0.5)),
        ms(percentile(&all, 0.95))
    );

    // The audit log's share of a request, with the portal writing to this big log.
    drop(log);
    let mut config = portal_server::Config::parse_from(["workspaces-portal", "--listen", "127.0.0.1:0"]);
    config.database_url = url.clone();
    config.audit_key_file = key_file.clone().into();
    config.emulator_transition_delay_ms = 100;
    config.inventory_max_calls_per_sec = 1000.0;
    let running = portal_server::start(config).await.unwrap();
    let base = format!("http://{}", running.addr);
    // Signed in as an operator, as a real user would be.
    let password = "benchmark password";
    running
        .portal
        .identity
        .users()
        .create("bench", app::identity::Role::Operator, password)
        .await
        .unwrap();
    let http = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let signed_in = http
        .post(format!("{base}/api/auth/sign-in"))
        .form(&[("name", "bench"), ("password", password)])
        .send()
        .await
        .unwrap();
    assert!(signed_in.status().is_success());
    let list: Value = http
        .post(format!("{base}/api/workspaces/list"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = list["items"][0]["id"].as_str().unwrap().to_string();
    // Each answer says in its Server-Timing header how long the request waited for the audit
    // log (its start stored, its outcome handed over); the client times the whole request.
    fn audit_wait(r: &reqwest::Response) -> Duration {
        let header = r.headers().get("server-timing").expect("a Server-Timing header");
        let ms: f64 = header
            .to_str()
            .unwrap()
            .split(';')
            .find_map(|part| part.strip_prefix("dur="))
            .expect("audit;dur=…")
            .parse()
            .unwrap();
        Duration::from_secs_f64(ms / 1000.0)
    }
    let (mut write_times, mut write_waits, mut read_times, mut read_waits) = (vec![], vec![], vec![], vec![]);
    for n in 0..1000 {
        let t = Instant::now();
        let r = http
            .post(format!("{base}/api/workspaces/tags/set"))
            .form(&[("id", id.as_str()), ("key", "bench"), ("value", &n.to_string())])
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
        write_waits.push(audit_wait(&r));
        r.bytes().await.unwrap();
        write_times.push(t.elapsed());
        let t = Instant::now();
        let r = http
            .post(format!("{base}/api/workspaces/get"))
            .form(&[("id", id.as_str())])
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
        read_waits.push(audit_wait(&r));
        r.bytes().await.unwrap();
        read_times.push(t.elapsed());
    }
    // The audit log's own work for one request, for scale: the start stored, the outcome sealed.
    let mut store_times = Vec::new();
    let start = std::time::SystemTime::now();
    for n in 0..1000 {
        let record = generated(n, start);
        let t = Instant::now();
        let id = running.portal.pipeline.audit().begin(record.clone()).await.unwrap();
        running.portal.pipeline.audit().finish(id, record).await.unwrap();
        running.portal.pipeline.audit().settled().await.unwrap();
        store_times.push(t.elapsed());
    }
    for v in [
        &mut write_times,
        &mut write_waits,
        &mut read_times,
        &mut read_waits,
        &mut store_times,
    ] {
        v.sort();
    }
    let share = |wait: &[Duration], request: &[Duration]| {
        100.0 * percentile(wait, 0.5).as_secs_f64() / percentile(request, 0.5).as_secs_f64()
    };
    println!("\naudit overhead per request (1,000 sequential requests each, embedded emulator):");
    println!(
        "- write (CreateTags): request p50 {} p95 {}; waiting for the audit log p50 {} p95 {} = {:.1} % of the request (p50)",
        ms(percentile(&write_times, 0.5)),
        ms(percentile(&write_times, 0.95)),
        ms(percentile(&write_waits, 0.5)),
        ms(percentile(&write_waits, 0.95)),
        share(&write_waits, &write_times)
    );
    println!(
        "- read (GetWorkspace: 3 AWS calls): request p50 {} p95 {}; waiting for the audit log p50 {} p95 {} = {:.1} % (p50)",
        ms(percentile(&read_times, 0.5)),
        ms(percentile(&read_times, 0.95)),
        ms(percentile(&read_waits, 0.5)),
        ms(percentile(&read_waits, 0.95)),
        share(&read_waits, &read_times)
    );
    println!(
        "- the audit log's whole work for one request (start stored, outcome sealed, off the request's path): p50 {}",
        ms(percentile(&store_times, 0.5))
    );
}
