//! The `GET /` of `examples/counter.rs`, with the session layer or without
//! it, for the load test in `benches/load/` (`benches/load/run.sh` builds
//! and drives it; see there).
//!
//! ```text
//! MODE=none   cargo run --release --example load_server
//! MODE=cookie cargo run --release --example load_server
//! MODE=memory cargo run --release --example load_server
//! MODE=redis  cargo run --release --features redis --example load_server
//! curl -c jar -b jar localhost:3000/      # visits: 1, then 2, ...
//! ```
//!
//! `MODE` is `none` (no layer: the handler counts in a process-wide atomic,
//! so the request does the same work minus the session), `cookie` (the
//! whole session is the cookie), `memory` or `redis` (the session in a
//! store, the cookie a sealed id). Every mode serves the same router, the
//! same `Visitor` type and the same answer, `visits: N`, on the same
//! runtime as the counter, so the modes differ only by the layer.
//! `REDIS_URL` (default `redis://127.0.0.1:6379`) and `REDIS_PREFIX`
//! (default `tcs-load:`, so the load test can remove its keys afterwards)
//! configure the Redis store; `SESSION_KEY` the key (64 hex characters;
//! random when unset). `PORT` changes the port (default 3000; 0 picks a
//! free one, and the log says which); `RUST_LOG` the log filter.

use std::error::Error;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::routing::get;
use axum::Router;
use serde::{Deserialize, Serialize};
use tower_cookie_sessions::store::MemoryStore;
use tower_cookie_sessions::{Key, Session, SessionLayer};
use tracing_subscriber::EnvFilter;

/// The counter's session type, so a session cookie or record is the same
/// size as the counter's.
#[derive(Clone, Default, Serialize, Deserialize)]
struct Visitor {
    visits: u64,
    notes: String,
}

/// What `MODE=none` counts in, instead of a session.
static VISITS: AtomicU64 = AtomicU64::new(0);

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn Error>> {
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".to_owned());
    let port: u16 = port
        .parse()
        .map_err(|_| format!("PORT is not a port number: {port:?}"))?;
    let mode = std::env::var("MODE").unwrap_or_else(|_| "none".to_owned());

    let app = Router::new().route("/health", get(health));
    let app = match mode.as_str() {
        "none" => app.route("/", get(count_without_session)),
        "cookie" => app.route("/", get(count)).layer(
            SessionLayer::<Visitor>::builder(key()?)
                .secure(false)
                .build()?,
        ),
        "memory" => app.route("/", get(count)).layer(
            SessionLayer::<Visitor>::store_builder(key()?, MemoryStore::new())
                .secure(false)
                .build()?,
        ),
        "redis" => app.route("/", get(count)).layer(
            SessionLayer::<Visitor>::store_builder(key()?, redis().await?)
                .secure(false)
                .build()?,
        ),
        other => return Err(format!("MODE {other:?}: use none, cookie, memory or redis").into()),
    };

    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    tracing::info!(
        "mode {mode}: listening on http://{}",
        listener.local_addr()?
    );
    let shutdown = async { tokio::signal::ctrl_c().await.expect("Ctrl-C handler") };
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}

/// The counter's layer: client-side by default, `Secure` off for plain
/// HTTP on loopback.
fn key() -> Result<Key, Box<dyn Error>> {
    Ok(match std::env::var("SESSION_KEY") {
        Ok(hex) => Key::from_hex(&hex)
            .map_err(|error| format!("SESSION_KEY must be 64 hex characters: {error}"))?,
        Err(_) => Key::generate(),
    })
}

#[cfg(feature = "redis")]
async fn redis() -> Result<tower_cookie_sessions::store::RedisStore, Box<dyn Error>> {
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let prefix = std::env::var("REDIS_PREFIX").unwrap_or_else(|_| "tcs-load:".to_owned());
    let store = tower_cookie_sessions::store::RedisStore::connect(&url)
        .await
        .map_err(|error| format!("Redis at {url}: {error}"))?;
    Ok(store.with_prefix(prefix))
}

#[cfg(not(feature = "redis"))]
async fn redis() -> Result<MemoryStore, Box<dyn Error>> {
    Err("MODE=redis needs `cargo build --release --features redis --example load_server`".into())
}

/// The counter's `GET /`.
async fn count(session: Session<Visitor>) -> String {
    let visits = session.update(|visitor| {
        visitor.visits += 1;
        visitor.visits
    });
    format!("visits: {visits}")
}

/// The same answer with the layer removed: one count for the whole process.
async fn count_without_session() -> String {
    let visits = VISITS.fetch_add(1, Ordering::Relaxed) + 1;
    format!("visits: {visits}")
}

async fn health() -> &'static str {
    "ok"
}
