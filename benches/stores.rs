//! What a server-side session costs per request: the memory store always,
//! and Redis when the `redis` feature is on and `REDIS_URL` names a server.
//!
//! Store futures run on a current-thread tokio runtime (the layer's store
//! timeouts need tokio's timer), so every row here includes one
//! `block_on`; `store/bare` is the same inner service behind no layer, on
//! the same runtime, for the ratio.
//!
//! ```text
//! cargo bench --bench stores
//! REDIS_URL=redis://127.0.0.1:6379 cargo bench --features redis --bench stores
//! ```

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use http::header::{COOKIE, SET_COOKIE};
use http::{HeaderValue, Request, Response};
use http_body_util::BodyExt;
use serde::{Deserialize, Serialize};
use tokio::runtime::Runtime;
use tower::{service_fn, Layer, Service, ServiceExt};
use tower_cookie_sessions::session::Expiry;
use tower_cookie_sessions::store::{
    MemoryStore, OwnerIndex, Record, RecordKey, SessionStore, StoreError,
};
use tower_cookie_sessions::{Key, Session, SessionError, SessionLayer};

/// The session type: a signed-in user, as in `benches/session.rs`.
#[derive(Clone, Default, Serialize, Deserialize)]
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

async fn bare(_request: Request<String>) -> Result<Response<String>, SessionError> {
    Ok(Response::new(String::from("ok")))
}

async fn read(request: Request<String>) -> Result<Response<String>, SessionError> {
    let session = Session::<Profile>::load(&request).await?;
    let user_id = session.read(|profile| profile.user_id);
    Ok(Response::new(black_box(user_id).to_string()))
}

async fn write_new(request: Request<String>) -> Result<Response<String>, SessionError> {
    Session::<Profile>::load(&request).await?.set(profile());
    Ok(Response::new(String::from("ok")))
}

async fn update(request: Request<String>) -> Result<Response<String>, SessionError> {
    let session = Session::<Profile>::load(&request).await?;
    session.update(|profile| profile.user_id += 1);
    Ok(Response::new(String::from("ok")))
}

fn request(cookie: Option<&HeaderValue>) -> Request<String> {
    let mut request = Request::new(String::new());
    if let Some(cookie) = cookie {
        request.headers_mut().insert(COOKIE, cookie.clone());
    }
    request
}

/// Benchmarks read, write and update through a layer over `store`.
fn bench_store<S: SessionStore + Clone>(
    c: &mut Criterion,
    runtime: &Runtime,
    name: &str,
    store: S,
) {
    // Short-lived, so what the benchmark writes to a shared server expires.
    let layer = SessionLayer::<Profile>::store_builder(Key::generate(), store)
        .expiry(Expiry::MaxAge(Duration::from_secs(60)))
        .build()
        .expect("Profile round-trips");

    let mut writer = layer.layer(service_fn(write_new));
    let first = runtime
        .block_on(writer.ready().await_call(request(None)))
        .expect("session saved");
    let line = first.headers()[SET_COOKIE].to_str().expect("ASCII");
    let cookie = HeaderValue::from_str(line.split(';').next().unwrap_or_default()).expect("cookie");

    let mut group = c.benchmark_group(format!("store/{name}"));
    let mut reader = layer.layer(service_fn(read));
    let answer = runtime
        .block_on(reader.ready().await_call(request(Some(&cookie))))
        .expect("read");
    let body = runtime
        .block_on(answer.into_body().collect())
        .expect("body")
        .to_bytes();
    assert_eq!(&body[..], b"1234567", "read must see the saved session");
    group.bench_function("read", |b| {
        b.iter_batched(
            || request(Some(&cookie)),
            |request| {
                runtime
                    .block_on(reader.ready().await_call(request))
                    .expect("read")
            },
            BatchSize::SmallInput,
        );
    });
    group.bench_function("write_new", |b| {
        b.iter_batched(
            || request(None),
            |request| {
                runtime
                    .block_on(writer.ready().await_call(request))
                    .expect("write")
            },
            BatchSize::SmallInput,
        );
    });
    let mut updater = layer.layer(service_fn(update));
    group.bench_function("update", |b| {
        b.iter_batched(
            || request(Some(&cookie)),
            |request| {
                runtime
                    .block_on(updater.ready().await_call(request))
                    .expect("update")
            },
            BatchSize::SmallInput,
        );
    });
    group.finish();
}

/// Writes `count` sessions into `store` through a layer, so that it is at
/// capacity before the benchmark's own sessions arrive.
fn fill(runtime: &Runtime, store: &MemoryStore, count: usize) {
    let layer = SessionLayer::<Profile>::store_builder(Key::generate(), store.clone())
        .build()
        .expect("Profile round-trips");
    let mut writer = layer.layer(service_fn(write_new));
    for _ in 0..count {
        runtime
            .block_on(writer.ready().await_call(request(None)))
            .expect("session saved");
    }
    assert_eq!(store.len(), count);
}

/// `ready().await` then `call`, as one future.
trait AwaitCall<S, B> {
    fn await_call(
        self,
        request: Request<String>,
    ) -> impl std::future::Future<Output = Result<Response<B>, SessionError>>;
}

impl<'a, S, B> AwaitCall<S, B> for tower::util::Ready<'a, S, Request<String>>
where
    S: Service<Request<String>, Response = Response<B>, Error = SessionError>,
{
    async fn await_call(self, request: Request<String>) -> Result<Response<B>, SessionError> {
        self.await?.call(request).await
    }
}

/// A `MemoryStore` that does not declare itself trusted.
#[derive(Clone)]
struct Untrusted(MemoryStore);

impl SessionStore for Untrusted {
    fn create(
        &self,
        key: &RecordKey,
        record: &Record,
    ) -> impl std::future::Future<Output = Result<bool, StoreError>> + Send {
        self.0.create(key, record)
    }
    fn load(
        &self,
        key: &RecordKey,
    ) -> impl std::future::Future<Output = Result<Option<Record>, StoreError>> + Send {
        self.0.load(key)
    }
    fn save(
        &self,
        key: &RecordKey,
        record: &Record,
        expected: u64,
    ) -> impl std::future::Future<Output = Result<bool, StoreError>> + Send {
        self.0.save(key, record, expected)
    }
    fn delete(
        &self,
        key: &RecordKey,
    ) -> impl std::future::Future<Output = Result<(), StoreError>> + Send {
        self.0.delete(key)
    }
    fn touch(
        &self,
        key: &RecordKey,
        expires_at: std::time::SystemTime,
    ) -> impl std::future::Future<Output = Result<bool, StoreError>> + Send {
        self.0.touch(key, expires_at)
    }
}

impl OwnerIndex for Untrusted {
    fn delete_by_owner(
        &self,
        owner: &str,
    ) -> impl std::future::Future<Output = Result<u64, StoreError>> + Send {
        self.0.delete_by_owner(owner)
    }

    fn list_by_owner(
        &self,
        owner: &str,
    ) -> impl std::future::Future<Output = Result<Vec<(RecordKey, Record)>, StoreError>> + Send
    {
        self.0.list_by_owner(owner)
    }
}

fn stores(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");

    let mut plain = service_fn(bare);
    c.bench_function("store/bare", |b| {
        b.iter_batched(
            || request(None),
            |request| {
                runtime
                    .block_on(plain.ready().await_call(request))
                    .expect("bare")
            },
            BatchSize::SmallInput,
        );
    });

    // Big enough that the benchmark's new sessions never evict.
    bench_store(
        c,
        &runtime,
        "memory",
        MemoryStore::new().with_capacity(10_000_000),
    );

    // A full store: every new session evicts one, and the session read
    // and updated is a promoted one, as a visitor's is.
    let full = MemoryStore::new().with_capacity(10_000);
    fill(&runtime, &full, 10_000);
    bench_store(c, &runtime, "memory_full", full);

    // The same store as one the layer does not trust: every record sealed
    // and opened, as with Redis or SQL. The difference is what binding and
    // sealing a record costs.
    bench_store(
        c,
        &runtime,
        "memory_sealed",
        Untrusted(MemoryStore::new().with_capacity(10_000_000)),
    );

    // The same store behind `AnyStore`, as `connect` returns it: the
    // difference from `store/memory` is what the erased call costs (one
    // boxed future per store call).
    bench_store(
        c,
        &runtime,
        "memory_erased",
        tower_cookie_sessions::store::AnyStore::with_owner_index(
            MemoryStore::new().with_capacity(10_000_000),
        ),
    );

    #[cfg(feature = "redis")]
    match std::env::var("REDIS_URL") {
        Ok(url) => {
            let store = runtime
                .block_on(tower_cookie_sessions::store::RedisStore::connect(&url))
                .expect("REDIS_URL names a reachable server")
                .with_prefix(format!("tcs-bench:{}:", std::process::id()));
            bench_store(c, &runtime, "redis", store);
        }
        Err(_) => eprintln!("store/redis skipped: REDIS_URL is not set"),
    }
    #[cfg(not(feature = "redis"))]
    eprintln!("store/redis skipped: build with --features redis");
}

criterion_group!(benches, stores);
criterion_main!(benches);
