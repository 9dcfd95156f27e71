//! `RedisStore` through the layer while its server dies, stalls and comes
//! back: each test runs a private `redis-server` it can kill.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::map_app::{map_app, map_app_with_barrier, suite_key};
use crate::common::outage::{Visitors, RECOVERY as BACK_WITHIN};
use crate::common::redis_server::{unique_prefix, RedisServer};
use crate::common::{body_text, cookie_pair, counter_app, get_with, set_cookies, Counter};
use axum::Router;
use tokio::sync::Barrier;
use tower_cookie_sessions::session::{Expiry, LoadFailure, SessionLayerBuilder, StoreBackend};
use tower_cookie_sessions::store::RedisStore;
use tower_cookie_sessions::{SessionLayer, SessionMap};

/// The layer's store timeout in these tests.
const TIMEOUT: Duration = Duration::from_millis(500);

/// How soon after the server is back a request must succeed.
const RECOVERY: Duration = Duration::from_secs(2);

async fn store_for(server: &RedisServer) -> RedisStore {
    RedisStore::connect(&server.url())
        .await
        .expect("connect to the private server")
        .with_prefix(unique_prefix())
}

/// What every app here is made of: [`builder`], maybe with more settings.
type Builder = SessionLayerBuilder<SessionMap, StoreBackend<RedisStore>>;

fn builder(store: &RedisStore) -> Builder {
    SessionLayer::<SessionMap>::store_builder(suite_key(), store.clone()).timeout(TIMEOUT)
}

/// The app of the layer `builder` makes, with every route.
fn routes(builder: Builder) -> Router {
    map_app(builder.build().expect("layer"))
}

/// A new session holding `a=1`; its cookie.
async fn new_session(app: &Router) -> String {
    let response = get_with(app, "/set?key=a&value=1", None).await;
    assert_eq!(response.status(), 200);
    cookie_pair(&response, "id").expect("a new session sets its cookie")
}

/// A private server for `test`, the app `app` makes of [`builder`] on a
/// store there, and the cookie of a new session holding `a=1`; `None`
/// when `redis-server` is missing outside CI.
async fn start_with_session(
    test: &str,
    app: impl FnOnce(Builder) -> Router,
) -> Option<(RedisServer, Router, String)> {
    let server = RedisServer::start(test)?;
    let store = store_for(&server).await;
    let app = app(builder(&store));
    let cookie = new_session(&app).await;
    Some((server, app, cookie))
}

/// The body of the answer to `path`, whatever its status.
async fn body_of(app: &Router, path: &str, cookie: Option<&str>) -> String {
    body_text(get_with(app, path, cookie).await).await
}

/// Sends `path`, which must answer `status` without a `Set-Cookie`
/// (`context` names the request in failure messages); the body.
async fn answer_without_cookie(
    app: &Router,
    path: &str,
    cookie: Option<&str>,
    status: u16,
    context: &str,
) -> String {
    let response = get_with(app, path, cookie).await;
    assert_eq!(response.status(), status, "{context}");
    assert!(
        set_cookies(&response).is_empty(),
        "{context}: a cookie was set"
    );
    body_text(response).await
}

/// Sends `path` until it answers 200, for at most [`RECOVERY`] from
/// `since`, when `event` happened, and logs for `test` how long it took;
/// the attempts it took.
async fn until_ok(
    test: &str,
    event: &str,
    app: &Router,
    path: &str,
    cookie: Option<&str>,
    since: Instant,
) -> u32 {
    let mut attempts = 0;
    loop {
        attempts += 1;
        let response = get_with(app, path, cookie).await;
        if response.status() == 200 {
            eprintln!(
                "{test}: first success {:?} after {event}, attempt {attempts}",
                since.elapsed()
            );
            return attempts;
        }
        assert!(
            since.elapsed() < RECOVERY,
            "still {} after {:?} and {attempts} attempts",
            response.status(),
            since.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Restarts `server`, then [`until_ok`] from when the restart began.
async fn restart_until_ok(
    test: &str,
    server: &mut RedisServer,
    app: &Router,
    path: &str,
    cookie: Option<&str>,
) -> u32 {
    let restarted = Instant::now();
    server.restart();
    until_ok(test, "the restart began", app, path, cookie, restarted).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_fails_with_503_while_the_server_is_down_and_recovers_after_a_restart() {
    let test = "load_fails_with_503_while_the_server_is_down_and_recovers_after_a_restart";
    let Some((mut server, app, cookie)) = start_with_session(test, routes).await else {
        return;
    };

    server.kill();
    for attempt in 0..2 {
        let started = Instant::now();
        let context = format!("attempt {attempt}");
        let body = answer_without_cookie(&app, "/get?key=a", Some(&cookie), 503, &context).await;
        assert_eq!(body, "session store unavailable\n");
        assert!(
            started.elapsed() < TIMEOUT + Duration::from_millis(500),
            "answered within the store timeout, not {:?}",
            started.elapsed()
        );
    }

    // Same layer, same store: nothing is rebuilt. Nothing was persisted, so
    // the old cookie now finds no record: a fresh session.
    restart_until_ok(test, &mut server, &app, "/get?key=a", Some(&cookie)).await;
    assert_eq!(body_of(&app, "/get?key=a", Some(&cookie)).await, "none");
    let fresh = new_session(&app).await;
    assert_eq!(body_of(&app, "/get?key=a", Some(&fresh)).await, "1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_request_after_a_long_outage_succeeds() {
    let test = "the_first_request_after_a_long_outage_succeeds";
    let Some((mut server, app, cookie)) = start_with_session(test, routes).await else {
        return;
    };

    server.kill();
    let response = get_with(&app, "/get?key=a", Some(&cookie)).await;
    assert_eq!(response.status(), 503);
    // Longer than the connection manager's reconnect attempts last: it has
    // given up by the time the server is back.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let attempts = restart_until_ok(test, &mut server, &app, "/get?key=a", Some(&cookie)).await;
    assert_eq!(
        attempts, 1,
        "the first request once the server answers succeeds"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_session_is_not_sent_while_the_server_is_down() {
    let test = "a_new_session_is_not_sent_while_the_server_is_down";
    let Some((mut server, app, _)) = start_with_session(test, routes).await else {
        return;
    };

    server.kill();
    for attempt in 0..2 {
        // No cookie either, for a record that was not created.
        let context = format!("attempt {attempt}");
        let body = answer_without_cookie(&app, "/set?key=b&value=2", None, 503, &context).await;
        assert_eq!(body, "session store unavailable\n");
    }

    restart_until_ok(test, &mut server, &app, "/set?key=b&value=2", None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_save_cut_off_by_the_kill_answers_503_without_a_cookie() {
    let test = "a_save_cut_off_by_the_kill_answers_503_without_a_cookie";
    let barrier = Arc::new(Barrier::new(2));
    let app = |builder: Builder| {
        // A persistent cookie, so a successful save would resend it.
        let layer = builder
            .expiry(Expiry::Inactivity(Duration::from_secs(600)))
            .build()
            .expect("a lifetime browsers keep");
        map_app_with_barrier(layer, Arc::clone(&barrier))
    };
    let Some((mut server, app, cookie)) = start_with_session(test, app).await else {
        return;
    };

    // The request loads the session, then waits; the server dies before it
    // saves.
    let racing = tokio::spawn({
        let app = app.clone();
        let cookie = cookie.clone();
        async move { get_with(&app, "/race?key=b&value=2", Some(&cookie)).await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    server.kill();
    barrier.wait().await;
    let response = racing.await.expect("task");
    // The store is down, as for a load: the same answer, not a 500.
    assert_eq!(response.status(), 503);
    assert!(set_cookies(&response).is_empty());
    assert_eq!(body_text(response).await, "session store unavailable\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn continue_empty_serves_an_unsaved_empty_session_while_the_server_is_down() {
    let test = "continue_empty_serves_an_unsaved_empty_session_while_the_server_is_down";
    let app = |builder: Builder| routes(builder.on_load_failure(LoadFailure::ContinueEmpty));
    let Some((mut server, app, cookie)) = start_with_session(test, app).await else {
        return;
    };
    assert_eq!(body_of(&app, "/get?key=a", Some(&cookie)).await, "1");

    server.kill();
    for attempt in 0..2 {
        let context = format!("attempt {attempt}");
        let body = answer_without_cookie(&app, "/get?key=a", Some(&cookie), 200, &context).await;
        assert_eq!(body, "none", "an empty session");
    }
    // Changes to the stand-in session are dropped, and no cookie replaces
    // the visitor's.
    answer_without_cookie(
        &app,
        "/set?key=b&value=2",
        Some(&cookie),
        200,
        "never saved",
    )
    .await;

    let restarted = Instant::now();
    server.restart();
    let fresh = loop {
        let response = get_with(&app, "/set?key=c&value=3", None).await;
        if let Some(cookie) = cookie_pair(&response, "id") {
            break cookie;
        }
        assert!(
            restarted.elapsed() < RECOVERY,
            "no session saved {:?} after the restart began",
            restarted.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    eprintln!(
        "{test}: first saved session {:?} after the restart began",
        restarted.elapsed()
    );
    assert_eq!(body_of(&app, "/get?key=c", Some(&fresh)).await, "3");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_server_makes_the_load_time_out_with_503() {
    let test = "a_stalled_server_makes_the_load_time_out_with_503";
    let Some((server, app, cookie)) = start_with_session(test, routes).await else {
        return;
    };

    server.pause();
    let started = Instant::now();
    let response = get_with(&app, "/get?key=a", Some(&cookie)).await;
    let took = started.elapsed();
    server.resume();
    assert_eq!(response.status(), 503);
    assert_eq!(body_text(response).await, "session store unavailable\n");
    assert!(
        took >= TIMEOUT && took < TIMEOUT + Duration::from_millis(500),
        "timed out after {took:?}"
    );

    let resumed = Instant::now();
    until_ok(
        test,
        "the server resumed",
        &app,
        "/get?key=a",
        Some(&cookie),
        resumed,
    )
    .await;
    assert_eq!(
        body_of(&app, "/get?key=a", Some(&cookie)).await,
        "1",
        "the session survived the stall"
    );
}

/// How long the server stays down in the outage test: longer than the
/// default store timeout, which the first calls may wait out.
const DOWN: Duration = Duration::from_secs(3);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_under_load_answers_503_at_once_loses_no_write_and_ends_with_the_restart() {
    let test = "an_outage_under_load_answers_503_at_once_loses_no_write_and_ends_with_the_restart";
    let Some(mut server) = RedisServer::start_durable(test) else {
        return;
    };
    let store = store_for(&server).await;
    // The default store timeout (2 s), which every request used to wait.
    let layer = SessionLayer::<Counter>::store_builder(suite_key(), store)
        .build()
        .expect("layer");
    let app = counter_app(layer);
    let visitors = Visitors::start(&app, 8).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let down = Instant::now();
    server.kill();
    tokio::time::sleep(DOWN).await;
    // Same layer, same store: nothing is rebuilt.
    let server = tokio::task::spawn_blocking(move || {
        server.restart();
        server
    })
    .await
    .expect("restart");
    let back = Instant::now();
    tokio::time::sleep(BACK_WITHIN + Duration::from_millis(500)).await;
    let report = visitors.finish(test, down, back).await;
    drop(server);

    report.assert_fast_while_down_and_back_in_time(DOWN);
}
