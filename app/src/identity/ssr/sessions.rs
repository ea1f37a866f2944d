//! Sessions: tower-sessions, stored in the portal's database. A session holds only a reference
//! to the user; every request reloads the user, so a role change applies at once and a disabled
//! user, or one whose password was reset, loses every live session.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use super::users::{db_error, StoredUser};
use super::{Identity, User};
use crate::error::AppResult;

/// The key under which the session holds [`SessionData`].
const SESSION_KEY: &str = "portal";
/// How often, at most, a session's last use is written back (its idle timer restarts then;
/// more often with idle timeouts under two minutes).
const SEEN_RESOLUTION: u64 = 60;

#[derive(Debug, Serialize, Deserialize)]
struct SessionData {
    user: i64,
    epoch: i64,
    /// Unix seconds.
    signed_in: u64,
    seen: u64,
    /// A random name for the session, for the audit log (never the session cookie's value).
    reference: String,
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Random bytes, hex-encoded (tokens, session references, nonces).
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).expect("the operating system's random source");
    hex::encode(buf)
}

impl Identity {
    /// The user of a session, if it is signed in, within its idle and absolute lifetimes, and
    /// the user is still enabled with the same password. Ends the session otherwise. When the
    /// session or the user cannot be read just now (the database is busy or away), the answer is
    /// `Unavailable` — the session is kept, not ended.
    pub async fn identify(&self, session: &Session) -> AppResult<Option<User>> {
        let unavailable = |e: &dyn std::fmt::Display| {
            tracing::warn!(error = %e, "the session could not be read");
            crate::error::AppError::Unavailable {
                message: "your session could not be checked just now; try again in a moment".into(),
            }
        };
        let mut data: SessionData = match session.get(SESSION_KEY).await {
            Ok(Some(data)) => data,
            Ok(None) => return Ok(None),
            Err(tower_sessions::session::Error::Store(e)) => return Err(unavailable(&e)),
            Err(e) => {
                tracing::warn!(error = %e, "unreadable session");
                return Ok(None);
            }
        };
        let now = unix_now();
        let idle = now.saturating_sub(data.seen) >= self.settings.idle_timeout.as_secs();
        let old = now.saturating_sub(data.signed_in) >= self.settings.lifetime.as_secs();
        let user = if idle || old {
            None
        } else {
            self.users.by_id(data.user).await.map_err(|e| unavailable(&e))?
        };
        let Some(user) = user.filter(|u| u.enabled && u.epoch == data.epoch) else {
            let _ = session.flush().await;
            return Ok(None);
        };
        let resolution = SEEN_RESOLUTION.min(self.settings.idle_timeout.as_secs() / 2);
        if now.saturating_sub(data.seen) >= resolution {
            data.seen = now;
            if let Err(e) = session.insert(SESSION_KEY, &data).await {
                tracing::warn!(error = %e, "could not refresh a session");
            }
        }
        Ok(Some(User {
            id: user.id,
            name: user.name,
            role: user.role,
            session_ref: data.reference,
        }))
    }

    /// Signs `user` in on `session`: a new session ID (no fixation), a new audit reference.
    pub(super) async fn start_session(&self, session: &Session, user: &StoredUser) -> AppResult<User> {
        session
            .cycle_id()
            .await
            .map_err(|e| crate::ssr::internal(format!("session: {e}")))?;
        let now = unix_now();
        let data = SessionData {
            user: user.id,
            epoch: user.epoch,
            signed_in: now,
            seen: now,
            reference: random_hex(8),
        };
        session
            .insert(SESSION_KEY, &data)
            .await
            .map_err(|e| crate::ssr::internal(format!("session: {e}")))?;
        self.users.note_sign_in(user.id).await?;
        Ok(User {
            id: user.id,
            name: user.name.clone(),
            role: user.role,
            session_ref: data.reference,
        })
    }

    /// Deletes the session from the store: its cookie is worthless from now on.
    pub(super) async fn end_session(&self, session: &Session) -> AppResult<()> {
        session
            .flush()
            .await
            .map_err(|e| crate::ssr::internal(format!("session: {e}")))
    }

    /// Deletes expired sessions from the store.
    pub async fn delete_expired_sessions(&self) -> AppResult<u64> {
        sqlx::query("DELETE FROM tower_sessions WHERE expiry_date < ?")
            .bind(unix_now() as i64)
            .execute(&self.db)
            .await
            .map(|r| r.rows_affected())
            .map_err(db_error)
    }
}
