//! The portal's database: SQLite by default, opened and migrated at start-up.
//!
//! Queries are plain SQL with bound parameters (no SQLite-only functions beyond `INSERT OR
//! IGNORE`/`OR REPLACE`), so that PostgreSQL can follow.

use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

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
    open_with(url, true, true).await
}

/// Opens (creating and migrating) the database for a command that runs beside the portal: no
/// planner statistics refresh (the portal does that), and a longer wait for the portal's writes.
pub async fn open_for_command(url: &str) -> Result<Db, sqlx::Error> {
    open_with(url, true, false).await
}

/// Opens a database that must exist already (for the command line's audit tools).
pub async fn open_existing(url: &str) -> Result<Db, sqlx::Error> {
    open_with(url, false, false).await
}

async fn open_with(url: &str, create: bool, portal: bool) -> Result<Db, sqlx::Error> {
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(create)
        // WAL: readers never wait for the writer. NORMAL sync: a committed transaction
        // survives the process being killed; only a power loss can undo the last ones.
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(if portal { 10 } else { 30 }))
        // A larger page cache (32 MiB) keeps index inserts off the disk on big audit logs.
        .pragma("cache_size", "-32768")
        .foreign_keys(true);
    let file = options.get_filename();
    if create && file != std::path::Path::new(":memory:") {
        if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
            private_dir(dir).map_err(sqlx::Error::Io)?;
        }
        private_file(file).map_err(sqlx::Error::Io)?;
    }
    // Migrate and refresh the query planner's statistics before the pool's connections load
    // them: without statistics, a compound filter can pick an index that scans the whole log.
    let mut first = SqliteConnection::connect_with(&options).await?;
    MIGRATOR.run(&mut first).await?;
    if portal {
        optimize(&mut first).await?;
    }
    first.close().await?;
    SqlitePoolOptions::new()
        .max_connections(8)
        .min_connections(1)
        .max_lifetime(Duration::from_secs(30 * 60))
        // A connection loads the planner's statistics when it opens, and does not see them
        // refreshed by another: one opened before the last refresh is replaced (a new fleet's
        // first sweep turns its pages from scans into index walks).
        .before_acquire(|_conn, meta| Box::pin(async move { Ok(!opened_before_statistics(meta.age)) }))
        .connect_with(options)
        .await
}

/// When the planner's statistics were last refreshed (milliseconds since `CLOCK_BASE`).
static STATISTICS_AT: AtomicU64 = AtomicU64::new(0);
static CLOCK_BASE: OnceLock<Instant> = OnceLock::new();

fn clock_ms() -> u64 {
    CLOCK_BASE.get_or_init(Instant::now).elapsed().as_millis() as u64
}

/// Whether a connection `age` old was opened before the statistics were last refreshed.
fn opened_before_statistics(age: Duration) -> bool {
    let opened = clock_ms().saturating_sub(age.as_millis() as u64);
    opened < STATISTICS_AT.load(Ordering::Relaxed)
}

/// Lets SQLite refresh the planner's statistics where the data changed enough (cheap when not);
/// the pool's other connections are then replaced as they are next used.
pub async fn optimize(conn: &mut SqliteConnection) -> Result<(), sqlx::Error> {
    sqlx::query("PRAGMA optimize=0x10002").execute(conn).await?;
    STATISTICS_AT.store(clock_ms(), Ordering::Relaxed);
    Ok(())
}

/// Checks that the database answers (for `/readyz`).
pub async fn ping(db: &Db) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT 1").execute(db).await.map(|_| ())
}

/// Creates a directory (and its parents) that only the portal's user can open (0700): the
/// database holds session IDs and password hashes, the key signs the audit log.
pub fn private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    if dir.exists() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Creates the database file, if missing, readable by the portal's user only (0600); SQLite
/// gives its -wal and -shm files the same permissions.
fn private_file(file: &std::path::Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(file) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    #[tokio::test]
    async fn the_data_directory_and_database_are_private() {
        let root = std::env::temp_dir().join(format!("portal-db-perms-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let file = root.join("data").join("portal.db");
        let db = super::open(&format!("sqlite://{}", file.display())).await.unwrap();
        sqlx::query("SELECT 1").execute(&db).await.unwrap();
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&root.join("data")), 0o700);
        assert_eq!(mode(&file), 0o600);
        let wal = root.join("data").join("portal.db-wal");
        if wal.exists() {
            assert_eq!(mode(&wal), 0o600);
        }
        let _ = std::fs::remove_dir_all(&root);
    }
}

#[cfg(test)]
mod statistics_tests {
    use super::*;

    #[test]
    fn a_connection_opened_before_the_statistics_were_refreshed_is_replaced() {
        clock_ms();
        std::thread::sleep(Duration::from_millis(5));
        STATISTICS_AT.store(clock_ms(), Ordering::Relaxed);
        std::thread::sleep(Duration::from_millis(5));
        assert!(!opened_before_statistics(Duration::ZERO), "opened now: kept");
        assert!(
            opened_before_statistics(Duration::from_secs(60)),
            "opened a minute ago: replaced"
        );
    }
}
