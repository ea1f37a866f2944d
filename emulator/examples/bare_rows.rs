//! The yardstick of the portal's inventory benchmark (`server/bench/inventory.sh`): a bare axum
//! handler answering `POST /api/workspaces/list` with the rows of a saved portal answer,
//! serialized on every request — no session, no audit record, no database. What the portal
//! reaches beside it, in the same run, is the cost of everything the portal adds. (An example of
//! this crate only because it needs nothing but axum, tokio and serde_json, and is built with
//! the standalone emulator the benchmark runs anyway.)
//!
//! Usage: bare_rows ADDRESS FILE   (FILE: a `workspaces/list` answer, as JSON)

use axum::routing::post;
use axum::{Json, Router};

#[derive(serde::Serialize)]
struct Page {
    items: &'static [serde_json::Value],
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(addr), Some(file)) = (args.next(), args.next()) else {
        eprintln!("usage: bare_rows ADDRESS FILE");
        std::process::exit(2);
    };
    let page: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).expect("the page file")).expect("JSON");
    let rows: Vec<serde_json::Value> = page["items"].as_array().cloned().unwrap_or_default();
    eprintln!("bare_rows: {} rows on http://{addr}", rows.len());
    let rows: &'static [serde_json::Value] = Vec::leak(rows);
    let app = Router::new().route(
        "/api/workspaces/list",
        post(move || async move { Json(Page { items: rows }) }),
    );
    let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind");
    axum::serve(listener, app).await.expect("serve");
}
