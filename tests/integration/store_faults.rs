//! How the layer answers when its store fails or is slow, using a store
//! that fails on command.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::common::map_app::{map_app, suite_key};
use crate::common::*;
use http::{Response, StatusCode};
use tower_cookie_sessions::session::{LoadFailure, SessionLayerBuilder, StoreBackend};
use tower_cookie_sessions::store::{
    MemoryStore, OwnerIndex, Record, RecordKey, SessionStore, StoreError,
};
use tower_cookie_sessions::{SessionLayer, SessionMap};

/// A memory store whose operations fail, or hang, while a switch is on.
#[derive(Clone, Default)]
struct FlakyStore {
    inner: MemoryStore,
    down: Arc<AtomicBool>,
    slow: Arc<AtomicBool>,
    creates_fail: Arc<AtomicBool>,
    /// Fails as a store that cannot reach its server does.
    unreachable: Arc<AtomicBool>,
    /// Creates answer that the id is taken, every time.
    creates_collide: Arc<AtomicBool>,
    /// How many calls reached the store.
    calls: Arc<AtomicUsize>,
    /// How many of our next saves another request beats by saving first.
    races: Arc<AtomicUsize>,
}

/// The store client's own error text: for the log, never the visitor.
const STORE_DOWN: &str = "connection refused by 10.0.0.7:6379";

impl FlakyStore {
    async fn gate<O>(
        &self,
        operation: impl Future<Output = Result<O, StoreError>>,
        is_create: bool,
    ) -> Result<O, StoreError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.unreachable.load(Ordering::SeqCst) {
            return Err(StoreError::unreachable(std::io::Error::from(
                std::io::ErrorKind::ConnectionRefused,
            )));
        }
        if self.slow.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
        if self.down.load(Ordering::SeqCst)
            || (is_create && self.creates_fail.load(Ordering::SeqCst))
        {
            return Err(StoreError::backend(std::io::Error::other(STORE_DOWN)));
        }
        operation.await
    }
}

impl SessionStore for FlakyStore {
    fn create(
        &self,
        key: &RecordKey,
        record: &Record,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        let collide = self.creates_collide.load(Ordering::SeqCst);
        let create = self.inner.create(key, record);
        async move {
            let created = self.gate(create, true).await?;
            Ok(created && !collide)
        }
    }
    fn load(
        &self,
        key: &RecordKey,
    ) -> impl Future<Output = Result<Option<Record>, StoreError>> + Send {
        self.gate(self.inner.load(key), false)
    }
    fn save(
        &self,
        key: &RecordKey,
        record: &Record,
        expected: u64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        let (key, record) = (*key, record.clone());
        async move {
            let raced = self
                .races
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
            if raced.is_ok() {
                if let Some(current) = self.inner.load(&key).await? {
                    let theirs = current.clone().with_version(current.version + 1);
                    self.inner.save(&key, &theirs, current.version).await?;
                }
            }
            self.gate(self.inner.save(&key, &record, expected), false)
                .await
        }
    }
    fn delete(&self, key: &RecordKey) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.gate(self.inner.delete(key), false)
    }
    fn touch(
        &self,
        key: &RecordKey,
        expires_at: SystemTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        self.gate(self.inner.touch(key, expires_at), false)
    }
}

impl OwnerIndex for FlakyStore {
    fn delete_by_owner(&self, owner: &str) -> impl Future<Output = Result<u64, StoreError>> + Send {
        self.gate(self.inner.delete_by_owner(owner), false)
    }

    fn list_by_owner(
        &self,
        owner: &str,
    ) -> impl Future<Output = Result<Vec<(RecordKey, Record)>, StoreError>> + Send {
        self.gate(self.inner.list_by_owner(owner), false)
    }
}

fn layer(store: &FlakyStore) -> SessionLayer<SessionMap, StoreBackend<FlakyStore>> {
    builder(store).build().expect("layer")
}

fn builder(store: &FlakyStore) -> SessionLayerBuilder<SessionMap, StoreBackend<FlakyStore>> {
    SessionLayer::<SessionMap>::store_builder(suite_key(), store.clone())
        .timeout(Duration::from_millis(100))
}

async fn seeded(app: &axum::Router) -> String {
    cookie_pair(&get_with(app, "/set?key=a&value=1", None).await, "id").expect("cookie")
}

#[tokio::test]
async fn load_failure_answers_503_by_default() {
    let store = FlakyStore::default();
    let app = map_app(layer(&store));
    let cookie = seeded(&app).await;
    store.down.store(true, Ordering::SeqCst);
    let logs = Logs::capture();
    let response = get_with(&app, "/get?key=a", Some(&cookie)).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(set_cookies(&response).is_empty());
    assert_eq!(
        body_text(response).await,
        "session store unavailable\n",
        "the visitor gets no store error text"
    );
    let text = logs.text();
    assert!(
        text.contains("ERROR") && text.contains(STORE_DOWN),
        "{text}"
    );
}

#[tokio::test]
async fn load_timeout_answers_503() {
    let store = FlakyStore::default();
    let app = map_app(layer(&store));
    let cookie = seeded(&app).await;
    store.slow.store(true, Ordering::SeqCst);
    let logs = Logs::capture();
    let response = get_with(&app, "/get?key=a", Some(&cookie)).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body_text(response).await, "session store unavailable\n");
    assert!(logs.text().contains("timed out"), "{}", logs.text());
}

#[tokio::test]
async fn continue_empty_serves_an_unsaved_session() {
    let store = FlakyStore::default();
    let app = map_app(
        builder(&store)
            .on_load_failure(LoadFailure::ContinueEmpty)
            .build()
            .expect("layer"),
    );
    let cookie = seeded(&app).await;
    store.down.store(true, Ordering::SeqCst);
    let response = get_with(&app, "/set?key=b&value=2", Some(&cookie)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(set_cookies(&response).is_empty(), "nothing was saved");
    store.down.store(false, Ordering::SeqCst);
    let back = get_with(&app, "/get?key=b", Some(&cookie)).await;
    assert_eq!(body_text(back).await, "none");
    let kept = get_with(&app, "/get?key=a", Some(&cookie)).await;
    assert_eq!(
        body_text(kept).await,
        "1",
        "the stored session is untouched"
    );
}

#[tokio::test]
async fn save_failure_answers_503_without_a_cookie() {
    let store = FlakyStore::default();
    let app = map_app(layer(&store));
    store.down.store(true, Ordering::SeqCst);
    let logs = Logs::capture();
    let response = get_with(&app, "/set?key=a&value=1", None).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        set_cookies(&response).is_empty(),
        "no cookie for a record that was not saved"
    );
    assert_eq!(body_text(response).await, "session store unavailable\n");
    let text = logs.text();
    assert!(
        text.contains("ERROR") && text.contains(STORE_DOWN),
        "{text}"
    );
}

#[tokio::test]
async fn failed_renewal_keeps_the_old_session() {
    let store = FlakyStore::default();
    let app = map_app(layer(&store));
    let cookie = seeded(&app).await;
    store.creates_fail.store(true, Ordering::SeqCst);
    let response = get_with(&app, "/renew", Some(&cookie)).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(set_cookies(&response).is_empty());
    store.creates_fail.store(false, Ordering::SeqCst);
    let still = get_with(&app, "/get?key=a", Some(&cookie)).await;
    assert_eq!(body_text(still).await, "1");
}

#[tokio::test]
async fn the_next_request_after_recovery_succeeds() {
    let store = FlakyStore::default();
    let app = map_app(layer(&store));
    let cookie = seeded(&app).await;
    store.down.store(true, Ordering::SeqCst);
    assert_eq!(
        get_with(&app, "/get?key=a", Some(&cookie)).await.status(),
        503
    );
    store.down.store(false, Ordering::SeqCst);
    let response = get_with(&app, "/get?key=a", Some(&cookie)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body_text(response).await, "1");
}

#[tokio::test]
async fn store_errors_go_through_on_error() {
    let store = FlakyStore::default();
    let app = map_app(
        builder(&store)
            .on_error(|error| {
                let mut response =
                    Response::new(format!("{{\"status\":{}}}", error.status().as_u16()));
                *response.status_mut() = error.status();
                response
            })
            .build()
            .expect("layer"),
    );
    let cookie = seeded(&app).await;
    store.down.store(true, Ordering::SeqCst);
    let load = get_with(&app, "/get?key=a", Some(&cookie)).await;
    assert_eq!(body_text(load).await, "{\"status\":503}");
    let save = get_with(&app, "/set?key=a&value=1", None).await;
    assert_eq!(body_text(save).await, "{\"status\":503}");
}

#[tokio::test]
async fn a_save_error_about_the_data_is_still_a_500() {
    let store = FlakyStore::default();
    let app = map_app(layer(&store));
    store.creates_collide.store(true, Ordering::SeqCst);
    let response = get_with(&app, "/set?key=a&value=1", None).await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(set_cookies(&response).is_empty());
    assert_eq!(body_text(response).await, "session could not be saved\n");
}

#[tokio::test]
async fn an_unreachable_store_is_not_asked_until_a_probe_is_due_and_continue_empty_holds() {
    let store = FlakyStore::default();
    let app = map_app(
        builder(&store)
            .on_load_failure(LoadFailure::ContinueEmpty)
            .build()
            .expect("layer"),
    );
    let cookie = seeded(&app).await;
    store.unreachable.store(true, Ordering::SeqCst);
    for _ in 0..2 {
        let empty = get_with(&app, "/get?key=a", Some(&cookie)).await;
        assert_eq!(body_text(empty).await, "none");
    }
    // Open: the store is back, but not asked before the next probe.
    store.unreachable.store(false, Ordering::SeqCst);
    let calls = store.calls.load(Ordering::SeqCst);
    let started = std::time::Instant::now();
    let response = get_with(&app, "/set?key=b&value=2", Some(&cookie)).await;
    assert!(started.elapsed() < Duration::from_millis(50));
    assert_eq!(response.status(), StatusCode::OK, "an empty session");
    assert!(
        set_cookies(&response).is_empty(),
        "not saved, and the cookie stays"
    );
    assert_eq!(body_text(response).await, "set", "the handler ran");
    assert_eq!(store.calls.load(Ordering::SeqCst), calls, "not asked");

    // The probe finds it back, and the breaker closes.
    tokio::time::sleep(Duration::from_millis(250)).await;
    let probe = get_with(&app, "/get?key=a", Some(&cookie)).await;
    assert_eq!(body_text(probe).await, "1", "the stored session");
    let after = get_with(&app, "/get?key=b", Some(&cookie)).await;
    assert_eq!(
        body_text(after).await,
        "none",
        "the change made while open was dropped"
    );
}

#[tokio::test]
async fn the_layer_answers_503_at_once_while_the_store_is_unreachable() {
    let store = FlakyStore::default();
    let app = map_app(layer(&store));
    let cookie = seeded(&app).await;
    store.unreachable.store(true, Ordering::SeqCst);
    store.slow.store(true, Ordering::SeqCst);
    for _ in 0..2 {
        let response = get_with(&app, "/get?key=a", Some(&cookie)).await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    }
    let calls = store.calls.load(Ordering::SeqCst);
    for path in ["/get?key=a", "/set?key=a&value=2"] {
        let response = get_with(&app, path, Some(&cookie)).await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE, "{path}");
        assert!(set_cookies(&response).is_empty());
        assert_eq!(body_text(response).await, "session store unavailable\n");
    }
    let fresh = get_with(&app, "/set?key=a&value=2", None).await;
    assert_eq!(
        fresh.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "a new session's create too"
    );
    assert_eq!(store.calls.load(Ordering::SeqCst), calls, "not asked");
}

#[tokio::test]
async fn conflict_answers_409_through_on_error_and_logs_a_warning() {
    let logs = Logs::capture();
    let store = FlakyStore::default();
    let app = map_app(
        builder(&store)
            .conflict_policy(tower_cookie_sessions::session::ConflictPolicy::Error)
            .on_error(|error| {
                let mut response = Response::new(format!("custom: {error}"));
                *response.status_mut() = error.status();
                response
            })
            .build()
            .expect("layer"),
    );
    let cookie = seeded(&app).await;
    store.races.store(1, Ordering::SeqCst);
    let response = get_with(&app, "/set?key=a&value=2", Some(&cookie)).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert!(set_cookies(&response).is_empty());
    assert!(body_text(response)
        .await
        .starts_with("custom: session changed by another request"));
    assert!(logs.text().contains("WARN"), "{}", logs.text());
    assert_eq!(
        body_text(get_with(&app, "/get?key=a", Some(&cookie)).await).await,
        "1"
    );
}

#[tokio::test]
async fn a_typed_merge_resolves_a_lost_race() {
    use axum::routing::get;
    use tower_cookie_sessions::session::ConflictPolicy;
    use tower_cookie_sessions::Session;

    let store = FlakyStore::default();
    let app = axum::Router::new()
        .route(
            "/",
            get(|session: Session<u64>| async move {
                format!(
                    "{}",
                    session.update(|n| {
                        *n += 1;
                        *n
                    })
                )
            }),
        )
        .layer(
            SessionLayer::<u64>::store_builder(suite_key(), store.clone())
                .conflict_policy(ConflictPolicy::merge(|loaded, mine, latest| {
                    Some(latest + (mine - loaded))
                }))
                .build()
                .expect("layer"),
        );
    let cookie = cookie_pair(&get_with(&app, "/", None).await, "id").expect("cookie");
    store.races.store(1, Ordering::SeqCst);
    let response = get_with(&app, "/", Some(&cookie)).await;
    assert_eq!(response.status(), StatusCode::OK, "merged, not refused");
    assert_eq!(store.races.load(Ordering::SeqCst), 0);
    let key = RecordKey::for_session_id(&crate::common::map_app::session_id(&cookie));
    let record = store.inner.load(&key).await.expect("load").expect("record");
    assert_eq!(record.version, 3, "created 1, the racer's 2, the merge's 3");

    // A racer that always wins exhausts the bounded retries: a conflict.
    store.races.store(usize::MAX, Ordering::SeqCst);
    let response = get_with(&app, "/", Some(&cookie)).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
}

#[tokio::test]
async fn a_load_that_failed_can_be_tried_again_in_the_same_request() {
    use tower::{ServiceBuilder, ServiceExt};
    use tower_cookie_sessions::{Session, SessionError};

    let store = FlakyStore::default();
    let down = Arc::clone(&store.down);
    let service = ServiceBuilder::new()
        .layer(
            SessionLayer::<u64>::store_builder(suite_key(), store.clone())
                .timeout(Duration::from_millis(100))
                .build()
                .expect("layer"),
        )
        .service_fn(move |request: http::Request<String>| {
            let down = Arc::clone(&down);
            async move {
                if request.uri().path() == "/retry" {
                    down.store(true, Ordering::SeqCst);
                    let failed = Session::<u64>::load(&request).await;
                    assert!(matches!(failed, Err(SessionError::Load(_))), "{failed:?}");
                    down.store(false, Ordering::SeqCst);
                }
                let session = Session::<u64>::load(&request).await?;
                let count = session.update(|count| {
                    *count += 1;
                    *count
                });
                Ok::<_, SessionError>(Response::new(count.to_string()))
            }
        });

    let first = service
        .clone()
        .oneshot(http::Request::new(String::new()))
        .await
        .expect("ok");
    let cookie = cookie_pair(&first, "id").expect("a session cookie");
    let request = |path: &str| {
        http::Request::builder()
            .uri(path)
            .header("cookie", cookie.as_str())
            .body(String::new())
            .expect("request")
    };
    let retried = service
        .clone()
        .oneshot(request("/retry"))
        .await
        .expect("ok");
    assert_eq!(retried.status(), StatusCode::OK);
    assert_eq!(
        body_text(retried).await,
        "2",
        "the second load opened the stored session"
    );
    let after = service.oneshot(request("/")).await.expect("ok");
    assert_eq!(body_text(after).await, "3", "and its change was saved");
}
