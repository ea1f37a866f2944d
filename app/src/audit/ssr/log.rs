//! The handle every request uses to write to the audit log, and what happens at start-up:
//! the chain's tip is found, and requests a crash left pending are sealed as `unknown`.

use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::key::GENESIS;
use super::record::{self, AuditRecord, SealedFrom};
use super::writer::{self, Command, Reply};
use super::{AuditError, AuditSettings};
use crate::audit::Outcome;
use crate::ssr::db::Db;

/// The handle every request uses to write to the audit log. Cheap to clone.
#[derive(Clone)]
pub struct AuditLog {
    db: Db,
    tx: mpsc::Sender<Command>,
}

/// The end of the chain: the last sealed record's position and hash.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Tip {
    pub(super) seq: i64,
    pub(super) hash: String,
}

impl AuditLog {
    /// Opens the log on a migrated database: seals requests a crash left pending, then starts
    /// the writer (and, with a retention period, the daily pruning).
    pub async fn open(db: Db, settings: AuditSettings) -> Result<Self, sqlx::Error> {
        Self::start(db, settings, true).await
    }

    /// Opens the log to add a few records from another process (the command line) while the
    /// portal may be running: no recovery of the portal's pending requests, no upkeep. Both
    /// writers extend the same chain; a writer that finds the chain moved on re-reads its end.
    pub async fn open_appender(db: Db, settings: AuditSettings) -> Result<Self, sqlx::Error> {
        Self::start(db, settings, false).await
    }

    async fn start(db: Db, settings: AuditSettings, owner: bool) -> Result<Self, sqlx::Error> {
        let mut tip = load_tip(&db).await?;
        if !owner {
            let (tx, rx) = mpsc::channel(64);
            tokio::spawn(writer::writer(db.clone(), settings, tip, i64::MAX, rx));
            return Ok(AuditLog { db, tx });
        }
        let recovered = recover(&db, &settings.key, &mut tip).await?;
        if recovered > 0 {
            tracing::warn!(
                records = recovered,
                "sealed audit records of requests whose outcome was not recorded (the portal stopped during them)"
            );
        }
        let mut last_checkpoint: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(chain_seq), 0) FROM audit_checkpoints")
            .fetch_one(&db)
            .await?;
        // A previous run that stopped without its final checkpoint left the chain's end
        // unprotected: sign it now.
        if tip.seq > last_checkpoint {
            writer::write_checkpoint(&db, &settings, &tip).await?;
            last_checkpoint = tip.seq;
        }
        let (tx, rx) = mpsc::channel(4096);
        let log = AuditLog { db: db.clone(), tx };
        let retention_days = settings.retention_days;
        tokio::spawn(writer::writer(db, settings, tip, last_checkpoint, rx));
        // Hourly upkeep: retention, and fresh planner statistics as the log grows.
        let upkeep = log.clone();
        tokio::spawn(async move {
            loop {
                if retention_days > 0 {
                    match upkeep.prune(retention_days).await {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(records = n, retention_days, "pruned old audit records"),
                        Err(e) => tracing::error!(error = %e, "pruning the audit log failed"),
                    }
                }
                tokio::time::sleep(Duration::from_secs(3600)).await;
                if let Ok(mut conn) = upkeep.db.acquire().await {
                    if let Err(e) = crate::ssr::db::optimize(&mut conn).await {
                        tracing::warn!(error = %e, "refreshing the audit log's statistics failed");
                    }
                }
            }
        });
        Ok(log)
    }

    async fn ask<T>(&self, make: impl FnOnce(Reply<T>) -> Command) -> Result<T, AuditError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(make(reply))
            .await
            .map_err(|_| AuditError("the audit writer has stopped".into()))?;
        answer
            .await
            .map_err(|_| AuditError("the audit writer has stopped".into()))?
            .map_err(AuditError)
    }

    /// Stores a finished request (one refused before anything was sent, a portal event) sealed
    /// into the chain, and returns once it is stored.
    pub async fn append(&self, record: AuditRecord) -> Result<i64, AuditError> {
        self.ask(|reply| Command::Append {
            record: Box::new(record),
            reply,
        })
        .await
    }

    /// Stores a request's start (outcome `started`) and returns once it is stored, with the
    /// pending row's ID for [`AuditLog::finish`].
    pub async fn begin(&self, record: AuditRecord) -> Result<i64, AuditError> {
        self.ask(|reply| Command::Begin {
            record: Box::new(record),
            reply,
        })
        .await
    }

    /// Hands over the outcome of a request begun with [`AuditLog::begin`]; the writer seals it
    /// into the chain after the commands before it. Returns once handed over (waiting only if
    /// the writer is behind), not once stored.
    pub async fn finish(&self, id: i64, record: AuditRecord) -> Result<(), AuditError> {
        self.tx
            .send(Command::Finish {
                id,
                record: Box::new(record),
            })
            .await
            .map_err(|_| AuditError("the audit writer has stopped".into()))
    }

    /// Seals pending row `id` as a request whose caller went away before its outcome was
    /// known, without waiting (callable where nothing can be awaited: a dropped request).
    pub fn abandon(&self, id: i64, record: AuditRecord) {
        let command = Command::Finish {
            id,
            record: Box::new(writer::abandoned(record)),
        };
        match self.tx.try_send(command) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(command)) => match tokio::runtime::Handle::try_current() {
                Ok(runtime) => {
                    let tx = self.tx.clone();
                    runtime.spawn(async move {
                        let _ = tx.send(command).await;
                    });
                }
                Err(_) => tracing::error!(pending = id, "an abandoned request stays pending until the next start"),
            },
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }

    /// Returns once everything handed to the writer before this call is stored: readers of the
    /// log call it first, so a request answered before them is in what they read.
    pub async fn settled(&self) -> Result<(), AuditError> {
        self.ask(|reply| Command::Settle { reply }).await
    }

    /// Signs a checkpoint at the chain's tip now (also done periodically).
    pub async fn checkpoint(&self) -> Result<(), AuditError> {
        self.ask(|reply| Command::Checkpoint { reply }).await
    }

    /// Removes records older than `days` days; returns how many.
    pub async fn prune(&self, days: u32) -> Result<u64, AuditError> {
        let cutoff = record::utc_text(std::time::SystemTime::now() - Duration::from_secs(u64::from(days) * 86_400));
        self.prune_before(cutoff).await
    }

    /// Removes the records before `cutoff` (UTC, the log's text form) from the chain's start.
    pub async fn prune_before(&self, cutoff: String) -> Result<u64, AuditError> {
        self.ask(|reply| Command::Prune { cutoff, reply }).await
    }
}

pub(super) async fn load_tip(db: &Db) -> Result<Tip, sqlx::Error> {
    let last: Option<(i64, String)> = sqlx::query_as(
        "SELECT chain_seq, hash FROM audit_records WHERE chain_seq IS NOT NULL ORDER BY chain_seq DESC LIMIT 1",
    )
    .fetch_optional(db)
    .await?;
    if let Some((seq, hash)) = last {
        return Ok(Tip { seq, hash });
    }
    let anchor: Option<(i64, String)> = sqlx::query_as("SELECT chain_seq, prev_hash FROM audit_anchor WHERE id = 1")
        .fetch_optional(db)
        .await?;
    Ok(match anchor {
        Some((seq, hash)) => Tip { seq: seq - 1, hash },
        None => Tip {
            seq: 0,
            hash: GENESIS.into(),
        },
    })
}

/// Seals every request a previous run left pending, with outcome `unknown`, as what it is: a
/// start recovered at start-up, or — when its signature does not check out — a row the portal
/// did not write (`UnverifiedPendingRecord`).
async fn recover(db: &Db, key: &super::AuditKey, tip: &mut Tip) -> Result<u64, sqlx::Error> {
    let rows: Vec<(i64, String, String, Option<String>)> =
        sqlx::query_as("SELECT id, event_id, record, mac FROM audit_pending ORDER BY id")
            .fetch_all(db)
            .await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let mut tx = db.begin().await?;
    let mut next = tip.clone();
    for (id, event_id, json, mac) in &rows {
        let signed = mac
            .as_deref()
            .is_some_and(|mac| key.check_text("pending", &super::key::pending_text(event_id, json), mac));
        let mut record: AuditRecord = match serde_json::from_str(json) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(id, error = %e, "a pending audit record is not valid JSON; left in audit_pending");
                continue;
            }
        };
        record.additional_event_data.outcome = Outcome::Unknown;
        if signed && record.event_id == *event_id {
            record.error_code = Some("OutcomeUnknown".into());
            record.error_message = Some(
                "The portal stopped before the outcome of this request was recorded. \
                 Check the state of the resources it names."
                    .into(),
            );
            record.additional_event_data.sealed_from = Some(SealedFrom::Recovered);
        } else {
            tracing::error!(id, event_id = %event_id, "a pending audit row without a valid signature: sealed as unverified");
            record.event_id = event_id.clone();
            record.error_code = Some("UnverifiedPendingRecord".into());
            record.error_message = Some(
                "This request's start was found in the pending table without a valid signature of the audit key: \
                 the portal did not write it (or wrote it before rows were signed). It is kept as found."
                    .into(),
            );
            record.additional_event_data.sealed_from = Some(SealedFrom::Unverified);
        }
        writer::seal_pending(&mut tx, &mut next, *id, &record).await?;
    }
    tx.commit().await?;
    *tip = next;
    Ok(rows.len() as u64)
}

/// The columns kept beside a record's JSON, derived from it.
#[derive(Clone, Debug, PartialEq)]
pub struct Columns {
    pub event_id: String,
    pub event_time: String,
    pub event_source: String,
    pub event_name: String,
    pub user_name: String,
    pub source_ip: String,
    pub user_agent: String,
    pub read_only: bool,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub failed_items: i64,
    pub outcome: String,
    pub resources: String,
}

impl Columns {
    pub fn of(r: &AuditRecord) -> Self {
        Columns {
            event_id: r.event_id.clone(),
            event_time: r.event_time.clone(),
            event_source: r.event_source.clone(),
            event_name: r.event_name.clone(),
            user_name: r.user_identity.user_name.clone(),
            source_ip: r.source_ip_address.clone(),
            user_agent: r.user_agent.clone(),
            read_only: r.read_only,
            error_code: r.error_code.clone(),
            error_message: r.error_message.clone(),
            failed_items: r.additional_event_data.failed_items as i64,
            outcome: r.additional_event_data.outcome.as_str().to_string(),
            resources: r.additional_event_data.resource_ids.join(" "),
        }
    }
}
