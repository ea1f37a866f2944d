//! The audit log: one record per request with the right fields, tamper evidence that names the
//! broken record, exports that match the page, retention, no audit no action, and a chain that
//! survives the server being killed mid-write.

use std::collections::HashSet;
use std::process::Stdio;
use std::time::Duration;

use app::audit::ssr::{
    self as audit, record, AuditKey, AuditLog, AuditRecord, AuditSettings, PortalData, UserIdentity,
};
use app::audit::Outcome;
use app::identity::Role;
use app::ssr::db;
use portal_server::Config;
use serde_json::{json, Value};

use crate::harness::{fleet_config, test_config, Session, TestPortal, PASSWORD};

/// The audit tests' portal: 12 WorkSpaces, an administrator "auditor" signed in.
async fn portal() -> (TestPortal, Session) {
    let p = TestPortal::start(fleet_config(12, 200)).await;
    let auditor = p.signed_in("auditor", Role::Admin, "audit-test/1.0").await;
    (p, auditor)
}

/// A server function's status, body and audit event ID.
async fn call(session: &Session, endpoint: &str, form: &[(&str, &str)]) -> (u16, Value, Option<String>) {
    let a = session.form(endpoint, form).await;
    (a.status, a.body, a.event_id)
}

async fn batch(session: &Session, action: &str, ids: &[&str]) -> (u16, Value, Option<String>) {
    let a = session.batch(action, ids).await;
    (a.status, a.body, a.event_id)
}

async fn ids_in_state(session: &Session, state: &str) -> Vec<String> {
    session.ids_where(&[("query[state]", state)]).await
}

/// Runs `workspaces-portal audit ARGS` on the database and key of `config`.
/// Off the runtime's thread: the portal under test keeps running meanwhile.
async fn audit_cli(config: &Config, args: &[&str]) -> std::process::Output {
    let mut all = vec!["audit"];
    all.extend_from_slice(args);
    crate::harness::cli(config, &all, "").await
}

#[tokio::test]
async fn a_scripted_mix_of_requests_gives_exactly_one_record_each() {
    let (p, auditor) = portal().await;
    let available = ids_in_state(&auditor, "AVAILABLE").await;
    let (a, b) = (available[0].as_str(), available[1].as_str());

    // 1. A write that succeeds.
    let (status, _, reboot_id) = batch(&auditor, "reboot", &[a]).await;
    assert_eq!(status, 200);
    // 2. A write with a per-item failure.
    let (status, _, partial_id) = batch(&auditor, "reboot", &[b, "ws-zzzzzzzz9"]).await;
    assert_eq!(status, 200);
    // 3. Refused by validation: nothing sent to AWS, still recorded.
    let (status, _, invalid_id) = batch(&auditor, "stop", &["not-an-id"]).await;
    assert_eq!(status, 400);
    // 4. An AWS error, injected through the emulator.
    p.fault(r#"{"action":"CreateTags","error":"AccessDeniedException","count":1}"#);
    let (status, _, denied_id) = call(
        &auditor,
        "workspaces/tags/set",
        &[("id", a), ("key", "team"), ("value", "blue")],
    )
    .await;
    assert_eq!(status, 502);
    // 5. A read.
    let (status, _, read_id) = call(&auditor, "workspaces/get", &[("id", b)]).await;
    assert_eq!(status, 200);

    let records = auditor.records(&[("reads", "1")]).await;
    // The fleet listing made by ids_in_state is a read too, and the sign-in came first.
    assert_eq!(records.len(), 7, "{records:#?}");
    assert_eq!(records[6]["event_name"], "SignIn");
    assert_eq!(records[6]["event_source"], "workspaces-portal");
    let ids: HashSet<&str> = records.iter().map(|r| r["event_id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 7, "event IDs are unique");
    for id in [&reboot_id, &partial_id, &invalid_id, &denied_id, &read_id] {
        assert!(
            ids.contains(id.as_deref().unwrap()),
            "the response's event ID {id:?} is recorded"
        );
    }

    let ok = auditor.record_json(reboot_id.as_deref().unwrap()).await;
    assert_eq!(ok["eventVersion"], "1.08");
    assert_eq!(ok["eventSource"], "workspaces.amazonaws.com");
    assert_eq!(ok["eventName"], "RebootWorkspaces");
    assert_eq!(ok["eventType"], "AwsApiCall");
    assert_eq!(ok["readOnly"], false);
    assert_eq!(ok["awsRegion"], "us-east-1");
    assert_eq!(ok["recipientAccountId"], "123456789012");
    assert_eq!(ok["sourceIPAddress"], "127.0.0.1");
    assert_eq!(ok["userAgent"], "audit-test/1.0");
    assert_eq!(ok["userIdentity"]["type"], "PortalUser");
    assert_eq!(ok["userIdentity"]["userName"], "auditor");
    assert_eq!(ok["userIdentity"]["portalRole"], "admin");
    assert!(ok["userIdentity"]["sessionId"].as_str().is_some_and(|s| s.len() == 16));
    assert_eq!(
        ok["requestParameters"],
        json!({ "rebootWorkspaceRequests": [{ "workspaceId": a }] })
    );
    assert_eq!(ok["responseElements"]["failedRequests"], json!([]));
    assert_eq!(ok["responseElements"]["succeededWorkspaceIds"], json!([a]));
    assert!(ok.get("errorCode").is_none());
    assert!(
        ok["requestID"].as_str().is_some_and(|r| !r.is_empty()),
        "the AWS request ID is kept"
    );
    assert_eq!(ok["additionalEventData"]["outcome"], "completed");
    assert_eq!(
        ok["resources"][0]["ARN"],
        format!("arn:aws:workspaces:us-east-1:123456789012:workspace/{a}")
    );
    assert!(ok["eventTime"].as_str().unwrap().ends_with('Z'));

    let partial = auditor.record_json(partial_id.as_deref().unwrap()).await;
    assert!(partial.get("errorCode").is_none(), "the call itself succeeded");
    assert_eq!(partial["additionalEventData"]["failedItems"], 1);
    assert_eq!(
        partial["responseElements"]["failedRequests"][0]["errorCode"],
        "ResourceNotFoundException"
    );
    assert_eq!(
        partial["responseElements"]["failedRequests"][0]["workspaceId"],
        "ws-zzzzzzzz9"
    );

    let invalid = auditor.record_json(invalid_id.as_deref().unwrap()).await;
    assert_eq!(invalid["errorCode"], "ValidationError");
    assert!(invalid["errorMessage"].as_str().unwrap().starts_with("ids[0]:"));
    assert_eq!(
        invalid["requestParameters"]["stopWorkspaceRequests"][0]["workspaceId"],
        "not-an-id"
    );
    assert!(invalid["requestID"].is_null(), "nothing was sent to AWS");

    let denied = auditor.record_json(denied_id.as_deref().unwrap()).await;
    assert_eq!(denied["eventName"], "CreateTags");
    assert_eq!(denied["errorCode"], "AccessDeniedException");
    assert!(
        denied["requestID"].as_str().is_some(),
        "the failed call's request ID is kept"
    );

    let read = auditor.record_json(read_id.as_deref().unwrap()).await;
    assert_eq!(read["readOnly"], true);
    assert_eq!(read["eventName"], "DescribeWorkspaces");
    assert!(read["responseElements"].is_null(), "reads do not copy their answers");

    // Read-only events are hidden unless asked for; errors-only finds the failures.
    let writes = auditor.records(&[]).await;
    assert_eq!(writes.len(), 5, "four writes and the sign-in");
    let errors = auditor.records(&[("errors", "1")]).await;
    let names: Vec<&str> = errors.iter().map(|r| r["event_name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["CreateTags", "StopWorkspaces", "RebootWorkspaces"]);
    // A WorkSpace's history is one query.
    let history = auditor.records(&[("resource", b), ("reads", "1")]).await;
    let names: Vec<&str> = history.iter().map(|r| r["event_name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["DescribeWorkspaces", "RebootWorkspaces"]);

    let (db, key) = p.config.open_database().await.unwrap();
    let v = audit::verify(&db, &key).await.unwrap();
    assert_eq!(v.problem, None);
    assert_eq!(v.records, 7);
}

#[tokio::test]
async fn bad_filters_are_refused_with_the_field() {
    let (p, auditor) = portal().await;
    let (status, body, _) = call(&auditor, "audit/list", &[("query[from]", "yesterday")]).await;
    assert_eq!(status, 400);
    assert_eq!(body["field"], "from");
    let bad = auditor
        .http
        .get(p.url("/api/audit/export?format=xml"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 400);
    let body: Value = bad.json().await.unwrap();
    assert_eq!(body["field"], "format");
    let (status, _, _) = call(&auditor, "audit/get", &[("event_id", "no-such-event")]).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn unreadable_arguments_are_refused_with_the_reason_and_recorded() {
    let (p, auditor) = portal().await;
    // A form without the field the function needs; JSON naming an action that does not exist.
    let (status, body, _) = call(&auditor, "workspaces/get", &[("workspace", "ws-00000001")]).await;
    assert_eq!(
        (status, body["kind"].as_str(), body["field"].as_str()),
        (400, Some("validation"), Some("request")),
        "{body}"
    );
    assert!(
        body["message"].as_str().unwrap().contains("`id`"),
        "the missing field is named: {body}"
    );
    let (status, body, _) = batch(&auditor, "explode", &["ws-00000001"]).await;
    assert_eq!((status, body["field"].as_str()), (400, Some("request")), "{body}");
    assert!(body["message"].as_str().unwrap().contains("explode"), "{body}");
    // Not signed in: told to sign in first, nothing about the arguments. Sign-in needs no
    // session, so its own unreadable request is told the reason.
    let anonymous = p.anonymous("anonymous/1.0").http;
    for (endpoint, form, expected) in [
        ("workspaces/get", ("x", "y"), (401, json!({ "kind": "unauthorized" }))),
        (
            "auth/sign-in",
            ("name", "x"),
            (
                400,
                json!({ "kind": "validation", "field": "request", "message": "missing field `password`" }),
            ),
        ),
    ] {
        let response = anonymous
            .post(p.url(&format!("/api/{endpoint}")))
            .form(&[form])
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        assert_eq!(
            (status, response.json::<Value>().await.unwrap()),
            expected,
            "{endpoint}"
        );
    }

    // Every attempt is in the audit log, with what was called and why it was refused. The
    // anonymous call of a function that needs a session is refused before its body is read, as
    // the operation it names.
    let records = auditor.records(&[("event", "InvalidRequest")]).await;
    let seen: Vec<(&str, &str)> = records
        .iter()
        .map(|r| (r["user_name"].as_str().unwrap(), r["error_code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        seen,
        [
            ("anonymous", "ValidationError"),
            ("auditor", "ValidationError"),
            ("auditor", "ValidationError")
        ],
        "{records:#?}"
    );
    let early = auditor
        .records(&[("event", "DescribeWorkspaces"), ("errors", "1"), ("reads", "1")])
        .await;
    assert_eq!(early.len(), 1, "{early:#?}");
    assert_eq!(
        (early[0]["user_name"].as_str(), early[0]["error_code"].as_str()),
        (Some("anonymous"), Some("AccessDenied"))
    );
    let get = auditor.record_json(records[2]["event_id"].as_str().unwrap()).await;
    assert_eq!(get["requestParameters"]["endpoint"], "workspaces/get", "{get}");
    assert!(get["errorMessage"].as_str().unwrap().contains("`id`"), "{get}");
}

#[tokio::test]
async fn an_export_holds_exactly_what_the_page_shows() {
    let (p, auditor) = portal().await;
    let available = ids_in_state(&auditor, "AVAILABLE").await;
    for id in &available[..3] {
        call(
            &auditor,
            "workspaces/tags/set",
            &[("id", id), ("key", "k"), ("value", "v")],
        )
        .await;
        batch(&auditor, "reboot", &[id]).await;
    }
    call(&auditor, "workspaces/get", &[("id", &available[0])]).await;

    for filters in [
        vec![("event", "RebootWorkspaces")],
        vec![("resource", available[0].as_str()), ("reads", "1")],
        vec![],
    ] {
        let shown: Vec<String> = auditor
            .records(&filters)
            .await
            .iter()
            .map(|r| r["event_id"].as_str().unwrap().to_string())
            .collect();
        let qs: String = filters.iter().map(|(k, v)| format!("&{k}={v}")).collect();

        let response = auditor
            .http
            .get(p.url(&format!("/api/audit/export?format=cloudtrail{qs}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        assert!(response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment"));
        let export: Value = response.json().await.unwrap();
        let mut exported: Vec<String> = export["Records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["eventID"].as_str().unwrap().to_string())
            .collect();
        exported.reverse(); // exports run oldest first, the page newest first
        assert_eq!(exported, shown, "filters {filters:?}");

        let csv = auditor
            .http
            .get(p.url(&format!("/api/audit/export?format=csv{qs}")))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert!(lines[0].starts_with("eventTime,eventID,eventSource,eventName"));
        assert_eq!(lines.len() - 1, shown.len(), "filters {filters:?}");
        for id in &shown {
            assert!(csv.contains(id.as_str()));
        }
    }

    // A hostile value (sent as a WorkSpace ID, refused, recorded) stays one quoted, inert field.
    let (status, ..) = call(
        &auditor,
        "workspaces/tags/set",
        &[("id", "=cmd|' /C calc'!A0,\"x\""), ("key", "k"), ("value", "v")],
    )
    .await;
    assert_eq!(status, 400);
    let csv = auditor
        .http
        .get(p.url("/api/audit/export?format=csv&errors=1"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let line = csv.lines().last().unwrap();
    assert!(line.contains(",CreateTags,"), "{line}");
    assert!(line.contains("ValidationError"), "{line}");
    assert!(
        line.ends_with(",0,completed,\"'=cmd|' /C calc'!A0,\"\"x\"\"\""),
        "{line}"
    );

    // The command line exports the same set.
    let output = audit_cli(
        &p.config,
        &["export", "--format", "cloudtrail", "--event", "RebootWorkspaces"],
    )
    .await;
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let export: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(export["Records"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn answers_say_how_long_they_waited_for_the_audit_log_and_the_page_sees_them_at_once() {
    let (p, auditor) = portal().await;
    let id = ids_in_state(&auditor, "AVAILABLE").await.remove(0);
    for (endpoint, form) in [
        (
            "workspaces/tags/set",
            vec![("id", id.as_str()), ("key", "team"), ("value", "blue")],
        ),
        ("workspaces/get", vec![("id", id.as_str())]),
    ] {
        let asked = std::time::Instant::now();
        let response = auditor
            .http
            .post(p.url(&format!("/api/{endpoint}")))
            .form(&form)
            .send()
            .await
            .unwrap();
        let took_ms = asked.elapsed().as_secs_f64() * 1000.0;
        assert_eq!(response.status(), 200, "{endpoint}");
        let timing = response.headers()["server-timing"].to_str().unwrap().to_string();
        let event_id = response.headers()["x-portal-event-id"].to_str().unwrap().to_string();
        let waited: f64 = timing
            .strip_prefix("audit;dur=")
            .and_then(|rest| rest.strip_suffix(";desc=\"audit log\""))
            .unwrap_or_else(|| panic!("{endpoint}: Server-Timing {timing}"))
            .parse()
            .unwrap();
        assert!(
            (0.0..took_ms).contains(&waited),
            "{endpoint}: {waited} ms of {took_ms} ms"
        );
        // The outcome is sealed after the answer, but the audit page waits for it.
        let (status, detail, _) = call(&auditor, "audit/get", &[("event_id", event_id.as_str())]).await;
        assert_eq!(status, 200, "{detail}");
        assert_eq!(detail["row"]["outcome"], "completed", "{endpoint}: {detail}");
        assert!(
            detail["chain_seq"].as_i64().is_some(),
            "{endpoint}: sealed into the chain"
        );
    }
    // A request still under way is found too: started, not sealed yet.
    let mut record = test_record(1, "2026-11-22T10:00:00.000Z");
    record.additional_event_data.outcome = Outcome::Started;
    let event_id = record.event_id.clone();
    p.running.portal.pipeline.audit().begin(record).await.unwrap();
    let (status, detail, _) = call(&auditor, "audit/get", &[("event_id", event_id.as_str())]).await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["row"]["outcome"], "started");
    assert!(detail["chain_seq"].is_null(), "{detail}");
}

#[tokio::test]
async fn no_audit_no_action() {
    let (p, auditor) = portal().await;
    let id = ids_in_state(&auditor, "AVAILABLE").await.remove(0);
    // The audit log's storage goes away.
    tamper(
        p.db(),
        &[
            "DROP TABLE audit_resources",
            "DROP TABLE audit_records",
            "DROP TABLE audit_pending",
        ],
    )
    .await;
    let (status, body, _) = batch(&auditor, "stop", &[&id]).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["kind"], "unavailable");
    assert!(body["message"].as_str().unwrap().contains("audit log"));
    // A read's answer is withheld too: nothing leaves the portal unrecorded.
    let (status, body, _) = call(&auditor, "workspaces/get", &[("id", id.as_str())]).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["kind"], "unavailable");
    assert!(
        body.get("workspace").is_none() && !body.to_string().contains("AVAILABLE"),
        "{body}"
    );
    // Nothing reached WorkSpaces: the WorkSpace is still AVAILABLE.
    let described = p
        .emulator()
        .dispatch(
            "DescribeWorkspaces",
            format!(r#"{{"WorkspaceIds":["{id}"]}}"#).as_bytes(),
        )
        .unwrap();
    let described: Value = serde_json::from_slice(&described).unwrap();
    assert_eq!(described["Workspaces"][0]["State"], "AVAILABLE");
}

// ---------------------------------------------------------------------------------------------
// Tamper evidence, on a log written directly

/// A time `seconds_ago` before now, in the audit log's form.
pub(crate) fn recent(seconds_ago: usize) -> String {
    record::utc_text(std::time::SystemTime::now() - Duration::from_secs(seconds_ago as u64))
}

pub(crate) fn test_record(n: usize, time: &str) -> AuditRecord {
    let ws = format!("ws-{:09}", n);
    AuditRecord {
        event_version: record::EVENT_VERSION.into(),
        user_identity: UserIdentity::anonymous(),
        event_time: time.into(),
        event_source: record::WORKSPACES_SOURCE.into(),
        event_name: if n % 3 == 0 {
            "DescribeWorkspaces"
        } else {
            "RebootWorkspaces"
        }
        .into(),
        aws_region: "us-east-1".into(),
        source_ip_address: format!("10.0.0.{}", n % 7),
        user_agent: "test".into(),
        request_parameters: json!({ "rebootWorkspaceRequests": [{ "workspaceId": ws }] }),
        response_elements: Value::Null,
        error_code: None,
        error_message: None,
        request_id: Some(format!("req-{n}")),
        event_id: record::event_id(),
        read_only: n % 3 == 0,
        resources: Vec::new(),
        event_type: "AwsApiCall".into(),
        management_event: true,
        recipient_account_id: Some("123456789012".into()),
        event_category: "Management".into(),
        additional_event_data: PortalData {
            outcome: Outcome::Completed,
            portal_action: "test".into(),
            resource_ids: vec![ws],
            ..Default::default()
        },
    }
}

/// A log of `n` records with a checkpoint at the end.
pub(crate) async fn written_log(n: usize) -> (db::Db, AuditKey, AuditLog, Config) {
    let config = test_config();
    let (db, key) = config.open_database().await.unwrap();
    let log = AuditLog::open(db.clone(), AuditSettings::new(key.clone()))
        .await
        .unwrap();
    for i in 1..=n {
        log.append(test_record(i, &recent(i % 2))).await.unwrap();
    }
    log.checkpoint().await.unwrap();
    (db, key, log, config)
}

/// Edits the stored log behind the portal's back, as an attacker with database access would.
pub(crate) async fn tamper(db: &db::Db, statements: &[&str]) {
    for sql in statements {
        sqlx::query(sql).execute(db).await.unwrap();
    }
}

pub(crate) async fn problem(db: &db::Db, key: &AuditKey) -> audit::Problem {
    audit::verify(db, key)
        .await
        .unwrap()
        .problem
        .expect("verification fails")
}

#[tokio::test]
async fn an_intact_log_verifies() {
    let (db, key, _log, config) = written_log(20).await;
    let v = audit::verify(&db, &key).await.unwrap();
    assert_eq!((v.records, v.checkpoints, v.problem), (20, 1, None));
    let output = audit_cli(&config, &["verify"]).await;
    assert_eq!(output.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&output.stdout).contains("verified: 20 records"));
}

#[tokio::test]
async fn a_changed_record_is_named() {
    let (db, key, _log, config) = written_log(10).await;
    tamper(
        &db,
        &["UPDATE audit_records SET record = replace(record, '\"10.0.0.', '\"10.9.9.') WHERE chain_seq = 4"],
    )
    .await;
    let p = problem(&db, &key).await;
    assert_eq!(p.chain_seq, 4, "{p}");
    assert!(p.reason.contains("changed"), "{p}");

    // The command line says the same, with a non-zero exit.
    let output = audit_cli(&config, &["verify"]).await;
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("BROKEN at record #4"), "{stdout}");
}

#[tokio::test]
async fn a_changed_search_column_is_named() {
    let (db, key, ..) = written_log(10).await;
    tamper(
        &db,
        &["UPDATE audit_records SET user_name = 'someone-else' WHERE chain_seq = 6"],
    )
    .await;
    let p = problem(&db, &key).await;
    assert_eq!(p.chain_seq, 6);
    assert!(p.reason.contains("user_name"), "{p}");
}

#[tokio::test]
async fn a_deleted_record_is_named() {
    let (db, key, ..) = written_log(10).await;
    tamper(&db, &["DELETE FROM audit_records WHERE chain_seq = 5"]).await;
    let p = problem(&db, &key).await;
    assert_eq!(p.chain_seq, 6, "{p}");
    assert!(p.reason.contains("removed"), "{p}");

    // Renumbering to hide the gap breaks the predecessor hash instead.
    tamper(
        &db,
        &[
            "UPDATE audit_records SET chain_seq = -chain_seq WHERE chain_seq > 5",
            "UPDATE audit_records SET chain_seq = -chain_seq - 1 WHERE chain_seq < 0",
        ],
    )
    .await;
    let p = problem(&db, &key).await;
    assert_eq!(p.chain_seq, 5, "{p}");
}

#[tokio::test]
async fn reordered_records_are_named() {
    let (db, key, ..) = written_log(10).await;
    // Swap the positions of records 3 and 7.
    tamper(
        &db,
        &[
            "UPDATE audit_records SET chain_seq = -1 WHERE chain_seq = 3",
            "UPDATE audit_records SET chain_seq = 3 WHERE chain_seq = 7",
            "UPDATE audit_records SET chain_seq = 7 WHERE chain_seq = -1",
        ],
    )
    .await;
    let p = problem(&db, &key).await;
    assert_eq!(p.chain_seq, 3, "{p}");
}

#[tokio::test]
async fn records_cut_from_the_end_are_caught_by_the_signed_checkpoint() {
    let (db, key, ..) = written_log(10).await;
    tamper(&db, &["DELETE FROM audit_records WHERE chain_seq > 8"]).await;
    let p = problem(&db, &key).await;
    assert_eq!(p.chain_seq, 10, "{p}");
    assert!(p.reason.contains("end"), "{p}");

    // Rewriting the chain from a record on, hashes recomputed, is caught by the checkpoint…
    let (db, key, ..) = written_log(5).await;
    tamper(
        &db,
        &["UPDATE audit_records SET record = replace(record, '\"10.0.0.', '\"10.9.9.') WHERE chain_seq = 3"],
    )
    .await;
    let mut prev: String = sqlx::query_scalar("SELECT hash FROM audit_records WHERE chain_seq = 2")
        .fetch_one(&db)
        .await
        .unwrap();
    for seq in 3..=5i64 {
        let json: String = sqlx::query_scalar("SELECT record FROM audit_records WHERE chain_seq = ?")
            .bind(seq)
            .fetch_one(&db)
            .await
            .unwrap();
        let hash = audit::chain_hash(&prev, seq, &json);
        sqlx::query("UPDATE audit_records SET prev_hash = ?, hash = ?, source_ip = ? WHERE chain_seq = ?")
            .bind(&prev)
            .bind(&hash)
            .bind(
                serde_json::from_str::<Value>(&json).unwrap()["sourceIPAddress"]
                    .as_str()
                    .unwrap(),
            )
            .bind(seq)
            .execute(&db)
            .await
            .unwrap();
        prev = hash;
    }
    let p = problem(&db, &key).await;
    assert_eq!(p.chain_seq, 5, "{p}");
    assert!(p.reason.contains("rewritten"), "{p}");
    // …and so is a checkpoint moved to the new hash without the key.
    sqlx::query("UPDATE audit_checkpoints SET hash = ? WHERE chain_seq = 5")
        .bind(&prev)
        .execute(&db)
        .await
        .unwrap();
    let p = problem(&db, &key).await;
    assert!(p.reason.contains("signature"), "{p}");
    // A different key does not accept the real checkpoints either.
    let (db, ..) = written_log(3).await;
    let other_key = AuditKey::from_secret(vec![7; 32]);
    assert!(problem(&db, &other_key).await.reason.contains("signature"));
}

#[tokio::test]
async fn retention_prunes_old_records_and_the_rest_still_verifies() {
    let config = test_config();
    let (db, key) = config.open_database().await.unwrap();
    let log = AuditLog::open(db.clone(), AuditSettings::new(key.clone()))
        .await
        .unwrap();
    for i in 1..=6 {
        log.append(test_record(i, "2020-01-01T00:00:00.000Z")).await.unwrap();
    }
    log.checkpoint().await.unwrap();
    for i in 7..=10 {
        log.append(test_record(i, &recent(3))).await.unwrap();
    }
    log.checkpoint().await.unwrap();
    let pruned = log.prune_before("2026-01-01T00:00:00.000Z".into()).await.unwrap();
    assert_eq!(pruned, 6);
    let v = audit::verify(&db, &key).await.unwrap();
    assert_eq!((v.first_seq, v.last_seq, v.records, v.problem), (7, 10, 4, None));
    let resources: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_resources")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(resources, 4, "the index of pruned records goes with them");

    // New records continue the chain; a reopened log does too.
    log.append(test_record(11, &recent(2))).await.unwrap();
    drop(log);
    let log = AuditLog::open(db.clone(), AuditSettings::new(key.clone()))
        .await
        .unwrap();
    log.append(test_record(12, &recent(1))).await.unwrap();
    let v = audit::verify(&db, &key).await.unwrap();
    assert_eq!((v.last_seq, v.problem), (12, None));

    // Deleting the first kept record is still caught, thanks to the anchor.
    tamper(&db, &["DELETE FROM audit_records WHERE chain_seq = 7"]).await;
    assert_eq!(problem(&db, &key).await.chain_seq, 8);
}

// ---------------------------------------------------------------------------------------------
// A crash in the middle of writes

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn killing_the_server_mid_writes_leaves_a_chain_that_verifies_and_no_request_unrecorded() {
    let config = test_config();
    // The writer is added with the command line (password on standard input).
    let mut add = std::process::Command::new(env!("CARGO_BIN_EXE_workspaces-portal"))
        .args([
            "user",
            "add",
            "--name",
            "writer",
            "--role",
            "operator",
            "--database-url",
            &config.database_url,
        ])
        .arg("--audit-key-file")
        .arg(&config.audit_key_file)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        writeln!(add.stdin.take().unwrap(), "{PASSWORD}").unwrap();
    }
    assert!(add.wait().unwrap().success(), "user add succeeds");
    let port = free_port();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_workspaces-portal"))
        .args([
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--database-url",
            &config.database_url,
        ])
        .arg("--audit-key-file")
        .arg(&config.audit_key_file)
        .args([
            "--emulator-seed-workspaces",
            "30",
            "--emulator-transition-delay-ms",
            "50",
        ])
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // It says when it listens.
    let mut log = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(child.stderr.take().unwrap()));
    let listening = tokio::time::timeout(Duration::from_secs(60), async {
        while let Ok(Some(line)) = log.next_line().await {
            if line.contains("WorkSpaces Portal listening") {
                return true;
            }
        }
        false
    });
    assert!(listening.await.unwrap_or(false), "the portal did not start");
    // Keep reading its log, so that it never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = log.next_line().await {} });
    let base = format!("http://127.0.0.1:{port}");
    let session = Session::new(&base, "kill-test");
    assert_eq!(session.sign_in("writer", PASSWORD).await, 200);
    let http = session.http.clone();
    let list: Value = http
        .post(format!("{base}/api/workspaces/list"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<String> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["id"].as_str().unwrap().to_string())
        .collect();

    // Eight clients write tags as fast as they can; the server is killed meanwhile.
    let answered = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let mut clients = Vec::new();
    for c in 0..8 {
        let (http, base, ids, answered) = (http.clone(), base.clone(), ids.clone(), answered.clone());
        clients.push(tokio::spawn(async move {
            for n in 0.. {
                let id = &ids[(c * 3 + n) % ids.len()];
                let value = n.to_string();
                let sent = http
                    .post(format!("{base}/api/workspaces/tags/set"))
                    .form(&[("id", id.as_str()), ("key", "load"), ("value", value.as_str())])
                    .send()
                    .await;
                match sent {
                    Ok(response) => {
                        if let Some(event) = response.headers().get("x-portal-event-id") {
                            answered.lock().unwrap().push(event.to_str().unwrap().to_string());
                        }
                    }
                    Err(_) => return,
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // SIGKILL: no chance to flush or clean up.
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    for c in clients {
        c.await.unwrap();
    }
    let answered = answered.lock().unwrap().clone();
    assert!(answered.len() > 20, "the load ran ({} answers)", answered.len());

    // Straight after the crash: the chain verifies (interrupted requests are reported apart).
    let verify = audit_cli(&config, &["verify"]).await;
    let out = String::from_utf8_lossy(&verify.stdout);
    assert_eq!(verify.status.code(), Some(0), "{out}");

    let (db, key) = config.open_database().await.unwrap();
    // Every request that got an answer has its record. Its outcome is sealed by the audit
    // writer after the answer, just after the next request's start at the latest: only a
    // client's last two answered requests can have lost their outcome to the crash (they are
    // still pending, sealed below).
    let mut pending = 0;
    for event_id in &answered {
        let outcome: Option<String> = sqlx::query_scalar("SELECT outcome FROM audit_records WHERE event_id = ?")
            .bind(event_id)
            .fetch_optional(&db)
            .await
            .unwrap();
        match outcome.as_deref() {
            Some("completed") => {}
            None => {
                let started: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_pending WHERE event_id = ?")
                    .bind(event_id)
                    .fetch_one(&db)
                    .await
                    .unwrap();
                assert_eq!(started, 1, "{event_id} answered without a record");
                pending += 1;
            }
            other => panic!("{event_id}: outcome {other:?}"),
        }
    }
    assert!(
        pending <= 16,
        "{pending} answered requests lost their outcome (at most two per client)"
    );

    // The next start seals interrupted requests as 'unknown'; all still verifies.
    let log = AuditLog::open(db.clone(), AuditSettings::new(key.clone()))
        .await
        .unwrap();
    let v = audit::verify(&db, &key).await.unwrap();
    assert_eq!(v.problem, None);
    assert_eq!(v.unsealed, 0);
    assert!(
        v.records as usize > answered.len(),
        "the sign-in and every answered request"
    );
    let started: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_records WHERE outcome = 'started'")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(started, 0);
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_pending")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(left, 0);
    for event_id in &answered {
        let outcome: String = sqlx::query_scalar("SELECT outcome FROM audit_records WHERE event_id = ?")
            .bind(event_id)
            .fetch_one(&db)
            .await
            .unwrap();
        assert!(outcome == "completed" || outcome == "unknown", "{event_id}: {outcome}");
    }
    drop(log);
}

#[tokio::test]
async fn the_command_line_refuses_a_missing_database_or_key_instead_of_creating_one() {
    let config = test_config();
    let output = audit_cli(&config, &["verify"]).await;
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--database-url"));
    let db_file = config.database_url.trim_start_matches("sqlite://");
    assert!(!std::path::Path::new(db_file).exists(), "no empty database was created");
}

#[tokio::test]
async fn a_large_export_has_every_record_once_in_order() {
    // 4,500 records on two distinct times: the order holds within runs of equal times.
    let (db, ..) = written_log(4500).await;
    for format in [audit::ExportFormat::CloudTrail, audit::ExportFormat::Csv] {
        let (tx, mut rx) = tokio::sync::mpsc::channel(4);
        let filter = audit::Filter {
            reads: true,
            ..Default::default()
        };
        let task = tokio::spawn(audit::export(db.clone(), filter, format, tx));
        let mut bytes = Vec::new();
        while let Some(chunk) = rx.recv().await {
            bytes.extend(chunk.unwrap());
        }
        assert_eq!(task.await.unwrap().unwrap(), 4500);
        let text = String::from_utf8(bytes).unwrap();
        let (ids, times): (Vec<String>, Vec<String>) = match format {
            audit::ExportFormat::CloudTrail => {
                let export: Value = serde_json::from_str(&text).unwrap();
                export["Records"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| {
                        (
                            r["eventID"].as_str().unwrap().to_string(),
                            r["eventTime"].as_str().unwrap().to_string(),
                        )
                    })
                    .unzip()
            }
            audit::ExportFormat::Csv => text
                .lines()
                .skip(1)
                .map(|l| {
                    let f: Vec<&str> = l.split(',').collect();
                    (f[1].to_string(), f[0].to_string())
                })
                .unzip(),
        };
        assert_eq!(ids.len(), 4500, "{format:?}");
        assert_eq!(
            ids.iter().collect::<HashSet<_>>().len(),
            4500,
            "{format:?}: each record once"
        );
        assert!(times.windows(2).all(|w| w[0] <= w[1]), "{format:?}: oldest first");
    }
}
