//! Several layers on one request, and the ecosystem's middleware around
//! them: each layer keeps its own cookie and session in the request's
//! state, and compression and tracing stack on either side.

use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::common::map_app::CountingStore;
use crate::common::{body_text, cookie_pair, set_cookies, Logs};
use axum::middleware::{from_fn, Next};
use axum::routing::get;
use axum::Router;
use http::header::{ACCEPT_ENCODING, CONTENT_ENCODING};
use http::{Request, Response, StatusCode};
use tower::{service_fn, Layer, ServiceBuilder, ServiceExt};
use tower_cookie_sessions::store::MemoryStore;
use tower_cookie_sessions::{
    Cookie, CookieLayer, Cookies, Key, Session, SessionError, SessionLayer,
};

use super::request_state::{axum_request, cookie_request};

// --- Several layers ---------------------------------------------------------

#[tokio::test]
async fn two_layers_with_their_own_names_each_send_their_own_cookie() {
    let outer = SessionLayer::<u64>::builder(Key::generate())
        .cookie_name("outer")
        .build()
        .expect("layer");
    let inner = SessionLayer::<String>::builder(Key::generate())
        .cookie_name("inner")
        .build()
        .expect("layer");
    let app = Router::new()
        .route(
            "/",
            get(|count: Session<u64>, name: Session<String>| async move {
                let n = count.update(|n| {
                    *n += 1;
                    *n
                });
                name.update(|s| s.push('x'));
                format!("{n} {}", name.cloned())
            }),
        )
        .layer(inner)
        .layer(outer);
    let first = crate::common::send(&app, axum_request("/", None)).await;
    let lines = set_cookies(&first);
    assert_eq!(lines.len(), 2, "{lines:?}");
    let outer_cookie = cookie_pair(&first, "outer").expect("outer cookie");
    let inner_cookie = cookie_pair(&first, "inner").expect("inner cookie");
    assert_eq!(body_text(first).await, "1 x");
    let both = format!("{outer_cookie}; {inner_cookie}");
    let second = crate::common::send(&app, axum_request("/", Some(&both))).await;
    assert_eq!(body_text(second).await, "2 xx");
}

/// Two layers of one type: the handler's `Session<u64>` is the innermost
/// one's; middleware between them sees the outer one's.
#[tokio::test]
async fn with_two_layers_of_one_type_each_code_sees_its_innermost_layer() {
    let outer = SessionLayer::<u64>::builder(Key::generate())
        .cookie_name("outer")
        .build()
        .expect("layer");
    let inner = SessionLayer::<u64>::builder(Key::generate())
        .cookie_name("inner")
        .build()
        .expect("layer");
    async fn between(request: axum::extract::Request, next: Next) -> axum::response::Response {
        let session = Session::<u64>::load(&request).await.expect("outer session");
        let outer = session.update(|n| {
            *n += 10;
            *n
        });
        let mut response = next.run(request).await;
        response
            .headers_mut()
            .insert("x-outer", outer.to_string().parse().expect("header"));
        response
    }
    let app = Router::new()
        .route(
            "/",
            get(|session: Session<u64>| async move {
                session.update(|n| {
                    *n += 1;
                    n.to_string()
                })
            }),
        )
        .layer(inner)
        .layer(from_fn(between))
        .layer(outer);
    let first = crate::common::send(&app, axum_request("/", None)).await;
    assert_eq!(first.headers()["x-outer"], "10");
    let outer_cookie = cookie_pair(&first, "outer").expect("outer cookie");
    let inner_cookie = cookie_pair(&first, "inner").expect("inner cookie");
    assert_eq!(body_text(first).await, "1");
    let both = format!("{outer_cookie}; {inner_cookie}");
    let second = crate::common::send(&app, axum_request("/", Some(&both))).await;
    assert_eq!(second.headers()["x-outer"], "20");
    let outer_next = cookie_pair(&second, "outer").expect("outer saved");
    assert_eq!(body_text(second).await, "2");

    let third = crate::common::send(&app, axum_request("/", Some(&outer_next))).await;
    assert_eq!(third.headers()["x-outer"], "30", "the outer session kept");
    assert_eq!(body_text(third).await, "1", "a fresh inner session");
}

#[tokio::test]
async fn the_same_layer_applied_twice_is_one_session_saved_once() {
    let store = CountingStore::new(MemoryStore::new());
    let sessions = SessionLayer::<u64>::store_builder(Key::generate(), store.clone())
        .build()
        .expect("layer");
    let api = Router::new()
        .route(
            "/api",
            get(|session: Session<u64>| async move {
                session.update(|n| {
                    *n += 1;
                    n.to_string()
                })
            }),
        )
        .layer(sessions.clone());
    let app = Router::new().merge(api).layer(sessions);

    let first = crate::common::send(&app, axum_request("/api", None)).await;
    assert_eq!(first.status(), StatusCode::OK);
    let lines = set_cookies(&first);
    assert_eq!(lines.len(), 1, "one Set-Cookie: {lines:?}");
    assert_eq!(store.creates.load(Ordering::SeqCst), 1, "one record");
    assert_eq!(store.inner.len(), 1);
    let cookie = cookie_pair(&first, "id").expect("cookie");
    assert_eq!(body_text(first).await, "1");

    for expected in 2..=3 {
        let next = crate::common::send(&app, axum_request("/api", Some(&cookie))).await;
        assert_eq!(next.status(), StatusCode::OK, "no conflict with itself");
        assert_eq!(body_text(next).await, expected.to_string());
    }
    assert_eq!(store.creates.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn two_different_layers_with_one_cookie_name_are_refused_before_the_handler() {
    let logs = Logs::capture();
    let ran = Arc::new(AtomicBool::new(false));
    let ran_in_handler = Arc::clone(&ran);
    let service = ServiceBuilder::new()
        .layer(SessionLayer::<u64>::new(Key::generate()).expect("layer"))
        .layer(SessionLayer::<String>::new(Key::generate()).expect("layer"))
        .service_fn(move |_: Request<String>| {
            ran_in_handler.store(true, Ordering::SeqCst);
            async { Ok::<_, SessionError>(Response::new(String::new())) }
        });
    let response = service
        .oneshot(Request::new(String::new()))
        .await
        .expect("answered");
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        set_cookies(&response).is_empty(),
        "{:?}",
        set_cookies(&response)
    );
    assert!(!ran.load(Ordering::SeqCst), "the handler must not run");
    let body = body_text(response).await;
    assert!(!body.is_empty());
    let text = logs.text();
    assert!(text.contains("ERROR"), "{text}");
    assert!(
        text.contains("cookie=\"id\""),
        "the log names the cookie: {text}"
    );
}

#[tokio::test]
async fn two_layers_built_alike_are_two_layers() {
    let key = Key::generate();
    let base = SessionLayer::<u64>::new(key.clone()).expect("layer");
    let changed = SessionLayer::<u64>::builder(key)
        .http_only(true)
        .build()
        .expect("layer");
    let service =
        ServiceBuilder::new()
            .layer(base)
            .layer(changed)
            .service_fn(|_: Request<String>| async {
                Ok::<_, SessionError>(Response::new(String::new()))
            });
    let response = service
        .oneshot(Request::new(String::new()))
        .await
        .expect("answered");
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
}

#[tokio::test]
async fn private_cookies_use_the_innermost_layer_with_a_key() {
    let outer_key = Key::generate();
    let inner_key = Key::generate();
    let service = ServiceBuilder::new()
        .layer(CookieLayer::new().with_key(outer_key.clone()))
        .layer(CookieLayer::new().with_key(inner_key.clone()))
        .service_fn(|request: Request<String>| async move {
            let cookies = Cookies::from_request(&request).expect("jar");
            cookies
                .private()
                .expect("a key")
                .add(Cookie::new("secret", "42"))
                .expect("a valid cookie");
            Ok::<_, Infallible>(Response::new(String::new()))
        });
    let response = service
        .oneshot(Request::new(String::new()))
        .await
        .expect("ok");
    let pair = cookie_pair(&response, "secret").expect("private cookie");

    let reader = |key: Key| {
        CookieLayer::new()
            .with_key(key)
            .layer(service_fn(|request: Request<String>| async move {
                let cookies = Cookies::from_request(&request).expect("jar");
                let value = cookies.private().expect("key").get("secret");
                Ok::<_, Infallible>(Response::new(
                    value.map(|c| c.value().to_owned()).unwrap_or_default(),
                ))
            }))
    };
    let with_inner = reader(inner_key).oneshot(cookie_request(&pair)).await;
    assert_eq!(with_inner.expect("ok").into_body(), "42");
    let with_outer = reader(outer_key).oneshot(cookie_request(&pair)).await;
    assert_eq!(with_outer.expect("ok").into_body(), "");
}

// --- The ecosystem's middleware -------------------------------------------

const LONG: &str = "a body long enough for the compression layer to compress it, \
                    well over its thirty-two byte minimum";

async fn long_answer(request: Request<String>) -> Result<Response<String>, SessionError> {
    Session::<u64>::load(&request).await?.set(9);
    Ok(Response::new(LONG.to_owned()))
}

fn gzip_request() -> Request<String> {
    Request::builder()
        .header(ACCEPT_ENCODING, "gzip")
        .body(String::new())
        .expect("request")
}

async fn assert_compressed_with_session<B>(response: Response<B>)
where
    B: http_body::Body,
    B::Error: std::fmt::Debug,
{
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[CONTENT_ENCODING], "gzip");
    assert!(cookie_pair(&response, "id").is_some());
    let vary: Vec<_> = response
        .headers()
        .get_all("vary")
        .iter()
        .map(|v| v.to_str().expect("ascii").to_ascii_lowercase())
        .collect();
    let vary = vary.join(", ");
    assert!(
        vary.contains("accept-encoding") && vary.contains("cookie"),
        "{vary}"
    );
    let bytes = crate::common::body_bytes(response).await;
    assert_eq!(&bytes[..2], [0x1f, 0x8b], "a gzip stream");
}

#[tokio::test]
async fn stacks_inside_compression_and_tracing() {
    use tower_http::compression::CompressionLayer;
    use tower_http::trace::TraceLayer;
    let service = ServiceBuilder::new()
        .layer(TraceLayer::new_for_http())
        .layer(CompressionLayer::new())
        .layer(SessionLayer::<u64>::new(Key::generate()).expect("layer"))
        .service_fn(long_answer);
    assert_compressed_with_session(service.oneshot(gzip_request()).await.expect("ok")).await;
}

#[tokio::test]
async fn stacks_outside_compression_and_tracing() {
    use tower_http::compression::CompressionLayer;
    use tower_http::trace::TraceLayer;
    let service = ServiceBuilder::new()
        .layer(SessionLayer::<u64>::new(Key::generate()).expect("layer"))
        .layer(CompressionLayer::new())
        .layer(TraceLayer::new_for_http())
        .service_fn(long_answer);
    assert_compressed_with_session(service.oneshot(gzip_request()).await.expect("ok")).await;
}
