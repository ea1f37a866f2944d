//! The fleet over HTTP, as a browser or a script would drive it: every server function, its
//! errors, and per-item outcomes, on the real portal with the embedded emulator.

use std::collections::HashSet;

use app::identity::Role;
use serde_json::{json, Value};

use portal_server::config::ApprovalRequired;

use crate::harness::{fleet_config, Answer, TestPortal};

fn assert_field_error(found: Answer, field: &str) {
    let found = found.pair();
    assert_eq!(found.0, 400, "{}", found.1);
    assert_eq!(found.1["kind"], "validation", "{}", found.1);
    assert_eq!(found.1["field"], field, "{}", found.1);
    assert!(found.1["message"].as_str().is_some_and(|m| !m.is_empty()));
}

#[tokio::test]
async fn health_and_readiness() {
    let (p, admin) = TestPortal::with_admin(5, 1000).await;
    let health = admin.http.get(p.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
    let ready: Value = admin
        .http
        .get(p.url("/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["status"], "ready");
    // Readiness follows the WorkSpaces endpoint.
    p.fault(r#"{"action":"DescribeWorkspaceDirectories","error":"ServiceUnavailable"}"#);
    let not_ready = admin.http.get(p.url("/readyz")).send().await.unwrap();
    assert_eq!(not_ready.status().as_u16(), 503);
}

#[tokio::test]
async fn the_whole_fleet_is_listed_not_only_the_first_api_page() {
    let (_p, admin) = TestPortal::with_admin(130, 1000).await;
    let page = admin.list(&[("query[per_page]", "200")]).await;
    assert_eq!(page["total"], 130);
    assert_eq!(page["items"].as_array().unwrap().len(), 130);

    let mut seen = HashSet::new();
    for n in 1..=6 {
        let page = admin
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
    let (_p, admin) = TestPortal::with_admin(130, 1000).await;
    let stopped = admin
        .list(&[("query[state]", "STOPPED"), ("query[per_page]", "200")])
        .await;
    let rows = stopped["items"].as_array().unwrap();
    assert!(rows.len() > 10);
    assert!(rows.iter().all(|w| w["state"] == "STOPPED"));
    assert_eq!(stopped["fleet_size"], 130);

    let always_on = admin
        .list(&[("query[mode]", "ALWAYS_ON"), ("query[per_page]", "200")])
        .await;
    assert!(always_on["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|w| w["running_mode"] == "ALWAYS_ON"));

    let users = admin
        .list(&[("query[user]", "USER0001"), ("query[per_page]", "200")])
        .await;
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

    let finance = admin
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
    let (_, detail) = admin.form("workspaces/get", &[("id", finance_ids[0])]).await.pair();
    assert!(detail["tags"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["key"] == "Department" && t["value"] == "Finance"));

    let sorted = admin
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
    let (_p, admin) = TestPortal::with_admin(10, 1000).await;
    let id = admin.ids_where(&[]).await.remove(0);
    let (status, detail) = admin.form("workspaces/get", &[("id", &id)]).await.pair();
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["workspace"]["id"], id.as_str());
    assert!(!detail["tags"].as_array().unwrap().is_empty());
    assert!(detail["connection"]["state"].is_string());
    assert!(detail["connection"]["checked_at"].as_str().unwrap().ends_with('Z'));

    assert_field_error(admin.form("workspaces/get", &[("id", "not-an-id")]).await, "id");
    let (status, missing) = admin.form("workspaces/get", &[("id", "ws-00000none")]).await.pair();
    assert_eq!(
        (status, missing["kind"].as_str()),
        (404, Some("not_found")),
        "{missing}"
    );
}

#[tokio::test]
async fn batch_actions_report_each_workspace() {
    let (_p, admin) = TestPortal::with_admin(40, 300).await;
    let available = admin
        .ids_where(&[("query[state]", "AVAILABLE"), ("query[mode]", "AUTO_STOP")])
        .await;
    let stopped = admin.ids_where(&[("query[state]", "STOPPED")]).await;
    let (status, outcome) = admin
        .json(
            "workspaces/batch",
            json!({ "action": "stop", "ids": [available[0], stopped[0], "ws-00000none"], "confirm": null }),
        )
        .await
        .pair();
    assert_eq!(status, 200, "{outcome}");
    let items = outcome["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0]["error_code"], Value::Null);
    assert_eq!(items[1]["error_code"], "InvalidResourceStateException");
    assert_eq!(items[2]["error_code"], "ResourceNotFoundException");
    assert!(items[1]["error_message"].as_str().unwrap().contains("STOPPED"));

    assert_eq!(admin.state_of(&available[0]).await, "STOPPING");
    for _ in 0..100 {
        if admin.state_of(&available[0]).await == "STOPPED" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(admin.state_of(&available[0]).await, "STOPPED");

    // Bad input: the ID at fault is named; nothing is sent.
    assert_field_error(
        admin
            .json(
                "workspaces/batch",
                json!({ "action": "reboot", "ids": [available[1], "bad"], "confirm": null }),
            )
            .await,
        "ids[1]",
    );
    assert_field_error(
        admin
            .json(
                "workspaces/batch",
                json!({ "action": "reboot", "ids": [], "confirm": null }),
            )
            .await,
        "ids",
    );
    assert_eq!(admin.state_of(&available[1]).await, "AVAILABLE");
}

#[tokio::test]
async fn batches_larger_than_the_api_limit_are_split() {
    let (_p, admin) = TestPortal::with_admin(60, 1000).await;
    let all = admin.ids_where(&[]).await;
    assert_eq!(all.len(), 60);
    let (status, outcome) = admin
        .json(
            "workspaces/batch",
            json!({ "action": "reboot", "ids": all, "confirm": null }),
        )
        .await
        .pair();
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
    // Without approvals (`--approval-required none`), terminate is the admin's own decision.
    let mut config = fleet_config(10, 1000);
    config.approval_required = ApprovalRequired(Vec::new());
    let p = TestPortal::start(config).await;
    let admin = p.signed_in("admin", Role::Admin, "api-test").await;
    let id = admin.ids_where(&[("query[state]", "AVAILABLE")]).await.remove(0);
    let found = admin
        .json(
            "workspaces/batch",
            json!({ "action": "terminate", "ids": [id], "confirm": "yes" }),
        )
        .await;
    assert_field_error(found, "confirm");
    assert_eq!(admin.state_of(&id).await, "AVAILABLE", "nothing happened");
    let (status, outcome) = admin
        .json(
            "workspaces/batch",
            json!({ "action": "terminate", "ids": [id], "confirm": "terminate" }),
        )
        .await
        .pair();
    assert_eq!(status, 200);
    assert_eq!(outcome["items"][0]["error_code"], Value::Null);
    assert_eq!(admin.state_of(&id).await, "TERMINATING");
}

#[tokio::test]
async fn aws_error_codes_pass_through() {
    let (p, admin) = TestPortal::with_admin(40, 1000).await;
    let id = admin
        .ids_where(&[("query[state]", "AVAILABLE"), ("query[mode]", "AUTO_STOP")])
        .await
        .remove(0);
    let modify = |mode: &'static str| {
        let id = id.clone();
        let admin = &admin;
        async move {
            admin
                .form(
                    "workspaces/modify",
                    &[("id", &id), ("running_mode", mode), ("auto_stop_minutes", "")],
                )
                .await
        }
    };
    assert_eq!(modify("ALWAYS_ON").await.status, 200);
    let (status, busy) = modify("AUTO_STOP").await.pair();
    assert_eq!(status, 502);
    assert_eq!(
        (busy["kind"].as_str(), busy["code"].as_str()),
        (Some("upstream"), Some("OperationInProgressException"))
    );

    // Throttling that outlasts the SDK's retries reaches the user as Throttling (a call made
    // at the user's request: pages read the inventory).
    p.fault(r#"{"action":"CreateTags","error":"Throttling","count":10}"#);
    let (status, throttled) = admin
        .form("workspaces/tags/set", &[("id", &id), ("key", "Team"), ("value", "QA")])
        .await
        .pair();
    assert_eq!(status, 429, "{throttled}");
    assert_eq!(throttled["code"], "Throttling");

    assert_field_error(
        admin
            .form(
                "workspaces/modify",
                &[("id", &id), ("running_mode", "AUTO_STOP"), ("auto_stop_minutes", "90")],
            )
            .await,
        "auto_stop_minutes",
    );
    assert_field_error(
        admin
            .form(
                "workspaces/modify",
                &[("id", &id), ("running_mode", "SOMETIMES"), ("auto_stop_minutes", "")],
            )
            .await,
        "running_mode",
    );
}

#[tokio::test]
async fn server_side_failures_of_workspaces_pass_through_without_internals() {
    let (p, admin) = TestPortal::with_admin(5, 1000).await;
    let id = admin.ids_where(&[]).await.remove(0);
    p.fault(r#"{"action":"DescribeWorkspaces","error":"InternalFailure"}"#);
    // *Refresh now* asks AWS at once: its failure reaches the user...
    let (status, error) = admin
        .json("workspaces/refresh", serde_json::json!({ "ids": [id] }))
        .await
        .pair();
    assert_eq!(status, 502, "{error}");
    assert_eq!(error["code"], "InternalFailure");
    assert!(
        !error.to_string().contains("127.0.0.1"),
        "no endpoint details leak: {error}"
    );
    // ...while the pages, read from the inventory, still answer with every WorkSpace.
    let (status, page) = admin.form("workspaces/list", &[]).await.pair();
    assert_eq!((status, page["total"].as_u64()), (200, Some(5)), "{page}");
}

#[tokio::test]
async fn create_reports_each_user() {
    let (_p, admin) = TestPortal::with_admin(10, 300).await;
    let (_, existing) = admin
        .form("workspaces/get", &[("id", &admin.ids_where(&[]).await[0])])
        .await
        .pair();
    let directory = existing["workspace"]["directory_id"].as_str().unwrap().to_string();
    let taken = existing["workspace"]["user_name"].as_str().unwrap().to_string();
    let users = format!("new.one\n\n{taken}\nnew.two\nNEW.ONE\n");
    let (status, outcome) = admin
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
        .await
        .pair();
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
    let (_, created) = admin.form("workspaces/get", &[("id", id)]).await.pair();
    assert_eq!(created["workspace"]["auto_stop_minutes"], 120);
    assert_eq!(created["tags"].as_array().unwrap().len(), 2);

    let bad = admin
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
    let bad = admin
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
    let (_p, admin) = TestPortal::with_admin(5, 1000).await;
    let id = admin.ids_where(&[]).await.remove(0);
    let tags = |detail: &Value| -> Vec<(String, String)> {
        detail["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| (t["key"].as_str().unwrap().into(), t["value"].as_str().unwrap().into()))
            .collect()
    };
    assert_eq!(
        admin
            .form(
                "workspaces/tags/set",
                &[("id", &id), ("key", "Owner"), ("value", "alice")]
            )
            .await
            .status,
        200
    );
    assert_eq!(
        admin
            .form(
                "workspaces/tags/set",
                &[("id", &id), ("key", "Owner"), ("value", "bob")]
            )
            .await
            .status,
        200
    );
    let (_, detail) = admin.form("workspaces/get", &[("id", &id)]).await.pair();
    let owners: Vec<_> = tags(&detail).into_iter().filter(|(k, _)| k == "Owner").collect();
    assert_eq!(owners, vec![("Owner".to_string(), "bob".to_string())]);

    assert_eq!(
        admin
            .form("workspaces/tags/delete", &[("id", &id), ("key", "Owner")])
            .await
            .status,
        200
    );
    let (_, detail) = admin.form("workspaces/get", &[("id", &id)]).await.pair();
    assert!(tags(&detail).iter().all(|(k, _)| k != "Owner"));

    assert_field_error(
        admin
            .form(
                "workspaces/tags/set",
                &[("id", &id), ("key", "aws:team"), ("value", "x")],
            )
            .await,
        "tag.key",
    );
    assert_field_error(
        admin
            .form(
                "workspaces/tags/set",
                &[("id", &id), ("key", "k"), ("value", &"v".repeat(256))],
            )
            .await,
        "tag.value",
    );
}

#[tokio::test]
async fn bundles_directories_and_overview() {
    let (_p, admin) = TestPortal::with_admin(40, 1000).await;
    let (status, amazon) = admin.form("bundles/list", &[("owner", "amazon")]).await.pair();
    assert_eq!(status, 200);
    assert!(amazon.as_array().unwrap().iter().all(|b| b["owner"] == "AMAZON"));
    let (_, own) = admin.form("bundles/list", &[("owner", "account")]).await.pair();
    assert!(!own.as_array().unwrap().is_empty());
    assert!(own.as_array().unwrap().iter().all(|b| b["owner"] == "123456789012"));

    let (_, dirs) = admin.form("directories/list", &[]).await.pair();
    let dirs = dirs.as_array().unwrap();
    assert_eq!(dirs.len(), 3);
    let counted: u64 = dirs.iter().map(|d| d["workspace_count"].as_u64().unwrap()).sum();
    assert_eq!(counted, 40);
    assert!(dirs.iter().any(|d| d["state"] == "ERROR"));

    let (_, overview) = admin.form("workspaces/summary", &[]).await.pair();
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
    let (p, admin) = TestPortal::with_admin(40, 1000).await;
    for (path, needle) in [
        ("/", "Fleet overview"),
        ("/workspaces?state=STOPPED", "STOPPED"),
        ("/bundles", "Bundles"),
        ("/directories", "example-corp"),
        ("/workspaces/new", "Create WorkSpaces"),
    ] {
        let response = admin.http.get(p.url(path)).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200, "{path}");
        let html = response.text().await.unwrap();
        assert!(html.contains(needle), "{path} lacks {needle}");
    }
    let missing = admin.http.get(p.url("/no/such/page")).send().await.unwrap();
    assert_eq!(missing.status().as_u16(), 404);
}
