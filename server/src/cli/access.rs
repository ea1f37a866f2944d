//! `workspaces-portal ingest-token …` (make, list, revoke the tokens EventBridge delivers with)
//! and `workspaces-portal access import FILE` (backfill logins from a file). Each goes through
//! the same service, and so the same request pipeline, as the Users page and the endpoint.

use std::path::PathBuf;

use app::access::ssr::{event, Access, AccessSettings};
use app::audit::ssr::AuditLog;
use app::ssr::Caller;

use super::finish;
use clap::Subcommand;

use crate::Config;

#[derive(Clone, Debug, Subcommand)]
pub enum IngestTokenCommand {
    /// Make a token; it is printed alone on the last line of standard output, once.
    Create {
        #[arg(long)]
        name: String,
    },
    /// List the tokens (never the tokens themselves) with their last use.
    List,
    /// Revoke the live token of this name: its deliveries are refused from now on.
    Revoke {
        #[arg(long)]
        name: String,
    },
}

#[derive(Clone, Debug, Subcommand)]
pub enum AccessCommand {
    /// Store the WorkSpaces Access events of a file: a JSON array, or one event per line (as a
    /// CloudWatch Logs group a rule targets exports them). Checked and de-duplicated like a
    /// delivery; prints the counts and each refused event.
    Import { file: PathBuf },
}

/// The Access service and its audit log, for a command beside the portal.
async fn service(config: &Config) -> std::io::Result<(Access, AuditLog)> {
    let (db, pipeline, audit) = super::recorded(config).await?;
    Ok((Access::new(db, pipeline, AccessSettings::default()), audit))
}

pub async fn run_ingest_token_command(config: &Config, command: &IngestTokenCommand) -> std::io::Result<i32> {
    let (access, audit) = service(config).await?;
    let caller = Caller::command_line();
    Ok(match command {
        IngestTokenCommand::Create { name } => {
            let made = access.create_token(&caller, name).await;
            finish(&audit, made, |made| {
                eprintln!("ingest token {} made; it is not shown again:", made.name);
                println!("{}", made.token);
            })
            .await
        }
        IngestTokenCommand::List => {
            let tokens = access.tokens(&caller).await;
            finish(&audit, tokens, |tokens| {
                println!(
                    "{:<32} {:<24} {:<16} {:<24} REVOKED",
                    "NAME", "CREATED", "BY", "LAST USED"
                );
                for t in &tokens {
                    println!(
                        "{:<32} {:<24} {:<16} {:<24} {}",
                        t.name,
                        t.created_at,
                        t.created_by,
                        t.last_used_at.as_deref().unwrap_or("never"),
                        t.revoked_at.as_deref().unwrap_or("-")
                    );
                }
                eprintln!("{} token(s)", tokens.len());
            })
            .await
        }
        IngestTokenCommand::Revoke { name } => {
            let revoked = access.revoke_token(&caller, name).await;
            finish(&audit, revoked, |()| eprintln!("ingest token {name} revoked")).await
        }
    })
}

pub async fn run_access_command(config: &Config, command: &AccessCommand) -> std::io::Result<i32> {
    let AccessCommand::Import { file } = command;
    let text = std::fs::read_to_string(file).map_err(|e| std::io::Error::other(format!("{}: {e}", file.display())))?;
    let (access, audit) = service(config).await?;
    let imported = access
        .import(&Caller::command_line(), event::events_of_file(&text))
        .await;
    Ok(finish(&audit, imported, |outcome| {
        for r in &outcome.refused {
            eprintln!("refused event #{} ({}): {}", r.index, r.field, r.message);
        }
        println!(
            "{} stored, {} already there, {} refused",
            outcome.accepted,
            outcome.duplicates,
            outcome.refused.len()
        );
    })
    .await)
}
