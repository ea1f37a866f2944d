//! `workspaces-portal user …`: manage the portal's users from the machine it runs on.
//!
//! Works whether the portal is running or not; every change is recorded in the audit log as
//! made by the command line (with the operating-system user's name).

use std::io::{BufRead, IsTerminal};

use app::auth::Role;
use app::error::AppError;
use app::ssr::audit::record::{self, EventKind};
use app::ssr::audit::{AuditKey, AuditLog, AuditRecord, AuditSettings, Caller};
use app::ssr::auth::{Auth, AuthSettings};
use app::ssr::db;
use clap::Subcommand;
use serde_json::json;

use crate::Config;

#[derive(Clone, Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user. The password is asked twice on a terminal, or read from standard input.
    Add {
        #[arg(long)]
        name: String,
        /// viewer, operator, approver or admin.
        #[arg(long, default_value = "viewer")]
        role: String,
    },
    /// List the users.
    List,
    /// Change a user's role (it applies to their live sessions at once).
    SetRole {
        #[arg(long)]
        name: String,
        #[arg(long)]
        role: String,
    },
    /// Disable a user: they cannot sign in, and their live sessions stop working.
    Disable {
        #[arg(long)]
        name: String,
    },
    /// Enable a disabled user again.
    Enable {
        #[arg(long)]
        name: String,
    },
    /// Set a new password (asked on a terminal, or read from standard input); the user's
    /// live sessions stop working.
    ResetPassword {
        #[arg(long)]
        name: String,
    },
}

/// Reads a new password: twice from a terminal (not echoed), or one line from standard input.
fn read_password() -> std::io::Result<String> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("New password: ")?;
        let again = rpassword::prompt_password("Once more: ")?;
        if first != again {
            return Err(std::io::Error::other("the two passwords differ"));
        }
        Ok(first)
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        Ok(line.trim_end_matches(['\n', '\r']).to_string())
    }
}

/// Runs a user command; returns the process exit code (2: refused input, 1: other failure).
pub async fn run_user_command(config: &Config, command: &UserCommand) -> std::io::Result<i32> {
    let db = db::open(&config.database_url)
        .await
        .map_err(|e| std::io::Error::other(format!("database {}: {e} (see --database-url)", config.database_url)))?;
    let auth = Auth::new(db.clone(), AuthSettings::default())
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    if let UserCommand::List = command {
        let users = auth.list().await.map_err(|e| std::io::Error::other(e.to_string()))?;
        println!(
            "{:<32} {:<9} {:<8} {:<24} LAST SIGN-IN",
            "NAME", "ROLE", "ENABLED", "CREATED"
        );
        for u in &users {
            println!(
                "{:<32} {:<9} {:<8} {:<24} {}",
                u.name,
                u.role,
                if u.enabled { "yes" } else { "no" },
                u.created_at,
                u.last_sign_in_at.as_deref().unwrap_or("never")
            );
        }
        eprintln!("{} user(s)", users.len());
        return Ok(0);
    }
    let key = AuditKey::load_or_create(&config.audit_key_file)?;
    let audit = AuditLog::open_appender(db, AuditSettings::new(key))
        .await
        .map_err(|e| std::io::Error::other(format!("audit log: {e}")))?;
    let (event, params, result) = match command {
        UserCommand::List => unreachable!("answered above"),
        UserCommand::Add { name, role } => {
            let params = json!({ "userName": name, "role": role });
            let result = match Role::parse(role) {
                Ok(role) => {
                    let password = read_password()?;
                    auth.create(name, role, &password).await.map(|_| ())
                }
                Err(e) => Err(e),
            };
            ("CreateUser", params, result)
        }
        UserCommand::SetRole { name, role } => {
            let params = json!({ "userName": name, "role": role });
            let result = match Role::parse(role) {
                Ok(role) => auth.set_role(name, role).await,
                Err(e) => Err(e),
            };
            ("SetUserRole", params, result)
        }
        UserCommand::Disable { name } => (
            "DisableUser",
            json!({ "userName": name }),
            auth.set_enabled(name, false).await,
        ),
        UserCommand::Enable { name } => (
            "EnableUser",
            json!({ "userName": name }),
            auth.set_enabled(name, true).await,
        ),
        UserCommand::ResetPassword { name } => {
            let password = read_password()?;
            (
                "ResetUserPassword",
                json!({ "userName": name }),
                auth.set_password(name, &password).await,
            )
        }
    };
    let mut entry = AuditRecord::start(
        EventKind {
            source: record::PORTAL_SOURCE,
            event_type: "PortalAction",
            name: event,
            action: "command-line/user",
            read_only: false,
        },
        &Caller::local(),
        params,
    );
    entry.additional_event_data.outcome = "completed".into();
    if let Err(e) = &result {
        let (code, message) = app::ssr::audit_error(e);
        entry.error_code = Some(code);
        entry.error_message = Some(message);
    }
    audit
        .append(entry)
        .await
        .map_err(|e| std::io::Error::other(format!("the change was made but could not be recorded: {e}")))?;
    match result {
        Ok(()) => {
            eprintln!("done: {event}");
            Ok(0)
        }
        Err(e @ AppError::Validation { .. })
        | Err(e @ AppError::NotFound { .. })
        | Err(e @ AppError::Conflict { .. }) => {
            eprintln!("refused: {e}");
            Ok(2)
        }
        Err(e) => {
            eprintln!("failed: {e}");
            Ok(1)
        }
    }
}
