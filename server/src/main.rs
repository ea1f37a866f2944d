//! `workspaces-portal`: serves the portal. Run from the workspace root after a build, so that
//! `target/site` (the compiled CSS, JS and WASM) is found.

use clap::Parser;
use portal_server::{
    run_access_command, run_audit_command, run_ingest_token_command, run_user_command, start, Backend, Command, Config,
};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,workspaces_emulator=warn,aws_config=warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let config = Config::parse();
    if let Some(Command::Audit(command)) = &config.command {
        let code = run_audit_command(&config, command).await?;
        std::process::exit(code);
    }
    if let Some(Command::User(command)) = &config.command {
        let code = run_user_command(&config, command).await?;
        std::process::exit(code);
    }
    if let Some(Command::IngestToken(command)) = &config.command {
        let code = run_ingest_token_command(&config, command).await?;
        std::process::exit(code);
    }
    if let Some(Command::Access(command)) = &config.command {
        let code = run_access_command(&config, command).await?;
        std::process::exit(code);
    }
    if config.workspaces == Backend::Aws {
        tracing::info!(
            "using Amazon WorkSpaces through the standard AWS configuration (credentials chain, AWS_REGION)"
        );
    }
    let running = start(config).await?;
    tracing::info!(url = %format!("http://{}", running.addr), "WorkSpaces Portal listening");
    let audit = running.portal.pipeline.audit().clone();
    tokio::select! {
        result = running.task => { result??; }
        _ = shutdown_signal() => { tracing::info!("shutting down"); }
    }
    // A clean stop leaves the whole log under a signed checkpoint.
    match audit.settled().await.and(audit.checkpoint().await) {
        Ok(()) => tracing::info!("signed a final audit checkpoint"),
        Err(e) => tracing::error!(error = %e, "could not sign a final audit checkpoint"),
    }
    Ok(())
}

/// Ctrl-C, or SIGTERM (what service managers and `kill` send).
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("a SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}
