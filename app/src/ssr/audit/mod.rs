//! The audit log: one CloudTrail-shaped record per request, in a SHA-256 hash chain with
//! signed checkpoints.
//!
//! One writer task owns every write to the log. It takes requests from a channel, applies as
//! many as are waiting in one transaction (group commit) and answers each. Because it is the
//! only writer, it knows the chain's tip without asking the database, and the chain's order is
//! the order in which records are sealed.
//!
//! A request made through the portal is stored twice. Its start goes into `audit_pending` (one
//! small insert, committed before a write is sent — if that fails, the write is refused — and
//! while a read runs); its outcome is then moved into `audit_records`, sealed into the chain, by
//! the writer on its own time: the request does not wait for it. Requests left pending by a
//! crash are sealed at the next start-up with outcome `unknown`: the log never has a silent gap.
//! Readers of the log call [`AuditLog::settled`] first, so they see every request answered
//! before they asked.

mod chain;
pub mod query;
pub mod record;

use std::path::Path;
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use sqlx::{Connection, QueryBuilder, Sqlite, SqliteConnection};
use tokio::sync::{mpsc, oneshot};

pub use chain::{verify, Problem, Verification};
pub use query::{export, ExportFormat, Filter};
pub use record::{AuditRecord, Caller, IpNet, PortalData, UserIdentity};

use super::db::Db;

/// The hash a chain starts from.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The key that signs checkpoints (HMAC-SHA256). Never logged, never sent anywhere.
#[derive(Clone)]
pub struct AuditKey {
    secret: Vec<u8>,
    /// A fingerprint that names the key in checkpoints without revealing it.
    pub id: String,
}

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AuditKey({})", self.id)
    }
}

impl AuditKey {
    pub fn from_secret(secret: Vec<u8>) -> Self {
        let id = hex::encode(&Sha256::digest([b"workspaces-portal audit key\n".as_slice(), &secret].concat())[..6]);
        AuditKey { secret, id }
    }

    /// Reads the key file (hex), creating it with a new random key (mode 0600) if it is missing.
    pub fn load_or_create(path: &Path) -> std::io::Result<Self> {
        Self::read(path, true)
    }

    /// Reads the key file, which must exist.
    pub fn load(path: &Path) -> std::io::Result<Self> {
        Self::read(path, false)
    }

    fn read(path: &Path, create: bool) -> std::io::Result<Self> {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let secret = hex::decode(text.trim()).map_err(|_| {
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("{}: the audit key must be hexadecimal", path.display()),
                    )
                })?;
                if secret.len() < 16 {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("{}: the audit key must be at least 16 bytes", path.display()),
                    ));
                }
                Ok(Self::from_secret(secret))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !create => Err(std::io::Error::new(
                e.kind(),
                format!("{}: no audit key there (see --audit-key-file)", path.display()),
            )),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut secret = vec![0u8; 32];
                getrandom::fill(&mut secret).map_err(|e| std::io::Error::other(e.to_string()))?;
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir)?;
                }
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                use std::io::Write;
                options.open(path)?.write_all(hex::encode(&secret).as_bytes())?;
                tracing::info!(path = %path.display(), "created a new audit signing key");
                Ok(Self::from_secret(secret))
            }
            Err(e) => Err(e),
        }
    }

    pub fn sign(&self, chain_seq: i64, hash: &str) -> String {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.secret).expect("HMAC takes keys of any length");
        mac.update(format!("{chain_seq}:{hash}").as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    pub fn check(&self, chain_seq: i64, hash: &str, signature: &str) -> bool {
        let Ok(signature) = hex::decode(signature) else {
            return false;
        };
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.secret).expect("HMAC takes keys of any length");
        mac.update(format!("{chain_seq}:{hash}").as_bytes());
        mac.verify_slice(&signature).is_ok()
    }
}

/// The hash of a record in the chain: SHA-256 over the previous hash, its position and its JSON.
pub fn chain_hash(prev_hash: &str, chain_seq: i64, json: &str) -> String {
    let mut h = Sha256::new();
    h.update(prev_hash.as_bytes());
    h.update(b"\n");
    h.update(chain_seq.to_string().as_bytes());
    h.update(b"\n");
    h.update(json.as_bytes());
    hex::encode(h.finalize())
}

#[derive(Clone, Debug)]
pub struct AuditSettings {
    pub key: AuditKey,
    /// Records older than this many days are pruned; 0 keeps everything.
    pub retention_days: u32,
    /// A checkpoint is signed after this many records…
    pub checkpoint_every: i64,
    /// …or this long after the last one, if records were added since.
    pub checkpoint_interval: Duration,
}

impl AuditSettings {
    pub fn new(key: AuditKey) -> Self {
        AuditSettings {
            key,
            retention_days: 0,
            checkpoint_every: 1000,
            checkpoint_interval: Duration::from_secs(60),
        }
    }
}

/// Why a record could not be stored.
#[derive(Debug, thiserror::Error)]
#[error("the audit log could not store the record: {0}")]
pub struct AuditError(String);

type Reply<T> = oneshot::Sender<Result<T, String>>;

enum Command {
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

/// The handle every request uses to write to the audit log. Cheap to clone.
#[derive(Clone)]
pub struct AuditLog {
    db: Db,
    tx: mpsc::Sender<Command>,
}

/// The end of the chain: the last sealed record's position and hash.
#[derive(Clone, Debug, PartialEq)]
struct Tip {
    seq: i64,
    hash: String,
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
            tokio::spawn(writer(db.clone(), settings, tip, i64::MAX, rx));
            return Ok(AuditLog { db, tx });
        }
        let recovered = recover(&db, &mut tip).await?;
        if recovered > 0 {
            tracing::warn!(
                records = recovered,
                "sealed audit records of requests whose outcome was not recorded (the portal stopped during them)"
            );
        }
        let last_checkpoint: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(chain_seq), 0) FROM audit_checkpoints")
            .fetch_one(&db)
            .await?;
        let (tx, rx) = mpsc::channel(4096);
        let log = AuditLog { db: db.clone(), tx };
        let retention_days = settings.retention_days;
        tokio::spawn(writer(db, settings, tip, last_checkpoint, rx));
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
                    if let Err(e) = super::db::optimize(&mut conn).await {
                        tracing::warn!(error = %e, "refreshing the audit log's statistics failed");
                    }
                }
            }
        });
        Ok(log)
    }

    pub fn db(&self) -> &Db {
        &self.db
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

async fn load_tip(db: &Db) -> Result<Tip, sqlx::Error> {
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

/// Seals every request a previous run left pending, with outcome `unknown`.
async fn recover(db: &Db, tip: &mut Tip) -> Result<u64, sqlx::Error> {
    let rows: Vec<(i64, String)> = sqlx::query_as("SELECT id, record FROM audit_pending ORDER BY id")
        .fetch_all(db)
        .await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let mut tx = db.begin().await?;
    let mut next = tip.clone();
    for (id, json) in &rows {
        let mut record: AuditRecord = match serde_json::from_str(json) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(id, error = %e, "a pending audit record is not valid JSON; left in audit_pending");
                continue;
            }
        };
        record.additional_event_data.outcome = "unknown".into();
        record.error_code = Some("OutcomeUnknown".into());
        record.error_message = Some(
            "The portal stopped before the outcome of this request was recorded. \
             Check the state of the resources it names."
                .into(),
        );
        seal_pending(&mut tx, &mut next, *id, &record).await?;
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
            outcome: r.additional_event_data.outcome.clone(),
            resources: r.additional_event_data.resource_ids.join(" "),
        }
    }
}

/// Stores a record sealed into the chain after `tip`.
async fn insert(tx: &mut SqliteConnection, tip: &mut Tip, record: &AuditRecord) -> Result<i64, sqlx::Error> {
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

/// Stores a request's start in `audit_pending`.
async fn insert_pending(conn: &mut SqliteConnection, record: &AuditRecord) -> Result<i64, sqlx::Error> {
    let json = serde_json::to_string(record).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    sqlx::query_scalar("INSERT INTO audit_pending (event_id, record) VALUES (?, ?) RETURNING id")
        .bind(&record.event_id)
        .bind(&json)
        .fetch_one(&mut *conn)
        .await
}

/// Replaces pending row `id` (which must be the same request's) with the sealed `record`.
async fn seal_pending(
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

async fn write_checkpoint(db: &Db, key: &AuditKey, tip: &Tip) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT OR REPLACE INTO audit_checkpoints (chain_seq, hash, created_at, key_id, mac) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(tip.seq)
    .bind(&tip.hash)
    .bind(record::utc_now())
    .bind(&key.id)
    .bind(key.sign(tip.seq, &tip.hash))
    .execute(db)
    .await?;
    Ok(())
}

async fn prune(db: &Db, tip: &Tip, cutoff: &str) -> Result<u64, sqlx::Error> {
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
    sqlx::query("INSERT OR REPLACE INTO audit_anchor (id, chain_seq, prev_hash, pruned_at) VALUES (1, ?, ?, ?)")
        .bind(first_kept)
        .bind(&prev_hash)
        .bind(record::utc_now())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(deleted)
}

/// The single writer: group commit of whatever is waiting, periodic checkpoints.
async fn writer(db: Db, settings: AuditSettings, mut tip: Tip, mut checkpointed: i64, mut rx: mpsc::Receiver<Command>) {
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
                    match write_checkpoint(&db, &settings.key, &tip).await {
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
                        write_checkpoint(&db, &settings.key, &tip).await
                    } else {
                        Ok(())
                    };
                    if result.is_ok() {
                        checkpointed = tip.seq;
                    }
                    let _ = reply.send(result.map_err(|e| e.to_string()));
                }
                Command::Prune { cutoff, reply } => {
                    let _ = reply.send(prune(&db, &tip, &cutoff).await.map_err(|e| e.to_string()));
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
                broken |= store(c, &db, &mut tip, group).await;
            }
        }
        // A broken connection is replaced before the next batch.
        if broken {
            conn = None;
        }
        if tip.seq - checkpointed >= settings.checkpoint_every {
            match write_checkpoint(&db, &settings.key, &tip).await {
                Ok(()) => checkpointed = tip.seq,
                Err(e) => tracing::error!(error = %e, "could not write an audit checkpoint"),
            }
        }
    }
}

/// Stores `commands` in one transaction and answers them. If that fails, each is tried on its
/// own, so that one bad record does not take the others with it. Returns whether the
/// connection looks broken (everything failed).
async fn store(conn: &mut SqliteConnection, db: &Db, tip: &mut Tip, commands: Vec<Command>) -> bool {
    let before = tip.clone();
    let results: Vec<Result<i64, String>> = match apply(conn, tip, &commands).await {
        Ok(ids) => ids.into_iter().map(Ok).collect(),
        Err(e) => {
            // Another process (the command line) may have extended the chain: go on from its end.
            *tip = load_tip(db).await.unwrap_or(before);
            tracing::error!(error = %e, records = commands.len(), "could not store a batch of audit records");
            let mut results = Vec::with_capacity(commands.len());
            for command in &commands {
                let before = tip.clone();
                match apply(conn, tip, std::slice::from_ref(command)).await {
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
    for (command, result) in commands.into_iter().zip(results) {
        respond(command, result);
    }
    broken
}

/// Answers whoever waits for `command`; a failed `Finish` (nobody waits) is logged.
fn respond(command: Command, result: Result<i64, String>) {
    match command {
        Command::Append { reply, .. } | Command::Begin { reply, .. } => {
            let _ = reply.send(result);
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
}

/// Stores `commands` in one transaction; answers each one's row ID (0 where there is none).
async fn apply(conn: &mut SqliteConnection, tip: &mut Tip, commands: &[Command]) -> Result<Vec<i64>, sqlx::Error> {
    // The usual case on a quiet portal, on a request's path: one start, one statement.
    if let [Command::Begin { record, .. }] = commands {
        return Ok(vec![insert_pending(conn, record).await?]);
    }
    if commands.iter().all(|c| matches!(c, Command::Settle { .. })) {
        return Ok(vec![0; commands.len()]);
    }
    let mut tx = conn.begin().await?;
    let mut ids = Vec::with_capacity(commands.len());
    for command in commands {
        ids.push(match command {
            Command::Append { record, .. } => insert(&mut tx, tip, record).await?,
            Command::Begin { record, .. } => insert_pending(&mut tx, record).await?,
            Command::Finish { id, record } => seal_pending(&mut tx, tip, *id, record).await?,
            Command::Settle { .. } | Command::Checkpoint { .. } | Command::Prune { .. } => 0,
        });
    }
    tx.commit().await?;
    Ok(ids)
}
