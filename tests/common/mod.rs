//! Helpers shared by the integration tests: a movable clock, a counter app,
//! and reading `Set-Cookie` headers.
#![allow(dead_code, unreachable_pub)]

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::Query;
use axum::routing::{get, post};
use axum::Router;
use http::{Request, Response};
use serde::{Deserialize, Serialize};
use tower::ServiceExt;
use tower_cookie_sessions::testing::TestClient;
use tower_cookie_sessions::{Session, SessionLayer};

/// Writes to the real stderr: libtest captures `eprintln!` of passing
/// tests, and a skipped test must be seen.
pub fn note(text: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "{text}");
}

/// A fixed key for the tests, one per `byte`: two tests that need two
/// different keys pass two bytes.
pub fn key(byte: u8) -> tower_cookie_sessions::Key {
    let mut bytes = [byte; 32];
    // All-equal bytes are refused as a key.
    bytes[31] = byte.wrapping_add(1);
    tower_cookie_sessions::Key::from_bytes(&bytes).expect("key")
}

/// The start of every test's clock: 2023-11-14T22:13:20Z.
pub const START: u64 = 1_700_000_000;

/// A clock tests move by hand.
#[derive(Clone)]
pub struct TestClock(Arc<AtomicU64>);

impl TestClock {
    pub fn new() -> Self {
        Self(Arc::new(AtomicU64::new(START)))
    }

    /// A clock that starts at the real time: stores judge a record's expiry
    /// by their own clock, so a test that moves this one forward sees the
    /// layer refuse what the store still returns.
    pub fn starting_now() -> Self {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("after 1970")
            .as_secs();
        Self(Arc::new(AtomicU64::new(now)))
    }

    pub fn advance(&self, seconds: u64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }

    pub fn set(&self, seconds_since_start: u64) {
        self.0.store(START + seconds_since_start, Ordering::SeqCst);
    }

    pub fn now(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }

    /// The closure a layer takes as its clock.
    pub fn source(&self) -> impl Fn() -> SystemTime + Send + Sync + 'static {
        let seconds = Arc::clone(&self.0);
        move || UNIX_EPOCH + Duration::from_secs(seconds.load(Ordering::SeqCst))
    }
}

/// The session type of the counter app.
#[derive(Clone, Default, Debug, Serialize, Deserialize, PartialEq)]
pub struct Counter {
    pub visits: u64,
    pub blob: String,
}

#[derive(Deserialize)]
struct Grow {
    bytes: usize,
}

/// Routes: `/` counts, `/read` only reads, `/health` never touches the
/// session, `/logout` destroys it, `/grow?bytes=N` grows it,
/// `/resize?bytes=N` makes its blob `N` bytes and answers with the length
/// it had, `/renew` renews it.
pub fn counter_app<B: Clone + Send + Sync + 'static>(layer: SessionLayer<Counter, B>) -> Router {
    Router::new()
        .route(
            "/",
            get(|session: Session<Counter>| async move {
                let visits = session.update(|c| {
                    c.visits += 1;
                    c.visits
                });
                format!("visits: {visits}")
            }),
        )
        .route(
            "/read",
            get(|session: Session<Counter>| async move {
                format!("visits: {}", session.read(|c| c.visits))
            }),
        )
        .route("/health", get(|| async { "ok" }))
        .route(
            "/logout",
            post(|session: Session<Counter>| async move {
                session.destroy();
                "bye"
            }),
        )
        .route(
            "/grow",
            get(
                |session: Session<Counter>, Query(grow): Query<Grow>| async move {
                    let size = session.update(|c| {
                        c.blob.push_str(&"x".repeat(grow.bytes));
                        c.blob.len()
                    });
                    format!("size: {size}")
                },
            ),
        )
        .route(
            "/resize",
            get(
                |session: Session<Counter>, Query(size): Query<Grow>| async move {
                    let was = session
                        .update(|c| std::mem::replace(&mut c.blob, "x".repeat(size.bytes)).len());
                    format!("was: {was}")
                },
            ),
        )
        .route(
            "/renew",
            get(|session: Session<Counter>| async move {
                session.renew();
                "renewed"
            }),
        )
        .layer(layer)
}

/// A request to `path` with the given `Cookie` header, if any.
pub fn request(method: &str, path: &str, cookie: Option<&str>) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(path);
    if let Some(cookie) = cookie {
        builder = builder.header("cookie", cookie);
    }
    builder.body(Body::empty()).expect("valid request")
}

/// Sends a GET to `path`.
pub async fn get_with(app: &Router, path: &str, cookie: Option<&str>) -> Response<Body> {
    send(app, request("GET", path, cookie)).await
}

pub async fn send(app: &Router, request: Request<Body>) -> Response<Body> {
    app.clone()
        .oneshot(request)
        .await
        .expect("infallible router")
}

/// The whole body of `response`, whatever its body type (an axum `Body`,
/// or the layer's `SessionBody` around a `String`).
pub async fn body_bytes<B>(response: Response<B>) -> bytes::Bytes
where
    B: http_body::Body,
    B::Error: std::fmt::Debug,
{
    use http_body_util::BodyExt as _;
    response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes()
}

/// The whole body of `response` as text.
pub async fn body_text<B>(response: Response<B>) -> String
where
    B: http_body::Body,
    B::Error: std::fmt::Debug,
{
    String::from_utf8(body_bytes(response).await.to_vec()).expect("utf-8 body")
}

/// Every `Set-Cookie` line of the response.
pub fn set_cookies<B>(response: &Response<B>) -> Vec<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|value| value.to_str().expect("ascii set-cookie").to_owned())
        .collect()
}

/// The `Set-Cookie` line for cookie `name`, if any.
pub fn set_cookie_for<B>(response: &Response<B>, name: &str) -> Option<String> {
    set_cookies(response)
        .into_iter()
        .find(|line| line.starts_with(&format!("{name}=")))
}

/// `name=value` of the `Set-Cookie` for `name`, ready for a `Cookie` header.
pub fn cookie_pair<B>(response: &Response<B>, name: &str) -> Option<String> {
    set_cookie_for(response, name).map(|line| line.split(';').next().unwrap_or_default().to_owned())
}

/// A [`TestClient`] over an app, sending requests the way these tests
/// write them: a method and a path, no body.
pub trait Visit {
    /// Sends `method path` with the client's cookies; the response's are
    /// kept.
    async fn visit(&mut self, method: &str, path: &str) -> Response<Body>;

    async fn get(&mut self, path: &str) -> Response<Body> {
        self.visit("GET", path).await
    }
}

impl Visit for TestClient<Router> {
    async fn visit(&mut self, method: &str, path: &str) -> Response<Body> {
        self.send(request(method, path, None))
            .await
            .expect("infallible router")
    }
}

/// The `Cookie` header `client` sends to the app's pages, if any.
pub fn cookie_header_of(client: &TestClient<Router>) -> Option<String> {
    let header = client.cookie_header(http::Uri::from_static("/"))?;
    Some(header.to_str().expect("ascii cookies").to_owned())
}

/// The names plus values of the cookies `response` sets (removals left
/// out), in bytes: what they add to the browser's `Cookie` header.
pub fn set_cookie_bytes<B>(response: &Response<B>) -> usize {
    set_cookies(response)
        .iter()
        .filter(|line| !line.contains("Max-Age=0"))
        .map(|line| line.split(';').next().unwrap_or_default().len() - 1)
        .sum()
}

/// The names of the cookies `response` removes, sorted.
pub fn removed_names<B>(response: &Response<B>) -> Vec<String> {
    let mut names: Vec<String> = set_cookies(response)
        .iter()
        .filter(|line| line.contains("Max-Age=0"))
        .map(|line| line.split('=').next().unwrap_or_default().to_owned())
        .collect();
    names.sort();
    names
}

/// The names of the cookies `response` sets (removals left out), sorted.
pub fn set_names<B>(response: &Response<B>) -> Vec<String> {
    let mut names: Vec<String> = set_cookies(response)
        .iter()
        .filter(|line| !line.contains("Max-Age=0"))
        .map(|line| line.split('=').next().unwrap_or_default().to_owned())
        .collect();
    names.sort();
    names
}

/// Log lines written on this thread while the guard lives (debug level
/// and up), for asserting what the layer said.
///
/// One global subscriber routes each event to the buffer of the thread
/// that emitted it: per-test thread-local subscribers race with tracing's
/// callsite cache when tests run in parallel threads. Tests using it must
/// run on a current-thread runtime, as `#[tokio::test]` does by default.
pub struct Logs {
    buffer: Arc<Mutex<Vec<u8>>>,
}

thread_local! {
    static CAPTURE: std::cell::RefCell<Option<Arc<Mutex<Vec<u8>>>>> = const { std::cell::RefCell::new(None) };
}

impl Logs {
    pub fn capture() -> Self {
        static INSTALL: std::sync::Once = std::sync::Once::new();
        INSTALL.call_once(|| {
            let subscriber = tracing_subscriber::fmt()
                .with_max_level(tracing::Level::DEBUG)
                .with_writer(|| ThreadWriter)
                .with_ansi(false)
                // A span's fields as they end, `session.outcome` among them.
                .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
                .finish();
            tracing::subscriber::set_global_default(subscriber).expect("one global subscriber");
        });
        let buffer = Arc::new(Mutex::new(Vec::new()));
        CAPTURE.with(|capture| *capture.borrow_mut() = Some(Arc::clone(&buffer)));
        Self { buffer }
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.buffer.lock().expect("log buffer")).into_owned()
    }
}

impl Drop for Logs {
    fn drop(&mut self) {
        CAPTURE.with(|capture| *capture.borrow_mut() = None);
    }
}

struct ThreadWriter;

impl Write for ThreadWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        CAPTURE.with(|capture| {
            if let Some(buffer) = capture.borrow().as_ref() {
                buffer.lock().expect("log buffer").extend_from_slice(bytes);
            }
        });
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub mod map_app;
pub mod outage;
pub mod proxy;
#[cfg(feature = "redis")]
pub mod redis_server;
pub mod sql;

/// A session plaintext as the layer writes it: format 1, `flags`
/// (`0b01` persistent, `0b10` with an idle deadline, which this helper
/// never writes), schema 0, the issue time and the absolute deadline as
/// LEB128 varints, then `data` (the session type's bincode bytes). For
/// tests that seal what no configuration would write.
pub fn session_plaintext(flags: u8, issued: u64, absolute: u64, data: &[u8]) -> Vec<u8> {
    let mut plaintext = vec![1, flags, 0];
    for mut value in [issued, absolute] {
        while value >= 0x80 {
            plaintext.push((value as u8) | 0x80);
            value >>= 7;
        }
        plaintext.push(value as u8);
    }
    plaintext.extend_from_slice(data);
    plaintext
}
