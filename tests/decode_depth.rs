//! A session nested deeper than the decoder allows gives a fresh session,
//! not a stack overflow that aborts the process (issue 11).
//!
//! The deep record or cookie is written through the layer itself, by a
//! handler that sets a deep session on a thread with a stack big enough to
//! encode, clone and drop it: the format stays the layer's business.

mod common;

use http::{Request, Response, StatusCode};
use serde::{Deserialize, Serialize};
use tower::{service_fn, Layer, ServiceExt};
use tower_cookie_sessions::session::{SessionBody, StoreBackend};
use tower_cookie_sessions::store::MemoryStore;
use tower_cookie_sessions::{Key, Session, SessionError, SessionLayer};

use common::{body_text, cookie_pair, Logs};

/// One level of nesting per value: the decoder allows 128.
#[derive(Clone, Default, Debug, Serialize, Deserialize)]
enum Nested {
    #[default]
    Leaf,
    Node(Box<Nested>),
}

impl Nested {
    fn levels(levels: usize) -> Self {
        (1..levels).fold(Self::Leaf, |inner, _| Self::Node(Box::new(inner)))
    }

    /// Counted without recursion, so a deep value can be measured anywhere.
    fn depth(&self) -> usize {
        let mut value = self;
        let mut levels = 1;
        while let Self::Node(inner) = value {
            levels += 1;
            value = inner;
        }
        levels
    }
}

fn store_layer() -> SessionLayer<Nested, StoreBackend<MemoryStore>> {
    SessionLayer::<Nested>::store_builder(Key::generate(), MemoryStore::new())
        .build()
        .expect("layer")
}

fn cookie_layer() -> SessionLayer<Nested> {
    SessionLayer::<Nested>::new(Key::generate()).expect("layer")
}

/// About the most levels whose sealed cookie stays under the 4 KB limit
/// (3,030 no longer fits).
const COOKIE_LEVELS: usize = 3_000;

/// `POST` with a number of levels sets the session to a value that deep;
/// anything else answers the session's depth and whether it is new.
async fn handler(request: Request<String>) -> Result<Response<String>, SessionError> {
    let session = Session::<Nested>::load(&request).await?;
    if request.method() == http::Method::POST {
        let levels = request.body().parse().expect("a number of levels");
        session.set(Nested::levels(levels));
        return Ok(Response::new(String::new()));
    }
    let depth = session.read(Nested::depth);
    Ok(Response::new(format!("{depth} {}", session.is_new())))
}

/// Sets a session `levels` deep through `layer`.
async fn set<B>(layer: &SessionLayer<Nested, B>, levels: usize) -> Response<SessionBody<String>> {
    let request = Request::post("/")
        .body(levels.to_string())
        .expect("request");
    layer
        .layer(service_fn(handler))
        .oneshot(request)
        .await
        .expect("the layer answers")
}

/// Saves a session `levels` deep through `layer` and gives its cookie.
async fn save<B>(layer: &SessionLayer<Nested, B>, levels: usize) -> String {
    let response = set(layer, levels).await;
    assert_eq!(response.status(), StatusCode::OK);
    cookie_pair(&response, "id").expect("a session cookie")
}

/// Runs `task` on a current-thread runtime in a thread whose stack can
/// encode, clone and drop a value 100,000 levels deep: all of them recurse,
/// and the value is the application's own, so its stack is the
/// application's to size.
fn on_a_big_stack<R: Send + 'static>(
    task: impl std::future::Future<Output = R> + Send + 'static,
) -> R {
    std::thread::Builder::new()
        .stack_size(1 << 30)
        .spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(task)
        })
        .expect("spawn")
        .join()
        .expect("the big-stack thread")
}

/// What a plain read of the session behind `cookie` answers.
async fn read<B>(layer: &SessionLayer<Nested, B>, cookie: &str) -> String {
    let request = Request::get("/")
        .header("cookie", cookie)
        .body(String::new())
        .expect("request");
    let response = layer
        .layer(service_fn(handler))
        .oneshot(request)
        .await
        .expect("read");
    assert_eq!(response.status(), StatusCode::OK);
    body_text(response).await
}

#[tokio::test]
async fn stored_sessions_up_to_the_limit_read_back_and_deeper_ones_start_afresh() {
    let layer = store_layer();
    let at_limit = save(&layer, 128).await;
    assert_eq!(read(&layer, &at_limit).await, "128 false");
    let over = save(&layer, 129).await;
    assert_eq!(read(&layer, &over).await, "1 true");
}

#[tokio::test]
async fn cookie_sessions_up_to_the_limit_read_back_and_deeper_ones_start_afresh() {
    let layer = cookie_layer();
    let at_limit = save(&layer, 128).await;
    assert_eq!(read(&layer, &at_limit).await, "128 false");
    let over = save(&layer, 129).await;
    assert_eq!(read(&layer, &over).await, "1 true");
}

#[tokio::test]
async fn a_record_nested_a_hundred_thousand_deep_gives_a_fresh_session() {
    let layer = store_layer();
    let saving = layer.clone();
    let cookie = on_a_big_stack(async move { save(&saving, 100_000).await });

    // On the test thread's ordinary stack: without a depth limit, this
    // overflows it and aborts the test binary.
    let logs = Logs::capture();
    assert_eq!(read(&layer, &cookie).await, "1 true");
    let text = logs.text();
    assert!(text.contains("session record unreadable"), "{text}");
    assert!(text.contains("session data does not decode"), "{text}");
}

/// A cookie holds about 4 KB, one byte per level here: deep enough to
/// overflow an unoptimized build's 2 MB stack without the limit, though an
/// optimized build would survive it.
#[tokio::test]
async fn the_deepest_session_a_cookie_holds_gives_a_fresh_session() {
    let layer = cookie_layer();
    let saving = layer.clone();
    let cookie = on_a_big_stack(async move { save(&saving, COOKIE_LEVELS).await });
    assert!(cookie.len() > 3_900, "{}", cookie.len());
    assert_eq!(read(&layer, &cookie).await, "1 true");
}

/// So the 100,000-deep case exists for stores only: a cookie cannot carry
/// it, and the layer refuses to save it.
#[test]
fn a_cookie_cannot_carry_a_hundred_thousand_levels() {
    let layer = cookie_layer();
    let response = on_a_big_stack(async move { set(&layer, 100_000).await });
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(cookie_pair(&response, "id").is_none());
}

#[tokio::test]
async fn the_depth_limit_is_a_layer_setting() {
    let shallow = SessionLayer::<Nested>::builder(Key::generate())
        .max_decode_depth(8)
        .build()
        .expect("layer");
    let at_limit = save(&shallow, 8).await;
    assert_eq!(read(&shallow, &at_limit).await, "8 false");
    let over = save(&shallow, 9).await;
    assert_eq!(read(&shallow, &over).await, "1 true");

    let deep = SessionLayer::<Nested>::store_builder(Key::generate(), MemoryStore::new())
        .max_decode_depth(500)
        .build()
        .expect("layer");
    let cookie = save(&deep, 400).await;
    assert_eq!(read(&deep, &cookie).await, "400 false");
}
