//! The portal's HTTP server: configuration, the WorkSpaces client, and the axum app.
//!
//! `build` makes the whole app from a [`Config`], so the binary and the integration tests start
//! exactly the same server (tests on port 0).

pub mod security;
pub mod users;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use app::audit::AuditQuery;
use app::ssr::audit::{self, AuditKey, AuditLog, AuditSettings, ExportFormat, Filter, IpNet};
use app::ssr::auth::{Auth, AuthSettings};
use app::ssr::db::{self, Db};
use app::ssr::{AppState, Portal, PortalSettings};
use app::{shell, App};
use aws_config::BehaviorVersion;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use clap::{Parser, Subcommand, ValueEnum};
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};
use tower_sessions_sqlx_store::SqliteStore;

pub use users::{run_user_command, UserCommand};

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
    #[command(subcommand)]
    pub command: Option<Command>,

    /// The portal's database. SQLite by default; the file and its directory are created.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://data/portal.db", global = true)]
    pub database_url: String,

    /// The key that signs the audit log's checkpoints (hex; created with a random key if
    /// missing). Keep it apart from the database for the signatures to mean something.
    #[arg(long, env = "PORTAL_AUDIT_KEY_FILE", default_value = "data/audit.key", global = true)]
    pub audit_key_file: PathBuf,

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

    /// Delete audit records older than this many days (checked hourly); 0 keeps them all.
    /// Verification still works: the first kept record's predecessor hash is kept.
    #[arg(long, env = "PORTAL_AUDIT_RETENTION_DAYS", default_value_t = 0)]
    pub audit_retention_days: u32,

    /// A proxy (address or CIDR network) whose X-Forwarded-For header is believed for the
    /// client address in the audit log. Repeat, or separate with commas.
    #[arg(long = "trusted-proxy", env = "PORTAL_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<IpNet>,

    /// The AWS account ID recorded as recipientAccountId (the emulator's account by default
    /// with the emulator).
    #[arg(long, env = "PORTAL_AWS_ACCOUNT_ID")]
    pub aws_account_id: Option<String>,

    /// A signed-in session unused for this many seconds ends.
    #[arg(long, env = "PORTAL_SESSION_IDLE_SECS", default_value_t = 1800)]
    pub session_idle_secs: u64,

    /// A session ends this many seconds after sign-in, however much it is used.
    #[arg(long, env = "PORTAL_SESSION_LIFETIME_SECS", default_value_t = 43200)]
    pub session_lifetime_secs: u64,

    /// Mark the session cookie Secure (sent over HTTPS only). Set it whenever the portal is
    /// reached over HTTPS, e.g. behind a TLS-terminating proxy.
    #[arg(long, env = "PORTAL_SECURE_COOKIES")]
    pub secure_cookies: bool,
}

#[derive(Clone, Debug, Subcommand)]
pub enum Command {
    /// Check or export the audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Manage the portal's users (add, list, set-role, disable, enable, reset-password).
    #[command(subcommand)]
    User(UserCommand),
}

#[derive(Clone, Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk the hash chain and the signed checkpoints. Prints how many records verified, or
    /// the first record where the chain breaks (and exits with status 1).
    Verify,
    /// Write the matching records to stdout, oldest first, streamed.
    Export {
        /// cloudtrail ({"Records": [...]}) or csv.
        #[arg(long, default_value = "cloudtrail")]
        format: String,
        /// Only this event name (e.g. TerminateWorkspaces).
        #[arg(long)]
        event: Option<String>,
        /// Only this user.
        #[arg(long)]
        user: Option<String>,
        /// Only requests that touched this resource (e.g. a WorkSpace ID).
        #[arg(long)]
        resource: Option<String>,
        /// From this time on (UTC, e.g. 2026-11-22T10:00).
        #[arg(long)]
        from: Option<String>,
        /// Before this time (UTC).
        #[arg(long)]
        to: Option<String>,
        /// Only requests from this address.
        #[arg(long)]
        ip: Option<String>,
        /// Include read-only events (left out by default, as on the audit page).
        #[arg(long)]
        reads: bool,
        /// Only failed requests and requests with per-item failures.
        #[arg(long)]
        errors: bool,
    },
}

impl AuditCommand {
    /// The export's search, as the audit page would express it.
    pub fn query(&self) -> Option<(String, AuditQuery)> {
        match self {
            AuditCommand::Verify => None,
            AuditCommand::Export {
                format,
                event,
                user,
                resource,
                from,
                to,
                ip,
                reads,
                errors,
            } => Some((
                format.clone(),
                AuditQuery {
                    event: event.clone().unwrap_or_default(),
                    user: user.clone().unwrap_or_default(),
                    resource: resource.clone().unwrap_or_default(),
                    from: from.clone().unwrap_or_default(),
                    to: to.clone().unwrap_or_default(),
                    ip: ip.clone().unwrap_or_default(),
                    reads: *reads,
                    errors: *errors,
                    before: None,
                },
            )),
        }
    }
}

impl Config {
    /// The defaults, listening on a free port: what tests start.
    /// Each gets its own database and audit key in a new temporary directory.
    pub fn for_tests() -> Self {
        static N: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "workspaces-portal-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let mut config = Config::parse_from(["workspaces-portal"]);
        config.listen = SocketAddr::from(([127, 0, 0, 1], 0));
        config.database_url = format!("sqlite://{}/portal.db", dir.display());
        config.audit_key_file = dir.join("audit.key");
        config
    }

    /// Opens (and migrates) the database and loads the audit key.
    pub async fn open_database(&self) -> std::io::Result<(Db, AuditKey)> {
        let db = db::open(&self.database_url)
            .await
            .map_err(|e| std::io::Error::other(format!("database {}: {e}", self.database_url)))?;
        let key = AuditKey::load_or_create(&self.audit_key_file)?;
        Ok((db, key))
    }
}

/// A started server.
pub struct Running {
    pub addr: SocketAddr,
    pub portal: Arc<Portal>,
    /// First run only: the token of the setup link printed to the log.
    pub setup_token: Option<String>,
    pub emulator: Option<workspaces_emulator::Emulator>,
    pub audit: AuditLog,
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
    let sessions = session_layer(state.portal.audit().db(), state.portal.auth().settings());
    let routes = generate_route_list(App);
    let leptos_options = state.leptos_options.clone();
    let context_state = state.clone();
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/api/audit/export", get(export_audit))
        .leptos_routes_with_context(
            &state,
            routes,
            move || {
                provide_context(context_state.clone());
                // The page's scripts carry the nonce the Content-Security-Policy names.
                let nonce = use_context::<axum::http::request::Parts>()
                    .and_then(|p| p.extensions.get::<security::CspNonce>().cloned());
                if let Some(nonce) = nonce {
                    provide_context(leptos::nonce::Nonce::from_value(nonce.0));
                }
            },
            move || shell(leptos_options.clone()),
        )
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            security::unreadable_arguments,
        ))
        .layer(axum::middleware::from_fn_with_state(state.clone(), security::identify))
        .layer(sessions)
        .layer(axum::middleware::from_fn(security::guard))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Sessions in the portal's database: they survive a restart. The cookie is HttpOnly,
/// SameSite=Lax (cross-site writes are refused by [`security::identify`] as well), and Secure
/// when configured; it expires after the idle timeout, renewed as the session is used.
fn session_layer(db: &Db, settings: &AuthSettings) -> SessionManagerLayer<SqliteStore> {
    let idle = tower_sessions::cookie::time::Duration::seconds(settings.idle_timeout.as_secs() as i64);
    SessionManagerLayer::new(SqliteStore::new(db.clone()))
        .with_name("portal_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(settings.secure_cookies)
        .with_expiry(Expiry::OnInactivity(idle))
}

/// Ready when the database and WorkSpaces answer.
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let (database, workspaces) = tokio::join!(db::ping(state.portal.audit().db()), state.portal.ping());
    let ready = database.is_ok() && workspaces.is_ok();
    let body = serde_json::json!({
        "status": if ready { "ready" } else { "not ready" },
        "database": database.map(|_| "ok".to_string()).unwrap_or_else(|e| e.to_string()),
        "workspaces": workspaces.map(|_| "ok".to_string()).unwrap_or_else(|e| e.to_string()),
    });
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body))
}

/// `GET /api/audit/export?format=cloudtrail|csv&<the audit page's filters>`: the whole
/// filtered set as a download, streamed.
async fn export_audit(State(state): State<AppState>, request: axum::http::Request<Body>) -> axum::response::Response {
    let (parts, _) = request.into_parts();
    let Query(params) = match Query::<HashMap<String, String>>::try_from_uri(&parts.uri) {
        Ok(q) => q,
        Err(e) => {
            let error = app::error::AppError::validation("query", e.body_text());
            return (StatusCode::BAD_REQUEST, Json(error)).into_response();
        }
    };
    if let Err(e) = state
        .portal
        .authorize_export(&parts, serde_json::json!({ "filters": params }))
        .await
    {
        let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::FORBIDDEN);
        return (status, Json(e)).into_response();
    }
    if let Err(e) = state.portal.audit_settled().await {
        let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        return (status, Json(e)).into_response();
    }
    let query = AuditQuery::from_pairs(params.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let checked = ExportFormat::parse(params.get("format").map(String::as_str).unwrap_or("cloudtrail"))
        .and_then(|format| Ok((format, Filter::parse(&query)?)));
    let (format, filter) = match checked {
        Ok(ok) => ok,
        Err(e) => {
            let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
            return (status, Json(e)).into_response();
        }
    };
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let db = state.portal.audit().db().clone();
    tokio::spawn(async move {
        if let Err(e) = audit::export(db, filter, format, tx).await {
            tracing::error!(error = %e, "audit export failed");
        }
    });
    let body = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|chunk| (chunk.map(axum::body::Bytes::from).map_err(std::io::Error::other), rx))
    });
    let name = format!(
        "audit-{}.{}",
        audit::record::utc_now().replace([':', '.'], "-"),
        format.extension()
    );
    (
        [
            (header::CONTENT_TYPE, format.content_type().to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        Body::from_stream(body),
    )
        .into_response()
}

/// Builds the app from `config` and serves it in the background.
pub async fn start(config: Config) -> std::io::Result<Running> {
    let (db, key) = config.open_database().await?;
    let audit = AuditLog::open(
        db,
        AuditSettings {
            retention_days: config.audit_retention_days,
            ..AuditSettings::new(key)
        },
    )
    .await
    .map_err(|e| std::io::Error::other(format!("audit log: {e}")))?;
    let auth = Auth::new(
        audit.db().clone(),
        AuthSettings {
            idle_timeout: Duration::from_secs(config.session_idle_secs.max(1)),
            lifetime: Duration::from_secs(config.session_lifetime_secs.max(1)),
            secure_cookies: config.secure_cookies,
            ..Default::default()
        },
    )
    .await
    .map_err(|e| std::io::Error::other(format!("users: {e}")))?;
    let setup_token = auth
        .first_run_token()
        .await
        .map_err(|e| std::io::Error::other(format!("users: {e}")))?;
    let (client, emulator) = workspaces_client(&config).await?;
    let account_id = config.aws_account_id.clone().or_else(|| {
        emulator
            .as_ref()
            .map(|_| workspaces_emulator::seed::DEFAULT_ACCOUNT_ID.to_string())
    });
    let portal = Portal::new(
        client,
        audit.clone(),
        auth,
        PortalSettings {
            fleet_cache_ttl: Duration::from_millis(config.fleet_cache_ms),
            account_id,
            trusted_proxies: config.trusted_proxies.clone(),
            ..Default::default()
        },
    );
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    let addr = listener.local_addr()?;
    let portal = Arc::new(portal);
    if let Some(token) = &setup_token {
        tracing::warn!(
            "no user exists yet: open http://{addr}/setup?token={token} to create the first administrator \
             (the link works once; or use `workspaces-portal user add --role admin`)"
        );
    }
    // Hourly: forget expired sessions.
    let upkeep = portal.clone();
    tokio::spawn(async move {
        loop {
            match upkeep.auth().delete_expired_sessions().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(sessions = n, "deleted expired sessions"),
                Err(e) => tracing::warn!(error = %e, "deleting expired sessions failed"),
            }
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
    });
    let state = AppState {
        leptos_options: leptos_options(addr),
        portal: portal.clone(),
    };
    let app = router(state);
    let task =
        tokio::spawn(
            async move { axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await },
        );
    Ok(Running {
        addr,
        portal,
        setup_token,
        emulator,
        audit,
        task,
    })
}

/// `workspaces-portal audit …`: returns the process exit code.
pub async fn run_audit_command(config: &Config, command: &AuditCommand) -> std::io::Result<i32> {
    let db = db::open_existing(&config.database_url)
        .await
        .map_err(|e| std::io::Error::other(format!("database {}: {e} (see --database-url)", config.database_url)))?;
    match command.query() {
        None => {
            let key = AuditKey::load(&config.audit_key_file)?;
            let v = audit::verify(&db, &key)
                .await
                .map_err(|e| std::io::Error::other(format!("reading the audit log: {e}")))?;
            let unsealed = if v.unsealed > 0 {
                format!(
                    "; {} request(s) still running or interrupted (sealed with an unknown outcome at the next start)",
                    v.unsealed
                )
            } else {
                String::new()
            };
            match &v.problem {
                None => {
                    println!(
                        "audit log verified: {} records (#{} to #{}), {} signed checkpoints{unsealed}",
                        v.records, v.first_seq, v.last_seq, v.checkpoints
                    );
                    Ok(0)
                }
                Some(problem) => {
                    println!(
                        "audit log BROKEN at {problem}\n{} records verified before it, {} checkpoints{unsealed}",
                        v.records, v.checkpoints
                    );
                    Ok(1)
                }
            }
        }
        Some((format, query)) => {
            let checked = ExportFormat::parse(&format).and_then(|f| Ok((f, Filter::parse(&query)?)));
            let (format, filter) = match checked {
                Ok(ok) => ok,
                Err(e) => {
                    eprintln!("{e}");
                    return Ok(2);
                }
            };
            let (tx, mut rx) = tokio::sync::mpsc::channel(4);
            let export = tokio::spawn(audit::export(db, filter, format, tx));
            use std::io::Write;
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            while let Some(chunk) = rx.recv().await {
                match chunk {
                    Ok(bytes) => out.write_all(&bytes)?,
                    Err(e) => return Err(std::io::Error::other(e)),
                }
            }
            out.flush()?;
            let count = export
                .await
                .map_err(std::io::Error::other)?
                .map_err(|e| std::io::Error::other(e.to_string()))?;
            eprintln!("exported {count} records");
            Ok(0)
        }
    }
}
