//! `SqliteStore`: sessions in an SQLite file, through sqlx.

use std::future::Future;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
use sqlx::SqlitePool;

use crate::store::sql::{self, Dialect, SqlTable};
use crate::store::{Breaker, StoreError};

/// How long a connection waits for another's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Sessions in an SQLite database file: the embedded choice for a service
/// on one machine whose sessions must survive restarts, with no server to
/// run.
///
/// One row per session:
///
/// ```sql
/// CREATE TABLE IF NOT EXISTS "tcs_sessions" (
///     key BLOB NOT NULL PRIMARY KEY,  -- SHA-256 of the session id
///     data BLOB NOT NULL,             -- opaque to the store
///     version INTEGER NOT NULL,       -- compare-and-set
///     owner TEXT,                     -- indexed, for delete_by_owner
///     expires_at INTEGER NOT NULL     -- unix milliseconds, indexed
/// );
/// ```
///
/// [`migrate`](Self::migrate) creates it. Every write is one statement, so
/// compare-and-set needs no transaction: [`create`](crate::store::SessionStore::create)
/// is `INSERT … ON CONFLICT` that replaces only an expired row,
/// [`save`](crate::store::SessionStore::save) is `UPDATE … WHERE key = $1 AND version =
/// $6`. Expired rows are never returned; delete them with
/// [`cleanup_task`](Self::cleanup_task).
///
/// Several processes may share the file (SQLite locks it), but not over a
/// network file system; for several machines use
/// [`PostgresStore`](crate::store::PostgresStore).
///
/// # Examples
///
/// ```no_run
/// use tower_cookie_sessions::store::SqliteStore;
/// use tower_cookie_sessions::{Key, SessionLayer};
///
/// # #[tokio::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // Relative to the working directory; `sqlite:///var/lib/app/sessions.db`
/// // for an absolute path.
/// let store = SqliteStore::connect("sqlite://sessions.db").await?;
/// store.migrate().await?;
/// tokio::spawn(store.cleanup_task(std::time::Duration::from_secs(600)));
/// let layer = SessionLayer::<Vec<String>>::store_builder(Key::generate(), store).build()?;
/// # let _ = layer;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    table: SqlTable,
    breaker: Breaker,
}

impl SqliteStore {
    /// A store using `pool` and the table `tcs_sessions`.
    ///
    /// Pools opened by [`connect`](Self::connect) use WAL journaling and a
    /// busy timeout; set both on a pool of your own, so readers do not
    /// block the writer and concurrent writers wait rather than fail.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::store::SqliteStore;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = sqlx::SqlitePool::connect("sqlite::memory:").await?;
    /// let store = SqliteStore::new(pool);
    /// store.migrate().await?;
    /// assert_eq!(store.table(), "tcs_sessions");
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn new(pool: SqlitePool) -> Self {
        Self {
            pool,
            table: SqlTable::default_for(Dialect::Sqlite),
            breaker: Breaker::new(),
        }
    }

    /// Opens the database at `url`, `sqlite://PATH` (relative to the working
    /// directory) or `sqlite:///ABSOLUTE/PATH`, creating the file if it is
    /// missing, in WAL mode with a 5-second busy timeout; uses the table
    /// `tcs_sessions`.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] when the URL is invalid or the file cannot be
    /// opened or created (its directory must exist).
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::store::SqliteStore;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let path = std::env::temp_dir().join(format!("tcs-doc-connect-{}.db", std::process::id()));
    /// let store = SqliteStore::connect(&format!("sqlite://{}", path.display())).await?;
    /// assert!(path.exists());
    /// # store.pool().close().await;
    /// # for suffix in ["", "-wal", "-shm"] {
    /// #     let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    /// # }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(StoreError::backend)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(BUSY_TIMEOUT);
        let pool = SqlitePool::connect_with(options)
            .await
            .map_err(StoreError::backend)?;
        Ok(Self::new(pool))
    }

    /// Uses the table `name`, `table` or `schema.table` (an attached
    /// database), instead.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] when a part of `name` is not ASCII letters,
    /// digits and underscores, starts with a digit, or the table part is
    /// longer than 48 bytes: the name is put into SQL, so nothing else is
    /// accepted.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::store::SqliteStore;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let store = SqliteStore::connect("sqlite::memory:").await?.with_table("web_sessions")?;
    /// assert_eq!(store.table(), "web_sessions");
    /// assert!(store.with_table("x; drop table y").is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_table(self, name: &str) -> Result<Self, StoreError> {
        Ok(Self {
            pool: self.pool,
            table: SqlTable::parse(name, Dialect::Sqlite)?,
            breaker: self.breaker,
        })
    }

    /// The table's name, as given to [`with_table`](Self::with_table).
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::store::SqliteStore;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let store = SqliteStore::connect("sqlite::memory:").await?;
    /// assert_eq!(store.table(), "tcs_sessions");
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn table(&self) -> &str {
        self.table.name()
    }

    /// The connection pool, for the application's own queries, or to
    /// close it on shutdown.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::store::SqliteStore;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let store = SqliteStore::connect("sqlite::memory:").await?;
    /// store.migrate().await?;
    /// let (sessions,): (i64,) = sqlx::query_as("SELECT count(*) FROM tcs_sessions")
    ///     .fetch_one(store.pool())
    ///     .await?;
    /// assert_eq!(sessions, 0);
    /// store.pool().close().await;
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Creates the table and its indexes if they do not exist; safe to run
    /// on every start.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] when SQLite fails, for instance on a
    /// read-only file.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::store::SqliteStore;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tower_cookie_sessions::store::StoreError> {
    /// let store = SqliteStore::connect("sqlite::memory:").await?;
    /// store.migrate().await?;
    /// store.migrate().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn migrate(&self) -> Result<(), StoreError> {
        for statement in &self.table.queries.migrate {
            self.rows_affected(statement, &sql::Values::default())
                .await?;
        }
        Ok(())
    }

    /// A future that deletes expired rows now and then every `interval`,
    /// forever; spawn it. Failures are logged (`tracing`, warn level) and
    /// retried at the next interval.
    ///
    /// # Panics
    ///
    /// If `interval` is zero.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_cookie_sessions::store::SqliteStore;
    ///
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), tower_cookie_sessions::store::StoreError> {
    /// let store = SqliteStore::connect("sqlite::memory:").await?;
    /// store.migrate().await?;
    /// let cleanup = tokio::spawn(store.cleanup_task(Duration::from_secs(600)));
    /// // On shutdown:
    /// cleanup.abort();
    /// # Ok(())
    /// # }
    /// ```
    pub fn cleanup_task(&self, interval: Duration) -> impl Future<Output = ()> + Send + 'static {
        sql::cleanup_task(self.clone(), interval, "sqlite")
    }
}

sql::impl_session_store!(SqliteStore);
