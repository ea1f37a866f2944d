//! Start-up: the database and audit log, the WorkSpaces client (the embedded emulator or AWS),
//! the services, the upkeep tasks, and the listening server. The binary and the integration
//! tests start the portal the same way.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use app::access::ssr::{Access, AccessSettings};
use app::approvals::ssr::Approvals;
use app::audit::ssr::{AuditLog, AuditSettings};
use app::catalog::ssr::Catalog;
use app::fleet::ssr::{Fleet, Inventory, Sync, SyncSettings};
use app::identity::ssr::{Identity, IdentitySettings};
use app::ssr::{workspaces, AppState, Pipeline, PipelineSettings, Portal};
use aws_config::BehaviorVersion;
use leptos::prelude::*;

use crate::config::{Backend, Config};

/// A started server.
pub struct Running {
    pub addr: SocketAddr,
    pub portal: Arc<Portal>,
    /// First run only: the token of the setup link printed to the log.
    pub setup_token: Option<String>,
    pub emulator: Option<workspaces_emulator::Emulator>,
    /// Where the embedded emulator listens (loopback).
    pub emulator_addr: Option<SocketAddr>,
    pub task: tokio::task::JoinHandle<std::io::Result<()>>,
}

fn failed(what: &str) -> impl Fn(app::error::AppError) -> std::io::Error + '_ {
    move |e| std::io::Error::other(format!("{what}: {e}"))
}

/// The embedded emulator and where it listens.
pub struct Embedded {
    pub emulator: workspaces_emulator::Emulator,
    pub addr: SocketAddr,
}

/// The WorkSpaces client for the configured backend. With the emulator, it also returns the
/// emulator, whose state tests may inspect.
pub async fn workspaces_client(config: &Config) -> std::io::Result<(workspaces::Client, Option<Embedded>)> {
    match config.workspaces {
        Backend::Aws => {
            let shared = aws_config::defaults(BehaviorVersion::latest()).load().await;
            Ok((
                workspaces::client(aws_sdk_workspaces::config::Builder::from(&shared)),
                None,
            ))
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
            let addr = workspaces_emulator::spawn_with(emulator.clone(), config.emulator_control).await?;
            if config.emulator_control {
                tracing::warn!(
                    control = %format!("http://{addr}/_emulator/"),
                    "embedded WorkSpaces emulator started with its control endpoints (--emulator-control)"
                );
            } else {
                tracing::info!(endpoint = %format!("http://{addr}"), "embedded WorkSpaces emulator started");
            }
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
                .endpoint_url(format!("http://{addr}"));
            Ok((workspaces::client(sdk_config), Some(Embedded { emulator, addr })))
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

/// Builds the portal's services from `config`: what the server and the tests share.
pub async fn services(config: &Config) -> std::io::Result<(Portal, Option<Embedded>)> {
    let (db, key) = config.open_database().await?;
    let audit = AuditLog::open(
        db.clone(),
        AuditSettings {
            retention_days: config.audit_retention_days,
            checkpoint_log: config.audit_checkpoint_log.clone(),
            ..AuditSettings::new(key)
        },
    )
    .await
    .map_err(|e| std::io::Error::other(format!("audit log: {e}")))?;
    let (client, emulator) = workspaces_client(config).await?;
    let approval_settings = config.approval_settings();
    let account_id = config.aws_account_id.clone().or_else(|| {
        emulator
            .as_ref()
            .map(|_| workspaces_emulator::seed::DEFAULT_ACCOUNT_ID.to_string())
    });
    let pipeline = Pipeline::new(
        audit,
        PipelineSettings {
            region: client.config().region().map(|r| r.to_string()).unwrap_or_default(),
            account_id,
            trusted_proxies: config.trusted_proxies.clone(),
            approval_required: Approvals::gated(&approval_settings),
        },
    );
    let identity = Identity::new(
        db.clone(),
        pipeline.clone(),
        IdentitySettings {
            idle_timeout: Duration::from_secs(config.session_idle_secs.max(1)),
            lifetime: Duration::from_secs(config.session_lifetime_secs.max(1)),
            secure_cookies: config.secure_cookies(),
            ..Default::default()
        },
    )
    .await
    .map_err(failed("users"))?;
    let catalog = Arc::new(Catalog::new(client.clone(), pipeline.clone(), Duration::from_secs(60)));
    let inventory = Inventory::new(db.clone());
    let sync = Arc::new(Sync::new(
        client.clone(),
        catalog.clone(),
        inventory.clone(),
        SyncSettings {
            sweep_every: Duration::from_secs(config.inventory_sweep_secs),
            max_calls_per_sec: config.inventory_max_calls_per_sec,
            transitional_every: Duration::from_millis(config.inventory_transitional_ms),
            ..Default::default()
        },
    ));
    let fleet = Fleet::new(client.clone(), pipeline.clone(), catalog.clone(), inventory, sync);
    let approvals = Arc::new(Approvals::new(
        db.clone(),
        pipeline.clone(),
        client.clone(),
        approval_settings,
    ));
    approvals.start().await.map_err(failed("approvals"))?;
    let access = Arc::new(Access::new(
        db.clone(),
        pipeline.clone(),
        AccessSettings {
            retention_days: config.access_retention_days,
            alert_webhook: config
                .alert_webhook
                .as_ref()
                .map(|url| app::ssr::webhook::Webhook::spawn("alerts", url.to_string())),
            ..Default::default()
        },
    ));
    let portal = Portal {
        pipeline,
        db,
        workspaces: client,
        identity,
        catalog,
        fleet,
        approvals,
        access,
        exports: Default::default(),
    };
    Ok((portal, emulator))
}

/// Builds the app from `config` and serves it in the background.
pub async fn start(config: Config) -> std::io::Result<Running> {
    let (portal, embedded) = services(&config).await?;
    let setup_token = portal.identity.first_run_token().await.map_err(failed("users"))?;
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    let addr = listener.local_addr()?;
    let portal = Arc::new(portal);
    if let Some(token) = &setup_token {
        tracing::warn!(
            "no user exists yet: open http://{addr}/setup?token={token} to create the first administrator \
             (the link works once; or use `workspaces-portal user add --role admin`)"
        );
    }
    // The inventory's one background sync.
    tokio::spawn(portal.fleet.sync().run());
    // Hourly: forget expired sessions.
    let upkeep = portal.clone();
    tokio::spawn(async move {
        loop {
            match upkeep.identity.delete_expired_sessions().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(sessions = n, "deleted expired sessions"),
                Err(e) => tracing::warn!(error = %e, "deleting expired sessions failed"),
            }
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
    });
    access_upkeep(portal.clone());
    if let (Some(embedded), true) = (&embedded, config.emulator_access_events_days > 0) {
        emulator_events(&portal, embedded, addr, config.emulator_access_events_days).await;
    }
    let state = AppState {
        leptos_options: leptos_options(addr),
        portal: portal.clone(),
    };
    let app = crate::router::router(
        state,
        crate::middleware::Site::of(config.public_url.as_ref()),
        Duration::from_secs(config.readiness_cache_secs),
    );
    let task =
        tokio::spawn(
            async move { axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await },
        );
    Ok(Running {
        addr,
        portal,
        setup_token,
        emulator_addr: embedded.as_ref().map(|e| e.addr),
        emulator: embedded.map(|e| e.emulator),
        task,
    })
}

/// The access events' upkeep: names the user of logins that arrived without one, from the
/// inventory (once its first sweep is complete) — within 2 s of the first, then at most every
/// 30 s while more arrive; hourly, prunes logins older than the retention.
fn access_upkeep(portal: Arc<Portal>) {
    let naming = portal.clone();
    tokio::spawn(async move {
        let mut last_named: Option<std::time::Instant> = None;
        loop {
            tokio::time::sleep(Duration::from_secs(2)).await;
            if last_named.is_some_and(|at| at.elapsed() < Duration::from_secs(30)) {
                continue;
            }
            match naming.access.has_unnamed().await {
                Ok(false) => continue,
                Ok(true) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "access events: cannot read the logins to name");
                    continue;
                }
            }
            let users = match naming.fleet.users().await {
                Ok(Some(users)) => users,
                Ok(None) => continue, // the inventory's first sweep is not complete yet
                Err(e) => {
                    tracing::warn!(error = %e, "access events: cannot read the inventory to name the logins' users");
                    continue;
                }
            };
            last_named = Some(std::time::Instant::now());
            if let Err(e) = naming.access.name_users(|id| users.get(id).cloned()).await {
                tracing::warn!(error = %e, "access events: naming the logins' users failed");
            }
        }
    });
    tokio::spawn(async move {
        loop {
            match portal.access.prune().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(logins = n, "pruned access events older than the retention"),
                Err(e) => tracing::warn!(error = %e, "pruning access events failed"),
            }
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
    });
}

/// The embedded emulator delivers its simulated logins to this portal's endpoint the way
/// EventBridge would, with an ingest token named `emulator` made for it at each start (the
/// previous one revoked; both recorded); its users' usual networks are allowed when no allowed
/// network is defined.
async fn emulator_events(portal: &Arc<Portal>, embedded: &Embedded, addr: SocketAddr, days: u32) {
    let caller = app::ssr::Caller::portal();
    // The simulated users' usual networks are the allowed ones, until someone defines others.
    if portal.access.networks(&caller).await.is_ok_and(|n| n.is_empty()) {
        for (name, cidr) in workspaces_emulator::store::USUAL_NETWORKS {
            if let Err(e) = portal.access.add_network(&caller, name, cidr, "").await {
                tracing::warn!(error = %e, cidr, "the emulator's usual network could not be allowed");
            }
        }
    }
    let live = portal.access.tokens(&caller).await.unwrap_or_default();
    if live.iter().any(|t| t.name == "emulator" && t.revoked_at.is_none()) {
        let _ = portal.access.revoke_token(&caller, "emulator").await;
    }
    let token = match portal.access.create_token(&caller, "emulator").await {
        Ok(made) => made.token,
        Err(e) => {
            tracing::warn!(error = %e, "the emulator's ingest token could not be made: no simulated logins");
            return;
        }
    };
    let host = if addr.ip().is_unspecified() {
        std::net::IpAddr::from([127, 0, 0, 1])
    } else {
        addr.ip()
    };
    let target = workspaces_emulator::events::EventTarget {
        url: format!(
            "http://{}{}",
            SocketAddr::new(host, addr.port()),
            app::access::INGEST_PATH
        ),
        token,
        history_days: days,
    };
    tokio::spawn(workspaces_emulator::events::deliver(embedded.emulator.clone(), target));
}
