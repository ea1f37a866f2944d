//! Two-person approval: who may ask and review, what is frozen, what is checked when the last
//! approval arrives, and that an approved request is carried out exactly once.

use std::time::{Duration, Instant};

use app::identity::Role;
use portal_server::Config;
use serde_json::{json, Value};

use crate::harness::{fleet_config, Session, TestPortal};

/// A portal with 10 WorkSpaces that stay put (long transitions), terminate and rebuild gated.
fn config() -> Config {
    fleet_config(10, 60_000)
}

struct Team {
    p: TestPortal,
    operator: Session,
    approver: Session,
    admin: Session,
}

async fn team(config: Config) -> Team {
    let p = TestPortal::start(config).await;
    let operator = p.signed_in("olivia", Role::Operator, "approvals-test").await;
    let approver = p.signed_in("aaron", Role::Approver, "approvals-test").await;
    let admin = p.signed_in("ada", Role::Admin, "approvals-test").await;
    Team {
        p,
        operator,
        approver,
        admin,
    }
}

async fn available(s: &Session, n: usize) -> Vec<String> {
    let ids = s.ids_where(&[("query[state]", "AVAILABLE")]).await;
    assert!(ids.len() >= n, "{ids:?}");
    ids.into_iter().take(n).collect()
}

async fn request(s: &Session, action: &str, ids: &[String], reason: &str) -> (u16, Value) {
    s.json(
        "approvals/request",
        json!({ "action": action, "ids": ids, "reason": reason }),
    )
    .await
    .pair()
}

/// Asks for `action` on `ids`; the request's ID.
async fn asked(s: &Session, action: &str, ids: &[String]) -> String {
    let (status, body) = request(s, action, ids, "leavers of November, ticket 4711").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["state"], "pending");
    body["id"].as_str().unwrap().to_string()
}

async fn detail(s: &Session, id: &str) -> Value {
    let (status, body) = s.form("approvals/get", &[("id", id)]).await.pair();
    assert_eq!(status, 200, "{body}");
    body
}

async fn approve(s: &Session, id: &str, hash: &str, comment: &str) -> (u16, Value) {
    s.form("approvals/approve", &[("id", id), ("hash", hash), ("comment", comment)])
        .await
        .pair()
}

/// Waits until the request is in a state other than pending/executing; that state.
async fn settled_state(s: &Session, id: &str) -> Value {
    for _ in 0..200 {
        let d = detail(s, id).await;
        if !matches!(d["summary"]["state"].as_str(), Some("pending" | "executing")) {
            return d;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{id} did not finish");
}

fn message(body: &Value) -> &str {
    body["message"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn a_direct_call_of_a_gated_action_is_refused_and_recorded_and_changes_nothing() {
    let t = team(config()).await;
    let id = available(&t.admin, 1).await.remove(0);
    let (status, body) = t
        .admin
        .json(
            "workspaces/batch",
            json!({ "action": "terminate", "ids": [id], "confirm": "terminate" }),
        )
        .await
        .pair();
    assert_eq!(status, 403, "{body}");
    assert!(message(&body).contains("needs an approved request"), "{body}");
    assert_eq!(t.p.emulator().calls("TerminateWorkspaces"), 0);
    assert_eq!(t.admin.state_of(&id).await, "AVAILABLE");
    let refused = t
        .admin
        .records(&[("event", "TerminateWorkspaces"), ("errors", "1")])
        .await;
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0]["error_code"], "AccessDenied");
    assert_eq!(refused[0]["user_name"], "ada");
    // Starting is not gated.
    assert_eq!(t.operator.batch("start", &[&id]).await.status, 200);
}

#[tokio::test]
async fn the_request_is_checked_field_by_field_and_a_refusal_stores_nothing() {
    let t = team(config()).await;
    let ids = available(&t.operator, 2).await;
    let cases: [(Value, &str); 4] = [
        (
            json!({ "action": "TerminateWorkspaces", "ids": ids, "reason": "too short" }),
            "reason",
        ),
        (
            json!({ "action": "StartWorkspaces", "ids": ids, "reason": "a long enough reason" }),
            "action",
        ),
        (
            json!({ "action": "StopWorkspaces", "ids": ids, "reason": "a long enough reason" }),
            "action",
        ),
        (
            json!({ "action": "TerminateWorkspaces", "ids": ["ws-nothere0"], "reason": "a long enough reason" }),
            "ids",
        ),
    ];
    for (args, field) in cases {
        let (status, body) = t.operator.json("approvals/request", args.clone()).await.pair();
        assert_eq!(status, 400, "{args}: {body}");
        assert_eq!(body["field"], field, "{args}: {body}");
    }
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM approval_requests")
        .fetch_one(t.p.db())
        .await
        .unwrap();
    assert_eq!(rows, 0);
    // Each attempt is in the audit log.
    t.p.settled().await;
    let attempts = t.admin.records(&[("event", "CreateApprovalRequest")]).await;
    assert_eq!(attempts.len(), 4);
    // A viewer may not ask at all.
    let viewer = t.p.signed_in("vera", Role::Viewer, "approvals-test").await;
    let (status, _) = request(&viewer, "TerminateWorkspaces", &ids, "a long enough reason").await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn nobody_reviews_their_own_request_nor_one_on_their_own_workspace() {
    let t = team(config()).await;
    let ids = available(&t.operator, 2).await;
    // The second WorkSpace belongs to the approver.
    t.p.emulator()
        .write()
        .reassign(&ids[1], "AARON", Instant::now())
        .unwrap();

    // An admin asks; the admin cannot approve their own request.
    let own = asked(&t.admin, "TerminateWorkspaces", &ids[..1]).await;
    let hash = detail(&t.admin, &own).await["hash"].as_str().unwrap().to_string();
    let (status, body) = approve(&t.admin, &own, &hash, "").await;
    assert_eq!(status, 403, "{body}");
    assert!(message(&body).contains("you asked for it"), "{body}");
    assert!(detail(&t.admin, &own).await["cannot_review"]
        .as_str()
        .is_some_and(|w| w.contains("you asked")));

    // The approver cannot approve a request on their own WorkSpace (case-insensitively).
    let theirs = asked(&t.operator, "RebuildWorkspaces", &ids[1..]).await;
    let d = detail(&t.approver, &theirs).await;
    let hash = d["hash"].as_str().unwrap();
    let (status, body) = approve(&t.approver, &theirs, hash, "").await;
    assert_eq!(status, 403, "{body}");
    assert!(message(&body).contains("your own WorkSpace"), "{body}");
    // An operator may not review at all.
    let (status, _) = approve(&t.operator, &theirs, hash, "").await;
    assert_eq!(status, 403);
    assert_eq!(t.p.emulator().calls("TerminateWorkspaces"), 0);
    assert_eq!(t.p.emulator().calls("RebuildWorkspaces"), 0);
    // Both are still pending; each refusal is recorded.
    assert_eq!(detail(&t.admin, &theirs).await["summary"]["state"], "pending");
    let refusals = t.admin.records(&[("event", "ApproveRequest"), ("errors", "1")]).await;
    assert_eq!(refusals.len(), 3);
}

#[tokio::test]
async fn an_approval_names_the_hash_it_saw() {
    let t = team(config()).await;
    let ids = available(&t.operator, 1).await;
    let id = asked(&t.operator, "TerminateWorkspaces", &ids).await;
    let (status, body) = approve(&t.approver, &id, "0123abcd", "").await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["field"], "hash");
    assert_eq!(detail(&t.admin, &id).await["summary"]["state"], "pending");
}

#[tokio::test]
async fn an_approval_by_someone_since_demoted_no_longer_counts() {
    let mut c = config();
    c.approvals_needed = 2;
    let t = team(c).await;
    let bea = t.p.signed_in("bea", Role::Approver, "approvals-test").await;
    let cy = t.p.signed_in("cy", Role::Approver, "approvals-test").await;
    let ids = available(&t.operator, 1).await;
    let id = asked(&t.operator, "TerminateWorkspaces", &ids).await;
    let hash = detail(&t.approver, &id).await["hash"].as_str().unwrap().to_string();
    assert_eq!(approve(&t.approver, &id, &hash, "").await.0, 200);
    let demoted = t
        .admin
        .form("users/set-role", &[("name", "aaron"), ("role", "viewer")])
        .await
        .pair();
    assert_eq!(demoted.0, 200, "{}", demoted.1);
    // Two approvals given, one counts: still pending, nothing sent.
    let (status, body) = approve(&bea, &id, &hash, "").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["state"].as_str(), body["approvals"].as_u64()),
        (Some("pending"), Some(1)),
        "{body}"
    );
    assert_eq!(t.p.emulator().calls("TerminateWorkspaces"), 0);
    let d = detail(&t.admin, &id).await;
    let counts: Vec<(&str, bool)> = d["reviews"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["reviewer"].as_str().unwrap(), r["counts"].as_bool().unwrap()))
        .collect();
    assert_eq!(counts, [("aaron", false), ("bea", true)]);
    // A second approver who still is one completes it.
    assert_eq!(approve(&cy, &id, &hash, "").await.0, 200);
    assert_eq!(settled_state(&t.admin, &id).await["summary"]["state"], "executed");
    assert_eq!(t.p.emulator().calls("TerminateWorkspaces"), 1);
}

#[tokio::test]
async fn two_distinct_approvers_are_needed_when_two_are_configured() {
    let mut c = config();
    c.approvals_needed = 2;
    let t = team(c).await;
    let second = t.p.signed_in("bea", Role::Approver, "approvals-test").await;
    let ids = available(&t.operator, 2).await;
    let id = asked(&t.operator, "TerminateWorkspaces", &ids).await;
    let hash = detail(&t.approver, &id).await["hash"].as_str().unwrap().to_string();

    let (status, body) = approve(&t.approver, &id, &hash, "checked the leavers list").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["state"].as_str(), body["approvals"].as_u64()),
        (Some("pending"), Some(1))
    );
    // The same approver twice is one approval.
    let (status, body) = approve(&t.approver, &id, &hash, "").await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(t.p.emulator().calls("TerminateWorkspaces"), 0);

    let (status, body) = approve(&second, &id, &hash, "").await;
    assert_eq!(status, 200, "{body}");
    let done = settled_state(&t.admin, &id).await;
    assert_eq!(done["summary"]["state"], "executed", "{done}");
    assert_eq!(t.p.emulator().calls("TerminateWorkspaces"), 1);
    for item in done["outcome"].as_array().unwrap() {
        assert_eq!(item["outcome"], "accepted", "{item}");
    }
    for id in &ids {
        assert_eq!(t.admin.state_of(id).await, "TERMINATING");
    }
    let reviewers: Vec<&str> = done["reviews"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["reviewer"].as_str().unwrap())
        .collect();
    assert_eq!(reviewers, ["aaron", "bea"]);
}

#[tokio::test]
async fn one_rejection_ends_a_request_and_needs_a_reason() {
    let t = team(config()).await;
    let ids = available(&t.operator, 1).await;
    let id = asked(&t.operator, "RebuildWorkspaces", &ids).await;
    let hash = detail(&t.approver, &id).await["hash"].as_str().unwrap().to_string();
    let reject = |comment: &'static str| {
        let (s, id, hash) = (t.approver.clone(), id.clone(), hash.clone());
        async move {
            s.form(
                "approvals/reject",
                &[("id", &id), ("hash", &hash), ("comment", comment)],
            )
            .await
            .pair()
        }
    };
    let (status, body) = reject("  ").await;
    assert_eq!((status, body["field"].as_str()), (400, Some("comment")), "{body}");
    let (status, body) = reject("this WorkSpace is still in use by finance").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["state"], "rejected");
    // Once rejected, nobody can approve it.
    let (status, _) = approve(&t.admin, &id, &hash, "").await;
    assert_eq!(status, 409);
    let d = detail(&t.operator, &id).await;
    assert_eq!(d["reviews"][0]["comment"], "this WorkSpace is still in use by finance");
    assert_eq!(t.p.emulator().calls("RebuildWorkspaces"), 0);
    // Still listed, under every request.
    let (_, all) = t
        .operator
        .form("approvals/list", &[("query[tab]", "all"), ("query[state]", "rejected")])
        .await
        .pair();
    assert_eq!(all["items"][0]["id"], id.as_str());
}

#[tokio::test]
async fn a_second_pending_request_for_the_same_workspace_and_action_points_at_the_first() {
    let t = team(config()).await;
    let ids = available(&t.operator, 2).await;
    let first = asked(&t.operator, "TerminateWorkspaces", &ids[..1]).await;
    let (status, body) = request(&t.admin, "TerminateWorkspaces", &ids, "the whole team leaves today").await;
    assert_eq!(status, 409, "{body}");
    assert!(message(&body).contains(&first), "{body}");
    assert!(message(&body).contains(&ids[0]), "{body}");
    // Another action on the same WorkSpace is another request.
    asked(&t.operator, "RebuildWorkspaces", &ids[..1]).await;
    // Once the first is cancelled, it can be asked again.
    let (status, body) = t.operator.form("approvals/cancel", &[("id", &first)]).await.pair();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["state"], "cancelled");
    asked(&t.admin, "TerminateWorkspaces", &ids).await;
}

#[tokio::test]
async fn only_the_requester_or_an_admin_cancels() {
    let t = team(config()).await;
    let other = t.p.signed_in("otto", Role::Operator, "approvals-test").await;
    let ids = available(&t.operator, 2).await;
    let a = asked(&t.operator, "TerminateWorkspaces", &ids[..1]).await;
    let b = asked(&t.operator, "TerminateWorkspaces", &ids[1..]).await;
    let (status, body) = other.form("approvals/cancel", &[("id", &a)]).await.pair();
    assert_eq!(status, 403, "{body}");
    assert!(message(&body).contains("olivia"), "{body}");
    let (status, _) = t.approver.form("approvals/cancel", &[("id", &a)]).await.pair();
    assert_eq!(status, 403);
    assert_eq!(t.admin.form("approvals/cancel", &[("id", &a)]).await.status, 200);
    assert_eq!(t.operator.form("approvals/cancel", &[("id", &b)]).await.status, 200);
    // Cancelled is final.
    assert_eq!(t.operator.form("approvals/cancel", &[("id", &b)]).await.status, 409);
}

#[tokio::test]
async fn a_pending_request_expires_and_stays_visible() {
    let mut c = config();
    c.approval_ttl = Duration::from_secs(1);
    let t = team(c).await;
    let ids = available(&t.operator, 1).await;
    let id = asked(&t.operator, "TerminateWorkspaces", &ids).await;
    let hash = detail(&t.approver, &id).await["hash"].as_str().unwrap().to_string();
    tokio::time::sleep(Duration::from_millis(1_600)).await;
    let (status, body) = approve(&t.approver, &id, &hash, "").await;
    assert_eq!(status, 409, "{body}");
    assert!(message(&body).contains("expired"), "{body}");
    assert_eq!(detail(&t.operator, &id).await["summary"]["state"], "expired");
    assert_eq!(t.p.emulator().calls("TerminateWorkspaces"), 0);
    let (_, expired) = t
        .operator
        .form("approvals/list", &[("query[tab]", "all"), ("query[state]", "expired")])
        .await
        .pair();
    assert_eq!(expired["items"].as_array().unwrap().len(), 1, "{expired}");
    // Expiry is recorded, by the portal itself.
    t.p.settled().await;
    let expiry = t.admin.records(&[("event", "ExpireApprovalRequest")]).await;
    assert_eq!(expiry.len(), 1, "{expiry:?}");
    assert_eq!(expiry[0]["user_name"], "workspaces-portal");
}

#[tokio::test]
async fn a_workspace_that_changed_since_the_request_is_skipped_as_changed() {
    let t = team(config()).await;
    let ids = available(&t.operator, 3).await;
    let id = asked(&t.operator, "TerminateWorkspaces", &ids).await;
    // Behind the request's back, the second WorkSpace gets another user.
    t.p.emulator()
        .write()
        .reassign(&ids[1], "mallory", Instant::now())
        .unwrap();
    let d = detail(&t.approver, &id).await;
    assert_eq!(d["live"][1]["drifted"], true, "{d}");
    assert!(d["live"][1]["changes"][0].as_str().unwrap().contains("mallory"), "{d}");
    assert_eq!(d["live"][0]["drifted"], false);

    let (status, body) = approve(&t.approver, &id, d["hash"].as_str().unwrap(), "").await;
    assert_eq!(status, 200, "{body}");
    let done = settled_state(&t.admin, &id).await;
    assert_eq!(done["summary"]["state"], "executed");
    let outcomes: Vec<&str> = done["outcome"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["accepted", "changed", "accepted"]);
    assert_eq!(t.admin.state_of(&ids[0]).await, "TERMINATING");
    assert_eq!(
        t.admin.state_of(&ids[1]).await,
        "AVAILABLE",
        "the changed one is untouched"
    );
    assert_eq!(t.admin.state_of(&ids[2]).await, "TERMINATING");
}

#[tokio::test]
async fn the_execution_is_recorded_as_the_requester_with_the_approval_beside_it() {
    let t = team(config()).await;
    let ids = available(&t.operator, 1).await;
    let id = asked(&t.operator, "RebuildWorkspaces", &ids).await;
    let hash = detail(&t.approver, &id).await["hash"].as_str().unwrap().to_string();
    approve(&t.approver, &id, &hash, "ok, rebuild it").await;
    assert_eq!(settled_state(&t.admin, &id).await["summary"]["state"], "executed");
    t.p.settled().await;
    let rebuilt = t.admin.records(&[("event", "RebuildWorkspaces")]).await;
    assert_eq!(rebuilt.len(), 1, "{rebuilt:?}");
    assert_eq!(rebuilt[0]["user_name"], "olivia");
    let record = t.admin.record_json(rebuilt[0]["event_id"].as_str().unwrap()).await;
    assert_eq!(record["userIdentity"]["userName"], "olivia");
    let approval = &record["additionalEventData"]["approval"];
    assert_eq!(approval["requestId"], id.as_str());
    assert_eq!(approval["hash"], hash.as_str());
    assert_eq!(approval["approvers"], json!(["aaron"]));
    assert_eq!(approval["reason"], "leavers of November, ticket 4711");
    // The request's whole life is one search away.
    let history: Vec<String> = t
        .admin
        .records(&[("resource", &id)])
        .await
        .iter()
        .map(|r| r["event_name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        history,
        ["RebuildWorkspaces", "ApproveRequest", "CreateApprovalRequest"]
    );
}

#[tokio::test]
async fn a_request_edited_in_the_database_after_approval_is_refused_not_executed() {
    let t = team(config()).await;
    let ids = available(&t.operator, 2).await;
    let id = asked(&t.operator, "TerminateWorkspaces", &ids[..1]).await;
    let hash = detail(&t.approver, &id).await["hash"].as_str().unwrap().to_string();
    // Someone with the database swaps the WorkSpace the reviewers will approve.
    sqlx::query("UPDATE approval_requests SET frozen = replace(frozen, ?, ?) WHERE public_id = ?")
        .bind(&ids[0])
        .bind(&ids[1])
        .bind(&id)
        .execute(t.p.db())
        .await
        .unwrap();
    let (status, body) = approve(&t.approver, &id, &hash, "").await;
    assert_eq!(status, 200, "{body}");
    let done = settled_state(&t.admin, &id).await;
    assert_eq!(done["summary"]["state"], "refused", "{done}");
    assert_eq!(t.p.emulator().calls("TerminateWorkspaces"), 0);
    assert_eq!(t.admin.state_of(&ids[0]).await, "AVAILABLE");
    assert_eq!(t.admin.state_of(&ids[1]).await, "AVAILABLE");
    t.p.settled().await;
    let refused = t
        .admin
        .records(&[("event", "ExecuteApprovalRequest"), ("errors", "1")])
        .await;
    assert_eq!(refused.len(), 1, "{refused:?}");
}

#[tokio::test]
async fn racing_approvals_execute_the_request_exactly_once() {
    let t = team(config()).await;
    let mut approvers = Vec::new();
    for i in 0..50 {
        approvers.push(t.p.signed_in(&format!("approver{i}"), Role::Approver, "race").await);
    }
    let ids = available(&t.operator, 3).await;
    let id = asked(&t.operator, "TerminateWorkspaces", &ids).await;
    let hash = detail(&t.approver, &id).await["hash"].as_str().unwrap().to_string();
    let answers = futures::future::join_all(approvers.iter().map(|s| approve(s, &id, &hash, ""))).await;
    let statuses: Vec<u16> = answers.iter().map(|(s, _)| *s).collect();
    assert!(statuses.iter().all(|s| *s == 200 || *s == 409), "{answers:?}");
    assert!(statuses.contains(&200));
    let done = settled_state(&t.admin, &id).await;
    assert_eq!(done["summary"]["state"], "executed");
    // Give a second execution, were there one, the time to arrive.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(t.p.emulator().calls("TerminateWorkspaces"), 1);
    t.p.settled().await;
    assert_eq!(t.admin.records(&[("event", "TerminateWorkspaces")]).await.len(), 1);
}

#[tokio::test]
async fn a_request_left_executing_by_a_stop_is_unknown_after_a_restart_and_never_sent_again() {
    let config = config();
    let t = team(config.clone()).await;
    let ids = available(&t.operator, 1).await;
    let id = asked(&t.operator, "TerminateWorkspaces", &ids).await;
    // As if the portal stopped between the claim and the answer of TerminateWorkspaces.
    sqlx::query("UPDATE approval_requests SET state = 'executing' WHERE public_id = ?")
        .bind(&id)
        .execute(t.p.db())
        .await
        .unwrap();
    t.p.running.task.abort();
    let _ = t.p.running.task.await;
    drop(t.p.running.portal);

    let again = TestPortal::start(config).await;
    let admin = again.anonymous("approvals-test");
    assert_eq!(admin.sign_in("ada", crate::harness::PASSWORD).await, 200);
    let d = detail(&admin, &id).await;
    assert_eq!(d["summary"]["state"], "unknown", "{d}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(again.emulator().calls("TerminateWorkspaces"), 0);
}

#[tokio::test]
async fn break_glass_acts_at_once_and_another_approver_reviews_it_after() {
    let mut c = config();
    c.break_glass = true;
    let t = team(c).await;
    let ids = available(&t.admin, 1).await;
    // Operators cannot break glass.
    let args = json!({ "action": "TerminateWorkspaces", "ids": ids, "reason": "ransomware on this desktop" });
    assert_eq!(t.operator.json("approvals/break-glass", args.clone()).await.status, 403);
    let (status, body) = t.admin.json("approvals/break-glass", args).await.pair();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["state"], "executed");
    assert_eq!(body["post_review"], "open");
    assert_eq!(t.p.emulator().calls("TerminateWorkspaces"), 1);
    let id = body["id"].as_str().unwrap().to_string();
    // The admin who acted cannot review it; an approver can.
    let ack = |s: Session, decision: &'static str, comment: &'static str| {
        let id = id.clone();
        async move {
            s.form(
                "approvals/acknowledge",
                &[("id", &id), ("decision", decision), ("comment", comment)],
            )
            .await
            .pair()
        }
    };
    assert_eq!(ack(t.admin.clone(), "acknowledge", "").await.0, 403);
    let (status, body) = ack(t.approver.clone(), "flag", "").await;
    assert_eq!((status, body["field"].as_str()), (400, Some("comment")));
    let (status, body) = ack(t.approver.clone(), "acknowledge", "confirmed with the SOC").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["post_review"], "acknowledged");
    assert_eq!(ack(t.approver.clone(), "acknowledge", "").await.0, 409);
    t.p.settled().await;
    let executed = t.admin.records(&[("event", "TerminateWorkspaces")]).await;
    let record = t.admin.record_json(executed[0]["event_id"].as_str().unwrap()).await;
    assert_eq!(record["additionalEventData"]["approval"]["breakGlass"], true);
}

#[tokio::test]
async fn without_break_glass_enabled_nobody_breaks_glass() {
    let t = team(config()).await;
    let ids = available(&t.admin, 1).await;
    let (status, body) = t
        .admin
        .json(
            "approvals/break-glass",
            json!({ "action": "TerminateWorkspaces", "ids": ids, "reason": "ransomware on this desktop" }),
        )
        .await
        .pair();
    assert_eq!(status, 403, "{body}");
    assert!(message(&body).contains("--break-glass"), "{body}");
    assert_eq!(t.p.emulator().calls("TerminateWorkspaces"), 0);
}

/// A local webhook receiver: every body posted, and the status it answers.
pub(crate) async fn receiver(status: u16) -> (String, tokio::sync::mpsc::UnboundedReceiver<Value>) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |axum::Json(body): axum::Json<Value>| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(body);
                axum::http::StatusCode::from_u16(status).unwrap()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/hook"), rx)
}

#[tokio::test]
async fn each_request_and_decision_is_posted_to_the_webhook() {
    let (url, mut posted) = receiver(200).await;
    let mut c = config();
    c.approval_webhook = Some(url.parse().unwrap());
    let t = team(c).await;
    let ids = available(&t.operator, 1).await;
    let id = asked(&t.operator, "TerminateWorkspaces", &ids).await;
    let first = tokio::time::timeout(Duration::from_secs(5), posted.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first["event"], "requested");
    assert_eq!(first["requestId"], id.as_str());
    assert!(first["text"].as_str().unwrap().contains("olivia"), "{first}");
    let hash = detail(&t.approver, &id).await["hash"].as_str().unwrap().to_string();
    approve(&t.approver, &id, &hash, "fine").await;
    let mut events = Vec::new();
    while events.len() < 2 {
        let next = tokio::time::timeout(Duration::from_secs(5), posted.recv())
            .await
            .unwrap()
            .unwrap();
        events.push(next["event"].as_str().unwrap().to_string());
    }
    events.sort();
    assert_eq!(events, ["approved", "executed"]);
    assert_eq!(detail(&t.admin, &id).await["webhook_error"], Value::Null);
}

#[tokio::test]
async fn a_webhook_that_refuses_is_shown_on_the_request() {
    let (url, mut posted) = receiver(404).await;
    let mut c = config();
    c.approval_webhook = Some(url.parse().unwrap());
    let t = team(c).await;
    let ids = available(&t.operator, 1).await;
    let id = asked(&t.operator, "TerminateWorkspaces", &ids).await;
    tokio::time::timeout(Duration::from_secs(5), posted.recv())
        .await
        .unwrap()
        .unwrap();
    let mut shown = Value::Null;
    for _ in 0..100 {
        shown = detail(&t.admin, &id).await["webhook_error"].clone();
        if !shown.is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let shown = shown.as_str().unwrap_or_default();
    assert!(shown.contains("HTTP 404"), "{shown}");
    // The URL (which may hold a secret) is not in it.
    assert!(!shown.contains("/hook"), "{shown}");
}

#[tokio::test]
async fn an_approved_running_mode_change_is_sent_and_recorded_like_a_direct_one() {
    let mut c = config();
    c.approval_required = portal_server::config::ApprovalRequired(vec![app::approvals::ApprovalAction::Modify]);
    let t = team(c).await;
    let ws = t
        .admin
        .ids_where(&[("query[state]", "AVAILABLE"), ("query[mode]", "AUTO_STOP")])
        .await;
    let ws = ws.first().expect("an AutoStop WorkSpace").clone();
    // Direct: refused, the request is the way.
    let (status, _) = t
        .operator
        .form(
            "workspaces/modify",
            &[("id", &ws), ("running_mode", "ALWAYS_ON"), ("auto_stop_minutes", "")],
        )
        .await
        .pair();
    assert_eq!(status, 403);
    let (status, body) = t
        .operator
        .json(
            "approvals/request",
            json!({ "action": "ModifyWorkspaceProperties", "ids": [ws], "reason": "always on for the night shift",
                    "running_mode": "ALWAYS_ON" }),
        )
        .await
        .pair();
    assert_eq!(status, 200, "{body}");
    let id = body["id"].as_str().unwrap().to_string();
    let hash = detail(&t.approver, &id).await["hash"].as_str().unwrap().to_string();
    assert_eq!(approve(&t.approver, &id, &hash, "").await.0, 200);
    assert_eq!(settled_state(&t.admin, &id).await["summary"]["state"], "executed");
    assert_eq!(t.p.emulator().calls("ModifyWorkspaceProperties"), 1);
    let mode = t.admin.list(&[("query[mode]", "ALWAYS_ON")]).await;
    assert!(
        mode["items"].as_array().unwrap().iter().any(|w| w["id"] == ws.as_str()),
        "{mode}"
    );
    t.p.settled().await;
    let records = t.admin.records(&[("event", "ModifyWorkspaceProperties")]).await;
    let sent: Vec<&Value> = records.iter().filter(|r| r["error_code"].is_null()).collect();
    assert_eq!(sent.len(), 1, "{records:?}");
    let record = t.admin.record_json(sent[0]["event_id"].as_str().unwrap()).await;
    assert_eq!(
        record["requestParameters"],
        json!({ "workspaceId": ws, "workspaceProperties": { "runningMode": "ALWAYS_ON", "runningModeAutoStopTimeoutInMinutes": null } })
    );
    assert_eq!(record["userIdentity"]["userName"], "olivia");
    assert_eq!(record["additionalEventData"]["approval"]["requestId"], id.as_str());
}
