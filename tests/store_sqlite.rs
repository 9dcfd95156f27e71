//! `SqliteStore` runs the store conformance suite on a temp file, plus
//! what a file database adds: sessions survive a restart.
#![cfg(feature = "sqlite")]

mod common;

use std::time::{Duration, Instant, SystemTime};

use common::sql::*;
use common::store_suite::{map_app, suite_key};
use common::{body_text, cookie_pair, get_with};
use tower_cookie_sessions::store::{Record, RecordKey, SessionStore, SqliteStore, StoreError};
use tower_cookie_sessions::{SessionLayer, SessionMap};

store_conformance!(sqlite_store_for_test());

async fn store() -> SqliteStore {
    sqlite_store_for_test()
        .await
        .expect("SQLite needs no server")
}

async fn rows(store: &SqliteStore) -> i64 {
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

#[tokio::test]
async fn connect_creates_the_file_in_wal_mode() {
    let path = sqlite_path_for_test();
    assert!(!path.exists());
    let store = SqliteStore::connect(&sqlite_url(&path))
        .await
        .expect("connect");
    run_then_tear_down(store, |store| async move {
        assert!(path.exists(), "{} created", path.display());
        let (mode,): (String,) = sqlx::query_as("PRAGMA journal_mode")
            .fetch_one(store.pool())
            .await
            .expect("journal mode");
        assert_eq!(mode, "wal");
    })
    .await;
}

#[tokio::test]
async fn migrate_is_idempotent() {
    run_then_tear_down(store().await, |store| async move {
        let key = RecordKey::for_session_id(b"kept");
        let record = Record::new(b"data".to_vec(), in_seconds(60));
        assert!(store.create(&key, &record).await.expect("create"));
        store.migrate().await.expect("second migrate");
        store.migrate().await.expect("third migrate");
        assert_eq!(store.load(&key).await.expect("load"), Some(record));
    })
    .await;
}

#[tokio::test]
async fn table_name_with_sql_is_refused() {
    run_then_tear_down(store().await, |store| async move {
        let error = store
            .clone()
            .with_table("x; drop table y")
            .expect_err("not an identifier");
        assert!(matches!(error, StoreError::Backend(_)));
        assert!(error.to_string().contains("invalid table name"), "{error}");
        assert!(store.clone().with_table("main.sessions2").is_ok());
    })
    .await;
}

#[tokio::test]
async fn schema_qualified_table_works() {
    let store = store().await;
    let qualified = store
        .clone()
        .with_table(&format!("main.{}", unique_name("tcs_test")))
        .expect("valid name");
    qualified.migrate().await.expect("migrate");
    qualified.migrate().await.expect("migrate again");
    run_then_tear_down(qualified, |store| async move {
        let key = RecordKey::for_session_id(b"qualified");
        let record = Record::new(b"data".to_vec(), in_seconds(60)).with_owner(Some("o".into()));
        assert!(store.create(&key, &record).await.expect("create"));
        assert_eq!(store.load(&key).await.expect("load"), Some(record));
        assert_eq!(store.delete_by_owner("o").await.expect("delete"), 1);
    })
    .await;
}

#[tokio::test]
async fn sessions_survive_a_restart() {
    let path = sqlite_path_for_test();
    let url = sqlite_url(&path);
    let first = SqliteStore::connect(&url).await.expect("connect");
    first.migrate().await.expect("migrate");
    let app = map_app(
        SessionLayer::<SessionMap>::new(suite_key())
            .expect("layer")
            .with_store(first.clone()),
    );
    let response = get_with(&app, "/set?key=user&value=ada", None).await;
    let cookie = cookie_pair(&response, "id").expect("a session cookie");
    drop(app);
    first.pool().close().await;

    let second = SqliteStore::connect(&url).await.expect("reopen");
    second.migrate().await.expect("migrate");
    run_then_tear_down(second, |second| async move {
        let app = map_app(
            SessionLayer::<SessionMap>::new(suite_key())
                .expect("layer")
                .with_store(second),
        );
        let response = get_with(&app, "/get?key=user", Some(&cookie)).await;
        assert_eq!(body_text(response).await, "ada");
    })
    .await;
}

#[tokio::test]
async fn cleanup_task_deletes_expired_rows_every_interval() {
    run_then_tear_down(store().await, |store| async move {
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
    run_then_tear_down(store().await, |store| async move {
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

#[tokio::test]
async fn debug_shows_the_table_only() {
    run_then_tear_down(store().await, |store| async move {
        let text = format!("{store:?}");
        assert_eq!(
            text,
            format!("SqliteStore {{ table: {:?}, .. }}", store.table())
        );
    })
    .await;
}
