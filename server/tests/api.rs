//! The real portal on port 0 with the embedded emulator, driven over HTTP as a browser or a
//! script would: every server function, its errors, and per-item outcomes.

mod common;

use std::collections::HashSet;

use app::auth::Role;

use portal_server::{start, Config, Running};
use serde_json::{json, Value};

struct Portal {
    running: Running,
    http: reqwest::Client,
}

impl Portal {
    async fn start(seed: usize, transition_ms: u64) -> Self {
        let mut config = Config::for_tests();
        config.emulator_seed_workspaces = Some(seed);
        config.emulator_transition_delay_ms = transition_ms;
        config.fleet_cache_ms = 0;
        let running = start(config).await.expect("the portal starts");
        let http = common::signed_in(&running, "admin", Role::Admin, "api-test").await;
        Portal { running, http }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.running.addr)
    }

    /// A server function with form-encoded arguments (the default encoding).
    async fn form(&self, endpoint: &str, args: &[(&str, &str)]) -> (u16, Value) {
        let body: String = args
            .iter()
            .map(|(k, v)| format!("{}={}", app::workspaces::urlencode(k), app::workspaces::urlencode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let response = self
            .http
            .post(self.url(&format!("/api/{endpoint}")))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// A server function with JSON arguments.
    async fn json(&self, endpoint: &str, args: Value) -> (u16, Value) {
        let response = self
            .http
            .post(self.url(&format!("/api/{endpoint}")))
            .json(&args)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn list(&self, args: &[(&str, &str)]) -> Value {
        let (status, page) = self.form("workspaces/list", args).await;
        assert_eq!(status, 200, "{page}");
        page
    }

    async fn ids_where(&self, args: &[(&str, &str)]) -> Vec<String> {
        let mut all = vec![("query[per_page]", "200")];
        all.extend_from_slice(args);
        let page = self.list(&all).await;
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["id"].as_str().unwrap().to_string())
            .collect()
    }

    async fn state_of(&self, id: &str) -> String {
        let (_, rows) = self.json("workspaces/refresh", json!({ "ids": [id] })).await;
        rows[0]["state"].as_str().unwrap_or("GONE").to_string()
    }
}

fn assert_field_error(found: (u16, Value), field: &str) {
    assert_eq!(found.0, 400, "{}", found.1);
    assert_eq!(found.1["kind"], "validation", "{}", found.1);
    assert_eq!(found.1["field"], field, "{}", found.1);
    assert!(found.1["message"].as_str().is_some_and(|m| !m.is_empty()));
}

#[tokio::test]
async fn health_and_readiness() {
    let p = Portal::start(5, 1000).await;
    let health = p.http.get(p.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
    let ready: Value = p.http.get(p.url("/readyz")).send().await.unwrap().json().await.unwrap();
    assert_eq!(ready["status"], "ready");
    // Readiness follows the WorkSpaces endpoint.
    p.running
        .emulator
        .as_ref()
        .unwrap()
        .faults()
        .add(serde_json::from_str(r#"{"action":"DescribeWorkspaceDirectories","error":"ServiceUnavailable"}"#).unwrap())
        .unwrap();
    let not_ready = p.http.get(p.url("/readyz")).send().await.unwrap();
    assert_eq!(not_ready.status().as_u16(), 503);
}

#[tokio::test]
async fn the_whole_fleet_is_listed_not_only_the_first_api_page() {
    let p = Portal::start(130, 1000).await;
    let page = p.list(&[("query[per_page]", "200")]).await;
    assert_eq!(page["total"], 130);
    assert_eq!(page["items"].as_array().unwrap().len(), 130);

    let mut seen = HashSet::new();
    for n in 1..=6 {
        let page = p
            .list(&[("query[per_page]", "25"), ("query[page]", &n.to_string())])
            .await;
        assert_eq!(page["pages"], 6);
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|w| w["id"].as_str().unwrap().to_string()),
        );
    }
    assert_eq!(seen.len(), 130, "six pages of 25 cover all 130 WorkSpaces once");
    // Rows carry the joined bundle and directory names.
    let first = &page["items"][0];
    assert!(
        first["bundle_name"].is_string() && first["directory_alias"].is_string(),
        "{first}"
    );
}

#[tokio::test]
async fn filters_and_sort_apply_over_the_whole_fleet() {
    let p = Portal::start(130, 1000).await;
    let stopped = p.list(&[("query[state]", "STOPPED"), ("query[per_page]", "200")]).await;
    let rows = stopped["items"].as_array().unwrap();
    assert!(rows.len() > 10);
    assert!(rows.iter().all(|w| w["state"] == "STOPPED"));
    assert_eq!(stopped["fleet_size"], 130);

    let always_on = p
        .list(&[("query[mode]", "ALWAYS_ON"), ("query[per_page]", "200")])
        .await;
    assert!(always_on["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|w| w["running_mode"] == "ALWAYS_ON"));

    let users = p.list(&[("query[user]", "USER0001"), ("query[per_page]", "200")]).await;
    let names: Vec<&str> = users["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["user_name"].as_str().unwrap())
        .collect();
    assert!(
        !names.is_empty() && names.iter().all(|n| n.contains("user0001")),
        "{names:?}"
    );

    let finance = p
        .list(&[
            ("query[tag_key]", "Department"),
            ("query[tag_value]", "Finance"),
            ("query[per_page]", "200"),
        ])
        .await;
    let finance_ids: Vec<&str> = finance["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["id"].as_str().unwrap())
        .collect();
    assert_eq!(finance_ids.len(), 26, "every fifth seeded WorkSpace is in Finance");
    let (_, detail) = p.form("workspaces/get", &[("id", finance_ids[0])]).await;
    assert!(detail["tags"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["key"] == "Department" && t["value"] == "Finance"));

    let sorted = p
        .list(&[
            ("query[sort]", "user"),
            ("query[desc]", "true"),
            ("query[per_page]", "200"),
        ])
        .await;
    let names: Vec<String> = sorted["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["user_name"].as_str().unwrap().to_lowercase())
        .collect();
    let mut expected = names.clone();
    expected.sort();
    expected.reverse();
    assert_eq!(names, expected);
}

#[tokio::test]
async fn detail_and_its_errors() {
    let p = Portal::start(10, 1000).await;
    let id = p.ids_where(&[]).await.remove(0);
    let (status, detail) = p.form("workspaces/get", &[("id", &id)]).await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["workspace"]["id"], id.as_str());
    assert!(!detail["tags"].as_array().unwrap().is_empty());
    assert!(detail["connection"]["state"].is_string());
    assert!(detail["connection"]["checked_at"].as_str().unwrap().ends_with('Z'));

    assert_field_error(p.form("workspaces/get", &[("id", "not-an-id")]).await, "id");
    let (status, missing) = p.form("workspaces/get", &[("id", "ws-00000none")]).await;
    assert_eq!(
        (status, missing["kind"].as_str()),
        (404, Some("not_found")),
        "{missing}"
    );
}

#[tokio::test]
async fn batch_actions_report_each_workspace() {
    let p = Portal::start(40, 300).await;
    let available = p
        .ids_where(&[("query[state]", "AVAILABLE"), ("query[mode]", "AUTO_STOP")])
        .await;
    let stopped = p.ids_where(&[("query[state]", "STOPPED")]).await;
    let (status, outcome) = p
        .json(
            "workspaces/batch",
            json!({ "action": "stop", "ids": [available[0], stopped[0], "ws-00000none"], "confirm": null }),
        )
        .await;
    assert_eq!(status, 200, "{outcome}");
    let items = outcome["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0]["error_code"], Value::Null);
    assert_eq!(items[1]["error_code"], "InvalidResourceStateException");
    assert_eq!(items[2]["error_code"], "ResourceNotFoundException");
    assert!(items[1]["error_message"].as_str().unwrap().contains("STOPPED"));

    assert_eq!(p.state_of(&available[0]).await, "STOPPING");
    for _ in 0..100 {
        if p.state_of(&available[0]).await == "STOPPED" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(p.state_of(&available[0]).await, "STOPPED");

    // Bad input: the ID at fault is named; nothing is sent.
    assert_field_error(
        p.json(
            "workspaces/batch",
            json!({ "action": "reboot", "ids": [available[1], "bad"], "confirm": null }),
        )
        .await,
        "ids[1]",
    );
    assert_field_error(
        p.json(
            "workspaces/batch",
            json!({ "action": "reboot", "ids": [], "confirm": null }),
        )
        .await,
        "ids",
    );
    assert_eq!(p.state_of(&available[1]).await, "AVAILABLE");
}

#[tokio::test]
async fn batches_larger_than_the_api_limit_are_split() {
    let p = Portal::start(60, 1000).await;
    let all = p.ids_where(&[]).await;
    assert_eq!(all.len(), 60);
    let (status, outcome) = p
        .json(
            "workspaces/batch",
            json!({ "action": "reboot", "ids": all, "confirm": null }),
        )
        .await;
    assert_eq!(status, 200);
    let items = outcome["items"].as_array().unwrap();
    assert_eq!(items.len(), 60, "every WorkSpace has its own outcome");
    let accepted = items.iter().filter(|i| i["error_code"].is_null()).count();
    let rebootable = items.len()
        - items
            .iter()
            .filter(|i| i["error_code"] == "InvalidResourceStateException")
            .count();
    assert_eq!(accepted, rebootable);
    assert!(accepted > 30, "{accepted}");
}

#[tokio::test]
async fn destructive_actions_need_their_confirmation_word() {
    let p = Portal::start(10, 1000).await;
    let id = p.ids_where(&[("query[state]", "AVAILABLE")]).await.remove(0);
    let found = p
        .json(
            "workspaces/batch",
            json!({ "action": "terminate", "ids": [id], "confirm": "yes" }),
        )
        .await;
    assert_field_error(found, "confirm");
    assert_eq!(p.state_of(&id).await, "AVAILABLE", "nothing happened");
    let (status, outcome) = p
        .json(
            "workspaces/batch",
            json!({ "action": "terminate", "ids": [id], "confirm": "terminate" }),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(outcome["items"][0]["error_code"], Value::Null);
    assert_eq!(p.state_of(&id).await, "TERMINATING");
}

#[tokio::test]
async fn aws_error_codes_pass_through() {
    let p = Portal::start(40, 1000).await;
    let id = p
        .ids_where(&[("query[state]", "AVAILABLE"), ("query[mode]", "AUTO_STOP")])
        .await
        .remove(0);
    let modify = |mode: &'static str| {
        let id = id.clone();
        let p = &p;
        async move {
            p.form(
                "workspaces/modify",
                &[("id", &id), ("running_mode", mode), ("auto_stop_minutes", "")],
            )
            .await
        }
    };
    assert_eq!(modify("ALWAYS_ON").await.0, 200);
    let (status, busy) = modify("AUTO_STOP").await;
    assert_eq!(status, 502);
    assert_eq!(
        (busy["kind"].as_str(), busy["code"].as_str()),
        (Some("upstream"), Some("OperationInProgressException"))
    );

    // Throttling that outlasts the SDK's retries reaches the user as Throttling.
    p.running
        .emulator
        .as_ref()
        .unwrap()
        .faults()
        .add(serde_json::from_str(r#"{"action":"DescribeTags","error":"Throttling","count":10}"#).unwrap())
        .unwrap();
    let (status, throttled) = p.form("workspaces/get", &[("id", &id)]).await;
    assert_eq!(status, 429, "{throttled}");
    assert_eq!(throttled["code"], "Throttling");

    assert_field_error(
        p.form(
            "workspaces/modify",
            &[("id", &id), ("running_mode", "AUTO_STOP"), ("auto_stop_minutes", "90")],
        )
        .await,
        "auto_stop_minutes",
    );
    assert_field_error(
        p.form(
            "workspaces/modify",
            &[("id", &id), ("running_mode", "SOMETIMES"), ("auto_stop_minutes", "")],
        )
        .await,
        "running_mode",
    );
}

#[tokio::test]
async fn server_side_failures_of_workspaces_pass_through_without_internals() {
    let p = Portal::start(5, 1000).await;
    p.running
        .emulator
        .as_ref()
        .unwrap()
        .faults()
        .add(serde_json::from_str(r#"{"action":"DescribeWorkspaces","error":"InternalFailure"}"#).unwrap())
        .unwrap();
    let (status, error) = p.form("workspaces/list", &[]).await;
    assert_eq!(status, 502, "{error}");
    assert_eq!(error["code"], "InternalFailure");
    assert!(
        !error.to_string().contains("127.0.0.1"),
        "no endpoint details leak: {error}"
    );
}

#[tokio::test]
async fn create_reports_each_user() {
    let p = Portal::start(10, 300).await;
    let (_, existing) = p.form("workspaces/get", &[("id", &p.ids_where(&[]).await[0])]).await;
    let directory = existing["workspace"]["directory_id"].as_str().unwrap().to_string();
    let taken = existing["workspace"]["user_name"].as_str().unwrap().to_string();
    let users = format!("new.one\n\n{taken}\nnew.two\nNEW.ONE\n");
    let (status, outcome) = p
        .form(
            "workspaces/create",
            &[
                ("form[directory_id]", &directory),
                ("form[bundle_id]", "wsb-92tn3b7gx"),
                ("form[users]", &users),
                ("form[running_mode]", "AUTO_STOP"),
                ("form[auto_stop_minutes]", "120"),
                ("form[tags]", "Team=QA\nCost=42"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{outcome}");
    let items = outcome["items"].as_array().unwrap();
    let summary: Vec<(&str, bool)> = items
        .iter()
        .map(|i| (i["user_name"].as_str().unwrap(), i["workspace_id"].is_string()))
        .collect();
    assert_eq!(
        summary,
        vec![("new.one", true), (taken.as_str(), false), ("new.two", true)],
        "blank and duplicate lines dropped"
    );
    assert_eq!(items[1]["error_code"], "ResourceAlreadyExistsException");

    let id = items[0]["workspace_id"].as_str().unwrap();
    let (_, created) = p.form("workspaces/get", &[("id", id)]).await;
    assert_eq!(created["workspace"]["auto_stop_minutes"], 120);
    assert_eq!(created["tags"].as_array().unwrap().len(), 2);

    let bad = p
        .form(
            "workspaces/create",
            &[
                ("form[directory_id]", &directory),
                ("form[bundle_id]", "wsb-92tn3b7gx"),
                ("form[users]", "\n"),
            ],
        )
        .await;
    assert_field_error(bad, "users");
    let bad = p
        .form(
            "workspaces/create",
            &[
                ("form[directory_id]", &directory),
                ("form[bundle_id]", "wsb-92tn3b7gx"),
                ("form[users]", "x"),
                ("form[root_volume_encrypted]", "on"),
            ],
        )
        .await;
    assert_field_error(bad, "volume_encryption_key");
}

#[tokio::test]
async fn tags_can_be_set_changed_and_deleted() {
    let p = Portal::start(5, 1000).await;
    let id = p.ids_where(&[]).await.remove(0);
    let tags = |detail: &Value| -> Vec<(String, String)> {
        detail["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| (t["key"].as_str().unwrap().into(), t["value"].as_str().unwrap().into()))
            .collect()
    };
    assert_eq!(
        p.form(
            "workspaces/tags/set",
            &[("id", &id), ("key", "Owner"), ("value", "alice")]
        )
        .await
        .0,
        200
    );
    assert_eq!(
        p.form(
            "workspaces/tags/set",
            &[("id", &id), ("key", "Owner"), ("value", "bob")]
        )
        .await
        .0,
        200
    );
    let (_, detail) = p.form("workspaces/get", &[("id", &id)]).await;
    let owners: Vec<_> = tags(&detail).into_iter().filter(|(k, _)| k == "Owner").collect();
    assert_eq!(owners, vec![("Owner".to_string(), "bob".to_string())]);

    assert_eq!(
        p.form("workspaces/tags/delete", &[("id", &id), ("key", "Owner")])
            .await
            .0,
        200
    );
    let (_, detail) = p.form("workspaces/get", &[("id", &id)]).await;
    assert!(tags(&detail).iter().all(|(k, _)| k != "Owner"));

    assert_field_error(
        p.form(
            "workspaces/tags/set",
            &[("id", &id), ("key", "aws:team"), ("value", "x")],
        )
        .await,
        "tag.key",
    );
    assert_field_error(
        p.form(
            "workspaces/tags/set",
            &[("id", &id), ("key", "k"), ("value", &"v".repeat(256))],
        )
        .await,
        "tag.value",
    );
}

#[tokio::test]
async fn bundles_directories_and_overview() {
    let p = Portal::start(40, 1000).await;
    let (status, amazon) = p.form("bundles/list", &[("owner", "amazon")]).await;
    assert_eq!(status, 200);
    assert!(amazon.as_array().unwrap().iter().all(|b| b["owner"] == "AMAZON"));
    let (_, own) = p.form("bundles/list", &[("owner", "account")]).await;
    assert!(!own.as_array().unwrap().is_empty());
    assert!(own.as_array().unwrap().iter().all(|b| b["owner"] == "123456789012"));

    let (_, dirs) = p.form("directories/list", &[]).await;
    let dirs = dirs.as_array().unwrap();
    assert_eq!(dirs.len(), 3);
    let counted: u64 = dirs.iter().map(|d| d["workspace_count"].as_u64().unwrap()).sum();
    assert_eq!(counted, 40);
    assert!(dirs.iter().any(|d| d["state"] == "ERROR"));

    let (_, overview) = p.form("workspaces/summary", &[]).await;
    assert_eq!(overview["total"], 40);
    let by_state: u64 = overview["by_state"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["count"].as_u64().unwrap())
        .sum();
    assert_eq!(by_state, 40);
    assert!(overview["attention"]
        .as_array()
        .unwrap()
        .iter()
        .all(|w| ["ERROR", "IMPAIRED", "UNHEALTHY"].contains(&w["state"].as_str().unwrap())));
}

#[tokio::test]
async fn pages_render_on_the_server() {
    let p = Portal::start(40, 1000).await;
    for (path, needle) in [
        ("/", "Fleet overview"),
        ("/workspaces?state=STOPPED", "STOPPED"),
        ("/bundles", "Bundles"),
        ("/directories", "example-corp"),
        ("/workspaces/new", "Create WorkSpaces"),
    ] {
        let response = p.http.get(p.url(path)).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200, "{path}");
        let html = response.text().await.unwrap();
        assert!(html.contains(needle), "{path} lacks {needle}");
    }
    let missing = p.http.get(p.url("/no/such/page")).send().await.unwrap();
    assert_eq!(missing.status().as_u16(), 404);
}

#[tokio::test]
async fn the_fleet_cache_serves_the_last_walk_and_refreshes_in_the_background() {
    let mut config = Config::for_tests();
    config.emulator_seed_workspaces = Some(30);
    config.fleet_cache_ms = 300;
    let running = start(config).await.unwrap();
    let http = common::signed_in(&running, "admin", Role::Admin, "api-test").await;
    let p = Portal { running, http };
    let state_in_list = |page: &Value, id: &str| -> String {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["id"] == id)
            .map(|w| w["state"].as_str().unwrap().to_string())
            .unwrap_or_default()
    };
    let ids = p
        .ids_where(&[("query[state]", "AVAILABLE"), ("query[mode]", "ALWAYS_ON")])
        .await;
    let (outside, inside) = (ids[0].clone(), ids[1].clone());

    // A change made outside the portal (another admin, the AWS console)...
    let emulator = p.running.emulator.as_ref().unwrap();
    emulator
        .write()
        .force_state(
            &outside,
            workspaces_emulator::model::WorkspaceState::Impaired,
            std::time::Instant::now(),
        )
        .unwrap();
    let page = p.list(&[("query[per_page]", "200")]).await;
    assert_eq!(state_in_list(&page, &outside), "AVAILABLE", "a fresh walk is reused");
    // Once the walk is older than the TTL, the next read is still answered from it at once...
    tokio::time::sleep(std::time::Duration::from_millis(350)).await;
    let page = p.list(&[("query[per_page]", "200")]).await;
    assert_eq!(
        state_in_list(&page, &outside),
        "AVAILABLE",
        "the stale walk is served, not waited for"
    );
    // ...while a background walk runs; its result shows shortly after.
    let mut seen = String::new();
    for _ in 0..100 {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        seen = state_in_list(&p.list(&[("query[per_page]", "200")]).await, &outside);
        if seen == "IMPAIRED" {
            break;
        }
    }
    assert_eq!(seen, "IMPAIRED");

    // A change made through the portal shows at once.
    let (status, _) = p
        .json(
            "workspaces/batch",
            json!({ "action": "reboot", "ids": [inside], "confirm": null }),
        )
        .await;
    assert_eq!(status, 200);
    let page = p.list(&[("query[per_page]", "200")]).await;
    assert_eq!(state_in_list(&page, &inside), "REBOOTING");
}
