//! Every endpoint against every role, from the one policy table (`app::policy`): what the table
//! allows is answered, what it does not is refused (401 anonymous, 403 signed in) and recorded.

use app::identity::Role;
use app::policy::{self, Rule};
use serde_json::{json, Value};

use crate::harness::{test_config, Session, TestPortal};

/// How a request is sent.
#[derive(Clone, Copy)]
enum Body {
    Form(&'static [(&'static str, &'static str)]),
    Json(fn() -> Value),
    Get(&'static str),
}

/// Arguments that exercise each operation of the policy table without changing anything that
/// matters (unknown WorkSpaces and users, refused input). A row of the table without arguments
/// here fails the test.
fn arguments(endpoint: &str, event: &str) -> Option<Body> {
    use Body::*;
    let endpoint = endpoint.trim_start_matches("/api/");
    Some(match (endpoint, event) {
        ("auth/me", _) => Form(&[]),
        ("auth/sign-in", _) => Form(&[("name", "nobody-here"), ("password", "wrong password!")]),
        ("auth/setup", _) => Form(&[
            ("token", "not-the-token"),
            ("name", "x"),
            ("password", "p"),
            ("again", "p"),
        ]),
        ("auth/sign-out", _) => Form(&[]),
        ("workspaces/list" | "workspaces/summary" | "directories/list" | "audit/list", _) => Form(&[]),
        ("workspaces/get", _) => Form(&[("id", "ws-00000000")]),
        ("workspaces/refresh", _) => Json(|| json!({ "ids": ["ws-00000000"] })),
        ("bundles/list", _) => Form(&[("owner", "amazon")]),
        ("audit/get", _) => Form(&[("event_id", "00000000-0000-4000-8000-000000000000")]),
        ("audit/export", _) => Get("/api/audit/export?format=csv"),
        // Unknown WorkSpace IDs: each call is answered per item and changes nothing.
        ("workspaces/batch", "StartWorkspaces") => Json(|| json!({ "action": "start", "ids": ["ws-00000000"] })),
        ("workspaces/batch", "StopWorkspaces") => Json(|| json!({ "action": "stop", "ids": ["ws-00000000"] })),
        ("workspaces/batch", "RebootWorkspaces") => Json(|| json!({ "action": "reboot", "ids": ["ws-00000000"] })),
        ("workspaces/batch", "RebuildWorkspaces") => {
            Json(|| json!({ "action": "rebuild", "ids": ["ws-00000000"], "confirm": "rebuild" }))
        }
        ("workspaces/batch", "TerminateWorkspaces") => {
            Json(|| json!({ "action": "terminate", "ids": ["ws-00000000"], "confirm": "terminate" }))
        }
        ("workspaces/create", _) => Form(&[
            ("form[directory_id]", "d-none"),
            ("form[bundle_id]", "wsb-none"),
            ("form[users]", ""),
        ]),
        ("workspaces/modify", _) => Form(&[
            ("id", "ws-00000000"),
            ("running_mode", "AUTO_STOP"),
            ("auto_stop_minutes", "60"),
        ]),
        ("workspaces/tags/set", _) => Form(&[("id", "ws-00000000"), ("key", "k"), ("value", "v")]),
        ("workspaces/tags/delete", _) => Form(&[("id", "ws-00000000"), ("key", "k")]),
        ("users/list", _) => Form(&[]),
        ("users/create", _) => Form(&[("name", "made-by-matrix"), ("role", "viewer"), ("password", "short")]),
        ("users/set-role", _) => Form(&[("name", "nobody-here"), ("role", "viewer")]),
        ("users/set-enabled", "EnableUser") => Form(&[("name", "nobody-here"), ("enabled", "true")]),
        ("users/set-enabled", "DisableUser") => Form(&[("name", "nobody-here"), ("enabled", "false")]),
        ("users/reset-password", _) => Form(&[("name", "nobody-here"), ("password", "a long new password")]),
        // Approvals: unknown WorkSpaces and requests (404 / 400 for those allowed).
        ("approvals/request", _) => {
            Json(|| json!({ "action": "TerminateWorkspaces", "ids": ["ws-00000000"], "reason": "matrix test reason" }))
        }
        ("approvals/break-glass", _) => {
            Json(|| json!({ "action": "TerminateWorkspaces", "ids": ["ws-00000000"], "reason": "matrix test reason" }))
        }
        ("approvals/list", _) => Form(&[]),
        // Access events: a refused name, an unknown token.
        ("access/list" | "access/tokens/list", _) => Form(&[]),
        ("access/tokens/create", _) => Form(&[("name", "two words")]),
        ("access/tokens/revoke", _) => Form(&[("name", "nobody-here")]),
        ("access/export", _) => Get("/api/access/export?format=csv"),
        ("workspaces/export", _) => Get("/api/workspaces/export?state=AVAILABLE"),
        ("access/charts" | "access/networks/list" | "access/alerts/list", _) => Form(&[]),
        ("access/networks/add", _) => Form(&[("name", "matrix"), ("cidr", "not a network"), ("directory", "")]),
        ("access/networks/remove" | "access/alerts/acknowledge", _) => Form(&[("id", "999999")]),
        ("approvals/pending", _) => Json(|| json!({ "ids": ["ws-00000000"] })),
        ("approvals/get" | "approvals/cancel", _) => Form(&[("id", "apr-0000000000000000")]),
        ("approvals/approve" | "approvals/reject", _) => Form(&[
            ("id", "apr-0000000000000000"),
            ("hash", "0000"),
            ("comment", "matrix comment"),
        ]),
        ("approvals/acknowledge", _) => Form(&[
            ("id", "apr-0000000000000000"),
            ("decision", "acknowledge"),
            ("comment", ""),
        ]),
        _ => return None,
    })
}

async fn send(session: &Session, endpoint: &str, body: Body) -> (u16, Value) {
    let endpoint = endpoint.trim_start_matches("/api/");
    match body {
        Body::Form(args) => session.form(endpoint, args).await.pair(),
        Body::Json(args) => session.json(endpoint, args()).await.pair(),
        Body::Get(path) => session.get(path).await.pair(),
    }
}

async fn refusals(p: &TestPortal) -> Vec<(String, String, String)> {
    sqlx::query_as(
        "SELECT user_name, event_name, error_message FROM audit_records WHERE error_code = 'AccessDenied' ORDER BY id",
    )
    .fetch_all(p.db())
    .await
    .unwrap()
}

#[tokio::test]
async fn every_endpoint_allows_exactly_its_roles_and_records_each_refusal() {
    // The default rule: terminate and rebuild need an approved request. Break-glass on, so that
    // its row is answered rather than refused as switched off.
    let mut config = test_config();
    config.break_glass = true;
    let gated: Vec<&str> = config.approval_required.0.iter().map(|a| a.api_name()).collect();
    assert_eq!(gated, ["TerminateWorkspaces", "RebuildWorkspaces"]);
    let p = TestPortal::start(config).await;

    // The table covers every server function the portal registers, and every row can be sent.
    let registered: Vec<String> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path.to_string())
        .collect();
    assert!(registered.len() >= 20, "{registered:?}");
    for path in &registered {
        assert!(
            policy::TABLE.iter().any(|e| e.endpoint == path),
            "the server function {path} has no row in the policy table: say who may call it"
        );
    }
    // Signing out ends the caller's session: its rows go last.
    let mut rows: Vec<&policy::Entry> = policy::TABLE.iter().collect();
    rows.sort_by_key(|e| e.endpoint.ends_with("auth/sign-out"));
    for row in &rows {
        assert!(
            arguments(row.endpoint, row.event).is_some(),
            "no arguments for {} {} in the matrix",
            row.endpoint,
            row.event
        );
    }

    let mut callers: Vec<(Option<Role>, &str, Session)> = vec![(None, "anonymous", p.anonymous("matrix"))];
    for role in Role::ALL {
        let name = role.as_str();
        callers.push((Some(role), name, p.signed_in(name, role, "matrix").await));
    }

    let mut denials = 0;
    let mut allowed = 0;
    for row in &rows {
        let body = arguments(row.endpoint, row.event).unwrap();
        for (role, name, session) in &callers {
            let before = refusals(&p).await.len();
            let (status, answer) = send(session, row.endpoint, body).await;
            let may = row.rule.allows(*role);
            // Allowed by role, a gated operation is still refused without an approved request.
            let needs_approval = may && matches!(row.rule, Rule::Gated(_)) && gated.contains(&row.event);
            let after = refusals(&p).await;
            let what = format!(
                "{} {} {:?} as {name}: {status} {answer}",
                row.endpoint, row.event, row.rule
            );
            if needs_approval {
                denials += 1;
                assert_eq!(status, 403, "{what}");
                let message = answer["message"].as_str().unwrap_or_default();
                assert!(message.contains("needs an approved request"), "{what}");
                assert_eq!(after.len(), before + 1, "exactly one refusal recorded: {what}");
                let (user, event, _) = after.last().unwrap();
                assert_eq!((user.as_str(), event.as_str()), (*name, row.event), "{what}");
            } else if may {
                allowed += 1;
                assert!(
                    !matches!(answer["kind"].as_str(), Some("unauthorized" | "forbidden")) && status != 401
                        || row.endpoint.ends_with("auth/sign-in"),
                    "allowed but refused: {what}"
                );
                assert_ne!(status, 403, "allowed but refused: {what}");
                assert_eq!(after.len(), before, "no refusal recorded: {what}");
            } else {
                denials += 1;
                let expected = if role.is_none() { 401 } else { 403 };
                assert_eq!(status, expected, "{what}");
                if role.is_some() {
                    let message = answer["message"].as_str().unwrap_or_default();
                    assert!(
                        message.contains("needs the") && message.contains(&format!("you are {name}")),
                        "{what}"
                    );
                }
                assert_eq!(after.len(), before + 1, "exactly one refusal recorded: {what}");
                let (user, event, message) = after.last().unwrap();
                assert_eq!(user, name, "the refusal names the caller: {what}");
                // Refused before the body is read, a call of an endpoint of several operations
                // (a batch) cannot name which it was.
                let several = policy::TABLE.iter().filter(|e| e.endpoint == row.endpoint).count() > 1;
                let early = several
                    && !policy::TABLE
                        .iter()
                        .any(|e| e.endpoint == row.endpoint && e.rule.allows(*role));
                let expected_event = if early { "RefusedRequest" } else { row.event };
                assert_eq!(event, expected_event, "the refusal names the operation: {what}");
                assert!(!message.is_empty());
            }
        }
    }
    assert_eq!(allowed + denials, rows.len() * 5);
    assert!(denials > 40, "{denials}");
    assert!(
        rows.iter().any(|r| r.rule == Rule::AtLeast(Role::Admin)),
        "the matrix covers admin-only operations"
    );
    // Nothing in the fleet changed: every write went to an unknown WorkSpace or was refused.
    assert_eq!(p.emulator().read().workspace_count(std::time::Instant::now()), 6);
}
