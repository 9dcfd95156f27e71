//! `MySqlStore`: sessions in a MySQL or MariaDB table, through sqlx.

use std::future::Future;
use std::time::Duration;

use sqlx::MySqlPool;

use crate::store::sql::{self, Dialect, SqlTable};
use crate::store::{Breaker, StoreError};

/// Sessions in a MySQL or MariaDB table, shared by every instance of a
/// service.
///
/// One row per session, in the database the URL names (or in
/// `database.table`):
///
/// ```sql
/// CREATE TABLE IF NOT EXISTS `tcs_sessions` (
///     `key` VARBINARY(32) NOT NULL PRIMARY KEY,  -- SHA-256 of the session id
///     data LONGBLOB NOT NULL,                    -- opaque to the store
///     version BIGINT NOT NULL,                   -- compare-and-set
///     owner BLOB,                                -- for delete_by_owner
///     expires_at BIGINT NOT NULL,                -- unix milliseconds
///     INDEX `tcs_sessions_owner_idx` (owner(255)),
///     INDEX `tcs_sessions_expires_at_idx` (expires_at)
/// );
/// ```
///
/// [`migrate`](Self::migrate) creates it. `owner` is binary so that
/// [`delete_by_owner`](crate::store::OwnerIndex::delete_by_owner) matches
/// it byte for byte, never by a case- or space-insensitive collation.
/// MySQL has no `INSERT … ON CONFLICT … WHERE`, so
/// [`create`](crate::store::SessionStore::create) deletes the key's row if
/// it has expired, then inserts, and a live row makes the insert fail;
/// [`save`](crate::store::SessionStore::save) is one
/// `UPDATE … WHERE `key` = ? AND version = ?`. Expiry is judged by this
/// process's clock, not the server's. Expired rows are never returned;
/// delete them with [`cleanup_task`](Self::cleanup_task).
///
/// Clones share the pool and a circuit breaker ([`Breaker`]): a lost or
/// refused connection, or a pool with none to give, is
/// [`StoreError::Unreachable`]. sqlx is built here without TLS; enable one of
/// its `tls-*` features in your own `Cargo.toml` to reach a remote server
/// (without TLS, a `caching_sha2_password` account's password is sent
/// encrypted with whatever public key the server presents, see
/// SECURITY.md).
///
/// # Examples
///
/// ```no_run
/// use tower_cookie_sessions::store::MySqlStore;
/// use tower_cookie_sessions::{Key, SessionLayer};
///
/// # #[tokio::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let store = MySqlStore::connect("mysql://app@127.0.0.1/app").await?;
/// store.migrate().await?;
/// tokio::spawn(store.cleanup_task(std::time::Duration::from_secs(600)));
/// let layer = SessionLayer::<Vec<String>>::store_builder(Key::generate(), store).build()?;
/// # let _ = layer;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct MySqlStore {
    pool: MySqlPool,
    table: SqlTable,
    breaker: Breaker,
}

impl MySqlStore {
    /// A store using `pool` and the table `tcs_sessions`.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::store::MySqlStore;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), sqlx::Error> {
    /// // `connect_lazy` connects on first use, so this runs without a server.
    /// let pool = sqlx::MySqlPool::connect_lazy("mysql://app@127.0.0.1/app")?;
    /// let store = MySqlStore::new(pool);
    /// assert_eq!(store.table(), "tcs_sessions");
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn new(pool: MySqlPool) -> Self {
        Self {
            pool,
            table: SqlTable::default_for(Dialect::MySql),
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
    /// use tower_cookie_sessions::store::MySqlStore;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tower_cookie_sessions::store::StoreError> {
    /// let store = MySqlStore::connect("mysql://app@127.0.0.1:3306/app").await?;
    /// # let _ = store;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let pool = MySqlPool::connect(url).await.map_err(StoreError::backend)?;
        Ok(Self::new(pool))
    }

    /// Uses the table `name`, `table` or `database.table`, instead.
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
    /// use tower_cookie_sessions::store::MySqlStore;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let store = MySqlStore::new(sqlx::MySqlPool::connect_lazy("mysql://127.0.0.1/app")?);
    /// let store = store.with_table("auth.sessions")?;
    /// assert_eq!(store.table(), "auth.sessions");
    /// assert!(store.with_table("x; drop table y").is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_table(self, name: &str) -> Result<Self, StoreError> {
        Ok(Self {
            pool: self.pool,
            table: SqlTable::parse(name, Dialect::MySql)?,
            breaker: self.breaker,
        })
    }

    /// The table's name, as given to [`with_table`](Self::with_table).
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::store::MySqlStore;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let store = MySqlStore::new(sqlx::MySqlPool::connect_lazy("mysql://127.0.0.1/app")?);
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
    /// use tower_cookie_sessions::store::MySqlStore;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let store = MySqlStore::connect("mysql://app@127.0.0.1/app").await?;
    /// let (sessions,): (i64,) = sqlx::query_as("SELECT count(*) FROM tcs_sessions")
    ///     .fetch_one(store.pool())
    ///     .await?;
    /// # let _ = sessions;
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn pool(&self) -> &MySqlPool {
        &self.pool
    }

    /// Creates the table and its indexes if they do not exist; safe to run
    /// on every start, from several instances at once. The database of a
    /// `database.table` name must exist.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] when the server fails or refuses, for
    /// instance for lack of the `CREATE` privilege.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use tower_cookie_sessions::store::MySqlStore;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tower_cookie_sessions::store::StoreError> {
    /// let store = MySqlStore::connect("mysql://app@127.0.0.1/app").await?;
    /// store.migrate().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn migrate(&self) -> Result<(), StoreError> {
        // One statement, and DDL commits on its own in MySQL; concurrent
        // `CREATE TABLE IF NOT EXISTS` wait on the table's metadata lock,
        // so instances starting together need no lock of their own.
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
    /// ```no_run
    /// use std::time::Duration;
    /// use tower_cookie_sessions::store::MySqlStore;
    ///
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), tower_cookie_sessions::store::StoreError> {
    /// let store = MySqlStore::connect("mysql://app@127.0.0.1/app").await?;
    /// let cleanup = tokio::spawn(store.cleanup_task(Duration::from_secs(600)));
    /// // On shutdown:
    /// cleanup.abort();
    /// # Ok(())
    /// # }
    /// ```
    pub fn cleanup_task(&self, interval: Duration) -> impl Future<Output = ()> + Send + 'static {
        sql::cleanup_task(self.clone(), interval, "mysql")
    }
}

sql::impl_session_store!(MySqlStore);
