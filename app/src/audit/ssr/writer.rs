//! The single writer of the audit log: group commit of whatever is waiting, the hash chain's
//! tip, periodic checkpoints and pruning.

use sqlx::{Connection, QueryBuilder, Sqlite, SqliteConnection};
use tokio::sync::{mpsc, oneshot};

use super::key::{chain_hash, AuditKey};
use super::log::{load_tip, Columns, Tip};
use super::record::{self, AuditRecord};
use super::AuditSettings;
use crate::ssr::db::Db;

pub(super) type Reply<T> = oneshot::Sender<Result<T, String>>;

pub(super) enum Command {
    /// Store a finished request's record, sealed into the chain.
    Append {
        record: Box<AuditRecord>,
        reply: Reply<i64>,
    },
    /// Store a request's start in `audit_pending`; answers the pending row's ID.
    Begin {
        record: Box<AuditRecord>,
        reply: Reply<i64>,
    },
    /// Replace pending row `id` with the request's sealed record. Nobody waits for it: a
    /// failure is logged, and the pending row is sealed as `unknown` at the next start-up.
    Finish {
        id: i64,
        record: Box<AuditRecord>,
    },
    /// Answered once every command sent before it is stored.
    Settle {
        reply: Reply<()>,
    },
    Checkpoint {
        reply: Reply<()>,
    },
    /// Remove records before `cutoff` (UTC text) from the start of the chain.
    Prune {
        cutoff: String,
        reply: Reply<u64>,
    },
}

/// Stores a record sealed into the chain after `tip`.
pub(super) async fn insert(tx: &mut SqliteConnection, tip: &mut Tip, record: &AuditRecord) -> Result<i64, sqlx::Error> {
    let json = serde_json::to_string(record).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    let c = Columns::of(record);
    let seq = tip.seq + 1;
    let hash = chain_hash(&tip.hash, seq, &json);
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO audit_records (event_id, event_time, event_source, event_name, user_name, source_ip, \
         user_agent, read_only, error_code, error_message, failed_items, outcome, resources, record, chain_seq, \
         prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(&c.event_id)
    .bind(&c.event_time)
    .bind(&c.event_source)
    .bind(&c.event_name)
    .bind(&c.user_name)
    .bind(&c.source_ip)
    .bind(&c.user_agent)
    .bind(c.read_only)
    .bind(&c.error_code)
    .bind(&c.error_message)
    .bind(c.failed_items)
    .bind(&c.outcome)
    .bind(&c.resources)
    .bind(&json)
    .bind(seq)
    .bind(&tip.hash)
    .bind(&hash)
    .fetch_one(&mut *tx)
    .await?;
    index_resources(tx, id, record).await?;
    *tip = Tip { seq, hash };
    Ok(id)
}

/// Stores a request's start in `audit_pending`, signed.
async fn insert_pending(conn: &mut SqliteConnection, key: &AuditKey, record: &AuditRecord) -> Result<i64, sqlx::Error> {
    let json = serde_json::to_string(record).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    let mac = key.sign_text("pending", &super::key::pending_text(&record.event_id, &json));
    sqlx::query_scalar("INSERT INTO audit_pending (event_id, record, mac) VALUES (?, ?, ?) RETURNING id")
        .bind(&record.event_id)
        .bind(&json)
        .bind(mac)
        .fetch_one(&mut *conn)
        .await
}

/// Replaces pending row `id` (which must be the same request's) with the sealed `record`.
pub(super) async fn seal_pending(
    tx: &mut SqliteConnection,
    tip: &mut Tip,
    id: i64,
    record: &AuditRecord,
) -> Result<i64, sqlx::Error> {
    let removed = sqlx::query("DELETE FROM audit_pending WHERE id = ? AND event_id = ?")
        .bind(id)
        .bind(&record.event_id)
        .execute(&mut *tx)
        .await?;
    if removed.rows_affected() != 1 {
        return Err(sqlx::Error::RowNotFound);
    }
    insert(tx, tip, record).await
}

/// Indexes the record under each resource it names: one statement.
async fn index_resources(tx: &mut SqliteConnection, id: i64, record: &AuditRecord) -> Result<(), sqlx::Error> {
    let resources = &record.additional_event_data.resource_ids;
    if resources.is_empty() {
        return Ok(());
    }
    let mut qb = QueryBuilder::<Sqlite>::new("INSERT OR IGNORE INTO audit_resources (resource_id, record_id) ");
    qb.push_values(resources.iter().take(500), |mut row, resource| {
        row.push_bind(resource).push_bind(id);
    });
    qb.build().execute(&mut *tx).await?;
    Ok(())
}

/// Signs a checkpoint at `tip`: in the database, in the server log, and in the checkpoint log
/// file when one is configured (outside the database's reach).
pub(super) async fn write_checkpoint(db: &Db, settings: &AuditSettings, tip: &Tip) -> Result<(), sqlx::Error> {
    let key = &settings.key;
    let created_at = record::utc_now();
    let mac = key.sign_text(
        "checkpoint",
        &super::key::checkpoint_text(tip.seq, &tip.hash, &created_at),
    );
    sqlx::query(
        "INSERT OR REPLACE INTO audit_checkpoints (chain_seq, hash, created_at, key_id, mac) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(tip.seq)
    .bind(&tip.hash)
    .bind(&created_at)
    .bind(&key.id)
    .bind(&mac)
    .execute(db)
    .await?;
    tracing::info!(chain_seq = tip.seq, hash = %tip.hash, "audit checkpoint");
    if let Some(path) = &settings.checkpoint_log {
        let line = serde_json::json!({
            "chainSeq": tip.seq,
            "hash": tip.hash,
            "createdAt": created_at,
            "keyId": key.id,
            "mac": mac,
        });
        let appended = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut f| std::io::Write::write_all(&mut f, format!("{line}\n").as_bytes()));
        if let Err(e) = appended {
            tracing::error!(path = %path.display(), error = %e, "could not append to the audit checkpoint log");
        }
    }
    Ok(())
}

pub(super) async fn prune(db: &Db, settings: &AuditSettings, tip: &Tip, cutoff: &str) -> Result<u64, sqlx::Error> {
    let mut tx = db.begin().await?;
    let first_kept: Option<i64> =
        sqlx::query_scalar("SELECT MIN(chain_seq) FROM audit_records WHERE chain_seq IS NOT NULL AND event_time >= ?")
            .bind(cutoff)
            .fetch_one(&mut *tx)
            .await?;
    let first_kept = first_kept.unwrap_or(tip.seq + 1);
    let prev_hash: String = match sqlx::query_scalar("SELECT prev_hash FROM audit_records WHERE chain_seq = ?")
        .bind(first_kept)
        .fetch_optional(&mut *tx)
        .await?
    {
        Some(h) => h,
        None => tip.hash.clone(),
    };
    let deleted = sqlx::query("DELETE FROM audit_records WHERE chain_seq IS NOT NULL AND chain_seq < ?")
        .bind(first_kept)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if deleted == 0 {
        return Ok(0);
    }
    sqlx::query("DELETE FROM audit_checkpoints WHERE chain_seq < ?")
        .bind(first_kept)
        .execute(&mut *tx)
        .await?;
    // The anchor says where the kept chain starts, and why: signed, so it cannot be forged to hide
    // records removed from the start.
    let pruned_at = record::utc_now();
    let retention_days = i64::from(settings.retention_days);
    let mac = settings.key.sign_text(
        "anchor",
        &super::key::anchor_text(first_kept, &prev_hash, cutoff, retention_days, &pruned_at),
    );
    sqlx::query(
        "INSERT OR REPLACE INTO audit_anchor (id, chain_seq, prev_hash, pruned_at, cutoff, retention_days, key_id, mac) \
         VALUES (1, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(first_kept)
    .bind(&prev_hash)
    .bind(&pruned_at)
    .bind(cutoff)
    .bind(retention_days)
    .bind(&settings.key.id)
    .bind(&mac)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(deleted)
}

/// The single writer: group commit of whatever is waiting, periodic checkpoints.
pub(super) async fn writer(
    db: Db,
    settings: AuditSettings,
    mut tip: Tip,
    mut checkpointed: i64,
    mut rx: mpsc::Receiver<Command>,
) {
    // The writer keeps one connection for itself: no pool round trip per batch.
    let mut conn: Option<sqlx::pool::PoolConnection<Sqlite>> = None;
    let period = settings.checkpoint_interval;
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let first = tokio::select! {
            command = rx.recv() => match command {
                Some(c) => c,
                None => break,
            },
            _ = ticker.tick() => {
                if tip.seq > checkpointed {
                    match write_checkpoint(&db, &settings, &tip).await {
                        Ok(()) => checkpointed = tip.seq,
                        Err(e) => tracing::error!(error = %e, "could not write an audit checkpoint"),
                    }
                }
                continue;
            }
        };
        let mut batch = vec![first];
        while batch.len() < 512 {
            match rx.try_recv() {
                Ok(c) => batch.push(c),
                Err(_) => break,
            }
        }
        // Checkpoints and pruning run on their own, between batches of records.
        let mut records = Vec::with_capacity(batch.len());
        for command in batch {
            match command {
                Command::Checkpoint { reply } => {
                    let result = if tip.seq > 0 {
                        write_checkpoint(&db, &settings, &tip).await
                    } else {
                        Ok(())
                    };
                    if result.is_ok() {
                        checkpointed = tip.seq;
                    }
                    let _ = reply.send(result.map_err(|e| e.to_string()));
                }
                Command::Prune { cutoff, reply } => {
                    let _ = reply.send(prune(&db, &settings, &tip, &cutoff).await.map_err(|e| e.to_string()));
                }
                other => records.push(other),
            }
        }
        if records.is_empty() {
            continue;
        }
        if conn.is_none() {
            conn = db
                .acquire()
                .await
                .map_err(|e| tracing::error!(error = %e, "audit writer: no connection"))
                .ok();
        }
        let Some(c) = conn.as_mut() else {
            for command in records {
                respond(command, Err("the audit database is unavailable".into()));
            }
            continue;
        };
        // What requests wait for (starts, finished records) is stored and answered first; the
        // outcomes nobody waits for follow in a transaction of their own.
        let (waited, later): (Vec<Command>, Vec<Command>) = records
            .into_iter()
            .partition(|c| matches!(c, Command::Append { .. } | Command::Begin { .. }));
        let mut broken = false;
        for group in [waited, later] {
            if !group.is_empty() {
                broken |= store(c, &db, &settings.key, &mut tip, group).await;
            }
        }
        // A broken connection is replaced before the next batch.
        if broken {
            conn = None;
        }
        if tip.seq - checkpointed >= settings.checkpoint_every {
            match write_checkpoint(&db, &settings, &tip).await {
                Ok(()) => checkpointed = tip.seq,
                Err(e) => tracing::error!(error = %e, "could not write an audit checkpoint"),
            }
        }
    }
}

/// Stores `commands` in one transaction and answers them. If that fails, each is tried on its
/// own, so that one bad record does not take the others with it. Returns whether the
/// connection looks broken (everything failed).
async fn store(conn: &mut SqliteConnection, db: &Db, key: &AuditKey, tip: &mut Tip, commands: Vec<Command>) -> bool {
    let before = tip.clone();
    let results: Vec<Result<i64, String>> = match apply(conn, key, tip, &commands).await {
        Ok(ids) => ids.into_iter().map(Ok).collect(),
        Err(e) => {
            // Another process (the command line) may have extended the chain: go on from its end.
            *tip = load_tip(db).await.unwrap_or(before);
            tracing::error!(error = %e, records = commands.len(), "could not store a batch of audit records");
            let mut results = Vec::with_capacity(commands.len());
            for command in &commands {
                let before = tip.clone();
                match apply(conn, key, tip, std::slice::from_ref(command)).await {
                    Ok(ids) => results.push(Ok(ids[0])),
                    Err(e) => {
                        *tip = load_tip(db).await.unwrap_or(before);
                        results.push(Err(e.to_string()));
                    }
                }
            }
            results
        }
    };
    let broken = results.iter().all(|r| r.is_err());
    let mut abandoned = Vec::new();
    for (command, result) in commands.into_iter().zip(results) {
        if let Some(seal) = respond(command, result) {
            abandoned.push(seal);
        }
    }
    // A request that went away before it learned its start was stored: seal it now, as what it
    // is, rather than leave it pending until the next start-up.
    if !abandoned.is_empty() {
        let before = tip.clone();
        if let Err(e) = apply(conn, key, tip, &abandoned).await {
            *tip = load_tip(db).await.unwrap_or(before);
            tracing::error!(error = %e, "could not seal requests whose callers went away");
        }
    }
    broken
}

/// The record of a request whose caller went away before its outcome was known.
pub(super) fn abandoned(mut record: AuditRecord) -> AuditRecord {
    record.additional_event_data.outcome = crate::audit::Outcome::Unknown;
    record.error_code = Some("ClientDisconnected".into());
    record.error_message = Some(
        "The client went away before the answer, and the portal stopped the request there. \
         Calls already sent to AWS may have taken effect: check the state of the resources it names."
            .into(),
    );
    record
}

/// Answers whoever waits for `command`; a failed `Finish` (nobody waits) is logged. A start
/// whose request no longer waits for it comes back, to be sealed.
fn respond(command: Command, result: Result<i64, String>) -> Option<Command> {
    match command {
        Command::Append { reply, .. } => {
            let _ = reply.send(result);
        }
        Command::Begin { reply, record } => {
            if let Ok(id) = result {
                if reply.send(Ok(id)).is_err() {
                    return Some(Command::Finish {
                        id,
                        record: Box::new(abandoned(*record)),
                    });
                }
            } else {
                let _ = reply.send(result);
            }
        }
        Command::Settle { reply } => {
            let _ = reply.send(result.map(|_| ()));
        }
        Command::Finish { id, record } => {
            if let Err(e) = result {
                tracing::error!(
                    pending = id,
                    event_id = %record.event_id,
                    error = %e,
                    "could not store the outcome of a request; it stays pending and is sealed as unknown at the next start"
                );
            }
        }
        Command::Checkpoint { .. } | Command::Prune { .. } => {}
    }
    None
}

/// Stores `commands` in one transaction; answers each one's row ID (0 where there is none).
async fn apply(
    conn: &mut SqliteConnection,
    key: &AuditKey,
    tip: &mut Tip,
    commands: &[Command],
) -> Result<Vec<i64>, sqlx::Error> {
    // The usual case on a quiet portal, on a request's path: one start, one statement.
    if let [Command::Begin { record, .. }] = commands {
        return Ok(vec![insert_pending(conn, key, record).await?]);
    }
    if commands.iter().all(|c| matches!(c, Command::Settle { .. })) {
        return Ok(vec![0; commands.len()]);
    }
    let mut tx = conn.begin().await?;
    let mut ids = Vec::with_capacity(commands.len());
    for command in commands {
        ids.push(match command {
            Command::Append { record, .. } => insert(&mut tx, tip, record).await?,
            Command::Begin { record, .. } => insert_pending(&mut tx, key, record).await?,
            Command::Finish { id, record } => seal_pending(&mut tx, tip, *id, record).await?,
            Command::Settle { .. } | Command::Checkpoint { .. } | Command::Prune { .. } => 0,
        });
    }
    tx.commit().await?;
    Ok(ids)
}
