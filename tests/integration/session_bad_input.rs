//! Every kind of bad session cookie gives the handler a fresh session,
//! never an error, and says why at debug level.

use crate::common::key;
use crate::common::*;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use tower_cookie_sessions::fuzzing::{self, Purpose};
use tower_cookie_sessions::{CookieLayer, Key, KeyRing, SessionLayer};

fn app_with(key: Key, clock: &TestClock) -> axum::Router {
    counter_app(
        SessionLayer::builder(key)
            .clock(clock.source())
            .build()
            .expect("layer"),
    )
}

/// A valid `id=…` pair with one visit counted.
async fn valid_cookie(clock: &TestClock) -> String {
    let app = app_with(key(0x8f), clock);
    cookie_pair(&get_with(&app, "/", None).await, "id").expect("cookie")
}

/// Asserts that the request with `cookie` got a fresh session, answered
/// normally, and that the log says why.
async fn assert_fresh(cookie: &str, clock: &TestClock, reason: &str) {
    let logs = Logs::capture();
    let app = app_with(key(0x8f), clock);
    let response = get_with(&app, "/read", Some(cookie)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        body_text(response).await,
        "visits: 0",
        "not a fresh session"
    );
    let text = logs.text();
    assert!(text.contains(reason), "expected {reason:?} in logs: {text}");
    assert!(
        !text.contains(cookie.trim_start_matches("id=")),
        "the log shows the cookie value"
    );
}

#[tokio::test]
async fn missing_cookie_starts_a_fresh_session() {
    let app = app_with(key(0x8f), &TestClock::new());
    let response = get_with(&app, "/read", None).await;
    assert_eq!(body_text(response).await, "visits: 0");
}

#[tokio::test]
async fn malformed_cookie_starts_a_fresh_session() {
    assert_fresh("id=not*base64!", &TestClock::new(), "not base64url").await;
}

#[tokio::test]
async fn tampered_cookie_starts_a_fresh_session() {
    let clock = TestClock::new();
    let cookie = valid_cookie(&clock).await;
    let value = cookie.trim_start_matches("id=");
    let mut raw = URL_SAFE_NO_PAD.decode(value).expect("base64");
    let middle = raw.len() / 2;
    raw[middle] ^= 0x01;
    let tampered = format!("id={}", URL_SAFE_NO_PAD.encode(&raw));
    assert_fresh(&tampered, &clock, "failed authentication").await;
}

#[tokio::test]
async fn truncated_cookie_starts_a_fresh_session() {
    let clock = TestClock::new();
    let cookie = valid_cookie(&clock).await;
    assert_fresh(
        &cookie[..cookie.len() - 12],
        &clock,
        "failed authentication",
    )
    .await;
    assert_fresh(&cookie[..23], &clock, "truncated").await;
}

#[tokio::test]
async fn oversized_cookie_is_refused_before_decoding() {
    let big = format!("id={}", "A".repeat(5000));
    assert_fresh(&big, &TestClock::new(), "too large").await;
}

#[tokio::test]
async fn cookie_from_another_key_starts_a_fresh_session() {
    let clock = TestClock::new();
    let other = app_with(Key::generate(), &clock);
    let cookie = cookie_pair(&get_with(&other, "/", None).await, "id").expect("cookie");
    // Same key id (0), different key: authentication fails.
    assert_fresh(&cookie, &clock, "failed authentication").await;

    let ring = KeyRing::new(9, Key::generate());
    let sealed = fuzzing::seal_as(&ring, Purpose::Session, "id", b"anything");
    assert_fresh(&format!("id={sealed}"), &clock, "not in the key ring").await;
}

#[tokio::test]
async fn renamed_cookie_starts_a_fresh_session() {
    let clock = TestClock::new();
    let named = counter_app(
        SessionLayer::builder(key(0x8f))
            .cookie_name("other")
            .clock(clock.source())
            .build()
            .expect("layer"),
    );
    let cookie = cookie_pair(&get_with(&named, "/", None).await, "other").expect("cookie");
    let renamed = cookie.replacen("other=", "id=", 1);
    assert_fresh(&renamed, &clock, "failed authentication").await;
}

#[tokio::test]
async fn private_cookie_replayed_as_session_is_refused() {
    let clock = TestClock::new();
    let jar_app = axum::Router::new()
        .route(
            "/",
            axum::routing::get(|cookies: tower_cookie_sessions::Cookies| async move {
                cookies
                    .private()
                    .expect("key")
                    .add(tower_cookie_sessions::Cookie::new("id", "whatever"))
                    .expect("a valid cookie");
            }),
        )
        .layer(CookieLayer::new().with_key(key(0x8f)));
    let response = get_with(&jar_app, "/", None).await;
    let cookie = cookie_pair(&response, "id").expect("private cookie");
    assert_fresh(&cookie, &clock, "failed authentication").await;
}

#[tokio::test]
async fn expired_cookie_starts_a_fresh_session() {
    let clock = TestClock::new();
    let cookie = valid_cookie(&clock).await;
    let two_weeks = 14 * 24 * 60 * 60;
    clock.set(two_weeks - 1);
    let app = app_with(key(0x8f), &clock);
    let response = get_with(&app, "/read", Some(&cookie)).await;
    assert_eq!(
        body_text(response).await,
        "visits: 1",
        "valid one second before"
    );

    clock.set(two_weeks);
    assert_fresh(&cookie, &clock, "absolute deadline passed").await;
}

#[tokio::test]
async fn future_dated_cookie_starts_a_fresh_session() {
    let clock = TestClock::new();
    clock.advance(3600);
    let cookie = valid_cookie(&clock).await;
    clock.set(0);
    assert_fresh(&cookie, &clock, "issued in the future").await;
}

#[tokio::test]
async fn changed_schema_version_starts_a_fresh_session() {
    let clock = TestClock::new();
    let cookie = valid_cookie(&clock).await;
    let logs = Logs::capture();
    let app = counter_app(
        SessionLayer::builder(key(0x8f))
            .schema_version(2)
            .clock(clock.source())
            .build()
            .expect("layer"),
    );
    let response = get_with(&app, "/read", Some(&cookie)).await;
    assert_eq!(body_text(response).await, "visits: 0");
    assert!(
        logs.text().contains("schema version changed"),
        "{}",
        logs.text()
    );
}

#[tokio::test]
async fn undecodable_session_data_starts_a_fresh_session() {
    let clock = TestClock::new();
    // Sealed as a different type under the same key and name.
    let other = axum::Router::new()
        .route(
            "/",
            axum::routing::get(
                |session: tower_cookie_sessions::Session<Vec<u64>>| async move {
                    session.set(vec![u64::MAX; 3]);
                },
            ),
        )
        .layer(
            SessionLayer::<Vec<u64>>::builder(key(0x8f))
                .clock(clock.source())
                .build()
                .expect("layer"),
        );
    let cookie = cookie_pair(&get_with(&other, "/", None).await, "id").expect("cookie");
    assert_fresh(&cookie, &clock, "does not decode").await;
}

#[tokio::test]
async fn several_cookie_headers_are_all_read() {
    let clock = TestClock::new();
    let cookie = valid_cookie(&clock).await;
    let app = app_with(key(0x8f), &clock);
    let request = http::Request::get("/read")
        .header("cookie", "theme=dark; lang=en")
        .header("cookie", format!("a=b; {cookie}"))
        .body(axum::body::Body::empty())
        .expect("request");
    assert_eq!(body_text(send(&app, request).await).await, "visits: 1");
}

#[tokio::test]
async fn duplicate_names_use_the_first_that_authenticates_in_either_order() {
    let clock = TestClock::new();
    let valid = valid_cookie(&clock).await;
    let app = app_with(key(0x8f), &clock);
    for header in [format!("id=bogus; {valid}"), format!("{valid}; id=bogus")] {
        let response = get_with(&app, "/read", Some(&header)).await;
        assert_eq!(body_text(response).await, "visits: 1", "{header}");
    }
}

#[tokio::test]
async fn duplicate_names_are_never_merged() {
    let clock = TestClock::new();
    let app = app_with(key(0x8f), &clock);
    let one = cookie_pair(&get_with(&app, "/", None).await, "id").expect("cookie");
    let two_response = get_with(&app, "/", Some(&one)).await;
    let two = cookie_pair(&two_response, "id").expect("cookie");
    let response = get_with(&app, "/read", Some(&format!("{two}; {one}"))).await;
    assert_eq!(body_text(response).await, "visits: 2");
    let response = get_with(&app, "/read", Some(&format!("{one}; {two}"))).await;
    assert_eq!(body_text(response).await, "visits: 1");
}

#[tokio::test]
async fn at_most_three_candidates_are_tried() {
    let clock = TestClock::new();
    let valid = valid_cookie(&clock).await;
    let app = app_with(key(0x8f), &clock);
    let third = format!("id=x; id=y; {valid}");
    assert_eq!(
        body_text(get_with(&app, "/read", Some(&third)).await).await,
        "visits: 1"
    );
    let fourth = format!("id=x; id=y; id=z; {valid}");
    assert_eq!(
        body_text(get_with(&app, "/read", Some(&fourth)).await).await,
        "visits: 0"
    );
}
