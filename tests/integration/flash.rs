//! Flash messages through the layer: set by one request, shown once by the
//! next, in a sealed cookie of their own beside cookie and store sessions.

use axum::body::Body;
use axum::extract::Path;
use axum::response::Redirect;
use axum::routing::{get, post};
use axum::Router;
use http::header::{CACHE_CONTROL, VARY};
use http::{Request, StatusCode};
use tower::ServiceExt;
use tower_cookie_sessions::flash::{Flash, FlashError, FlashMessage, Level};
use tower_cookie_sessions::testing::TestClient;
use tower_cookie_sessions::{MemoryStore, Session, SessionLayer};

use crate::common::{
    body_text, cookie_header_of, key, removed_names, request, send, set_cookie_for, set_names,
    TestClock, Visit,
};

/// `GET /` shows and takes the messages, `GET /peek` only counts them,
/// `GET /favicon.ico` ignores them, `POST /say/LEVEL` leaves one, and
/// `POST /count` bumps the session without touching the flash.
fn app<B: Clone + Send + Sync + 'static>(layer: SessionLayer<u64, B>) -> Router {
    Router::new()
        .route(
            "/",
            get(|flash: Flash| async move {
                flash
                    .take()
                    .iter()
                    .map(|m| {
                        format!(
                            "{}/{}/{};",
                            m.level(),
                            m.category().unwrap_or("-"),
                            m.text()
                        )
                    })
                    .collect::<String>()
            }),
        )
        .route(
            "/peek",
            get(|flash: Flash| async move { flash.peek().len().to_string() }),
        )
        .route("/favicon.ico", get(|| async { "icon" }))
        .route(
            "/say/{level}",
            post(|flash: Flash, Path(level): Path<String>| async move {
                let message = match level.as_str() {
                    "info" => FlashMessage::new(Level::Info, "note"),
                    "success" => FlashMessage::new(Level::Success, "saved"),
                    "warning" => FlashMessage::new(Level::Warning, "careful").with_category("disk"),
                    _ => FlashMessage::new(Level::Error, "failed").with_category("form"),
                };
                flash.push(message)?;
                Ok::<_, FlashError>(Redirect::to("/"))
            }),
        )
        .route(
            "/count",
            post(|session: Session<u64>| async move {
                session.update(|n| *n += 1);
                "counted"
            }),
        )
        .layer(layer)
}

fn cookie_layer() -> SessionLayer<u64> {
    SessionLayer::new(key(1)).expect("valid layer")
}

#[tokio::test]
async fn a_message_set_before_a_redirect_is_shown_once_by_the_next_page() {
    let mut client = TestClient::new(app(cookie_layer()));

    let posted = client.visit("POST", "/say/success").await;
    assert_eq!(posted.status(), StatusCode::SEE_OTHER);
    let line = set_cookie_for(&posted, "id-flash").expect("a flash cookie");
    assert!(
        line.ends_with("; Path=/; Max-Age=600; Secure; HttpOnly; SameSite=Lax"),
        "{line}"
    );
    assert_eq!(posted.headers()[CACHE_CONTROL], "private");
    // Only the flash: the session was not opened.
    assert_eq!(set_names(&posted), ["id-flash"]);

    let shown = client.get("/").await;
    assert_eq!(removed_names(&shown), ["id-flash"]);
    assert!(shown.headers()[VARY].to_str().unwrap().contains("Cookie"));
    assert_eq!(body_text(shown).await, "success/-/saved;");

    let again = client.get("/").await;
    assert!(set_names(&again).is_empty() && removed_names(&again).is_empty());
    assert_eq!(body_text(again).await, "");
    assert!(client.cookie_names().is_empty());
}

#[tokio::test]
async fn requests_that_do_not_read_it_or_only_peek_leave_it_for_the_page() {
    let mut client = TestClient::new(app(cookie_layer()));
    client.visit("POST", "/say/info").await;
    let flash_cookie = client.cookie("id-flash").expect("set");

    let icon = client.get("/favicon.ico").await;
    assert!(set_names(&icon).is_empty() && removed_names(&icon).is_empty());
    assert!(icon.headers().get(VARY).is_none());

    let peeked = client.get("/peek").await;
    assert!(set_names(&peeked).is_empty() && removed_names(&peeked).is_empty());
    assert!(peeked.headers()[VARY].to_str().unwrap().contains("Cookie"));
    assert_eq!(body_text(peeked).await, "1");
    assert_eq!(client.cookie("id-flash"), Some(flash_cookie));

    // A session write in between does not touch the flash either.
    let counted = client.visit("POST", "/count").await;
    assert_eq!(set_names(&counted), ["id"]);

    let shown = client.get("/").await;
    assert_eq!(body_text(shown).await, "info/-/note;");
}

#[tokio::test]
async fn levels_categories_and_order_survive_and_new_messages_join_unread_ones() {
    let mut client = TestClient::new(app(cookie_layer()));
    for level in ["info", "success", "warning", "error"] {
        client.visit("POST", &format!("/say/{level}")).await;
    }
    let shown = client.get("/").await;
    assert_eq!(
        body_text(shown).await,
        "info/-/note;success/-/saved;warning/disk/careful;error/form/failed;"
    );
}

#[tokio::test]
async fn taking_and_adding_in_one_request_leaves_only_the_new_messages() {
    let app = Router::new()
        .route(
            "/",
            get(|flash: Flash| async move {
                let old = flash.take();
                flash.info("next").expect("fits");
                old.len().to_string()
            }),
        )
        .layer(cookie_layer());
    let mut client = TestClient::new(app);
    assert_eq!(body_text(client.get("/").await).await, "0");
    assert_eq!(body_text(client.get("/").await).await, "1");
    let probe = Router::new()
        .route(
            "/",
            get(|flash: Flash| async move { flash.peek()[0].text().to_owned() }),
        )
        .layer(cookie_layer());
    let cookie = cookie_header_of(&client);
    let shown = send(&probe, request("GET", "/", cookie.as_deref())).await;
    assert_eq!(body_text(shown).await, "next");
}

#[tokio::test]
async fn a_message_past_one_cookie_is_refused_and_the_earlier_ones_are_kept() {
    let app = Router::new()
        .route(
            "/",
            post(|flash: Flash| async move {
                flash.info("short").expect("fits");
                let refused = flash.info("x".repeat(4000));
                let Err(FlashError::TooLarge { size, limit }) = refused else {
                    panic!("a 4000-byte message is refused: {refused:?}");
                };
                assert!(size > limit && limit == 4096, "{size} {limit}");
                // Close to the limit still fits.
                flash.info("y".repeat(2800)).expect("fits");
                "ok"
            }),
        )
        .route(
            "/",
            get(|flash: Flash| async move { flash.take().len().to_string() }),
        )
        .layer(cookie_layer());
    let mut client = TestClient::new(app);
    let posted = client.visit("POST", "/").await;
    let line = set_cookie_for(&posted, "id-flash").expect("set");
    assert!(line.len() <= 4096, "{}", line.len());
    assert_eq!(body_text(client.get("/").await).await, "2");
}

#[tokio::test]
async fn the_flash_cookie_takes_the_session_cookies_name_prefix_and_attributes() {
    let layer = SessionLayer::<u64>::builder(key(1))
        .cookie_name("__Host-sid")
        .same_site(tower_cookie_sessions::SameSite::Strict)
        .build()
        .expect("valid layer");
    let mut client = TestClient::new(app(layer));
    let posted = client.visit("POST", "/say/info").await;
    let line = set_cookie_for(&posted, "__Host-sid-flash").expect("flash cookie");
    assert!(
        line.ends_with("; Path=/; Max-Age=600; Secure; HttpOnly; SameSite=Strict"),
        "{line}"
    );
    assert!(!line.contains("Domain"), "{line}");
    let shown = client.get("/").await;
    assert_eq!(removed_names(&shown), ["__Host-sid-flash"]);
    assert!(set_cookie_for(&shown, "__Host-sid-flash")
        .expect("removal")
        .contains("; Secure"));
}

#[tokio::test]
async fn tampered_foreign_and_look_alike_cookies_bring_no_messages() {
    let app = app(cookie_layer());
    let mut client = TestClient::new(app.clone());
    client.visit("POST", "/say/info").await;
    let sealed = client.cookie("id-flash").expect("set");

    // Another key's flash, an edited one, and the right one under a name
    // that only looks like it.
    let mut other = TestClient::new(app_with_key(2));
    other.visit("POST", "/say/info").await;
    let foreign = other.cookie("id-flash").expect("set");
    let mut edited = sealed.clone().into_bytes();
    let last = edited.len() - 1;
    edited[last] = if edited[last] == b'A' { b'B' } else { b'A' };
    let edited = String::from_utf8(edited).expect("ASCII");
    for cookie in [
        format!("id-flash={foreign}"),
        format!("id-flash={edited}"),
        format!("id%2Dflash={sealed}"),
        format!("id-Flash={sealed}"),
        "id-flash=garbage".to_owned(),
    ] {
        let response = send(&app, request("GET", "/", Some(&cookie))).await;
        let removes_it = removed_names(&response) == ["id-flash"];
        let look_alike = !cookie.starts_with("id-flash=");
        assert_eq!(removes_it, !look_alike, "{cookie}");
        assert_eq!(body_text(response).await, "", "{cookie}");
    }
}

fn app_with_key(byte: u8) -> Router {
    app(SessionLayer::new(key(byte)).expect("valid layer"))
}

#[tokio::test]
async fn a_message_not_shown_within_ten_minutes_is_dropped() {
    let clock = TestClock::new();
    let layer = SessionLayer::<u64>::builder(key(1))
        .clock(clock.source())
        .build()
        .expect("valid layer");
    let mut client = TestClient::new(app(layer));
    client.visit("POST", "/say/info").await;
    clock.advance(9 * 60);
    assert_eq!(body_text(client.get("/peek").await).await, "1");
    // The client judges `Max-Age` by the real clock and still sends the
    // cookie: the layer itself must drop the message.
    clock.advance(60);
    assert_eq!(client.cookie_names(), ["id-flash"]);
    assert_eq!(body_text(client.get("/peek").await).await, "0");
}

#[tokio::test]
async fn flash_works_beside_a_store_session_without_writing_the_store() {
    let store = MemoryStore::new();
    let layer = SessionLayer::<u64, _>::store_builder(key(1), store.clone())
        .build()
        .expect("valid layer");
    let mut client = TestClient::new(app(layer));
    client.visit("POST", "/count").await;
    assert_eq!(store.len(), 1);
    let session_cookie = client.cookie("id").expect("session");

    let posted = client.visit("POST", "/say/error").await;
    assert_eq!(set_names(&posted), ["id-flash"]);
    let shown = client.get("/").await;
    assert_eq!(removed_names(&shown), ["id-flash"]);
    assert_eq!(body_text(shown).await, "error/form/failed;");
    assert_eq!(client.cookie("id"), Some(session_cookie));
    assert_eq!(store.len(), 1);
}

#[tokio::test]
async fn without_a_session_layer_the_extractor_answers_500_and_the_option_is_none() {
    let app: Router = Router::new()
        .route(
            "/",
            get(|flash: Flash| async move { flash.peek().len().to_string() }),
        )
        .route(
            "/optional",
            get(|flash: Option<Flash>| async move { flash.is_some().to_string() }),
        );
    let response = app
        .clone()
        .oneshot(Request::get("/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body_text(response).await, "flash messages not available");
    let response = send(&app, request("GET", "/optional", None)).await;
    assert_eq!(body_text(response).await, "false");
}

#[tokio::test]
async fn a_layer_whose_cookie_is_another_layers_flash_cookie_is_refused() {
    let inner = SessionLayer::<u8>::builder(key(2))
        .cookie_name("id-flash")
        .build()
        .expect("valid layer");
    let app = Router::new()
        .route(
            "/",
            get(|flash: Flash| async move { flash.peek().len().to_string() }),
        )
        .layer(inner)
        .layer(cookie_layer());
    let response = send(&app, request("GET", "/", None)).await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
}

#[tokio::test]
async fn the_innermost_session_layer_carries_the_flash() {
    let inner = SessionLayer::<u8>::builder(key(2))
        .cookie_name("inner")
        .build()
        .expect("valid layer");
    let app = Router::new()
        .route(
            "/",
            post(|flash: Flash| async move { flash.info("hi").map(|()| "ok") }),
        )
        .layer(inner)
        .layer(cookie_layer());
    let response = send(&app, request("POST", "/", None)).await;
    assert_eq!(set_names(&response), ["inner-flash"]);
}
