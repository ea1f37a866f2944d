//! The portal's HTTP server: configuration, the WorkSpaces client, and the axum app.
//!
//! `build` makes the whole app from a [`Config`], so the binary and the integration tests start
//! exactly the same server (tests on port 0).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use app::ssr::{AppState, Portal, PortalSettings};
use app::{shell, App};
use aws_config::BehaviorVersion;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use clap::{Parser, ValueEnum};
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_http::trace::TraceLayer;

/// Where the portal sends its WorkSpaces requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    /// The built-in WorkSpaces emulator, started in-process (no AWS account needed).
    Emulator,
    /// Amazon WorkSpaces, configured the standard AWS way: credentials chain, AWS_PROFILE,
    /// AWS_REGION, AWS_ENDPOINT_URL_WORKSPACES.
    Aws,
}

/// WorkSpaces Portal: administer an Amazon WorkSpaces fleet from the browser.
#[derive(Clone, Debug, Parser)]
#[command(name = "workspaces-portal", version)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "PORTAL_LISTEN", default_value = "127.0.0.1:3000")]
    pub listen: SocketAddr,

    /// WorkSpaces endpoint: the embedded emulator, or AWS.
    #[arg(long, env = "PORTAL_WORKSPACES", value_enum, default_value = "emulator")]
    pub workspaces: Backend,

    /// Embedded emulator only: time spent in each transitional state, in milliseconds.
    #[arg(long, env = "PORTAL_EMULATOR_TRANSITION_DELAY_MS", default_value_t = 3000)]
    pub emulator_transition_delay_ms: u64,

    /// Embedded emulator only: seed this many WorkSpaces instead of the default 40.
    #[arg(long, env = "PORTAL_EMULATOR_SEED_WORKSPACES")]
    pub emulator_seed_workspaces: Option<usize>,

    /// How long, in milliseconds, a walk of the whole fleet counts as fresh. An older walk is
    /// still shown while a fresh one runs in the background; 0 walks on every request.
    /// Changes made through the portal are visible at once regardless.
    #[arg(long, env = "PORTAL_FLEET_CACHE_MS", default_value_t = 2000)]
    pub fleet_cache_ms: u64,
}

impl Config {
    /// The defaults, listening on a free port: what tests start.
    pub fn for_tests() -> Self {
        let mut config = Config::parse_from(["workspaces-portal"]);
        config.listen = SocketAddr::from(([127, 0, 0, 1], 0));
        config
    }
}

/// A started server.
pub struct Running {
    pub addr: SocketAddr,
    pub emulator: Option<workspaces_emulator::Emulator>,
    pub task: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// The WorkSpaces client for the configured backend. With the emulator, it also returns the
/// emulator, whose state tests may inspect.
pub async fn workspaces_client(
    config: &Config,
) -> std::io::Result<(aws_sdk_workspaces::Client, Option<workspaces_emulator::Emulator>)> {
    match config.workspaces {
        Backend::Aws => {
            let shared = aws_config::defaults(BehaviorVersion::latest()).load().await;
            Ok((aws_sdk_workspaces::Client::new(&shared), None))
        }
        Backend::Emulator => {
            let emulator = workspaces_emulator::Emulator::new(workspaces_emulator::Config {
                settings: workspaces_emulator::Settings {
                    transition_delay: Duration::from_millis(config.emulator_transition_delay_ms),
                    ..Default::default()
                },
                seed: workspaces_emulator::Seed {
                    workspaces: config
                        .emulator_seed_workspaces
                        .unwrap_or(workspaces_emulator::seed::DEFAULT_FLEET_SIZE),
                },
            });
            let addr = workspaces_emulator::spawn(emulator.clone()).await?;
            tracing::info!(endpoint = %format!("http://{addr}"), "embedded WorkSpaces emulator started");
            // The same SDK client as for AWS, pointed at the emulator; the keys are not secret.
            let sdk_config = aws_sdk_workspaces::Config::builder()
                .behavior_version(BehaviorVersion::latest())
                .region(aws_sdk_workspaces::config::Region::new("us-east-1"))
                .credentials_provider(aws_sdk_workspaces::config::Credentials::new(
                    "EMULATOR",
                    "EMULATOR",
                    None,
                    None,
                    "embedded-emulator",
                ))
                .endpoint_url(format!("http://{addr}"))
                .build();
            Ok((aws_sdk_workspaces::Client::from_conf(sdk_config), Some(emulator)))
        }
    }
}

/// Leptos' site options; the output name is fixed by cargo-leptos at build time.
pub fn leptos_options(listen: SocketAddr) -> LeptosOptions {
    let mut options = get_configuration(None).map(|c| c.leptos_options).unwrap_or_else(|_| {
        LeptosOptions::builder()
            .output_name("workspaces-portal")
            .site_root("target/site")
            .build()
    });
    if options.output_name.is_empty() {
        options.output_name = "workspaces-portal".into();
    }
    options.site_addr = listen;
    options
}

/// The whole app: pages, server functions under /api, static files, health checks.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let leptos_options = state.leptos_options.clone();
    let context_state = state.clone();
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .leptos_routes_with_context(
            &state,
            routes,
            move || provide_context(context_state.clone()),
            move || shell(leptos_options.clone()),
        )
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Ready when WorkSpaces answers.
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    match state.portal.ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(serde_json::json!({ "status": "ready", "workspaces": "ok" })),
        ),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({ "status": "not ready", "workspaces": e.to_string() })),
        ),
    }
}

/// Builds the app from `config` and serves it in the background.
pub async fn start(config: Config) -> std::io::Result<Running> {
    let (client, emulator) = workspaces_client(&config).await?;
    let portal = Portal::new(
        client,
        PortalSettings {
            fleet_cache_ttl: Duration::from_millis(config.fleet_cache_ms),
            ..Default::default()
        },
    );
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    let addr = listener.local_addr()?;
    let state = AppState {
        leptos_options: leptos_options(addr),
        portal: Arc::new(portal),
    };
    let app = router(state);
    let task =
        tokio::spawn(
            async move { axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await },
        );
    Ok(Running { addr, emulator, task })
}
