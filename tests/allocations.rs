//! Counts the heap allocations the layer adds to a request (untouched, and
//! reading or writing its session) with a counting global allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use http::header::COOKIE;
use http::{HeaderValue, Request, Response};
use http_body_util::BodyExt;
use serde::{Deserialize, Serialize};
use tower::{service_fn, Layer, Service};
use tower_cookie_sessions::{Key, Session, SessionError, SessionLayer};

/// Counts allocations made on the current thread, so tests running in
/// parallel on other threads do not disturb the count.
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // `try_with`: the thread-local may be gone while a thread exits.
        let _ = ALLOCATIONS.try_with(|count| count.set(count.get() + 1));
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_during<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let before = ALLOCATIONS.with(Cell::get);
    let result = f();
    (result, ALLOCATIONS.with(Cell::get) - before)
}

/// Polls a future that never waits to completion.
fn ready_now<F: Future>(future: F) -> F::Output {
    struct Noop;
    impl Wake for Noop {
        fn wake(self: Arc<Self>) {}
    }
    let waker = Waker::from(Arc::new(Noop));
    match pin!(future).as_mut().poll(&mut Context::from_waker(&waker)) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the future waited"),
    }
}

async fn untouched(_: Request<String>) -> Result<Response<String>, std::convert::Infallible> {
    Ok(Response::new(String::new()))
}

/// The session of the read and write cases: a signed-in user.
#[derive(Clone, Default, Serialize, Deserialize)]
struct Profile {
    user_id: u64,
    name: String,
}

async fn read(request: Request<String>) -> Result<Response<String>, SessionError> {
    let session = Session::<Profile>::load(&request).await?;
    let user_id = session.read(|profile| profile.user_id);
    Ok(Response::new(if user_id == 7 {
        String::new()
    } else {
        "fresh".into()
    }))
}

async fn write(request: Request<String>) -> Result<Response<String>, SessionError> {
    let session = Session::<Profile>::load(&request).await?;
    session.set(Profile {
        user_id: 7,
        name: "Ada L. Lovelace!".to_owned(),
    });
    Ok(Response::new(String::new()))
}

fn request_with(cookie: &'static str) -> Request<String> {
    let mut request = Request::new(String::new());
    // A static header value: cloning it allocates nothing, as with the
    // shared buffer hyper parses headers from.
    request
        .headers_mut()
        .insert(COOKIE, HeaderValue::from_static(cookie));
    request
}

/// Allocations of one request through `service` carrying `cookie`, after a
/// warm-up request (so lazily initialized thread-locals, such as the nonce
/// generator, are not counted).
fn per_request<S, B>(service: S, cookie: &'static str) -> usize
where
    S: Service<Request<String>, Response = Response<B>>,
    S::Error: std::fmt::Debug,
{
    per_request_with(service, || request_with(cookie))
}

/// As [`per_request`], for requests `make` builds outside the count.
fn per_request_with<S, B>(mut service: S, make: impl Fn() -> Request<String>) -> usize
where
    S: Service<Request<String>, Response = Response<B>>,
    S::Error: std::fmt::Debug,
{
    let _ = ready_now(service.call(make()));
    let request = make();
    let (response, count) =
        allocations_during(|| ready_now(service.call(request)).expect("response"));
    drop(response);
    count
}

/// What an untouched request costs over the bare service. The outermost
/// layer puts the request's jar into its extensions: the jar's shared state
/// (one `Arc`) and the extension's own box, plus, when the request's
/// extensions are still empty, the two blocks of the map `http::Extensions`
/// starts. Nothing is parsed or decrypted.
const UNTOUCHED_BUDGET: usize = 4;
/// The same through an axum `Router`, which has started the extensions map
/// (with the matched path and the original URI) before a `Router::layer`
/// runs: the jar and its box.
const UNTOUCHED_STARTED_BUDGET: usize = 2;

#[derive(Clone)]
struct AlreadyThere;

#[test]
fn untouched_requests_allocate_within_budget() {
    let cookie = "theme=dark; id=not-a-session";
    let bare = per_request(service_fn(untouched), cookie);
    let layer = SessionLayer::<u64>::new(Key::generate()).expect("layer");
    let layered = per_request(layer.layer(service_fn(untouched)), cookie) - bare;
    println!("untouched request: {layered} allocations over the bare service");
    assert_eq!(
        layered, UNTOUCHED_BUDGET,
        "an untouched request made {layered} allocations (budget {UNTOUCHED_BUDGET})"
    );

    // As a `Router` hands it over: the extensions map already started.
    let started = || {
        let mut request = request_with(cookie);
        request.extensions_mut().insert(AlreadyThere);
        request
    };
    let bare = per_request_with(service_fn(untouched), started);
    let layered = per_request_with(layer.layer(service_fn(untouched)), started) - bare;
    println!("untouched request, extensions started: {layered} allocations over bare");
    assert_eq!(
        layered, UNTOUCHED_STARTED_BUDGET,
        "with extensions started, an untouched request made {layered} allocations \
         (budget {UNTOUCHED_STARTED_BUDGET})"
    );
}

/// Reads and writes allocate too; these budgets are the counts the README
/// states, so a change that adds allocations to the hot path fails here.
/// A read is the untouched request's four, the session's shared state
/// (one `Arc`, kept by the jar and the `Session<T>` handle), the session
/// type's own `String`, and the two blocks of the response's header map
/// that `Vary: Cookie` starts.
const READ_BUDGET: usize = UNTOUCHED_BUDGET + 4;
/// A write adds the `Set-Cookie` line; in debug builds, also the check
/// that what bincode wrote reads back (encoded again, decoded, encoded),
/// which release builds skip (`.ci/run` runs this test in both).
const WRITE_BUDGET: usize = READ_BUDGET + 1 + if cfg!(debug_assertions) { 5 } else { 0 };

#[test]
fn reads_and_writes_allocate_within_budget() {
    let key = Key::from_hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
        .expect("key");
    let layer = SessionLayer::<Profile>::new(key).expect("layer");
    let mut writer = layer.layer(service_fn(write));
    let response = ready_now(writer.call(Request::new(String::new()))).expect("written");
    let line = response.headers()["set-cookie"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let cookie: &'static str = Box::leak(
        line.split(';')
            .next()
            .unwrap_or_default()
            .to_owned()
            .into_boxed_str(),
    );

    let bare = per_request(service_fn(untouched), cookie);
    let mut reader = layer.layer(service_fn(read));
    let answer = ready_now(reader.call({
        let mut request = Request::new(String::new());
        request
            .headers_mut()
            .insert(COOKIE, HeaderValue::from_static(cookie));
        request
    }))
    .expect("read");
    let text = ready_now(answer.into_body().collect())
        .expect("body")
        .to_bytes();
    assert_eq!(
        &text[..],
        b"",
        "the read case must open the written session"
    );
    let reads = per_request(reader, cookie) - bare;
    let writes = per_request(layer.layer(service_fn(write)), "theme=dark") - bare;
    println!("read: {reads} allocations over the bare service, write: {writes}");
    assert!(
        reads <= READ_BUDGET,
        "a read made {reads} allocations (budget {READ_BUDGET})"
    );
    assert!(
        writes <= WRITE_BUDGET,
        "a write made {writes} allocations (budget {WRITE_BUDGET})"
    );
}
