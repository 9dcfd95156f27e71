//! Stores for the SQL store tests, each on its own table (PostgreSQL) or
//! file (SQLite), so tests run in parallel and leave nothing behind.
//!
//! PostgreSQL is reached through `DATABASE_URL`. Unset, the tests are
//! skipped with a note, unless `CI=true`, where that fails the run; set but
//! unreachable fails the run always.

// Each test binary uses only one of them.
#[cfg(feature = "postgres")]
#[allow(unused_imports)]
pub use self::postgres::*;
#[cfg(feature = "sqlite")]
#[allow(unused_imports)]
pub use self::sqlite::*;

/// A name no other test uses: `{prefix}_{16 random hex digits}`.
pub fn unique_name(prefix: &str) -> String {
    format!("{prefix}_{:016x}", rand::random::<u64>())
}

/// `table` or `schema.table`, double-quoted for SQL.
pub fn quoted(table: &str) -> String {
    table
        .split('.')
        .map(|part| format!("\"{part}\""))
        .collect::<Vec<_>>()
        .join(".")
}

/// Runs `test` on a clone of `store` as a task, then tears the store down
/// whether the test passed or not, then passes its panic on.
pub async fn run_then_tear_down<S, F>(store: S, test: impl FnOnce(S) -> F)
where
    S: crate::common::store_suite::SuiteStore,
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let outcome = tokio::spawn(test(store.clone())).await;
    store.tear_down().await;
    if let Err(error) = outcome {
        std::panic::resume_unwind(error.into_panic());
    }
}

/// Writes to the real stderr: libtest captures `eprintln!` of passing
/// tests, and a skip must be seen.
pub fn note(text: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "{text}");
}

#[cfg(feature = "postgres")]
mod postgres {
    use std::sync::Once;
    use std::time::Duration;

    use sqlx::postgres::PgPoolOptions;
    use tower_cookie_sessions::store::PostgresStore;

    use super::{note, unique_name};
    use crate::common::store_suite::SuiteStore;

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
        let url = std::env::var("DATABASE_URL")
            .ok()
            .filter(|url| !url.is_empty());
        if url.is_none() {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("DATABASE_URL is not set: CI must run the PostgreSQL store tests");
            }
            SKIPPED.call_once(|| note("skipping PostgreSQL tests: DATABASE_URL is not set"));
        }
        url
    }

    impl SuiteStore for PostgresStore {
        async fn tear_down(&self) {
            let drop = format!("DROP TABLE IF EXISTS {}", super::quoted(self.table()));
            sqlx::query(&drop)
                .execute(self.pool())
                .await
                .expect("drop the test table");
            self.pool().close().await;
        }
    }
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use std::path::PathBuf;

    use tower_cookie_sessions::store::SqliteStore;

    use super::unique_name;
    use crate::common::store_suite::SuiteStore;

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

    impl SuiteStore for SqliteStore {
        async fn tear_down(&self) {
            let path = self.pool().connect_options().get_filename().to_owned();
            self.pool().close().await;
            remove_sqlite_files(&path);
        }
    }
}
