//! tower-cookie-sessions side by side with tower-sessions, axum-extra and
//! tower-cookies, in one binary so every ratio comes from one run.
//!
//! ```text
//! cargo bench --manifest-path benches/compare/Cargo.toml
//! cargo bench --manifest-path benches/compare/Cargo.toml -- --warm-up-time 1 --measurement-time 2   # quick
//! cargo bench --manifest-path benches/compare/Cargo.toml -- this/            # one group (table keeps the rest blank)
//! COMPARE_DRIVER=block_on cargo bench --manifest-path benches/compare/Cargo.toml   # every case on the runtime
//! ```
//!
//! Every case is one request through a tower service, with the request
//! built outside the timed routine (`iter_batched`) and any cookie it
//! carries obtained from a first response before timing. Each case is
//! checked once before it is timed (status 200, `Set-Cookie` exactly when it
//! should be, a read sees the stored value), then run 1,000 times under a
//! counting allocator for allocations per request, then timed by criterion
//! (with counting off). After criterion, a markdown table and the targets'
//! PASS/FAIL lines are printed from criterion's own medians
//! (`<criterion dir>/<group>/<case>/new/estimates.json`).
//!
//! The `*/untouched` rows carry each library's valid cookie, as a browser
//! sends it on every request; `*/untouched_no_cookie` rows are a first
//! visit (tower-sessions' often-quoted untouched cost is this one).
//!
//! How futures are driven (the same for a case and its baseline):
//!
//! - cases that never wait (the cookie backend, tower-cookies, axum-extra,
//!   and their baselines `bare/service_fn`, `bare/axum_router`) are polled
//!   once with a no-op waker, as in the crate's own `benches/session.rs`;
//!   polling panics if a future would wait;
//! - cases with a store (`this/memory_*`, `tower_sessions/*`; the crate's
//!   store timeouts need tokio's timer, and tower-sessions' store is async)
//!   run in `block_on` on a current-thread tokio runtime, as in the crate's
//!   `benches/stores.rs`; their baseline is `bare/service_fn_rt`, the bare
//!   service on that same runtime.
//!
//! `COMPARE_DRIVER=block_on` or `COMPARE_DRIVER=poll` puts every case on one
//! driver instead (with `poll`, the runtime is entered so timers can be
//! created, and a store future that waits panics).

use std::alloc::{GlobalAlloc, Layout, System};
use std::convert::Infallible;
use std::fmt::Write as _;
use std::future::Future;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::SystemTime;

use axum::extract::Request as AxumRequest;
use axum::routing::get;
use axum::Router;
use axum_extra::extract::cookie::PrivateCookieJar;
use criterion::{BatchSize, Criterion};
use http::header::{COOKIE, SET_COOKIE};
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode};
use tokio::runtime::Runtime;
use tower::{service_fn, Layer, Service, ServiceExt};
use tower_cookie_sessions::session::SessionBody;
use tower_cookie_sessions::store::MemoryStore;
// The envelope alone is measured under the session's own purpose, through
// the crate's test bridge (`fuzzing`), as the layer seals it.
use tower_cookie_sessions::fuzzing::{self, Purpose};
use tower_cookie_sessions::{Key, KeyRing, Session, SessionLayer};
use tower_cookie_sessions_compare::{
    profile, this_read, this_write, ts_insert, ts_read, untouched, Profile, COOKIE_NAME, USER_ID,
};
use tower_cookies::cookie::{Cookie, SameSite};
use tower_cookies::CookieManagerLayer;
use tower_sessions::SessionManagerLayer;

// ---------------------------------------------------------------------------
// Counting allocator: off while criterion times, on for the 1,000 counted
// requests of each case.

struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCS: AtomicU64 = AtomicU64::new(0);
static REALLOCS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is forwarded unchanged to `System`; the counters are
// only atomics on the side.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Relaxed) {
            ALLOCS.fetch_add(1, Relaxed);
            BYTES.fetch_add(layout.size() as u64, Relaxed);
        }
        System.alloc(layout)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Relaxed) {
            ALLOCS.fetch_add(1, Relaxed);
            BYTES.fetch_add(layout.size() as u64, Relaxed);
        }
        System.alloc_zeroed(layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Relaxed) {
            REALLOCS.fetch_add(1, Relaxed);
            BYTES.fetch_add(new_size.saturating_sub(layout.size()) as u64, Relaxed);
        }
        System.realloc(ptr, layout, new_size)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocator calls per request, averaged over [`COUNTED`] requests.
#[derive(Clone, Copy, Default)]
struct AllocStats {
    /// `alloc` + `alloc_zeroed`: new blocks.
    allocs: f64,
    /// `realloc` calls (a growing `Vec` or `String`).
    reallocs: f64,
    /// Bytes newly requested (growth only, for reallocs).
    bytes: f64,
}

fn count_allocations(requests: u64, run: impl FnOnce()) -> AllocStats {
    ALLOCS.store(0, Relaxed);
    REALLOCS.store(0, Relaxed);
    BYTES.store(0, Relaxed);
    COUNTING.store(true, Relaxed);
    run();
    COUNTING.store(false, Relaxed);
    let per = |counter: &AtomicU64| counter.load(Relaxed) as f64 / requests as f64;
    AllocStats {
        allocs: per(&ALLOCS),
        reallocs: per(&REALLOCS),
        bytes: per(&BYTES),
    }
}

// ---------------------------------------------------------------------------
// The payload every case carries.

/// The cookie the jar-based anchors write: the same attributes as the
/// crate's session cookie (`HttpOnly; SameSite=Lax; Secure; Path=/`, no
/// `Max-Age`), the profile as JSON, which is what an application of theirs
/// would store.
fn profile_cookie() -> Cookie<'static> {
    let json = serde_json::to_string(&profile()).expect("profile serializes");
    Cookie::build((COOKIE_NAME, json))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(true)
        .build()
}

fn user_id_of_json(json: Option<&str>) -> u64 {
    json.and_then(|json| serde_json::from_str::<Profile>(json).ok())
        .map_or(0, |profile| profile.user_id)
}

// ---------------------------------------------------------------------------
// Driving futures.

#[derive(Clone, Copy, PartialEq, Eq)]
enum Driver {
    /// One poll with a no-op waker; panics if the future would wait.
    Poll,
    /// `block_on` on a current-thread tokio runtime.
    BlockOn,
}

impl Driver {
    fn label(self) -> &'static str {
        match self {
            Driver::Poll => "poll",
            Driver::BlockOn => "block_on",
        }
    }
}

/// Which driver each kind of case uses (see the module docs).
#[derive(Clone, Copy)]
struct Drivers {
    /// Cases whose futures never wait.
    sync: Driver,
    /// Cases with a store.
    store: Driver,
}

impl Drivers {
    fn from_env() -> Self {
        match std::env::var("COMPARE_DRIVER").as_deref() {
            Ok("block_on") => Drivers {
                sync: Driver::BlockOn,
                store: Driver::BlockOn,
            },
            Ok("poll") => Drivers {
                sync: Driver::Poll,
                store: Driver::Poll,
            },
            Ok("") | Ok("mixed") | Err(_) => Drivers {
                sync: Driver::Poll,
                store: Driver::BlockOn,
            },
            Ok(other) => panic!("COMPARE_DRIVER={other}: expected block_on, poll or mixed"),
        }
    }
}

fn poll_once<F: Future>(future: F) -> F::Output {
    struct Noop;
    impl Wake for Noop {
        fn wake(self: Arc<Self>) {}
    }
    thread_local! {
        static WAKER: Waker = Waker::from(Arc::new(Noop));
    }
    let mut future = pin!(future);
    WAKER.with(
        |waker| match future.as_mut().poll(&mut Context::from_waker(waker)) {
            Poll::Ready(output) => output,
            Poll::Pending => {
                panic!("a future polled once would wait: run with COMPARE_DRIVER=block_on")
            }
        },
    )
}

fn drive<F: Future>(driver: Driver, runtime: &Runtime, future: F) -> F::Output {
    match driver {
        Driver::Poll => poll_once(future),
        Driver::BlockOn => runtime.block_on(future),
    }
}

/// One request through `service` as a server would send it: wait for
/// readiness, then call, as one future.
fn serve<S, B>(
    driver: Driver,
    runtime: &Runtime,
    service: &mut S,
    request: Request<B>,
) -> S::Response
where
    S: Service<Request<B>>,
    S::Error: std::fmt::Debug,
{
    drive(driver, runtime, async {
        service
            .ready()
            .await
            .expect("service ready")
            .call(request)
            .await
            .expect("service answered")
    })
}

// ---------------------------------------------------------------------------
// Requests and responses.

fn request<B: Default>(cookie: Option<&HeaderValue>) -> Request<B> {
    let mut request = Request::new(B::default());
    if let Some(cookie) = cookie {
        request.headers_mut().insert(COOKIE, cookie.clone());
    }
    request
}

/// The `Cookie` header that sends back the `COOKIE_NAME` cookie set in
/// `headers`.
fn cookie_from(headers: &HeaderMap) -> HeaderValue {
    let line = headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|line| line.starts_with(&format!("{COOKIE_NAME}=")))
        .expect("the cookie was set");
    let pair = line.split(';').next().unwrap_or_default();
    HeaderValue::from_str(pair).expect("valid Cookie header")
}

fn sealed_value(cookie: &HeaderValue) -> &str {
    cookie
        .to_str()
        .expect("ASCII cookie")
        .strip_prefix(COOKIE_NAME)
        .and_then(|rest| rest.strip_prefix('='))
        .expect("the session cookie")
}

/// Status 200 and `Set-Cookie` exactly when expected.
fn check_head<B>(id: &str, response: &Response<B>, expect_set_cookie: bool) {
    assert_eq!(response.status(), StatusCode::OK, "{id}: status");
    assert_eq!(
        response.headers().contains_key(SET_COOKIE),
        expect_set_cookie,
        "{id}: Set-Cookie present"
    );
}

fn axum_body(response: Response<axum::body::Body>, runtime: &Runtime) -> String {
    let bytes = runtime
        .block_on(axum::body::to_bytes(response.into_body(), 1024))
        .expect("body");
    String::from_utf8(bytes.to_vec()).expect("UTF-8 body")
}

/// The text of a response from this crate's layer over a `String` body.
fn session_body(response: Response<SessionBody<String>>, runtime: &Runtime) -> String {
    axum_body(response.map(axum::body::Body::new), runtime)
}

// ---------------------------------------------------------------------------
// Handlers over `tower::service_fn` for the jar-based anchors and the
// Router cases; the store cases' handlers are in `src/lib.rs`.

/// tower-cookies: `cookies.private(&key)` read of one field.
fn tc_read(
    key: &'static tower_cookies::Key,
) -> impl FnMut(Request<String>) -> std::future::Ready<Result<Response<String>, Infallible>> + Clone
{
    move |request: Request<String>| {
        let cookies = request
            .extensions()
            .get::<tower_cookies::Cookies>()
            .expect("CookieManagerLayer is added");
        let cookie = cookies.private(key).get(COOKIE_NAME);
        let user_id = user_id_of_json(cookie.as_ref().map(Cookie::value));
        std::future::ready(Ok(Response::new(black_box(user_id).to_string())))
    }
}

/// tower-cookies: `cookies.private(&key).add(...)` of the profile.
fn tc_write(
    key: &'static tower_cookies::Key,
) -> impl FnMut(Request<String>) -> std::future::Ready<Result<Response<String>, Infallible>> + Clone
{
    move |request: Request<String>| {
        let cookies = request
            .extensions()
            .get::<tower_cookies::Cookies>()
            .expect("CookieManagerLayer is added");
        cookies.private(key).add(profile_cookie());
        std::future::ready(Ok(Response::new(String::from("ok"))))
    }
}

/// This crate in an axum `Router`: the `Session<T>` extractor, one field.
async fn this_router_read(session: Session<Profile>) -> String {
    black_box(session.read(|profile| profile.user_id)).to_string()
}

/// This crate in an axum `Router`: a new session is set.
async fn this_router_write(session: Session<Profile>) -> &'static str {
    session.set(profile());
    "ok"
}

/// axum-extra: `PrivateCookieJar` read of one field.
async fn ax_read(jar: PrivateCookieJar) -> String {
    let cookie = jar.get(COOKIE_NAME);
    black_box(user_id_of_json(cookie.as_ref().map(Cookie::value))).to_string()
}

/// axum-extra: `PrivateCookieJar` write of the profile.
async fn ax_write(jar: PrivateCookieJar) -> (PrivateCookieJar, &'static str) {
    (jar.add(profile_cookie()), "ok")
}

// ---------------------------------------------------------------------------
// Running cases.

const WARM_UP: usize = 100;
const COUNTED: usize = 1_000;

/// One row of the summary.
struct Row {
    id: &'static str,
    driver: Option<Driver>,
    baseline: Option<&'static str>,
    allocs: AllocStats,
}

struct Runner<'a> {
    criterion: &'a mut Criterion,
    rows: Vec<Row>,
}

impl Runner<'_> {
    /// Checks `routine` once, counts its allocations over [`COUNTED`]
    /// inputs, then has criterion time it. `id` is `group/case`.
    fn case<I, O>(
        &mut self,
        id: &'static str,
        driver: Option<Driver>,
        baseline: Option<&'static str>,
        mut input: impl FnMut() -> I,
        mut routine: impl FnMut(I) -> O,
        check: impl FnOnce(O),
    ) {
        check(routine(input()));
        for _ in 0..WARM_UP {
            black_box(routine(input()));
        }

        let inputs: Vec<I> = (0..COUNTED).map(|_| input()).collect();
        let mut outputs = Vec::with_capacity(COUNTED);
        let allocs = count_allocations(COUNTED as u64, || {
            for item in inputs {
                outputs.push(routine(item));
            }
        });
        drop(outputs);

        let (group, name) = id.split_once('/').expect("group/case");
        let mut group = self.criterion.benchmark_group(group);
        group.bench_function(name, |b| {
            b.iter_batched(&mut input, &mut routine, BatchSize::SmallInput);
        });
        group.finish();

        self.rows.push(Row {
            id,
            driver,
            baseline,
            allocs,
        });
    }
}

fn bare_baseline(driver: Driver) -> &'static str {
    match driver {
        Driver::Poll => "bare/service_fn",
        Driver::BlockOn => "bare/service_fn_rt",
    }
}

fn run_all(runner: &mut Runner<'_>, runtime: &Runtime, drivers: Drivers) {
    let rt = runtime;
    let sync = drivers.sync;
    let store = drivers.store;

    // ---- this crate, set up first: its cookie is also what the bare rows
    // receive, so bare and untouched parse the same headers.
    let key = Key::generate();
    let ring = KeyRing::from(key.clone());
    let layer = SessionLayer::<Profile>::builder(key.clone()).cookie_name(COOKIE_NAME).build().expect("Profile round-trips");
    let this_cookie = {
        let mut writer = layer.layer(service_fn(this_write));
        cookie_from(serve(sync, rt, &mut writer, request::<String>(None)).headers())
    };

    // ---- baselines
    {
        let mut bare = service_fn(untouched);
        runner.case(
            "bare/service_fn",
            Some(sync),
            None,
            || request::<String>(Some(&this_cookie)),
            |request| serve(sync, rt, &mut bare, request),
            |response| check_head("bare/service_fn", &response, false),
        );
    }
    {
        let mut bare = service_fn(untouched);
        runner.case(
            "bare/service_fn_rt",
            Some(store),
            None,
            || request::<String>(Some(&this_cookie)),
            |request| serve(store, rt, &mut bare, request),
            |response| check_head("bare/service_fn_rt", &response, false),
        );
    }
    let ax_key = axum_extra::extract::cookie::Key::generate();
    let ax_cookie = {
        let mut writer = Router::new()
            .route("/", get(ax_write))
            .with_state(ax_key.clone());
        cookie_from(serve(sync, rt, &mut writer, request::<axum::body::Body>(None)).headers())
    };
    {
        let mut router = Router::new().route("/", get(|| async { "ok" }));
        runner.case(
            "bare/axum_router",
            Some(sync),
            None,
            || request::<axum::body::Body>(Some(&ax_cookie)),
            |request: AxumRequest| serve(sync, rt, &mut router, request),
            |response| {
                check_head("bare/axum_router", &response, false);
                assert_eq!(axum_body(response, rt), "ok");
            },
        );
    }
    {
        // What `Router::layer` charges any layer: the route is boxed again,
        // with its future, around a layer that does nothing.
        let mut router = Router::new()
            .route("/", get(|| async { "ok" }))
            .layer(tower::layer::layer_fn(|service| service));
        runner.case(
            "bare/axum_router_layer",
            Some(sync),
            Some("bare/axum_router"),
            || request::<axum::body::Body>(Some(&ax_cookie)),
            |request: AxumRequest| serve(sync, rt, &mut router, request),
            |response| check_head("bare/axum_router_layer", &response, false),
        );
    }

    // ---- this crate, client-side
    let plaintext = fuzzing::open_as(
        &ring,
        Purpose::Session,
        COOKIE_NAME,
        sealed_value(&this_cookie),
    )
    .expect("the layer's own cookie opens")
    .plaintext;
    let sealed = fuzzing::seal_as(&ring, Purpose::Session, COOKIE_NAME, &plaintext);
    runner.case(
        "this/floor_seal",
        None,
        None,
        || (),
        |()| {
            fuzzing::seal_as(
                &ring,
                Purpose::Session,
                black_box(COOKIE_NAME),
                black_box(&plaintext),
            )
        },
        |sealed| assert!(!sealed.is_empty()),
    );
    runner.case(
        "this/floor_open",
        None,
        None,
        || (),
        |()| {
            fuzzing::open_as(
                &ring,
                Purpose::Session,
                black_box(COOKIE_NAME),
                black_box(&sealed),
            )
            .expect("opens")
        },
        |opened| assert_eq!(opened.plaintext, plaintext),
    );
    {
        let mut service = layer.layer(service_fn(untouched));
        runner.case(
            "this/untouched",
            Some(sync),
            Some(bare_baseline(sync)),
            || request::<String>(Some(&this_cookie)),
            |request| serve(sync, rt, &mut service, request),
            |response| check_head("this/untouched", &response, false),
        );
    }
    {
        // A first visit, or a request from a client without the cookie.
        let mut service = layer.layer(service_fn(untouched));
        runner.case(
            "this/untouched_no_cookie",
            Some(sync),
            Some(bare_baseline(sync)),
            || request::<String>(None),
            |request| serve(sync, rt, &mut service, request),
            |response| check_head("this/untouched_no_cookie", &response, false),
        );
    }
    {
        let mut service = layer.layer(service_fn(this_read));
        runner.case(
            "this/read",
            Some(sync),
            Some(bare_baseline(sync)),
            || request::<String>(Some(&this_cookie)),
            |request| serve(sync, rt, &mut service, request),
            |response| {
                check_head("this/read", &response, false);
                assert_eq!(
                    session_body(response, rt),
                    USER_ID.to_string(),
                    "this/read sees the session"
                );
            },
        );
    }
    {
        let mut service = layer.layer(service_fn(this_write));
        runner.case(
            "this/write",
            Some(sync),
            Some(bare_baseline(sync)),
            || request::<String>(None),
            |request| serve(sync, rt, &mut service, request),
            |response| check_head("this/write", &response, true),
        );
    }

    // ---- this crate through an axum Router, as applications stack it:
    // `Router::layer`, the extractor, axum's body. Against `bare/axum_router`.
    {
        let mut router = Router::new()
            .route("/", get(|| async { "ok" }))
            .layer(layer.clone());
        runner.case(
            "this/router_untouched",
            Some(sync),
            Some("bare/axum_router"),
            || request::<axum::body::Body>(Some(&this_cookie)),
            |request: AxumRequest| serve(sync, rt, &mut router, request),
            |response| check_head("this/router_untouched", &response, false),
        );
    }
    {
        let mut router = Router::new()
            .route("/", get(this_router_read))
            .layer(layer.clone());
        runner.case(
            "this/router_read",
            Some(sync),
            Some("bare/axum_router"),
            || request::<axum::body::Body>(Some(&this_cookie)),
            |request: AxumRequest| serve(sync, rt, &mut router, request),
            |response| {
                check_head("this/router_read", &response, false);
                assert_eq!(
                    axum_body(response, rt),
                    USER_ID.to_string(),
                    "this/router_read sees the session"
                );
            },
        );
    }
    {
        let mut router = Router::new()
            .route("/", get(this_router_write))
            .layer(layer.clone());
        runner.case(
            "this/router_write",
            Some(sync),
            Some("bare/axum_router"),
            || request::<axum::body::Body>(None),
            |request: AxumRequest| serve(sync, rt, &mut router, request),
            |response| check_head("this/router_write", &response, true),
        );
    }

    // ---- this crate, memory store. Separate stores for read and write, so
    // the read store holds one record however long the write loop runs; big
    // enough that the write loop never evicts (tower-sessions' MemoryStore
    // never evicts either).
    {
        let memory_layer = SessionLayer::<Profile>::store_builder(key.clone(), MemoryStore::new().with_capacity(100_000_000)).cookie_name(COOKIE_NAME).build().expect("Profile round-trips");
        let cookie = {
            let mut writer = memory_layer.layer(service_fn(this_write));
            cookie_from(serve(store, rt, &mut writer, request::<String>(None)).headers())
        };
        let mut service = memory_layer.layer(service_fn(this_read));
        runner.case(
            "this/memory_read",
            Some(store),
            Some(bare_baseline(store)),
            || request::<String>(Some(&cookie)),
            |request| serve(store, rt, &mut service, request),
            |response| {
                check_head("this/memory_read", &response, false);
                assert_eq!(
                    session_body(response, rt),
                    USER_ID.to_string(),
                    "this/memory_read sees the session"
                );
            },
        );
    }
    {
        let memory_layer = SessionLayer::<Profile>::store_builder(key.clone(), MemoryStore::new().with_capacity(100_000_000)).cookie_name(COOKIE_NAME).build().expect("Profile round-trips");
        let mut service = memory_layer.layer(service_fn(this_write));
        runner.case(
            "this/memory_write",
            Some(store),
            Some(bare_baseline(store)),
            || request::<String>(None),
            |request| serve(store, rt, &mut service, request),
            |response| check_head("this/memory_write", &response, true),
        );
    }

    // ---- tower-sessions + MemoryStore (plain id cookie, then private)
    tower_sessions_cases(runner, rt, store, None);
    tower_sessions_cases(
        runner,
        rt,
        store,
        Some(tower_sessions::cookie::Key::generate()),
    );

    // ---- axum-extra PrivateCookieJar in an axum Router, Key from state
    {
        let mut router = Router::new()
            .route("/", get(ax_read))
            .with_state(ax_key.clone());
        runner.case(
            "axum_extra/private_read",
            Some(sync),
            Some("bare/axum_router"),
            || request::<axum::body::Body>(Some(&ax_cookie)),
            |request: AxumRequest| serve(sync, rt, &mut router, request),
            |response| {
                check_head("axum_extra/private_read", &response, false);
                assert_eq!(
                    axum_body(response, rt),
                    USER_ID.to_string(),
                    "axum_extra/private_read sees the cookie"
                );
            },
        );
    }
    {
        let mut router = Router::new()
            .route("/", get(ax_write))
            .with_state(ax_key.clone());
        runner.case(
            "axum_extra/private_write",
            Some(sync),
            Some("bare/axum_router"),
            || request::<axum::body::Body>(None),
            |request: AxumRequest| serve(sync, rt, &mut router, request),
            |response| check_head("axum_extra/private_write", &response, true),
        );
    }

    // ---- tower-cookies: CookieManagerLayer + cookies.private(&key)
    let tc_key: &'static tower_cookies::Key = Box::leak(Box::new(tower_cookies::Key::generate()));
    let tc_cookie = {
        let mut writer = CookieManagerLayer::new().layer(service_fn(tc_write(tc_key)));
        cookie_from(serve(sync, rt, &mut writer, request::<String>(None)).headers())
    };
    {
        let mut service = CookieManagerLayer::new().layer(service_fn(untouched));
        runner.case(
            "tower_cookies/untouched",
            Some(sync),
            Some(bare_baseline(sync)),
            || request::<String>(Some(&tc_cookie)),
            |request| serve(sync, rt, &mut service, request),
            |response| check_head("tower_cookies/untouched", &response, false),
        );
    }
    {
        let mut service = CookieManagerLayer::new().layer(service_fn(tc_read(tc_key)));
        runner.case(
            "tower_cookies/private_read",
            Some(sync),
            Some(bare_baseline(sync)),
            || request::<String>(Some(&tc_cookie)),
            |request| serve(sync, rt, &mut service, request),
            |response| {
                check_head("tower_cookies/private_read", &response, false);
                assert_eq!(
                    response.body(),
                    &USER_ID.to_string(),
                    "tower_cookies/private_read sees the cookie"
                );
            },
        );
    }
    {
        let mut service = CookieManagerLayer::new().layer(service_fn(tc_write(tc_key)));
        runner.case(
            "tower_cookies/private_write",
            Some(sync),
            Some(bare_baseline(sync)),
            || request::<String>(None),
            |request| serve(sync, rt, &mut service, request),
            |response| check_head("tower_cookies/private_write", &response, true),
        );
    }
}

/// `untouched`, `read`, `insert` (plain id cookie), or `private_read`,
/// `private_insert` (with `with_private(key)`), over tower-sessions'
/// MemoryStore. Read and insert get separate stores, as for this crate.
fn tower_sessions_cases(
    runner: &mut Runner<'_>,
    rt: &Runtime,
    driver: Driver,
    private: Option<tower_sessions::cookie::Key>,
) {
    let (untouched_id, read_id, insert_id) = match private {
        None => (
            Some("tower_sessions/untouched"),
            "tower_sessions/read",
            "tower_sessions/insert",
        ),
        Some(_) => (
            None,
            "tower_sessions/private_read",
            "tower_sessions/private_insert",
        ),
    };
    let baseline = Some(bare_baseline(driver));

    // One macro body for both cookie controllers (plain and private are
    // different layer types).
    macro_rules! cases {
        ($layer:expr) => {{
            let read_layer = $layer;
            let cookie = {
                let mut writer = read_layer.clone().layer(service_fn(ts_insert));
                cookie_from(serve(driver, rt, &mut writer, request::<String>(None)).headers())
            };
            if let Some(id) = untouched_id {
                let mut service = read_layer.clone().layer(service_fn(untouched));
                runner.case(
                    id,
                    Some(driver),
                    baseline,
                    || request::<String>(Some(&cookie)),
                    |request| serve(driver, rt, &mut service, request),
                    |response| check_head(id, &response, false),
                );
                let mut service = read_layer.clone().layer(service_fn(untouched));
                runner.case(
                    "tower_sessions/untouched_no_cookie",
                    Some(driver),
                    baseline,
                    || request::<String>(None),
                    |request| serve(driver, rt, &mut service, request),
                    |response| check_head("tower_sessions/untouched_no_cookie", &response, false),
                );
            }
            {
                let mut service = read_layer.layer(service_fn(ts_read));
                runner.case(
                    read_id,
                    Some(driver),
                    baseline,
                    || request::<String>(Some(&cookie)),
                    |request| serve(driver, rt, &mut service, request),
                    |response| {
                        check_head(read_id, &response, false);
                        assert_eq!(
                            response.body(),
                            &USER_ID.to_string(),
                            "{read_id} sees the session"
                        );
                    },
                );
            }
            {
                let mut service = $layer.layer(service_fn(ts_insert));
                runner.case(
                    insert_id,
                    Some(driver),
                    baseline,
                    || request::<String>(None),
                    |request| serve(driver, rt, &mut service, request),
                    |response| check_head(insert_id, &response, true),
                );
            }
        }};
    }

    match private {
        None => cases!(SessionManagerLayer::new(
            tower_sessions::MemoryStore::default()
        )),
        Some(key) => cases!(
            SessionManagerLayer::new(tower_sessions::MemoryStore::default())
                .with_private(key.clone())
        ),
    }
}

// ---------------------------------------------------------------------------
// Summary.

fn criterion_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        PathBuf::from(home)
    } else if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        PathBuf::from(target).join("criterion")
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("target/criterion")
    }
}

/// Criterion's median point estimate for `id`, if this run wrote it.
fn median_ns(dir: &Path, id: &str, started: SystemTime) -> Option<f64> {
    let path = dir.join(id).join("new/estimates.json");
    let modified = std::fs::metadata(&path)
        .and_then(|meta| meta.modified())
        .ok()?;
    if modified < started {
        return None; // from an earlier run (this case was filtered out)
    }
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).ok()?).ok()?;
    json["median"]["point_estimate"].as_f64()
}

fn fmt_ns(ns: Option<f64>) -> String {
    ns.map_or_else(|| "–".to_owned(), |ns| format!("{ns:.0}"))
}

fn summary(rows: &[Row], dir: &Path, started: SystemTime, drivers: Drivers) -> String {
    let median = |id: &str| median_ns(dir, id, started);
    let allocs = |id: &str| rows.iter().find(|row| row.id == id).map(|row| row.allocs);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n## Side by side (criterion medians, ns per request)\n\n\
         Drivers: never-waiting cases `{}`, store cases `{}` (COMPARE_DRIVER to change); \
         allocations per request over {COUNTED} requests, counted outside criterion.\n",
        drivers.sync.label(),
        drivers.store.label()
    );
    let _ = writeln!(
        out,
        "| case | driver | median ns | baseline | over baseline ns | ratio | allocs/req | reallocs/req | bytes/req |"
    );
    let _ = writeln!(out, "|---|---|---:|---|---:|---:|---:|---:|---:|");
    for row in rows {
        let time = median(row.id);
        let base = row.baseline.and_then(median);
        let (over, ratio) = match (time, base) {
            (Some(time), Some(base)) => (
                format!("{:+.0}", time - base),
                format!("{:.2}×", time / base),
            ),
            _ => ("".to_owned(), "".to_owned()),
        };
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} | {} | {:.1} | {:.1} | {:.0} |",
            row.id,
            row.driver.map_or("direct", Driver::label),
            fmt_ns(time),
            row.baseline.map_or_else(String::new, |b| format!("`{b}`")),
            over,
            ratio,
            row.allocs.allocs,
            row.allocs.reallocs,
            row.allocs.bytes,
        );
    }

    let _ = writeln!(out, "\n### Targets\n");
    let mut line = |ok: Option<bool>, text: String| {
        let verdict = match ok {
            Some(true) => "PASS",
            Some(false) => "FAIL",
            None => "SKIP",
        };
        let _ = writeln!(out, "- {verdict} {text}");
    };

    // Each library's cost over the bare service it wraps, on its own
    // driver's baseline.
    let bare = bare_baseline(drivers.sync);
    let over = |id: &str, base: &str| median(id).zip(median(base)).map(|(t, b)| t - b);
    let store_bare = bare_baseline(drivers.store);

    // 1. untouched: at most half of tower-sessions', and no more than
    // tower-cookies'.
    let ours = over("this/untouched", bare);
    let ts = over("tower_sessions/untouched", store_bare);
    let tc = over("tower_cookies/untouched", bare);
    line(
        ours.zip(ts).map(|(o, t)| o <= t / 2.0),
        format!(
            "untouched: `this/untouched` − `{bare}` = {} ns ≤ ½ × (`tower_sessions/untouched` − \
             `{store_bare}` = {} ns) = {} ns",
            fmt_ns(ours),
            fmt_ns(ts),
            fmt_ns(ts.map(|t| t / 2.0))
        ),
    );
    line(
        ours.zip(tc).map(|(o, t)| o <= t),
        format!(
            "untouched: `this/untouched` − `{bare}` = {} ns ≤ `tower_cookies/untouched` − `{bare}` = {} ns",
            fmt_ns(ours),
            fmt_ns(tc)
        ),
    );

    // 2. ratios of whole requests against an anchor.
    let mut ratio = |ours: &str, theirs: &str, limit: f64| {
        let time = median(ours);
        let anchor = median(theirs);
        line(
            time.zip(anchor).map(|(t, a)| t <= a * limit),
            format!(
                "`{ours}` {} ns ≤ {limit} × `{theirs}` {} ns = {} ns (ratio {})",
                fmt_ns(time),
                fmt_ns(anchor),
                fmt_ns(anchor.map(|a| a * limit)),
                time.zip(anchor)
                    .map_or_else(|| "–".to_owned(), |(t, a)| format!("{:.2}", t / a))
            ),
        );
    };
    ratio("this/read", "tower_cookies/private_read", 0.9);
    ratio("this/write", "tower_cookies/private_write", 0.9);
    ratio("this/router_read", "axum_extra/private_read", 0.6);
    ratio("this/router_write", "axum_extra/private_write", 0.8);
    ratio("this/memory_read", "tower_sessions/read", 0.7);
    ratio("this/memory_write", "tower_sessions/insert", 0.7);

    // 3. the layer through a Router costs at most 50 ns more than through
    // `service_fn`, each over its own bare baseline.
    for (router, direct) in [
        ("this/router_untouched", "this/untouched"),
        ("this/router_read", "this/read"),
        ("this/router_write", "this/write"),
    ] {
        let through_router = over(router, "bare/axum_router");
        let through_fn = over(direct, bare);
        let gap = through_router.zip(through_fn).map(|(r, f)| r - f);
        line(
            gap.map(|gap| gap <= 50.0),
            format!(
                "Router gap: (`{router}` − `bare/axum_router` = {} ns) − (`{direct}` − `{bare}` = {} ns) \
                 = {} ns ≤ 50 ns",
                fmt_ns(through_router),
                fmt_ns(through_fn),
                fmt_ns(gap)
            ),
        );
    }

    let _ = writeln!(
        out,
        "- INFO `bare/axum_router_layer` − `bare/axum_router` = {} ns: what `Router::layer` \
         charges any layer (the route and its future boxed again)",
        fmt_ns(over("bare/axum_router_layer", "bare/axum_router"))
    );

    // For the README: the layer's overhead against the envelope alone.
    for (ours, floor) in [
        ("this/read", "this/floor_open"),
        ("this/write", "this/floor_seal"),
    ] {
        let _ = writeln!(
            out,
            "- INFO `{ours}` − `{bare}` = {} ns; `{floor}` = {} ns",
            fmt_ns(over(ours, bare)),
            fmt_ns(median(floor))
        );
    }

    // Not a target: tower-sessions with its id cookie encrypted
    // (`with_private`, AES-256-GCM), which is what the sealed id is, so the
    // two pay for the same kind of cookie.
    for (ours, theirs) in [
        ("this/memory_read", "tower_sessions/private_read"),
        ("this/memory_write", "tower_sessions/private_insert"),
    ] {
        let _ = writeln!(
            out,
            "- INFO `{ours}` {} ns against `{theirs}` {} ns: ratio {} (both cookies encrypted)",
            fmt_ns(median(ours)),
            fmt_ns(median(theirs)),
            median(ours)
                .zip(median(theirs))
                .map_or_else(|| "–".to_owned(), |(o, t)| format!("{:.2}", o / t))
        );
    }

    let _ = writeln!(out, "\nAllocations per request (to state in the README):\n");
    for id in [
        "this/untouched",
        "this/untouched_no_cookie",
        "this/read",
        "this/write",
        "this/router_untouched",
        "this/router_read",
        "this/router_write",
        "this/memory_read",
        "this/memory_write",
        "tower_cookies/untouched",
        "bare/service_fn",
        "bare/axum_router",
        "bare/axum_router_layer",
    ] {
        if let Some(stats) = allocs(id) {
            let _ = writeln!(
                out,
                "- `{id}`: {:.1} allocations, {:.1} reallocations, {:.0} bytes",
                stats.allocs, stats.reallocs, stats.bytes
            );
        }
    }
    out
}

fn main() {
    let started = SystemTime::now();
    let drivers = Drivers::from_env();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    // With every case polled once, store futures still create tokio timers.
    let _context = (drivers.store == Driver::Poll).then(|| runtime.enter());

    let dir = criterion_dir();
    let mut criterion = Criterion::default()
        .output_directory(&dir)
        .configure_from_args();
    let mut runner = Runner {
        criterion: &mut criterion,
        rows: Vec::new(),
    };
    run_all(&mut runner, &runtime, drivers);
    let rows = std::mem::take(&mut runner.rows);
    criterion.final_summary();

    let table = summary(&rows, &dir, started, drivers);
    println!("{table}");
    if std::fs::create_dir_all(&dir).is_ok() {
        let path = dir.join("compare-summary.md");
        if std::fs::write(&path, &table).is_ok() {
            println!("(also written to {})", path.display());
        }
    }
}
