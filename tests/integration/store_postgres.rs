//! `PostgresStore` runs the store conformance suite against the server at
//! `DATABASE_URL`, each test on its own table, plus its own checks.
//! Without `DATABASE_URL` the server tests are skipped (a failure under
//! `CI=true`).

use crate::common::sql::{self, *};
use tower_cookie_sessions::store::PostgresStore;

tower_cookie_sessions::store_conformance!(
    postgres_store_for_test(),
    owner_index,
    tear_down = crate::common::map_app::tear_down,
);

/// A pool that connects on first use: for tests that need no server.
fn lazy_pool() -> sqlx::PgPool {
    sqlx::PgPool::connect_lazy("postgres://app:hunter2@127.0.0.1:1/none").expect("a valid URL")
}

#[tokio::test]
async fn table_name_with_sql_is_refused() {
    let store = PostgresStore::new(lazy_pool());
    assert_sql_in_table_name_is_refused(&store);
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
    run_then_tear_down(store, sql::migrate_is_idempotent).await;
}

#[tokio::test]
async fn schema_qualified_table_works() {
    let Some(pool) = postgres_pool_for_test().await else {
        return;
    };
    sql::schema_qualified_table_works(PostgresStore::new(pool), "public").await;
}

#[tokio::test]
async fn cleanup_task_deletes_expired_rows_every_interval() {
    let Some(store) = postgres_store_for_test().await else {
        return;
    };
    run_then_tear_down(store, sql::cleanup_task_deletes_expired_rows_every_interval).await;
}

#[tokio::test]
async fn versions_round_trip_through_i64() {
    let Some(store) = postgres_store_for_test().await else {
        return;
    };
    run_then_tear_down(store, sql::versions_round_trip_through_i64).await;
}
