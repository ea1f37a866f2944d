//! The portal's database: SQLite by default, opened and migrated at start-up.
//!
//! Queries are plain SQL with bound parameters (no SQLite-only functions beyond `INSERT OR
//! IGNORE`/`OR REPLACE`), so that PostgreSQL can follow.

use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::Connection;

pub type Db = sqlx::SqlitePool;

/// The schema: every file in `migrations/`, compiled into the binary (`app/build.rs` makes a
/// new file rebuild it).
pub static MIGRATOR: Migrator = sqlx::migrate!("../migrations");

/// Opens (creating the file and its directory if needed) and migrates the database at `url`,
/// e.g. `sqlite://data/portal.db`.
pub async fn open(url: &str) -> Result<Db, sqlx::Error> {
    open_with(url, true).await
}

/// Opens a database that must exist already (for the command line's audit tools).
pub async fn open_existing(url: &str) -> Result<Db, sqlx::Error> {
    open_with(url, false).await
}

async fn open_with(url: &str, create: bool) -> Result<Db, sqlx::Error> {
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(create)
        // WAL: readers never wait for the writer. NORMAL sync: a committed transaction
        // survives the process being killed; only a power loss can undo the last ones.
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(10))
        // A larger page cache (32 MiB) keeps index inserts off the disk on big audit logs.
        .pragma("cache_size", "-32768")
        .foreign_keys(true);
    let file = options.get_filename();
    if create && file != std::path::Path::new(":memory:") {
        if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(sqlx::Error::Io)?;
        }
    }
    // Migrate and refresh the query planner's statistics before the pool's connections load
    // them: without statistics, a compound filter can pick an index that scans the whole log.
    let mut first = SqliteConnection::connect_with(&options).await?;
    MIGRATOR.run(&mut first).await?;
    optimize(&mut first).await?;
    first.close().await?;
    SqlitePoolOptions::new()
        .max_connections(8)
        .min_connections(1)
        // Recycled connections pick up statistics refreshed since.
        .max_lifetime(Duration::from_secs(30 * 60))
        .connect_with(options)
        .await
}

/// Lets SQLite refresh the planner's statistics where the data changed enough (cheap when not).
pub async fn optimize(conn: &mut SqliteConnection) -> Result<(), sqlx::Error> {
    sqlx::query("PRAGMA optimize=0x10002").execute(conn).await.map(|_| ())
}

/// Checks that the database answers (for `/readyz`).
pub async fn ping(db: &Db) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT 1").execute(db).await.map(|_| ())
}
