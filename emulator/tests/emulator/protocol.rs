//! The wire protocol as any AWS client sees it, and fault injection: raw HTTP where an SDK
//! would never send such a request, the SDK where it matters how the SDK reacts.

use std::time::{Duration, Instant};

use crate::common::{self, call, raw, start};
use aws_sdk_workspaces::config::retry::RetryConfig;
use aws_sdk_workspaces::error::ProvideErrorMetadata;

const SIGNED: (&str, &str) = (
    "Authorization",
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/workspaces/aws4_request",
);
const JSON: (&str, &str) = ("Content-Type", "application/x-amz-json-1.1");

#[tokio::test]
async fn responses_are_aws_json_with_a_request_id() {
    let h = start(1000, 40).await;
    let (status, head, body) = raw(
        h.addr,
        "POST",
        "/",
        &[JSON, SIGNED, ("X-Amz-Target", "WorkspacesService.DescribeWorkspaces")],
        "{}",
    )
    .await;
    assert_eq!(status, 200);
    assert!(head.contains("content-type: application/x-amz-json-1.1"), "{head}");
    assert!(head.contains("x-amzn-requestid: "), "{head}");
    let value: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(value["Workspaces"].as_array().unwrap().len(), 25);
    assert!(value["NextToken"].as_str().is_some_and(|t| (1..=63).contains(&t.len())));
}

#[tokio::test]
async fn timestamps_are_epoch_seconds() {
    let h = start(1000, 5).await;
    let (status, body) = call(h.addr, "DescribeWorkspacesConnectionStatus", "{}").await;
    assert_eq!(status, 200);
    let first = &body["WorkspacesConnectionStatus"][0];
    let checked = first["ConnectionStateCheckTimestamp"].as_i64().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((now - 5..=now + 5).contains(&checked), "{checked} vs {now}");
    assert!(first["LastKnownUserConnectionTimestamp"].as_i64().unwrap() <= now);
}

#[tokio::test]
async fn unsigned_requests_are_refused() {
    let h = start(1000, 5).await;
    let (status, head, body) = raw(
        h.addr,
        "POST",
        "/",
        &[JSON, ("X-Amz-Target", "WorkspacesService.DescribeWorkspaces")],
        "{}",
    )
    .await;
    assert_eq!(status, 403);
    assert!(head.contains("x-amzn-requestid"));
    let value: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(value["__type"], "MissingAuthenticationToken");
    assert!(value["message"].as_str().unwrap().contains("Authorization"));
}

#[tokio::test]
async fn bad_requests_get_4xx_errors_with_a_type_never_500() {
    let h = start(1000, 5).await;
    let cases: &[(&str, &str, &str)] = &[
        ("DescribeWorkspaces", "{\"Limit\": ", "SerializationException"),
        ("DescribeWorkspaces", "[]", "SerializationException"),
        ("DescribeWorkspaces", "{\"Limit\": \"ten\"}", "SerializationException"),
        ("DescribeWorkspaces", "{\"Limit\": 2.5}", "SerializationException"),
        (
            "DescribeWorkspaces",
            "{\"WorkspaceIds\": [1, 2]}",
            "SerializationException",
        ),
        (
            "CreateTags",
            "{\"ResourceId\": {}, \"Tags\": []}",
            "SerializationException",
        ),
        (
            "CreateWorkspaces",
            "{\"Workspaces\": [{\"UserName\": true}]}",
            "SerializationException",
        ),
        (
            "StopWorkspaces",
            "{\"StopWorkspaceRequests\": {}}",
            "SerializationException",
        ),
        ("StopWorkspaces", "{}", "InvalidParameterValuesException"),
        ("CreateWorkspaces", "{}", "InvalidParameterValuesException"),
        (
            "ModifyWorkspaceProperties",
            "{\"WorkspaceId\": \"ws-abcdefgh1\"}",
            "InvalidParameterValuesException",
        ),
        (
            "DescribeWorkspaces",
            "{\"Limit\": 99999999999999999999}",
            "SerializationException",
        ),
        ("LaunchRockets", "{}", "InvalidAction"),
    ];
    for (action, body, code) in cases {
        let (status, value) = call(h.addr, action, body).await;
        assert_eq!(status, 400, "{action} {body}: {value}");
        assert_eq!(value["__type"], *code, "{action} {body}: {value}");
        assert!(value["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    let (status, _, body) = raw(h.addr, "POST", "/", &[JSON, SIGNED], "{}").await;
    assert_eq!(status, 400);
    assert!(body.contains("MissingAction"), "{body}");
    // The emulator still answers after all of that.
    assert_eq!(call(h.addr, "DescribeWorkspaces", "{}").await.0, 200);
}

#[tokio::test]
async fn an_empty_body_is_accepted_as_an_empty_request() {
    let h = start(1000, 5).await;
    let (status, value) = call(h.addr, "DescribeWorkspaceDirectories", "").await;
    assert_eq!(status, 200);
    assert_eq!(value["Directories"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn write_actions_with_no_output_answer_an_empty_object() {
    let h = start(1000, 5).await;
    let (_, list) = call(h.addr, "DescribeWorkspaces", "{}").await;
    let id = list["Workspaces"][0]["WorkspaceId"].as_str().unwrap().to_string();
    let (status, value) = call(
        h.addr,
        "CreateTags",
        &format!(r#"{{"ResourceId":"{id}","Tags":[{{"Key":"a","Value":"b"}}]}}"#),
    )
    .await;
    assert_eq!((status, value), (200, serde_json::json!({})));
}

// ---------------------------------------------------------------------------------------------
// Fault injection

#[tokio::test]
async fn injected_throttling_reaches_the_client_then_expires() {
    let h = start(1000, 5).await;
    let (status, _, body) = raw(
        h.addr,
        "POST",
        "/_emulator/faults",
        &[("Content-Type", "application/json")],
        r#"{"action":"DescribeWorkspaces","error":"Throttling","count":2}"#,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    for _ in 0..2 {
        let err = h
            .client
            .describe_workspaces()
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert_eq!(err.code(), Some("Throttling"));
    }
    assert!(
        h.client.describe_workspace_bundles().send().await.is_ok(),
        "other actions are not affected"
    );
    assert!(
        h.client.describe_workspaces().send().await.is_ok(),
        "the rule expired after 2 requests"
    );
    let (_, _, rules) = raw(h.addr, "GET", "/_emulator/faults", &[], "").await;
    assert_eq!(rules.trim(), "[]");
}

#[tokio::test]
async fn the_sdk_retries_injected_failures_on_its_own() {
    let h = start(1000, 5).await;
    h.emulator
        .faults()
        .add(serde_json::from_str(r#"{"action":"DescribeWorkspaces","error":"InternalFailure","count":1}"#).unwrap())
        .unwrap();
    let retrying = common::client(
        h.addr,
        RetryConfig::standard()
            .with_max_attempts(3)
            .with_initial_backoff(Duration::from_millis(10)),
    );
    let out = retrying.describe_workspaces().send().await.expect("the retry succeeds");
    assert_eq!(out.workspaces().len(), 5);
}

#[tokio::test]
async fn internal_failure_is_a_500_and_latency_is_added() {
    let h = start(1000, 5).await;
    h.emulator
        .faults()
        .add(serde_json::from_str(r#"{"action":"DescribeTags","error":"InternalFailure"}"#).unwrap())
        .unwrap();
    h.emulator
        .faults()
        .add(serde_json::from_str(r#"{"action":"DescribeWorkspaceBundles","latencyMs":300}"#).unwrap())
        .unwrap();
    let (status, value) = call(h.addr, "DescribeTags", r#"{"ResourceId":"ws-abcdefgh1"}"#).await;
    assert_eq!((status, value["__type"].as_str()), (500, Some("InternalFailure")));
    let started = Instant::now();
    let (status, _) = call(h.addr, "DescribeWorkspaceBundles", "{}").await;
    assert_eq!(status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300), "latency was injected");

    let (status, _, _) = raw(h.addr, "DELETE", "/_emulator/faults", &[], "").await;
    assert_eq!(status, 204);
    assert_eq!(
        call(h.addr, "DescribeTags", r#"{"ResourceId":"ws-abcdefgh1"}"#).await.1["__type"],
        "ResourceNotFoundException"
    );
}

#[tokio::test]
async fn bad_fault_rules_are_refused_with_a_reason() {
    let h = start(1000, 5).await;
    let (status, _, body) = raw(
        h.addr,
        "POST",
        "/_emulator/faults",
        &[],
        r#"{"action":"Nope","error":"Throttling"}"#,
    )
    .await;
    assert_eq!(status, 400);
    assert!(body.contains("action"), "{body}");
    let (status, _, body) = raw(
        h.addr,
        "POST",
        "/_emulator/faults",
        &[],
        r#"{"error":"Throttling","ratio":1}"#,
    )
    .await;
    assert_eq!(status, 400);
    assert!(body.contains("ratio"), "{body}");
}

#[tokio::test]
async fn a_workspace_can_be_forced_into_any_state() {
    let h = start(1000, 5).await;
    let (_, list) = call(h.addr, "DescribeWorkspaces", "{}").await;
    let id = list["Workspaces"][0]["WorkspaceId"].as_str().unwrap().to_string();
    let (status, _, _) = raw(
        h.addr,
        "POST",
        &format!("/_emulator/workspaces/{id}/state"),
        &[],
        r#"{"state":"SUSPENDED"}"#,
    )
    .await;
    assert_eq!(status, 204);
    let (_, one) = call(h.addr, "DescribeWorkspaces", &format!(r#"{{"WorkspaceIds":["{id}"]}}"#)).await;
    assert_eq!(one["Workspaces"][0]["State"], "SUSPENDED");
    let (status, _, body) = raw(
        h.addr,
        "POST",
        &format!("/_emulator/workspaces/{id}/state"),
        &[],
        r#"{"state":"ASLEEP"}"#,
    )
    .await;
    assert_eq!(status, 400);
    assert!(body.contains("AVAILABLE"), "lists the valid states: {body}");
    let (status, _, _) = raw(
        h.addr,
        "POST",
        "/_emulator/workspaces/ws-00000none/state",
        &[],
        r#"{"state":"ERROR"}"#,
    )
    .await;
    assert_eq!(status, 404);
}
