//! The conformance suite every session store runs, through the layer with
//! real `Cookie`/`Set-Cookie` headers and through the store trait itself.
//!
//! A store's test file runs the whole suite with one line:
//!
//! ```ignore
//! store_conformance!(async { Some(MemoryStore::new()) });
//! ```
//!
//! The expression is evaluated once per test, so each test gets its own
//! store (its own key prefix or table) and tests run in parallel. It yields
//! `None` when the store's server is not configured; the test then prints
//! that it was skipped (under `CI=true` the expression must panic instead).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::extract::{Extension, Query};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use tokio::sync::Barrier;
use tower_cookie_sessions::fuzzing::{self, Purpose};
use tower_cookie_sessions::session::ConflictPolicy;
use tower_cookie_sessions::session::SessionLayerBuilder;
use tower_cookie_sessions::store::{OwnerIndex, Record, RecordKey, SessionStore};
use tower_cookie_sessions::{Key, KeyRing, Session, SessionLayer, SessionMap};

use super::*;

/// Runs every conformance test against the store `$make` yields.
#[macro_export]
macro_rules! store_conformance {
    ($make:expr) => {
        mod conformance {
            // `$make` may name what the store's module defines.
            #[allow(unused_imports)]
            use super::*;

            $crate::store_conformance!(@tests $make;
                round_trip,
                untouched_request_makes_no_store_call,
                expired_record_is_refused,
                touch_moves_only_the_expiry,
                rolling_refresh_touches_the_record,
                renew_changes_the_id_and_keeps_the_data,
                destroy_deletes_the_record,
                destroy_in_flight_is_not_undone,
                unknown_id_is_never_adopted,
                forged_cookie_makes_no_store_call,
                session_map_merges_different_keys,
                same_key_conflicts,
                error_policy_answers_409,
                keep_latest_drops_this_requests_changes,
                updates_that_change_nothing_never_conflict,
                reads_keep_an_idle_session_alive_beside_a_writer,
                corrupt_record_is_replaced,
                create_refuses_an_existing_record,
                save_is_compare_and_set,
                delete_expired_leaves_live_records,
                delete_by_owner_ends_only_that_owners_sessions,
                record_served_for_another_id_is_refused,
                altered_record_is_refused,
                records_hold_no_readable_session_data,
                oversized_record_is_refused_before_the_store,
            );
        }
    };
    (@tests $make:expr; $($name:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                use $crate::common::store_suite::SuiteStore as _;
                let Some(store) = $make.await else {
                    $crate::common::note(&format!("skipped {}: no server configured", stringify!($name)));
                    return;
                };
                // Run the test as a task so the store is torn down (its
                // keys or table removed) even when the test fails.
                let outcome = tokio::spawn($crate::common::store_suite::$name(store.clone())).await;
                store.tear_down().await;
                if let Err(error) = outcome {
                    std::panic::resume_unwind(error.into_panic());
                }
            }
        )+
    };
}

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

fn layer<S: SessionStore + Clone>(
    store: &S,
) -> SessionLayer<SessionMap, tower_cookie_sessions::session::StoreBackend<S>> {
    builder(store).build().expect("layer")
}

/// The settings of [`layer`], for tests that change one.
fn builder<S: SessionStore + Clone>(
    store: &S,
) -> SessionLayerBuilder<SessionMap, tower_cookie_sessions::session::StoreBackend<S>> {
    SessionLayer::<SessionMap>::store_builder(suite_key(), store.clone())
}

/// A store layer whose sessions end after `idle_seconds` without use,
/// timed by `clock`.
fn inactivity_layer<S: SessionStore + Clone>(
    store: &S,
    idle_seconds: u64,
    clock: &TestClock,
) -> SessionLayer<SessionMap, tower_cookie_sessions::session::StoreBackend<S>> {
    builder(store)
        .expiry(tower_cookie_sessions::session::Expiry::Inactivity(
            Duration::from_secs(idle_seconds),
        ))
        .clock(clock.source())
        .build()
        .expect("a lifetime browsers keep")
}

/// The session id sealed in an `id=…` cookie pair.
pub fn session_id(cookie: &str) -> Vec<u8> {
    let value = cookie.trim_start_matches("id=");
    fuzzing::open_as(&KeyRing::from(suite_key()), Purpose::SessionId, "id", value)
        .expect("an id cookie")
        .plaintext
}

fn record_key(cookie: &str) -> RecordKey {
    RecordKey::for_session_id(&session_id(cookie))
}

/// The record the session in `cookie` has in `store`.
async fn stored<S: SessionStore>(store: &S, cookie: &str) -> Record {
    store
        .load(&record_key(cookie))
        .await
        .expect("load")
        .expect("record")
}

async fn set(app: &Router, cookie: Option<&str>, query: &str) -> http::Response<axum::body::Body> {
    get_with(app, &format!("/set?{query}"), cookie).await
}

async fn value(app: &Router, cookie: &str, key: &str) -> String {
    body_text(get_with(app, &format!("/get?key={key}"), Some(cookie)).await).await
}

fn in_seconds(seconds: u64) -> SystemTime {
    SystemTime::now() + Duration::from_secs(seconds)
}

pub async fn round_trip<S: SessionStore + Clone>(store: S) {
    let app = map_app(layer(&store));
    let first = set(&app, None, "key=user&value=ada").await;
    assert_eq!(first.status(), 200);
    let cookie = cookie_pair(&first, "id").expect("a new session sets its id cookie");
    assert_eq!(session_id(&cookie).len(), 16, "128-bit ids");
    assert_eq!(value(&app, &cookie, "user").await, "ada");
    let record = stored(&store, &cookie).await;
    assert_eq!(record.version, 1);

    let second = set(&app, Some(&cookie), "key=theme&value=dark").await;
    assert_eq!(second.status(), 200);
    assert!(
        set_cookies(&second).is_empty(),
        "same id, browser-session cookie: nothing to resend"
    );
    assert_eq!(value(&app, &cookie, "user").await, "ada");
    assert_eq!(value(&app, &cookie, "theme").await, "dark");
    let record = stored(&store, &cookie).await;
    assert_eq!(record.version, 2);
}

pub async fn untouched_request_makes_no_store_call<S: SessionStore + Clone>(store: S) {
    let app = map_app(layer(&store));
    let read = get_with(&app, "/read", None).await;
    assert!(
        set_cookies(&read).is_empty(),
        "reading a new session saves nothing"
    );
    assert_eq!(body_text(read).await, "0");
}

pub async fn expired_record_is_refused<S: SessionStore + Clone>(store: S) {
    let clock = TestClock::starting_now();
    let app = map_app(inactivity_layer(&store, 600, &clock));
    let cookie = cookie_pair(&set(&app, None, "key=a&value=1").await, "id").expect("cookie");
    clock.advance(599);
    assert_eq!(value(&app, &cookie, "a").await, "1");
    // The store still returns the record (its own clock has not moved);
    // the layer refuses it by the deadline sealed inside.
    clock.advance(601);
    assert_eq!(value(&app, &cookie, "a").await, "none");

    // A store does not return a record past its expiry.
    let key = RecordKey::for_session_id(b"expired-record");
    let past = Record::new(vec![1], SystemTime::now() - Duration::from_secs(5));
    let _ = store.create(&key, &past).await.expect("create");
    assert!(store.load(&key).await.expect("load").is_none());
}

pub async fn touch_moves_only_the_expiry<S: SessionStore + Clone>(store: S) {
    let key = RecordKey::for_session_id(b"touch");
    let record = Record::new(b"data".to_vec(), in_seconds(60)).with_owner(Some("o".into()));
    assert!(store.create(&key, &record).await.expect("create"));
    let later = in_seconds(3600);
    assert!(store.touch(&key, later).await.expect("touch"));
    let loaded = store.load(&key).await.expect("load").expect("record");
    assert_eq!(loaded.data, b"data");
    assert_eq!(loaded.version, 1);
    assert_eq!(loaded.owner.as_deref(), Some("o"));
    let drift = loaded
        .expires_at
        .duration_since(later)
        .unwrap_or_else(|e| e.duration());
    assert!(
        drift < Duration::from_secs(1),
        "expiry moved to {:?}",
        loaded.expires_at
    );
    assert!(!store
        .touch(&RecordKey::for_session_id(b"missing"), later)
        .await
        .expect("touch"));
    store.delete(&key).await.expect("delete");
}

pub async fn rolling_refresh_touches_the_record<S: SessionStore + Clone>(store: S) {
    let clock = TestClock::starting_now();
    let app = map_app(inactivity_layer(&store, 1000, &clock));
    let first = set(&app, None, "key=a&value=1").await;
    let cookie = cookie_pair(&first, "id").expect("cookie");
    let before = stored(&store, &cookie).await;

    clock.advance(400);
    let early = get_with(&app, "/read", Some(&cookie)).await;
    assert!(set_cookies(&early).is_empty(), "not due yet");

    clock.advance(100);
    let due = get_with(&app, "/read", Some(&cookie)).await;
    assert!(
        set_cookie_for(&due, "id").is_some(),
        "a persistent cookie slides its Max-Age"
    );
    let after = stored(&store, &cookie).await;
    assert_eq!(
        after.version, before.version,
        "a refresh is a touch, not a save"
    );
    let moved = after
        .expires_at
        .duration_since(before.expires_at)
        .expect("later");
    assert!(
        moved >= Duration::from_secs(499),
        "expiry moved by {moved:?}"
    );
}

pub async fn renew_changes_the_id_and_keeps_the_data<S: SessionStore + Clone>(store: S) {
    let app = map_app(layer(&store));
    let old = cookie_pair(&set(&app, None, "key=cart&value=3").await, "id").expect("cookie");
    let renewed = get_with(&app, "/renew", Some(&old)).await;
    let new = cookie_pair(&renewed, "id").expect("renew sends the new id");
    assert_ne!(session_id(&new), session_id(&old));
    assert_eq!(value(&app, &new, "cart").await, "3");
    assert_eq!(
        value(&app, &old, "cart").await,
        "none",
        "the old id is gone"
    );
    assert!(store.load(&record_key(&old)).await.expect("load").is_none());
}

pub async fn destroy_deletes_the_record<S: SessionStore + Clone>(store: S) {
    let app = map_app(layer(&store));
    let cookie = cookie_pair(&set(&app, None, "key=a&value=1").await, "id").expect("cookie");
    let response = send(&app, request("POST", "/logout", Some(&cookie))).await;
    let line = set_cookie_for(&response, "id").expect("removal");
    assert!(line.contains("Max-Age=0"), "{line}");
    assert!(store
        .load(&record_key(&cookie))
        .await
        .expect("load")
        .is_none());
    assert_eq!(value(&app, &cookie, "a").await, "none");
}

pub async fn destroy_in_flight_is_not_undone<S: SessionStore + Clone>(store: S) {
    let barrier = Arc::new(Barrier::new(2));
    let app = map_app_with_barrier(layer(&store), Arc::clone(&barrier));
    let cookie = cookie_pair(&set(&app, None, "key=a&value=1").await, "id").expect("cookie");

    // The racing request loads, then waits while another request logs out.
    let racing = tokio::spawn({
        let app = app.clone();
        let cookie = cookie.clone();
        async move { get_with(&app, "/race?key=b&value=2", Some(&cookie)).await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let logout = send(&app, request("POST", "/logout", Some(&cookie))).await;
    assert_eq!(logout.status(), 200);
    barrier.wait().await;
    let late = racing.await.expect("task");
    assert_eq!(late.status(), 200);
    assert!(
        set_cookies(&late).is_empty(),
        "no cookie for a record that is gone"
    );
    assert!(
        store
            .load(&record_key(&cookie))
            .await
            .expect("load")
            .is_none(),
        "not brought back"
    );
}

pub async fn unknown_id_is_never_adopted<S: OwnerIndex + Clone>(store: S) {
    let app = map_app(layer(&store));
    let cookie =
        cookie_pair(&set(&app, None, "key=a&value=1&owner=fixated").await, "id").expect("cookie");
    assert_eq!(store.delete_by_owner("fixated").await.expect("delete"), 1);
    let response = set(&app, Some(&cookie), "key=b&value=2").await;
    let fresh = cookie_pair(&response, "id").expect("a new id");
    assert_ne!(session_id(&fresh), session_id(&cookie));
    assert_eq!(value(&app, &fresh, "a").await, "none");
    assert!(store
        .load(&record_key(&cookie))
        .await
        .expect("load")
        .is_none());
}

pub async fn forged_cookie_makes_no_store_call<S: SessionStore + Clone>(store: S) {
    let counting = CountingStore::new(store);
    let app = map_app(
        SessionLayer::<SessionMap>::store_builder(suite_key(), counting.clone())
            .build()
            .expect("layer"),
    );
    let forged = fuzzing::seal_as(
        &KeyRing::from(Key::generate()),
        Purpose::SessionId,
        "id",
        &[7; 16],
    );
    let response = get_with(&app, "/read", Some(&format!("id={forged}"))).await;
    assert_eq!(body_text(response).await, "0");
    assert_eq!(
        counting.loads.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "the store was asked"
    );

    let cookie = cookie_pair(&set(&app, None, "key=a&value=1").await, "id").expect("cookie");
    assert_eq!(value(&app, &cookie, "a").await, "1");
    assert_eq!(
        counting.loads.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "an authentic id is looked up"
    );
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
}

/// Two requests load the same session, then both save.
async fn race<S: SessionStore + Clone>(
    layer: SessionLayer<SessionMap, tower_cookie_sessions::session::StoreBackend<S>>,
    first: &str,
    second: &str,
) -> (Router, String, http::StatusCode, http::StatusCode) {
    let barrier = Arc::new(Barrier::new(2));
    let app = map_app_with_barrier(layer, barrier);
    let cookie = cookie_pair(&set(&app, None, "key=seed&value=0").await, "id").expect("cookie");
    let (first, second) = (format!("/race?{first}"), format!("/race?{second}"));
    let (a, b) = tokio::join!(
        get_with(&app, &first, Some(&cookie)),
        get_with(&app, &second, Some(&cookie)),
    );
    (app, cookie, a.status(), b.status())
}

/// `SessionMap` sessions merge changes to different keys by default.
pub async fn session_map_merges_different_keys<S: SessionStore + Clone>(store: S) {
    let (app, cookie, a, b) = race(layer(&store), "key=a&value=1", "key=b&value=2").await;
    assert_eq!((a, b), (http::StatusCode::OK, http::StatusCode::OK));
    assert_eq!(value(&app, &cookie, "a").await, "1");
    assert_eq!(value(&app, &cookie, "b").await, "2");
    assert_eq!(value(&app, &cookie, "seed").await, "0");
}

/// A real conflict (both changed the same key) is still an error by default.
pub async fn same_key_conflicts<S: SessionStore + Clone>(store: S) {
    let (app, cookie, a, b) = race(layer(&store), "key=a&value=1", "key=a&value=2").await;
    let mut statuses = [a.as_u16(), b.as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409]);
    let kept = value(&app, &cookie, "a").await;
    assert!(kept == "1" || kept == "2", "one write kept whole: {kept}");
}

pub async fn error_policy_answers_409<S: SessionStore + Clone>(store: S) {
    let layer = builder(&store)
        .conflict_policy(ConflictPolicy::Error)
        .build()
        .expect("layer");
    let (app, cookie, a, b) = race(layer, "key=a&value=1", "key=b&value=2").await;
    let mut statuses = [a.as_u16(), b.as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409], "no silent lost update");
    let a = value(&app, &cookie, "a").await;
    let b = value(&app, &cookie, "b").await;
    assert!(
        (a == "1") != (b == "2"),
        "exactly one write landed: a={a} b={b}"
    );
}

pub async fn corrupt_record_is_replaced<S: SessionStore + Clone>(store: S) {
    let app = map_app(layer(&store));
    let cookie = cookie_pair(&set(&app, None, "key=a&value=1").await, "id").expect("cookie");
    let key = record_key(&cookie);
    let record = store.load(&key).await.expect("load").expect("record");
    let garbage = Record::new(b"\x01\x00not a session".to_vec(), record.expires_at)
        .with_version(record.version + 1);
    assert!(store
        .save(&key, &garbage, record.version)
        .await
        .expect("save"));

    assert_eq!(value(&app, &cookie, "a").await, "none", "a fresh session");
    let repaired = store
        .load(&key)
        .await
        .expect("load")
        .expect("the record is replaced, not left corrupt");
    assert_ne!(repaired.data, garbage.data);
    let response = set(&app, Some(&cookie), "key=b&value=2").await;
    assert_eq!(response.status(), 200);
    assert_eq!(value(&app, &cookie, "b").await, "2");
}

pub async fn create_refuses_an_existing_record<S: SessionStore + Clone>(store: S) {
    let key = RecordKey::for_session_id(b"create-twice");
    assert!(store
        .create(&key, &Record::new(b"one".to_vec(), in_seconds(60)))
        .await
        .expect("create"));
    assert!(!store
        .create(&key, &Record::new(b"two".to_vec(), in_seconds(60)))
        .await
        .expect("create"));
    assert_eq!(
        store.load(&key).await.expect("load").expect("record").data,
        b"one"
    );
    store.delete(&key).await.expect("delete");
    store
        .delete(&key)
        .await
        .expect("deleting a missing record succeeds");
}

pub async fn save_is_compare_and_set<S: SessionStore + Clone>(store: S) {
    let key = RecordKey::for_session_id(b"cas");
    let first = Record::new(b"v1".to_vec(), in_seconds(60));
    assert!(store.create(&key, &first).await.expect("create"));
    let second = Record::new(b"v2".to_vec(), in_seconds(60)).with_version(2);
    assert!(
        !store.save(&key, &second, 7).await.expect("save"),
        "wrong version"
    );
    assert!(store.save(&key, &second, 1).await.expect("save"));
    assert!(
        !store.save(&key, &second, 1).await.expect("save"),
        "version 1 is gone"
    );
    let loaded = store.load(&key).await.expect("load").expect("record");
    assert_eq!(
        (loaded.data.as_slice(), loaded.version),
        (b"v2".as_slice(), 2)
    );
    let missing = RecordKey::for_session_id(b"cas-missing");
    assert!(
        !store.save(&missing, &second, 1).await.expect("save"),
        "no record"
    );
    store.delete(&key).await.expect("delete");
}

pub async fn delete_expired_leaves_live_records<S: SessionStore + Clone>(store: S) {
    let live = RecordKey::for_session_id(b"live");
    let dead = RecordKey::for_session_id(b"dead");
    assert!(store
        .create(&live, &Record::new(b"live".to_vec(), in_seconds(60)))
        .await
        .expect("create"));
    let _ = store
        .create(
            &dead,
            &Record::new(b"dead".to_vec(), SystemTime::now() - Duration::from_secs(1)),
        )
        .await
        .expect("create");
    store.delete_expired().await.expect("delete expired");
    assert!(store.load(&dead).await.expect("load").is_none());
    assert!(store.load(&live).await.expect("load").is_some());
    store.delete(&live).await.expect("delete");
}

pub async fn delete_by_owner_ends_only_that_owners_sessions<S: OwnerIndex + Clone>(store: S) {
    let app = map_app(layer(&store));
    let mut ada = Vec::new();
    for _ in 0..2 {
        ada.push(
            cookie_pair(&set(&app, None, "key=a&value=1&owner=ada").await, "id").expect("cookie"),
        );
    }
    let bob = cookie_pair(&set(&app, None, "key=b&value=2&owner=bob").await, "id").expect("cookie");
    assert_eq!(store.delete_by_owner("ada").await.expect("delete"), 2);
    for cookie in &ada {
        assert_eq!(value(&app, cookie, "a").await, "none");
    }
    assert_eq!(value(&app, &bob, "b").await, "2");
    assert_eq!(store.delete_by_owner("nobody").await.expect("delete"), 0);
}

/// Alice's record served under bob's key (a store or cache mix-up, a
/// restored backup) does not open as bob's session.
pub async fn record_served_for_another_id_is_refused<S: SessionStore + Clone>(store: S) {
    let app = map_app(layer(&store));
    let alice = cookie_pair(&set(&app, None, "key=user&value=alice").await, "id").expect("cookie");
    let bob = cookie_pair(&set(&app, None, "key=user&value=bob").await, "id").expect("cookie");
    let alices = stored(&store, &alice).await;
    let bobs = stored(&store, &bob).await;
    let swapped =
        Record::new(alices.data.clone(), alices.expires_at).with_version(bobs.version + 1);
    assert!(store
        .save(&record_key(&bob), &swapped, bobs.version)
        .await
        .expect("save"));

    assert_eq!(
        value(&app, &bob, "user").await,
        "none",
        "bob gets a fresh session, never alice's"
    );
    assert_eq!(value(&app, &alice, "user").await, "alice");
}

/// A record changed in the store is refused like a corrupt one.
pub async fn altered_record_is_refused<S: SessionStore + Clone>(store: S) {
    let app = map_app(layer(&store));
    let cookie = cookie_pair(&set(&app, None, "key=role&value=user").await, "id").expect("cookie");
    let key = record_key(&cookie);
    let record = store.load(&key).await.expect("load").expect("record");
    let mut data = record.data.clone();
    // A sealed record's tag, or the key a trusted store's record is bound
    // to: either way the layer must notice.
    let index = if store.is_trusted() {
        5
    } else {
        data.len() - 1
    };
    data[index] ^= 0x20;
    let altered = Record::new(data, record.expires_at).with_version(record.version + 1);
    assert!(store
        .save(&key, &altered, record.version)
        .await
        .expect("save"));
    assert_eq!(
        value(&app, &cookie, "role").await,
        "none",
        "a fresh session"
    );
}

/// A store nobody vouches for holds no readable session data: anyone who
/// can read it learns nothing, and anyone who can write it forges nothing.
pub async fn records_hold_no_readable_session_data<S: SessionStore + Clone>(store: S) {
    let app = map_app(layer(&store));
    let cookie = cookie_pair(
        &set(&app, None, "key=token&value=sk-live-4242424242").await,
        "id",
    )
    .expect("cookie");
    let record = stored(&store, &cookie).await;
    let readable = record.data.windows(7).any(|window| window == b"sk-live");
    if store.is_trusted() {
        // In-process memory: nobody else reads it, so it is not sealed.
        assert!(readable, "a trusted store's records skip the cipher");
    } else {
        assert!(!readable, "the record is sealed");
    }
}

/// A session larger than the layer's record cap is the size error, and the
/// stored session stays as it was.
pub async fn oversized_record_is_refused_before_the_store<S: SessionStore + Clone>(store: S) {
    let app = map_app(builder(&store).max_record_size(600).build().expect("layer"));
    let cookie = cookie_pair(&set(&app, None, "key=a&value=small").await, "id").expect("cookie");
    let before = stored(&store, &cookie).await;
    let big = "x".repeat(700);
    let response = set(&app, Some(&cookie), &format!("key=a&value={big}")).await;
    assert_eq!(response.status(), 500);
    assert!(set_cookies(&response).is_empty());
    assert_eq!(body_text(response).await, "session too large\n");
    let after = stored(&store, &cookie).await;
    assert_eq!(after.version, before.version, "nothing was written");
    assert_eq!(value(&app, &cookie, "a").await, "small");
    let fresh = set(&app, None, &format!("key=a&value={big}")).await;
    assert_eq!(
        fresh.status(),
        500,
        "a new session over the cap is not created either"
    );
}

/// `KeepLatest`: both requests answer 200, and exactly one of the two
/// writes is kept whole.
pub async fn keep_latest_drops_this_requests_changes<S: SessionStore + Clone>(store: S) {
    let layer = builder(&store)
        .conflict_policy(ConflictPolicy::KeepLatest)
        .build()
        .expect("layer");
    let (app, cookie, a, b) = race(layer, "key=a&value=1", "key=a&value=2").await;
    assert_eq!((a, b), (http::StatusCode::OK, http::StatusCode::OK));
    let kept = value(&app, &cookie, "a").await;
    assert!(kept == "1" || kept == "2", "one write kept whole: {kept}");
}

/// Two parallel requests that call `update` without changing anything:
/// neither saves, so neither conflicts, and the record is untouched.
pub async fn updates_that_change_nothing_never_conflict<S: SessionStore + Clone>(store: S) {
    let barrier = Arc::new(Barrier::new(2));
    let layer = SessionLayer::<u64>::store_builder(suite_key(), store.clone())
        .conflict_policy(ConflictPolicy::Error)
        .build()
        .expect("layer");
    let app = Router::new()
        .route(
            "/set",
            get(|session: Session<u64>| async move {
                session.set(7);
                "set"
            }),
        )
        .route(
            "/look",
            get(
                |session: Session<u64>, Extension(barrier): Extension<Arc<Barrier>>| async move {
                    let seen = session.update(|n| *n);
                    barrier.wait().await;
                    seen.to_string()
                },
            ),
        )
        .layer(Extension(barrier))
        .layer(layer);
    let cookie = cookie_pair(&get_with(&app, "/set", None).await, "id").expect("cookie");
    let before = stored(&store, &cookie).await;
    let (a, b) = tokio::join!(
        get_with(&app, "/look", Some(&cookie)),
        get_with(&app, "/look", Some(&cookie)),
    );
    assert_eq!(
        (a.status(), b.status()),
        (http::StatusCode::OK, http::StatusCode::OK)
    );
    assert!(set_cookies(&a).is_empty() && set_cookies(&b).is_empty());
    assert_eq!(body_text(a).await, "7");
    let after = stored(&store, &cookie).await;
    assert_eq!(after.version, before.version, "nothing was written");
}

/// A visitor who only reads stays signed in past several idle windows: each
/// due refresh moves the record's expiry with a `touch`, which leaves the
/// version alone, so a writer that loaded before it still saves.
pub async fn reads_keep_an_idle_session_alive_beside_a_writer<S: SessionStore + Clone>(store: S) {
    let clock = TestClock::starting_now();
    let barrier = Arc::new(Barrier::new(2));
    let app = map_app_with_barrier(inactivity_layer(&store, 100, &clock), Arc::clone(&barrier));
    let cookie = cookie_pair(&set(&app, None, "key=a&value=1").await, "id").expect("cookie");
    for step in 0..6 {
        clock.advance(50);
        assert_eq!(value(&app, &cookie, "a").await, "1", "read {step}");
    }

    // With a refresh due, a writer loads, a read refreshes (a touch), then
    // the writer saves: the touch left the version alone, so the writer's
    // compare-and-set still succeeds.
    clock.advance(50);
    let writer = tokio::spawn({
        let (app, cookie) = (app.clone(), cookie.clone());
        async move { get_with(&app, "/race?key=b&value=2", Some(&cookie)).await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let key = record_key(&cookie);
    let before = store.load(&key).await.expect("load").expect("record");
    assert_eq!(value(&app, &cookie, "a").await, "1");
    let touched = store.load(&key).await.expect("load").expect("record");
    assert!(
        touched.expires_at > before.expires_at,
        "the read touched the record"
    );
    assert_eq!(touched.version, before.version, "a touch keeps the version");
    barrier.wait().await;
    let written = writer.await.expect("task");
    assert_eq!(
        written.status(),
        200,
        "the touch did not conflict with the writer"
    );

    for step in 0..6 {
        clock.advance(50);
        assert_eq!(
            value(&app, &cookie, "a").await,
            "1",
            "read {step} after the write"
        );
    }
    assert_eq!(value(&app, &cookie, "b").await, "2");
    clock.advance(101);
    assert_eq!(
        value(&app, &cookie, "a").await,
        "none",
        "idle past the window"
    );
}
