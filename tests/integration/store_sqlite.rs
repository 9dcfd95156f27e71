//! `SqliteStore` runs the store conformance suite on a temp file, plus
//! what a file database adds: sessions survive a restart.

use crate::common::map_app::{map_app, suite_key};
use crate::common::sql::{self, *};
use crate::common::{body_text, cookie_pair, get_with};
use tower_cookie_sessions::store::SqliteStore;
use tower_cookie_sessions::{SessionLayer, SessionMap};

tower_cookie_sessions::store_conformance!(
    sqlite_store_for_test(),
    owner_index,
    tear_down = crate::common::map_app::tear_down,
);

async fn store() -> SqliteStore {
    sqlite_store_for_test()
        .await
        .expect("SQLite needs no server")
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
    run_then_tear_down(store().await, sql::migrate_is_idempotent).await;
}

#[tokio::test]
async fn table_name_with_sql_is_refused() {
    run_then_tear_down(store().await, |store| async move {
        assert_sql_in_table_name_is_refused(&store);
        assert!(store.clone().with_table("main.sessions2").is_ok());
    })
    .await;
}

#[tokio::test]
async fn schema_qualified_table_works() {
    sql::schema_qualified_table_works(store().await, "main").await;
}

#[tokio::test]
async fn sessions_survive_a_restart() {
    let path = sqlite_path_for_test();
    let url = sqlite_url(&path);
    let first = SqliteStore::connect(&url).await.expect("connect");
    first.migrate().await.expect("migrate");
    let app = map_app(
        SessionLayer::<SessionMap>::store_builder(suite_key(), first.clone())
            .build()
            .expect("layer"),
    );
    let response = get_with(&app, "/set?key=user&value=ada", None).await;
    let cookie = cookie_pair(&response, "id").expect("a session cookie");
    drop(app);
    first.pool().close().await;

    let second = SqliteStore::connect(&url).await.expect("reopen");
    second.migrate().await.expect("migrate");
    run_then_tear_down(second, |second| async move {
        let app = map_app(
            SessionLayer::<SessionMap>::store_builder(suite_key(), second)
                .build()
                .expect("layer"),
        );
        let response = get_with(&app, "/get?key=user", Some(&cookie)).await;
        assert_eq!(body_text(response).await, "ada");
    })
    .await;
}

#[tokio::test]
async fn cleanup_task_deletes_expired_rows_every_interval() {
    run_then_tear_down(
        store().await,
        sql::cleanup_task_deletes_expired_rows_every_interval,
    )
    .await;
}

#[tokio::test]
async fn versions_round_trip_through_i64() {
    run_then_tear_down(store().await, sql::versions_round_trip_through_i64).await;
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
