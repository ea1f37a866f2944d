//! The command line: `workspaces-portal audit …` (verify, export) and `workspaces-portal user
//! …` (user management, through the same services as the Users page). Each returns the process
//! exit code.

mod users;

pub use users::{run_user_command, UserCommand};

use app::audit::ssr::{self as audit, AuditKey, ExportFormat, Filter};
use app::ssr::db;

use crate::config::{AuditCommand, Config};

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
