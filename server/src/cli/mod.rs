//! The command line: `workspaces-portal audit …` (verify, export) and `workspaces-portal user
//! …` (user management, through the same services as the Users page). Each returns the process
//! exit code.

mod access;
mod users;

pub use access::{run_access_command, run_ingest_token_command, AccessCommand, IngestTokenCommand};
pub use users::{run_user_command, UserCommand};

use app::audit::ssr::{self as audit, AuditKey, AuditLog, AuditSettings, ExportFormat, Filter};
use app::error::AppError;
use app::ssr::{db, Pipeline, PipelineSettings};

use crate::config::{AuditCommand, Config};

/// The database, the request pipeline and the audit log of a command that changes something:
/// it is recorded like a request made through the portal.
async fn recorded(config: &Config) -> std::io::Result<(db::Db, Pipeline, AuditLog)> {
    let db = db::open_for_command(&config.database_url)
        .await
        .map_err(|e| std::io::Error::other(format!("database {}: {e} (see --database-url)", config.database_url)))?;
    let key = AuditKey::load_or_create(&config.audit_key_file)?;
    let audit = AuditLog::open_appender(db.clone(), AuditSettings::new(key))
        .await
        .map_err(|e| std::io::Error::other(format!("audit log: {e}")))?;
    let pipeline = Pipeline::new(audit.clone(), PipelineSettings::default());
    Ok((db, pipeline, audit))
}

/// The exit code of a finished command (2: refused input, 1: other failure), once its records
/// are sealed by the audit writer and a checkpoint signed over them (the portal's writer may not
/// know the chain moved on).
async fn finish<T>(audit: &AuditLog, result: Result<T, AppError>, done: impl FnOnce(T)) -> i32 {
    if let Err(e) = audit.settled().await.and(audit.checkpoint().await) {
        eprintln!("the outcome could not be recorded: {e}");
        return 1;
    }
    match result {
        Ok(value) => {
            done(value);
            0
        }
        Err(e @ (AppError::Validation { .. } | AppError::NotFound { .. } | AppError::Conflict { .. })) => {
            eprintln!("refused: {e}");
            2
        }
        Err(e) => {
            eprintln!("failed: {e}");
            1
        }
    }
}

/// `workspaces-portal audit …`: returns the process exit code.
pub async fn run_audit_command(config: &Config, command: &AuditCommand) -> std::io::Result<i32> {
    let db = db::open_existing(&config.database_url)
        .await
        .map_err(|e| std::io::Error::other(format!("database {}: {e} (see --database-url)", config.database_url)))?;
    match command.query() {
        None => {
            let key = AuditKey::load(&config.audit_key_file)?;
            let mut expected = Vec::new();
            if let AuditCommand::Verify { expect, checkpoint_log } = command {
                expected.extend(expect.iter().cloned());
                if let Some(path) = checkpoint_log {
                    let text = std::fs::read_to_string(path)
                        .map_err(|e| std::io::Error::other(format!("{}: {e}", path.display())))?;
                    let lines = audit::Expectation::from_checkpoint_log(&text)
                        .map_err(|e| std::io::Error::other(format!("{}: {e}", path.display())))?;
                    expected.extend(lines);
                }
            }
            let v = audit::verify_expecting(&db, &key, &expected)
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
                    if v.uncovered > 0 {
                        println!(
                            "{} record(s) at the end are younger than the next checkpoint",
                            v.uncovered
                        );
                    }
                    if v.recovered > 0 {
                        println!(
                            "{} record(s) were sealed at a start-up from requests a crash interrupted (outcome unknown)",
                            v.recovered
                        );
                    }
                    if let Some((cutoff, days)) = &v.pruned {
                        println!("records before #{} were pruned (older than {cutoff}; retention {days} days), as the signed anchor says", v.first_seq);
                    }
                    if !expected.is_empty() {
                        println!(
                            "{} checkpoint(s) kept outside the database match the chain",
                            v.expectations
                        );
                    }
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
