//! Checks of requests that overlap on one session: what each policy keeps,
//! and what a logout or a refresh in between does to a writer.
//!
//! The requests run as tasks of their own and meet at a barrier after
//! their session is loaded, so both have loaded before either saves.

use std::sync::Arc;
use std::time::Duration;

use http::{Method, StatusCode};
use tokio::sync::Barrier;

use super::app::{map_app, number_app};
use super::client::{get, send, set, value, Answer, App};
use super::setup::{builder, inactivity_layer, layer, record_key, stored, MapLayer, TestClock};
use crate::store::SessionStore;
use crate::ConflictPolicy;

/// Sends both GETs at once, each as a task, and waits for both.
async fn both<A: App>(app: &A, first: &str, second: &str, cookie: &str) -> (Answer, Answer) {
    let first = tokio::spawn(get(app, first, Some(cookie)));
    let second = tokio::spawn(get(app, second, Some(cookie)));
    (
        first.await.expect("first request"),
        second.await.expect("second request"),
    )
}

/// Two requests load the same session, then both save.
async fn race<S: SessionStore + Clone>(
    layer: MapLayer<S>,
    first: &str,
    second: &str,
) -> (impl App, String, StatusCode, StatusCode) {
    let app = map_app(&layer, Arc::new(Barrier::new(2)));
    let cookie = set(&app, None, "key=seed&value=0").await.id_cookie();
    let (first, second) = (format!("/race?{first}"), format!("/race?{second}"));
    let (a, b) = both(&app, &first, &second, &cookie).await;
    (app, cookie, a.status, b.status)
}

pub(super) async fn destroy_in_flight_is_not_undone<S: SessionStore + Clone>(store: S) {
    let barrier = Arc::new(Barrier::new(2));
    let app = map_app(&layer(&store), Arc::clone(&barrier));
    let cookie = set(&app, None, "key=a&value=1").await.id_cookie();

    // The racing request loads, then waits while another request logs out.
    let racing = tokio::spawn(get(&app, "/race?key=b&value=2", Some(&cookie)));
    tokio::time::sleep(Duration::from_millis(50)).await;
    let logout = send(&app, Method::POST, "/logout", Some(&cookie)).await;
    assert_eq!(logout.status, 200);
    barrier.wait().await;
    let late = racing.await.expect("task");
    assert_eq!(late.status, 200);
    assert!(
        late.set_cookies.is_empty(),
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

/// `SessionMap` sessions merge changes to different keys by default.
pub(super) async fn session_map_merges_different_keys<S: SessionStore + Clone>(store: S) {
    let (app, cookie, a, b) = race(layer(&store), "key=a&value=1", "key=b&value=2").await;
    assert_eq!((a, b), (StatusCode::OK, StatusCode::OK));
    assert_eq!(value(&app, &cookie, "a").await, "1");
    assert_eq!(value(&app, &cookie, "b").await, "2");
    assert_eq!(value(&app, &cookie, "seed").await, "0");
}

/// A real conflict (both changed the same key) is still an error by default.
pub(super) async fn same_key_conflicts<S: SessionStore + Clone>(store: S) {
    let (app, cookie, a, b) = race(layer(&store), "key=a&value=1", "key=a&value=2").await;
    let mut statuses = [a.as_u16(), b.as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409]);
    let kept = value(&app, &cookie, "a").await;
    assert!(kept == "1" || kept == "2", "one write kept whole: {kept}");
}

pub(super) async fn error_policy_answers_409<S: SessionStore + Clone>(store: S) {
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

/// `KeepLatest`: both requests answer 200, and exactly one of the two
/// writes is kept whole.
pub(super) async fn keep_latest_drops_this_requests_changes<S: SessionStore + Clone>(store: S) {
    let layer = builder(&store)
        .conflict_policy(ConflictPolicy::KeepLatest)
        .build()
        .expect("layer");
    let (app, cookie, a, b) = race(layer, "key=a&value=1", "key=a&value=2").await;
    assert_eq!((a, b), (StatusCode::OK, StatusCode::OK));
    let kept = value(&app, &cookie, "a").await;
    assert!(kept == "1" || kept == "2", "one write kept whole: {kept}");
}

/// Two parallel requests that call `update` without changing anything:
/// neither saves, so neither conflicts, and the record is untouched.
pub(super) async fn updates_that_change_nothing_never_conflict<S: SessionStore + Clone>(store: S) {
    let layer = builder::<u64, _>(&store)
        .conflict_policy(ConflictPolicy::Error)
        .build()
        .expect("layer");
    let app = number_app(&layer, Arc::new(Barrier::new(2)));
    let cookie = get(&app, "/set", None).await.id_cookie();
    let before = stored(&store, &cookie).await;
    let (a, b) = both(&app, "/look", "/look", &cookie).await;
    assert_eq!((a.status, b.status), (StatusCode::OK, StatusCode::OK));
    assert!(a.set_cookies.is_empty() && b.set_cookies.is_empty());
    assert_eq!(a.body, "7");
    let after = stored(&store, &cookie).await;
    assert_eq!(after.version, before.version, "nothing was written");
}

/// A visitor who only reads stays signed in past several idle windows: each
/// due refresh moves the record's expiry with a `touch`, which leaves the
/// version alone, so a writer that loaded before it still saves.
pub(super) async fn reads_keep_an_idle_session_alive_beside_a_writer<S: SessionStore + Clone>(
    store: S,
) {
    let clock = TestClock::starting_now();
    let barrier = Arc::new(Barrier::new(2));
    let app = map_app(&inactivity_layer(&store, 100, &clock), Arc::clone(&barrier));
    let cookie = set(&app, None, "key=a&value=1").await.id_cookie();
    for step in 0..6 {
        clock.advance(50);
        assert_eq!(value(&app, &cookie, "a").await, "1", "read {step}");
    }

    // With a refresh due, a writer loads, a read refreshes (a touch), then
    // the writer saves: the touch left the version alone, so the writer's
    // compare-and-set still succeeds.
    clock.advance(50);
    let writer = tokio::spawn(get(&app, "/race?key=b&value=2", Some(&cookie)));
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
        written.status, 200,
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
