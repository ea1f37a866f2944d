//! Approval requests and reviews in the portal's database. Every check-then-write is one
//! conditional statement or one transaction: one pending request per WorkSpace and action (a
//! primary key), one review per reviewer (a unique key), one execution (a conditional update
//! that counts the valid approvals itself).

use sqlx::{QueryBuilder, Row, Sqlite};

use crate::approvals::{ApprovalAction, ApprovalId, ApprovalQuery, ApprovalState, Decision, Frozen, Review, Tab};
use crate::error::{AppError, AppResult};
use crate::ssr::db::Db;

fn db_error(e: sqlx::Error) -> AppError {
    crate::ssr::internal(format!("approvals database: {e}"))
}

/// A stored request.
#[derive(Clone, Debug)]
pub struct Stored {
    pub id: i64,
    pub public_id: ApprovalId,
    pub action: ApprovalAction,
    pub state: ApprovalState,
    pub requester_id: i64,
    pub requester_name: String,
    pub reason: String,
    pub frozen: String,
    pub frozen_hash: String,
    pub approvals_needed: i64,
    pub workspace_count: i64,
    pub created_at: String,
    pub expires_at: String,
    pub outcome: Option<String>,
    pub break_glass: bool,
    pub post_review: Option<String>,
    pub post_reviewer: Option<String>,
    pub post_comment: Option<String>,
    pub webhook_error: Option<String>,
    /// Approvals that count now.
    pub approvals: i64,
}

/// The approvals of a request that count: by an enabled approver or admin who is not the
/// requester, of the hash the request has.
const VALID_APPROVALS: &str = "(SELECT COUNT(*) FROM approval_reviews v JOIN users u ON u.id = v.reviewer_id \
     WHERE v.request_id = approval_requests.id AND v.decision = 'approve' \
     AND v.hash_seen = approval_requests.frozen_hash AND u.enabled = 1 AND u.role IN ('approver', 'admin') \
     AND u.id != approval_requests.requester_id)";

fn columns() -> String {
    format!(
        "approval_requests.id, public_id, action, state, requester_id, requester_name, reason, frozen, frozen_hash, \
         approvals_needed, workspace_count, created_at, expires_at, outcome, break_glass, post_review, post_reviewer, \
         post_comment, webhook_error, {VALID_APPROVALS} AS approvals"
    )
}

fn stored(r: &sqlx::sqlite::SqliteRow) -> Stored {
    Stored {
        id: r.get("id"),
        public_id: ApprovalId::from_stored(r.get("public_id")),
        action: ApprovalAction::from_api(r.get("action")).unwrap_or(ApprovalAction::Terminate),
        state: ApprovalState::from_stored(r.get("state")),
        requester_id: r.get("requester_id"),
        requester_name: r.get("requester_name"),
        reason: r.get("reason"),
        frozen: r.get("frozen"),
        frozen_hash: r.get("frozen_hash"),
        approvals_needed: r.get("approvals_needed"),
        workspace_count: r.get("workspace_count"),
        created_at: r.get("created_at"),
        expires_at: r.get("expires_at"),
        outcome: r.get("outcome"),
        break_glass: r.get("break_glass"),
        post_review: r.get("post_review"),
        post_reviewer: r.get("post_reviewer"),
        post_comment: r.get("post_comment"),
        webhook_error: r.get("webhook_error"),
        approvals: r.get("approvals"),
    }
}

/// Stores a new request, its targets and — for a request that waits — its pending targets.
/// A WorkSpace with a pending request for the same action already is a `Conflict` naming it.
pub async fn insert(
    db: &Db,
    frozen: &Frozen,
    json: &str,
    hash: &str,
    requester_id: i64,
    break_glass: bool,
) -> AppResult<i64> {
    let mut tx = db.begin().await.map_err(db_error)?;
    let state = if break_glass { "executing" } else { "pending" };
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO approval_requests (public_id, action, state, requester_id, requester_name, reason, frozen, \
         frozen_hash, approvals_needed, workspace_count, created_at, expires_at, decided_at, break_glass, post_review) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(frozen.id.as_str())
    .bind(frozen.action.api_name())
    .bind(state)
    .bind(requester_id)
    .bind(&frozen.requester)
    .bind(&frozen.reason)
    .bind(json)
    .bind(hash)
    .bind(i64::from(frozen.approvals_needed))
    .bind(frozen.workspaces.len() as i64)
    .bind(&frozen.created_at)
    .bind(&frozen.expires_at)
    .bind(break_glass.then(|| frozen.created_at.clone()))
    .bind(break_glass)
    .bind(break_glass.then_some("open"))
    .fetch_one(&mut *tx)
    .await
    .map_err(db_error)?;
    for w in &frozen.workspaces {
        sqlx::query("INSERT INTO approval_targets (request_id, workspace_id, user_key) VALUES (?, ?, ?)")
            .bind(id)
            .bind(w.id.as_str())
            .bind(w.user_name.to_lowercase())
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        if break_glass {
            continue;
        }
        let taken =
            sqlx::query("INSERT INTO approval_pending_targets (action, workspace_id, request_id) VALUES (?, ?, ?)")
                .bind(frozen.action.api_name())
                .bind(w.id.as_str())
                .bind(id)
                .execute(&mut *tx)
                .await;
        match taken {
            Ok(_) => {}
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                let existing: String = sqlx::query_scalar(
                    "SELECT r.public_id FROM approval_pending_targets p JOIN approval_requests r ON r.id = p.request_id \
                     WHERE p.action = ? AND p.workspace_id = ?",
                )
                .bind(frozen.action.api_name())
                .bind(w.id.as_str())
                .fetch_one(&mut *tx)
                .await
                .map_err(db_error)?;
                return Err(AppError::Conflict {
                    message: format!(
                        "{} already has a pending request for {}: {existing} (see /approvals/{existing})",
                        w.id,
                        frozen.action.api_name()
                    ),
                });
            }
            Err(e) => return Err(db_error(e)),
        }
    }
    tx.commit().await.map_err(db_error)?;
    Ok(id)
}

pub async fn by_public_id(db: &Db, id: &ApprovalId) -> AppResult<Option<Stored>> {
    let row = sqlx::query(&format!(
        "SELECT {} FROM approval_requests WHERE public_id = ?",
        columns()
    ))
    .bind(id.as_str())
    .fetch_optional(db)
    .await
    .map_err(db_error)?;
    Ok(row.as_ref().map(stored))
}

/// reviewer, decision, comment, time, hash seen; the reviewer's account now (enabled, role); id.
type ReviewRow = (
    String,
    String,
    String,
    String,
    String,
    Option<bool>,
    Option<String>,
    i64,
);

/// A request's reviews, saying which still count.
pub async fn reviews(db: &Db, request: &Stored) -> AppResult<Vec<Review>> {
    let rows: Vec<ReviewRow> = sqlx::query_as(
        "SELECT v.reviewer_name, v.decision, v.comment, v.created_at, v.hash_seen, u.enabled, u.role, v.reviewer_id \
         FROM approval_reviews v LEFT JOIN users u ON u.id = v.reviewer_id WHERE v.request_id = ? ORDER BY v.id",
    )
    .bind(request.id)
    .fetch_all(db)
    .await
    .map_err(db_error)?;
    Ok(rows
        .into_iter()
        .map(
            |(reviewer, decision, comment, created_at, hash_seen, enabled, role, reviewer_id)| {
                let decision = if decision == "reject" {
                    Decision::Reject
                } else {
                    Decision::Approve
                };
                let counts = enabled == Some(true)
                    && matches!(role.as_deref(), Some("approver" | "admin"))
                    && hash_seen == request.frozen_hash
                    && reviewer_id != request.requester_id;
                Review {
                    reviewer,
                    decision,
                    comment,
                    created_at,
                    counts,
                }
            },
        )
        .collect())
}

/// Stores a reviewer's decision; a second one by the same reviewer is a `Conflict`.
pub async fn insert_review(
    db: &Db,
    request: &Stored,
    reviewer_id: i64,
    reviewer: &str,
    decision: Decision,
    comment: &str,
    hash_seen: &str,
) -> AppResult<()> {
    let inserted = sqlx::query(
        "INSERT INTO approval_reviews (request_id, reviewer_id, reviewer_name, decision, comment, hash_seen, created_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(request.id)
    .bind(reviewer_id)
    .bind(reviewer)
    .bind(match decision {
        Decision::Approve => "approve",
        Decision::Reject => "reject",
    })
    .bind(comment)
    .bind(hash_seen)
    .bind(crate::audit::ssr::record::utc_now())
    .execute(db)
    .await;
    match inserted {
        Ok(_) => Ok(()),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(AppError::Conflict {
            message: format!("you have reviewed {} already", request.public_id),
        }),
        Err(e) => Err(db_error(e)),
    }
}

/// Claims a pending request for execution, if it has the approvals it needs and has not
/// expired: one conditional statement, so that it is claimed once however many try at once.
pub async fn claim(db: &Db, id: i64, now: &str) -> AppResult<bool> {
    let mut tx = db.begin().await.map_err(db_error)?;
    let claimed = sqlx::query(&format!(
        "UPDATE approval_requests SET state = 'executing', decided_at = ?1 \
         WHERE id = ?2 AND state = 'pending' AND expires_at > ?1 AND {VALID_APPROVALS} >= approvals_needed"
    ))
    .bind(now)
    .bind(id)
    .execute(&mut *tx)
    .await
    .map_err(db_error)?
    .rows_affected()
        == 1;
    if claimed {
        release_targets(&mut tx, id).await?;
    }
    tx.commit().await.map_err(db_error)?;
    Ok(claimed)
}

/// Ends a pending request (`rejected`, `cancelled`, `expired`): only if it is still pending.
pub async fn end_pending(db: &Db, id: i64, to: ApprovalState, now: &str) -> AppResult<bool> {
    let mut tx = db.begin().await.map_err(db_error)?;
    let ended =
        sqlx::query("UPDATE approval_requests SET state = ?, decided_at = ? WHERE id = ? AND state = 'pending'")
            .bind(to.as_str())
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?
            .rows_affected()
            == 1;
    if ended {
        release_targets(&mut tx, id).await?;
    }
    tx.commit().await.map_err(db_error)?;
    Ok(ended)
}

async fn release_targets(tx: &mut sqlx::SqliteConnection, id: i64) -> AppResult<()> {
    sqlx::query("DELETE FROM approval_pending_targets WHERE request_id = ?")
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
    Ok(())
}

/// Records the end of an execution: `executed` (with each WorkSpace's outcome) or `refused`.
pub async fn finish(db: &Db, id: i64, state: ApprovalState, outcome: &str, now: &str) -> AppResult<()> {
    sqlx::query(
        "UPDATE approval_requests SET state = ?, outcome = ?, executed_at = ? WHERE id = ? AND state = 'executing'",
    )
    .bind(state.as_str())
    .bind(outcome)
    .bind(now)
    .bind(id)
    .execute(db)
    .await
    .map_err(db_error)?;
    Ok(())
}

/// Pending requests whose time is up: marked `expired`, their WorkSpaces freed.
pub async fn expire_due(db: &Db, now: &str) -> AppResult<Vec<Stored>> {
    let due: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM approval_requests WHERE state = 'pending' AND expires_at <= ?")
            .bind(now)
            .fetch_all(db)
            .await
            .map_err(db_error)?;
    let mut out = Vec::new();
    for id in due {
        if end_pending(db, id, ApprovalState::Expired, now).await? {
            let row = sqlx::query(&format!("SELECT {} FROM approval_requests WHERE id = ?", columns()))
                .bind(id)
                .fetch_one(db)
                .await
                .map_err(db_error)?;
            out.push(stored(&row));
        }
    }
    Ok(out)
}

/// At start-up: requests left executing by a previous run become `unknown` — never run again.
pub async fn recover(db: &Db, now: &str) -> AppResult<u64> {
    sqlx::query("UPDATE approval_requests SET state = 'unknown', executed_at = ? WHERE state = 'executing'")
        .bind(now)
        .execute(db)
        .await
        .map(|r| r.rows_affected())
        .map_err(db_error)
}

/// Records a break-glass action's post-review, once.
pub async fn post_review(db: &Db, id: i64, verdict: &str, reviewer: &str, comment: &str, now: &str) -> AppResult<bool> {
    sqlx::query(
        "UPDATE approval_requests SET post_review = ?, post_reviewer = ?, post_comment = ?, post_reviewed_at = ? \
         WHERE id = ? AND break_glass = 1 AND post_review = 'open'",
    )
    .bind(verdict)
    .bind(reviewer)
    .bind(comment)
    .bind(now)
    .bind(id)
    .execute(db)
    .await
    .map(|r| r.rows_affected() == 1)
    .map_err(db_error)
}

/// How the last notification about a request ended (`None`: posted).
pub async fn set_webhook_error(db: &Db, id: &ApprovalId, error: Option<&str>) -> AppResult<()> {
    sqlx::query("UPDATE approval_requests SET webhook_error = ? WHERE public_id = ?")
        .bind(error)
        .bind(id.as_str())
        .execute(db)
        .await
        .map(|_| ())
        .map_err(db_error)
}

/// The pending requests on these WorkSpaces.
pub async fn pending_for(db: &Db, ids: &[String]) -> AppResult<Vec<(String, String, String)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut qb = QueryBuilder::<Sqlite>::new(
        "SELECT p.workspace_id, p.action, r.public_id FROM approval_pending_targets p \
         JOIN approval_requests r ON r.id = p.request_id WHERE p.workspace_id IN (",
    );
    let mut list = qb.separated(", ");
    for id in ids {
        list.push_bind(id.clone());
    }
    qb.push(") ORDER BY p.workspace_id, p.action");
    qb.build_query_as().fetch_all(db).await.map_err(db_error)
}

/// The filters of a search, checked.
pub struct Search<'a> {
    pub query: &'a ApprovalQuery,
    pub me: &'a str,
    pub from: Option<String>,
    pub to: Option<String>,
    pub overdue_before: Option<String>,
}

/// Rows per page of the list.
pub const PAGE: i64 = 50;

/// One page of a search; the review tab runs oldest first, the others newest first.
pub async fn list(db: &Db, search: &Search<'_>) -> AppResult<(Vec<Stored>, Option<i64>)> {
    let q = search.query;
    let mut qb = QueryBuilder::<Sqlite>::new(format!("SELECT {} FROM approval_requests WHERE 1 = 1", columns()));
    push_filters(&mut qb, search);
    let ascending = q.tab == Tab::Review;
    if let Some(before) = q.before {
        qb.push(if ascending { " AND id > " } else { " AND id < " })
            .push_bind(before);
    }
    qb.push(if ascending {
        " ORDER BY id ASC LIMIT "
    } else {
        " ORDER BY id DESC LIMIT "
    })
    .push_bind(PAGE + 1);
    let rows = qb.build().fetch_all(db).await.map_err(db_error)?;
    let mut items: Vec<Stored> = rows.iter().map(stored).collect();
    let next = (items.len() as i64 > PAGE).then(|| {
        items.truncate(PAGE as usize);
        items.last().map(|r| r.id).unwrap_or_default()
    });
    Ok((items, next))
}

/// How many requests wait for `me` to review them (at most 100 are counted).
pub async fn count_to_review(db: &Db, me: &str) -> AppResult<i64> {
    let query = ApprovalQuery::default();
    let search = Search {
        query: &query,
        me,
        from: None,
        to: None,
        overdue_before: None,
    };
    let mut qb = QueryBuilder::<Sqlite>::new("SELECT COUNT(*) FROM (SELECT 1 FROM approval_requests WHERE 1 = 1");
    push_filters(&mut qb, &search);
    qb.push(" LIMIT 100)");
    qb.build_query_scalar().fetch_one(db).await.map_err(db_error)
}

fn push_filters(qb: &mut QueryBuilder<'_, Sqlite>, search: &Search<'_>) {
    let q = search.query;
    let me = search.me.to_lowercase();
    match q.tab {
        Tab::Review => {
            qb.push(" AND state = 'pending' AND lower(requester_name) != ")
                .push_bind(me.clone())
                .push(" AND NOT EXISTS (SELECT 1 FROM approval_reviews v WHERE v.request_id = approval_requests.id AND lower(v.reviewer_name) = ")
                .push_bind(me.clone())
                .push(") AND NOT EXISTS (SELECT 1 FROM approval_targets t WHERE t.request_id = approval_requests.id AND t.user_key = ")
                .push_bind(me.clone())
                .push(")");
        }
        Tab::Mine => {
            qb.push(" AND lower(requester_name) = ").push_bind(me.clone());
        }
        Tab::All => {}
    }
    if let Some(state) = q.state {
        qb.push(" AND state = ").push_bind(state.as_str());
    }
    if !q.requester.trim().is_empty() {
        qb.push(" AND lower(requester_name) = ")
            .push_bind(q.requester.trim().to_lowercase());
    }
    if !q.reviewer.trim().is_empty() {
        qb.push(" AND EXISTS (SELECT 1 FROM approval_reviews v WHERE v.request_id = approval_requests.id AND lower(v.reviewer_name) = ")
            .push_bind(q.reviewer.trim().to_lowercase())
            .push(")");
    }
    if !q.action.trim().is_empty() {
        qb.push(" AND action = ").push_bind(q.action.trim().to_string());
    }
    if !q.workspace.trim().is_empty() {
        qb.push(" AND id IN (SELECT request_id FROM approval_targets WHERE workspace_id = ")
            .push_bind(q.workspace.trim().to_string())
            .push(")");
    }
    if let Some(from) = &search.from {
        qb.push(" AND created_at >= ").push_bind(from.clone());
    }
    if let Some(to) = &search.to {
        qb.push(" AND created_at < ").push_bind(to.clone());
    }
    if let Some(before) = &search.overdue_before {
        qb.push(" AND break_glass = 1 AND post_review = 'open' AND created_at < ")
            .push_bind(before.clone());
    }
}
