//! Logins and ingest tokens in the portal's database. An event is stored once by its `id` (one
//! conditional insert); a token is found by its SHA-256, never compared as text.

use std::collections::HashSet;

use sqlx::{QueryBuilder, Row, Sqlite};

use super::event::Login as Event;
use super::review::{self, Raised};
use crate::access::{IngestToken, Login};
use crate::error::{AppError, AppResult};
use crate::ssr::db::Db;

fn db_error(e: sqlx::Error) -> AppError {
    crate::ssr::internal(format!("access events database: {e}"))
}

/// Stores `events` (already checked) in one transaction — a few statements, not one per event —
/// with what a new login changes: its WorkSpace's last login, the charts' counts and the alerts
/// it raises. Gives how many were new, how many were
/// there already (by `id`), and the alerts raised.
pub async fn insert(
    db: &Db,
    events: &[Event],
    token: &str,
    received_at: &str,
) -> AppResult<(usize, usize, Vec<Raised>)> {
    let mut tx = db.begin().await.map_err(db_error)?;
    let mut new_ids: HashSet<String> = HashSet::new();
    // A statement per 500 events: 13 values a row, SQLite takes up to 32,766 in one.
    for chunk in events.chunks(500) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO access_events (event_id, workspace_id, directory_id, client_ip, ip_key, platform, product, \
             login_time, event_time, account, region, received_at, token_name) ",
        );
        q.push_values(chunk, |mut row, e| {
            row.push_bind(&e.event_id)
                .push_bind(&e.workspace_id)
                .push_bind(&e.directory_id)
                .push_bind(&e.client_ip)
                .push_bind(&e.ip_key)
                .push_bind(&e.platform)
                .push_bind(&e.product)
                .push_bind(&e.login_time)
                .push_bind(&e.event_time)
                .push_bind(&e.account)
                .push_bind(&e.region)
                .push_bind(received_at)
                .push_bind(token);
        });
        q.push(" ON CONFLICT (event_id) DO NOTHING RETURNING event_id");
        let stored: Vec<String> = q.build_query_scalar().fetch_all(&mut *tx).await.map_err(db_error)?;
        new_ids.extend(stored);
    }
    // The new events, each once (an array may hold one twice).
    let fresh: Vec<&Event> = events.iter().filter(|e| new_ids.remove(&e.event_id)).collect();
    review::note_last_logins(&mut tx, &fresh).await.map_err(db_error)?;
    review::count_logins(&mut tx, &fresh).await.map_err(db_error)?;
    let raised = review::raise(&mut tx, &fresh, received_at).await.map_err(db_error)?;
    tx.commit().await.map_err(db_error)?;
    Ok((fresh.len(), events.len() - fresh.len(), raised))
}

/// The checked filters of a search.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub workspace: Option<String>,
    pub user: Option<String>,
    pub directory: Option<String>,
    /// First and last `ip_key` of the network.
    pub ip: Option<(String, String)>,
    pub platform: Option<String>,
    pub product: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    /// Logins older than `(login_time, id)`.
    pub before: Option<(String, i64)>,
}

pub(super) fn push_filter<'a>(q: &mut QueryBuilder<'a, Sqlite>, f: &'a Filter) {
    q.push(" WHERE 1 = 1");
    for (column, value) in [
        ("workspace_id", &f.workspace),
        ("user_name", &f.user),
        ("directory_id", &f.directory),
        ("platform", &f.platform),
        ("product", &f.product),
    ] {
        if let Some(value) = value {
            q.push(format!(" AND {column} = ")).push_bind(value);
        }
    }
    if let Some((first, last)) = &f.ip {
        q.push(" AND ip_key >= ").push_bind(first);
        q.push(" AND ip_key <= ").push_bind(last);
        q.push(" AND ip_key <> ''");
    }
    if let Some(from) = &f.from {
        q.push(" AND login_time >= ").push_bind(from);
    }
    if let Some(to) = &f.to {
        q.push(" AND login_time < ").push_bind(to);
    }
    if let Some((time, id)) = &f.before {
        q.push(" AND (login_time < ")
            .push_bind(time)
            .push(" OR (login_time = ")
            .push_bind(time)
            .push(" AND id < ")
            .push_bind(*id)
            .push("))");
    }
}

/// Up to `limit` logins matching `filter`, newest first, each with its row ID (the keyset).
pub async fn search(db: &Db, filter: &Filter, limit: usize) -> AppResult<Vec<(i64, Login)>> {
    let mut q = QueryBuilder::<Sqlite>::new(
        "SELECT id, event_id, workspace_id, directory_id, client_ip, platform, product, login_time, user_name, \
         received_at FROM access_events",
    );
    push_filter(&mut q, filter);
    q.push(" ORDER BY login_time DESC, id DESC LIMIT ")
        .push_bind(limit as i64);
    let rows = q.build().fetch_all(db).await.map_err(db_error)?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                r.get("id"),
                Login {
                    event_id: r.get("event_id"),
                    workspace_id: r.get("workspace_id"),
                    directory_id: r.get("directory_id"),
                    client_ip: r.get("client_ip"),
                    platform: r.get("platform"),
                    product: r.get("product"),
                    login_time: r.get("login_time"),
                    user_name: r.get("user_name"),
                    received_at: r.get("received_at"),
                },
            )
        })
        .collect())
}

/// WorkSpaces with logins whose user is not known yet (a few at a time).
pub async fn unnamed(db: &Db, limit: usize) -> AppResult<Vec<String>> {
    sqlx::query_scalar("SELECT DISTINCT workspace_id FROM access_events WHERE user_name IS NULL LIMIT ?")
        .bind(limit as i64)
        .fetch_all(db)
        .await
        .map_err(db_error)
}

/// Names the user of a WorkSpace's logins that have none yet.
pub async fn name_user(db: &Db, workspace: &str, user: &str) -> AppResult<u64> {
    let done = sqlx::query("UPDATE access_events SET user_name = ? WHERE workspace_id = ? AND user_name IS NULL")
        .bind(user)
        .bind(workspace)
        .execute(db)
        .await
        .map_err(db_error)?;
    Ok(done.rows_affected())
}

/// Deletes logins older than `before`; gives how many.
pub async fn prune(db: &Db, before: &str) -> AppResult<u64> {
    let done = sqlx::query("DELETE FROM access_events WHERE login_time < ?")
        .bind(before)
        .execute(db)
        .await
        .map_err(db_error)?;
    Ok(done.rows_affected())
}

// ---------------------------------------------------------------------------------------------
// Ingest tokens

/// Stores a new token's hash under `name`; a live token of that name is a conflict.
pub async fn create_token(db: &Db, name: &str, hash: &str, by: &str, at: &str) -> AppResult<()> {
    let done = sqlx::query(
        "INSERT INTO ingest_tokens (name, token_hash, created_at, created_by) VALUES (?, ?, ?, ?) \
         ON CONFLICT DO NOTHING",
    )
    .bind(name)
    .bind(hash)
    .bind(at)
    .bind(by)
    .execute(db)
    .await
    .map_err(db_error)?;
    if done.rows_affected() == 0 {
        return Err(AppError::Conflict {
            message: format!("a token named '{name}' exists already: revoke it first, or choose another name"),
        });
    }
    Ok(())
}

pub async fn tokens(db: &Db) -> AppResult<Vec<IngestToken>> {
    let rows = sqlx::query(
        "SELECT name, created_at, created_by, last_used_at, revoked_at FROM ingest_tokens \
         ORDER BY revoked_at IS NOT NULL, name, id DESC",
    )
    .fetch_all(db)
    .await
    .map_err(db_error)?;
    Ok(rows
        .into_iter()
        .map(|r| IngestToken {
            name: r.get("name"),
            created_at: r.get("created_at"),
            created_by: r.get("created_by"),
            last_used_at: r.get("last_used_at"),
            revoked_at: r.get("revoked_at"),
        })
        .collect())
}

/// Revokes the live token named `name`; `false` if there is none.
pub async fn revoke_token(db: &Db, name: &str, by: &str, at: &str) -> AppResult<bool> {
    let done =
        sqlx::query("UPDATE ingest_tokens SET revoked_at = ?, revoked_by = ? WHERE name = ? AND revoked_at IS NULL")
            .bind(at)
            .bind(by)
            .bind(name)
            .execute(db)
            .await
            .map_err(db_error)?;
    Ok(done.rows_affected() > 0)
}

/// The name of the live token with this hash.
pub async fn live_token(db: &Db, hash: &str) -> AppResult<Option<String>> {
    sqlx::query_scalar("SELECT name FROM ingest_tokens WHERE token_hash = ? AND revoked_at IS NULL")
        .bind(hash)
        .fetch_optional(db)
        .await
        .map_err(db_error)
}

/// Notes the use of the token with this hash (unless noted since `a_minute_ago`).
pub async fn note_token_use(db: &Db, hash: &str, now: &str, a_minute_ago: &str) -> AppResult<()> {
    sqlx::query(
        "UPDATE ingest_tokens SET last_used_at = ? WHERE token_hash = ? \
         AND (last_used_at IS NULL OR last_used_at < ?)",
    )
    .bind(now)
    .bind(hash)
    .bind(a_minute_ago)
    .execute(db)
    .await
    .map_err(db_error)?;
    Ok(())
}
