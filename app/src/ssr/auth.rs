//! Users, passwords, sessions and sign-in throttling, on the server.
//!
//! A session (tower-sessions, stored in the portal's database) holds only a reference to the
//! user; every request reloads the user, so a role change applies at once and a disabled user,
//! or one whose password was reset, loses every live session.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use super::audit::record;
use super::db::Db;
use crate::auth::{Role, UserRow};
use crate::error::{AppError, AppResult};

/// The signed-in user of a request, put in the request's extensions by the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub user_id: i64,
    pub name: String,
    pub role: Role,
    /// A random name for the session, for the audit log (never the session cookie's value).
    pub session_ref: String,
}

#[derive(Clone, Debug)]
pub struct AuthSettings {
    /// A session unused for this long ends.
    pub idle_timeout: Duration,
    /// A session ends this long after sign-in, used or not.
    pub lifetime: Duration,
    /// Failed sign-ins for one account within `failure_window` before it is refused for a while.
    pub account_failures: usize,
    /// Failed sign-ins from one address within `failure_window` before it is refused.
    pub address_failures: usize,
    pub failure_window: Duration,
    /// Mark the session cookie Secure (HTTPS only).
    pub secure_cookies: bool,
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings {
            idle_timeout: Duration::from_secs(30 * 60),
            lifetime: Duration::from_secs(12 * 3600),
            account_failures: 5,
            address_failures: 20,
            failure_window: Duration::from_secs(15 * 60),
            secure_cookies: false,
        }
    }
}

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
    reference: String,
}

/// A stored user, with what sign-in needs.
#[derive(Clone, Debug)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub enabled: bool,
    epoch: i64,
    password_hash: String,
}

/// Why a sign-in failed. The user only ever sees the generic message.
#[derive(Debug)]
pub enum SignInFailure {
    /// Too many failures for the account or from the address: retry after this long.
    Throttled(Duration),
    /// Wrong name or password, or a disabled user. `user` is the stored user when the name
    /// exists (for the audit log), `reason` says which.
    Rejected { user: Option<User>, reason: &'static str },
}

pub struct Auth {
    db: Db,
    settings: AuthSettings,
    throttle: Mutex<Throttle>,
    /// Verified against when the name is unknown, so that an unknown name takes as long.
    dummy_hash: String,
    /// First run: the one-time token that lets the first administrator be created.
    setup_token: Mutex<Option<String>>,
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).expect("the operating system's random source");
    hex::encode(buf)
}

/// Hashes a password with argon2id, off the async runtime's worker threads.
pub async fn hash_password(password: &str) -> AppResult<String> {
    let password = password.to_string();
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| super::internal(format!("random salt: {e}")))?;
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| super::internal(format!("password hashing task: {e}")))?
    .map_err(|e| super::internal(format!("password hashing: {e}")))
}

async fn password_matches(hash: String, password: &str) -> bool {
    let password = password.to_string();
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

fn db_error(e: sqlx::Error) -> AppError {
    super::internal(format!("users database: {e}"))
}

type UserColumns = (i64, String, String, String, bool, i64);

fn user_of(row: UserColumns) -> Option<User> {
    let (id, name, password_hash, role, enabled, epoch) = row;
    Some(User {
        id,
        name,
        role: Role::parse(&role).ok()?,
        enabled,
        epoch,
        password_hash,
    })
}

const USER_COLUMNS: &str = "id, name, password_hash, role, enabled, session_epoch";

impl Auth {
    pub async fn new(db: Db, settings: AuthSettings) -> AppResult<Self> {
        let dummy_hash = hash_password(&random_hex(16)).await?;
        Ok(Auth {
            db,
            settings,
            throttle: Mutex::new(Throttle::default()),
            dummy_hash,
            setup_token: Mutex::new(None),
        })
    }

    pub fn settings(&self) -> &AuthSettings {
        &self.settings
    }

    /// On a first run (no user at all), makes the one-time setup token; `None` otherwise.
    pub async fn first_run_token(&self) -> AppResult<Option<String>> {
        if self.count().await? > 0 {
            return Ok(None);
        }
        let token = random_hex(24);
        *self.setup_token.lock().unwrap_or_else(|e| e.into_inner()) = Some(token.clone());
        Ok(Some(token))
    }

    /// Whether `token` is the live setup token (compared in constant time).
    pub fn setup_token_matches(&self, token: &str) -> bool {
        let live = self.setup_token.lock().unwrap_or_else(|e| e.into_inner());
        match live.as_deref() {
            Some(live) if live.len() == token.len() => {
                live.bytes().zip(token.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
            }
            _ => false,
        }
    }

    /// Takes the setup token if `token` is it and still no user exists (one may have been
    /// added with the command line since start-up): only one setup can use it.
    pub async fn take_setup_token(&self, token: &str) -> AppResult<bool> {
        if !self.setup_pending().await? || !self.setup_token_matches(token) {
            return Ok(false);
        }
        Ok(self
            .setup_token
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .is_some())
    }

    /// Puts the token back after a setup that failed (a bad name, say).
    pub fn restore_setup_token(&self, token: &str) {
        *self.setup_token.lock().unwrap_or_else(|e| e.into_inner()) = Some(token.to_string());
    }

    /// Whether the portal still waits for its first user. The token is dropped as soon as a
    /// user exists, however that user was made.
    pub async fn setup_pending(&self) -> AppResult<bool> {
        if self.setup_token.lock().unwrap_or_else(|e| e.into_inner()).is_none() {
            return Ok(false);
        }
        if self.count().await? > 0 {
            *self.setup_token.lock().unwrap_or_else(|e| e.into_inner()) = None;
            return Ok(false);
        }
        Ok(true)
    }

    // -----------------------------------------------------------------------------------------
    // Sessions

    /// The user of a session, if it is signed in, within its idle and absolute lifetimes, and
    /// the user is still enabled with the same password. Ends the session otherwise.
    pub async fn identify(&self, session: &Session) -> Option<Identity> {
        let mut data: SessionData = match session.get(SESSION_KEY).await {
            Ok(Some(data)) => data,
            Ok(None) => return None,
            Err(e) => {
                tracing::warn!(error = %e, "unreadable session");
                return None;
            }
        };
        let now = unix_now();
        let idle = now.saturating_sub(data.seen) >= self.settings.idle_timeout.as_secs();
        let old = now.saturating_sub(data.signed_in) >= self.settings.lifetime.as_secs();
        let user = if idle || old {
            None
        } else {
            self.user_by_id(data.user).await.ok().flatten()
        };
        let Some(user) = user.filter(|u| u.enabled && u.epoch == data.epoch) else {
            let _ = session.flush().await;
            return None;
        };
        let resolution = SEEN_RESOLUTION.min(self.settings.idle_timeout.as_secs() / 2);
        if now.saturating_sub(data.seen) >= resolution {
            data.seen = now;
            if let Err(e) = session.insert(SESSION_KEY, &data).await {
                tracing::warn!(error = %e, "could not refresh a session");
            }
        }
        Some(Identity {
            user_id: user.id,
            name: user.name,
            role: user.role,
            session_ref: data.reference,
        })
    }

    /// Checks a name and password, with throttling and the same work whether the name exists.
    pub async fn check_password(&self, name: &str, password: &str, address: &str) -> Result<User, SignInFailure> {
        let account = format!("account:{}", name.trim().to_lowercase());
        let from = format!("address:{address}");
        let limits = [
            (account.as_str(), self.settings.account_failures),
            (from.as_str(), self.settings.address_failures),
        ];
        if let Some(wait) = self.throttle().retry_after(&limits, self.settings.failure_window) {
            return Err(SignInFailure::Throttled(wait));
        }
        let user = self.find(name).await.ok().flatten();
        let hash = user
            .as_ref()
            .map(|u| u.password_hash.clone())
            .unwrap_or_else(|| self.dummy_hash.clone());
        let matches = password.len() <= 4 * crate::auth::MAX_PASSWORD && password_matches(hash, password).await;
        let failure = match &user {
            None => Some("no such user"),
            Some(_) if !matches => Some("wrong password"),
            Some(u) if !u.enabled => Some("user is disabled"),
            Some(_) => None,
        };
        match failure {
            None => {
                self.throttle().clear(&account);
                Ok(user.expect("a user when nothing failed"))
            }
            Some(reason) => {
                self.throttle()
                    .fail(&[account.as_str(), from.as_str()], self.settings.failure_window);
                Err(SignInFailure::Rejected { user, reason })
            }
        }
    }

    fn throttle(&self) -> std::sync::MutexGuard<'_, Throttle> {
        self.throttle.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Signs `user` in on `session`: a new session ID (no fixation), a new audit reference.
    pub async fn start_session(&self, session: &Session, user: &User) -> AppResult<Identity> {
        session
            .cycle_id()
            .await
            .map_err(|e| super::internal(format!("session: {e}")))?;
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
            .map_err(|e| super::internal(format!("session: {e}")))?;
        sqlx::query("UPDATE users SET last_sign_in_at = ? WHERE id = ?")
            .bind(record::utc_now())
            .bind(user.id)
            .execute(&self.db)
            .await
            .map_err(db_error)?;
        Ok(Identity {
            user_id: user.id,
            name: user.name.clone(),
            role: user.role,
            session_ref: data.reference,
        })
    }

    /// Deletes the session from the store: its cookie is worthless from now on.
    pub async fn end_session(&self, session: &Session) -> AppResult<()> {
        session
            .flush()
            .await
            .map_err(|e| super::internal(format!("session: {e}")))
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

    // -----------------------------------------------------------------------------------------
    // Users

    pub async fn count(&self) -> AppResult<i64> {
        sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&self.db)
            .await
            .map_err(db_error)
    }

    pub async fn find(&self, name: &str) -> AppResult<Option<User>> {
        let row: Option<UserColumns> = sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM users WHERE name_key = ?"))
            .bind(name.trim().to_lowercase())
            .fetch_optional(&self.db)
            .await
            .map_err(db_error)?;
        Ok(row.and_then(user_of))
    }

    async fn user_by_id(&self, id: i64) -> AppResult<Option<User>> {
        let row: Option<UserColumns> = sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?"))
            .bind(id)
            .fetch_optional(&self.db)
            .await
            .map_err(db_error)?;
        Ok(row.and_then(user_of))
    }

    pub async fn list(&self) -> AppResult<Vec<UserRow>> {
        let rows: Vec<(String, String, bool, String, Option<String>)> =
            sqlx::query_as("SELECT name, role, enabled, created_at, last_sign_in_at FROM users ORDER BY name_key")
                .fetch_all(&self.db)
                .await
                .map_err(db_error)?;
        Ok(rows
            .into_iter()
            .filter_map(|(name, role, enabled, created_at, last_sign_in_at)| {
                Some(UserRow {
                    name,
                    role: Role::parse(&role).ok()?,
                    enabled,
                    created_at,
                    last_sign_in_at,
                })
            })
            .collect())
    }

    /// Adds a user. The name and password are checked first, with the field at fault.
    pub async fn create(&self, name: &str, role: Role, password: &str) -> AppResult<User> {
        let name = crate::auth::check_user_name(name)?;
        crate::auth::check_new_password(password, "password")?;
        let hash = hash_password(password).await?;
        let inserted = sqlx::query(
            "INSERT INTO users (name, name_key, password_hash, role, enabled, session_epoch, created_at) \
             VALUES (?, ?, ?, ?, 1, 0, ?)",
        )
        .bind(&name)
        .bind(name.to_lowercase())
        .bind(&hash)
        .bind(role.as_str())
        .bind(record::utc_now())
        .execute(&self.db)
        .await;
        match inserted {
            Ok(done) => Ok(User {
                id: done.last_insert_rowid(),
                name,
                role,
                enabled: true,
                epoch: 0,
                password_hash: hash,
            }),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(AppError::validation(
                "name",
                format!("a user named '{name}' exists already"),
            )),
            Err(e) => Err(db_error(e)),
        }
    }

    /// The stored user called `name`, or a `NotFound` naming it.
    pub async fn existing(&self, name: &str) -> AppResult<User> {
        self.find(name).await?.ok_or_else(|| AppError::NotFound {
            message: format!("no user named '{}'", name.trim()),
        })
    }

    pub async fn set_role(&self, name: &str, role: Role) -> AppResult<()> {
        let user = self.existing(name).await?;
        self.change_keeping_an_admin(
            sqlx::query("UPDATE users SET role = ? WHERE id = ?")
                .bind(role.as_str())
                .bind(user.id),
        )
        .await
    }

    /// Disabling ends every session of the user at once.
    pub async fn set_enabled(&self, name: &str, enabled: bool) -> AppResult<()> {
        let user = self.existing(name).await?;
        self.change_keeping_an_admin(
            sqlx::query("UPDATE users SET enabled = ?, session_epoch = session_epoch + ? WHERE id = ?")
                .bind(enabled)
                .bind(i64::from(!enabled))
                .bind(user.id),
        )
        .await
    }

    /// A new password ends every session of the user signed in with the old one.
    pub async fn set_password(&self, name: &str, password: &str) -> AppResult<()> {
        crate::auth::check_new_password(password, "password")?;
        let user = self.existing(name).await?;
        let hash = hash_password(password).await?;
        sqlx::query("UPDATE users SET password_hash = ?, session_epoch = session_epoch + 1 WHERE id = ?")
            .bind(hash)
            .bind(user.id)
            .execute(&self.db)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    /// Runs a change, and undoes it if it would leave no enabled administrator.
    async fn change_keeping_an_admin<'a>(
        &self,
        change: sqlx::query::Query<'a, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'a>>,
    ) -> AppResult<()> {
        const ADMINS: &str = "SELECT COUNT(*) FROM users WHERE role = 'admin' AND enabled = 1";
        let mut tx = self.db.begin().await.map_err(db_error)?;
        let before: i64 = sqlx::query_scalar(ADMINS).fetch_one(&mut *tx).await.map_err(db_error)?;
        change.execute(&mut *tx).await.map_err(db_error)?;
        let after: i64 = sqlx::query_scalar(ADMINS).fetch_one(&mut *tx).await.map_err(db_error)?;
        if before > 0 && after == 0 {
            return Err(AppError::Conflict {
                message: "at least one enabled admin must remain; make another user admin first".into(),
            });
        }
        tx.commit().await.map_err(db_error)
    }
}

/// Recent sign-in failures per account and per client address.
#[derive(Default)]
struct Throttle {
    failures: HashMap<String, Vec<Instant>>,
}

impl Throttle {
    /// How long until a sign-in may be tried again, if any key is over its limit.
    fn retry_after(&mut self, limits: &[(&str, usize)], window: Duration) -> Option<Duration> {
        let now = Instant::now();
        let mut wait = None;
        for (key, limit) in limits {
            let Some(times) = self.failures.get_mut(*key) else {
                continue;
            };
            times.retain(|t| now.duration_since(*t) < window);
            if *limit > 0 && times.len() >= *limit {
                let oldest_counted = times[times.len() - limit];
                let left = window.saturating_sub(now.duration_since(oldest_counted));
                wait = Some(wait.map_or(left, |w: Duration| w.max(left)));
            }
        }
        wait
    }

    fn fail(&mut self, keys: &[&str], window: Duration) {
        let now = Instant::now();
        if self.failures.len() > 100_000 {
            self.failures
                .retain(|_, times| times.last().is_some_and(|t| now.duration_since(*t) < window));
        }
        for key in keys {
            self.failures.entry(key.to_string()).or_default().push(now);
        }
    }

    fn clear(&mut self, key: &str) {
        self.failures.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_throttle_counts_failures_within_the_window_per_key() {
        let mut t = Throttle::default();
        let window = Duration::from_secs(60);
        let limits = [("account:a", 3), ("address:1", 5)];
        for _ in 0..2 {
            t.fail(&["account:a", "address:1"], window);
        }
        assert_eq!(t.retry_after(&limits, window), None);
        t.fail(&["account:a", "address:1"], window);
        let wait = t.retry_after(&limits, window).expect("locked after 3 failures");
        assert!(wait > Duration::from_secs(55) && wait <= window, "{wait:?}");
        // Another account from another address is not affected.
        assert_eq!(t.retry_after(&[("account:b", 3), ("address:2", 5)], window), None);
        // A success clears the account, but the address keeps its count.
        t.clear("account:a");
        assert_eq!(t.retry_after(&limits, window), None);
        t.fail(&["account:c", "address:1"], window);
        t.fail(&["account:d", "address:1"], window);
        assert!(t.retry_after(&[("account:e", 3), ("address:1", 5)], window).is_some());
        // Failures older than the window no longer count.
        assert_eq!(t.retry_after(&limits, Duration::ZERO), None);
    }

    #[tokio::test]
    async fn passwords_are_hashed_with_argon2id_and_salted() {
        let a = hash_password("correct horse battery").await.unwrap();
        let b = hash_password("correct horse battery").await.unwrap();
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert_ne!(a, b, "each hash has its own salt");
        assert!(password_matches(a.clone(), "correct horse battery").await);
        assert!(!password_matches(a, "correct horse batter").await);
        assert!(!password_matches("not a hash".into(), "x").await);
    }
}
