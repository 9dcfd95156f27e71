//! Inactivity timeouts, rolling refresh and the absolute cap, checked at
//! their edges by moving the layer's clock.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::common::*;
use tower_cookie_sessions::session::Expiry;
use tower_cookie_sessions::store::MemoryStore;
use tower_cookie_sessions::testing::TestClient;
use tower_cookie_sessions::{Key, SessionLayer};

const IDLE: u64 = 30 * 60;
const CAP: u64 = 2 * 60 * 60;

fn app(clock: &TestClock) -> axum::Router {
    counter_app(
        SessionLayer::builder(
            Key::from_bytes(&[3; 31].iter().chain(&[4]).copied().collect::<Vec<_>>()).expect("key"),
        )
        .expiry(Expiry::Inactivity(Duration::from_secs(IDLE)))
        .absolute_timeout(Duration::from_secs(CAP))
        .clock(clock.source())
        .build()
        .expect("layer"),
    )
}

fn max_age(line: &str) -> u64 {
    line.split("; ")
        .find_map(|part| part.strip_prefix("Max-Age="))
        .expect("a persistent cookie")
        .parse()
        .expect("seconds")
}

#[tokio::test]
async fn inactivity_timeout_ends_the_session_at_its_deadline() {
    let clock = TestClock::new();
    let app = app(&clock);
    let cookie = cookie_pair(&get_with(&app, "/", None).await, "id").expect("cookie");

    clock.set(IDLE - 1);
    let response = get_with(&app, "/read", Some(&cookie)).await;
    assert_eq!(body_text(response).await, "visits: 1", "one second before");

    clock.set(IDLE);
    let response = get_with(&app, "/read", Some(&cookie)).await;
    assert_eq!(body_text(response).await, "visits: 0", "at the deadline");
}

#[tokio::test]
async fn reads_refresh_only_once_half_the_window_has_passed() {
    let clock = TestClock::new();
    let app = app(&clock);
    let first = get_with(&app, "/", None).await;
    assert_eq!(
        max_age(&set_cookie_for(&first, "id").expect("cookie")),
        IDLE
    );
    let cookie = cookie_pair(&first, "id").expect("cookie");

    clock.set(IDLE / 2 - 1);
    let early = get_with(&app, "/read", Some(&cookie)).await;
    assert!(
        set_cookies(&early).is_empty(),
        "no refresh before it is due"
    );

    clock.set(IDLE / 2);
    let due = get_with(&app, "/read", Some(&cookie)).await;
    let line = set_cookie_for(&due, "id").expect("refresh is due");
    assert_eq!(max_age(&line), IDLE);
    assert_eq!(due.headers()["cache-control"], "private");
    let refreshed = cookie_pair(&due, "id").expect("cookie");

    // The refreshed cookie outlives the original deadline.
    clock.set(IDLE + 60);
    let later = get_with(&app, "/read", Some(&refreshed)).await;
    assert_eq!(body_text(later).await, "visits: 1");
    let stale = get_with(&app, "/read", Some(&cookie)).await;
    assert_eq!(body_text(stale).await, "visits: 0");
}

#[tokio::test]
async fn refresh_fraction_is_configurable() {
    let clock = TestClock::new();
    let app = counter_app(
        SessionLayer::builder(Key::generate())
            .expiry(Expiry::Inactivity(Duration::from_secs(100)))
            .refresh_after(0.9)
            .clock(clock.source())
            .build()
            .expect("layer"),
    );
    let cookie = cookie_pair(&get_with(&app, "/", None).await, "id").expect("cookie");
    clock.set(89);
    assert!(set_cookies(&get_with(&app, "/read", Some(&cookie)).await).is_empty());
    clock.set(90);
    assert!(set_cookie_for(&get_with(&app, "/read", Some(&cookie)).await, "id").is_some());
}

#[tokio::test]
async fn rolling_never_extends_the_absolute_cap() {
    let clock = TestClock::new();
    // On the real clock, the client keeps sending the cookie past the
    // cap: the layer itself must end the session.
    let mut client = TestClient::new(app(&clock));
    client.get("/").await;

    // Keep the session busy every 20 minutes right up to the cap.
    let mut at = 0;
    while at + 20 * 60 < CAP {
        at += 20 * 60;
        clock.set(at);
        let response = client.get("/").await;
        if let Some(line) = set_cookie_for(&response, "id") {
            assert!(
                at + max_age(&line) <= CAP,
                "Max-Age past the cap at {at}: {line}"
            );
        }
    }

    clock.set(CAP - 1);
    let before = client.get("/read").await;
    assert!(
        set_cookies(&before).is_empty(),
        "a capped deadline is not refreshed"
    );
    assert_ne!(
        body_text(before).await,
        "visits: 0",
        "valid one second before the cap"
    );

    clock.set(CAP);
    assert!(client.cookie("id").is_some());
    let after = client.get("/read").await;
    assert_eq!(body_text(after).await, "visits: 0", "ended at the cap");
}

#[tokio::test]
async fn writes_slide_the_inactivity_deadline() {
    let clock = TestClock::new();
    let app = app(&clock);
    let cookie = cookie_pair(&get_with(&app, "/", None).await, "id").expect("cookie");
    clock.set(10 * 60);
    let response = get_with(&app, "/", Some(&cookie)).await;
    assert_eq!(
        max_age(&set_cookie_for(&response, "id").expect("cookie")),
        IDLE
    );
    let cookie = cookie_pair(&response, "id").expect("cookie");
    clock.set(10 * 60 + IDLE - 1);
    assert_eq!(
        body_text(get_with(&app, "/read", Some(&cookie)).await).await,
        "visits: 2"
    );
}

#[tokio::test]
async fn renew_starts_a_new_absolute_window() {
    let clock = TestClock::new();
    let app = counter_app(
        SessionLayer::builder(Key::generate())
            .expiry(Expiry::MaxAge(Duration::from_secs(1000)))
            .clock(clock.source())
            .build()
            .expect("layer"),
    );
    let cookie = cookie_pair(&get_with(&app, "/", None).await, "id").expect("cookie");
    clock.set(900);
    let renewed = get_with(&app, "/renew", Some(&cookie)).await;
    let line = set_cookie_for(&renewed, "id").expect("cookie");
    assert_eq!(max_age(&line), 1000);
    let cookie = cookie_pair(&renewed, "id").expect("cookie");
    clock.set(1500);
    assert_eq!(
        body_text(get_with(&app, "/read", Some(&cookie)).await).await,
        "visits: 1"
    );
}

/// A clock that counts its readings.
fn counted_clock() -> (
    impl Fn() -> SystemTime + Send + Sync + 'static,
    Arc<AtomicUsize>,
) {
    let reads = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&reads);
    let clock = move || {
        counter.fetch_add(1, Ordering::SeqCst);
        SystemTime::now()
    };
    (clock, reads)
}

/// A new session is saved; then an existing one is loaded, changed and
/// saved again, with its inactivity deadline moved: one clock reading each.
async fn assert_one_reading_per_request(backend: &str, app: axum::Router, reads: &AtomicUsize) {
    let first = get_with(&app, "/", None).await;
    assert_eq!(reads.load(Ordering::SeqCst), 1, "{backend}: first request");
    let cookie = cookie_pair(&first, "id").expect("cookie");
    let second = get_with(&app, "/", Some(&cookie)).await;
    assert_eq!(body_text(second).await, "visits: 2", "{backend}");
    assert_eq!(reads.load(Ordering::SeqCst), 2, "{backend}: second request");
}

#[tokio::test]
async fn a_request_reads_the_clock_once_for_its_load_and_its_save() {
    let idle = Expiry::Inactivity(Duration::from_secs(IDLE));
    let (clock, reads) = counted_clock();
    let layer = SessionLayer::builder(Key::generate())
        .expiry(idle)
        .clock(clock)
        .build()
        .expect("layer");
    assert_one_reading_per_request("cookie", counter_app(layer), &reads).await;

    let (clock, reads) = counted_clock();
    let layer = SessionLayer::store_builder(Key::generate(), MemoryStore::new())
        .expiry(idle)
        .clock(clock)
        .build()
        .expect("layer");
    assert_one_reading_per_request("memory store", counter_app(layer), &reads).await;
}

/// The key of `app`'s layer.
fn app_key() -> Key {
    Key::from_bytes(&[3; 31].iter().chain(&[4]).copied().collect::<Vec<_>>()).expect("key")
}

fn removes(line: Option<String>) -> bool {
    line.is_some_and(|line| line.contains("Max-Age=0"))
}

#[tokio::test]
async fn an_expired_cookie_is_removed_even_by_a_read() {
    let clock = TestClock::new();
    let app = app(&clock);
    let cookie = cookie_pair(&get_with(&app, "/", None).await, "id").expect("cookie");
    clock.set(IDLE);
    let response = get_with(&app, "/read", Some(&cookie)).await;
    assert!(
        removes(set_cookie_for(&response, "id")),
        "{:?}",
        set_cookies(&response)
    );
    assert_eq!(body_text(response).await, "visits: 0");

    // A write in the same request starts a new session instead.
    let response = get_with(&app, "/", Some(&cookie)).await;
    let line = set_cookie_for(&response, "id").expect("a new session");
    assert!(!line.contains("Max-Age=0"), "{line}");
}

#[tokio::test]
async fn a_cookie_that_does_not_open_is_left_alone() {
    let clock = TestClock::new();
    let app = app(&clock);
    let cookie = cookie_pair(&get_with(&app, "/", None).await, "id").expect("cookie");

    // Tampered.
    let mut tampered = cookie.clone().into_bytes();
    let last = tampered.len() - 1;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).expect("ascii");
    let response = get_with(&app, "/read", Some(&tampered)).await;
    assert!(
        set_cookies(&response).is_empty(),
        "{:?}",
        set_cookies(&response)
    );

    // Sealed under a key this node does not have yet (a rolling rotation).
    let newer = tower_cookie_sessions::KeyRing::new(9, Key::generate())
        .with_old_key(0, app_key())
        .expect("ring");
    let other = counter_app(
        SessionLayer::<Counter>::builder(newer)
            .expiry(Expiry::Inactivity(Duration::from_secs(IDLE)))
            .clock(clock.source())
            .build()
            .expect("layer"),
    );
    let from_new_node = cookie_pair(&get_with(&other, "/", None).await, "id").expect("cookie");
    let response = get_with(&app, "/read", Some(&from_new_node)).await;
    assert!(
        set_cookies(&response).is_empty(),
        "the newer node's cookie survives this one"
    );
    assert_eq!(
        body_text(response).await,
        "visits: 0",
        "a fresh session here"
    );
}

#[tokio::test]
async fn an_expired_store_session_cookie_is_removed_even_by_a_read() {
    let clock = TestClock::starting_now();
    let app = counter_app(
        SessionLayer::<Counter>::store_builder(
            app_key(),
            MemoryStore::new().with_clock(clock.source()),
        )
        .expiry(Expiry::Inactivity(Duration::from_secs(IDLE)))
        .clock(clock.source())
        .build()
        .expect("layer"),
    );
    let cookie = cookie_pair(&get_with(&app, "/", None).await, "id").expect("cookie");
    clock.advance(IDLE);
    let response = get_with(&app, "/read", Some(&cookie)).await;
    assert!(
        removes(set_cookie_for(&response, "id")),
        "{:?}",
        set_cookies(&response)
    );
}

/// No layer seals a deadline more than 400 days ahead (the configuration
/// refuses longer lifetimes and `expire_in` caps them), so one further out
/// than that and a minute of clock skew is refused; the edge itself opens.
#[tokio::test]
async fn a_deadline_beyond_what_a_layer_seals_is_refused() {
    let key = Key::generate();
    let clock = TestClock::new();
    let app = counter_app(
        SessionLayer::builder(key.clone())
            .clock(clock.source())
            .build()
            .expect("layer"),
    );
    let furthest = clock.now() + tower_cookie_sessions::session::MAX_COOKIE_LIFETIME.as_secs() + 60;
    let sealed = |absolute: u64| {
        let plaintext = session_plaintext(0, clock.now(), absolute, &[4, 0]);
        let ring = tower_cookie_sessions::KeyRing::from(key.clone());
        let value = tower_cookie_sessions::fuzzing::seal_as(
            &ring,
            tower_cookie_sessions::fuzzing::Purpose::Session,
            "id",
            &plaintext,
        );
        format!("id={value}")
    };
    let read = |cookie: String| {
        let app = app.clone();
        async move { body_text(get_with(&app, "/read", Some(&cookie)).await).await }
    };
    assert_eq!(read(sealed(furthest)).await, "visits: 4");
    assert_eq!(read(sealed(furthest + 1)).await, "visits: 0");
}
