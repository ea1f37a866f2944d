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
mod key;
mod log;
pub mod query;
pub mod record;
mod writer;

use std::time::Duration;

use leptos::server_fn::ServerFn;
use serde_json::json;

pub use chain::{verify, verify_expecting, Expectation, Problem, Verification};
pub use key::{chain_hash, AuditKey, GENESIS};
pub use log::{AuditLog, Columns};
pub use query::{export, ExportFormat, Filter};
pub use record::{AuditRecord, PortalData, UserIdentity};

use crate::audit::{AuditDetail, AuditPage, AuditQuery, GetAuditRecord, ListAudit, EXPORT_PATH};
use crate::error::AppResult;
use crate::ssr::{Caller, Operation, Portal};

#[derive(Clone, Debug)]
pub struct AuditSettings {
    pub key: AuditKey,
    /// Records older than this many days are pruned; 0 keeps everything.
    pub retention_days: u32,
    /// A checkpoint is signed after this many records…
    pub checkpoint_every: i64,
    /// …or this long after the last one, if records were added since.
    pub checkpoint_interval: Duration,
    /// Each checkpoint is also appended to this file (one JSON line each), outside the
    /// database: `audit verify --checkpoint-log` proves nothing before them was changed.
    pub checkpoint_log: Option<std::path::PathBuf>,
}

impl AuditSettings {
    pub fn new(key: AuditKey) -> Self {
        AuditSettings {
            key,
            retention_days: 0,
            checkpoint_every: CHECKPOINT_EVERY,
            checkpoint_interval: CHECKPOINT_INTERVAL,
            checkpoint_log: None,
        }
    }
}

/// A checkpoint is signed after this many records…
pub const CHECKPOINT_EVERY: i64 = 1000;
/// …or this long after the last one, if records were added since.
pub const CHECKPOINT_INTERVAL: Duration = Duration::from_secs(60);

/// Why a record could not be stored.
#[derive(Debug, thiserror::Error)]
#[error("the audit log could not store the record: {0}")]
pub struct AuditError(pub(crate) String);

// ---------------------------------------------------------------------------------------------
// Reading the log. Reads of the audit log are not themselves recorded, only refusals to read it.

impl crate::ssr::Audited for AuditPage {}
impl crate::ssr::Audited for AuditDetail {}

/// `audit/list`: one page of a search, newest first.
pub async fn list(portal: &Portal, caller: &Caller, query: AuditQuery) -> AppResult<AuditPage> {
    let op = Operation::portal_read(ListAudit::PATH, "LookupAuditRecords", json!({ "filters": query }));
    let work = async {
        settled(portal).await?;
        query::list(&portal.db, &Filter::parse(&query)?).await
    };
    portal.pipeline.run(caller, op, work).await
}

/// `audit/get`: one record in full, or a request still running.
pub async fn get(portal: &Portal, caller: &Caller, event_id: &str) -> AppResult<AuditDetail> {
    let op = Operation::portal_read(GetAuditRecord::PATH, "GetAuditRecord", json!({ "eventId": event_id }));
    let work = async {
        settled(portal).await?;
        query::get(&portal.db, event_id).await
    };
    portal.pipeline.run(caller, op, work).await
}

/// `GET /api/audit/export?format=…&<the page's filters>`: checks the caller and the search, then
/// streams every matching record (oldest first) in chunks through the returned channel.
pub async fn export_for(
    portal: &Portal,
    caller: &Caller,
    params: &[(String, String)],
) -> AppResult<(ExportFormat, tokio::sync::mpsc::Receiver<Result<Vec<u8>, String>>)> {
    let recorded: serde_json::Map<String, serde_json::Value> =
        params.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
    let op = Operation::portal_read(EXPORT_PATH, "ExportAuditRecords", json!({ "filters": recorded }));
    let checked = async {
        settled(portal).await?;
        let format = params
            .iter()
            .find(|(k, _)| k == "format")
            .map(|(_, v)| v.as_str())
            .unwrap_or("cloudtrail");
        let query =
            <AuditQuery as crate::url::UrlQuery>::from_pairs(params.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let (format, filter) = (ExportFormat::parse(format)?, Filter::parse(&query)?);
        let who = caller
            .user()
            .map(|u| u.name.clone())
            .unwrap_or_else(|| caller.source_ip.clone());
        Ok(ExportStart(format, filter, portal.exports.start(&who)?))
    };
    let ExportStart(format, filter, turn) = portal.pipeline.run(caller, op, checked).await?;
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let db = portal.db.clone();
    tokio::spawn(async move {
        if let Err(e) = export(db, filter, format, tx).await {
            tracing::error!(error = %e, "audit export failed");
        }
        drop(turn);
    });
    Ok((format, rx))
}

struct ExportStart(ExportFormat, Filter, ExportTurn);

/// Exports running at once (the audit log's and the logins'): a few in all, one per user; the rest are told to try again (each
/// holds a reader's attention for as long as the reader takes, never a database connection).
pub struct Exports {
    all: std::sync::Arc<tokio::sync::Semaphore>,
    running: std::sync::Arc<std::sync::Mutex<std::collections::HashSet<String>>>,
}

/// Exports that may run at once.
pub const MAX_EXPORTS: usize = 4;

impl Default for Exports {
    fn default() -> Self {
        Exports {
            all: std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_EXPORTS)),
            running: Default::default(),
        }
    }
}

impl Exports {
    pub(crate) fn start(&self, who: &str) -> AppResult<ExportTurn> {
        let busy = |message: String| crate::error::AppError::TooManyRequests {
            message,
            retry_after: Some(10),
        };
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        if running.contains(who) {
            return Err(busy(
                "an export of yours is still running; wait until it has finished".into(),
            ));
        }
        let permit = self
            .all
            .clone()
            .try_acquire_owned()
            .map_err(|_| busy(format!("{MAX_EXPORTS} exports are running; try again shortly")))?;
        running.insert(who.to_string());
        Ok(ExportTurn {
            _permit: permit,
            running: self.running.clone(),
            who: who.to_string(),
        })
    }
}

/// A running export's place; freed when the export ends.
pub(crate) struct ExportTurn {
    _permit: tokio::sync::OwnedSemaphorePermit,
    running: std::sync::Arc<std::sync::Mutex<std::collections::HashSet<String>>>,
    who: String,
}

impl Drop for ExportTurn {
    fn drop(&mut self) {
        self.running.lock().unwrap_or_else(|e| e.into_inner()).remove(&self.who);
    }
}

impl crate::ssr::Audited for ExportStart {}

/// Waits until every request answered so far has its outcome stored, so that what is read next
/// includes them.
pub async fn settled(portal: &Portal) -> AppResult<()> {
    portal.pipeline.audit().settled().await.map_err(|e| {
        tracing::error!(error = %e, "the audit log is unavailable");
        crate::ssr::audit_unavailable()
    })
}
