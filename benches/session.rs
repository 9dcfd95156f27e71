//! What `SessionLayer` costs per request, measured against the same inner
//! service without it, and against the bare envelope underneath.
//!
//! The inner service is a `tower::service_fn` answering `Response<String>`,
//! not an axum router, so every difference from `request/bare` is the
//! layer's own. Requests are built outside the timed routine
//! (`iter_batched`), and the session cookies they carry are sealed once,
//! before any measuring.
//!
//! ```text
//! cargo bench --bench session
//! cargo bench --bench session -- --warm-up-time 1 --measurement-time 2   # quick
//! ```

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use http::header::{COOKIE, SET_COOKIE};
use http::{HeaderValue, Request, Response};
use http_body_util::BodyExt;
use serde::{Deserialize, Serialize};
use tower::{service_fn, Layer, Service, ServiceExt};
use tower_cookie_sessions::fuzzing::{self, Purpose};
use tower_cookie_sessions::{Key, KeyRing, Session, SessionError, SessionLayer};

/// The session type: a signed-in user.
#[derive(Clone, Default, Serialize, Deserialize)]
struct Profile {
    user_id: u64,
    name: String,
}

const USER_ID: u64 = 1_234_567;
const NAME: &str = "Ada L. Lovelace!";
const _: () = assert!(NAME.len() == 16);
const COOKIE_NAME: &str = "id";

fn profile() -> Profile {
    Profile {
        user_id: USER_ID,
        name: NAME.to_owned(),
    }
}

/// Polls `future` once. Every future here completes on its first poll (the
/// cookie backend never waits), and an executor's `block_on` would add its
/// own bookkeeping to numbers that are only a few microseconds.
fn now<F: Future>(future: F) -> F::Output {
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
            Poll::Pending => panic!("benchmarked futures must not wait"),
        },
    )
}

/// One request through `service`, as a server would: wait for readiness,
/// then call.
fn serve<S, B>(service: &mut S, request: Request<String>) -> Response<B>
where
    S: Service<Request<String>, Response = Response<B>, Error = SessionError>,
{
    let ready = now(service.ready()).expect("service ready");
    now(ready.call(request)).expect("handler succeeded")
}

fn request(cookie: Option<&HeaderValue>) -> Request<String> {
    let mut request = Request::new(String::new());
    if let Some(cookie) = cookie {
        request.headers_mut().insert(COOKIE, cookie.clone());
    }
    request
}

/// The `Cookie` header that sends back the session in `response`.
fn cookie_from<B>(response: &Response<B>) -> HeaderValue {
    let line = response
        .headers()
        .get(SET_COOKIE)
        .expect("the session was sent")
        .to_str()
        .expect("ASCII Set-Cookie");
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

/// Everything the benchmarks share: one key, one layer, and a way to mint
/// valid cookies for a profile.
struct Fixture {
    ring: KeyRing,
    layer: SessionLayer<Profile>,
}

impl Fixture {
    fn new() -> Self {
        let key = Key::generate();
        Self {
            ring: KeyRing::from(key.clone()),
            layer: SessionLayer::builder(key)
                .cookie_name(COOKIE_NAME)
                .build()
                .expect("Profile round-trips"),
        }
    }

    /// A `Cookie` header carrying a valid session holding `profile`, sealed
    /// by the layer itself so it is exactly what a browser would send back.
    fn cookie_for(&self, profile: &Profile) -> HeaderValue {
        let profile = profile.clone();
        let mut service = self
            .layer
            .layer(service_fn(move |request: Request<String>| {
                let profile = profile.clone();
                async move {
                    Session::<Profile>::load(&request).await?.set(profile);
                    Ok::<_, SessionError>(Response::new(String::new()))
                }
            }));
        cookie_from(&serve(&mut service, request(None)))
    }

    /// The plaintext sealed in `cookie`, opened with the layer's key.
    fn plaintext_of(&self, cookie: &HeaderValue) -> Vec<u8> {
        fuzzing::open_as(
            &self.ring,
            Purpose::Session,
            COOKIE_NAME,
            sealed_value(cookie),
        )
        .expect("the layer's own cookie opens")
        .plaintext
    }

    /// A profile whose sealed plaintext is exactly `target` bytes, found by
    /// measuring rather than by knowing the encoding: the header's varints
    /// and bincode's length prefix both vary with the values.
    fn profile_of_plaintext_size(&self, target: usize) -> (Profile, HeaderValue) {
        let mut profile = Profile {
            user_id: USER_ID,
            name: String::new(),
        };
        for _ in 0..4 {
            let cookie = self.cookie_for(&profile);
            let size = self.plaintext_of(&cookie).len();
            if size == target {
                return (profile, cookie);
            }
            let len = (profile.name.len() + target).saturating_sub(size);
            profile.name = "x".repeat(len);
        }
        panic!("no profile seals to {target} bytes");
    }
}

/// The handler of `request/untouched`: never asks for the session.
async fn untouched(_request: Request<String>) -> Result<Response<String>, SessionError> {
    Ok(Response::new(String::from("ok")))
}

/// Reads one field.
async fn read(request: Request<String>) -> Result<Response<String>, SessionError> {
    let session = Session::<Profile>::load(&request).await?;
    let user_id = session.read(|profile| profile.user_id);
    Ok(Response::new(black_box(user_id).to_string()))
}

/// Starts a session: seal and `Set-Cookie`, nothing to open.
async fn write_new(request: Request<String>) -> Result<Response<String>, SessionError> {
    let session = Session::<Profile>::load(&request).await?;
    session.set(profile());
    Ok(Response::new(String::from("ok")))
}

/// Changes one field of an existing session: open, then seal.
async fn update(request: Request<String>) -> Result<Response<String>, SessionError> {
    let session = Session::<Profile>::load(&request).await?;
    session.update(|profile| profile.user_id += 1);
    Ok(Response::new(String::from("ok")))
}

type Group<'a> = criterion::BenchmarkGroup<'a, criterion::measurement::WallTime>;

/// Times `handler` behind `layer` (or alone) on requests carrying `cookie`,
/// after checking once that it answers and sends a cookie exactly when the
/// benchmark's name says.
fn bench_handler<F, Fut>(
    group: &mut Group<'_>,
    id: &str,
    layer: Option<&SessionLayer<Profile>>,
    handler: F,
    cookie: Option<&HeaderValue>,
    expect_set_cookie: bool,
) where
    F: Fn(Request<String>) -> Fut,
    Fut: Future<Output = Result<Response<String>, SessionError>>,
{
    match layer {
        Some(layer) => {
            let mut service = layer.layer(service_fn(handler));
            let response = serve(&mut service, request(cookie));
            assert_eq!(response.status(), 200, "{id}");
            assert_eq!(
                response.headers().contains_key(SET_COOKIE),
                expect_set_cookie,
                "{id}: Set-Cookie"
            );
            time(group, id, service, cookie);
        }
        None => time(group, id, service_fn(handler), cookie),
    }
}

fn time<S, B>(group: &mut Group<'_>, id: &str, mut service: S, cookie: Option<&HeaderValue>)
where
    S: Service<Request<String>, Response = Response<B>, Error = SessionError>,
{
    group.bench_function(id, |b| {
        b.iter_batched(
            || request(cookie),
            |request| serve(&mut service, request),
            BatchSize::SmallInput,
        );
    });
}

fn requests(c: &mut Criterion) {
    let fixture = Fixture::new();
    let cookie = fixture.cookie_for(&profile());

    // `read` must see the sealed profile, not a fresh default one, or it
    // would measure a failed open.
    let mut check = fixture.layer.layer(service_fn(read));
    let body = now(serve(&mut check, request(Some(&cookie)))
        .into_body()
        .collect())
    .expect("body")
    .to_bytes();
    assert_eq!(&body[..], USER_ID.to_string().as_bytes());

    let layer = Some(&fixture.layer);
    let mut group = c.benchmark_group("request");
    bench_handler(&mut group, "bare", None, untouched, Some(&cookie), false);
    bench_handler(
        &mut group,
        "untouched",
        layer,
        untouched,
        Some(&cookie),
        false,
    );
    bench_handler(&mut group, "read", layer, read, Some(&cookie), false);
    bench_handler(&mut group, "write_new", layer, write_new, None, true);
    bench_handler(&mut group, "update", layer, update, Some(&cookie), true);
    group.finish();
}

fn payloads(c: &mut Criterion) {
    let fixture = Fixture::new();
    let mut group = c.benchmark_group("payload");
    for (id, size) in [("64B", 64), ("1KB", 1024), ("2.5KB", 2560)] {
        let (_, cookie) = fixture.profile_of_plaintext_size(size);
        group.throughput(Throughput::Bytes(size as u64));
        bench_handler(
            &mut group,
            id,
            Some(&fixture.layer),
            update,
            Some(&cookie),
            true,
        );
    }
    group.finish();
}

fn floor(c: &mut Criterion) {
    let fixture = Fixture::new();
    // The very plaintext `request/update` opens and seals, so the two rows
    // compare directly.
    let cookie = fixture.cookie_for(&profile());
    let plaintext = fixture.plaintext_of(&cookie);
    let sealed = fuzzing::seal_as(&fixture.ring, Purpose::Session, COOKIE_NAME, &plaintext);

    let mut group = c.benchmark_group("floor");
    group.throughput(Throughput::Bytes(plaintext.len() as u64));
    group.bench_function("seal", |b| {
        b.iter(|| {
            fuzzing::seal_as(
                &fixture.ring,
                Purpose::Session,
                black_box(COOKIE_NAME),
                black_box(&plaintext),
            )
        });
    });
    group.bench_function("open", |b| {
        b.iter(|| {
            fuzzing::open_as(
                &fixture.ring,
                Purpose::Session,
                black_box(COOKIE_NAME),
                black_box(&sealed),
            )
            .expect("opens")
        });
    });
    group.finish();
}

criterion_group!(benches, requests, payloads, floor);
criterion_main!(benches);
