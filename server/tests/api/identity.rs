//! Identity on the real server: sessions (rotation, sign-out, idle and absolute expiry),
//! cross-site refusal, sign-in throttling, disabled users, first-run setup, and the command
//! line's user management.

use std::time::Duration;

use app::identity::Role;
use serde_json::{json, Value};

use crate::harness::{test_config, TestPortal, PASSWORD};

/// The session cookie's value from a response, if it sets one.
fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("portal_session="))
        .map(|c| c.split(';').next().unwrap().to_string())
}

/// Signs in with a cookie-less client; returns the session cookie (`portal_session=…`).
async fn cookie_for(base: &str, name: &str) -> String {
    let response = reqwest::Client::new()
        .post(format!("{base}/api/auth/sign-in"))
        .form(&[("name", name), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let cookie = session_cookie(&response).expect("a session cookie");
    let attributes = response
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(
        attributes.contains("httponly") && attributes.contains("samesite=lax"),
        "{attributes}"
    );
    cookie
}

/// Lists the fleet with a given cookie (or none); returns the status.
async fn list_with(base: &str, cookie: &str) -> u16 {
    reqwest::Client::new()
        .post(format!("{base}/api/workspaces/list"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn signing_in_again_rotates_the_session_and_signing_out_kills_the_old_cookie() {
    let p = TestPortal::start(test_config()).await;
    let base = p.base.clone();
    p.add_user("vera", Role::Viewer).await;
    let first = cookie_for(&base, "vera").await;
    assert_eq!(list_with(&base, &first).await, 200);

    // Signing in on a session that exists gives it a new ID; the old one stops working.
    let response = reqwest::Client::new()
        .post(format!("{base}/api/auth/sign-in"))
        .header("cookie", &first)
        .form(&[("name", "vera"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    let second = session_cookie(&response).expect("a new session cookie");
    assert_ne!(first, second);
    assert_eq!(
        list_with(&base, &first).await,
        401,
        "the pre-sign-in session ID is dead"
    );
    assert_eq!(list_with(&base, &second).await, 200);

    // Sign-out destroys the session on the server: the cookie, replayed, is worthless.
    let out = reqwest::Client::new()
        .post(format!("{base}/api/auth/sign-out"))
        .header("cookie", &second)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status().as_u16(), 200);
    assert_eq!(list_with(&base, &second).await, 401);
    p.settled().await;
    let events: Vec<(String, String)> = sqlx::query_as(
        "SELECT event_name, user_name FROM audit_records WHERE event_source = 'workspaces-portal' ORDER BY id",
    )
    .fetch_all(p.db())
    .await
    .unwrap();
    let named = |e: &str| events.iter().filter(|(n, u)| n == e && u == "vera").count();
    assert_eq!((named("SignIn"), named("SignOut")), (2, 1), "{events:?}");
}

#[tokio::test]
async fn idle_and_old_sessions_are_refused() {
    let mut config = test_config();
    config.session_idle_secs = 2;
    let p = TestPortal::start(config).await;
    let base = p.base.clone();
    p.add_user("ida", Role::Viewer).await;
    let cookie = cookie_for(&base, "ida").await;
    assert_eq!(list_with(&base, &cookie).await, 200);
    tokio::time::sleep(Duration::from_millis(3100)).await;
    assert_eq!(list_with(&base, &cookie).await, 401, "idle for longer than the timeout");

    // Absolute lifetime: used all the time, the session still ends.
    let mut config = test_config();
    config.session_idle_secs = 600;
    config.session_lifetime_secs = 3;
    let p = TestPortal::start(config).await;
    let base = p.base.clone();
    p.add_user("olga", Role::Viewer).await;
    let cookie = cookie_for(&base, "olga").await;
    let began = std::time::Instant::now();
    while began.elapsed() < Duration::from_millis(2000) {
        assert_eq!(list_with(&base, &cookie).await, 200);
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(list_with(&base, &cookie).await, 401, "older than the lifetime");
}

#[tokio::test]
async fn cross_site_writes_are_refused_whatever_the_cookie() {
    let p = TestPortal::start(test_config()).await;
    let base = p.base.clone();
    p.add_user("oscar", Role::Operator).await;
    let cookie = cookie_for(&base, "oscar").await;
    let http = reqwest::Client::new();
    let page: Value = http
        .post(format!("{base}/api/workspaces/list"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = page["items"][0]["id"].as_str().unwrap().to_string();
    let tag = |headers: &[(&str, &str)]| {
        let mut request = reqwest::Client::new()
            .post(format!("{base}/api/workspaces/tags/set"))
            .header("cookie", &cookie)
            .form(&[("id", id.as_str()), ("key", "csrf"), ("value", "x")]);
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        request.send()
    };
    let host = p.running.addr.to_string();
    let evil = tag(&[("origin", "https://evil.example"), ("host", &host)])
        .await
        .unwrap();
    assert_eq!(evil.status().as_u16(), 403);
    let body: Value = evil.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().contains("cross-site"), "{body}");
    let fetch_meta = tag(&[("sec-fetch-site", "cross-site")]).await.unwrap();
    assert_eq!(fetch_meta.status().as_u16(), 403);
    // Both refusals are recorded, as the user whose cookie came along.
    let refused: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT user_name, error_code, error_message FROM audit_records WHERE event_name = 'CrossSiteRequestRefused'",
    )
    .fetch_all(p.db())
    .await
    .unwrap();
    assert_eq!(refused.len(), 2, "{refused:?}");
    assert!(refused
        .iter()
        .all(|(user, code, _)| user == "oscar" && code == "AccessDenied"));
    assert!(refused[0].2.contains("evil.example"), "{refused:?}");
    let tagged = || async {
        let detail: Value = http
            .post(format!("{base}/api/workspaces/get"))
            .header("cookie", &cookie)
            .form(&[("id", id.as_str())])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        detail["tags"].as_array().unwrap().iter().any(|t| t["key"] == "csrf")
    };
    assert!(!tagged().await, "nothing reached WorkSpaces");
    let same = tag(&[("origin", &format!("http://{host}")), ("sec-fetch-site", "same-origin")])
        .await
        .unwrap();
    assert_eq!(same.status().as_u16(), 200);
    assert!(tagged().await);
}

#[tokio::test]
async fn repeated_failures_are_throttled_per_account_without_revealing_who_exists() {
    let p = TestPortal::start(test_config()).await;
    let base = p.base.clone();
    p.add_user("tina", Role::Viewer).await;
    let http = reqwest::Client::new();
    let attempt = |name: &'static str, password: &'static str| {
        http.post(format!("{base}/api/auth/sign-in"))
            .form(&[("name", name), ("password", password)])
            .send()
    };
    // Wrong password and unknown user look the same.
    let wrong: Value = attempt("tina", "not her password").await.unwrap().json().await.unwrap();
    let unknown: Value = attempt("nobody", "not her password")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(wrong, unknown);
    assert_eq!(wrong["kind"], "sign_in_failed");
    for _ in 0..4 {
        assert_eq!(attempt("tina", "still wrong").await.unwrap().status().as_u16(), 401);
    }
    // Five failures: even the right password is refused for a while.
    let throttled = attempt("tina", PASSWORD).await.unwrap();
    assert_eq!(throttled.status().as_u16(), 429);
    let body: Value = throttled.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().contains("try again in"), "{body}");
    // Audited: failures name the user if it exists, never the typed text otherwise.
    p.settled().await;
    let rows: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT user_name, error_code FROM audit_records WHERE event_name = 'SignIn' ORDER BY id")
            .fetch_all(p.db())
            .await
            .unwrap();
    assert_eq!(rows.len(), 7);
    assert_eq!(
        rows[1],
        (
            "HIDDEN_DUE_TO_SECURITY_REASONS".into(),
            Some("FailedAuthentication".into())
        )
    );
    assert_eq!(rows[0], ("tina".into(), Some("FailedAuthentication".into())));
    assert_eq!(rows[6], ("tina".into(), Some("Throttled".into())));
    let stored: Vec<String> = sqlx::query_scalar("SELECT record FROM audit_records")
        .fetch_all(p.db())
        .await
        .unwrap();
    assert!(
        stored
            .iter()
            .all(|r| !r.contains("nobody") && !r.contains("not her password") && !r.contains("still wrong")),
        "no typed text is stored: {stored:#?}"
    );
}

#[tokio::test]
async fn a_disabled_user_loses_live_sessions_and_cannot_sign_in() {
    let p = TestPortal::start(test_config()).await;
    let base = p.base.clone();
    let admin = p.signed_in("ada", Role::Admin, "t").await.http;
    p.add_user("dave", Role::Operator).await;
    let dave = cookie_for(&base, "dave").await;
    assert_eq!(list_with(&base, &dave).await, 200);

    let form = |endpoint: &str, args: &[(&str, &str)]| admin.post(format!("{base}/api/{endpoint}")).form(args).send();
    assert_eq!(
        form("users/set-enabled", &[("name", "dave"), ("enabled", "false")])
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    assert_eq!(list_with(&base, &dave).await, 401, "the live session stopped working");
    assert_eq!(p.anonymous("t").sign_in("dave", PASSWORD).await, 401);
    assert_eq!(
        form("users/set-enabled", &[("name", "dave"), ("enabled", "true")])
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    let dave = cookie_for(&base, "dave").await;

    // A role change applies to the live session at once.
    assert_eq!(
        form("users/set-role", &[("name", "dave"), ("role", "viewer")])
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    let tag = reqwest::Client::new()
        .post(format!("{base}/api/workspaces/tags/set"))
        .header("cookie", &dave)
        .form(&[("id", "ws-00000000"), ("key", "k"), ("value", "v")])
        .send()
        .await
        .unwrap();
    assert_eq!(tag.status().as_u16(), 403);

    // A password reset ends the sessions signed in with the old one.
    assert_eq!(
        form(
            "users/reset-password",
            &[("name", "dave"), ("password", "a brand new password")]
        )
        .await
        .unwrap()
        .status()
        .as_u16(),
        200
    );
    assert_eq!(list_with(&base, &dave).await, 401);

    // The last enabled admin cannot be demoted or disabled.
    let last = form("users/set-role", &[("name", "ada"), ("role", "viewer")])
        .await
        .unwrap();
    assert_eq!(last.status().as_u16(), 409);
    let last = form("users/set-enabled", &[("name", "ada"), ("enabled", "false")])
        .await
        .unwrap();
    assert_eq!(last.status().as_u16(), 409);
    // Bad input names the field and changes nothing.
    let bad: Value = form(
        "users/create",
        &[("name", "eve"), ("role", "root"), ("password", "long enough password")],
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(bad["field"], "role");
    let taken: Value = form(
        "users/create",
        &[
            ("name", "DAVE"),
            ("role", "viewer"),
            ("password", "long enough password"),
        ],
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(taken["field"], "name", "names are unique, whatever their case: {taken}");
    let users: Value = form("users/list", &[]).await.unwrap().json().await.unwrap();
    let names: Vec<&str> = users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ada", "dave"]);
    assert!(!users.to_string().contains("argon2"), "no hash leaves the server");
}

#[tokio::test]
async fn first_run_setup_makes_one_admin_with_the_one_time_token() {
    let p = TestPortal::start(test_config()).await;
    let base = p.base.clone();
    let token = p.running.setup_token.clone().expect("a first run prints a setup link");
    let http = p.anonymous("setup").http;
    let setup = |token: String, name: &'static str| {
        http.post(format!("{base}/api/auth/setup"))
            .form(&[
                ("token", token.as_str()),
                ("name", name),
                ("password", PASSWORD),
                ("again", PASSWORD),
            ])
            .send()
    };
    let wrong: Value = setup("0".repeat(token.len()), "root")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(wrong["field"], "token");
    let ok = setup(token.clone(), "root").await.unwrap();
    assert_eq!(ok.status().as_u16(), 200);
    let me: Value = http
        .post(format!("{base}/api/auth/me"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["user"], json!({ "name": "root", "role": "admin" }));
    assert_eq!(me["setup_pending"], false);
    let again: Value = setup(token, "second").await.unwrap().json().await.unwrap();
    assert_eq!(again["field"], "token", "the link works once");
    // A restart with a user in the database prints no link.
    assert_eq!(p.running.portal.identity.first_run_token().await.unwrap(), None);

    // A user made another way (the command line) while the link is live ends the first run.
    let p = TestPortal::start(test_config()).await;
    let base = p.base.clone();
    let token = p.running.setup_token.clone().expect("a first run");
    p.add_user("made-by-cli", Role::Admin).await;
    let late: Value = reqwest::Client::new()
        .post(format!("{base}/api/auth/setup"))
        .form(&[
            ("token", token.as_str()),
            ("name", "intruder"),
            ("password", PASSWORD),
            ("again", PASSWORD),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(late["field"], "token", "{late}");
    let users = p.running.portal.identity.users().list().await.unwrap();
    assert_eq!(users.len(), 1, "no second admin");
    assert!(!p.running.portal.identity.setup_pending().await.unwrap());
}

#[tokio::test]
async fn pages_need_a_session_and_carry_the_security_headers() {
    let p = TestPortal::start(test_config()).await;
    let base = p.base.clone();
    let anonymous = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = anonymous
        .get(format!("{base}/workspaces?state=STOPPED"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 303);
    assert_eq!(
        page.headers()["location"],
        "/login?next=%2Fworkspaces%3Fstate%3DSTOPPED"
    );
    let login = anonymous.get(format!("{base}/login")).send().await.unwrap();
    assert_eq!(login.status().as_u16(), 200);
    let headers = login.headers().clone();
    let csp = headers["content-security-policy"].to_str().unwrap().to_string();
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("object-src 'none'"),
        "{csp}"
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "same-origin");
    let html = login.text().await.unwrap();
    let nonce = csp.split("'nonce-").nth(1).unwrap().split('\'').next().unwrap();
    assert!(
        html.contains(&format!("nonce=\"{nonce}\"")),
        "the page's scripts carry the header's nonce"
    );
    let script_src = csp.split(';').find(|d| d.trim().starts_with("script-src")).unwrap();
    assert!(!script_src.contains("unsafe-inline"), "{script_src}");

    // Signed in, the page is served.
    let http = p.signed_in("val", Role::Viewer, "t").await.http;
    let page = http.get(format!("{base}/workspaces")).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.text().await.unwrap().contains("val"));
}

#[tokio::test]
async fn the_command_line_manages_users_and_records_each_change_while_the_portal_runs() {
    let config = test_config();
    let p = TestPortal::start(config.clone()).await;
    let base = p.base.clone();
    let add = p
        .cli(&["user", "add", "--name", "carl", "--role", "operator"], PASSWORD)
        .await;
    assert!(add.status.success(), "{}", String::from_utf8_lossy(&add.stderr));
    assert_eq!(p.anonymous("t").sign_in("carl", PASSWORD).await, 200);
    let short = p.cli(&["user", "add", "--name", "cleo"], "short").await;
    assert_eq!(
        short.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&short.stderr)
    );
    assert!(String::from_utf8_lossy(&short.stderr).contains("password: must be at least 12"));
    assert!(p
        .cli(&["user", "set-role", "--name", "carl", "--role", "approver"], "")
        .await
        .status
        .success());
    assert!(p.cli(&["user", "disable", "--name", "carl"], "").await.status.success());
    assert_eq!(p.anonymous("t").sign_in("carl", PASSWORD).await, 401);
    let list = p.cli(&["user", "list"], "").await;
    let text = String::from_utf8_lossy(&list.stdout);
    assert!(
        text.contains("carl") && text.contains("approver") && text.contains("no"),
        "{text}{}",
        String::from_utf8_lossy(&list.stderr)
    );
    assert_eq!(
        p.cli(&["user", "enable", "--name", "ghost"], "").await.status.code(),
        Some(2)
    );

    // The portal keeps writing to the same chain afterwards, and it all verifies.
    let http = p.signed_in("after", Role::Viewer, "t").await.http;
    assert_eq!(
        http.post(format!("{base}/api/workspaces/list"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    let verify = p.cli(&["audit", "verify"], "").await;
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stdout));
    let events: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT event_name, user_name, error_code FROM audit_records WHERE json_extract(record, '$.userIdentity.type') = 'CommandLine' ORDER BY id",
    )
    .fetch_all(p.db())
    .await
    .unwrap();
    let names: Vec<&str> = events.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(
        names,
        ["CreateUser", "CreateUser", "SetUserRole", "DisableUser", "EnableUser"]
    );
    assert_eq!(events[1].2.as_deref(), Some("ValidationError"));
}

#[tokio::test]
async fn sessions_survive_a_restart_of_the_portal() {
    let config = test_config();
    let p = TestPortal::start(config.clone()).await;
    let base = p.base.clone();
    p.add_user("rita", Role::Viewer).await;
    let cookie = cookie_for(&base, "rita").await;
    assert_eq!(list_with(&base, &cookie).await, 200);
    p.running.task.abort();
    let _ = p.running.task.await;
    drop(p.running.portal);

    // The same database, a new process state: the session is still there.
    let again = TestPortal::start(config).await;
    let base = again.base.clone();
    assert_eq!(list_with(&base, &cookie).await, 200);
}
