//! Checks of a session's life through the layer: created, read, written,
//! expired, refreshed, renewed, destroyed.

use std::time::{Duration, SystemTime};

use http::Method;

use super::app::plain_map_app;
use super::client::{get, send, set, value};
use super::setup::{inactivity_layer, layer, record_key, session_id, stored, TestClock};
use crate::store::{Record, RecordKey, SessionStore};

pub(super) async fn round_trip<S: SessionStore + Clone>(store: S) {
    let app = plain_map_app(&layer(&store));
    let first = set(&app, None, "key=user&value=ada").await;
    assert_eq!(first.status, 200);
    let cookie = first
        .cookie_pair("id")
        .expect("a new session sets its id cookie");
    assert_eq!(session_id(&cookie).len(), 16, "128-bit ids");
    assert_eq!(value(&app, &cookie, "user").await, "ada");
    let record = stored(&store, &cookie).await;
    assert_eq!(record.version, 1);

    let second = set(&app, Some(&cookie), "key=theme&value=dark").await;
    assert_eq!(second.status, 200);
    assert!(
        second.set_cookies.is_empty(),
        "same id, browser-session cookie: nothing to resend"
    );
    assert_eq!(value(&app, &cookie, "user").await, "ada");
    assert_eq!(value(&app, &cookie, "theme").await, "dark");
    let record = stored(&store, &cookie).await;
    assert_eq!(record.version, 2);
}

pub(super) async fn untouched_request_makes_no_store_call<S: SessionStore + Clone>(store: S) {
    let app = plain_map_app(&layer(&store));
    let read = get(&app, "/read", None).await;
    assert!(
        read.set_cookies.is_empty(),
        "reading a new session saves nothing"
    );
    assert_eq!(read.body, "0");
}

pub(super) async fn expired_record_is_refused<S: SessionStore + Clone>(store: S) {
    let clock = TestClock::starting_now();
    let app = plain_map_app(&inactivity_layer(&store, 600, &clock));
    let cookie = set(&app, None, "key=a&value=1").await.id_cookie();
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

pub(super) async fn rolling_refresh_touches_the_record<S: SessionStore + Clone>(store: S) {
    let clock = TestClock::starting_now();
    let app = plain_map_app(&inactivity_layer(&store, 1000, &clock));
    let cookie = set(&app, None, "key=a&value=1").await.id_cookie();
    let before = stored(&store, &cookie).await;

    clock.advance(400);
    let early = get(&app, "/read", Some(&cookie)).await;
    assert!(early.set_cookies.is_empty(), "not due yet");

    clock.advance(100);
    let due = get(&app, "/read", Some(&cookie)).await;
    assert!(
        due.set_cookie_for("id").is_some(),
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

pub(super) async fn renew_changes_the_id_and_keeps_the_data<S: SessionStore + Clone>(store: S) {
    let app = plain_map_app(&layer(&store));
    let old = set(&app, None, "key=cart&value=3").await.id_cookie();
    let renewed = get(&app, "/renew", Some(&old)).await;
    let new = renewed.cookie_pair("id").expect("renew sends the new id");
    assert_ne!(session_id(&new), session_id(&old));
    assert_eq!(value(&app, &new, "cart").await, "3");
    assert_eq!(
        value(&app, &old, "cart").await,
        "none",
        "the old id is gone"
    );
    assert!(store.load(&record_key(&old)).await.expect("load").is_none());
}

pub(super) async fn destroy_deletes_the_record<S: SessionStore + Clone>(store: S) {
    let app = plain_map_app(&layer(&store));
    let cookie = set(&app, None, "key=a&value=1").await.id_cookie();
    let response = send(&app, Method::POST, "/logout", Some(&cookie)).await;
    let line = response.set_cookie_for("id").expect("removal");
    assert!(line.contains("Max-Age=0"), "{line}");
    assert!(store
        .load(&record_key(&cookie))
        .await
        .expect("load")
        .is_none());
    assert_eq!(value(&app, &cookie, "a").await, "none");
}
