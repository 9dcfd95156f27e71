//! Stores for the SQL store tests, each on its own table (PostgreSQL,
//! MySQL) or file (SQLite), so tests run in parallel and leave nothing
//! behind.
//!
//! PostgreSQL is reached through `DATABASE_URL`, MySQL or MariaDB through
//! `MYSQL_URL`. Unset, the tests are skipped with a note, unless `CI=true`,
//! where that fails the run; set but unreachable fails the run always.
//!
//! The tests the stores share are written here once, against
//! [`SqlTestStore`]; each store's test file runs them under its own
//! `#[tokio::test]`s.

// Each test binary uses only one of them.
#[cfg(feature = "mysql")]
#[allow(unused_imports)]
pub use self::mysql::*;
#[cfg(feature = "postgres")]
#[allow(unused_imports)]
pub use self::postgres::*;
#[cfg(feature = "sqlite")]
#[allow(unused_imports)]
pub use self::sqlite::*;

// The tests the SQL stores share, and what they need of each store.
#[cfg(any(feature = "postgres", feature = "sqlite", feature = "mysql"))]
#[allow(unused_imports)]
pub use self::shared::*;

/// A name no other test uses: `{prefix}_{16 random hex digits}`.
pub fn unique_name(prefix: &str) -> String {
    format!("{prefix}_{:016x}", rand::random::<u64>())
}

/// `table` or `schema.table`, each part between `quote`s for SQL: `"`,
/// or `` ` `` for MySQL.
pub fn quoted(table: &str, quote: char) -> String {
    table
        .split('.')
        .map(|part| format!("{quote}{part}{quote}"))
        .collect::<Vec<_>>()
        .join(".")
}

/// The server URL in the environment variable `var`, or `None` (with a
/// note, once per `skipped`) when it is unset outside CI; under `CI=true`
/// an unset URL fails the test.
#[allow(dead_code)]
pub fn server_url(var: &str, server: &str, skipped: &std::sync::Once) -> Option<String> {
    let url = std::env::var(var).ok().filter(|url| !url.is_empty());
    if url.is_none() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("{var} is not set: CI must run the {server} store tests");
        }
        skipped.call_once(|| {
            crate::common::note(&format!("skipping {server} tests: {var} is not set"))
        });
    }
    url
}

/// Runs `test` on a clone of `store` as a task, then tears the store down
/// whether the test passed or not, then passes its panic on.
pub async fn run_then_tear_down<S, F>(store: S, test: impl FnOnce(S) -> F)
where
    S: crate::common::map_app::SuiteStore,
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let outcome = tokio::spawn(test(store.clone())).await;
    store.tear_down().await;
    if let Err(error) = outcome {
        std::panic::resume_unwind(error.into_panic());
    }
}

/// The tests the SQL stores share, written once against [`SqlTestStore`].
/// Each store's test file calls them from its own `#[tokio::test]`s; a
/// whole shared test from one of the same name.
#[cfg(any(feature = "postgres", feature = "sqlite", feature = "mysql"))]
mod shared {
    use std::future::Future;
    use std::time::{Duration, Instant, SystemTime};

    use tower_cookie_sessions::store::{Record, RecordKey, StoreError};

    use super::{run_then_tear_down, unique_name};
    use crate::common::map_app::SuiteStore;

    /// What the shared tests need that each SQL store does on its own
    /// pool (`PgPool`, `SqlitePool` or `MySqlPool`).
    pub trait SqlTestStore: SuiteStore + std::fmt::Debug {
        /// The store's table, as configured.
        fn table(&self) -> &str;

        /// The store's table, quoted for its SQL dialect.
        fn quoted_table(&self) -> String;

        /// The store's own `with_table`.
        fn with_table(self, name: &str) -> Result<Self, StoreError>;

        /// The store's own `migrate`.
        fn migrate(&self) -> impl Future<Output = Result<(), StoreError>> + Send;

        /// The store's own `cleanup_task`.
        fn cleanup_task(&self, interval: Duration) -> impl Future<Output = ()> + Send + 'static;

        /// How many rows the table holds, expired ones included.
        fn rows(&self) -> impl Future<Output = i64> + Send;

        /// Runs one raw SQL statement on the store's pool.
        fn execute(&self, sql: &str) -> impl Future<Output = sqlx::Result<()>> + Send;

        /// Closes the store's pool.
        fn close(&self) -> impl Future<Output = ()> + Send;
    }

    /// Whole seconds from now: the store keeps milliseconds, so such a
    /// record reads back equal.
    pub fn in_seconds(seconds: u64) -> SystemTime {
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .expect("after the epoch");
        SystemTime::UNIX_EPOCH + Duration::from_secs(now.as_secs() + seconds)
    }

    fn expired() -> SystemTime {
        SystemTime::now() - Duration::from_secs(1)
    }

    /// A table name that smuggles in SQL is refused. The store needs no
    /// server for this.
    pub fn assert_sql_in_table_name_is_refused<S: SqlTestStore>(store: &S) {
        let error = store
            .clone()
            .with_table("x; drop table y")
            .expect_err("not an identifier");
        assert!(matches!(error, StoreError::Backend(_)));
        assert!(error.to_string().contains("invalid table name"), "{error}");
        for bad in ["a.b.c", "t`", "t\"", "1t", "", "t--"] {
            assert!(store.clone().with_table(bad).is_err(), "{bad}");
        }
    }

    /// Migrating again, and twice at once (instances starting together),
    /// keeps the table and its records.
    pub async fn migrate_is_idempotent<S: SqlTestStore>(store: S) {
        let key = RecordKey::for_session_id(b"kept");
        let record = Record::new(b"data".to_vec(), in_seconds(60));
        assert!(store.create(&key, &record).await.expect("create"));
        store.migrate().await.expect("second migrate");
        let (a, b) = tokio::join!(store.migrate(), store.migrate());
        a.expect("concurrent migrate");
        b.expect("concurrent migrate");
        assert_eq!(store.load(&key).await.expect("load"), Some(record));
    }

    /// For a server's `tear_down`: drops the store's table and closes its
    /// pool.
    pub async fn drop_table_and_close<S: SqlTestStore>(store: &S) {
        let drop = format!("DROP TABLE IF EXISTS {}", store.quoted_table());
        store.execute(&drop).await.expect("drop the test table");
        store.close().await;
    }

    /// `store`'s pool, on a new table in `schema`: migrating it again is
    /// harmless, and records round-trip and are found by owner.
    pub async fn schema_qualified_table_works<S: SqlTestStore>(store: S, schema: &str) {
        let store = store
            .with_table(&format!("{schema}.{}", unique_name("tcs_test")))
            .expect("valid name");
        store.migrate().await.expect("migrate");
        run_then_tear_down(store, |store| async move {
            store.migrate().await.expect("migrate again");
            let key = RecordKey::for_session_id(b"qualified");
            let record = Record::new(b"data".to_vec(), in_seconds(60)).with_owner(Some("o".into()));
            assert!(store.create(&key, &record).await.expect("create"));
            assert_eq!(store.load(&key).await.expect("load"), Some(record));
            assert_eq!(store.delete_by_owner("o").await.expect("delete"), 1);
        })
        .await;
    }

    pub async fn cleanup_task_deletes_expired_rows_every_interval<S: SqlTestStore>(store: S) {
        let live = RecordKey::for_session_id(b"live");
        let record = Record::new(b"live".to_vec(), in_seconds(60));
        assert!(store.create(&live, &record).await.expect("create"));
        let dead = Record::new(b"dead".to_vec(), expired());
        let first = RecordKey::for_session_id(b"first");
        assert!(store.create(&first, &dead).await.expect("create expired"));
        assert_eq!(store.rows().await, 2);

        let interval = Duration::from_millis(50);
        let cleanup = tokio::spawn(store.cleanup_task(interval));
        let wait_for_one_row = |what: &'static str| {
            let store = store.clone();
            async move {
                // One interval, with room for a loaded machine.
                let deadline = Instant::now() + interval * 40;
                while store.rows().await > 1 {
                    assert!(Instant::now() < deadline, "{what} not deleted");
                    tokio::time::sleep(interval / 5).await;
                }
            }
        };
        wait_for_one_row("the first expired row").await;
        let second = RecordKey::for_session_id(b"second");
        assert!(store.create(&second, &dead).await.expect("create expired"));
        wait_for_one_row("an expired row inserted later").await;
        cleanup.abort();
        assert_eq!(store.load(&live).await.expect("load"), Some(record));
    }

    pub async fn versions_round_trip_through_i64<S: SqlTestStore>(store: S) {
        let key = RecordKey::for_session_id(b"version");
        let top = i64::MAX as u64;
        let record = Record::new(b"v".to_vec(), in_seconds(60)).with_version(top);
        assert!(store.create(&key, &record).await.expect("create"));
        assert_eq!(
            store
                .load(&key)
                .await
                .expect("load")
                .expect("record")
                .version,
            top
        );

        let past = record.clone().with_version(top + 1);
        let error = store.save(&key, &past, top).await.expect_err("no room");
        assert!(matches!(error, StoreError::Backend(_)), "{error}");
        assert!(!store.save(&key, &past, u64::MAX).await.expect("save"));
        let other = RecordKey::for_session_id(b"too-big");
        assert!(store.create(&other, &past).await.is_err());

        let table = store.quoted_table();
        store
            .execute(&format!("UPDATE {table} SET version = -1"))
            .await
            .expect("corrupt the row");
        let error = store.load(&key).await.expect_err("negative version");
        assert!(matches!(error, StoreError::Corrupt(_)), "{error}");
    }
}

/// Implements [`SqlTestStore`] for `$store`, whose SQL quotes identifiers
/// with `$quote`: the SQL stores spell these the same, each on its own
/// pool type.
#[cfg(any(feature = "postgres", feature = "sqlite", feature = "mysql"))]
macro_rules! impl_sql_test_store {
    ($store:ty, $quote:literal) => {
        impl $crate::common::sql::SqlTestStore for $store {
            fn table(&self) -> &str {
                <$store>::table(self)
            }

            fn quoted_table(&self) -> String {
                $crate::common::sql::quoted(<$store>::table(self), $quote)
            }

            fn with_table(
                self,
                name: &str,
            ) -> Result<Self, tower_cookie_sessions::store::StoreError> {
                <$store>::with_table(self, name)
            }

            fn migrate(
                &self,
            ) -> impl ::std::future::Future<
                Output = Result<(), tower_cookie_sessions::store::StoreError>,
            > + Send {
                <$store>::migrate(self)
            }

            fn cleanup_task(
                &self,
                interval: ::std::time::Duration,
            ) -> impl ::std::future::Future<Output = ()> + Send + 'static {
                <$store>::cleanup_task(self, interval)
            }

            async fn rows(&self) -> i64 {
                let count = format!(
                    "SELECT count(*) FROM {}",
                    $crate::common::sql::SqlTestStore::quoted_table(self)
                );
                sqlx::query_scalar(&count)
                    .fetch_one(self.pool())
                    .await
                    .expect("count rows")
            }

            async fn execute(&self, sql: &str) -> sqlx::Result<()> {
                sqlx::query(sql).execute(self.pool()).await.map(drop)
            }

            async fn close(&self) {
                self.pool().close().await;
            }
        }
    };
}

#[cfg(feature = "postgres")]
mod postgres {
    use std::sync::Once;
    use std::time::Duration;

    use sqlx::postgres::PgPoolOptions;
    use tower_cookie_sessions::store::PostgresStore;

    use super::unique_name;
    use crate::common::map_app::SuiteStore;

    /// A migrated `PostgresStore` on a fresh table, or `None` (with a note,
    /// once) when `DATABASE_URL` is unset outside CI.
    pub async fn postgres_store_for_test() -> Option<PostgresStore> {
        let pool = postgres_pool_for_test().await?;
        let store = PostgresStore::new(pool)
            .with_table(&unique_name("tcs_test"))
            .expect("a valid table name");
        store.migrate().await.expect("migrate the test table");
        Some(store)
    }

    /// A small pool on `DATABASE_URL`; `None` as for
    /// [`postgres_store_for_test`].
    pub async fn postgres_pool_for_test() -> Option<sqlx::PgPool> {
        let url = database_url()?;
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(10))
            .connect(&url)
            .await
            .unwrap_or_else(|error| panic!("DATABASE_URL is set but PostgreSQL refused: {error}"));
        Some(pool)
    }

    /// `DATABASE_URL`, or `None` (with a note, once) when it is unset
    /// outside CI.
    pub fn database_url() -> Option<String> {
        static SKIPPED: Once = Once::new();
        super::server_url("DATABASE_URL", "PostgreSQL", &SKIPPED)
    }

    impl_sql_test_store!(PostgresStore, '"');

    impl SuiteStore for PostgresStore {
        async fn tear_down(&self) {
            super::drop_table_and_close(self).await;
        }
    }
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use std::path::PathBuf;

    use tower_cookie_sessions::store::SqliteStore;

    use super::unique_name;
    use crate::common::map_app::SuiteStore;

    /// A migrated `SqliteStore` on a new file in the temp directory. Always
    /// `Some`: SQLite needs no server.
    pub async fn sqlite_store_for_test() -> Option<SqliteStore> {
        let store = SqliteStore::connect(&sqlite_url(&sqlite_path_for_test()))
            .await
            .expect("open a temp SQLite file");
        store.migrate().await.expect("migrate the test file");
        Some(store)
    }

    /// A path in the temp directory no other test uses; nothing is there.
    pub fn sqlite_path_for_test() -> PathBuf {
        std::env::temp_dir().join(format!("{}.sqlite3", unique_name("tcs-test")))
    }

    /// The `sqlite://` URL of `path`.
    pub fn sqlite_url(path: &std::path::Path) -> String {
        format!("sqlite://{}", path.display())
    }

    /// Removes the database at `path` and its WAL files.
    pub fn remove_sqlite_files(path: &std::path::Path) {
        for suffix in ["", "-wal", "-shm"] {
            let mut file = path.as_os_str().to_owned();
            file.push(suffix);
            match std::fs::remove_file(&file) {
                Ok(()) => {}
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => panic!("remove {}: {error}", PathBuf::from(file).display()),
            }
        }
    }

    impl_sql_test_store!(SqliteStore, '"');

    impl SuiteStore for SqliteStore {
        async fn tear_down(&self) {
            let path = self.pool().connect_options().get_filename().to_owned();
            self.pool().close().await;
            remove_sqlite_files(&path);
        }
    }
}

#[cfg(feature = "mysql")]
mod mysql {
    use std::sync::Once;
    use std::time::Duration;

    use sqlx::mysql::MySqlPoolOptions;
    use tower_cookie_sessions::store::MySqlStore;

    use super::unique_name;
    use crate::common::map_app::SuiteStore;

    /// A migrated `MySqlStore` on a fresh table, or `None` (with a note,
    /// once) when `MYSQL_URL` is unset outside CI.
    pub async fn mysql_store_for_test() -> Option<MySqlStore> {
        let pool = mysql_pool_for_test().await?;
        let store = MySqlStore::new(pool)
            .with_table(&unique_name("tcs_test"))
            .expect("a valid table name");
        store.migrate().await.expect("migrate the test table");
        Some(store)
    }

    /// A small pool on `MYSQL_URL`; `None` as for [`mysql_store_for_test`].
    pub async fn mysql_pool_for_test() -> Option<sqlx::MySqlPool> {
        let url = mysql_url()?;
        let pool = MySqlPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(10))
            .connect(&url)
            .await
            .unwrap_or_else(|error| panic!("MYSQL_URL is set but MySQL refused: {error}"));
        Some(pool)
    }

    /// `MYSQL_URL`, or `None` (with a note, once) when it is unset outside
    /// CI.
    pub fn mysql_url() -> Option<String> {
        static SKIPPED: Once = Once::new();
        super::server_url("MYSQL_URL", "MySQL", &SKIPPED)
    }

    impl_sql_test_store!(MySqlStore, '`');

    impl SuiteStore for MySqlStore {
        async fn tear_down(&self) {
            super::drop_table_and_close(self).await;
        }
    }
}
