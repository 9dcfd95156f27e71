//! A session's life through the layer: created, read, changed, renewed,
//! destroyed, and what each sends back.

use std::time::Duration;

use crate::common::*;
use axum::routing::get;
use axum::Router;
use tower_cookie_sessions::session::{Expiry, MAX_COOKIE_LIFETIME};
use tower_cookie_sessions::{Key, Session, SessionLayer, SessionMap};

fn layer(clock: &TestClock) -> SessionLayer<Counter> {
    SessionLayer::builder(Key::generate())
        .clock(clock.source())
        .build()
        .expect("layer")
}

#[tokio::test]
async fn session_round_trips_across_two_requests() {
    let app = counter_app(layer(&TestClock::new()));
    let first = get_with(&app, "/", None).await;
    let cookie = cookie_pair(&first, "id").expect("first visit sets the cookie");
    assert_eq!(body_text(first).await, "visits: 1");

    let second = get_with(&app, "/", Some(&cookie)).await;
    assert_eq!(body_text(second).await, "visits: 2");
}

#[tokio::test]
async fn default_cookie_attributes_are_the_safe_ones() {
    let app = counter_app(layer(&TestClock::new()));
    let response = get_with(&app, "/", None).await;
    let line = set_cookie_for(&response, "id").expect("cookie");
    let attributes: Vec<&str> = line.split("; ").skip(1).collect();
    assert_eq!(attributes, ["Path=/", "Secure", "HttpOnly", "SameSite=Lax"]);
}

#[tokio::test]
async fn untouched_session_sends_nothing_and_opens_nothing() {
    let logs = Logs::capture();
    let app = counter_app(layer(&TestClock::new()));
    let response = get_with(&app, "/health", Some("id=garbage-that-would-be-refused")).await;
    assert!(set_cookies(&response).is_empty());
    assert!(response.headers().get("vary").is_none());
    assert!(response.headers().get("cache-control").is_none());
    assert_eq!(body_text(response).await, "ok");
    assert!(
        !logs.text().contains("refused"),
        "the cookie was opened: {}",
        logs.text()
    );
}

#[tokio::test]
async fn reading_a_session_sends_no_cookie() {
    let app = counter_app(layer(&TestClock::new()));
    let cookie = cookie_pair(&get_with(&app, "/", None).await, "id").expect("cookie");
    let response = get_with(&app, "/read", Some(&cookie)).await;
    assert!(set_cookies(&response).is_empty());
    assert_eq!(response.headers()["vary"], "Cookie");
    assert_eq!(body_text(response).await, "visits: 1");
}

#[tokio::test]
async fn reading_a_fresh_session_sends_no_cookie() {
    let app = counter_app(layer(&TestClock::new()));
    let response = get_with(&app, "/read", None).await;
    assert!(set_cookies(&response).is_empty());
    assert_eq!(body_text(response).await, "visits: 0");
}

#[tokio::test]
async fn destroy_removes_the_cookie() {
    let app = counter_app(layer(&TestClock::new()));
    let cookie = cookie_pair(&get_with(&app, "/", None).await, "id").expect("cookie");
    let response = send(&app, request("POST", "/logout", Some(&cookie))).await;
    let line = set_cookie_for(&response, "id").expect("removal cookie");
    assert!(line.starts_with("id=;"), "{line}");
    assert!(line.contains("Max-Age=0"), "{line}");
    assert!(
        line.contains("Expires=Thu, 01 Jan 1970 00:00:00 GMT"),
        "{line}"
    );
    assert!(line.contains("Path=/") && line.contains("Secure"), "{line}");
    assert_eq!(body_text(response).await, "bye");
}

#[tokio::test]
async fn changes_after_destroy_start_a_new_session() {
    let clock = TestClock::new();
    let app = Router::new()
        .route(
            "/",
            get(|session: Session<Counter>| async move {
                session.destroy();
                session.update(|c| c.blob = "logged out".into());
                format!("{}", session.read(|c| c.visits))
            }),
        )
        .layer(layer(&clock));
    let response = get_with(&app, "/", None).await;
    let line = set_cookie_for(&response, "id").expect("a new session cookie");
    assert!(!line.contains("Max-Age=0"), "{line}");
    assert_eq!(body_text(response).await, "0");
}

#[tokio::test]
async fn renew_issues_again_and_earlier_copies_stay_valid() {
    let clock = TestClock::new();
    let app = Router::new()
        .route(
            "/renew",
            get(|session: Session<Counter>| async move {
                session.renew();
                format!("{:?}", session.issued_at())
            }),
        )
        .route(
            "/issued",
            get(|session: Session<Counter>| async move {
                session.update(|c| c.visits += 1);
                format!("{:?}", session.issued_at())
            }),
        )
        .layer(layer(&clock));
    let first = get_with(&app, "/issued", None).await;
    let old = cookie_pair(&first, "id").expect("cookie");
    let issued = body_text(first).await;

    clock.advance(100);
    let renewed = get_with(&app, "/renew", Some(&old)).await;
    let new = cookie_pair(&renewed, "id").expect("renew sends a cookie");
    assert_ne!(body_text(renewed).await, issued);
    assert_ne!(new, old);

    let still = get_with(&app, "/issued", Some(&old)).await;
    assert_eq!(
        body_text(still).await,
        issued,
        "the old copy is still valid"
    );
}

#[tokio::test]
async fn clones_share_one_session_across_await() {
    let app = Router::new()
        .route(
            "/",
            get(|session: Session<Counter>| async move {
                let clone = session.clone();
                tokio::spawn(async move { clone.update(|c| c.visits = 41) })
                    .await
                    .expect("task");
                tokio::task::yield_now().await;
                session.update(|c| c.visits += 1);
                format!("{}", session.cloned().visits)
            }),
        )
        .layer(layer(&TestClock::new()));
    let response = get_with(&app, "/", None).await;
    assert!(set_cookie_for(&response, "id").is_some());
    assert_eq!(body_text(response).await, "42");
}

#[tokio::test]
async fn browser_session_cookie_has_no_max_age_until_made_persistent() {
    let app = Router::new()
        .route(
            "/",
            get(|session: Session<Counter>| async move {
                session.update(|c| c.visits += 1);
            }),
        )
        .route(
            "/remember",
            get(|session: Session<Counter>| async move {
                session.set_persistent(true);
            }),
        )
        .layer(layer(&TestClock::new()));
    let line = set_cookie_for(&get_with(&app, "/", None).await, "id").expect("cookie");
    assert!(!line.contains("Max-Age"), "{line}");

    let line = set_cookie_for(&get_with(&app, "/remember", None).await, "id").expect("cookie");
    let two_weeks = 14 * 24 * 60 * 60;
    assert!(line.contains(&format!("Max-Age={two_weeks}")), "{line}");
}

#[tokio::test]
async fn max_age_expiry_sends_a_persistent_cookie() {
    let layer = SessionLayer::<Counter>::builder(Key::generate())
        .clock(TestClock::new().source())
        .expiry(Expiry::MaxAge(Duration::from_secs(3600)))
        .build()
        .expect("a lifetime browsers keep");
    let app = counter_app(layer);
    let line = set_cookie_for(&get_with(&app, "/", None).await, "id").expect("cookie");
    assert!(line.contains("Max-Age=3600"), "{line}");
}

/// `/expire` makes the session persistent and ends it `duration` from now,
/// answering with its deadline in Unix seconds; `/read` answers whether
/// the session is new.
fn expiring_app(clock: &TestClock, duration: Duration) -> Router {
    Router::new()
        .route(
            "/expire",
            get(move |session: Session<Counter>| async move {
                session.set_persistent(true);
                session.expire_in(duration);
                let deadline = session.expires_at().duration_since(std::time::UNIX_EPOCH);
                format!("{}", deadline.expect("after 1970").as_secs())
            }),
        )
        .route(
            "/read",
            get(|session: Session<Counter>| async move { format!("{}", session.is_new()) }),
        )
        .layer(layer(clock))
}

/// The session behind `cookie` is still there `seconds - 1` from now and
/// gone (a new one) at `seconds`.
async fn assert_lasts(app: &Router, clock: &TestClock, cookie: &str, seconds: u64) {
    clock.advance(seconds - 1);
    assert_eq!(
        body_text(get_with(app, "/read", Some(cookie)).await).await,
        "false"
    );
    clock.advance(1);
    assert_eq!(
        body_text(get_with(app, "/read", Some(cookie)).await).await,
        "true"
    );
}

#[tokio::test]
async fn expire_in_overrides_the_deadline_for_one_session() {
    let clock = TestClock::new();
    let app = expiring_app(&clock, Duration::from_secs(60));
    let response = get_with(&app, "/expire", None).await;
    let line = set_cookie_for(&response, "id").expect("cookie");
    assert!(line.contains("Max-Age=60"), "{line}");
    let cookie = cookie_pair(&response, "id").expect("cookie");

    assert_lasts(&app, &clock, &cookie, 60).await;
}

#[tokio::test]
async fn expire_in_is_capped_at_what_browsers_keep() {
    let clock = TestClock::new();
    let app = expiring_app(&clock, Duration::MAX);
    let response = get_with(&app, "/expire", None).await;
    let line = set_cookie_for(&response, "id").expect("cookie");
    let max_age = MAX_COOKIE_LIFETIME.as_secs();
    assert!(line.contains(&format!("Max-Age={max_age};")), "{line}");
    let cookie = cookie_pair(&response, "id").expect("cookie");
    assert_eq!(
        body_text(response).await,
        format!("{}", clock.now() + max_age),
        "the sealed deadline is capped too"
    );

    assert_lasts(&app, &clock, &cookie, max_age).await;
}

#[tokio::test]
async fn session_map_works_flask_style() {
    let app = Router::new()
        .route(
            "/login",
            get(|session: Session<SessionMap>| async move {
                session
                    .update(|map| map.insert("user", &"ada".to_owned()))
                    .expect("insert");
            }),
        )
        .route(
            "/whoami",
            get(|session: Session<SessionMap>| async move {
                let user: Option<String> = session.read(|map| map.get("user")).expect("typed get");
                let wrong = session.read(|map| map.get::<u64>("user"));
                format!("{user:?} {}", wrong.is_err())
            }),
        )
        .layer(SessionLayer::<SessionMap>::new(Key::generate()).expect("layer"));
    let cookie = cookie_pair(&get_with(&app, "/login", None).await, "id").expect("cookie");
    let response = get_with(&app, "/whoami", Some(&cookie)).await;
    assert_eq!(body_text(response).await, "Some(\"ada\") true");
}
