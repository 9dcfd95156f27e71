//! `PostgresStore` runs the store conformance suite against the server at
//! `DATABASE_URL`, each test on its own table, plus its own checks.
//! Without `DATABASE_URL` the server tests are skipped (a failure under
//! `CI=true`).
#![cfg(feature = "postgres")]

mod common;

use std::time::{Duration, Instant, SystemTime};

use common::sql::*;
use tower_cookie_sessions::store::{PostgresStore, Record, RecordKey, SessionStore, StoreError};

store_conformance!(postgres_store_for_test());

async fn rows(store: &PostgresStore) -> i64 {
    let (rows,): (i64,) =
        sqlx::query_as(&format!("SELECT count(*) FROM {}", quoted(store.table())))
            .fetch_one(store.pool())
            .await
            .expect("count rows");
    rows
}

/// Whole seconds from now: the store keeps milliseconds, so such a
/// record reads back equal.
fn in_seconds(seconds: u64) -> SystemTime {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("after the epoch");
    SystemTime::UNIX_EPOCH + Duration::from_secs(now.as_secs() + seconds)
}

fn expired() -> SystemTime {
    SystemTime::now() - Duration::from_secs(1)
}

/// A pool that connects on first use: for tests that need no server.
fn lazy_pool() -> sqlx::PgPool {
    sqlx::PgPool::connect_lazy("postgres://app:hunter2@127.0.0.1:1/none").expect("a valid URL")
}

#[tokio::test]
async fn table_name_with_sql_is_refused() {
    let store = PostgresStore::new(lazy_pool());
    let error = store
        .clone()
        .with_table("x; drop table y")
        .expect_err("not an identifier");
    assert!(matches!(error, StoreError::Backend(_)));
    assert!(error.to_string().contains("invalid table name"), "{error}");
    for bad in ["a.b.c", "t\"", "1t", "", "t--"] {
        assert!(store.clone().with_table(bad).is_err(), "{bad}");
    }
    assert!(store.with_table("auth.sessions").is_ok());
}

#[tokio::test]
async fn debug_shows_the_table_and_no_password() {
    let store = PostgresStore::new(lazy_pool());
    let text = format!("{store:?}");
    assert_eq!(text, r#"PostgresStore { table: "tcs_sessions", .. }"#);
}

#[tokio::test]
async fn connect_and_migrate_are_idempotent() {
    let Some(url) = database_url() else {
        return;
    };
    let store = PostgresStore::connect(&url)
        .await
        .expect("connect")
        .with_table(&unique_name("tcs_test"))
        .expect("valid name");
    store.migrate().await.expect("migrate");
    run_then_tear_down(store, |store| async move {
        let key = RecordKey::for_session_id(b"kept");
        let record = Record::new(b"data".to_vec(), in_seconds(60));
        assert!(store.create(&key, &record).await.expect("create"));
        store.migrate().await.expect("second migrate");
        // Instances starting together migrate at once.
        let (a, b) = tokio::join!(store.migrate(), store.migrate());
        a.expect("concurrent migrate");
        b.expect("concurrent migrate");
        assert_eq!(store.load(&key).await.expect("load"), Some(record));
    })
    .await;
}

#[tokio::test]
async fn schema_qualified_table_works() {
    let Some(pool) = postgres_pool_for_test().await else {
        return;
    };
    let store = PostgresStore::new(pool)
        .with_table(&format!("public.{}", unique_name("tcs_test")))
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

#[tokio::test]
async fn cleanup_task_deletes_expired_rows_every_interval() {
    let Some(store) = postgres_store_for_test().await else {
        return;
    };
    run_then_tear_down(store, |store| async move {
        let live = RecordKey::for_session_id(b"live");
        let record = Record::new(b"live".to_vec(), in_seconds(60));
        assert!(store.create(&live, &record).await.expect("create"));
        let dead = Record::new(b"dead".to_vec(), expired());
        let first = RecordKey::for_session_id(b"first");
        assert!(store.create(&first, &dead).await.expect("create expired"));
        assert_eq!(rows(&store).await, 2);

        let interval = Duration::from_millis(50);
        let cleanup = tokio::spawn(store.cleanup_task(interval));
        let wait_for_one_row = |what: &'static str| {
            let store = store.clone();
            async move {
                // One interval, with room for a loaded machine.
                let deadline = Instant::now() + interval * 40;
                while rows(&store).await > 1 {
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
    })
    .await;
}

#[tokio::test]
async fn versions_round_trip_through_i64() {
    let Some(store) = postgres_store_for_test().await else {
        return;
    };
    run_then_tear_down(store, |store| async move {
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

        let table = quoted(store.table());
        sqlx::query(&format!("UPDATE {table} SET version = -1"))
            .execute(store.pool())
            .await
            .expect("corrupt the row");
        let error = store.load(&key).await.expect_err("negative version");
        assert!(matches!(error, StoreError::Corrupt(_)), "{error}");
    })
    .await;
}
