//! The users table: names (case-insensitive), argon2id password hashes, roles, the enabled
//! flag, and the session epoch that ends a user's sessions when it moves.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

use crate::audit::ssr::record;
use crate::error::{AppError, AppResult};
use crate::identity::{check_new_password, check_user_name, Role, UserRow};
use crate::ssr::db::Db;

/// A stored user, with what sign-in needs. Never leaves the server.
#[derive(Clone, Debug)]
pub struct StoredUser {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub enabled: bool,
    /// Sessions signed in under another epoch no longer work.
    pub epoch: i64,
    pub(super) password_hash: String,
}

/// The users in the portal's database.
#[derive(Clone)]
pub struct Users {
    db: Db,
}

/// argon2 needs ~19 MiB and a core for each password it checks: no more run at once than there
/// are cores, and no more than a few wait; the rest are told to try again.
struct Hashing {
    permits: tokio::sync::Semaphore,
    waiting: std::sync::atomic::AtomicUsize,
    most_waiting: usize,
}

static HASHING: std::sync::LazyLock<Hashing> = std::sync::LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    Hashing {
        permits: tokio::sync::Semaphore::new(cores),
        waiting: std::sync::atomic::AtomicUsize::new(0),
        most_waiting: 4 * cores,
    }
});

/// A turn at argon2, or `TooManyRequests` when too many wait already.
async fn hashing_turn() -> AppResult<tokio::sync::SemaphorePermit<'static>> {
    use std::sync::atomic::Ordering;
    let hashing = &*HASHING;
    if let Ok(permit) = hashing.permits.try_acquire() {
        return Ok(permit);
    }
    if hashing.waiting.fetch_add(1, Ordering::SeqCst) >= hashing.most_waiting {
        hashing.waiting.fetch_sub(1, Ordering::SeqCst);
        return Err(AppError::TooManyRequests {
            message: "the portal is busy checking passwords; try again in a moment".into(),
            retry_after: Some(1),
        });
    }
    let permit = hashing.permits.acquire().await;
    hashing.waiting.fetch_sub(1, Ordering::SeqCst);
    permit.map_err(|_| crate::ssr::internal("the password hashing semaphore is closed"))
}

/// Hashes a password with argon2id, off the async runtime's worker threads.
pub async fn hash_password(password: &str) -> AppResult<String> {
    let password = password.to_string();
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| crate::ssr::internal(format!("random salt: {e}")))?;
    let _turn = hashing_turn().await?;
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| crate::ssr::internal(format!("password hashing task: {e}")))?
    .map_err(|e| crate::ssr::internal(format!("password hashing: {e}")))
}

/// Whether `password` matches `hash` (argon2id, checked off the worker threads, in turn).
pub(super) async fn password_matches(hash: String, password: &str) -> AppResult<bool> {
    let password = password.to_string();
    let _turn = hashing_turn().await?;
    Ok(tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false))
}

pub(super) fn db_error(e: sqlx::Error) -> AppError {
    crate::ssr::internal(format!("users database: {e}"))
}

type UserColumns = (i64, String, String, String, bool, i64);

fn user_of(row: UserColumns) -> Option<StoredUser> {
    let (id, name, password_hash, role, enabled, epoch) = row;
    Some(StoredUser {
        id,
        name,
        role: Role::parse(&role).ok()?,
        enabled,
        epoch,
        password_hash,
    })
}

const USER_COLUMNS: &str = "id, name, password_hash, role, enabled, session_epoch";

impl Users {
    pub fn new(db: Db) -> Self {
        Users { db }
    }

    pub async fn count(&self) -> AppResult<i64> {
        sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&self.db)
            .await
            .map_err(db_error)
    }

    pub async fn find(&self, name: &str) -> AppResult<Option<StoredUser>> {
        let row: Option<UserColumns> = sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM users WHERE name_key = ?"))
            .bind(name.trim().to_lowercase())
            .fetch_optional(&self.db)
            .await
            .map_err(db_error)?;
        Ok(row.and_then(user_of))
    }

    pub(super) async fn by_id(&self, id: i64) -> AppResult<Option<StoredUser>> {
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
    pub async fn create(&self, name: &str, role: Role, password: &str) -> AppResult<StoredUser> {
        let name = check_user_name(name)?;
        check_new_password(password, "password")?;
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
            Ok(done) => Ok(StoredUser {
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
    pub async fn existing(&self, name: &str) -> AppResult<StoredUser> {
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
        check_new_password(password, "password")?;
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

    pub(super) async fn note_sign_in(&self, id: i64) -> AppResult<()> {
        sqlx::query("UPDATE users SET last_sign_in_at = ? WHERE id = ?")
            .bind(record::utc_now())
            .bind(id)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn passwords_are_hashed_with_argon2id_and_salted() {
        let a = hash_password("correct horse battery").await.unwrap();
        let b = hash_password("correct horse battery").await.unwrap();
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert_ne!(a, b, "each hash has its own salt");
        assert!(password_matches(a.clone(), "correct horse battery").await.unwrap());
        assert!(!password_matches(a, "correct horse batter").await.unwrap());
        assert!(!password_matches("not a hash".into(), "x").await.unwrap());
    }
}
