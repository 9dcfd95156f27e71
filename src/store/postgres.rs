//! `PostgresStore`: sessions in a PostgreSQL table, through sqlx.

use std::future::Future;
use std::time::Duration;

use sha2::{Digest, Sha256};
use sqlx::PgPool;

use crate::store::sql::{self, Dialect, SqlTable};
use crate::store::{Breaker, StoreError};

/// Sessions in a PostgreSQL table, shared by every instance of a service.
///
/// One row per session:
///
/// ```sql
/// CREATE TABLE IF NOT EXISTS "tcs_sessions" (
///     key BYTEA NOT NULL PRIMARY KEY,  -- SHA-256 of the session id
///     data BYTEA NOT NULL,             -- opaque to the store
///     version BIGINT NOT NULL,         -- compare-and-set
///     owner TEXT,                      -- indexed, for delete_by_owner
///     expires_at BIGINT NOT NULL       -- unix milliseconds, indexed
/// );
/// ```
///
/// [`migrate`](Self::migrate) creates it. Every write is one statement:
/// [`create`](crate::store::SessionStore::create) is `INSERT … ON CONFLICT` that replaces
/// only an expired row, [`save`](crate::store::SessionStore::save) is
/// `UPDATE … WHERE key = $1 AND version = $6`. Expiry is judged by this
/// process's clock. Expired rows are never returned; delete them with
/// [`cleanup_task`](Self::cleanup_task).
///
/// Clones share the pool and a circuit breaker ([`Breaker`]): a lost or
/// refused connection, or a pool with none to give, is
/// [`StoreError::Unreachable`]. sqlx is built here without TLS; enable one of
/// its `tls-*` features in your own `Cargo.toml` to reach a remote server.
///
/// # Examples
///
/// ```no_run
/// use tower_cookie_sessions::store::PostgresStore;
/// use tower_cookie_sessions::{Key, SessionLayer};
///
/// # #[tokio::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let store = PostgresStore::connect("postgres://app@127.0.0.1/app").await?;
/// store.migrate().await?;
/// tokio::spawn(store.cleanup_task(std::time::Duration::from_secs(600)));
/// let layer = SessionLayer::<Vec<String>>::store_builder(Key::generate(), store).build()?;
/// # let _ = layer;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
    table: SqlTable,
    breaker: Breaker,
}

impl PostgresStore {
    /// A store using `pool` and the table `tcs_sessions`.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::store::PostgresStore;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), sqlx::Error> {
    /// // `connect_lazy` connects on first use, so this runs without a server.
    /// let pool = sqlx::PgPool::connect_lazy("postgres://app@127.0.0.1/app")?;
    /// let store = PostgresStore::new(pool);
    /// assert_eq!(store.table(), "tcs_sessions");
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn new(pool: PgPool) -> Self {
        Self {
            pool,
            table: SqlTable::default_for(Dialect::Postgres),
            breaker: Breaker::new(),
        }
    }

    /// Connects a pool to the server at `url` (sqlx's default pool
    /// options) and uses the table `tcs_sessions`.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] when the URL is invalid or the server cannot
    /// be reached.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use tower_cookie_sessions::store::PostgresStore;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tower_cookie_sessions::store::StoreError> {
    /// let store = PostgresStore::connect("postgres://app@127.0.0.1:5432/app").await?;
    /// # let _ = store;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let pool = PgPool::connect(url).await.map_err(StoreError::backend)?;
        Ok(Self::new(pool))
    }

    /// Uses the table `name`, `table` or `schema.table`, instead.
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
    /// use tower_cookie_sessions::store::PostgresStore;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let store = PostgresStore::new(sqlx::PgPool::connect_lazy("postgres://127.0.0.1/app")?);
    /// let store = store.with_table("auth.sessions")?;
    /// assert_eq!(store.table(), "auth.sessions");
    /// assert!(store.with_table("x; drop table y").is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_table(self, name: &str) -> Result<Self, StoreError> {
        Ok(Self {
            pool: self.pool,
            table: SqlTable::parse(name, Dialect::Postgres)?,
            breaker: self.breaker,
        })
    }

    /// The table's name, as given to [`with_table`](Self::with_table).
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::store::PostgresStore;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let store = PostgresStore::new(sqlx::PgPool::connect_lazy("postgres://127.0.0.1/app")?);
    /// assert_eq!(store.table(), "tcs_sessions");
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn table(&self) -> &str {
        self.table.name()
    }

    /// The connection pool, for the application's own queries.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use tower_cookie_sessions::store::PostgresStore;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let store = PostgresStore::connect("postgres://app@127.0.0.1/app").await?;
    /// let (sessions,): (i64,) = sqlx::query_as("SELECT count(*) FROM tcs_sessions")
    ///     .fetch_one(store.pool())
    ///     .await?;
    /// # let _ = sessions;
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Creates the table and its indexes if they do not exist; safe to run
    /// on every start, from several instances at once (they take turns on
    /// an advisory lock). The schema of a `schema.table` name must exist.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] when the server fails or refuses, for
    /// instance for lack of the `CREATE` privilege.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use tower_cookie_sessions::store::PostgresStore;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tower_cookie_sessions::store::StoreError> {
    /// let store = PostgresStore::connect("postgres://app@127.0.0.1/app").await?;
    /// store.migrate().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn migrate(&self) -> Result<(), StoreError> {
        // Concurrent `CREATE TABLE IF NOT EXISTS` can still collide in the
        // catalog, so instances migrating the same table serialize.
        let digest = Sha256::digest(format!("tower-cookie-sessions:{}", self.table()));
        let lock = i64::from_be_bytes(digest[..8].try_into().expect("8 bytes"));
        let mut tx = self.pool.begin().await.map_err(StoreError::backend)?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(lock)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::backend)?;
        for statement in &self.table.queries.migrate {
            sql::bind(statement, &sql::Values::default())
                .execute(&mut *tx)
                .await
                .map_err(StoreError::backend)?;
        }
        tx.commit().await.map_err(StoreError::backend)
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
    /// ```no_run
    /// use std::time::Duration;
    /// use tower_cookie_sessions::store::PostgresStore;
    ///
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), tower_cookie_sessions::store::StoreError> {
    /// let store = PostgresStore::connect("postgres://app@127.0.0.1/app").await?;
    /// let cleanup = tokio::spawn(store.cleanup_task(Duration::from_secs(600)));
    /// // On shutdown:
    /// cleanup.abort();
    /// # Ok(())
    /// # }
    /// ```
    pub fn cleanup_task(&self, interval: Duration) -> impl Future<Output = ()> + Send + 'static {
        sql::cleanup_task(self.clone(), interval, "postgres")
    }
}

sql::impl_session_store!(PostgresStore);
