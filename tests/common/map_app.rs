//! The `SessionMap` app of the store tests as an axum `Router`, and what
//! those tests share besides: the key its layers seal with, opening a
//! session id, a store that counts its calls, and tearing a store down.
//! (The conformance suite itself is the library's,
//! `tower_cookie_sessions::testing::store_suite`.)

use std::sync::Arc;
use std::time::SystemTime;

use axum::extract::{Extension, Query};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use tokio::sync::Barrier;
use tower_cookie_sessions::fuzzing::{self, Purpose};
use tower_cookie_sessions::store::{OwnerIndex, Record, RecordKey, SessionStore};
use tower_cookie_sessions::{Key, KeyRing, Session, SessionLayer, SessionMap};

/// A store under test: removes whatever the test left in it.
pub trait SuiteStore: OwnerIndex + Clone {
    /// Deletes the test's keys, rows or table; stores in memory have
    /// nothing to do.
    fn tear_down(&self) -> impl std::future::Future<Output = ()> + Send {
        async {}
    }
}

impl SuiteStore for tower_cookie_sessions::store::MemoryStore {}

impl<C: SuiteStore, S: SuiteStore> SuiteStore for tower_cookie_sessions::store::CachingStore<C, S> {}

/// Tears `store` down: the `tear_down` the conformance suite is given.
pub async fn tear_down<S: SuiteStore>(store: S) {
    store.tear_down().await;
}

/// The key every suite layer seals with, so tests can open cookies.
pub fn suite_key() -> Key {
    Key::from_hex("5a1f0c9e8d7b6a5948372615f4e3d2c1b0a9f8e7d6c5b4a39281706f5e4d3c2b").expect("key")
}

#[derive(Deserialize)]
struct Entry {
    key: String,
    value: Option<String>,
    owner: Option<String>,
}

/// A `SessionMap` app: `/set?key&value[&owner]`, `/get?key`, `/read`,
/// `/renew`, `POST /logout`, and `/race?key&value`, which loads, waits at
/// the shared barrier, then sets.
pub fn map_app<S: SessionStore + Clone>(
    layer: SessionLayer<SessionMap, tower_cookie_sessions::session::StoreBackend<S>>,
) -> Router {
    map_app_with_barrier(layer, Arc::new(Barrier::new(1)))
}

pub fn map_app_with_barrier<S: SessionStore + Clone>(
    layer: SessionLayer<SessionMap, tower_cookie_sessions::session::StoreBackend<S>>,
    barrier: Arc<Barrier>,
) -> Router {
    Router::new()
        .route(
            "/set",
            get(
                |session: Session<SessionMap>, Query(entry): Query<Entry>| async move {
                    let value = entry.value.unwrap_or_default();
                    session
                        .update(|map| map.insert(entry.key, &value))
                        .expect("insert");
                    if entry.owner.is_some() {
                        session.set_owner(entry.owner);
                    }
                    "set"
                },
            ),
        )
        .route(
            "/get",
            get(
                |session: Session<SessionMap>, Query(entry): Query<Entry>| async move {
                    session
                        .read(|map| map.get::<String>(&entry.key))
                        .expect("typed get")
                        .unwrap_or_else(|| "none".into())
                },
            ),
        )
        .route(
            "/read",
            get(|session: Session<SessionMap>| async move {
                format!("{}", session.read(SessionMap::len))
            }),
        )
        .route(
            "/renew",
            get(|session: Session<SessionMap>| async move {
                session.renew();
                "renewed"
            }),
        )
        .route(
            "/logout",
            post(|session: Session<SessionMap>| async move {
                session.destroy();
                "bye"
            }),
        )
        .route(
            "/race",
            get(
                |session: Session<SessionMap>,
                 Query(entry): Query<Entry>,
                 Extension(barrier): Extension<Arc<Barrier>>| async move {
                    barrier.wait().await;
                    let value = entry.value.unwrap_or_default();
                    session
                        .update(|map| map.insert(entry.key, &value))
                        .expect("insert");
                    "set"
                },
            ),
        )
        .layer(layer)
        .layer(Extension(barrier))
}

/// The session id sealed in an `id=…` cookie pair.
pub fn session_id(cookie: &str) -> Vec<u8> {
    let value = cookie.trim_start_matches("id=");
    fuzzing::open_as(&KeyRing::from(suite_key()), Purpose::SessionId, "id", value)
        .expect("an id cookie")
        .plaintext
}

/// Counts the creates and loads that reach the store it wraps.
#[derive(Clone)]
pub struct CountingStore<S> {
    pub inner: S,
    pub creates: Arc<std::sync::atomic::AtomicUsize>,
    pub loads: Arc<std::sync::atomic::AtomicUsize>,
}

impl<S> CountingStore<S> {
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            creates: Arc::default(),
            loads: Arc::default(),
        }
    }
}

impl<S: SessionStore> SessionStore for CountingStore<S> {
    fn create(
        &self,
        key: &RecordKey,
        record: &Record,
    ) -> impl std::future::Future<Output = Result<bool, tower_cookie_sessions::store::StoreError>> + Send
    {
        self.creates
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.create(key, record)
    }
    fn load(
        &self,
        key: &RecordKey,
    ) -> impl std::future::Future<
        Output = Result<Option<Record>, tower_cookie_sessions::store::StoreError>,
    > + Send {
        self.loads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.load(key)
    }
    fn save(
        &self,
        key: &RecordKey,
        record: &Record,
        expected: u64,
    ) -> impl std::future::Future<Output = Result<bool, tower_cookie_sessions::store::StoreError>> + Send
    {
        self.inner.save(key, record, expected)
    }
    fn delete(
        &self,
        key: &RecordKey,
    ) -> impl std::future::Future<Output = Result<(), tower_cookie_sessions::store::StoreError>> + Send
    {
        self.inner.delete(key)
    }
    fn touch(
        &self,
        key: &RecordKey,
        expires_at: SystemTime,
    ) -> impl std::future::Future<Output = Result<bool, tower_cookie_sessions::store::StoreError>> + Send
    {
        self.inner.touch(key, expires_at)
    }
}

impl<S: OwnerIndex> OwnerIndex for CountingStore<S> {
    fn delete_by_owner(
        &self,
        owner: &str,
    ) -> impl std::future::Future<Output = Result<u64, tower_cookie_sessions::store::StoreError>> + Send
    {
        self.inner.delete_by_owner(owner)
    }

    fn list_by_owner(
        &self,
        owner: &str,
    ) -> impl std::future::Future<
        Output = Result<
            Vec<(
                tower_cookie_sessions::store::RecordKey,
                tower_cookie_sessions::store::Record,
            )>,
            tower_cookie_sessions::store::StoreError,
        >,
    > + Send {
        self.inner.list_by_owner(owner)
    }
}
