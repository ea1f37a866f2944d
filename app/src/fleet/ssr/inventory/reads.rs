//! What the pages read: a WorkSpace, a page of a search and its counts, the overview's counts.

use std::collections::HashMap;
use std::sync::Mutex;

use sqlx::{QueryBuilder, Row, Sqlite};

use super::{db_error, Inventory, Versions};
use crate::error::AppResult;
use crate::fleet::{
    ConnectionStatus, FleetQuery, Idle, SortColumn, Tag, WorkspaceId, WorkspaceState, WorkspaceSummary,
};
use crate::ssr::internal;

/// Counts of the fleet's searches, each with the versions it was counted at. One count is made
/// at a time: requests that miss together wait for it rather than all scanning at once.
#[derive(Default)]
pub(super) struct Counts {
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

/// One WorkSpace as the inventory holds it.
pub struct Held {
    pub workspace: WorkspaceSummary,
    pub read_at: String,
    pub tags: Option<Vec<Tag>>,
    pub connection: Option<ConnectionStatus>,
}

impl Inventory {
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
