//! Runs one store-backed case of the comparison a given number of times,
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
//! and `tower_sessions/insert` of `benches/compare`), and `bare`.

use std::convert::Infallible;
use std::hint::black_box;

use http::header::{COOKIE, SET_COOKIE};
use http::{HeaderValue, Request, Response};
use serde::{Deserialize, Serialize};
use tower::{service_fn, Layer, Service, ServiceExt};
use tower_cookie_sessions::store::MemoryStore;
use tower_cookie_sessions::{Key, Session, SessionError, SessionLayer};
use tower_sessions::SessionManagerLayer;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct Profile {
    user_id: u64,
    name: String,
}

fn profile() -> Profile {
    Profile {
        user_id: 1_234_567,
        name: "Ada L. Lovelace!".to_owned(),
    }
}

async fn this_read(request: Request<String>) -> Result<Response<String>, SessionError> {
    let session = Session::<Profile>::load(&request).await?;
    let user_id = session.read(|profile| profile.user_id);
    Ok(Response::new(black_box(user_id).to_string()))
}

async fn this_write(request: Request<String>) -> Result<Response<String>, SessionError> {
    Session::<Profile>::load(&request).await?.set(profile());
    Ok(Response::new(String::from("ok")))
}

async fn ts_read(request: Request<String>) -> Result<Response<String>, Infallible> {
    let session = request
        .extensions()
        .get::<tower_sessions::Session>()
        .cloned()
        .expect("layer");
    let profile: Option<Profile> = session.get("profile").await.expect("store");
    Ok(Response::new(
        black_box(profile.map_or(0, |p| p.user_id)).to_string(),
    ))
}

async fn ts_insert(request: Request<String>) -> Result<Response<String>, Infallible> {
    let session = request
        .extensions()
        .get::<tower_sessions::Session>()
        .cloned()
        .expect("layer");
    session.insert("profile", profile()).await.expect("store");
    Ok(Response::new(String::from("ok")))
}

async fn bare(_request: Request<String>) -> Result<Response<String>, Infallible> {
    Ok(Response::new(String::from("ok")))
}

fn request(cookie: Option<&HeaderValue>) -> Request<String> {
    let mut request = Request::new(String::new());
    if let Some(cookie) = cookie {
        request.headers_mut().insert(COOKIE, cookie.clone());
    }
    request
}

fn cookie_of<B>(response: &Response<B>) -> HeaderValue {
    let line = response
        .headers()
        .get(SET_COOKIE)
        .expect("a cookie was set")
        .to_str()
        .expect("ASCII");
    HeaderValue::from_str(line.split(';').next().unwrap_or_default()).expect("valid")
}

fn run<S>(rt: &tokio::runtime::Runtime, service: &mut S, cookie: Option<&HeaderValue>, times: u64)
where
    S: Service<Request<String>>,
    S::Error: std::fmt::Debug,
{
    for _ in 0..times {
        let request = request(cookie);
        let response = rt.block_on(async {
            service
                .ready()
                .await
                .expect("ready")
                .call(request)
                .await
                .expect("answered")
        });
        drop(black_box(response));
    }
}

fn once<S>(rt: &tokio::runtime::Runtime, service: &mut S) -> S::Response
where
    S: Service<Request<String>>,
    S::Error: std::fmt::Debug,
{
    rt.block_on(async {
        service
            .ready()
            .await
            .expect("ready")
            .call(request(None))
            .await
            .expect("answered")
    })
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
        SessionLayer::<Profile>::new(Key::generate())
            .expect("Profile round-trips")
            .cookie_name("id")
            .expect("valid")
            .with_store(MemoryStore::new().with_capacity(100_000_000))
    };
    match case.as_str() {
        "bare" => run(&rt, &mut service_fn(bare), None, times),
        "this_memory_read" => {
            let layer = layer();
            let mut writer = layer.layer(service_fn(this_write));
            let first = once(&rt, &mut writer);
            let cookie = cookie_of(&first);
            run(
                &rt,
                &mut layer.layer(service_fn(this_read)),
                Some(&cookie),
                times,
            );
        }
        "this_memory_write" => run(&rt, &mut layer().layer(service_fn(this_write)), None, times),
        "ts_read" | "ts_insert" => {
            let layer = SessionManagerLayer::new(tower_sessions::MemoryStore::default());
            if case == "ts_insert" {
                run(&rt, &mut layer.layer(service_fn(ts_insert)), None, times);
            } else {
                let mut writer = layer.clone().layer(service_fn(ts_insert));
                let first = once(&rt, &mut writer);
                let cookie = cookie_of(&first);
                run(
                    &rt,
                    &mut layer.layer(service_fn(ts_read)),
                    Some(&cookie),
                    times,
                );
            }
        }
        other => panic!("unknown case {other:?}"),
    }
}
