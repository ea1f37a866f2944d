//! The wire protocols as any AWS client sees them, and fault injection: raw HTTP where an SDK
//! would never send such a request, the SDK where it matters how the SDK reacts.

use std::time::{Duration, Instant};

use aws_sdk_workspaces::config::retry::RetryConfig;
use aws_sdk_workspaces::error::ProvideErrorMetadata;
use serde_json::json;
use workspaces_emulator::Protocol;

use crate::common::{self, call, encode, raw, send, start, SIGNED};

const JSON: (&str, &str) = ("Content-Type", "application/x-amz-json-1.1");
const CBOR: (&str, &str) = ("Content-Type", "application/cbor");
const FRAMED: (&str, &str) = ("smithy-protocol", "rpc-v2-cbor");
const DESCRIBE: &str = "/service/WorkspacesService/operation/DescribeWorkspaces";

each_protocol!(
    answers_carry_the_protocol_content_type_and_a_request_id,
    timestamps_are_epoch_seconds,
    unsigned_requests_are_refused,
    bad_requests_get_4xx_errors_with_a_type_never_500,
    an_empty_body_is_accepted_as_an_empty_request,
    write_actions_with_no_output_answer_an_empty_structure,
    injected_throttling_reaches_the_client_then_expires,
    the_sdk_retries_injected_failures_on_its_own,
    internal_failure_is_a_500_and_latency_is_added,
);

async fn answers_carry_the_protocol_content_type_and_a_request_id(protocol: Protocol) {
    let h = start(protocol, 1000, 40).await;
    let answer = send(h.addr, protocol, "DescribeWorkspaces", &encode(protocol, &json!({}))).await;
    assert_eq!(answer.status, 200);
    let content_type = match protocol {
        Protocol::AwsJson1_1 => "application/x-amz-json-1.1",
        Protocol::RpcV2Cbor => "application/cbor",
    };
    assert_eq!(answer.header("content-type"), Some(content_type), "{}", answer.head);
    assert!(answer.header("x-amzn-requestid").is_some(), "{}", answer.head);
    let framed = (protocol == Protocol::RpcV2Cbor).then_some("rpc-v2-cbor");
    assert_eq!(answer.header("smithy-protocol"), framed, "{}", answer.head);
    let value = common::decode(protocol, &answer.body);
    assert_eq!(value["Workspaces"].as_array().unwrap().len(), 25);
    assert!(value["NextToken"].as_str().is_some_and(|t| (1..=63).contains(&t.len())));
}

async fn timestamps_are_epoch_seconds(protocol: Protocol) {
    let h = start(protocol, 1000, 5).await;
    let (status, body) = call(h.addr, protocol, "DescribeWorkspacesConnectionStatus", json!({})).await;
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

async fn unsigned_requests_are_refused(protocol: Protocol) {
    let h = start(protocol, 1000, 5).await;
    let (path, headers) = common::framing(protocol, "DescribeWorkspaces");
    let unsigned: Vec<(&str, &str)> = headers
        .iter()
        .filter(|(name, _)| *name != SIGNED.0)
        .map(|(n, v)| (*n, v.as_str()))
        .collect();
    let answer = raw(h.addr, "POST", &path, &unsigned, &encode(protocol, &json!({}))).await;
    assert_eq!(answer.status, 403);
    assert!(answer.header("x-amzn-requestid").is_some());
    let value = common::decode(protocol, &answer.body);
    assert_eq!(error_code(&value), "MissingAuthenticationToken");
    assert!(value["message"].as_str().unwrap().contains("Authorization"));
}

/// The error code of an error body: AWS JSON names it bare, RPC v2 CBOR by shape ID.
fn error_code(value: &serde_json::Value) -> &str {
    let name = value["__type"].as_str().unwrap_or_default();
    name.rsplit('#').next().unwrap_or(name)
}

/// A request body for both protocols: a structure either encodes, or bytes that are not one.
enum Body {
    Value(serde_json::Value),
    Malformed { json: &'static [u8], cbor: &'static [u8] },
}

async fn bad_requests_get_4xx_errors_with_a_type_never_500(protocol: Protocol) {
    use Body::*;
    let h = start(protocol, 1000, 5).await;
    let cases: Vec<(&str, Body, &str)> = vec![
        (
            "DescribeWorkspaces",
            Malformed {
                json: b"{\"Limit\": ",
                cbor: &[0xa1, 0x65, b'L', b'i'],
            },
            "SerializationException",
        ),
        (
            "DescribeWorkspaces",
            Malformed {
                json: b"[]",
                cbor: &[0x80],
            },
            "SerializationException",
        ),
        (
            "DescribeWorkspaces",
            Malformed {
                json: b"{\"Limit\": 99999999999999999999}",
                // Limit: 2^64 - 1, more than any integer member holds
                cbor: &[
                    0xa1, 0x65, b'L', b'i', b'm', b'i', b't', 0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                ],
            },
            "SerializationException",
        ),
        (
            "DescribeWorkspaces",
            Value(json!({"Limit": "ten"})),
            "SerializationException",
        ),
        (
            "DescribeWorkspaces",
            Value(json!({"Limit": 2.5})),
            "SerializationException",
        ),
        (
            "DescribeWorkspaces",
            Value(json!({"WorkspaceIds": [1, 2]})),
            "SerializationException",
        ),
        (
            "CreateTags",
            Value(json!({"ResourceId": {}, "Tags": []})),
            "SerializationException",
        ),
        (
            "CreateWorkspaces",
            Value(json!({"Workspaces": [{"UserName": true}]})),
            "SerializationException",
        ),
        (
            "StopWorkspaces",
            Value(json!({"StopWorkspaceRequests": {}})),
            "SerializationException",
        ),
        ("StopWorkspaces", Value(json!({})), "ValidationException"),
        ("CreateWorkspaces", Value(json!({})), "ValidationException"),
        (
            "ModifyWorkspaceProperties",
            Value(json!({"WorkspaceId": "ws-abcdefgh1"})),
            "ValidationException",
        ),
        (
            "DescribeWorkspaces",
            Value(json!({"BundleId": "wsb-92tn3b7gx", "DirectoryId": "d-906734e5a1"})),
            "InvalidParameterValuesException",
        ),
    ];
    for (action, body, code) in cases {
        let bytes = match &body {
            Value(value) => encode(protocol, value),
            Malformed { json, cbor } => match protocol {
                Protocol::AwsJson1_1 => json.to_vec(),
                Protocol::RpcV2Cbor => cbor.to_vec(),
            },
        };
        let answer = send(h.addr, protocol, action, &bytes).await;
        let value = common::decode(protocol, &answer.body);
        assert_eq!(answer.status, 400, "{action} {bytes:02x?}: {value}");
        assert_eq!(error_code(&value), code, "{action} {bytes:02x?}: {value}");
        assert!(value["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    // Where the protocols differ: an unknown action.
    let (status, value) = call(h.addr, protocol, "LaunchRockets", json!({})).await;
    match protocol {
        Protocol::AwsJson1_1 => assert_eq!((status, error_code(&value)), (400, "InvalidAction")),
        Protocol::RpcV2Cbor => assert_eq!((status, error_code(&value)), (404, "UnknownOperationException")),
    }
    // The emulator still answers after all of that.
    assert_eq!(call(h.addr, protocol, "DescribeWorkspaces", json!({})).await.0, 200);
}

async fn an_empty_body_is_accepted_as_an_empty_request(protocol: Protocol) {
    let h = start(protocol, 1000, 5).await;
    let answer = send(h.addr, protocol, "DescribeWorkspaceDirectories", b"").await;
    assert_eq!(answer.status, 200);
    let value = common::decode(protocol, &answer.body);
    assert_eq!(value["Directories"].as_array().unwrap().len(), 3);
}

async fn write_actions_with_no_output_answer_an_empty_structure(protocol: Protocol) {
    let h = start(protocol, 1000, 5).await;
    let (_, list) = call(h.addr, protocol, "DescribeWorkspaces", json!({})).await;
    let id = list["Workspaces"][0]["WorkspaceId"].as_str().unwrap().to_string();
    let answer = send(
        h.addr,
        protocol,
        "CreateTags",
        &encode(
            protocol,
            &json!({"ResourceId": id, "Tags": [{"Key": "a", "Value": "b"}]}),
        ),
    )
    .await;
    assert_eq!(answer.status, 200);
    // `{}` in JSON, an empty map (0xa0) in CBOR.
    assert_eq!(answer.body, encode(protocol, &json!({})));
}

// ---------------------------------------------------------------------------------------------
// RPC v2 CBOR framing

#[tokio::test]
async fn cbor_timestamps_are_tag_1_epoch_seconds() {
    let h = start(Protocol::RpcV2Cbor, 1000, 5).await;
    let answer = send(
        h.addr,
        Protocol::RpcV2Cbor,
        "DescribeWorkspacesConnectionStatus",
        &[0xa0],
    )
    .await;
    let value: ciborium::Value = ciborium::from_reader(&answer.body[..]).unwrap();
    let member = |v: &ciborium::Value, name: &str| -> ciborium::Value {
        v.as_map()
            .unwrap()
            .iter()
            .find(|(k, _)| k.as_text() == Some(name))
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no {name} in {v:?}"))
    };
    let statuses = member(&value, "WorkspacesConnectionStatus");
    let first = &statuses.as_array().unwrap()[0];
    for name in ["ConnectionStateCheckTimestamp", "LastKnownUserConnectionTimestamp"] {
        match member(first, name) {
            ciborium::Value::Tag(1, seconds) => assert!(seconds.is_integer(), "{name}: {seconds:?}"),
            other => panic!("{name} is not tag 1: {other:?}"),
        }
    }
}

#[tokio::test]
async fn cbor_errors_name_the_shape_in_the_body_only() {
    let h = start(Protocol::RpcV2Cbor, 1000, 5).await;
    let answer = send(
        h.addr,
        Protocol::RpcV2Cbor,
        "DescribeTags",
        &encode(Protocol::RpcV2Cbor, &json!({"ResourceId": "ws-00000none"})),
    )
    .await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.header("smithy-protocol"), Some("rpc-v2-cbor"));
    assert_eq!(answer.header("x-amzn-errortype"), None, "{}", answer.head);
    let value = common::decode(Protocol::RpcV2Cbor, &answer.body);
    assert_eq!(value["__type"], "com.amazonaws.workspaces#ResourceNotFoundException");
    assert!(value["message"].as_str().unwrap().contains("ws-00000none"));

    // AWS JSON keeps the bare code, in the body and in X-Amzn-ErrorType.
    let answer = send(
        h.addr,
        Protocol::AwsJson1_1,
        "DescribeTags",
        br#"{"ResourceId": "ws-00000none"}"#,
    )
    .await;
    assert_eq!(answer.header("x-amzn-errortype"), Some("ResourceNotFoundException"));
    assert_eq!(
        common::decode(Protocol::AwsJson1_1, &answer.body)["__type"],
        "ResourceNotFoundException"
    );
}

#[tokio::test]
async fn cbor_routes_by_the_last_four_path_segments() {
    let h = start(Protocol::RpcV2Cbor, 1000, 5).await;
    for path in [
        DESCRIBE,
        "/v1/service/WorkspacesService/operation/DescribeWorkspaces",
        "/service/com.amazonaws.workspaces.WorkspacesService/operation/DescribeWorkspaces",
    ] {
        let answer = raw(h.addr, "POST", path, &[CBOR, FRAMED, SIGNED], &[0xa0]).await;
        assert_eq!(answer.status, 200, "{path}: {}", answer.head);
        let value = common::decode(Protocol::RpcV2Cbor, &answer.body);
        assert_eq!(value["Workspaces"].as_array().unwrap().len(), 5, "{path}");
    }
}

#[tokio::test]
async fn cbor_requests_not_framed_as_the_protocol_requires_are_refused() {
    let h = start(Protocol::RpcV2Cbor, 1000, 5).await;
    let target = ("X-Amz-Target", "WorkspacesService.DescribeWorkspaces");
    let wrong_framing = ("smithy-protocol", "rpc-v2-json");
    // (path, headers, status, what the message names); every body is an empty CBOR map.
    let cases = [
        (DESCRIBE, vec![CBOR, SIGNED], 404, "smithy-protocol"),
        (DESCRIBE, vec![CBOR, SIGNED, wrong_framing], 404, "smithy-protocol"),
        (DESCRIBE, vec![CBOR, FRAMED, SIGNED, target], 404, "X-Amz-Target"),
        (
            "/service/WorkspacesService/operation/LaunchRockets",
            vec![CBOR, FRAMED, SIGNED],
            404,
            "LaunchRockets",
        ),
        (
            "/service/DynamoDB_20120810/operation/DescribeWorkspaces",
            vec![CBOR, FRAMED, SIGNED],
            404,
            "DynamoDB_20120810",
        ),
        (DESCRIBE, vec![JSON, FRAMED, SIGNED], 415, "application/cbor"),
    ];
    for (path, headers, status, mentioned) in cases {
        let answer = raw(h.addr, "POST", path, &headers, &[0xa0]).await;
        let value = common::decode(Protocol::RpcV2Cbor, &answer.body);
        assert_eq!(answer.status, status, "{path} {headers:?}: {value}");
        assert_eq!(answer.header("smithy-protocol"), Some("rpc-v2-cbor"));
        assert!(
            value["__type"].as_str().unwrap().starts_with("smithy.framework#"),
            "{value}"
        );
        let message = value["message"].as_str().unwrap();
        assert!(message.contains(mentioned), "{path}: {message}");
    }
    let answer = raw(h.addr, "GET", DESCRIBE, &[FRAMED, SIGNED], b"").await;
    assert_eq!(answer.status, 405);
    // Unknown paths answer in the protocol the request looks like.
    let answer = raw(h.addr, "POST", "/nowhere", &[CBOR, FRAMED, SIGNED], &[0xa0]).await;
    assert_eq!(answer.status, 404);
    assert_eq!(
        common::decode(Protocol::RpcV2Cbor, &answer.body)["__type"],
        "smithy.framework#UnknownOperationException"
    );
    let answer = raw(h.addr, "POST", "/nowhere", &[JSON, SIGNED], b"{}").await;
    assert_eq!(answer.status, 404);
    assert_eq!(answer.header("x-amzn-errortype"), Some("UnknownOperationException"));
}

#[tokio::test]
async fn json_requests_without_a_target_are_missing_their_action() {
    let h = start(Protocol::AwsJson1_1, 1000, 5).await;
    let answer = raw(h.addr, "POST", "/", &[JSON, SIGNED], b"{}").await;
    assert_eq!(answer.status, 400);
    assert!(answer.text().contains("MissingAction"), "{}", answer.text());
}

// ---------------------------------------------------------------------------------------------
// Fault injection

async fn injected_throttling_reaches_the_client_then_expires(protocol: Protocol) {
    let h = start(protocol, 1000, 5).await;
    let answer = raw(
        h.addr,
        "POST",
        "/_emulator/faults",
        &[("Content-Type", "application/json")],
        br#"{"action":"DescribeWorkspaces","error":"Throttling","count":2}"#,
    )
    .await;
    assert_eq!(answer.status, 201, "{}", answer.text());
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
    let rules = raw(h.addr, "GET", "/_emulator/faults", &[], b"").await;
    assert_eq!(rules.text().trim(), "[]");
}

async fn the_sdk_retries_injected_failures_on_its_own(protocol: Protocol) {
    let h = start(protocol, 1000, 5).await;
    h.emulator
        .faults()
        .add(serde_json::from_str(r#"{"action":"DescribeWorkspaces","error":"InternalFailure","count":1}"#).unwrap())
        .unwrap();
    let retrying = common::client(
        h.addr,
        protocol,
        RetryConfig::standard()
            .with_max_attempts(3)
            .with_initial_backoff(Duration::from_millis(10)),
    );
    let out = retrying.describe_workspaces().send().await.expect("the retry succeeds");
    assert_eq!(out.workspaces().len(), 5);
}

async fn internal_failure_is_a_500_and_latency_is_added(protocol: Protocol) {
    let h = start(protocol, 1000, 5).await;
    h.emulator
        .faults()
        .add(serde_json::from_str(r#"{"action":"DescribeTags","error":"InternalFailure"}"#).unwrap())
        .unwrap();
    h.emulator
        .faults()
        .add(serde_json::from_str(r#"{"action":"DescribeWorkspaceBundles","latencyMs":300}"#).unwrap())
        .unwrap();
    let (status, value) = call(h.addr, protocol, "DescribeTags", json!({"ResourceId": "ws-abcdefgh1"})).await;
    assert_eq!((status, error_code(&value)), (500, "InternalFailure"));
    let started = Instant::now();
    let (status, _) = call(h.addr, protocol, "DescribeWorkspaceBundles", json!({})).await;
    assert_eq!(status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300), "latency was injected");

    let answer = raw(h.addr, "DELETE", "/_emulator/faults", &[], b"").await;
    assert_eq!(answer.status, 204);
    let (_, value) = call(h.addr, protocol, "DescribeTags", json!({"ResourceId": "ws-abcdefgh1"})).await;
    assert_eq!(error_code(&value), "ResourceNotFoundException");
}

#[tokio::test]
async fn bad_fault_rules_are_refused_with_a_reason() {
    let h = start(Protocol::AwsJson1_1, 1000, 5).await;
    let answer = raw(
        h.addr,
        "POST",
        "/_emulator/faults",
        &[],
        br#"{"action":"Nope","error":"Throttling"}"#,
    )
    .await;
    assert_eq!(answer.status, 400);
    assert!(answer.text().contains("action"), "{}", answer.text());
    let answer = raw(
        h.addr,
        "POST",
        "/_emulator/faults",
        &[],
        br#"{"error":"Throttling","ratio":1}"#,
    )
    .await;
    assert_eq!(answer.status, 400);
    assert!(answer.text().contains("ratio"), "{}", answer.text());
}

#[tokio::test]
async fn a_workspace_can_be_forced_into_any_state() {
    let h = start(Protocol::AwsJson1_1, 1000, 5).await;
    let json = Protocol::AwsJson1_1;
    let (_, list) = call(h.addr, json, "DescribeWorkspaces", json!({})).await;
    let id = list["Workspaces"][0]["WorkspaceId"].as_str().unwrap().to_string();
    let answer = raw(
        h.addr,
        "POST",
        &format!("/_emulator/workspaces/{id}/state"),
        &[],
        br#"{"state":"SUSPENDED"}"#,
    )
    .await;
    assert_eq!(answer.status, 204);
    let (_, one) = call(h.addr, json, "DescribeWorkspaces", json!({"WorkspaceIds": [id]})).await;
    assert_eq!(one["Workspaces"][0]["State"], "SUSPENDED");
    let answer = raw(
        h.addr,
        "POST",
        &format!("/_emulator/workspaces/{id}/state"),
        &[],
        br#"{"state":"ASLEEP"}"#,
    )
    .await;
    assert_eq!(answer.status, 400);
    assert!(
        answer.text().contains("AVAILABLE"),
        "lists the valid states: {}",
        answer.text()
    );
    let answer = raw(
        h.addr,
        "POST",
        "/_emulator/workspaces/ws-00000none/state",
        &[],
        br#"{"state":"ERROR"}"#,
    )
    .await;
    assert_eq!(answer.status, 404);
}

#[tokio::test]
async fn a_workspace_can_be_given_to_another_user() {
    let h = start(Protocol::AwsJson1_1, 1000, 5).await;
    let json = Protocol::AwsJson1_1;
    let (_, list) = call(h.addr, json, "DescribeWorkspaces", json!({})).await;
    let id = list["Workspaces"][0]["WorkspaceId"].as_str().unwrap().to_string();
    let path = format!("/_emulator/workspaces/{id}/user");
    let answer = raw(h.addr, "POST", &path, &[], br#"{"userName":"mallory"}"#).await;
    assert_eq!(answer.status, 204);
    let (_, one) = call(h.addr, json, "DescribeWorkspaces", json!({"WorkspaceIds": [id]})).await;
    assert_eq!(one["Workspaces"][0]["UserName"], "mallory");
    let answer = raw(h.addr, "POST", &path, &[], br#"{"userName":""}"#).await;
    assert_eq!(answer.status, 400);
    assert!(answer.text().contains("userName"), "{}", answer.text());
    let answer = raw(
        h.addr,
        "POST",
        "/_emulator/workspaces/ws-00000none/user",
        &[],
        br#"{"userName":"x"}"#,
    )
    .await;
    assert_eq!(answer.status, 404);
}
