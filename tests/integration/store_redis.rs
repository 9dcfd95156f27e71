//! `RedisStore` on the machine's Redis (`REDIS_URL`) runs the store
//! conformance suite, plus checks of what it leaves in Redis.

use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::common::map_app::{map_app, session_id, suite_key, SuiteStore};
use crate::common::redis_server::{keys_under_prefix, redis_store_for_test};
use crate::common::{cookie_pair, get_with};
use tower_cookie_sessions::store::{
    OwnerIndex, Record, RecordKey, RedisStore, SessionStore, StoreError,
};
use tower_cookie_sessions::{SessionLayer, SessionMap};

tower_cookie_sessions::store_conformance!(
    redis_store_for_test(),
    owner_index,
    tear_down = crate::common::map_app::tear_down,
);

/// Runs `test` on a fresh store, then tears the store down even if the
/// test failed.
async fn with_store<F, Fut>(name: &str, test: F)
where
    F: FnOnce(RedisStore) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(store) = redis_store_for_test().await else {
        eprintln!("skipped {name}: no server configured");
        return;
    };
    let outcome = tokio::spawn(test(store.clone())).await;
    store.tear_down().await;
    if let Err(error) = outcome {
        std::panic::resume_unwind(error.into_panic());
    }
}

fn in_seconds(seconds: u64) -> SystemTime {
    SystemTime::now() + Duration::from_secs(seconds)
}

fn unix_ms(time: SystemTime) -> i64 {
    i64::try_from(
        time.duration_since(UNIX_EPOCH)
            .expect("after 1970")
            .as_millis(),
    )
    .expect("fits")
}

async fn query<T: redis::FromRedisValue>(store: &RedisStore, command: &mut redis::Cmd) -> T {
    command
        .query_async(&mut store.connection().clone())
        .await
        .expect("query")
}

fn record_key_name(store: &RedisStore, key: &RecordKey) -> String {
    format!("{}s:{}", store.prefix(), key.to_hex())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_live_under_the_prefix() {
    with_store("keys_live_under_the_prefix", |store| async move {
        let key = RecordKey::for_session_id(b"prefixed");
        let record = Record::new(b"x".to_vec(), in_seconds(60)).with_owner(Some("ada".into()));
        assert!(store.create(&key, &record).await.expect("create"));
        let expected = vec![
            format!("{}o:ada", store.prefix()),
            record_key_name(&store, &key),
        ];
        assert_eq!(keys_under_prefix(&store).await, expected);

        let other = store
            .clone()
            .with_prefix(format!("{}other:", store.prefix()));
        assert!(
            other.load(&key).await.expect("load").is_none(),
            "another prefix sees nothing"
        );
        assert!(other.create(&key, &record).await.expect("create"));
        assert_eq!(other.delete_by_owner("ada").await.expect("delete"), 1);
        assert!(store.load(&key).await.expect("load").is_some());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_expires_the_record_with_the_session() {
    with_store(
        "redis_expires_the_record_with_the_session",
        |store| async move {
            let key = RecordKey::for_session_id(b"ttl");
            let expires_at = in_seconds(600);
            let record = Record::new(b"x".to_vec(), expires_at).with_owner(Some("ada".into()));
            assert!(store.create(&key, &record).await.expect("create"));
            let name = record_key_name(&store, &key);
            let at: i64 = query(&store, redis::cmd("PEXPIRETIME").arg(&name)).await;
            assert_eq!(at, unix_ms(expires_at), "Redis expires it with the session");
            let fields: Vec<String> = query(&store, redis::cmd("HKEYS").arg(&name)).await;
            let mut fields = fields;
            fields.sort();
            assert_eq!(fields, ["data", "expires", "owner", "version"]);

            // The owner's index lives at least as long as the record.
            let index = format!("{}o:ada", store.prefix());
            let index_at: i64 = query(&store, redis::cmd("PEXPIRETIME").arg(&index)).await;
            assert_eq!(index_at, unix_ms(expires_at));

            // A touch moves both; the index never moves earlier.
            let later = in_seconds(3600);
            assert!(store.touch(&key, later).await.expect("touch"));
            let at: i64 = query(&store, redis::cmd("PEXPIRETIME").arg(&name)).await;
            let index_at: i64 = query(&store, redis::cmd("PEXPIRETIME").arg(&index)).await;
            assert_eq!((at, index_at), (unix_ms(later), unix_ms(later)));
            let short = Record::new(b"y".to_vec(), in_seconds(5)).with_owner(Some("ada".into()));
            assert!(store
                .create(&RecordKey::for_session_id(b"short"), &short)
                .await
                .expect("create"));
            let index_at: i64 = query(&store, redis::cmd("PEXPIRETIME").arg(&index)).await;
            assert_eq!(index_at, unix_ms(later));
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_layer_sets_the_record_ttl_to_the_session_expiry() {
    with_store(
        "the_layer_sets_the_record_ttl_to_the_session_expiry",
        |store| async move {
            let layer = SessionLayer::<SessionMap>::store_builder(suite_key(), store.clone())
                .expiry(tower_cookie_sessions::session::Expiry::Inactivity(
                    Duration::from_secs(900),
                ))
                .build()
                .expect("layer");
            let app = map_app(layer);
            let response = get_with(&app, "/set?key=a&value=1", None).await;
            let cookie = cookie_pair(&response, "id").expect("cookie");
            let key = RecordKey::for_session_id(&session_id(&cookie));
            let ttl: i64 = query(
                &store,
                redis::cmd("PTTL").arg(record_key_name(&store, &key)),
            )
            .await;
            assert!(
                (898_000..=900_000).contains(&ttl),
                "record TTL {ttl} ms for a 900 s session"
            );
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_with_a_past_expiry_is_deleted_by_redis() {
    with_store(
        "a_record_with_a_past_expiry_is_deleted_by_redis",
        |store| async move {
            let key = RecordKey::for_session_id(b"past");
            let past = Record::new(b"x".to_vec(), SystemTime::now() - Duration::from_secs(1))
                .with_owner(Some("ada".into()));
            let _ = store.create(&key, &past).await.expect("create");
            assert!(store.load(&key).await.expect("load").is_none());
            assert!(
                keys_under_prefix(&store).await.is_empty(),
                "neither the record nor a new owner index remains"
            );
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_fields_are_reported_as_corrupt() {
    with_store(
        "malformed_fields_are_reported_as_corrupt",
        |store| async move {
            let key = RecordKey::for_session_id(b"corrupt");
            assert!(store
                .create(&key, &Record::new(b"x".to_vec(), in_seconds(60)))
                .await
                .expect("create"));
            let name = record_key_name(&store, &key);
            let _: i64 = query(
                &store,
                redis::cmd("HSET").arg(&name).arg("version").arg("two"),
            )
            .await;
            let error = store.load(&key).await.expect_err("corrupt");
            assert!(matches!(error, StoreError::Corrupt(_)), "{error}");
            assert!(error.to_string().contains("version"), "{error}");
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_by_owner_skips_records_whose_owner_changed() {
    with_store(
        "delete_by_owner_skips_records_whose_owner_changed",
        |store| async move {
            let key = RecordKey::for_session_id(b"moved");
            let first = Record::new(b"x".to_vec(), in_seconds(60)).with_owner(Some("ada".into()));
            assert!(store.create(&key, &first).await.expect("create"));
            let second = Record::new(b"y".to_vec(), in_seconds(60))
                .with_owner(Some("bob".into()))
                .with_version(2);
            assert!(store.save(&key, &second, 1).await.expect("save"));
            assert_eq!(store.delete_by_owner("ada").await.expect("delete"), 0);
            assert!(store.load(&key).await.expect("load").is_some());
            let index = format!("{}o:ada", store.prefix());
            let exists: i64 = query(&store, redis::cmd("EXISTS").arg(&index)).await;
            assert_eq!(exists, 0, "the stale member is removed");

            let third = Record::new(b"z".to_vec(), in_seconds(60)).with_version(3);
            assert!(store.save(&key, &third, 2).await.expect("save"));
            let loaded = store.load(&key).await.expect("load").expect("record");
            assert_eq!(loaded.owner, None, "saving without an owner clears it");
            assert_eq!(store.delete_by_owner("bob").await.expect("delete"), 0);
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tear_down_leaves_nothing_behind() {
    let Some(store) = redis_store_for_test().await else {
        eprintln!("skipped tear_down_leaves_nothing_behind: no server configured");
        return;
    };
    for i in 0..20u8 {
        let record = Record::new(vec![i], in_seconds(60)).with_owner(Some(format!("u{}", i % 3)));
        assert!(store
            .create(&RecordKey::for_session_id(&[i]), &record)
            .await
            .expect("create"));
    }
    assert_eq!(keys_under_prefix(&store).await.len(), 23);
    store.tear_down().await;
    assert!(keys_under_prefix(&store).await.is_empty());
}

#[tokio::test]
async fn debug_shows_the_prefix_only() {
    let Some(store) = redis_store_for_test().await else {
        eprintln!("skipped debug_shows_the_prefix_only: no server configured");
        return;
    };
    let text = format!("{store:?}");
    assert_eq!(
        text,
        format!("RedisStore {{ prefix: {:?}, .. }}", store.prefix())
    );
}
