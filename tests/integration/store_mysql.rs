//! `MySqlStore` runs the store conformance suite against the MySQL or
//! MariaDB server at `MYSQL_URL`, each test on its own table, plus its own
//! checks: what MySQL does differently (no `ON CONFLICT`, collations,
//! `BLOB` sizes) is where these look. Without `MYSQL_URL` the server tests
//! are skipped (a failure under `CI=true`).

use std::time::{Duration, SystemTime};

use crate::common::sql::{self, *};
use tower_cookie_sessions::store::{MySqlStore, OwnerIndex, Record, RecordKey, SessionStore};

tower_cookie_sessions::store_conformance!(
    mysql_store_for_test(),
    owner_index,
    tear_down = crate::common::map_app::tear_down,
);

/// A pool that connects on first use: for tests that need no server.
fn lazy_pool() -> sqlx::MySqlPool {
    sqlx::MySqlPool::connect_lazy("mysql://app:hunter2@127.0.0.1:1/none").expect("a valid URL")
}

#[tokio::test]
async fn table_name_with_sql_is_refused() {
    let store = MySqlStore::new(lazy_pool());
    assert_sql_in_table_name_is_refused(&store);
    assert!(store.with_table("auth.sessions").is_ok());
}

#[tokio::test]
async fn debug_shows_the_table_and_no_password() {
    let store = MySqlStore::new(lazy_pool());
    let text = format!("{store:?}");
    assert_eq!(text, r#"MySqlStore { table: "tcs_sessions", .. }"#);
}

#[tokio::test]
async fn connect_and_migrate_are_idempotent() {
    let Some(url) = mysql_url() else {
        return;
    };
    let store = MySqlStore::connect(&url)
        .await
        .expect("connect")
        .with_table(&unique_name("tcs_test"))
        .expect("valid name");
    store.migrate().await.expect("migrate");
    run_then_tear_down(store, sql::migrate_is_idempotent).await;
}

#[tokio::test]
async fn schema_qualified_table_works() {
    let Some(pool) = mysql_pool_for_test().await else {
        return;
    };
    // MySQL's schema is the database: the one the URL names.
    let database: String = sqlx::query_scalar("SELECT DATABASE()")
        .fetch_one(&pool)
        .await
        .expect("the URL names a database");
    sql::schema_qualified_table_works(MySqlStore::new(pool), &database).await;
}

#[tokio::test]
async fn cleanup_task_deletes_expired_rows_every_interval() {
    let Some(store) = mysql_store_for_test().await else {
        return;
    };
    run_then_tear_down(store, sql::cleanup_task_deletes_expired_rows_every_interval).await;
}

#[tokio::test]
async fn versions_round_trip_through_i64() {
    let Some(store) = mysql_store_for_test().await else {
        return;
    };
    run_then_tear_down(store, sql::versions_round_trip_through_i64).await;
}

#[tokio::test]
async fn delete_by_owner_compares_bytes_not_a_collation() {
    let Some(store) = mysql_store_for_test().await else {
        return;
    };
    run_then_tear_down(store, |store| async move {
        // A text column's default collation holds all of these equal to
        // "ada" but the last.
        let owners = ["ada", "Ada", "ada ", "ADA", "adá", "ädä"];
        for owner in owners {
            let key = RecordKey::for_session_id(owner.as_bytes());
            let record = Record::new(b"x".to_vec(), in_seconds(60)).with_owner(Some(owner.into()));
            assert!(store.create(&key, &record).await.expect("create"));
            assert_eq!(store.load(&key).await.expect("load"), Some(record));
        }
        assert_eq!(store.delete_by_owner("ada").await.expect("delete"), 1);
        assert_eq!(store.rows().await, owners.len() as i64 - 1);
        for owner in &owners[1..] {
            let key = RecordKey::for_session_id(owner.as_bytes());
            assert!(store.load(&key).await.expect("load").is_some(), "{owner:?}");
        }
    })
    .await;
}

#[tokio::test]
async fn records_past_a_blobs_64_kib_round_trip() {
    let Some(store) = mysql_store_for_test().await else {
        return;
    };
    run_then_tear_down(store, |store| async move {
        let key = RecordKey::for_session_id(b"large");
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let record = Record::new(data, in_seconds(60));
        assert!(store.create(&key, &record).await.expect("create"));
        assert_eq!(store.load(&key).await.expect("load"), Some(record));
    })
    .await;
}

#[tokio::test]
async fn racing_creates_of_one_key_have_one_winner() {
    let Some(store) = mysql_store_for_test().await else {
        return;
    };
    run_then_tear_down(store, |store| async move {
        // Round 0 races on an absent key, round 1 on the expired row round
        // 0 left: neither deadlocks (a DELETE that finds nothing takes a
        // gap lock) nor lets two requests both create a live session.
        let key = RecordKey::for_session_id(b"raced");
        for round in 0..2u8 {
            let creates = (0..8u8).map(|i| {
                let store = store.clone();
                tokio::spawn(async move {
                    let expires_at = if round == 0 {
                        SystemTime::now() - Duration::from_secs(1)
                    } else {
                        in_seconds(60)
                    };
                    store
                        .create(&key, &Record::new(vec![round, i], expires_at))
                        .await
                        .expect("create")
                })
            });
            let mut winners = 0;
            for create in creates.collect::<Vec<_>>() {
                winners += usize::from(create.await.expect("task"));
            }
            // Round 0 writes expired records, which a later create of the
            // round may replace again; round 1's first live one stays.
            if round == 0 {
                assert!(winners >= 1, "round 0: {winners}");
            } else {
                assert_eq!(winners, 1, "round 1");
            }
        }
    })
    .await;
}

#[tokio::test]
async fn expiry_is_judged_by_this_process_clock() {
    let Some(store) = mysql_store_for_test().await else {
        return;
    };
    run_then_tear_down(store, |store| async move {
        // The statements bind this process's time; the server's NOW()
        // never enters.
        let key = RecordKey::for_session_id(b"clock");
        let soon = SystemTime::now() + Duration::from_millis(400);
        let record = Record::new(b"x".to_vec(), soon);
        assert!(store.create(&key, &record).await.expect("create"));
        assert!(store.load(&key).await.expect("load").is_some());
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(store.load(&key).await.expect("load"), None);
        assert!(!store.touch(&key, in_seconds(60)).await.expect("touch"));
        assert_eq!(store.rows().await, 1, "expired, not yet deleted");
        let again = Record::new(b"y".to_vec(), in_seconds(60));
        assert!(store
            .create(&key, &again)
            .await
            .expect("replace the expired row"));
        assert_eq!(store.load(&key).await.expect("load"), Some(again));
    })
    .await;
}
