//! `workspaces-portal`: serves the portal. Run from the workspace root after a build, so that
//! `target/site` (the compiled CSS, JS and WASM) is found.

use clap::Parser;
use portal_server::{run_audit_command, run_user_command, start, Backend, Command, Config};
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
    if config.workspaces == Backend::Aws {
        tracing::info!(
            "using Amazon WorkSpaces through the standard AWS configuration (credentials chain, AWS_REGION)"
        );
    }
    let running = start(config).await?;
    tracing::info!(url = %format!("http://{}", running.addr), "WorkSpaces Portal listening");
    tokio::select! {
        result = running.task => { result??; }
        _ = tokio::signal::ctrl_c() => { tracing::info!("shutting down"); }
    }
    Ok(())
}
