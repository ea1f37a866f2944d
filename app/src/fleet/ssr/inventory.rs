//! The inventory: every WorkSpace as the last read of it said, in the portal's database. The
//! sync ([`super::sync`]) writes it; the pages read only it, with SQL that uses an index for
//! every filter and sort, so a page costs about the same with 100 or 100,000 WorkSpaces.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sqlx::{QueryBuilder, Row, Sqlite};

use crate::error::AppResult;
use crate::fleet::{
    ConnectionStatus, FleetQuery, Idle, SortColumn, Tag, WorkspaceId, WorkspaceState, WorkspaceSummary,
};
use crate::ssr::db::Db;
use crate::ssr::internal;

/// Columns an upsert takes from a newer read; an older read never overwrites them.
const DATA_COLUMNS: [&str; 11] = [
    "row",
    "state",
    "directory_id",
    "bundle_id",
    "running_mode",
    "user_key",
    "directory_key",
    "bundle_key",
    "ip_key",
    "computer_key",
    "user_name",
];

/// Rows per multi-row statement (SQLite allows 32,766 bound values).
const ROWS_PER_STATEMENT: usize = 500;

/// The inventory tables.
#[derive(Clone)]
pub struct Inventory {
    db: Db,
    counts: Arc<Counts>,
}

/// Counts of the fleet's searches, each with the versions it was counted at. One count is made
/// at a time: requests that miss together wait for it rather than all scanning at once.
#[derive(Default)]
struct Counts {
    kept: Mutex<HashMap<String, (Versions, usize)>>,
    counting: tokio::sync::Mutex<()>,
}

impl Counts {
    /// Searches whose counts are kept at most (beyond that, they start afresh).
    const MAX: usize = 1000;

    fn lookup(&self, at: Versions, key: &str) -> Option<usize> {
        let kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        kept.get(key).filter(|(v, _)| *v == at).map(|(_, n)| *n)
    }

    fn keep(&self, at: Versions, key: String, n: usize) {
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        if kept.len() >= Self::MAX {
            kept.clear();
        }
        kept.insert(key, (at, n));
    }

    /// The count kept for `key` at `at`, or the one `count` makes (one at a time).
    async fn get_or_count<F>(&self, at: Versions, key: String, count: F) -> AppResult<usize>
    where
        F: std::future::Future<Output = AppResult<usize>>,
    {
        if let Some(n) = self.lookup(at, &key) {
            return Ok(n);
        }
        let _one_at_a_time = self.counting.lock().await;
        if let Some(n) = self.lookup(at, &key) {
            return Ok(n);
        }
        let n = count.await?;
        self.keep(at, key, n);
        Ok(n)
    }
}

/// The sync's progress row.
#[derive(Clone, Debug, Default, sqlx::FromRow)]
pub struct SyncRow {
    /// Move whenever what the pages count changes: rows (new, changed, gone), and tags (or
    /// which details are due).
    pub version: i64,
    pub tags_version: i64,
    pub sweep: i64,
    pub sweep_started_at: Option<String>,
    pub next_token: Option<String>,
    pub last_complete_at: Option<String>,
    pub last_complete_ms: Option<i64>,
    pub last_complete_calls: Option<i64>,
    pub sweep_calls: i64,
    pub errors: i64,
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
}

/// One WorkSpace as the inventory holds it.
pub struct Held {
    pub workspace: WorkspaceSummary,
    pub read_at: String,
    pub tags: Option<Vec<Tag>>,
    pub connection: Option<ConnectionStatus>,
}

fn db_error(e: sqlx::Error) -> crate::error::AppError {
    internal(format!("inventory: {e}"))
}

/// What a write changed, for the counts kept per version.
enum Changed {
    /// WorkSpaces' rows: new, changed or gone.
    Rows,
    /// Tags, or whose details are due.
    Tags,
}

/// Moves the inventory's version of what changed: what the pages counted before is counted again.
async fn bump(conn: &mut sqlx::SqliteConnection, changed: Changed) -> AppResult<()> {
    sqlx::query(match changed {
        Changed::Rows => "UPDATE inventory_sync SET version = version + 1 WHERE id = 1",
        Changed::Tags => "UPDATE inventory_sync SET tags_version = tags_version + 1 WHERE id = 1",
    })
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

/// The inventory's versions when a page was read: (rows, tags).
pub type Versions = (i64, i64);

impl Inventory {
    pub fn new(db: Db) -> Self {
        Inventory {
            db,
            counts: Arc::default(),
        }
    }

    /// Stores what a read that started at `read_at` returned; `sweep`: the sweep that read them.
    /// A WorkSpace that is new, changed or read again after it was marked gone takes the new
    /// row, is no longer gone, and has its tags and connection status read again; the others
    /// only note the read. Whether anything changed moves the inventory's version.
    pub async fn store(&self, rows: &[WorkspaceSummary], read_at: &str, sweep: i64) -> AppResult<()> {
        let mut tx = self.db.begin().await.map_err(db_error)?;
        let mut changed = 0;
        for chunk in rows.chunks(ROWS_PER_STATEMENT) {
            let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(format!(
                "INSERT INTO inventory_workspaces (workspace_id, {}, read_at, seen_sweep) ",
                DATA_COLUMNS.join(", ")
            ));
            q.push_values(chunk, |mut b, w| {
                b.push_bind(w.id.as_str())
                    .push_bind(serde_json::to_string(w).unwrap_or_default())
                    .push_bind(w.state.as_str())
                    .push_bind(w.directory_id.as_str())
                    .push_bind(w.bundle_id.as_str())
                    .push_bind(w.running_mode.as_str())
                    .push_bind(SortColumn::User.key(w))
                    .push_bind(SortColumn::Directory.key(w))
                    .push_bind(SortColumn::Bundle.key(w))
                    .push_bind(SortColumn::Ip.key(w))
                    .push_bind(SortColumn::Computer.key(w))
                    .push_bind(w.user_name.as_str())
                    .push_bind(read_at)
                    .push_bind(sweep);
            });
            let mut set: Vec<String> = DATA_COLUMNS.iter().map(|c| format!("{c} = excluded.{c}")).collect();
            set.extend([
                "details_due = 1".to_string(),
                "gone_at = NULL".to_string(),
                "read_at = excluded.read_at".to_string(),
                "seen_sweep = MAX(inventory_workspaces.seen_sweep, excluded.seen_sweep)".to_string(),
            ]);
            // An older read never overwrites a newer one.
            q.push(" ON CONFLICT (workspace_id) DO UPDATE SET ")
                .push(set.join(", "))
                .push(
                    " WHERE excluded.read_at >= inventory_workspaces.read_at \
                 AND (excluded.row <> inventory_workspaces.row OR inventory_workspaces.gone_at IS NOT NULL)",
                );
            changed += q.build().execute(&mut *tx).await.map_err(db_error)?.rows_affected();
            // The unchanged ones: only when they were read, and by which sweep.
            let mut touch: QueryBuilder<Sqlite> =
                QueryBuilder::new("UPDATE inventory_workspaces SET read_at = MAX(read_at, ");
            touch
                .push_bind(read_at)
                .push("), seen_sweep = MAX(seen_sweep, ")
                .push_bind(sweep)
                .push(") WHERE workspace_id IN (");
            let mut list = touch.separated(", ");
            for w in chunk {
                list.push_bind(w.id.as_str());
            }
            touch.push(")");
            touch.build().execute(&mut *tx).await.map_err(db_error)?;
        }
        if changed > 0 {
            bump(&mut tx, Changed::Rows).await?;
        }
        tx.commit().await.map_err(db_error)
    }

    /// WorkSpaces that a read by ID started at `read_at` did not return: gone (unless read since).
    pub async fn mark_gone(&self, ids: &[WorkspaceId], read_at: &str) -> AppResult<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut q: QueryBuilder<Sqlite> = QueryBuilder::new("UPDATE inventory_workspaces SET gone_at = ");
        q.push_bind(read_at)
            .push(" WHERE gone_at IS NULL AND read_at <= ")
            .push_bind(read_at)
            .push(" AND workspace_id IN (");
        let mut list = q.separated(", ");
        for id in ids {
            list.push_bind(id.as_str());
        }
        q.push(")");
        let mut tx = self.db.begin().await.map_err(db_error)?;
        if q.build().execute(&mut *tx).await.map_err(db_error)?.rows_affected() > 0 {
            bump(&mut tx, Changed::Rows).await?;
        }
        tx.commit().await.map_err(db_error)
    }

    /// A complete sweep `sweep`, started at `started_at`, is over: what it did not see, and
    /// nobody read since it started, is gone. Returns how many.
    pub async fn sweep_done(&self, sweep: i64, started_at: &str, now: &str) -> AppResult<u64> {
        let mut tx = self.db.begin().await.map_err(db_error)?;
        let gone = sqlx::query(
            "UPDATE inventory_workspaces SET gone_at = ? \
             WHERE gone_at IS NULL AND seen_sweep < ? AND read_at < ?",
        )
        .bind(now)
        .bind(sweep)
        .bind(started_at)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?
        .rows_affected();
        if gone > 0 {
            bump(&mut tx, Changed::Rows).await?;
        }
        tx.commit().await.map_err(db_error)?;
        Ok(gone)
    }

    /// The sync's progress.
    pub async fn sync_row(&self) -> AppResult<SyncRow> {
        sqlx::query_as(
            "SELECT version, tags_version, sweep, sweep_started_at, next_token, last_complete_at, last_complete_ms, last_complete_calls, \
             sweep_calls, errors, last_error, last_error_at FROM inventory_sync WHERE id = 1",
        )
        .fetch_one(&self.db)
        .await
        .map_err(db_error)
    }

    /// A sweep starts: its number.
    pub async fn sweep_started(&self, now: &str) -> AppResult<i64> {
        sqlx::query_scalar(
            "UPDATE inventory_sync SET sweep = sweep + 1, sweep_started_at = ?, next_token = NULL, sweep_calls = 0 \
             WHERE id = 1 RETURNING sweep",
        )
        .bind(now)
        .fetch_one(&self.db)
        .await
        .map_err(db_error)
    }

    /// A page of the sweep is stored: where the next one starts (`None`: the sweep is complete).
    pub async fn sweep_progress(&self, next_token: Option<&str>) -> AppResult<()> {
        sqlx::query("UPDATE inventory_sync SET next_token = ?, sweep_calls = sweep_calls + 1 WHERE id = 1")
            .bind(next_token)
            .execute(&self.db)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    /// The sweep under way is complete.
    pub async fn sweep_complete(&self, now: &str, took_ms: i64) -> AppResult<()> {
        sqlx::query(
            "UPDATE inventory_sync SET last_complete_at = ?, last_complete_ms = ?, last_complete_calls = sweep_calls, \
             sweep_started_at = NULL, next_token = NULL WHERE id = 1",
        )
        .bind(now)
        .bind(took_ms)
        .execute(&self.db)
        .await
        .map_err(db_error)?;
        // The planner's statistics follow the fleet's size (cheap when it did not change much).
        let mut conn = self.db.acquire().await.map_err(db_error)?;
        crate::ssr::db::optimize(&mut conn).await.map_err(db_error)
    }

    /// A call of the sync failed.
    pub async fn sync_error(&self, error: &str, now: &str) -> AppResult<()> {
        sqlx::query("UPDATE inventory_sync SET errors = errors + 1, last_error = ?, last_error_at = ? WHERE id = 1")
            .bind(error)
            .bind(now)
            .execute(&self.db)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    /// Up to `limit` WorkSpaces in a transitional state, the longest unread first.
    pub async fn transitional(&self, limit: usize) -> AppResult<Vec<WorkspaceId>> {
        let mut q: QueryBuilder<Sqlite> =
            QueryBuilder::new("SELECT workspace_id FROM inventory_workspaces WHERE gone_at IS NULL AND state IN (");
        let mut list = q.separated(", ");
        for s in WorkspaceState::ALL.iter().filter(|s| s.is_transitional()) {
            list.push_bind(s.as_str());
        }
        q.push(") ORDER BY read_at LIMIT ").push_bind(limit as i64);
        let ids: Vec<String> = q.build_query_scalar().fetch_all(&self.db).await.map_err(db_error)?;
        Ok(ids.into_iter().map(WorkspaceId::from_api).collect())
    }

    /// Up to `limit` WorkSpaces whose tags and connection status are to be read.
    pub async fn details_due(&self, limit: usize) -> AppResult<Vec<WorkspaceId>> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT workspace_id FROM inventory_workspaces WHERE details_due = 1 AND gone_at IS NULL \
             ORDER BY workspace_id LIMIT ?",
        )
        .bind(limit as i64)
        .fetch_all(&self.db)
        .await
        .map_err(db_error)?;
        Ok(ids.into_iter().map(WorkspaceId::from_api).collect())
    }

    /// How many WorkSpaces' tags and connection status are to be read.
    pub async fn details_due_count(&self, at: Versions) -> AppResult<u64> {
        let count = async {
            let n: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM inventory_workspaces WHERE details_due = 1 AND gone_at IS NULL",
            )
            .fetch_one(&self.db)
            .await
            .map_err(db_error)?;
            Ok(n.max(0) as usize)
        };
        Ok(self.counts.get_or_count(at, "details due".into(), count).await? as u64)
    }

    /// Stores connection statuses read at `read_at`.
    pub async fn store_connections(&self, found: &[(WorkspaceId, ConnectionStatus)], read_at: &str) -> AppResult<()> {
        let mut tx = self.db.begin().await.map_err(db_error)?;
        for (id, status) in found {
            sqlx::query(
                "UPDATE inventory_workspaces SET connection = ?, connection_read_at = ? WHERE workspace_id = ?",
            )
            .bind(serde_json::to_string(status).unwrap_or_default())
            .bind(read_at)
            .bind(id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        }
        tx.commit().await.map_err(db_error)
    }

    /// Stores a WorkSpace's tags as read at `read_at`; its details are no longer due.
    pub async fn store_tags(&self, id: &WorkspaceId, tags: &[Tag], read_at: &str) -> AppResult<()> {
        let mut tx = self.db.begin().await.map_err(db_error)?;
        sqlx::query("DELETE FROM inventory_tags WHERE workspace_id = ?")
            .bind(id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        if !tags.is_empty() {
            let mut q: QueryBuilder<Sqlite> =
                QueryBuilder::new("INSERT INTO inventory_tags (workspace_id, key, value) ");
            q.push_values(tags, |mut b, t| {
                b.push_bind(id.as_str()).push_bind(&t.key).push_bind(&t.value);
            });
            q.build().execute(&mut *tx).await.map_err(db_error)?;
        }
        sqlx::query("UPDATE inventory_workspaces SET tags_read_at = ?, details_due = 0 WHERE workspace_id = ?")
            .bind(read_at)
            .bind(id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        bump(&mut tx, Changed::Tags).await?;
        tx.commit().await.map_err(db_error)
    }

    /// Has these WorkSpaces' tags and connection status read again.
    pub async fn mark_details_due(&self, ids: &[WorkspaceId]) -> AppResult<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(
            "UPDATE inventory_workspaces SET details_due = 1 WHERE details_due = 0 AND workspace_id IN (",
        );
        let mut list = q.separated(", ");
        for id in ids {
            list.push_bind(id.as_str());
        }
        q.push(")");
        let mut tx = self.db.begin().await.map_err(db_error)?;
        if q.build().execute(&mut *tx).await.map_err(db_error)?.rows_affected() > 0 {
            bump(&mut tx, Changed::Tags).await?;
        }
        tx.commit().await.map_err(db_error)
    }

    /// Marks details as read (a WorkSpace AWS no longer knows).
    pub async fn details_done(&self, id: &WorkspaceId) -> AppResult<()> {
        let mut tx = self.db.begin().await.map_err(db_error)?;
        sqlx::query("UPDATE inventory_workspaces SET details_due = 0 WHERE workspace_id = ?")
            .bind(id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        bump(&mut tx, Changed::Tags).await?;
        tx.commit().await.map_err(db_error)
    }

    /// One WorkSpace (gone ones too), with its tags and connection status if read.
    pub async fn get(&self, id: &WorkspaceId) -> AppResult<Option<Held>> {
        let row = sqlx::query(
            "SELECT w.row, w.gone_at, w.read_at, w.tags_read_at, w.connection, l.login_time FROM inventory_workspaces w \
             LEFT JOIN workspace_last_login l ON l.workspace_id = w.workspace_id \
             WHERE w.workspace_id = ?",
        )
        .bind(id.as_str())
        .fetch_optional(&self.db)
        .await
        .map_err(db_error)?;
        let Some(row) = row else { return Ok(None) };
        let workspace = held_row(&row)?;
        let tags = match row.get::<Option<String>, _>("tags_read_at") {
            None => None,
            Some(_) => Some(
                sqlx::query_as::<_, (String, String)>(
                    "SELECT key, value FROM inventory_tags WHERE workspace_id = ? ORDER BY key",
                )
                .bind(id.as_str())
                .fetch_all(&self.db)
                .await
                .map_err(db_error)?
                .into_iter()
                .map(|(key, value)| Tag { key, value })
                .collect(),
            ),
        };
        let connection = row
            .get::<Option<String>, _>("connection")
            .and_then(|c| serde_json::from_str(&c).ok());
        Ok(Some(Held {
            workspace,
            read_at: row.get("read_at"),
            tags,
            connection,
        }))
    }

    /// These WorkSpaces (those not gone), in no particular order.
    pub async fn rows(&self, ids: &[WorkspaceId]) -> AppResult<Vec<WorkspaceSummary>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(
            "SELECT w.row, w.gone_at, l.login_time FROM inventory_workspaces w \
             LEFT JOIN workspace_last_login l ON l.workspace_id = w.workspace_id \
             WHERE w.gone_at IS NULL AND w.workspace_id IN (",
        );
        let mut list = q.separated(", ");
        for id in ids {
            list.push_bind(id.as_str());
        }
        q.push(")");
        read_rows(q.build().fetch_all(&self.db).await.map_err(db_error)?)
    }

    /// The user of each WorkSpace the inventory holds, gone ones included (for naming the
    /// users of logins).
    pub async fn users(&self) -> AppResult<HashMap<String, String>> {
        let rows: Vec<(String, String)> = sqlx::query_as("SELECT workspace_id, user_name FROM inventory_workspaces")
            .fetch_all(&self.db)
            .await
            .map_err(db_error)?;
        Ok(rows.into_iter().collect())
    }

    /// How many WorkSpaces `query`'s filters match, and how many the fleet holds.
    pub async fn count(&self, query: &FleetQuery, at: Versions) -> AppResult<(usize, usize)> {
        let total = self.counted(at, query).await?;
        let fleet = self.counted(at, &FleetQuery::default()).await?;
        Ok((total, fleet))
    }

    /// How many WorkSpaces `query`'s filters match: counted once per version of what they read
    /// (a count scans what the filters match; pages ask for the same counts again and again).
    /// The last-login filter joins logins, which move without a version: counted each time.
    async fn counted(&self, at: Versions, query: &FleetQuery) -> AppResult<usize> {
        let count = async {
            let mut q: QueryBuilder<Sqlite> = QueryBuilder::new("SELECT COUNT(*) FROM inventory_workspaces w");
            if query.idle.is_some() {
                q.push(" LEFT JOIN workspace_last_login l ON l.workspace_id = w.workspace_id");
            }
            filters(&mut q, query);
            let n: i64 = q.build_query_scalar().fetch_one(&self.db).await.map_err(db_error)?;
            Ok(n.max(0) as usize)
        };
        if query.idle.is_some() {
            return count.await;
        }
        let q = query;
        let tagged = !q.tag_key.is_empty() || !q.tag_value.is_empty();
        let at = (at.0, if tagged { at.1 } else { 0 });
        let key = format!(
            "{:?}",
            (
                &q.state,
                &q.directory,
                &q.bundle,
                &q.mode,
                q.user.to_lowercase(),
                &q.tag_key,
                &q.tag_value,
                q.gone
            )
        );
        self.counts.get_or_count(at, key, count).await
    }

    /// The rows `query`'s filters match, in its order: `limit` of them from `offset` on.
    pub async fn matching(&self, query: &FleetQuery, offset: usize, limit: usize) -> AppResult<Vec<WorkspaceSummary>> {
        let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(
            "SELECT w.row, w.gone_at, l.login_time FROM inventory_workspaces w \
             LEFT JOIN workspace_last_login l ON l.workspace_id = w.workspace_id",
        );
        filters(&mut q, query);
        let key = match query.sort {
            SortColumn::Id => "w.workspace_id",
            SortColumn::User => "w.user_key",
            SortColumn::State => "w.state",
            SortColumn::Directory => "w.directory_key",
            SortColumn::Bundle => "w.bundle_key",
            SortColumn::Mode => "w.running_mode",
            SortColumn::Ip => "w.ip_key",
            SortColumn::Computer => "w.computer_key",
            SortColumn::LastLogin => "COALESCE(l.login_time, '')",
        };
        let direction = if query.desc { "DESC" } else { "ASC" };
        q.push(match query.sort {
            SortColumn::Id => format!(" ORDER BY w.workspace_id {direction} LIMIT "),
            _ => format!(" ORDER BY {key} {direction}, w.workspace_id {direction} LIMIT "),
        })
        .push_bind(limit.min(i64::MAX as usize) as i64)
        .push(" OFFSET ")
        .push_bind(offset as i64);
        read_rows(q.build().fetch_all(&self.db).await.map_err(db_error)?)
    }

    /// How many WorkSpaces (not gone) have each value of `column` (a column name, not input).
    pub async fn counts(&self, column: &'static str) -> AppResult<Vec<(String, usize)>> {
        let rows: Vec<(String, i64)> = sqlx::query_as(&format!(
            "SELECT {column}, COUNT(*) FROM inventory_workspaces WHERE gone_at IS NULL GROUP BY {column}"
        ))
        .fetch_all(&self.db)
        .await
        .map_err(db_error)?;
        Ok(rows.into_iter().map(|(k, n)| (k, n as usize)).collect())
    }

    /// WorkSpaces per directory.
    pub async fn per_directory(&self) -> AppResult<HashMap<String, usize>> {
        Ok(self.counts("directory_id").await?.into_iter().collect())
    }

    /// The first `limit` WorkSpaces in these states, by ID.
    pub async fn in_states(&self, states: &[WorkspaceState], limit: usize) -> AppResult<Vec<WorkspaceSummary>> {
        let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(
            "SELECT w.row, w.gone_at, l.login_time FROM inventory_workspaces w \
             LEFT JOIN workspace_last_login l ON l.workspace_id = w.workspace_id \
             WHERE w.gone_at IS NULL AND w.state IN (",
        );
        let mut list = q.separated(", ");
        for s in states {
            list.push_bind(s.as_str());
        }
        q.push(") ORDER BY w.workspace_id LIMIT ").push_bind(limit as i64);
        read_rows(q.build().fetch_all(&self.db).await.map_err(db_error)?)
    }
}

/// The WHERE clause of a fleet query (the last-login join, `l`, present when `idle` is set).
fn filters<'a>(q: &mut QueryBuilder<'a, Sqlite>, query: &'a FleetQuery) {
    q.push(if query.gone {
        " WHERE w.gone_at IS NOT NULL"
    } else {
        " WHERE w.gone_at IS NULL"
    });
    if let Some(state) = &query.state {
        q.push(" AND w.state = ").push_bind(state.as_str());
    }
    if !query.directory.is_empty() {
        q.push(" AND w.directory_id = ").push_bind(query.directory.as_str());
    }
    if !query.bundle.is_empty() {
        q.push(" AND w.bundle_id = ").push_bind(query.bundle.as_str());
    }
    if let Some(mode) = &query.mode {
        q.push(" AND w.running_mode = ").push_bind(mode.as_str());
    }
    if !query.user.is_empty() {
        q.push(" AND instr(w.user_key, ")
            .push_bind(query.user.to_lowercase())
            .push(") > 0");
    }
    match query.idle {
        None => {}
        Some(Idle::Never) => {
            q.push(" AND l.login_time IS NULL");
        }
        Some(Idle::Days(days)) => {
            let since = crate::audit::ssr::record::utc_text(
                std::time::SystemTime::now()
                    .checked_sub(std::time::Duration::from_secs(u64::from(days) * 86_400))
                    .unwrap_or(std::time::SystemTime::UNIX_EPOCH),
            );
            q.push(" AND (l.login_time IS NULL OR l.login_time < ")
                .push_bind(since)
                .push(")");
        }
    }
    if !query.tag_key.is_empty() || !query.tag_value.is_empty() {
        q.push(" AND EXISTS (SELECT 1 FROM inventory_tags t WHERE t.workspace_id = w.workspace_id");
        if !query.tag_key.is_empty() {
            q.push(" AND t.key = ").push_bind(query.tag_key.as_str());
        }
        if !query.tag_value.is_empty() {
            q.push(" AND t.value = ").push_bind(query.tag_value.as_str());
        }
        q.push(")");
    }
}

fn summary_of(row: String) -> AppResult<WorkspaceSummary> {
    serde_json::from_str(&row).map_err(|e| internal(format!("inventory row unreadable: {e}")))
}

/// A row of `SELECT w.row, w.gone_at, l.login_time …` as the pages show it.
fn held_row(row: &sqlx::sqlite::SqliteRow) -> AppResult<WorkspaceSummary> {
    let mut w = summary_of(row.get("row"))?;
    w.last_login = row.get("login_time");
    w.gone_at = row.get("gone_at");
    Ok(w)
}

fn read_rows(rows: Vec<sqlx::sqlite::SqliteRow>) -> AppResult<Vec<WorkspaceSummary>> {
    rows.iter().map(held_row).collect()
}
