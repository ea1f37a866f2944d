//! The inventory: every WorkSpace as the last read of it said, in the portal's database. The
//! sync ([`super::sync`]) writes it (here); the pages read only it ([`reads`]), with SQL that
//! uses an index for every filter and sort, so a page costs about the same with 100 or 100,000
//! WorkSpaces.

mod reads;

use reads::Counts;
pub use reads::Held;

use std::sync::Arc;

use sqlx::{QueryBuilder, Sqlite};

use crate::error::AppResult;
use crate::fleet::{ConnectionStatus, SortColumn, Tag, WorkspaceId, WorkspaceState, WorkspaceSummary};
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
}
