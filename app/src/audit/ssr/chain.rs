//! `audit verify`: walks the hash chain, the signed checkpoints, the anchor, the resource index
//! and the pending rows, and stops at the first thing that does not check out.
//!
//! What it proves, given the audit key was not taken: every record it counts is as the portal
//! wrote it, in its place; no record covered by a signed checkpoint was removed, added or
//! changed; checkpoints came at their cadence (a removed one leaves a gap that is reported); the
//! start of the kept chain is where a signed anchor says pruning left it; each record is found
//! under every resource it names. With the checkpoints also kept outside the database
//! (`--audit-checkpoint-log`, or a `SEQ:HASH` noted elsewhere), it proves that nothing up to them
//! was cut off or rewritten. What it cannot prove: that records younger than the last checkpoint
//! were not removed from the end (the cadence bounds how many), nor anything if the key is known
//! to whoever edited the database.

use std::collections::BTreeMap;

use futures::TryStreamExt;
use sqlx::Row;

use super::key::{anchor_text, checkpoint_text, pending_text};
use super::record::SealedFrom;
use super::{chain_hash, AuditKey, AuditRecord, Columns, CHECKPOINT_EVERY, CHECKPOINT_INTERVAL, GENESIS};
use crate::ssr::db::Db;

/// Records that may come between two checkpoints beyond their count cadence (the writer checks
/// after each batch it stores, of at most 512).
const COUNT_SLACK: i64 = 512;
/// How long a record may wait for the checkpoint that covers it: a tick of the interval, twice
/// for safety, and time for the writer.
fn time_allowance() -> time::Duration {
    time::Duration::try_from(2 * CHECKPOINT_INTERVAL).unwrap_or(time::Duration::MINUTE) + time::Duration::seconds(30)
}

/// A chain position and hash known from outside the database (a checkpoint log line, a
/// `SEQ:HASH` noted down).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expectation {
    pub chain_seq: i64,
    pub hash: String,
}

impl std::str::FromStr for Expectation {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (seq, hash) = text
            .split_once(':')
            .ok_or_else(|| format!("'{text}' is not SEQ:HASH"))?;
        let chain_seq = seq
            .trim()
            .parse()
            .map_err(|_| format!("'{seq}' is not a chain position"))?;
        let hash = hash.trim().to_ascii_lowercase();
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("'{hash}' is not a SHA-256 hash (64 hexadecimal digits)"));
        }
        Ok(Expectation { chain_seq, hash })
    }
}

impl Expectation {
    /// The checkpoints of a checkpoint log file (one JSON line each, as the portal writes it).
    pub fn from_checkpoint_log(text: &str) -> Result<Vec<Expectation>, String> {
        text.lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(n, line)| {
                let value: serde_json::Value =
                    serde_json::from_str(line).map_err(|e| format!("line {}: not JSON ({e})", n + 1))?;
                let chain_seq = value["chainSeq"]
                    .as_i64()
                    .ok_or_else(|| format!("line {}: no chainSeq", n + 1))?;
                let hash = value["hash"]
                    .as_str()
                    .ok_or_else(|| format!("line {}: no hash", n + 1))?;
                format!("{chain_seq}:{hash}").parse()
            })
            .collect()
    }
}

/// What a walk of the chain found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Verification {
    /// Records whose hash, position, columns and index checked out, before any problem.
    pub records: u64,
    /// Checkpoints whose signature and hash checked out.
    pub checkpoints: u64,
    /// Requests still running, or interrupted (sealed at the next start-up).
    pub unsealed: u64,
    /// Records after the last checkpoint (within its cadence).
    pub uncovered: u64,
    /// Records sealed at a start-up from a request left pending by a crash.
    pub recovered: u64,
    /// Outside expectations (`--expect`, `--checkpoint-log`) that checked out.
    pub expectations: u64,
    /// Where the kept chain starts (1 unless old records were pruned).
    pub first_seq: i64,
    pub last_seq: i64,
    /// The signed anchor's account of pruning: (cutoff, retention days).
    pub pruned: Option<(String, i64)>,
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

/// When a record was sealed, near enough: its start plus how long it ran.
fn sealed_at(record: &AuditRecord) -> Option<time::OffsetDateTime> {
    let started =
        time::OffsetDateTime::parse(&record.event_time, &time::format_description::well_known::Rfc3339).ok()?;
    let ran = record.additional_event_data.elapsed_ms.unwrap_or(0);
    Some(started + time::Duration::milliseconds(ran as i64))
}

fn parse_time(text: &str) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()
}

/// Walks the whole chain in order, streaming (constant memory), and stops at the first break.
pub async fn verify(db: &Db, key: &AuditKey) -> Result<Verification, sqlx::Error> {
    verify_expecting(db, key, &[]).await
}

/// [`verify`], also checking positions and hashes known from outside the database.
pub async fn verify_expecting(db: &Db, key: &AuditKey, expected: &[Expectation]) -> Result<Verification, sqlx::Error> {
    type AnchorRow = (i64, String, String, Option<String>, Option<i64>, Option<String>);
    let anchor: Option<AnchorRow> = sqlx::query_as(
        "SELECT chain_seq, prev_hash, pruned_at, cutoff, retention_days, mac FROM audit_anchor WHERE id = 1",
    )
    .fetch_optional(db)
    .await?;
    let checkpoints: BTreeMap<i64, (String, String, String, String)> =
        sqlx::query_as::<_, (i64, String, String, String, String)>(
            "SELECT chain_seq, hash, key_id, mac, created_at FROM audit_checkpoints",
        )
        .fetch_all(db)
        .await?
        .into_iter()
        .map(|(seq, hash, key_id, mac, created_at)| (seq, (hash, key_id, mac, created_at)))
        .collect();
    let mut out = Verification::default();
    let (first_seq, mut expected_prev) = match &anchor {
        None => (1, GENESIS.to_string()),
        Some((seq, prev_hash, pruned_at, cutoff, retention, mac)) => {
            let signed = match (cutoff, retention, mac) {
                (Some(cutoff), Some(retention), Some(mac)) => key.check_text(
                    "anchor",
                    &anchor_text(*seq, prev_hash, cutoff, *retention, pruned_at),
                    mac,
                ),
                _ => false,
            };
            if !signed {
                out.first_seq = *seq;
                out.last_seq = seq - 1;
                out.problem = Some(Problem {
                    chain_seq: *seq,
                    event_id: None,
                    reason: "the chain starts here, after pruning, but the anchor that says so is not signed by the \
                             audit key: records before it may have been removed"
                        .into(),
                });
                return Ok(out);
            }
            out.pruned = Some((cutoff.clone().unwrap_or_default(), retention.unwrap_or(0)));
            (*seq, prev_hash.clone())
        }
    };
    out.first_seq = first_seq;
    out.last_seq = first_seq - 1;

    // Pending rows: requests running now, or interrupted — each must be the portal's own.
    let pending: Vec<(i64, String, String, Option<String>)> =
        sqlx::query_as("SELECT id, event_id, record, mac FROM audit_pending ORDER BY id")
            .fetch_all(db)
            .await?;
    out.unsealed = pending.len() as u64;
    if let Some((_, event_id, _, _)) = pending.iter().find(|(_, event_id, json, mac)| {
        !mac.as_deref()
            .is_some_and(|mac| key.check_text("pending", &pending_text(event_id, json), mac))
    }) {
        out.problem = Some(Problem {
            chain_seq: 0,
            event_id: Some(event_id.clone()),
            reason: "a pending row (a request's start) has no valid signature of the audit key: the portal did \
                     not write it"
                .into(),
        });
        return Ok(out);
    }

    let mut expected: BTreeMap<i64, &Expectation> = expected.iter().map(|e| (e.chain_seq, e)).collect();
    if let Some((&seq, _)) = expected.range(..first_seq).next_back() {
        out.problem = Some(Problem {
            chain_seq: seq,
            event_id: None,
            reason: format!("an expected checkpoint names #{seq}, which was pruned: it cannot be checked"),
        });
        return Ok(out);
    }

    let mut index =
        sqlx::query("SELECT record_id, resource_id FROM audit_resources ORDER BY record_id, resource_id").fetch(db);
    let mut next_index: Option<(i64, String)> = index.try_next().await?.map(|row| (row.get(0), row.get(1)));
    let mut expected_seq = first_seq;
    // Since the last checkpoint: how many records, and the first one's seal time.
    let mut since_checkpoint: i64 = 0;
    let mut waiting_since: Option<time::OffsetDateTime> = None;
    let mut previous_id: i64 = i64::MIN;
    let mut rows = sqlx::query(
        "SELECT id, chain_seq, prev_hash, hash, record, event_id, event_time, event_source, event_name, user_name, \
         source_ip, user_agent, read_only, error_code, error_message, failed_items, outcome, resources \
         FROM audit_records WHERE chain_seq IS NOT NULL ORDER BY chain_seq",
    )
    .fetch(db);
    while let Some(row) = rows.try_next().await? {
        let id: i64 = row.get("id");
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
        match record.additional_event_data.sealed_from {
            Some(SealedFrom::Unverified) => {
                out.problem = Some(fail(
                    "it was sealed at a start-up from a pending row that had no valid signature: the portal did not \
                     write that request's start"
                        .into(),
                ));
                return Ok(out);
            }
            Some(SealedFrom::Recovered) => out.recovered += 1,
            None => {}
        }
        // The resource index holds exactly the resources the record names.
        if id <= previous_id {
            out.problem = Some(fail("records are stored out of their chain order".into()));
            return Ok(out);
        }
        previous_id = id;
        let mut indexed: Vec<String> = Vec::new();
        while let Some((record_id, resource)) = &next_index {
            if *record_id > id {
                break;
            }
            if *record_id < id {
                out.problem = Some(fail(format!(
                    "the resource index lists '{resource}' under a record that is not in the chain (row {record_id})"
                )));
                return Ok(out);
            }
            indexed.push(resource.clone());
            next_index = index.try_next().await?.map(|row| (row.get(0), row.get(1)));
        }
        let mut named: Vec<String> = record
            .additional_event_data
            .resource_ids
            .iter()
            .take(500)
            .cloned()
            .collect();
        named.sort();
        named.dedup();
        if indexed != named {
            out.problem = Some(fail(format!(
                "the resource index lists {indexed:?} for it, but it names {named:?}: a history was changed"
            )));
            return Ok(out);
        }
        if let Some(expectation) = expected.remove(&seq) {
            if expectation.hash != hash {
                out.problem = Some(fail(format!(
                    "a checkpoint kept outside the database has hash {} here, the database {hash}: the chain was \
                     rewritten",
                    expectation.hash
                )));
                return Ok(out);
            }
            out.expectations += 1;
        }
        since_checkpoint += 1;
        if waiting_since.is_none() {
            waiting_since = sealed_at(&record);
        }
        if let Some((cp_hash, key_id, mac, created_at)) = checkpoints.get(&seq) {
            // Checkpoints sign their time too; those of earlier versions signed the position and
            // hash only.
            let valid = key.check_text("checkpoint", &checkpoint_text(seq, cp_hash, created_at), mac)
                || key.check(seq, cp_hash, mac);
            if !valid {
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
            if since_checkpoint > CHECKPOINT_EVERY + COUNT_SLACK {
                out.problem = Some(fail(format!(
                    "{since_checkpoint} records came since the previous checkpoint; one is signed every \
                     {CHECKPOINT_EVERY}: a checkpoint was removed"
                )));
                return Ok(out);
            }
            if let (Some(waiting), Some(signed_at)) = (waiting_since, parse_time(created_at)) {
                if signed_at - waiting > time_allowance() {
                    out.problem = Some(fail(format!(
                        "records waited {} for this checkpoint; one is signed every {} s: a checkpoint was removed",
                        signed_at - waiting,
                        CHECKPOINT_INTERVAL.as_secs()
                    )));
                    return Ok(out);
                }
            }
            since_checkpoint = 0;
            waiting_since = None;
            out.checkpoints += 1;
        }
        out.records += 1;
        out.last_seq = seq;
        expected_prev = hash;
        expected_seq = seq + 1;
    }
    if let Some((record_id, resource)) = next_index {
        out.problem = Some(Problem {
            chain_seq: out.last_seq,
            event_id: None,
            reason: format!(
                "the resource index lists '{resource}' under a record that is not in the chain (row {record_id})"
            ),
        });
        return Ok(out);
    }
    // A signed checkpoint, or one kept outside, beyond the end: records were cut off the end.
    let beyond = checkpoints
        .range(expected_seq..)
        .next()
        .map(|(&seq, _)| seq)
        .into_iter()
        .chain(expected.keys().copied())
        .min();
    if let Some(seq) = beyond {
        out.problem = Some(Problem {
            chain_seq: seq,
            event_id: None,
            reason: format!(
                "a signed checkpoint names this record but the chain ends at #{}: records were removed from the end",
                expected_seq - 1
            ),
        });
        return Ok(out);
    }
    // The end of the chain waits for its checkpoint no longer than the cadence allows.
    out.uncovered = since_checkpoint as u64;
    if let Some(waiting) = waiting_since {
        let now = time::OffsetDateTime::now_utc();
        if now - waiting > time_allowance() {
            out.problem = Some(Problem {
                chain_seq: out.last_seq,
                event_id: None,
                reason: format!(
                    "the last {since_checkpoint} record(s) have waited {} for a signed checkpoint (one is signed every \
                     {} s, and at every clean stop or start): the last checkpoint was removed, or the portal stopped \
                     without one and was not started since",
                    now - waiting,
                    CHECKPOINT_INTERVAL.as_secs()
                ),
            });
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expectations_read_as_seq_and_hash_or_from_a_checkpoint_log() {
        let hash = "ab".repeat(32);
        let e: Expectation = format!("12:{hash}").parse().unwrap();
        assert_eq!((e.chain_seq, e.hash.as_str()), (12, hash.as_str()));
        assert!("12".parse::<Expectation>().is_err());
        assert!("x:ab".parse::<Expectation>().is_err());
        let log = format!("{{\"chainSeq\":3,\"hash\":\"{hash}\"}}\n\n{{\"chainSeq\":7,\"hash\":\"{hash}\"}}\n");
        let all = Expectation::from_checkpoint_log(&log).unwrap();
        assert_eq!(all.iter().map(|e| e.chain_seq).collect::<Vec<_>>(), [3, 7]);
        assert!(Expectation::from_checkpoint_log("not json").is_err());
    }
}
