//! `MemoryStore` runs the store conformance suite, plus its own limits.

mod common;

use tower_cookie_sessions::store::{CachingStore, MemoryStore};

store_conformance!(async { Some(MemoryStore::new()) });

mod caching {
    use super::*;

    store_conformance!(async { Some(CachingStore::new(MemoryStore::new(), MemoryStore::new())) });
}

use common::store_suite::{map_app, suite_key};
use common::{body_text, cookie_pair, get_with};
use tower_cookie_sessions::{SessionLayer, SessionMap};

fn app(store: &MemoryStore) -> axum::Router {
    map_app(
        SessionLayer::<SessionMap>::new(suite_key())
            .expect("layer")
            .with_store(store.clone()),
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
async fn the_least_recently_used_session_is_evicted_at_capacity() {
    let store = MemoryStore::new().with_capacity(2);
    let app = app(&store);
    let mut cookies = Vec::new();
    for i in 0..2 {
        let response = get_with(&app, &format!("/set?key=n&value={i}"), None).await;
        cookies.push(cookie_pair(&response, "id").expect("cookie"));
    }
    // Reading the first makes the second the least recently used.
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
    let mut service = SessionLayer::<u64>::new(suite_key())
        .expect("layer")
        .with_store(MemoryStore::new())
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
