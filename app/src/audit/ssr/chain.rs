//! `audit verify`: walks the hash chain and the signed checkpoints.

use std::collections::BTreeMap;

use futures::TryStreamExt;
use sqlx::Row;

use super::{chain_hash, AuditKey, AuditRecord, Columns, GENESIS};
use crate::ssr::db::Db;

/// What a walk of the chain found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Verification {
    /// Records whose hash, position and columns checked out, before any problem.
    pub records: u64,
    /// Checkpoints whose signature and hash checked out.
    pub checkpoints: u64,
    /// Requests still running, or interrupted (sealed at the next start-up).
    pub unsealed: u64,
    /// Where the kept chain starts (1 unless old records were pruned).
    pub first_seq: i64,
    pub last_seq: i64,
    /// The first place the chain breaks.
    pub problem: Option<Problem>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    /// The chain position at fault.
    pub chain_seq: i64,
    pub event_id: Option<String>,
    pub reason: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "record #{}", self.chain_seq)?;
        if let Some(id) = &self.event_id {
            write!(f, " (eventID {id})")?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// Walks the whole chain in order, streaming (constant memory), and stops at the first break.
pub async fn verify(db: &Db, key: &AuditKey) -> Result<Verification, sqlx::Error> {
    let anchor: Option<(i64, String)> = sqlx::query_as("SELECT chain_seq, prev_hash FROM audit_anchor WHERE id = 1")
        .fetch_optional(db)
        .await?;
    let (first_seq, mut expected_prev) = anchor.unwrap_or((1, GENESIS.to_string()));
    let checkpoints: BTreeMap<i64, (String, String, String)> = sqlx::query_as::<_, (i64, String, String, String)>(
        "SELECT chain_seq, hash, key_id, mac FROM audit_checkpoints",
    )
    .fetch_all(db)
    .await?
    .into_iter()
    .map(|(seq, hash, key_id, mac)| (seq, (hash, key_id, mac)))
    .collect();
    let unsealed: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_pending")
        .fetch_one(db)
        .await?;
    let mut out = Verification {
        unsealed: unsealed as u64,
        first_seq,
        last_seq: first_seq - 1,
        ..Default::default()
    };
    let mut expected_seq = first_seq;
    let mut rows = sqlx::query(
        "SELECT chain_seq, prev_hash, hash, record, event_id, event_time, event_source, event_name, user_name, \
         source_ip, user_agent, read_only, error_code, error_message, failed_items, outcome, resources \
         FROM audit_records WHERE chain_seq IS NOT NULL ORDER BY chain_seq",
    )
    .fetch(db);
    while let Some(row) = rows.try_next().await? {
        let seq: i64 = row.get("chain_seq");
        let event_id: String = row.get("event_id");
        let fail = |reason: String| Problem {
            chain_seq: seq,
            event_id: Some(event_id.clone()),
            reason,
        };
        if seq != expected_seq {
            out.problem = Some(if seq > expected_seq {
                fail(format!(
                    "the chain jumps from #{} to #{seq}: {} record(s) before this one were removed",
                    expected_seq - 1,
                    seq - expected_seq
                ))
            } else {
                fail(format!("position #{seq} appears twice"))
            });
            return Ok(out);
        }
        let prev: String = row.get("prev_hash");
        if prev != expected_prev {
            out.problem = Some(fail(
                "its predecessor hash does not match the record before it: records were removed, reordered or \
                 changed"
                    .into(),
            ));
            return Ok(out);
        }
        let json: String = row.get("record");
        let hash: String = row.get("hash");
        if chain_hash(&prev, seq, &json) != hash {
            out.problem = Some(fail(
                "its content does not match its hash: the record was changed after it was written".into(),
            ));
            return Ok(out);
        }
        let record: AuditRecord = match serde_json::from_str(&json) {
            Ok(r) => r,
            Err(e) => {
                out.problem = Some(fail(format!("its JSON cannot be read: {e}")));
                return Ok(out);
            }
        };
        let stored = Columns {
            event_id: event_id.clone(),
            event_time: row.get("event_time"),
            event_source: row.get("event_source"),
            event_name: row.get("event_name"),
            user_name: row.get("user_name"),
            source_ip: row.get("source_ip"),
            user_agent: row.get("user_agent"),
            read_only: row.get("read_only"),
            error_code: row.get("error_code"),
            error_message: row.get("error_message"),
            failed_items: row.get("failed_items"),
            outcome: row.get("outcome"),
            resources: row.get("resources"),
        };
        let signed = Columns::of(&record);
        if stored != signed {
            let field = differing_field(&stored, &signed);
            out.problem = Some(fail(format!(
                "its {field} column differs from the hashed record: the searchable copy was changed"
            )));
            return Ok(out);
        }
        if let Some((cp_hash, key_id, mac)) = checkpoints.get(&seq) {
            if !key.check(seq, cp_hash, mac) {
                out.problem = Some(fail(format!(
                    "the checkpoint at this record has an invalid signature (signed with key {key_id}; this key is {})",
                    key.id
                )));
                return Ok(out);
            }
            if cp_hash != &hash {
                out.problem = Some(fail(
                    "its hash differs from the one signed in the checkpoint: the chain was rewritten".into(),
                ));
                return Ok(out);
            }
            out.checkpoints += 1;
        }
        out.records += 1;
        out.last_seq = seq;
        expected_prev = hash;
        expected_seq = seq + 1;
    }
    // A signed checkpoint beyond the end: records were cut off the end of the chain.
    if let Some((&seq, _)) = checkpoints.range(expected_seq..).next() {
        out.problem = Some(Problem {
            chain_seq: seq,
            event_id: None,
            reason: format!(
                "a signed checkpoint names this record but the chain ends at #{}: records were removed from the end",
                expected_seq - 1
            ),
        });
    }
    Ok(out)
}

fn differing_field(a: &Columns, b: &Columns) -> &'static str {
    if a.event_time != b.event_time {
        "event_time"
    } else if a.event_source != b.event_source {
        "event_source"
    } else if a.event_name != b.event_name {
        "event_name"
    } else if a.user_name != b.user_name {
        "user_name"
    } else if a.source_ip != b.source_ip {
        "source_ip"
    } else if a.user_agent != b.user_agent {
        "user_agent"
    } else if a.read_only != b.read_only {
        "read_only"
    } else if a.error_code != b.error_code {
        "error_code"
    } else if a.error_message != b.error_message {
        "error_message"
    } else if a.failed_items != b.failed_items {
        "failed_items"
    } else if a.outcome != b.outcome {
        "outcome"
    } else if a.resources != b.resources {
        "resources"
    } else {
        "event_id"
    }
}
