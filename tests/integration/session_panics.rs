//! A change that panics half-way poisons the session: its data goes back
//! to what was loaded, and nothing of it is saved.

use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::common::{body_text, cookie_pair, get_with, set_cookies};
use axum::routing::get;
use axum::Router;
use http::StatusCode;
use serde::{Deserialize, Serialize};
use tower_cookie_sessions::store::{MemoryStore, RecordKey, SessionStore};
use tower_cookie_sessions::{Key, Session, SessionLayer};
use tower_http::catch_panic::CatchPanicLayer;

#[derive(Clone, Default, Serialize, Deserialize)]
struct Account {
    balance: i64,
    history: Vec<i64>,
}

/// `/deposit` adds 10; `/bug` changes half of the account, then panics;
/// `/caught` does the same but catches the panic itself and answers what
/// the session holds afterwards; `/` shows the balance and history length.
fn app<B: Clone + Send + Sync + 'static>(layer: SessionLayer<Account, B>) -> Router {
    Router::new()
        .route(
            "/",
            get(|session: Session<Account>| async move {
                session.read(|a| format!("{} {}", a.balance, a.history.len()))
            }),
        )
        .route(
            "/deposit",
            get(|session: Session<Account>| async move {
                session.update(|a| {
                    a.balance += 10;
                    a.history.push(10);
                });
                "ok"
            }),
        )
        .route(
            "/bug",
            get(|session: Session<Account>| async move {
                session.update(|a| {
                    a.balance += 1_000_000;
                    panic!("bug after half a change");
                });
                "unreachable"
            }),
        )
        .route(
            "/caught",
            get(|session: Session<Account>| async move {
                let caught = catch_unwind(AssertUnwindSafe(|| {
                    session.update(|a| {
                        a.balance += 1_000_000;
                        panic!("bug after half a change");
                    })
                }));
                assert!(caught.is_err());
                session.read(|a| format!("{} {}", a.balance, a.history.len()))
            }),
        )
        .layer(CatchPanicLayer::new())
        .layer(layer)
}

async fn deposited(app: &Router) -> String {
    let response = get_with(app, "/deposit", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    cookie_pair(&response, "id").expect("the session was saved")
}

#[tokio::test]
async fn a_panicking_update_of_a_cookie_session_is_never_sent() {
    let app = app(SessionLayer::<Account>::new(Key::generate()).expect("layer"));
    let cookie = deposited(&app).await;

    let response = get_with(&app, "/bug", Some(&cookie)).await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        set_cookies(&response).is_empty(),
        "{:?}",
        set_cookies(&response)
    );

    let response = get_with(&app, "/caught", Some(&cookie)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        set_cookies(&response).is_empty(),
        "a poisoned session is not sent even when the handler carries on"
    );
    assert_eq!(body_text(response).await, "10 1", "the data as loaded");
    let response = get_with(&app, "/", Some(&cookie)).await;
    assert_eq!(body_text(response).await, "10 1");
}

#[tokio::test]
async fn a_panicking_update_of_a_store_session_is_never_saved() {
    let store = MemoryStore::new();
    let key = Key::generate();
    let app = app(
        SessionLayer::<Account>::store_builder(key.clone(), store.clone())
            .build()
            .expect("layer"),
    );
    let cookie = deposited(&app).await;
    let id = tower_cookie_sessions::fuzzing::open_as(
        &key.into(),
        tower_cookie_sessions::fuzzing::Purpose::SessionId,
        "id",
        cookie.trim_start_matches("id="),
    )
    .expect("id")
    .plaintext;
    let record_key = RecordKey::for_session_id(&id);
    let version = |store: MemoryStore| async move {
        store
            .load(&record_key)
            .await
            .expect("load")
            .expect("record")
            .version
    };
    let before = version(store.clone()).await;

    let response = get_with(&app, "/bug", Some(&cookie)).await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let response = get_with(&app, "/caught", Some(&cookie)).await;
    assert_eq!(body_text(response).await, "10 1");
    assert_eq!(version(store.clone()).await, before, "nothing was saved");
    let response = get_with(&app, "/", Some(&cookie)).await;
    assert_eq!(body_text(response).await, "10 1");
}
