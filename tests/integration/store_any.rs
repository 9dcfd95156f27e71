//! `AnyStore` and `connect`: any store behind one type, picked by URL,
//! forwarding faithfully what the store inside can and cannot do.

use std::future::Future;
use std::time::{Duration, SystemTime};

use axum::routing::{get, post};
use axum::Router;
use tower_cookie_sessions::store::{
    connect, AnyStore, ConnectError, MemoryStore, OwnerIndex, Record, RecordKey, SessionStore,
    StoreError,
};
use tower_cookie_sessions::testing::TestClient;
use tower_cookie_sessions::{Session, SessionLayer};

use crate::common::{body_text, key, Visit};

tower_cookie_sessions::store_conformance!(
    async { Some(AnyStore::with_owner_index(MemoryStore::new())) },
    owner_index,
);

/// A store that keeps nothing and trusts nobody, and has no owner index.
#[derive(Clone)]
struct Forgetful;

impl SessionStore for Forgetful {
    async fn create(&self, _: &RecordKey, _: &Record) -> Result<bool, StoreError> {
        Ok(true)
    }
    async fn load(&self, _: &RecordKey) -> Result<Option<Record>, StoreError> {
        Ok(None)
    }
    async fn save(&self, _: &RecordKey, _: &Record, _: u64) -> Result<bool, StoreError> {
        Ok(false)
    }
    async fn delete(&self, _: &RecordKey) -> Result<(), StoreError> {
        Ok(())
    }
    async fn touch(&self, _: &RecordKey, _: SystemTime) -> Result<bool, StoreError> {
        Ok(false)
    }
}

fn counter<B: Clone + Send + Sync + 'static>(layer: SessionLayer<u64, B>) -> Router {
    Router::new()
        .route(
            "/",
            post(|session: Session<u64>| async move {
                session
                    .update(|n| {
                        *n += 1;
                        *n
                    })
                    .to_string()
            }),
        )
        .route(
            "/read",
            get(|session: Session<u64>| async move { session.cloned().to_string() }),
        )
        .layer(layer)
}

#[tokio::test]
async fn trust_and_owner_lookups_are_forwarded_never_claimed() {
    assert!(AnyStore::new(MemoryStore::new()).is_trusted());
    assert!(!AnyStore::with_owner_index(Forgetful2).is_trusted());
    assert!(!AnyStore::new(Forgetful).is_trusted());

    let plain = AnyStore::new(MemoryStore::new());
    assert!(!plain.has_owner_index());
    let error = plain
        .delete_by_owner("ada")
        .await
        .expect_err("no owner index");
    assert!(matches!(error, StoreError::Unsupported(_)), "{error}");
    assert!(error.to_string().contains("owner index"), "{error}");

    // With the index, the owner's sessions end through the layer's store.
    let memory = MemoryStore::new();
    let key = RecordKey::for_session_id(b"ada's phone");
    let record = Record::new(b"x".to_vec(), SystemTime::now() + Duration::from_secs(60))
        .with_owner(Some("ada".into()));
    assert!(memory.create(&key, &record).await.expect("create"));
    let indexed = AnyStore::with_owner_index(memory.clone());
    assert_eq!(indexed.delete_by_owner("ada").await.expect("deleted"), 1);
    assert!(memory.is_empty());
}

/// [`Forgetful`] with an owner index, to check trust through the indexed
/// adapter too.
#[derive(Clone)]
struct Forgetful2;

impl SessionStore for Forgetful2 {
    fn create(
        &self,
        k: &RecordKey,
        r: &Record,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        Forgetful.create(k, r)
    }
    fn load(
        &self,
        k: &RecordKey,
    ) -> impl Future<Output = Result<Option<Record>, StoreError>> + Send {
        Forgetful.load(k)
    }
    fn save(
        &self,
        k: &RecordKey,
        r: &Record,
        v: u64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        Forgetful.save(k, r, v)
    }
    fn delete(&self, k: &RecordKey) -> impl Future<Output = Result<(), StoreError>> + Send {
        Forgetful.delete(k)
    }
    fn touch(
        &self,
        k: &RecordKey,
        t: SystemTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        Forgetful.touch(k, t)
    }
}

impl OwnerIndex for Forgetful2 {
    async fn delete_by_owner(&self, _: &str) -> Result<u64, StoreError> {
        Ok(0)
    }

    async fn list_by_owner(&self, _: &str) -> Result<Vec<(RecordKey, Record)>, StoreError> {
        Ok(Vec::new())
    }
}

#[tokio::test]
async fn a_layer_over_any_store_keeps_sessions_across_requests() {
    let store = connect("memory").await.expect("memory is compiled in");
    let mut client = TestClient::new(counter(
        SessionLayer::<u64, _>::store_builder(key(1), store)
            .build()
            .expect("valid layer"),
    ));
    for expected in ["1", "2", "3"] {
        assert_eq!(body_text(client.visit("POST", "/").await).await, expected);
    }
    assert_eq!(body_text(client.get("/read").await).await, "3");
}

#[tokio::test]
async fn connect_refuses_unknown_urls_without_repeating_them() {
    for url in ["ftp://user:secret@example.com", "", "secret"] {
        let error = connect(url).await.expect_err("unknown");
        assert!(matches!(error, ConnectError::Unknown), "{url}: {error}");
        assert!(!error.to_string().contains("secret"), "{error}");
    }
    // A cluster URL without nodes names no store either.
    let error = connect("redis+cluster://:secret@/0")
        .await
        .expect_err("no nodes");
    assert!(matches!(error, ConnectError::Unknown), "{error}");
    assert!(!error.to_string().contains("secret"), "{error}");
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn connect_makes_a_ready_sqlite_store() {
    let dir = std::env::temp_dir().join(format!("tcs-connect-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("sessions.db");
    let store = connect(&format!("sqlite://{}?mode=rwc", path.display()))
        .await
        .expect("sqlite connects and migrates");
    assert!(store.has_owner_index() && !store.is_trusted());
    let mut client = TestClient::new(counter(
        SessionLayer::<u64, _>::store_builder(key(1), store)
            .build()
            .expect("valid layer"),
    ));
    client.visit("POST", "/").await;
    assert_eq!(body_text(client.visit("POST", "/").await).await, "2");
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(feature = "redis")]
#[tokio::test]
async fn connect_reaches_redis_by_url() {
    let Ok(url) = std::env::var("REDIS_URL") else {
        crate::common::note("skipped connect_reaches_redis_by_url: REDIS_URL is not set");
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI needs REDIS_URL"
        );
        return;
    };
    let store = connect(&url).await.expect("redis connects");
    assert!(store.has_owner_index());
    let key = RecordKey::for_session_id(format!("connect-{}", std::process::id()).as_bytes());
    let record = Record::new(b"v".to_vec(), SystemTime::now() + Duration::from_secs(60));
    assert!(store.create(&key, &record).await.expect("create"));
    assert_eq!(
        store.load(&key).await.expect("load").map(|r| r.data),
        Some(b"v".to_vec())
    );
    store.delete(&key).await.expect("delete");
}

#[cfg(not(feature = "mysql"))]
#[tokio::test]
async fn a_store_left_out_of_the_build_names_its_feature() {
    let error = connect("mysql://root@localhost/test")
        .await
        .expect_err("not built");
    assert_eq!(
        error.to_string(),
        "a mysql session store needs the `mysql` feature of tower-cookie-sessions"
    );
}
