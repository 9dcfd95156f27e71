//! Runs one case of the comparison a given number of times,
//! with nothing else in the process, for a profiler (`perf`, or
//! `valgrind --tool=callgrind`, whose instruction counts repeat run to run
//! however loaded the machine is).
//!
//! ```text
//! cargo build --profile profiling --manifest-path benches/compare/Cargo.toml --bin one_case
//! perf record --call-graph dwarf benches/compare/target/profiling/one_case this_memory_read 1000000
//! ```
//!
//! Cases: `this_memory_read`, `this_memory_write`, `ts_read`, `ts_insert`
//! (the rows `this/memory_read`, `this/memory_write`, `tower_sessions/read`
//! and `tower_sessions/insert` of `benches/compare`), `this_read` (the row
//! `this/read`), `this_read_busy` (the same with five other cookies before
//! the session's, as browsers send them), `this_memory_read_erased` (the
//! memory store behind `AnyStore`) and `bare`.

use std::hint::black_box;

use http::header::{COOKIE, SET_COOKIE};
use http::{HeaderValue, Request, Response};
use tower::{service_fn, Layer, Service, ServiceExt};
use tower_cookie_sessions::store::MemoryStore;
use tower_cookie_sessions::{Key, SessionLayer};
use tower_cookie_sessions_compare::{
    this_read, this_write, ts_insert, ts_read, untouched, Profile, COOKIE_NAME,
};
use tower_sessions::SessionManagerLayer;

fn request(cookie: Option<&HeaderValue>) -> Request<String> {
    let mut request = Request::new(String::new());
    if let Some(cookie) = cookie {
        request.headers_mut().insert(COOKIE, cookie.clone());
    }
    request
}

/// The `Cookie` header that sends back the session `writer` sets on a
/// first visit.
fn first_cookie<S, B>(rt: &tokio::runtime::Runtime, writer: &mut S) -> HeaderValue
where
    S: Service<Request<String>, Response = Response<B>>,
    S::Error: std::fmt::Debug,
{
    let response = serve(rt, writer, request(None));
    let line = response
        .headers()
        .get(SET_COOKIE)
        .expect("a cookie was set")
        .to_str()
        .expect("ASCII");
    HeaderValue::from_str(line.split(';').next().unwrap_or_default()).expect("valid")
}

/// One request through `service`, as the comparison serves it.
fn serve<S>(rt: &tokio::runtime::Runtime, service: &mut S, request: Request<String>) -> S::Response
where
    S: Service<Request<String>>,
    S::Error: std::fmt::Debug,
{
    rt.block_on(async {
        service
            .ready()
            .await
            .expect("ready")
            .call(request)
            .await
            .expect("answered")
    })
}

fn run<S>(rt: &tokio::runtime::Runtime, service: &mut S, cookie: Option<&HeaderValue>, times: u64)
where
    S: Service<Request<String>>,
    S::Error: std::fmt::Debug,
{
    for _ in 0..times {
        drop(black_box(serve(rt, service, request(cookie))));
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let case = args.next().unwrap_or_default();
    let times: u64 = args.next().map_or(10_000, |n| n.parse().expect("a count"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let layer = || {
        SessionLayer::<Profile>::store_builder(Key::generate(), MemoryStore::new().with_capacity(100_000_000)).cookie_name(COOKIE_NAME).build().expect("Profile round-trips")
    };
    match case.as_str() {
        "bare" => run(&rt, &mut service_fn(untouched), None, times),
        "this_memory_read" => {
            let layer = layer();
            let cookie = first_cookie(&rt, &mut layer.layer(service_fn(this_write)));
            let mut reader = layer.layer(service_fn(this_read));
            run(&rt, &mut reader, Some(&cookie), times);
        }
        "this_read" | "this_read_busy" => {
            let layer = SessionLayer::<Profile>::builder(Key::generate())
                .cookie_name(COOKIE_NAME)
                .build()
                .expect("Profile round-trips");
            let mut cookie = first_cookie(&rt, &mut layer.layer(service_fn(this_write)));
            if case == "this_read_busy" {
                // What a browser sends beside a session: analytics, preferences.
                let mut busy = b"_ga=GA1.2.1234567890.1700000000; _gid=GA1.2.987654321.1700000000; theme=dark; lang=en-GB; consent=%7B%22ads%22%3Afalse%7D; ".to_vec();
                busy.extend_from_slice(cookie.as_bytes());
                cookie = HeaderValue::from_bytes(&busy).expect("valid");
            }
            run(&rt, &mut layer.layer(service_fn(this_read)), Some(&cookie), times);
        }
        "this_memory_read_erased" => {
            // The same store behind `AnyStore`, as `store::connect` gives it.
            let store = tower_cookie_sessions::store::AnyStore::with_owner_index(
                MemoryStore::new().with_capacity(100_000_000),
            );
            let layer = SessionLayer::<Profile, _>::store_builder(Key::generate(), store)
                .cookie_name(COOKIE_NAME)
                .build()
                .expect("Profile round-trips");
            let cookie = first_cookie(&rt, &mut layer.layer(service_fn(this_write)));
            run(&rt, &mut layer.layer(service_fn(this_read)), Some(&cookie), times);
        }
        "this_memory_write" => run(&rt, &mut layer().layer(service_fn(this_write)), None, times),
        "ts_read" => {
            let layer = SessionManagerLayer::new(tower_sessions::MemoryStore::default());
            let cookie = first_cookie(&rt, &mut layer.clone().layer(service_fn(ts_insert)));
            run(
                &rt,
                &mut layer.layer(service_fn(ts_read)),
                Some(&cookie),
                times,
            );
        }
        "ts_insert" => {
            let layer = SessionManagerLayer::new(tower_sessions::MemoryStore::default());
            run(&rt, &mut layer.layer(service_fn(ts_insert)), None, times);
        }
        other => panic!("unknown case {other:?}"),
    }
}
