//! Revoking sessions before their deadlines, client-side and in a store:
//! by issue time, through the layer's `Revocation` handle, and by the
//! application's load hook.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::Query;
use axum::routing::get;
use axum::Router;
use http::StatusCode;
use serde::{Deserialize, Serialize};
use tower_cookie_sessions::session::{Revocation, SessionLayerBuilder, StoreBackend};
use tower_cookie_sessions::store::StoreError;
use tower_cookie_sessions::testing::TestClient;
use tower_cookie_sessions::{Key, MemoryStore, Session, SessionLayer};

use crate::common::{
    body_text, cookie_header_of, counter_app, removed_names, set_cookies, Counter, Logs, TestClock,
    Visit, START,
};

fn at(seconds_since_start: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(START + seconds_since_start)
}

/// A client-side counter layer on `clock`.
fn clocked(clock: &TestClock) -> SessionLayer<Counter> {
    clocked_builder(clock).build().expect("layer")
}

/// The settings of [`clocked`], for tests that add to them.
fn clocked_builder(clock: &TestClock) -> SessionLayerBuilder<Counter> {
    SessionLayer::builder(Key::generate()).clock(clock.source())
}

/// The counter app behind `layer`, and the layer's revocation handle.
fn revocable(layer: SessionLayer<Counter>) -> (Revocation, Router) {
    (layer.revocation(), counter_app(layer))
}

fn names(expected: &[&str]) -> Vec<String> {
    expected.iter().map(|name| (*name).to_owned()).collect()
}

#[tokio::test]
async fn sessions_issued_before_the_cutoff_are_fresh_and_their_cookie_removed() {
    let clock = TestClock::new();
    let (revocation, app) = revocable(clocked(&clock));

    let mut early = TestClient::new(app.clone());
    let response = early.get("/").await;
    assert_eq!(body_text(response).await, "visits: 1");
    clock.set(20);
    let mut late = TestClient::new(app);
    let response = late.get("/").await;
    assert_eq!(body_text(response).await, "visits: 1");

    // The running service refuses what was issued before the cutoff.
    revocation.revoke_issued_before(at(10));
    assert_eq!(revocation.issued_before(), Some(at(10)));
    let response = early.get("/read").await;
    assert_eq!(removed_names(&response), names(&["id"]));
    assert_eq!(body_text(response).await, "visits: 0");
    assert!(early.cookie_names().is_empty());
    let response = late.get("/").await;
    assert_eq!(body_text(response).await, "visits: 2");

    // A new session after the cutoff is kept.
    let response = early.get("/").await;
    assert_eq!(body_text(response).await, "visits: 1");
    let response = early.get("/").await;
    assert_eq!(body_text(response).await, "visits: 2");
}

#[tokio::test]
async fn the_cutoff_never_moves_back_and_counts_whole_seconds() {
    let clock = TestClock::new();
    let (revocation, app) = revocable(clocked(&clock));
    let mut client = TestClient::new(app);
    client.get("/").await;

    revocation.revoke_issued_before(at(100));
    revocation.revoke_issued_before(at(5));
    assert_eq!(revocation.issued_before(), Some(at(100)));

    // Issued within the cutoff's second, but after it: refused as well.
    clock.set(200);
    let (revocation, app) = revocable(clocked(&clock));
    let mut client = TestClient::new(app);
    client.get("/").await;
    revocation.revoke_issued_before(at(200) - Duration::from_millis(1));
    let response = client.get("/read").await;
    assert_eq!(
        body_text(response).await,
        "visits: 1",
        "issued after 199.999"
    );
    revocation.revoke_issued_before(at(200) + Duration::from_millis(1));
    let response = client.get("/read").await;
    assert_eq!(body_text(response).await, "visits: 0");
}

#[tokio::test]
async fn renewing_issues_the_session_again() {
    let clock = TestClock::new();
    let (revocation, app) = revocable(clocked(&clock));
    let mut client = TestClient::new(app);
    client.get("/").await;
    clock.set(30);
    client.get("/renew").await;
    revocation.revoke_issued_before(at(10));
    let response = client.get("/").await;
    assert_eq!(body_text(response).await, "visits: 2");
}

#[tokio::test]
async fn the_handle_is_shared_by_clones() {
    let clock = TestClock::new();
    let layer = SessionLayer::<Counter>::builder(Key::generate())
        .clock(clock.source())
        .cookie_name("sid")
        .build()
        .expect("layer");
    let revocation = layer.revocation();
    let mut client = TestClient::new(counter_app(layer.clone()));
    client.get("/").await;
    clock.set(10);
    layer.revocation().revoke_issued_before(at(5));
    assert_eq!(revocation.issued_before(), Some(at(5)));
    let response = client.get("/read").await;
    assert_eq!(removed_names(&response), names(&["sid"]));

    // A layer of its own has a cutoff of its own.
    let other = SessionLayer::<Counter>::new(Key::generate()).expect("layer");
    assert_eq!(other.revocation().issued_before(), None);
}

/// The cutoff refuses store sessions issued before it too: a fresh
/// session, the id cookie removed, and the record deleted.
#[tokio::test]
async fn the_cutoff_refuses_store_sessions_and_deletes_their_records() {
    let clock = TestClock::starting_now();
    let store = MemoryStore::new();
    let layer = SessionLayer::<Counter>::store_builder(Key::generate(), store.clone())
        .clock(clock.source())
        .build()
        .expect("layer");
    let (revocation, app) = revocable_store(layer);
    let mut early = TestClient::new(app.clone());
    early.get("/").await;
    early.get("/").await;
    clock.advance(20);
    let mut late = TestClient::new(app);
    late.get("/").await;
    assert_eq!(store.len(), 2);

    revocation.revoke_issued_before(UNIX_EPOCH + Duration::from_secs(clock.now() - 10));
    let response = early.get("/read").await;
    assert_eq!(removed_names(&response), names(&["id"]));
    assert_eq!(body_text(response).await, "visits: 0");
    assert_eq!(store.len(), 1, "the refused session's record is deleted");
    let response = late.get("/").await;
    assert_eq!(body_text(response).await, "visits: 2");
}

/// A store layer's counter app, and its revocation handle.
fn revocable_store(
    layer: SessionLayer<Counter, StoreBackend<MemoryStore>>,
) -> (Revocation, Router) {
    (layer.revocation(), counter_app(layer))
}

#[tokio::test]
async fn a_revoked_chunked_session_removes_all_its_chunks() {
    let clock = TestClock::new();
    let (revocation, app) = revocable(
        clocked_builder(&clock)
            .max_cookie_size(3 * 4096)
            .build()
            .expect("limit"),
    );
    let mut client = TestClient::new(app);
    client.get("/resize?bytes=9000").await;
    assert_eq!(client.cookie_names(), names(&["id.0", "id.1", "id.2"]));
    clock.set(10);
    revocation.revoke_issued_before(at(5));
    let response = client.get("/read").await;
    assert_eq!(removed_names(&response), names(&["id.0", "id.1", "id.2"]));
    assert!(client.cookie_names().is_empty());
}

/// A signed-in session that knows its user's generation.
#[derive(Clone, Default, Serialize, Deserialize)]
struct Account {
    user: Option<u64>,
    generation: u64,
    visits: u64,
}

/// The application's own record of each user's generation; bumping it
/// signs out every session signed in before.
#[derive(Clone, Default)]
struct Generations(Arc<Mutex<HashMap<u64, u64>>>);

impl Generations {
    fn current(&self, user: u64) -> u64 {
        *self.0.lock().expect("lock").get(&user).unwrap_or(&0)
    }

    fn bump(&self, user: u64) -> u64 {
        let mut generations = self.0.lock().expect("lock");
        let generation = generations.entry(user).or_insert(0);
        *generation += 1;
        *generation
    }
}

#[derive(Deserialize)]
struct Login {
    user: u64,
}

/// `/login?user=N`, `/` counts, and `/sign-out-others` bumps the user's
/// generation and moves this session to it.
fn accounts_app<B: Clone + Send + Sync + 'static>(
    layer: SessionLayer<Account, B>,
    generations: Generations,
) -> Router {
    Router::new()
        .route(
            "/login",
            get({
                let generations = generations.clone();
                move |session: Session<Account>, Query(login): Query<Login>| async move {
                    session.renew();
                    session.set(Account {
                        user: Some(login.user),
                        generation: generations.current(login.user),
                        visits: 0,
                    });
                    "signed in"
                }
            }),
        )
        .route(
            "/",
            get(|session: Session<Account>| async move {
                let visits = session.update(|account| {
                    account.visits += 1;
                    account.visits
                });
                format!(
                    "{:?} visits: {visits}",
                    session.read(|account| account.user)
                )
            }),
        )
        .route(
            "/read-only",
            get(|session: Session<Account>| async move {
                format!("{:?}", session.read(|account| account.user))
            }),
        )
        .route(
            "/sign-out-others",
            get(move |session: Session<Account>| async move {
                let Some(user) = session.read(|account| account.user) else {
                    return "not signed in";
                };
                let generation = generations.bump(user);
                session.update(|account| account.generation = generation);
                "done"
            }),
        )
        .layer(layer)
}

/// The hook the documentation shows: keeps a session whose generation is
/// its user's current one.
fn generation_hook(
    generations: Generations,
    calls: Arc<AtomicUsize>,
) -> impl Fn(&Account, SystemTime) -> std::future::Ready<Result<bool, StoreError>> + Send + Sync + 'static
{
    move |account: &Account, _issued| {
        calls.fetch_add(1, Ordering::SeqCst);
        let keep = account
            .user
            .is_none_or(|user| generations.current(user) == account.generation);
        std::future::ready(Ok(keep))
    }
}

#[tokio::test]
async fn signing_out_other_devices_refuses_their_sessions() {
    let generations = Generations::default();
    let calls = Arc::new(AtomicUsize::new(0));
    let layer = SessionLayer::<Account>::builder(Key::generate())
        .on_load(generation_hook(generations.clone(), Arc::clone(&calls)))
        .build()
        .expect("layer");
    let app = accounts_app(layer, generations);

    let mut laptop = TestClient::new(app.clone());
    let mut phone = TestClient::new(app.clone());
    let mut other_user = TestClient::new(app.clone());
    laptop.get("/login?user=1").await;
    phone.get("/login?user=1").await;
    other_user.get("/login?user=2").await;
    assert_eq!(body_text(phone.get("/").await).await, "Some(1) visits: 1");

    let response = laptop.get("/sign-out-others").await;
    assert_eq!(body_text(response).await, "done");

    // The phone's session is refused: a fresh one, its cookie removed.
    let response = phone.get("/").await;
    assert!(
        removed_names(&response).is_empty(),
        "the new session replaces it"
    );
    assert_eq!(body_text(response).await, "None visits: 1");
    let response = laptop.get("/").await;
    assert_eq!(body_text(response).await, "Some(1) visits: 1");
    let response = other_user.get("/").await;
    assert_eq!(body_text(response).await, "Some(2) visits: 1");

    // Requests without a session never call the hook.
    let before = calls.load(Ordering::SeqCst);
    crate::common::get_with(&app, "/", None).await;
    assert_eq!(calls.load(Ordering::SeqCst), before);
}

/// The same hook behind a store layer: the refused session's record is
/// deleted, and the hook sees the stored data and its issue time.
#[tokio::test]
async fn signing_out_other_devices_works_with_a_store() {
    let generations = Generations::default();
    let calls = Arc::new(AtomicUsize::new(0));
    let store = MemoryStore::new();
    let layer = SessionLayer::<Account>::store_builder(Key::generate(), store.clone())
        .on_load(generation_hook(generations.clone(), Arc::clone(&calls)))
        .build()
        .expect("layer");
    let app = accounts_app(layer, generations);

    let mut laptop = TestClient::new(app.clone());
    let mut phone = TestClient::new(app);
    laptop.get("/login?user=1").await;
    phone.get("/login?user=1").await;
    assert_eq!(body_text(phone.get("/").await).await, "Some(1) visits: 1");
    assert_eq!(store.len(), 2);
    let response = laptop.get("/sign-out-others").await;
    assert_eq!(body_text(response).await, "done");

    let response = phone.get("/read-only").await;
    assert_eq!(removed_names(&response), names(&["id"]));
    assert_eq!(body_text(response).await, "None");
    assert_eq!(store.len(), 1, "the refused record is deleted");
    let response = laptop.get("/").await;
    assert_eq!(body_text(response).await, "Some(1) visits: 1");
    assert!(calls.load(Ordering::SeqCst) >= 3);
}

#[tokio::test]
async fn a_failing_hook_with_a_store_is_a_503_and_keeps_the_record() {
    let store = MemoryStore::new();
    let layer = SessionLayer::<Counter>::store_builder(Key::generate(), store.clone())
        .on_load(|counter: &Counter, _| {
            let visits = counter.visits;
            async move {
                if visits > 0 {
                    Err(StoreError::backend(std::io::Error::other("db down")))
                } else {
                    Ok(true)
                }
            }
        })
        .build()
        .expect("layer");
    let mut client = TestClient::new(counter_app(layer));
    client.get("/").await;
    let response = client.get("/").await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(set_cookies(&response).is_empty());
    assert_eq!(store.len(), 1);
}

#[tokio::test]
async fn a_refused_session_that_is_only_read_has_its_cookies_removed() {
    let layer = SessionLayer::<Counter>::builder(Key::generate())
        .max_cookie_size(3 * 4096)
        .on_load(|counter: &Counter, _| {
            let keep = counter.visits < 2;
            async move { Ok(keep) }
        })
        .build()
        .expect("layer");
    let mut client = TestClient::new(counter_app(layer));
    client.get("/resize?bytes=9000").await;
    client.get("/").await;
    client.get("/").await;
    let logs = Logs::capture();
    let response = client.get("/read").await;
    assert_eq!(removed_names(&response), names(&["id.0", "id.1", "id.2"]));
    assert_eq!(body_text(response).await, "visits: 0");
    assert!(
        logs.text().contains("refused by the load hook"),
        "{}",
        logs.text()
    );
}

#[tokio::test]
async fn the_hook_gets_the_sealed_issue_time() {
    let clock = TestClock::new();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let layer = clocked_builder(&clock)
        .on_load({
            let seen = Arc::clone(&seen);
            move |_: &Counter, issued| {
                seen.lock().expect("lock").push(issued);
                async { Ok(true) }
            }
        })
        .build()
        .expect("layer");
    let mut client = TestClient::new(counter_app(layer));
    client.get("/").await;
    clock.set(50);
    client.get("/").await;
    client.get("/renew").await;
    client.get("/").await;
    assert_eq!(*seen.lock().expect("lock"), [at(0), at(0), at(50)]);
}

#[tokio::test]
async fn revoked_sessions_never_reach_the_hook() {
    let clock = TestClock::new();
    let calls = Arc::new(AtomicUsize::new(0));
    let layer = clocked_builder(&clock)
        .on_load({
            let calls = Arc::clone(&calls);
            move |_: &Counter, _| {
                calls.fetch_add(1, Ordering::SeqCst);
                async { Ok(true) }
            }
        })
        .build()
        .expect("layer");
    let revocation = layer.revocation();
    let mut client = TestClient::new(counter_app(layer));
    client.get("/").await;
    clock.set(10);
    revocation.revoke_issued_before(at(5));
    let response = client.get("/read").await;
    assert_eq!(body_text(response).await, "visits: 0");
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_failing_hook_is_a_503_and_the_cookies_stay() {
    let logs = Logs::capture();
    let layer = SessionLayer::<Counter>::builder(Key::generate())
        .on_load(|counter: &Counter, _| {
            let visits = counter.visits;
            async move {
                if visits > 0 {
                    Err(StoreError::backend(std::io::Error::other(
                        "generations db down",
                    )))
                } else {
                    Ok(true)
                }
            }
        })
        .build()
        .expect("layer");
    let mut client = TestClient::new(counter_app(layer));
    client.get("/").await;
    let before = cookie_header_of(&client);
    let response = client.get("/").await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(set_cookies(&response).is_empty());
    assert_eq!(body_text(response).await, "session store unavailable\n");
    assert_eq!(cookie_header_of(&client), before);
    assert!(
        logs.text().contains("generations db down"),
        "{}",
        logs.text()
    );
}

#[tokio::test]
async fn a_slow_hook_times_out_as_a_503() {
    let layer = SessionLayer::<Counter>::builder(Key::generate())
        .timeout(Duration::from_millis(50))
        .on_load(|counter: &Counter, _| {
            let visits = counter.visits;
            async move {
                if visits > 0 {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                }
                Ok(true)
            }
        })
        .build()
        .expect("layer");
    let mut client = TestClient::new(counter_app(layer));
    client.get("/").await;
    let started = std::time::Instant::now();
    let response = client.get("/").await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(set_cookies(&response).is_empty());
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_panicking_hook_is_caught_like_a_handler_and_sends_no_cookie() {
    let layer = SessionLayer::<Counter>::builder(Key::generate())
        .on_load(|counter: &Counter, _| {
            assert!(counter.visits == 0, "the hook's own bug");
            async { Ok(true) }
        })
        .build()
        .expect("layer");
    // The panic layer inside the session layer: the session layer sees
    // its 500 and has nothing to send, the load never having finished.
    let app = Router::new()
        .route(
            "/",
            get(|session: Session<Counter>| async move {
                session.update(|counter| counter.visits += 1);
                "counted"
            }),
        )
        .layer(tower_http::catch_panic::CatchPanicLayer::new())
        .layer(layer);
    let mut client = TestClient::new(app);
    client.get("/").await;
    let before = cookie_header_of(&client);
    assert!(before.is_some());
    let response = client.get("/").await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(set_cookies(&response).is_empty());
    assert_eq!(cookie_header_of(&client), before);
}
