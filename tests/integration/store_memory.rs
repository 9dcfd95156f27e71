//! `MemoryStore` runs the store conformance suite, plus its own limits.

use tower_cookie_sessions::store::{CachingStore, MemoryStore};

tower_cookie_sessions::store_conformance!(async { Some(MemoryStore::new()) }, owner_index);

mod caching {
    use super::*;

    tower_cookie_sessions::store_conformance!(
        async { Some(CachingStore::new(MemoryStore::new(), MemoryStore::new())) },
        owner_index,
    );
}

use crate::common::map_app::{map_app, suite_key};
use crate::common::{body_text, cookie_pair, get_with};
use tower_cookie_sessions::{SessionLayer, SessionMap};

fn app(store: &MemoryStore) -> axum::Router {
    map_app(
        SessionLayer::<SessionMap>::store_builder(suite_key(), store.clone())
            .build()
            .expect("layer"),
    )
}

#[tokio::test]
async fn requests_that_never_write_leave_the_store_empty() {
    let store = MemoryStore::new();
    let app = app(&store);
    for i in 0..2_000 {
        let cookie = format!("id=forged{i}");
        let response = get_with(&app, "/read", Some(&cookie)).await;
        assert_eq!(body_text(response).await, "0");
    }
    assert!(store.is_empty());
}

#[tokio::test]
async fn a_session_on_probation_is_evicted_before_a_used_one() {
    let store = MemoryStore::new().with_capacity(2);
    let app = app(&store);
    let mut cookies = Vec::new();
    for i in 0..2 {
        let response = get_with(&app, &format!("/set?key=n&value={i}"), None).await;
        cookies.push(cookie_pair(&response, "id").expect("cookie"));
    }
    // Reading the first promotes it; the second, never used again, is
    // evicted by the third.
    let first = get_with(&app, "/get?key=n", Some(&cookies[0])).await;
    assert_eq!(body_text(first).await, "0");
    let third = get_with(&app, "/set?key=n&value=2", None).await;
    cookies.push(cookie_pair(&third, "id").expect("cookie"));

    assert_eq!(store.len(), 2);
    let values = [
        body_text(get_with(&app, "/get?key=n", Some(&cookies[0])).await).await,
        body_text(get_with(&app, "/get?key=n", Some(&cookies[1])).await).await,
        body_text(get_with(&app, "/get?key=n", Some(&cookies[2])).await).await,
    ];
    assert_eq!(values, ["0", "none", "2"]);
}

/// The flood the segmented LRU is for: ten times the store's capacity in
/// sessions that are written once and never come back (a bot on a page
/// that writes the session), while 100 visitors keep using theirs, each
/// less often than a whole capacity's worth of new sessions arrives. A
/// plain LRU would evict every visitor between two of their requests.
#[tokio::test]
async fn a_flood_of_one_request_sessions_does_not_evict_visitors_in_use() {
    const CAPACITY: usize = 1_000;
    const VISITORS: usize = 100;
    const ROUNDS: usize = 4;
    let store = MemoryStore::new().with_capacity(CAPACITY);
    let app = app(&store);

    let mut visitors = Vec::new();
    for i in 0..VISITORS {
        let response = get_with(&app, &format!("/set?key=user&value={i}"), None).await;
        visitors.push(cookie_pair(&response, "id").expect("cookie"));
    }
    let check_visitors = |round: usize| {
        let (app, visitors) = (&app, &visitors);
        async move {
            for (i, cookie) in visitors.iter().enumerate() {
                let response = get_with(app, "/get?key=user", Some(cookie)).await;
                assert_eq!(
                    body_text(response).await,
                    i.to_string(),
                    "visitor {i} lost its session in round {round}"
                );
            }
        }
    };
    check_visitors(0).await;

    for round in 1..=ROUNDS {
        // 2,500 new sessions per round: more than the whole capacity.
        for _ in 0..10 * CAPACITY / ROUNDS {
            let response = get_with(&app, "/set?key=cart&value=1", None).await;
            assert_eq!(response.status(), 200);
            assert!(cookie_pair(&response, "id").is_some(), "a create refused");
        }
        assert_eq!(store.len(), CAPACITY, "memory stays bounded");
        check_visitors(round).await;
    }
}

/// A login creates its record in the request that signs in, and the next
/// request may come after a flood larger than probation: a session with an
/// owner starts in the protected segment, so it is still there.
#[tokio::test]
async fn a_flood_right_after_sign_in_does_not_evict_the_signed_in() {
    const CAPACITY: usize = 1_000;
    const VISITORS: usize = 100;
    let store = MemoryStore::new().with_capacity(CAPACITY);
    let app = app(&store);

    let mut visitors = Vec::new();
    for i in 0..VISITORS {
        // Half sign in on their first request; half had an anonymous
        // session and sign in with a new id (`renew`), as a login handler
        // should.
        let cookie = if i % 2 == 0 {
            let response = get_with(
                &app,
                &format!("/set?key=user&value={i}&owner=user-{i}"),
                None,
            )
            .await;
            cookie_pair(&response, "id").expect("cookie")
        } else {
            let response = get_with(&app, "/set?key=cart&value=1", None).await;
            let anonymous = cookie_pair(&response, "id").expect("cookie");
            let path = format!("/set?key=user&value={i}&owner=user-{i}");
            get_with(&app, &path, Some(&anonymous)).await;
            let response = get_with(&app, "/renew", Some(&anonymous)).await;
            let renewed = cookie_pair(&response, "id").expect("a new id");
            assert_ne!(renewed, anonymous);
            renewed
        };
        visitors.push(cookie);
    }
    // Five times the capacity of anonymous one-request sessions before any
    // of them comes back.
    for _ in 0..5 * CAPACITY {
        let response = get_with(&app, "/set?key=cart&value=1", None).await;
        assert!(cookie_pair(&response, "id").is_some(), "a create refused");
    }
    assert_eq!(store.len(), CAPACITY, "memory stays bounded");
    for (i, cookie) in visitors.iter().enumerate() {
        let response = get_with(&app, "/get?key=user", Some(cookie)).await;
        assert_eq!(
            body_text(response).await,
            i.to_string(),
            "signed-in visitor {i} lost its session"
        );
    }
}

/// A store of 100 with 20 signed-in users, each with their own owner.
async fn twenty_signed_in(app: &axum::Router) -> Vec<String> {
    let mut users = Vec::new();
    for i in 0..20 {
        let path = format!("/set?key=user&value={i}&owner=user-{i}");
        let response = get_with(app, &path, None).await;
        users.push(cookie_pair(&response, "id").expect("cookie"));
    }
    users
}

async fn assert_all_signed_in(app: &axum::Router, users: &[String]) {
    for (i, cookie) in users.iter().enumerate() {
        let response = get_with(app, "/get?key=user", Some(cookie)).await;
        assert_eq!(
            body_text(response).await,
            i.to_string(),
            "signed-in user {i} lost their session"
        );
    }
}

/// One account signing in over and over (a script, or one user's many
/// devices) keeps at most ten protected sessions: the rest of its
/// sign-ins wait on probation, where they are evicted before anyone
/// else's protected session.
#[tokio::test]
async fn one_owners_sign_ins_do_not_evict_other_signed_in_users() {
    let store = MemoryStore::new().with_capacity(100);
    let app = app(&store);
    let users = twenty_signed_in(&app).await;
    for _ in 0..200 {
        let response = get_with(&app, "/set?key=user&value=m&owner=mallory", None).await;
        assert!(cookie_pair(&response, "id").is_some(), "a create refused");
        assert!(store.len() <= 100, "memory stays bounded");
    }
    assert_all_signed_in(&app, &users).await;
}

/// The same bound holds for sessions that reach the protected segment by
/// being used twice.
#[tokio::test]
async fn one_owners_sessions_used_twice_do_not_evict_other_signed_in_users() {
    let store = MemoryStore::new().with_capacity(100);
    let app = app(&store);
    let users = twenty_signed_in(&app).await;
    for _ in 0..200 {
        let response = get_with(&app, "/set?key=user&value=m&owner=mallory", None).await;
        let cookie = cookie_pair(&response, "id").expect("cookie");
        for _ in 0..2 {
            let response = get_with(&app, "/get?key=user", Some(&cookie)).await;
            assert_eq!(body_text(response).await, "m");
        }
        assert!(store.len() <= 100, "memory stays bounded");
    }
    assert_all_signed_in(&app, &users).await;
}

/// The bound is the store's to set: with room for only two protected
/// sessions per owner, an owner's third sign-in waits on probation, so
/// anonymous sessions evict it before its two newest.
#[tokio::test]
async fn the_protected_sessions_per_owner_are_configurable() {
    let store = MemoryStore::new()
        .with_capacity(10)
        .with_protected_per_owner(2);
    let app = app(&store);
    let mut devices = Vec::new();
    for i in 0..3 {
        let path = format!("/set?key=device&value={i}&owner=ada");
        let response = get_with(&app, &path, None).await;
        devices.push(cookie_pair(&response, "id").expect("cookie"));
    }
    // Enough anonymous sessions to churn probation once.
    for _ in 0..20 {
        get_with(&app, "/set?key=cart&value=1", None).await;
    }
    let mut kept = Vec::new();
    for cookie in &devices {
        let response = get_with(&app, "/get?key=device", Some(cookie)).await;
        kept.push(body_text(response).await);
    }
    assert_eq!(kept, ["none", "1", "2"]);
    assert_eq!(
        format!("{store:?}"),
        "MemoryStore { len: 10, capacity: 10, protected_per_owner: 2 }"
    );
}

/// Clones share one store, so they share its settings too: a capacity set
/// on the handle given to the layer bounds what any handle creates, and the
/// other handle's clock judges the layer's sessions.
#[tokio::test]
async fn clones_share_the_capacity_and_the_clock() {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;
    use std::time::{Duration, SystemTime};
    use tower_cookie_sessions::store::{Record, RecordKey, SessionStore as _};

    let store = MemoryStore::new();
    let app = app(&store.clone().with_capacity(10));
    for _ in 0..50 {
        let response = get_with(&app, "/set?key=cart&value=1", None).await;
        assert!(cookie_pair(&response, "id").is_some());
    }
    assert_eq!(store.len(), 10, "the layer's capacity bounds the store");
    assert_eq!(
        format!("{store:?}"),
        "MemoryStore { len: 10, capacity: 10, protected_per_owner: 10 }"
    );
    // Creates through the other handle are bounded by it too.
    for i in 0..20u8 {
        let key = RecordKey::for_session_id(&[i; 16]);
        let record = Record::new(vec![i], SystemTime::now() + Duration::from_secs(60));
        assert!(store.create(&key, &record).await.expect("create"));
    }
    assert_eq!(store.len(), 10, "one capacity for every handle");

    // A clock set on one handle is the one every handle sweeps by.
    let days = Arc::new(AtomicU64::new(0));
    let clock = Arc::clone(&days);
    let _ = store.clone().with_clock(move || {
        SystemTime::now() + Duration::from_secs(86_400 * clock.load(Ordering::SeqCst))
    });
    assert_eq!(store.len(), 10);
    days.store(400, Ordering::SeqCst);
    assert_eq!(store.delete_expired().await.expect("sweep"), 10);
    assert!(store.is_empty());
}

/// A store that answers at once arms no timer, so it needs no runtime: the
/// whole request completes on its first poll, outside tokio.
#[test]
fn a_memory_store_request_needs_no_runtime() {
    use std::future::Future;
    use std::pin::pin;
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};

    use http::{Request, Response};
    use tower::{service_fn, Layer, Service};
    use tower_cookie_sessions::{Session, SessionError};

    struct Noop;
    impl Wake for Noop {
        fn wake(self: Arc<Self>) {}
    }
    let waker = Waker::from(Arc::new(Noop));
    let mut service = SessionLayer::<u64>::store_builder(suite_key(), MemoryStore::new())
        .build()
        .expect("layer")
        .layer(service_fn(|request: Request<String>| async move {
            Session::<u64>::load(&request).await?.set(1);
            Ok::<_, SessionError>(Response::new(String::new()))
        }));
    let future = pin!(service.call(Request::new(String::new())));
    let Poll::Ready(response) = future.poll(&mut Context::from_waker(&waker)) else {
        panic!("the request waited");
    };
    let response = response.expect("saved");
    assert!(response.headers().contains_key("set-cookie"));
}
