//! The Access service: takes deliveries of `WorkSpaces Access` events (an ingest token's, from
//! EventBridge, or a file imported at the command line), searches the stored logins, and manages
//! the ingest tokens.
//!
//! A delivery is answered as soon as its events are stored: EventBridge waits 5 s, retries 429
//! and 5xx, and delivers at least once in no particular order — so a duplicate `id` is accepted
//! again without a second row, too many deliveries at once are answered 429 with `Retry-After`,
//! and a refused event (which field, why) is never retried. Refused deliveries and token
//! changes are recorded in the audit log; accepted events are data, in their own table.

mod charts;
pub mod event;
pub mod review;
mod store;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use crate::access::{
    AccessPage, AccessQuery, CreateIngestToken, IngestOutcome, IngestToken, ListAccess, ListIngestTokens,
    NewIngestToken, RefusedEvent, RevokeIngestToken, EXPORT_PATH, INGEST_PATH, MAX_DELIVERY_BYTES,
};
use crate::audit::ssr::record::{parse_filter_time, utc_now, utc_text};
use crate::error::{AppError, AppResult};
use crate::ssr::db::Db;
use crate::ssr::{Audited, Caller, Operation, Pipeline, Principal};
use leptos::server_fn::ServerFn;

/// Logins per page.
pub const PAGE_SIZE: usize = 50;

/// How the service behaves (`--access-retention-days`, and its limits).
#[derive(Clone, Debug)]
pub struct AccessSettings {
    /// Logins older than this are pruned (hourly).
    pub retention_days: u32,
    /// Deliveries stored at once; one more is answered 429.
    pub concurrent_deliveries: usize,
    /// Where alerts are posted (`--alert-webhook`), if anywhere.
    pub alert_webhook: Option<crate::ssr::webhook::Webhook>,
}

impl Default for AccessSettings {
    fn default() -> Self {
        AccessSettings {
            retention_days: 400,
            concurrent_deliveries: 8,
            alert_webhook: None,
        }
    }
}

pub struct Access {
    db: Db,
    pipeline: Pipeline,
    settings: AccessSettings,
    deliveries: Arc<Semaphore>,
    /// When each token's use was last noted by this process (token hash → when).
    noted: std::sync::Mutex<std::collections::HashMap<String, std::time::Instant>>,
}

/// The audit record of a delivery (only refused ones are recorded).
fn delivery(params: Value) -> Operation {
    Operation::portal_write(INGEST_PATH, "PutAccessEvents", params)
}

/// A token as stored: its SHA-256, in hex.
fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.trim().as_bytes()))
}

impl Audited for NewIngestToken {
    // The token itself is never recorded.
    fn response_elements(&self) -> Value {
        json!({ "name": self.name })
    }
}

impl Audited for Vec<IngestToken> {}
impl Audited for AccessPage {}

impl Access {
    pub fn new(db: Db, pipeline: Pipeline, settings: AccessSettings) -> Self {
        let deliveries = Arc::new(Semaphore::new(settings.concurrent_deliveries.max(1)));
        Access {
            db,
            pipeline,
            settings,
            deliveries,
            noted: Default::default(),
        }
    }

    /// The caller of a delivery, from its `Authorization: Bearer …` header: the live token's
    /// name, or a refusal (401, recorded) — before anything of the body is read.
    pub async fn authenticate(&self, caller: &Caller, authorization: Option<&str>) -> AppResult<Caller> {
        let token = authorization
            .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
            .map(str::trim)
            .filter(|t| !t.is_empty());
        let found = match token {
            Some(token) => {
                let hash = token_hash(token);
                let name = store::live_token(&self.db, &hash).await?;
                if name.is_some() {
                    self.note_use(&hash).await?;
                }
                name
            }
            None => None,
        };
        match found {
            Some(name) => Ok(Caller {
                principal: Principal::IngestToken { name },
                ..caller.clone()
            }),
            None => {
                let reason = if token.is_some() {
                    "unknown or revoked ingest token"
                } else {
                    "no ingest token: send Authorization: Bearer <token>"
                };
                tracing::info!(reason, "access events delivery refused");
                let op = delivery(json!({ "token": token.is_some() }));
                Err(self.pipeline.refuse(caller, &op, AppError::Unauthorized).await)
            }
        }
    }

    /// Notes a token's use, at most once a minute (a write per delivery would cost more than
    /// storing its event).
    async fn note_use(&self, hash: &str) -> AppResult<()> {
        {
            let mut noted = self.noted.lock().unwrap_or_else(|e| e.into_inner());
            if noted.get(hash).is_some_and(|at| at.elapsed() < Duration::from_secs(60)) {
                return Ok(());
            }
            noted.insert(hash.to_string(), std::time::Instant::now());
        }
        let now = SystemTime::now();
        store::note_token_use(&self.db, hash, &utc_text(now), &utc_text(now - Duration::from_secs(60))).await
    }

    /// Refuses (and records) a delivery whose body is over [`MAX_DELIVERY_BYTES`].
    pub async fn too_large(&self, caller: &Caller) -> AppError {
        let op = delivery(json!({ "limit": MAX_DELIVERY_BYTES }));
        let refusal = AppError::TooLarge {
            message: format!(
                "a delivery may hold {} KB at most; send fewer events at once",
                MAX_DELIVERY_BYTES / 1024
            ),
        };
        self.pipeline.refuse(caller, &op, refusal).await
    }

    /// A delivery's place to be stored, or 429 when too many are being stored at once.
    pub fn admit(&self) -> AppResult<tokio::sync::OwnedSemaphorePermit> {
        self.deliveries
            .clone()
            .try_acquire_owned()
            .map_err(|_| AppError::TooManyRequests {
                message: "too many deliveries at once; try again shortly".into(),
                retry_after: Some(1),
            })
    }

    /// Stores a delivery (one event, or an array) of an authenticated caller. A body that is
    /// not JSON, or a single event refused, is refused whole (400, the field named); in an array
    /// the valid events are stored and each refused one is listed by its index (400 when none
    /// was valid). Refusals are recorded.
    pub async fn ingest(&self, caller: &Caller, body: &[u8]) -> AppResult<IngestOutcome> {
        let values = match event::events_of(body) {
            Ok(values) => values,
            Err(refusal) => {
                let op = delivery(json!({ "bytes": body.len() }));
                return Err(self
                    .pipeline
                    .refuse(caller, &op, AppError::validation(refusal.field, refusal.message))
                    .await);
            }
        };
        let single = values.len() == 1;
        let outcome = self
            .store(caller, values.into_iter().map(Ok).collect(), "delivery")
            .await?;
        if outcome.accepted + outcome.duplicates == 0 {
            if let (true, Some(only)) = (single, outcome.refused.first()) {
                return Err(AppError::validation(only.field.clone(), only.message.clone()));
            }
            if !outcome.refused.is_empty() {
                return Err(AppError::validation(
                    "events",
                    format!(
                        "none of the {} events could be taken: {}",
                        outcome.refused.len(),
                        summary(&outcome.refused)
                    ),
                ));
            }
        }
        Ok(outcome)
    }

    /// Stores the events of a file (the command line's import), checked and de-duplicated like
    /// a delivery.
    pub async fn import(
        &self,
        caller: &Caller,
        values: Vec<Result<Value, event::Refusal>>,
    ) -> AppResult<IngestOutcome> {
        let mut outcome = IngestOutcome::default();
        // In slices, so that one transaction never holds a whole large file.
        let mut base = 0;
        let mut values = values.into_iter().peekable();
        while values.peek().is_some() {
            let slice: Vec<_> = values.by_ref().take(1000).collect();
            let n = slice.len();
            let part = self.store(caller, slice, "import").await?;
            outcome.accepted += part.accepted;
            outcome.duplicates += part.duplicates;
            outcome.refused.extend(part.refused.into_iter().map(|mut r| {
                r.index += base;
                r
            }));
            base += n;
        }
        Ok(outcome)
    }

    async fn store(
        &self,
        caller: &Caller,
        values: Vec<Result<Value, event::Refusal>>,
        how: &str,
    ) -> AppResult<IngestOutcome> {
        let total = values.len();
        let mut logins = Vec::with_capacity(total);
        let mut refused = Vec::new();
        for (index, value) in values.into_iter().enumerate() {
            match value.and_then(|v| event::parse(&v)) {
                Ok(login) => logins.push(login),
                Err(r) => refused.push(RefusedEvent {
                    index,
                    field: r.field,
                    message: r.message,
                }),
            }
        }
        let token = match &caller.principal {
            Principal::IngestToken { name } => name.clone(),
            Principal::CommandLine { .. } => "import".to_string(),
            _ => return Err(AppError::Unauthorized),
        };
        let (accepted, duplicates, raised) = store::insert(&self.db, &logins, &token, &utc_now()).await?;
        self.post_alerts(raised);
        if !refused.is_empty() {
            let op = delivery(json!({
                "how": how,
                "events": total,
                "accepted": accepted,
                "duplicates": duplicates,
                "refused": refused.iter().take(20).map(|r| json!({ "index": r.index, "field": r.field })).collect::<Vec<_>>(),
            }));
            let first = &refused[0];
            let error = AppError::validation(
                first.field.clone(),
                format!("{} of {total} events refused: {}", refused.len(), summary(&refused)),
            );
            self.pipeline.refuse(caller, &op, error).await;
        }
        Ok(IngestOutcome {
            accepted,
            duplicates,
            refused,
        })
    }

    /// A page of logins matching `query`, newest first.
    pub async fn list(&self, caller: &Caller, query: AccessQuery) -> AppResult<AccessPage> {
        let op = Operation::portal_read(
            ListAccess::PATH,
            "ListAccessEvents",
            json!({ "query": crate::url::UrlQuery::to_query_string(&query) }),
        );
        let work = async {
            let filter = filter_of(&query)?;
            let mut rows = store::search(&self.db, &filter, PAGE_SIZE + 1).await?;
            let next = (rows.len() > PAGE_SIZE).then(|| {
                rows.truncate(PAGE_SIZE);
                let (id, last) = rows.last().expect("a full page");
                format!("{}~{id}", last.login_time)
            });
            Ok(AccessPage {
                items: rows.into_iter().map(|(_, login)| login).collect(),
                next,
            })
        };
        self.pipeline.run(caller, op, work).await
    }

    /// `GET /api/access/export?format=csv|ndjson&<the logins page's search>`: checks the caller
    /// and the search, then streams every matching login (newest first) in chunks through the
    /// returned channel, read in keyset pages so memory stays flat.
    /// Exports run a few at a time, one per user (`exports`, shared with the audit log's), and
    /// stop when their reader takes nothing for 30 s.
    pub async fn export(
        &self,
        caller: &Caller,
        exports: &crate::audit::ssr::Exports,
        params: &[(String, String)],
    ) -> AppResult<(LoginFormat, tokio::sync::mpsc::Receiver<Result<Vec<u8>, String>>)> {
        let recorded: serde_json::Map<String, Value> = params.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
        let op = Operation::portal_read(EXPORT_PATH, "ExportAccessEvents", json!({ "filters": recorded }));
        let checked = async {
            let format = LoginFormat::parse(
                params
                    .iter()
                    .find(|(k, _)| k == "format")
                    .map_or("csv", |(_, v)| v.as_str()),
            )?;
            let query =
                <AccessQuery as crate::url::UrlQuery>::from_pairs(params.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            let filter = filter_of(&query)?;
            let who = caller
                .user()
                .map(|u| u.name.clone())
                .unwrap_or_else(|| caller.source_ip.clone());
            Ok(ExportStart(format, filter, exports.start(&who)?))
        };
        let ExportStart(format, mut filter, turn) = self.pipeline.run(caller, op, checked).await?;
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        let db = self.db.clone();
        tokio::spawn(async move {
            let _turn = turn;
            let hand_over = crate::audit::ssr::query::hand_over;
            let mut buf = Vec::with_capacity(80 * 1024);
            if format == LoginFormat::Csv {
                buf.extend_from_slice(LOGIN_CSV_HEADER.as_bytes());
            }
            loop {
                let rows = match store::search(&db, &filter, 1000).await {
                    Ok(rows) => rows,
                    Err(e) => {
                        let _ = tx.send(Err(e.to_string())).await;
                        return;
                    }
                };
                for (_, login) in &rows {
                    format.write(&mut buf, login);
                }
                let last = rows.last().map(|(id, l)| (l.login_time.clone(), *id));
                if buf.len() >= 64 * 1024 && !hand_over(&tx, std::mem::take(&mut buf)).await {
                    return;
                }
                match last {
                    Some(keyset) if rows.len() == 1000 => filter.before = Some(keyset),
                    _ => break,
                }
            }
            if !buf.is_empty() {
                hand_over(&tx, buf).await;
            }
        });
        Ok((format, rx))
    }

    pub async fn tokens(&self, caller: &Caller) -> AppResult<Vec<IngestToken>> {
        let op = Operation::portal_read(ListIngestTokens::PATH, "ListIngestTokens", json!({}));
        self.pipeline.run(caller, op, store::tokens(&self.db)).await
    }

    /// Makes a token named `name`; the token is in the answer, and nowhere else, once.
    pub async fn create_token(&self, caller: &Caller, name: &str) -> AppResult<NewIngestToken> {
        let name = name.trim().to_string();
        let op = Operation::portal_write(CreateIngestToken::PATH, "CreateIngestToken", json!({ "name": name }));
        let work = async {
            check_name(&name)?;
            let token = format!("wsp_{}", crate::identity::ssr::random_hex(32));
            let by = caller.identity().user_name;
            store::create_token(&self.db, &name, &token_hash(&token), &by, &utc_now()).await?;
            Ok(NewIngestToken {
                name: name.clone(),
                token,
            })
        };
        self.pipeline.run(caller, op, work).await
    }

    pub async fn revoke_token(&self, caller: &Caller, name: &str) -> AppResult<()> {
        let name = name.trim().to_string();
        let op = Operation::portal_write(RevokeIngestToken::PATH, "RevokeIngestToken", json!({ "name": name }));
        let work = async {
            let by = caller.identity().user_name;
            if store::revoke_token(&self.db, &name, &by, &utc_now()).await? {
                Ok(())
            } else {
                Err(AppError::NotFound {
                    message: format!("no live ingest token is named '{name}'"),
                })
            }
        };
        self.pipeline.run(caller, op, work).await
    }

    /// Names the user of logins whose WorkSpace's user is not known yet, from `users` (the
    /// fleet: WorkSpace ID → user name; a WorkSpace the fleet does not hold gets an empty
    /// name, so it is not looked for again). Gives how many logins were named.
    pub async fn name_users(&self, users: impl Fn(&str) -> Option<String>) -> AppResult<u64> {
        let mut named = 0;
        // Each round names every WorkSpace it finds (an unknown one gets an empty name), so
        // the rounds end.
        loop {
            let unnamed = store::unnamed(&self.db, 500).await?;
            if unnamed.is_empty() {
                return Ok(named);
            }
            for workspace in unnamed {
                let user = users(&workspace).unwrap_or_default();
                named += store::name_user(&self.db, &workspace, &user).await?;
            }
        }
    }

    /// Whether some logins still wait for their user's name.
    pub async fn has_unnamed(&self) -> AppResult<bool> {
        Ok(!store::unnamed(&self.db, 1).await?.is_empty())
    }

    /// Deletes the logins older than the retention, by whole days (UTC) so that the charts'
    /// daily counts go with them; gives how many.
    pub async fn prune(&self) -> AppResult<u64> {
        let keep = Duration::from_secs(u64::from(self.settings.retention_days) * 86_400);
        let cutoff = SystemTime::now().checked_sub(keep).unwrap_or(SystemTime::UNIX_EPOCH);
        let cutoff = format!("{}T00:00:00.000Z", &utc_text(cutoff)[..10]);
        review::prune(&self.db, &cutoff).await?;
        store::prune(&self.db, &cutoff).await
    }
}

struct ExportStart(LoginFormat, store::Filter, crate::audit::ssr::ExportTurn);

impl Audited for ExportStart {}

const LOGIN_CSV_HEADER: &str =
    "loginTime,workspaceId,userName,directoryId,clientIpAddress,clientPlatform,clientProductName,eventId,receivedAt\n";

/// What a download of logins is written as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginFormat {
    Csv,
    /// One JSON object per line (the fields of the CSV, named as in the events).
    Ndjson,
}

impl LoginFormat {
    pub fn parse(text: &str) -> AppResult<Self> {
        match text {
            "csv" => Ok(LoginFormat::Csv),
            "ndjson" | "jsonl" => Ok(LoginFormat::Ndjson),
            other => Err(AppError::validation(
                "format",
                format!("'{other}' is not an export format; use csv or ndjson"),
            )),
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            LoginFormat::Csv => "text/csv; charset=utf-8",
            LoginFormat::Ndjson => "application/x-ndjson",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            LoginFormat::Csv => "csv",
            LoginFormat::Ndjson => "ndjson",
        }
    }

    fn write(self, buf: &mut Vec<u8>, l: &crate::access::Login) {
        let user = l.user_name.clone().unwrap_or_default();
        match self {
            LoginFormat::Csv => {
                let fields = [
                    &l.login_time,
                    &l.workspace_id,
                    &user,
                    &l.directory_id,
                    &l.client_ip,
                    &l.platform,
                    &l.product,
                    &l.event_id,
                    &l.received_at,
                ];
                for (i, field) in fields.into_iter().enumerate() {
                    if i > 0 {
                        buf.push(b',');
                    }
                    crate::audit::ssr::query::csv_field(buf, field.as_bytes());
                }
                buf.push(b'\n');
            }
            LoginFormat::Ndjson => {
                let line = json!({
                    "loginTime": l.login_time,
                    "workspaceId": l.workspace_id,
                    "userName": l.user_name,
                    "directoryId": l.directory_id,
                    "clientIpAddress": l.client_ip,
                    "clientPlatform": l.platform,
                    "workspacesClientProductName": l.product,
                    "eventId": l.event_id,
                    "receivedAt": l.received_at,
                });
                buf.extend_from_slice(line.to_string().as_bytes());
                buf.push(b'\n');
            }
        }
    }
}

/// Up to three refusals in words.
fn summary(refused: &[RefusedEvent]) -> String {
    let mut text: Vec<String> = refused
        .iter()
        .take(3)
        .map(|r| format!("#{} {}: {}", r.index, r.field, r.message))
        .collect();
    if refused.len() > 3 {
        text.push(format!("and {} more", refused.len() - 3));
    }
    text.join("; ")
}

fn check_name(name: &str) -> AppResult<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(AppError::validation(
            "name",
            "1 to 64 letters, digits, '-', '_' or '.' (such as eventbridge)",
        ))
    }
}

/// The search's filters, checked: which field is wrong, and why.
fn filter_of(q: &AccessQuery) -> AppResult<store::Filter> {
    let some = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_string());
    let time = |field: &str, text: &str| -> AppResult<Option<String>> {
        match some(text) {
            None => Ok(None),
            Some(t) => parse_filter_time(&t).map(Some).ok_or_else(|| {
                AppError::validation(
                    field,
                    format!("'{t}' is not a time (such as 2026-11-22 or 2026-11-22T10:00, UTC)"),
                )
            }),
        }
    };
    let ip = match some(&q.ip) {
        None => None,
        Some(text) => Some(event::key_range(
            crate::ssr::pipeline::parse_network(&text)
                .map_err(|message| AppError::validation("ip", message))?
                .trunc(),
        )),
    };
    let before = match some(&q.before) {
        None => None,
        Some(text) => Some(
            text.rsplit_once('~')
                .and_then(|(time, id)| Some((time.to_string(), id.parse::<i64>().ok()?)))
                .ok_or_else(|| AppError::validation("before", "not a page of this list (follow the page links)"))?,
        ),
    };
    Ok(store::Filter {
        workspace: some(&q.workspace),
        user: some(&q.user),
        directory: some(&q.directory).map(|d| d.rsplit('/').next().unwrap_or(&d).to_string()),
        ip,
        platform: some(&q.platform),
        product: some(&q.product),
        from: time("from", &q.from)?,
        to: time("to", &q.to)?,
        before,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_names_the_field_it_cannot_read() {
        let bad = |q: AccessQuery| filter_of(&q).unwrap_err().field().map(str::to_string);
        assert_eq!(
            bad(AccessQuery {
                ip: "10.0.0.0/40".into(),
                ..Default::default()
            })
            .as_deref(),
            Some("ip")
        );
        assert_eq!(
            bad(AccessQuery {
                from: "tuesday".into(),
                ..Default::default()
            })
            .as_deref(),
            Some("from")
        );
        assert_eq!(
            bad(AccessQuery {
                to: "2026-13-01".into(),
                ..Default::default()
            })
            .as_deref(),
            Some("to")
        );
        assert_eq!(
            bad(AccessQuery {
                before: "x".into(),
                ..Default::default()
            })
            .as_deref(),
            Some("before")
        );
        let f = filter_of(&AccessQuery {
            directory: "corp/d-123".into(),
            ip: "192.0.2.9/24".into(),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(f.directory.as_deref(), Some("d-123"));
        assert!(f.ip.is_some());
    }

    #[test]
    fn token_names_are_short_and_plain() {
        assert!(check_name("eventbridge").is_ok());
        assert!(check_name("prod.eu-west-1_2").is_ok());
        assert!(check_name("").is_err());
        assert!(check_name("two words").is_err());
        assert!(check_name(&"x".repeat(65)).is_err());
    }

    #[test]
    fn a_token_is_stored_as_its_hash_only() {
        let hash = token_hash("wsp_abc");
        assert_eq!(hash.len(), 64);
        assert_ne!(hash, "wsp_abc");
        assert_eq!(hash, token_hash(" wsp_abc\n"));
    }
}
