//! What the integration tests share: users of each role, signed in over HTTP.
#![allow(dead_code)]

use app::auth::Role;
use portal_server::Running;

pub const PASSWORD: &str = "correct horse battery staple";

/// An HTTP client that keeps cookies, as a browser would.
pub fn browser(user_agent: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .user_agent(user_agent)
        .build()
        .unwrap()
}

/// Signs in over HTTP; returns the status.
pub async fn sign_in(http: &reqwest::Client, base: &str, name: &str, password: &str) -> u16 {
    http.post(format!("{base}/api/auth/sign-in"))
        .form(&[("name", name), ("password", password)])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Adds a user with `role` (named after it unless `name` says otherwise).
pub async fn add_user(running: &Running, name: &str, role: Role) {
    running
        .portal
        .auth()
        .create(name, role, PASSWORD)
        .await
        .expect("the user is created");
}

/// A new user with `role`, signed in: a client carrying their session cookie.
pub async fn signed_in(running: &Running, name: &str, role: Role, user_agent: &str) -> reqwest::Client {
    add_user(running, name, role).await;
    let http = browser(user_agent);
    let status = sign_in(&http, &format!("http://{}", running.addr), name, PASSWORD).await;
    assert_eq!(status, 200, "{name} signs in");
    http
}
