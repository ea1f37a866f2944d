//! `workspaces-emulator`: the WorkSpaces emulator as a standalone server.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use tracing_subscriber::EnvFilter;
use workspaces_emulator::faults::FaultRule;
use workspaces_emulator::{seed, Config, Emulator, Seed, Settings};

/// An Amazon WorkSpaces endpoint (API 2015-04-08) for development and tests, speaking both
/// protocols of the service model: AWS JSON 1.1 (POST /) and Smithy RPC v2 CBOR
/// (POST /service/WorkspacesService/operation/<Action>).
///
/// Point any AWS SDK or the AWS CLI at it, for example:
/// aws workspaces describe-workspaces --endpoint-url http://127.0.0.1:4566
#[derive(Debug, Parser)]
#[command(name = "workspaces-emulator", version)]
struct Cli {
    /// Address to listen on.
    #[arg(long, env = "WORKSPACES_EMULATOR_LISTEN", default_value = "127.0.0.1:4566")]
    listen: SocketAddr,

    /// How long a WorkSpace stays in each transitional state (PENDING, STARTING, STOPPING,
    /// REBOOTING, REBUILDING, TERMINATING), in milliseconds.
    #[arg(long, env = "WORKSPACES_EMULATOR_TRANSITION_DELAY_MS", default_value_t = 3000)]
    transition_delay_ms: u64,

    /// Start with no WorkSpaces (directories and bundles are still there).
    #[arg(long, conflicts_with = "seed_workspaces")]
    empty: bool,

    /// Seed this many WorkSpaces instead of the default fleet (works for 100,000 and more).
    #[arg(long, value_name = "N")]
    seed_workspaces: Option<usize>,

    /// The AWS account ID the emulator answers as (owner of the account's own bundles).
    #[arg(long, default_value = seed::DEFAULT_ACCOUNT_ID)]
    account_id: String,

    /// Simulated user sessions connect or disconnect at most once per this many seconds.
    #[arg(long, default_value_t = 60)]
    session_period_secs: i64,

    /// Install a fault rule at start-up (repeatable), as JSON, e.g.
    /// '{"action":"StopWorkspaces","error":"Throttling","count":2}'. Rules can also be
    /// added at run time with POST /_emulator/faults.
    #[arg(long, value_name = "JSON")]
    fault: Vec<String>,

    /// Deliver the fleet's simulated WorkSpaces Access events (logins) to this URL, as an
    /// EventBridge API destination would (e.g. http://127.0.0.1:3000/events/workspaces-access).
    #[arg(long, value_name = "URL", requires = "events_token")]
    events_target: Option<String>,

    /// The ingest token sent with each delivery (Authorization: Bearer …).
    #[arg(long, value_name = "TOKEN", env = "WORKSPACES_EMULATOR_EVENTS_TOKEN")]
    events_token: Option<String>,

    /// Days of history delivered first.
    #[arg(long, default_value_t = 14)]
    events_history_days: u32,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Logs go through a background writer, so one line per request does not stall requests.
    // Not lossy: under a burst, requests wait for the writer rather than lose their line.
    let (writer, _flush_on_exit) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .finish(std::io::stdout());
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .with_writer(writer)
        .init();
    let cli = Cli::parse();

    let workspaces = if cli.empty {
        0
    } else {
        cli.seed_workspaces.unwrap_or(seed::DEFAULT_FLEET_SIZE)
    };
    let config = Config {
        settings: Settings {
            transition_delay: Duration::from_millis(cli.transition_delay_ms),
            account_id: cli.account_id,
            session_period_secs: cli.session_period_secs.max(1),
        },
        seed: Seed { workspaces },
    };
    let emulator = Emulator::new(config);
    for rule in &cli.fault {
        let rule: FaultRule = serde_json::from_str(rule).map_err(|e| format!("--fault {rule}: {e}"))?;
        emulator.faults().add(rule).map_err(|e| format!("--fault: {e}"))?;
    }

    if let (Some(url), Some(token)) = (cli.events_target.clone(), cli.events_token.clone()) {
        if !url.starts_with("http://") {
            return Err(format!("--events-target {url}: only http:// targets are supported").into());
        }
        tracing::info!(%url, "delivering WorkSpaces Access events");
        let target = workspaces_emulator::events::EventTarget {
            url,
            token,
            history_days: cli.events_history_days,
        };
        tokio::spawn(workspaces_emulator::events::deliver(emulator.clone(), target));
    }

    let listener = tokio::net::TcpListener::bind(cli.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", cli.listen))?;
    tracing::info!(address = %listener.local_addr()?, workspaces, "WorkSpaces emulator listening");
    workspaces_emulator::serve(listener, emulator, shutdown_signal()).await?;
    tracing::info!("WorkSpaces emulator stopped");
    Ok(())
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
