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
