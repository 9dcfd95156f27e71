//! The `session` span: one per request that opened a session, at `debug`,
//! with the cookie's name, what became of the session and, for store
//! sessions, the store's short tag, never a secret.

use std::time::Duration;

use axum::routing::{get, post};
use axum::Router;
use tower_cookie_sessions::testing::TestClient;
use tower_cookie_sessions::{Expiry, MemoryStore, Session, SessionLayer};

use crate::common::{key, request, send, Logs, TestClock, Visit};

/// `GET /` reads, `GET /idle` does nothing with the session, `POST /inc`
/// writes, `POST /renew` renews and `POST /out` destroys.
fn app<B: Clone + Send + Sync + 'static>(layer: SessionLayer<u64, B>) -> Router {
    Router::new()
        .route(
            "/",
            get(|s: Session<u64>| async move { s.cloned().to_string() }),
        )
        .route("/idle", get(|| async { "idle" }))
        .route(
            "/inc",
            post(|s: Session<u64>| async move {
                s.update(|n| *n += 1);
                "ok"
            }),
        )
        .route(
            "/renew",
            post(|s: Session<u64>| async move {
                s.renew();
                "ok"
            }),
        )
        .route(
            "/out",
            post(|s: Session<u64>| async move {
                s.destroy();
                "ok"
            }),
        )
        .layer(layer)
}

/// The `session` span lines of the logs: its fields as it closed.
fn span_closes(logs: &Logs) -> Vec<String> {
    logs.text()
        .lines()
        .filter(|line| line.contains("session{") && line.contains("close"))
        .map(str::to_owned)
        .collect()
}

/// What one request's span said.
async fn outcome(client: &mut TestClient<Router>, method: &str, path: &str) -> String {
    let logs = Logs::capture();
    client.visit(method, path).await;
    let closes = span_closes(&logs);
    assert!(closes.len() <= 1, "one span per request: {closes:?}");
    closes.into_iter().next().unwrap_or_default()
}

#[tokio::test]
async fn each_request_that_opens_the_session_says_what_became_of_it() {
    let app = app(SessionLayer::new(key(1)).expect("valid layer"));
    let mut client = TestClient::new(app);
    let line = outcome(&mut client, "GET", "/").await;
    assert!(line.contains(r#"session.cookie="id""#), "{line}");
    assert!(line.contains(r#"session.outcome="none""#), "{line}");
    let line = outcome(&mut client, "POST", "/inc").await;
    assert!(line.contains(r#"session.outcome="saved""#), "{line}");
    let line = outcome(&mut client, "GET", "/").await;
    assert!(line.contains(r#"session.outcome="loaded""#), "{line}");
    let line = outcome(&mut client, "POST", "/renew").await;
    assert!(line.contains(r#"session.outcome="renewed""#), "{line}");
    let line = outcome(&mut client, "POST", "/out").await;
    assert!(line.contains(r#"session.outcome="destroyed""#), "{line}");
    // A request that never opens the session has no span.
    assert_eq!(outcome(&mut client, "GET", "/idle").await, "");
    // A client-side session has no store id.
    assert!(!line.contains("session.id"), "{line}");
}

#[tokio::test]
async fn a_refused_cookie_is_a_fresh_session_with_the_reason() {
    let clock = TestClock::new();
    let layer = SessionLayer::<u64>::builder(key(1))
        .expiry(Expiry::MaxAge(Duration::from_secs(60)))
        .clock(clock.source())
        .build()
        .expect("valid layer");
    let app = app(layer);
    let mut client = TestClient::new(app.clone());
    outcome(&mut client, "POST", "/inc").await;
    let sealed = client.cookie("id").expect("set");

    let logs = Logs::capture();
    send(&app, request("GET", "/", Some("id=forged"))).await;
    let line = span_closes(&logs).pop().unwrap_or_default();
    assert!(
        line.contains(r#"session.outcome="fresh (not authentic)""#),
        "{line}"
    );
    drop(logs);

    clock.advance(61);
    let logs = Logs::capture();
    send(&app, request("GET", "/", Some(&format!("id={sealed}")))).await;
    let line = span_closes(&logs).pop().unwrap_or_default();
    assert!(
        line.contains(r#"session.outcome="fresh (absolute deadline passed)""#),
        "{line}"
    );
    assert!(
        !logs.text().contains(&sealed),
        "no cookie value in the logs"
    );
}

#[tokio::test]
async fn a_store_session_carries_the_stores_tag_and_never_its_id() {
    let store = MemoryStore::new();
    let layer = SessionLayer::<u64, _>::store_builder(key(1), store)
        .build()
        .expect("valid layer");
    let app = app(layer);
    let mut client = TestClient::new(app);
    let logs = Logs::capture();
    client.visit("POST", "/inc").await;
    let saved = span_closes(&logs).pop().unwrap_or_default();
    assert!(saved.contains(r#"session.outcome="saved""#), "{saved}");
    let tag = saved
        .split("session.id=")
        .nth(1)
        .and_then(|rest| rest.split(['}', ' ']).next())
        .expect("a session.id field")
        .to_owned();
    assert!(!tag.is_empty() && tag.len() <= 16, "{tag}");
    let cookie = client.cookie("id").expect("set");
    assert!(
        !logs.text().contains(&cookie),
        "no cookie value in the logs"
    );
    drop(logs);

    // The next request names the same session by the same tag.
    let line = outcome(&mut client, "GET", "/").await;
    assert!(line.contains(r#"session.outcome="loaded""#), "{line}");
    assert!(
        line.contains(&format!("session.id={tag}")),
        "{line} / {tag}"
    );
}
