//! The `test-util` helpers through a real app: requests minted with a
//! session and flash messages, responses read back, and the cookie-keeping
//! client's browser rules.

use std::time::Duration;

use axum::body::Body;
use axum::routing::{get, post};
use axum::Router;
use http::{Request, Response};
use tower::{service_fn, ServiceExt};
use tower_cookie_sessions::flash::{Flash, FlashMessage, Level};
use tower_cookie_sessions::testing::TestClient;
use tower_cookie_sessions::{Expiry, MemoryStore, Session, SessionLayer};

use crate::common::{body_text, key, TestClock};

fn get_request(path: &str) -> Request<Body> {
    Request::get(path)
        .body(Body::empty())
        .expect("valid request")
}

/// `GET /` reads the session and flash; `POST /add` appends to the
/// session and leaves a flash; `POST /logout` destroys the session;
/// `POST /grow` makes the session large enough for several cookies and
/// `POST /shrink` small again.
fn app<B: Clone + Send + Sync + 'static>(layer: SessionLayer<String, B>) -> Router {
    Router::new()
        .route(
            "/",
            get(|session: Session<String>, flash: Flash| async move {
                let notes: Vec<String> = flash.take().iter().map(|m| m.text().to_owned()).collect();
                format!(
                    "{}|{}|{}",
                    session.cloned(),
                    session.owner().unwrap_or_default(),
                    notes.join(",")
                )
            }),
        )
        .route(
            "/add",
            post(|session: Session<String>, flash: Flash| async move {
                session.update(|text| text.push('+'));
                flash.success("added").expect("fits");
                "ok"
            }),
        )
        .route(
            "/logout",
            post(|session: Session<String>| async move {
                session.destroy();
                "bye"
            }),
        )
        .route(
            "/grow",
            post(|session: Session<String>| async move {
                // Random-looking, so it takes several cookies.
                let big: String = (0..6000u32)
                    .map(|i| char::from(b'a' + (i.wrapping_mul(2_654_435_761) >> 27) as u8 % 26))
                    .collect();
                session.set(big);
                "grown"
            }),
        )
        .route(
            "/shrink",
            post(|session: Session<String>| async move {
                session.set("small".to_owned());
                "shrunk"
            }),
        )
        .layer(layer)
}

fn cookie_layer() -> SessionLayer<String> {
    SessionLayer::new(key(1)).expect("valid layer")
}

#[tokio::test]
async fn a_minted_cookie_session_reaches_the_handler_and_its_change_reads_back() {
    let layer = cookie_layer();
    let app = app(layer.clone());
    let request = layer
        .test_request()
        .session("cart".to_owned())
        .flash(FlashMessage::new(Level::Info, "hello"))
        .into_request(get_request("/"))
        .await
        .expect("minted");
    let response = app.clone().oneshot(request).await.expect("answered");
    let seen = layer.test_response(&response).await.expect("read");
    // The page took the flash: its cookie goes; the session was not changed.
    assert_eq!(seen.removed(), ["id-flash"]);
    assert_eq!(seen.session(), None);
    assert_eq!(body_text(response).await, "cart||hello");

    let request = layer
        .test_request()
        .session("cart".to_owned())
        .into_request(Request::post("/add").body(Body::empty()).expect("valid"))
        .await
        .expect("minted");
    let response = app.oneshot(request).await.expect("answered");
    let seen = layer.test_response(&response).await.expect("read");
    assert_eq!(seen.session().map(String::as_str), Some("cart+"));
    assert_eq!(seen.flash(), [FlashMessage::new(Level::Success, "added")]);
    assert!(seen.removed().is_empty());
}

#[tokio::test]
async fn a_minted_store_session_is_a_record_in_the_store_with_its_owner() {
    let store = MemoryStore::new();
    let layer = SessionLayer::<String, _>::store_builder(key(1), store.clone())
        .build()
        .expect("valid layer");
    let app = app(layer.clone());
    let request = layer
        .test_request()
        .session("saved".to_owned())
        .owner("alice")
        .into_request(get_request("/"))
        .await
        .expect("minted");
    assert_eq!(store.len(), 1);
    let response = app.clone().oneshot(request).await.expect("answered");
    assert_eq!(body_text(response).await, "saved|alice|");

    let response = app
        .oneshot(
            layer
                .test_request()
                .session("x".to_owned())
                .into_request(Request::post("/logout").body(Body::empty()).expect("valid"))
                .await
                .expect("minted"),
        )
        .await
        .expect("answered");
    let seen = layer.test_response(&response).await.expect("read");
    assert_eq!(seen.removed(), ["id"]);
    assert_eq!(seen.session(), None);
}

#[tokio::test]
async fn a_session_too_large_for_one_cookie_is_minted_as_chunks() {
    let layer = SessionLayer::<String>::builder(key(1))
        .max_cookie_size(16 * 1024)
        .build()
        .expect("valid layer");
    let big = "x".repeat(1000) + &"0123456789abcdef".repeat(400);
    let header = layer
        .test_request()
        .session(big.clone())
        .cookie_header()
        .await
        .expect("minted")
        .expect("a cookie");
    let header = header.to_str().expect("ASCII");
    assert!(
        header.starts_with("id.0=") && header.contains("; id.1="),
        "{}",
        &header[..40]
    );
    let app = app(layer);
    let request = Request::get("/")
        .header("cookie", header)
        .body(Body::empty())
        .expect("valid");
    let body = body_text(app.oneshot(request).await.expect("answered")).await;
    assert_eq!(body, format!("{big}||"));
}

#[tokio::test]
async fn a_flash_past_one_cookie_is_a_clear_error() {
    let layer = cookie_layer();
    let error = layer
        .test_request()
        .flash(FlashMessage::new(Level::Info, "x".repeat(5000)))
        .cookie_header()
        .await
        .expect_err("too large");
    assert!(error.to_string().contains("over the limit"), "{error}");
}

#[tokio::test]
async fn the_client_keeps_the_session_and_drops_removed_cookies() {
    let app = app(cookie_layer());
    let mut client = TestClient::new(app);
    for expected in ["+||added", "++||added"] {
        let post = Request::post("/add").body(Body::empty()).expect("valid");
        client.send(post).await.expect("answered");
        let page = client.send(get_request("/")).await.expect("answered");
        assert_eq!(body_text(page).await, expected);
    }
    assert_eq!(client.cookie_names(), ["id"]);
    let post = Request::post("/logout").body(Body::empty()).expect("valid");
    client.send(post).await.expect("answered");
    assert!(client.cookie_names().is_empty());
}

#[tokio::test]
async fn the_client_sends_chunks_and_forgets_them_when_the_session_shrinks() {
    let layer = SessionLayer::<String>::builder(key(1))
        .max_cookie_size(16 * 1024)
        .build()
        .expect("valid layer");
    let mut client = TestClient::new(app(layer));
    let grow = Request::post("/grow").body(Body::empty()).expect("valid");
    client.send(grow).await.expect("answered");
    let names = client.cookie_names();
    assert!(
        names.len() >= 2 && names.iter().all(|n| n.starts_with("id.")),
        "{names:?}"
    );
    let page = client.send(get_request("/")).await.expect("answered");
    assert_eq!(body_text(page).await.len(), 6000 + 2);
    let shrink = Request::post("/shrink").body(Body::empty()).expect("valid");
    client.send(shrink).await.expect("answered");
    assert_eq!(client.cookie_names(), ["id"]);
    let page = client.send(get_request("/")).await.expect("answered");
    assert_eq!(body_text(page).await, "small||");
}

#[tokio::test]
async fn the_client_judges_max_age_by_the_layers_clock() {
    let clock = TestClock::new();
    let layer = SessionLayer::<String>::builder(key(1))
        .expiry(Expiry::MaxAge(Duration::from_secs(60)))
        .clock(clock.source())
        .build()
        .expect("valid layer");
    let mut client = TestClient::new(app(layer.clone())).clock_of(&layer);
    let post = Request::post("/add").body(Body::empty()).expect("valid");
    client.send(post).await.expect("answered");
    assert_eq!(client.cookie_names(), ["id", "id-flash"]);
    clock.advance(59);
    assert!(client.cookie("id").is_some());
    clock.advance(2);
    // The session's Max-Age has passed; the flash's ten minutes have not.
    assert_eq!(client.cookie_names(), ["id-flash"]);
    let page = client.send(get_request("/")).await.expect("answered");
    assert_eq!(body_text(page).await, "||added");
}

/// A service that sets whatever `Set-Cookie` lines the request's `x-set`
/// headers name and echoes the `Cookie` header it got.
async fn echo(request: Request<Body>) -> Result<Response<String>, std::convert::Infallible> {
    let sent = request
        .headers()
        .get("cookie")
        .map(|v| v.to_str().expect("ASCII").to_owned())
        .unwrap_or_default();
    let mut response = Response::new(sent);
    for line in request.headers().get_all("x-set") {
        response.headers_mut().append("set-cookie", line.clone());
    }
    Ok(response)
}

async fn echo_send(
    client: &mut TestClient<
        impl tower::Service<
            Request<Body>,
            Response = Response<String>,
            Error = std::convert::Infallible,
        >,
    >,
    uri: &str,
    set: &[&str],
) -> String {
    let mut builder = Request::get(uri);
    for line in set {
        builder = builder.header("x-set", *line);
    }
    let response = client
        .send(builder.body(Body::empty()).expect("valid"))
        .await
        .expect("answered");
    response.into_body()
}

#[tokio::test]
async fn the_client_follows_path_domain_secure_and_prefix_rules() {
    let mut client = TestClient::new(service_fn(echo));
    echo_send(
        &mut client,
        "https://www.example.com/app/page",
        &[
            "scoped=1; Path=/app",
            "defaulted=2",
            "wide=3; Domain=example.com; Path=/",
            "secret=4; Secure; Path=/",
            "__Host-ok=5; Secure; Path=/",
            "__Host-bad=6; Secure; Path=/app",
            "__Secure-bad=7; Path=/",
            "foreign=8; Domain=other.com; Path=/",
        ],
    )
    .await;
    // Longer paths first, then oldest first.
    assert_eq!(
        echo_send(&mut client, "https://www.example.com/app/x", &[]).await,
        "scoped=1; defaulted=2; wide=3; secret=4; __Host-ok=5"
    );
    assert_eq!(
        echo_send(&mut client, "https://www.example.com/other", &[]).await,
        "wide=3; secret=4; __Host-ok=5"
    );
    assert_eq!(
        echo_send(&mut client, "http://api.example.com/", &[]).await,
        "wide=3"
    );
    assert_eq!(echo_send(&mut client, "https://other.com/", &[]).await, "");
    // A secure cookie set over plain http is refused.
    echo_send(&mut client, "http://www.example.com/", &["plain=9; Secure"]).await;
    assert!(client.cookie("plain").is_none());
    // Scheme-less URIs count as secure, on the Host header's host.
    let request = Request::get("/")
        .header("host", "www.example.com:8080")
        .body(Body::empty())
        .expect("valid");
    let response = client.send(request).await.expect("answered");
    assert_eq!(response.into_body(), "wide=3; secret=4; __Host-ok=5");
    // Max-Age=0 and a past Expires remove.
    echo_send(
        &mut client,
        "https://www.example.com/",
        &[
            "secret=; Path=/; Max-Age=0",
            "__Host-ok=; Secure; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
        ],
    )
    .await;
    assert_eq!(
        echo_send(&mut client, "https://www.example.com/", &[]).await,
        "wide=3"
    );
}

#[tokio::test]
async fn a_cookie_added_by_hand_follows_the_same_rules() {
    let mut client = TestClient::new(service_fn(echo));
    let page: http::Uri = "https://www.example.com/app/page".parse().expect("uri");
    client.add_cookie("scoped=1", page.clone());
    client.add_cookie("__Host-bad=2; Path=/", page.clone());
    client.add_cookie("foreign=3; Domain=other.com", page.clone());
    assert_eq!(
        echo_send(&mut client, "https://www.example.com/app/x", &[]).await,
        "scoped=1"
    );
    assert_eq!(
        echo_send(&mut client, "https://www.example.com/", &[]).await,
        ""
    );
    client.add_cookie("scoped=; Path=/app; Max-Age=0", page);
    assert!(client.cookie_names().is_empty());
}
