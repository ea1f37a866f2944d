//! `workspaces-portal user …`: manage the portal's users from the machine it runs on.
//!
//! Works whether the portal is running or not. Each change goes through the same service, and so
//! the same request pipeline, as the Users page: recorded in the audit log first (no record, no
//! change), as made by the command line with the operating-system user's name.

use std::io::{BufRead, IsTerminal};

use app::identity::ssr::{Identity, IdentitySettings};
use app::ssr::Caller;
use clap::Subcommand;

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
    let (db, pipeline, audit) = super::recorded(config).await?;
    let identity = Identity::new(db, pipeline, IdentitySettings::default())
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let caller = Caller::command_line();
    let (event, result) = match command {
        UserCommand::List => {
            let users = identity
                .users()
                .list()
                .await
                .map_err(|e| std::io::Error::other(e.to_string()))?;
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
        UserCommand::Add { name, role } => {
            // A bad role is refused (and recorded) before a password is asked for.
            let password = match app::identity::Role::parse(role) {
                Ok(_) => read_password()?,
                Err(_) => String::new(),
            };
            ("CreateUser", identity.create_user(&caller, name, role, &password).await)
        }
        UserCommand::SetRole { name, role } => ("SetUserRole", identity.set_role(&caller, name, role).await),
        UserCommand::Disable { name } => ("DisableUser", identity.set_enabled(&caller, name, false).await),
        UserCommand::Enable { name } => ("EnableUser", identity.set_enabled(&caller, name, true).await),
        UserCommand::ResetPassword { name } => {
            let password = read_password()?;
            (
                "ResetUserPassword",
                identity.reset_password(&caller, name, &password).await,
            )
        }
    };
    Ok(super::finish(&audit, result, |()| eprintln!("done: {event}")).await)
}
