//! A handle used again from inside its own closure panics at once, with a
//! message that says what happened, instead of hanging the request; other
//! threads still wait their turn.

use crate::common::key;
use std::sync::mpsc;
use std::time::Duration;

use crate::common::{body_text, cookie_pair, get_with};
use axum::routing::get;
use axum::Router;
use http::StatusCode;
use tower_cookie_sessions::{MemoryStore, Session, SessionLayer};
use tower_http::catch_panic::CatchPanicLayer;

/// `/read-in-update`, `/update-in-read`, `/set-in-update` and
/// `/clone-in-read` each use the session again from inside a closure;
/// `/` counts and `/peek` shows the count.
fn app<B: Clone + Send + Sync + 'static>(layer: SessionLayer<u64, B>) -> Router {
    Router::new()
        .route(
            "/",
            get(|session: Session<u64>| async move {
                session.update(|n| {
                    *n += 1;
                    n.to_string()
                })
            }),
        )
        .route(
            "/peek",
            get(|session: Session<u64>| async move { session.cloned().to_string() }),
        )
        .route(
            "/read-in-update",
            get(|session: Session<u64>| async move {
                session.update(|n| *n = session.cloned() + 1);
            }),
        )
        .route(
            "/update-in-read",
            get(|session: Session<u64>| async move {
                session.read(|_| session.update(|n| *n += 1));
            }),
        )
        .route(
            "/set-in-update",
            get(|session: Session<u64>| async move {
                session.update(|_| session.set(7));
            }),
        )
        .route(
            "/clone-in-read",
            get(|session: Session<u64>| async move {
                let other = session.clone();
                session.read(|_| other.is_new()).to_string()
            }),
        )
        .layer(layer)
        .layer(CatchPanicLayer::custom(
            |panic: Box<dyn std::any::Any + Send>| {
                let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
                http::Response::builder()
                    .status(StatusCode::INTERNAL_SERVER_ERROR)
                    .body(axum::body::Body::from(message))
                    .expect("response")
            },
        ))
}

async fn reentering_panics<B: Clone + Send + Sync + 'static>(layer: SessionLayer<u64, B>) {
    let app = app(layer);
    let first = get_with(&app, "/", None).await;
    let cookie = cookie_pair(&first, "id").expect("session cookie");
    for path in [
        "/read-in-update",
        "/update-in-read",
        "/set-in-update",
        "/clone-in-read",
    ] {
        // A hang would stall the test: bound it.
        let response =
            tokio::time::timeout(Duration::from_secs(5), get_with(&app, path, Some(&cookie)))
                .await
                .unwrap_or_else(|_| panic!("{path} hung instead of panicking"));
        assert_eq!(
            response.status(),
            StatusCode::INTERNAL_SERVER_ERROR,
            "{path}"
        );
        assert!(
            response.headers().get("set-cookie").is_none(),
            "{path}: a session used inside its own closure is not saved"
        );
        let text = body_text(response).await;
        assert!(
            text.contains("used again from inside its own `read`, `update` or `set`")
                && text.contains("Session<u64>"),
            "{path}: the panic says what happened: {text}"
        );
        assert_eq!(
            body_text(get_with(&app, "/peek", Some(&cookie)).await).await,
            "1",
            "{path}: the session is what it was before"
        );
    }
}

#[tokio::test]
async fn using_a_session_inside_its_own_closure_panics_instead_of_hanging() {
    reentering_panics(SessionLayer::<u64>::new(key(0x40)).expect("layer")).await;
    reentering_panics(
        SessionLayer::<u64>::store_builder(key(0x40), MemoryStore::new())
            .build()
            .expect("layer"),
    )
    .await;
}

#[tokio::test]
async fn another_thread_waits_for_the_closure_to_finish() {
    let app = Router::new()
        .route(
            "/",
            get(|session: Session<u64>| async move {
                let (started, wait_for_start) = mpsc::channel();
                let other = session.clone();
                let worker = std::thread::spawn(move || {
                    wait_for_start.recv().expect("started");
                    other.update(|n| *n += 10);
                });
                session.update(|n| {
                    started.send(()).expect("worker alive");
                    // The worker blocks on the lock meanwhile; it must not
                    // be taken for this thread re-entering.
                    std::thread::sleep(Duration::from_millis(50));
                    *n += 1;
                });
                worker.join().expect("the worker does not panic");
                session.cloned().to_string()
            }),
        )
        .layer(SessionLayer::<u64>::new(key(0x40)).expect("layer"));
    assert_eq!(body_text(get_with(&app, "/", None).await).await, "11");
}
