//! The inventory: the fleet in the portal's database, kept current by one background sync that
//! sweeps politely, resumes where it stopped, re-reads what the portal changed and what is in
//! transition, and marks what left AWS gone — while pages read only the inventory.

use std::collections::HashMap;
use std::future::Future;
use std::time::{Duration, Instant};

use app::fleet::{FleetQuery, Idle, SyncHealth, Tag, WorkspaceState, WorkspaceSummary};
use app::identity::Role;
use app::url::UrlQuery;
use portal_server::Config;
use serde_json::Value;
use workspaces_emulator::store::BatchAction as Outside;

use crate::access::{deliver, login, make_token};
use crate::harness::{fleet_config, Session, TestPortal};

/// A portal whose sync sweeps the whole fleet only when a test asks for it (`synced`).
fn quiet_config(seed: usize, transition_ms: u64) -> Config {
    let mut config = fleet_config(seed, transition_ms);
    config.inventory_sweep_secs = 3600;
    config
}

async fn started(config: Config) -> (TestPortal, Session) {
    let p = TestPortal::start(config).await;
    let admin = p.signed_in("admin", Role::Admin, "inventory-test").await;
    (p, admin)
}

async fn health(p: &TestPortal) -> SyncHealth {
    p.running.portal.fleet.sync().health().await.expect("sync health")
}

/// Waits (up to 20 s) until `check` holds.
async fn until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check().await {
        assert!(Instant::now() < deadline, "not within 20 s: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["id"].as_str().unwrap().to_string())
        .collect()
}

fn state_in(page: &Value, id: &str) -> Option<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["id"] == id)
        .map(|w| w["state"].as_str().unwrap().to_string())
}

/// Every WorkSpace as the inventory shows it, once none of them is in transition any more.
async fn settled_fleet(admin: &Session) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let page = admin.list(&[("query[per_page]", "200")]).await;
        let settled = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|w| !WorkspaceState::from_api(w["state"].as_str().unwrap()).is_transitional());
        if settled {
            return page;
        }
        assert!(
            Instant::now() < deadline,
            "the fleet did not settle within 20 s: {page}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_sweep_that_meets_throttling_halfway_resumes_where_it_stopped_and_completes() {
    let mut config = quiet_config(130, 20);
    // 100 ms between pages: room to throttle the sweep in its middle.
    config.inventory_max_calls_per_sec = 10.0;
    let (p, admin) = started(config).await;
    settled_fleet(&admin).await;
    let p = &p;
    let sync = p.running.portal.fleet.sync();
    let before = health(p).await;
    let calls_before = p.emulator().calls("DescribeWorkspaces");

    sync.sweep_soon();
    until("the sweep is two pages in", || async move {
        let h = health(p).await;
        h.sweeping && h.sweep_calls >= 2
    })
    .await;
    p.fault(r#"{"action":"DescribeWorkspaces","error":"Throttling","count":3}"#);
    let done = before.completed_sweeps;
    until("the sweep completes", || async move {
        health(p).await.completed_sweeps > done
    })
    .await;

    let after = health(p).await;
    assert_eq!(
        after.errors - before.errors,
        3,
        "each throttled call is counted: {after:?}"
    );
    assert!(
        after.last_error.as_deref().unwrap_or_default().contains("Throttling"),
        "{after:?}"
    );
    assert_eq!(after.last_sweep_calls, Some(6), "130 WorkSpaces are six pages of 25");
    // The emulator counts the requests it answers (a fault refuses one before): six, each
    // page once — the sweep went on from the page it was refused, not from the start.
    assert_eq!(p.emulator().calls("DescribeWorkspaces") - calls_before, 6);
    let page = admin.list(&[("query[per_page]", "200")]).await;
    assert_eq!((page["total"].as_u64(), ids(&page).len()), (Some(130), 130));
    assert_eq!(page["sync"]["completed_sweeps"], after.completed_sweeps);
}

#[tokio::test]
async fn a_write_made_through_the_portal_shows_in_the_next_page_at_once() {
    let (p, admin) = started(quiet_config(30, 2000)).await;
    let sweeps = health(&p).await.completed_sweeps;
    let id = admin
        .ids_where(&[("query[state]", "AVAILABLE"), ("query[mode]", "AUTO_STOP")])
        .await
        .remove(0);

    assert_eq!(admin.batch("stop", &[&id]).await.status, 200);
    let stopping = admin.list(&[("query[state]", "STOPPING")]).await;
    assert_eq!(state_in(&stopping, &id).as_deref(), Some("STOPPING"));

    let tagged = admin
        .form(
            "workspaces/tags/set",
            &[("id", &id), ("key", "Inventory"), ("value", "fresh")],
        )
        .await;
    assert_eq!(tagged.status, 200, "{}", tagged.body);
    let found = admin
        .ids_where(&[("query[tag_key]", "Inventory"), ("query[tag_value]", "fresh")])
        .await;
    assert_eq!(found, vec![id.clone()]);

    let (_, detail) = admin.form("workspaces/get", &[("id", &id)]).await.pair();
    let made = admin
        .form(
            "workspaces/create",
            &[
                (
                    "form[directory_id]",
                    detail["workspace"]["directory_id"].as_str().unwrap(),
                ),
                ("form[bundle_id]", "wsb-92tn3b7gx"),
                ("form[users]", "inventory.new"),
                ("form[running_mode]", "AUTO_STOP"),
                ("form[auto_stop_minutes]", "60"),
            ],
        )
        .await;
    assert_eq!(made.status, 200, "{}", made.body);
    let new_id = made.body["items"][0]["workspace_id"].as_str().unwrap().to_string();
    let listed = admin.list(&[("query[user]", "inventory.new")]).await;
    assert_eq!(ids(&listed), vec![new_id]);
    assert_eq!(listed["fleet_size"], 31);

    assert_eq!(
        health(&p).await.completed_sweeps,
        sweeps,
        "no sweep was needed to show them"
    );
}

#[tokio::test]
async fn a_workspace_terminated_outside_the_portal_is_gone_after_a_sweep_and_kept_for_history() {
    let (p, admin) = started(quiet_config(30, 50)).await;
    let id = admin.ids_where(&[("query[state]", "AVAILABLE")]).await.remove(0);
    // Terminated by someone else (the console, another tool): AWS forgets it soon after.
    let outside = p
        .emulator()
        .write()
        .batch(Outside::Terminate, vec![id.clone()], Instant::now());
    assert!(outside.failed_requests.is_empty());
    let deadline = Instant::now() + Duration::from_secs(20);
    while p.emulator().read().workspace_count(Instant::now()) != 29 {
        assert!(Instant::now() < deadline, "the emulator still holds {id}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Until a sweep, the inventory shows it as last read.
    let page = admin.list(&[("query[per_page]", "200")]).await;
    assert_eq!(state_in(&page, &id).as_deref(), Some("AVAILABLE"));

    p.synced().await;
    let page = admin.list(&[("query[per_page]", "200")]).await;
    assert_eq!(state_in(&page, &id), None, "hidden by default");
    assert_eq!(
        (page["total"].as_u64(), page["fleet_size"].as_u64()),
        (Some(29), Some(29))
    );

    let gone = admin.list(&[("query[gone]", "true")]).await;
    assert_eq!(ids(&gone), vec![id.clone()]);
    assert!(gone["items"][0]["gone_at"].as_str().unwrap().ends_with('Z'), "{gone}");
    let (status, detail) = admin.form("workspaces/get", &[("id", &id)]).await.pair();
    assert_eq!(status, 200, "{detail}");
    assert!(detail["workspace"]["gone_at"].is_string(), "{detail}");
    let overview = admin.form("workspaces/summary", &[]).await.body;
    assert_eq!(overview["total"], 29);
}

#[tokio::test]
async fn workspaces_in_transition_are_reread_until_they_settle_without_a_sweep() {
    let (p, admin) = started(quiet_config(30, 1000)).await;
    let fleet = settled_fleet(&admin).await;
    let available: Vec<String> = fleet["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["state"] == "AVAILABLE")
        .map(|w| w["id"].as_str().unwrap().to_string())
        .collect();
    let (mine, theirs) = (&available[0], &available[1]);
    let admin = &admin;

    // Through the portal: the write's re-read shows the transition, the sync follows it.
    assert_eq!(admin.batch("reboot", &[mine]).await.status, 200);
    let page = admin.list(&[("query[per_page]", "200")]).await;
    assert_eq!(state_in(&page, mine).as_deref(), Some("REBOOTING"));
    let sweeps = health(&p).await.completed_sweeps;
    until("the reboot is seen to end", || async move {
        state_in(&admin.list(&[("query[per_page]", "200")]).await, mine).as_deref() == Some("AVAILABLE")
    })
    .await;
    assert_eq!(
        health(&p).await.completed_sweeps,
        sweeps,
        "re-read by ID, not by a sweep"
    );

    // Outside the portal: a sweep finds it in transition, the re-reads follow it to its end.
    p.emulator()
        .write()
        .batch(Outside::Reboot, vec![theirs.clone()], Instant::now());
    p.synced().await;
    let page = admin.list(&[("query[per_page]", "200")]).await;
    assert_eq!(state_in(&page, theirs).as_deref(), Some("REBOOTING"));
    let sweeps = health(&p).await.completed_sweeps;
    until("the outside reboot is seen to end", || async move {
        state_in(&admin.list(&[("query[per_page]", "200")]).await, theirs).as_deref() == Some("AVAILABLE")
    })
    .await;
    assert_eq!(health(&p).await.completed_sweeps, sweeps);
}

#[tokio::test]
async fn faults_slow_the_sync_down_without_losing_rows_or_failing_pages() {
    let mut config = quiet_config(130, 20);
    config.inventory_max_calls_per_sec = 50.0;
    let (p, admin) = started(config).await;
    let before = health(&p).await.completed_sweeps;
    let errors_before = health(&p).await.errors;
    p.fault(r#"{"action":"DescribeWorkspaces","error":"Throttling","rate":0.3}"#);
    p.fault(r#"{"error":"InternalFailure","rate":0.2}"#);
    p.fault(r#"{"latencyMs":300}"#);
    p.running.portal.fleet.sync().sweep_soon();
    // While the sync struggles, every page answers, with every WorkSpace.
    let mut pages = 0;
    until("a sweep completes through the faults", || {
        pages += 1;
        let admin = &admin;
        let p = &p;
        async move {
            let (status, page) = admin
                .form("workspaces/list", &[("query[per_page]", "200")])
                .await
                .pair();
            assert_eq!((status, page["total"].as_u64()), (200, Some(130)), "{page}");
            let (status, overview) = admin.form("workspaces/summary", &[]).await.pair();
            assert_eq!((status, overview["total"].as_u64()), (200, Some(130)), "{overview}");
            health(p).await.completed_sweeps > before
        }
    })
    .await;
    let after = health(&p).await;
    assert!(after.errors > errors_before, "the faults were met: {after:?}");
    assert!(pages > 1);
    p.emulator().faults().clear();
    let page = admin.list(&[("query[per_page]", "200")]).await;
    assert_eq!(ids(&page).len(), 130, "no row lost");
    let overview = admin.form("workspaces/summary", &[]).await.body;
    assert!(
        overview["sync"]["errors"].as_u64().unwrap() > 0,
        "the overview shows the errors"
    );
    assert!(overview["sync"]["calls_last_minute"].as_u64().unwrap() > 6);
}

/// The fleet as the old full walk read it: every DescribeWorkspaces page, mapped as the portal
/// maps them, with each WorkSpace's tags and last login.
async fn full_walk(p: &TestPortal) -> (Vec<WorkspaceSummary>, HashMap<String, Vec<Tag>>) {
    let portal = &p.running.portal;
    let catalog = portal.catalog.index().await.unwrap();
    let mut pages = portal.workspaces.describe_workspaces().into_paginator().send();
    let mut fleet = Vec::new();
    while let Some(page) = pages.next().await {
        fleet.extend(
            page.unwrap()
                .workspaces()
                .iter()
                .map(|w| app::ssr::workspaces::workspace(w, &catalog)),
        );
    }
    let last: HashMap<String, String> =
        sqlx::query_as::<_, (String, String)>("SELECT workspace_id, login_time FROM workspace_last_login")
            .fetch_all(p.db())
            .await
            .unwrap()
            .into_iter()
            .collect();
    let mut tags = HashMap::new();
    for w in &mut fleet {
        w.last_login = last.get(w.id.as_str()).cloned();
        let found = portal
            .workspaces
            .describe_tags()
            .resource_id(w.id.as_str())
            .send()
            .await
            .unwrap();
        tags.insert(
            w.id.as_str().to_string(),
            found.tag_list().iter().map(app::ssr::workspaces::tag).collect(),
        );
    }
    (fleet, tags)
}

/// What the old in-memory filter and sort made of the walk: (IDs of the page, total).
fn walked_page(fleet: &[WorkspaceSummary], tags: &HashMap<String, Vec<Tag>>, q: &FleetQuery) -> (Vec<String>, usize) {
    let user = q.user.to_lowercase();
    let now = time::OffsetDateTime::now_utc();
    let mut rows: Vec<&WorkspaceSummary> = fleet
        .iter()
        .filter(|w| q.state.as_ref().is_none_or(|s| w.state == *s))
        .filter(|w| q.directory.is_empty() || w.directory_id.as_str() == q.directory)
        .filter(|w| q.bundle.is_empty() || w.bundle_id.as_str() == q.bundle)
        .filter(|w| q.mode.as_ref().is_none_or(|m| w.running_mode == *m))
        .filter(|w| user.is_empty() || w.user_name.to_lowercase().contains(&user))
        .filter(|w| match (q.idle, &w.last_login) {
            (None, _) | (Some(_), None) => true,
            (Some(Idle::Never), Some(_)) => false,
            (Some(Idle::Days(days)), Some(last)) => {
                let last = time::OffsetDateTime::parse(last, &time::format_description::well_known::Rfc3339).unwrap();
                now - last > time::Duration::days(i64::from(days))
            }
        })
        .filter(|w| {
            (q.tag_key.is_empty() && q.tag_value.is_empty())
                || tags[w.id.as_str()].iter().any(|t| {
                    (q.tag_key.is_empty() || t.key == q.tag_key) && (q.tag_value.is_empty() || t.value == q.tag_value)
                })
        })
        .collect();
    rows.sort_by_cached_key(|w| (q.sort.key(w), w.id.clone()));
    if q.desc {
        rows.reverse();
    }
    let total = rows.len();
    let page: Vec<String> = rows
        .into_iter()
        .skip((q.page - 1) * q.per_page)
        .take(q.per_page)
        .map(|w| w.id.as_str().to_string())
        .collect();
    (page, total)
}

#[tokio::test]
async fn pages_are_the_rows_and_order_the_full_walk_gave_on_the_same_fleet() {
    let (p, admin) = started(quiet_config(130, 60_000)).await;
    // A few logins, so that the last-login sort and the idle filter have something to order.
    let token = make_token(&admin, "inventory").await;
    let first = ids(&admin.list(&[("query[per_page]", "10")]).await);
    for (n, (id, days)) in first.iter().zip([1u64, 3, 40, 90, 2]).enumerate() {
        let at = time::OffsetDateTime::now_utc() - time::Duration::days(days as i64);
        let at = at.format(&time::format_description::well_known::Rfc3339).unwrap();
        let event = login(&format!("inv-{n}"), id, &at, "203.0.113.9");
        assert_eq!(deliver(&p, Some(&token), event.to_string()).await.0, 200);
    }
    let (fleet, tags) = full_walk(&p).await;
    assert_eq!(fleet.len(), 130);
    let directory = fleet[0].directory_id.as_str().to_string();
    let bundle = fleet[3].bundle_id.as_str().to_string();

    let mut searches: Vec<Vec<(&str, String)>> = vec![
        vec![],
        vec![("state", "AVAILABLE".into())],
        vec![("state", "STOPPED".into()), ("sort", "user".into())],
        vec![
            ("mode", "ALWAYS_ON".into()),
            ("sort", "ip".into()),
            ("desc", "true".into()),
        ],
        vec![("user", "USER00".into())],
        vec![("directory", directory), ("sort", "bundle".into())],
        vec![("bundle", bundle), ("sort", "computer".into()), ("desc", "true".into())],
        vec![("tag_key", "Department".into()), ("tag_value", "Finance".into())],
        vec![("tag_key", "Project".into()), ("sort", "directory".into())],
        vec![("tag_value", "Engineering".into()), ("sort", "mode".into())],
        vec![("idle", "never".into()), ("sort", "last_login".into())],
        vec![
            ("idle", "30".into()),
            ("sort", "last_login".into()),
            ("desc", "true".into()),
        ],
        vec![
            ("sort", "user".into()),
            ("desc", "true".into()),
            ("page", "2".into()),
            ("per_page", "25".into()),
        ],
        vec![
            ("sort", "state".into()),
            ("page", "3".into()),
            ("per_page", "25".into()),
        ],
    ];
    for column in [
        "id",
        "user",
        "state",
        "directory",
        "bundle",
        "mode",
        "ip",
        "computer",
        "last_login",
    ] {
        for desc in ["", "true"] {
            searches.push(vec![
                ("sort", column.into()),
                ("desc", desc.into()),
                ("per_page", "200".into()),
            ]);
        }
    }
    for search in searches {
        let query = FleetQuery::from_pairs(search.iter().map(|(k, v)| (*k, v.as_str())));
        let (want, want_total) = walked_page(&fleet, &tags, &query);
        let args: Vec<(String, String)> = search.iter().map(|(k, v)| (format!("query[{k}]"), v.clone())).collect();
        let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let page = admin.list(&args).await;
        assert_eq!(page["total"].as_u64(), Some(want_total as u64), "total of {search:?}");
        assert_eq!(ids(&page), want, "rows and order of {search:?}");
        assert!(
            want_total > 0 || search.iter().any(|(k, _)| *k == "idle"),
            "{search:?} matches something"
        );
    }
}
