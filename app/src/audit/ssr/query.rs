//! Searching and exporting the audit log: one filter, used by the page, the browser export
//! and `workspaces-portal audit export`, so that all three select the same records.

use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite};
use tokio::sync::mpsc;

use super::record::parse_filter_time;
use crate::audit::{AuditDetail, AuditPage, AuditQuery, AuditRow, Outcome, PAGE_SIZE};
use crate::error::{AppError, AppResult};
use crate::ssr::db::Db;

/// A checked search: the filters of an [`AuditQuery`], with times in the log's form.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Filter {
    pub event: Option<String>,
    pub user: Option<String>,
    pub resource: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub ip: Option<String>,
    pub reads: bool,
    pub errors: bool,
    pub before: Option<i64>,
}

impl Filter {
    /// Checks a query; a bad value is a validation error naming its field.
    pub fn parse(q: &AuditQuery) -> AppResult<Filter> {
        let text = |field: &str, value: &str| -> AppResult<Option<String>> {
            let value = value.trim();
            if value.len() > 256 {
                return Err(AppError::validation(field, "is longer than 256 characters"));
            }
            Ok((!value.is_empty()).then(|| value.to_string()))
        };
        let time = |field: &str, value: &str| -> AppResult<Option<String>> {
            match text(field, value)? {
                None => Ok(None),
                Some(t) => parse_filter_time(&t).map(Some).ok_or_else(|| {
                    AppError::validation(
                        field,
                        format!("'{t}' is not a date and time; use the form 2026-11-22T10:00 (UTC)"),
                    )
                }),
            }
        };
        let filter = Filter {
            event: text("event", &q.event)?,
            user: text("user", &q.user)?,
            resource: text("resource", &q.resource)?,
            from: time("from", &q.from)?,
            to: time("to", &q.to)?,
            ip: text("ip", &q.ip)?,
            reads: q.reads,
            errors: q.errors,
            before: q.before,
        };
        if let (Some(from), Some(to)) = (&filter.from, &filter.to) {
            if to <= from {
                return Err(AppError::validation("to", "must be later than 'from'"));
            }
        }
        Ok(filter)
    }

    /// Adds ` WHERE …` for these filters to a query over `audit_records r`.
    fn push_where(&self, qb: &mut QueryBuilder<'_, Sqlite>) {
        qb.push(" WHERE 1 = 1");
        if let Some(v) = &self.event {
            qb.push(" AND r.event_name = ").push_bind(v.clone());
        }
        if let Some(v) = &self.user {
            qb.push(" AND r.user_name = ").push_bind(v.clone());
        }
        if let Some(v) = &self.resource {
            qb.push(" AND r.id IN (SELECT record_id FROM audit_resources WHERE resource_id = ")
                .push_bind(v.clone())
                .push(")");
        }
        if let Some(v) = &self.from {
            qb.push(" AND r.event_time >= ").push_bind(v.clone());
        }
        if let Some(v) = &self.to {
            qb.push(" AND r.event_time < ").push_bind(v.clone());
        }
        if let Some(v) = &self.ip {
            qb.push(" AND r.source_ip = ").push_bind(v.clone());
        }
        if !self.reads {
            // With a selective filter present, keep the planner off the (unselective) read-only
            // index: the unary + makes this term a plain check.
            let selective = self.event.is_some() || self.user.is_some() || self.resource.is_some() || self.ip.is_some();
            qb.push(if selective {
                " AND +r.read_only = 0"
            } else {
                " AND r.read_only = 0"
            });
        }
        if self.errors {
            qb.push(" AND (r.error_code IS NOT NULL OR r.failed_items > 0)");
        }
        if let Some(v) = self.before {
            // Keyset: strictly older than the last record of the previous page.
            qb.push(" AND (r.event_time, r.id) < ((SELECT event_time FROM audit_records WHERE id = ")
                .push_bind(v)
                .push("), ")
                .push_bind(v)
                .push(")");
        }
    }
}

const ROW_COLUMNS: &str = "r.id, r.event_id, r.event_time, r.event_source, r.event_name, r.user_name, r.source_ip, \
     r.read_only, r.error_code, r.error_message, r.failed_items, r.outcome, r.resources";

fn row(r: &SqliteRow) -> AuditRow {
    let resources: String = r.get("resources");
    AuditRow {
        id: r.get("id"),
        event_id: r.get("event_id"),
        event_time: r.get("event_time"),
        event_source: r.get("event_source"),
        event_name: r.get("event_name"),
        user_name: r.get("user_name"),
        source_ip: r.get("source_ip"),
        read_only: r.get("read_only"),
        error_code: r.get("error_code"),
        error_message: r.get("error_message"),
        failed_items: r.get("failed_items"),
        outcome: Outcome::from_stored(r.get("outcome")),
        resources: resources.split_whitespace().map(str::to_owned).collect(),
    }
}

fn db_error(e: sqlx::Error) -> AppError {
    let reference = crate::ssr::reference();
    tracing::error!(%reference, error = %e, "audit log query failed");
    AppError::Internal { reference }
}

/// One page of matching records, newest first (by event time, then insertion).
pub async fn list(db: &Db, filter: &Filter) -> AppResult<AuditPage> {
    let mut qb = QueryBuilder::<Sqlite>::new(format!("SELECT {ROW_COLUMNS} FROM audit_records r"));
    filter.push_where(&mut qb);
    qb.push(" ORDER BY r.event_time DESC, r.id DESC LIMIT ")
        .push_bind(PAGE_SIZE as i64 + 1);
    let rows = qb.build().fetch_all(db).await.map_err(db_error)?;
    let mut items: Vec<AuditRow> = rows.iter().map(row).collect();
    let next_before = (items.len() > PAGE_SIZE).then(|| {
        items.truncate(PAGE_SIZE);
        items.last().map(|r| r.id).unwrap_or_default()
    });
    Ok(AuditPage { items, next_before })
}

pub async fn get(db: &Db, event_id: &str) -> AppResult<AuditDetail> {
    let mut qb = QueryBuilder::<Sqlite>::new(format!(
        "SELECT {ROW_COLUMNS}, r.record, r.chain_seq, r.hash FROM audit_records r WHERE r.event_id = "
    ));
    qb.push_bind(event_id.trim().to_string());
    let found = qb.build().fetch_optional(db).await.map_err(db_error)?;
    let Some(r) = found else {
        return pending(db, event_id.trim()).await;
    };
    let json: String = r.get("record");
    // Through the record type, so the fields keep CloudTrail's order.
    let pretty = serde_json::from_str::<super::AuditRecord>(&json)
        .and_then(|r| serde_json::to_string_pretty(&r))
        .unwrap_or(json);
    Ok(AuditDetail {
        row: row(&r),
        json: pretty,
        chain_seq: r.get("chain_seq"),
        hash: r.get("hash"),
    })
}

/// A request still under way: its start, not yet sealed into the chain.
async fn pending(db: &Db, event_id: &str) -> AppResult<AuditDetail> {
    let found: Option<(i64, String)> = sqlx::query_as("SELECT id, record FROM audit_pending WHERE event_id = ?")
        .bind(event_id)
        .fetch_optional(db)
        .await
        .map_err(db_error)?;
    let record = found.and_then(|(id, json)| Some((id, serde_json::from_str::<super::AuditRecord>(&json).ok()?)));
    let Some((id, record)) = record else {
        return Err(AppError::NotFound {
            message: format!("no audit record has the event ID '{event_id}'"),
        });
    };
    let c = super::Columns::of(&record);
    Ok(AuditDetail {
        row: AuditRow {
            id,
            event_id: c.event_id,
            event_time: c.event_time,
            event_source: c.event_source,
            event_name: c.event_name,
            user_name: c.user_name,
            source_ip: c.source_ip,
            read_only: c.read_only,
            error_code: c.error_code,
            error_message: c.error_message,
            failed_items: c.failed_items,
            outcome: record.additional_event_data.outcome,
            resources: record.additional_event_data.resource_ids.clone(),
        },
        json: serde_json::to_string_pretty(&record).unwrap_or_default(),
        chain_seq: None,
        hash: None,
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    /// `{"Records": [...]}`, as CloudTrail writes its log files.
    CloudTrail,
    Csv,
}

impl ExportFormat {
    pub fn parse(text: &str) -> AppResult<Self> {
        match text {
            "cloudtrail" | "json" => Ok(ExportFormat::CloudTrail),
            "csv" => Ok(ExportFormat::Csv),
            other => Err(AppError::validation(
                "format",
                format!("'{other}' is not an export format; use cloudtrail or csv"),
            )),
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::CloudTrail => "application/json",
            ExportFormat::Csv => "text/csv; charset=utf-8",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::CloudTrail => "json",
            ExportFormat::Csv => "csv",
        }
    }
}

const CSV_HEADER: &str = "eventTime,eventID,eventSource,eventName,userName,sourceIPAddress,userAgent,readOnly,\
errorCode,errorMessage,failedItems,outcome,resources\n";

/// Separates the fields of a CSV row as SQLite hands it over: a byte UTF-8 never contains.
const FIELD_SEP: u8 = 0xFF;

/// Streams every matching record, oldest first (the page's order reversed), in `format` to
/// `out` in chunks of about 64 KiB. Memory stays constant however many records match; a closed
/// receiver, or one that takes nothing for [`EXPORT_STALL`], stops the export.
///
/// Each row is one value: the record's JSON, or the CSV fields joined by SQLite with
/// [`FIELD_SEP`] (the driver's cost is per value, and 13 of them per row cost more than the
/// rest of the export). CSV quoting is done here.
pub async fn export(
    db: Db,
    filter: Filter,
    format: ExportFormat,
    out: mpsc::Sender<Result<Vec<u8>, String>>,
) -> Result<u64, sqlx::Error> {
    let line = match format {
        ExportFormat::CloudTrail => "r.record".to_string(),
        ExportFormat::Csv => {
            let joined = CSV_COLUMNS
                .iter()
                // Only the error columns can be NULL (a NULL would void the whole line).
                .map(|c| {
                    if c.starts_with("r.error_") {
                        format!("coalesce({c}, '')")
                    } else {
                        c.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join(" || CAST(X'FF' AS TEXT) || ");
            format!("CAST({joined} AS BLOB)")
        }
    };
    let mut buf: Vec<u8> = Vec::with_capacity(80 * 1024);
    let mut count: u64 = 0;
    match format {
        ExportFormat::CloudTrail => buf.extend_from_slice(b"{\"Records\":[\n"),
        ExportFormat::Csv => buf.extend_from_slice(CSV_HEADER.as_bytes()),
    }
    // Read in keyset batches: a pooled connection is held for one batch's query, never while
    // the export waits for its reader.
    let mut after: Option<(String, i64)> = None;
    loop {
        let mut qb = QueryBuilder::<Sqlite>::new(format!("SELECT {line}, r.event_time, r.id FROM audit_records r"));
        filter.push_where(&mut qb);
        if let Some((time, id)) = &after {
            qb.push(" AND (r.event_time, r.id) > (")
                .push_bind(time.clone())
                .push(", ")
                .push_bind(*id)
                .push(")");
        }
        qb.push(" ORDER BY r.event_time, r.id LIMIT ").push_bind(EXPORT_BATCH);
        let rows = match qb.build().fetch_all(&db).await {
            Ok(rows) => rows,
            Err(e) => {
                let _ = out.send(Err(e.to_string())).await;
                return Err(e);
            }
        };
        for r in &rows {
            let value: &[u8] = r.try_get_unchecked(0).unwrap_or_default();
            match format {
                ExportFormat::CloudTrail => {
                    if count > 0 {
                        buf.extend_from_slice(b",\n");
                    }
                    buf.extend_from_slice(value);
                }
                ExportFormat::Csv => {
                    for (i, field) in value.split(|b| *b == FIELD_SEP).enumerate() {
                        if i > 0 {
                            buf.push(b',');
                        }
                        csv_field(&mut buf, field);
                    }
                    buf.push(b'\n');
                }
            }
            count += 1;
            if buf.len() >= 64 * 1024 {
                let full = std::mem::replace(&mut buf, Vec::with_capacity(80 * 1024));
                if !hand_over(&out, full).await {
                    return Ok(count);
                }
            }
        }
        match rows.last() {
            Some(last) if rows.len() as i64 == EXPORT_BATCH => after = Some((last.get(1), last.get(2))),
            _ => break,
        }
    }
    if format == ExportFormat::CloudTrail {
        buf.extend_from_slice(b"\n]}\n");
    }
    hand_over(&out, buf).await;
    Ok(count)
}

/// Records read per query of an export.
const EXPORT_BATCH: i64 = 2_000;

/// How long an export waits for its reader to take the next chunk before it gives up.
pub const EXPORT_STALL: std::time::Duration = std::time::Duration::from_secs(30);

/// Hands a chunk to the export's reader; `false` when the reader went away or stalled.
pub(crate) async fn hand_over(out: &mpsc::Sender<Result<Vec<u8>, String>>, chunk: Vec<u8>) -> bool {
    match tokio::time::timeout(EXPORT_STALL, out.send(Ok(chunk))).await {
        Ok(Ok(())) => true,
        Ok(Err(_)) => false,
        Err(_) => {
            tracing::warn!("an export stopped: its reader took nothing for {EXPORT_STALL:?}");
            false
        }
    }
}

/// The columns of a CSV line, in the header's order.
const CSV_COLUMNS: &[&str] = &[
    "r.event_time",
    "r.event_id",
    "r.event_source",
    "r.event_name",
    "r.user_name",
    "r.source_ip",
    "r.user_agent",
    "CASE WHEN r.read_only THEN 'true' ELSE 'false' END",
    "r.error_code",
    "r.error_message",
    "CAST(r.failed_items AS TEXT)",
    "r.outcome",
    "r.resources",
];

/// One CSV field: quoted when needed, and a leading `=`, `+`, `-`, `@`, tab or CR neutralised
/// with a `'` so that a spreadsheet does not run it as a formula.
pub(crate) fn csv_field(buf: &mut Vec<u8>, field: &[u8]) {
    let formula = matches!(field.first(), Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r'));
    let quote = formula || field.iter().any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r'));
    if !quote {
        buf.extend_from_slice(field);
        return;
    }
    buf.push(b'"');
    if formula {
        buf.push(b'\'');
    }
    for &b in field {
        if b == b'"' {
            buf.push(b'"');
        }
        buf.push(b);
    }
    buf.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv(field: &str) -> String {
        let mut buf = Vec::new();
        csv_field(&mut buf, field.as_bytes());
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn csv_fields_are_quoted_and_formulas_neutralised() {
        assert_eq!(csv("plain"), "plain");
        assert_eq!(csv("a,b"), "\"a,b\"");
        assert_eq!(csv("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv("-1+2"), "\"'-1+2\"");
        assert_eq!(csv(""), "");
    }

    #[test]
    fn bad_filters_name_their_field() {
        let bad_time = AuditQuery {
            from: "last tuesday".into(),
            ..Default::default()
        };
        assert_eq!(Filter::parse(&bad_time).unwrap_err().field(), Some("from"));
        let backwards = AuditQuery {
            from: "2026-11-22T10:00".into(),
            to: "2026-11-22T09:00".into(),
            ..Default::default()
        };
        assert_eq!(Filter::parse(&backwards).unwrap_err().field(), Some("to"));
        let long = AuditQuery {
            user: "x".repeat(300),
            ..Default::default()
        };
        assert_eq!(Filter::parse(&long).unwrap_err().field(), Some("user"));
        let ok = Filter::parse(&AuditQuery {
            event: " StartWorkspaces ".into(),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(ok.event.as_deref(), Some("StartWorkspaces"));
        assert!(!ok.reads);
    }
}
