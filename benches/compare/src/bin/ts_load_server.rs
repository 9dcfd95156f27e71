//! The `GET /` of the crate's `examples/load_server.rs` built on
//! tower-sessions 0.15 instead, for the load test in `benches/load/`
//! (`benches/load/run.sh` builds it and drives it as the `ts-memory` and
//! `ts-redis` modes; see there).
//!
//! ```text
//! MODE=memory cargo run --release --manifest-path benches/compare/Cargo.toml --bin ts_load_server
//! MODE=redis  cargo run --release --manifest-path benches/compare/Cargo.toml --bin ts_load_server
//! curl -c jar -b jar localhost:3000/      # visits: 1, then 2, ...
//! ```
//!
//! `MODE` is `memory` (tower-sessions' own `MemoryStore`, the default) or
//! `redis` (the Redis store of tower-sessions-redis-store 0.16, fred and
//! MessagePack, ported below to tower-sessions 0.15). The router, the
//! `Visitor` type, the answer `visits: N`, the `/health` route, the runtime
//! and the command line are those of `load_server`, so from wrk's side the
//! two differ only by the session layer. The layer is tower-sessions'
//! default (`SessionManagerLayer::new(store)`: the cookie `id` holds the
//! plain session id) with `Secure` off for plain HTTP on loopback;
//! `COOKIE=private` uses `with_private` instead (the id encrypted, with a
//! key derived from `SESSION_KEY`, 64 hex characters, random when unset).
//! `REDIS_URL` (default `redis://127.0.0.1:6379`) and `REDIS_PREFIX`
//! (default `ts-load:`, so the load test can remove its keys afterwards)
//! configure the Redis store. `PORT` changes the port (default 3000; 0
//! picks a free one, and the log says which); `RUST_LOG` the log filter.
//! Ctrl-C (SIGINT) shuts the server down gracefully.

use std::error::Error;
use std::net::SocketAddr;
use std::process::ExitCode;

use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use serde::{Deserialize, Serialize};
use tower_sessions::cookie::Key;
use tower_sessions::{MemoryStore, Session, SessionManagerLayer, SessionStore};
use tracing_subscriber::EnvFilter;

/// The counter's session type, as in `load_server`, kept under one key of
/// the tower-sessions record.
#[derive(Clone, Default, Serialize, Deserialize)]
struct Visitor {
    visits: u64,
    notes: String,
}

/// The record key the `Visitor` is kept under.
const VISITOR: &str = "visitor";

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
    let mode = std::env::var("MODE").unwrap_or_else(|_| "memory".to_owned());
    let private = match std::env::var("COOKIE").as_deref() {
        Err(_) | Ok("plain") => None,
        Ok("private") => Some(key()?),
        Ok(other) => return Err(format!("COOKIE {other:?}: use plain or private").into()),
    };

    let app = Router::new()
        .route("/health", get(health))
        .route("/", get(count));
    let app = match mode.as_str() {
        "memory" => with_sessions(app, MemoryStore::default(), private),
        "redis" => with_sessions(app, redis().await?, private),
        other => return Err(format!("MODE {other:?}: use memory or redis").into()),
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

/// The tower-sessions layer over `app`: defaults, `Secure` off for plain
/// HTTP on loopback, the id encrypted when `private` is given.
fn with_sessions(app: Router, store: impl SessionStore + Clone, private: Option<Key>) -> Router {
    let layer = SessionManagerLayer::new(store).with_secure(false);
    match private {
        None => app.layer(layer),
        Some(key) => app.layer(layer.with_private(key)),
    }
}

/// The `with_private` key: derived from the 32 bytes of `SESSION_KEY`.
fn key() -> Result<Key, Box<dyn Error>> {
    let Ok(hex) = std::env::var("SESSION_KEY") else {
        return Ok(Key::generate());
    };
    let bytes = (hex.len() == 64 && hex.is_ascii())
        .then(|| {
            (0..32)
                .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok())
                .collect::<Option<Vec<u8>>>()
        })
        .flatten()
        .ok_or("SESSION_KEY must be 64 hex characters")?;
    Ok(Key::derive_from(&bytes))
}

async fn redis() -> Result<redis_store::RedisStore, Box<dyn Error>> {
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let prefix = std::env::var("REDIS_PREFIX").unwrap_or_else(|_| "ts-load:".to_owned());
    redis_store::RedisStore::connect(&url, prefix)
        .await
        .map_err(|error| format!("Redis at {url}: {error}").into())
}

/// The counter's `GET /`: the `Visitor` read, counted and written back, as
/// tower-sessions' own counter example does. A store error is a 500.
async fn count(session: Session) -> Result<String, StatusCode> {
    let fail = |error: tower_sessions::session::Error| {
        tracing::error!("session: {error}");
        StatusCode::INTERNAL_SERVER_ERROR
    };
    let mut visitor: Visitor = session
        .get(VISITOR)
        .await
        .map_err(fail)?
        .unwrap_or_default();
    visitor.visits += 1;
    session.insert(VISITOR, &visitor).await.map_err(fail)?;
    Ok(format!("visits: {}", visitor.visits))
}

async fn health() -> &'static str {
    "ok"
}

/// tower-sessions-redis-store 0.16's `RedisStore`, line for line, over
/// tower-sessions-core 0.15 (the published store needs core 0.14), plus a
/// key prefix so that the load test can delete what it wrote. One fred
/// `Client`: a single multiplexed connection, like the crate's own
/// `RedisStore`.
mod redis_store {
    use async_trait::async_trait;
    use fred::prelude::{Client, ClientLike, Config, Expiration, KeysInterface, SetOptions};
    use tower_sessions::session::{Id, Record};
    use tower_sessions::session_store::{self, SessionStore};

    #[derive(Debug, Clone)]
    pub struct RedisStore {
        client: Client,
        prefix: String,
    }

    impl RedisStore {
        /// Connects to `url` now, so that a missing server fails the start.
        pub async fn connect(url: &str, prefix: String) -> Result<Self, fred::error::Error> {
            let client = Client::new(Config::from_url(url)?, None, None, None);
            client.init().await?;
            Ok(Self { client, prefix })
        }

        fn key(&self, id: &Id) -> String {
            format!("{}{id}", self.prefix)
        }

        /// `SET key record EXAT expiry NX|XX`: whether it was set.
        async fn save_with_options(
            &self,
            record: &Record,
            options: Option<SetOptions>,
        ) -> session_store::Result<bool> {
            let expire = Some(Expiration::EXAT(record.expiry_date.unix_timestamp()));
            let value = rmp_serde::to_vec(record)
                .map_err(|error| session_store::Error::Encode(error.to_string()))?;
            self.client
                .set(
                    self.key(&record.id),
                    value.as_slice(),
                    expire,
                    options,
                    false,
                )
                .await
                .map_err(backend)
        }
    }

    fn backend(error: fred::error::Error) -> session_store::Error {
        session_store::Error::Backend(error.to_string())
    }

    #[async_trait]
    impl SessionStore for RedisStore {
        async fn create(&self, record: &mut Record) -> session_store::Result<()> {
            while !self.save_with_options(record, Some(SetOptions::NX)).await? {
                record.id = Id::default();
            }
            Ok(())
        }

        async fn save(&self, record: &Record) -> session_store::Result<()> {
            self.save_with_options(record, Some(SetOptions::XX)).await?;
            Ok(())
        }

        async fn load(&self, session_id: &Id) -> session_store::Result<Option<Record>> {
            let data: Option<Vec<u8>> = self
                .client
                .get(self.key(session_id))
                .await
                .map_err(backend)?;
            data.map(|data| {
                rmp_serde::from_slice(&data)
                    .map_err(|error| session_store::Error::Decode(error.to_string()))
            })
            .transpose()
        }

        async fn delete(&self, session_id: &Id) -> session_store::Result<()> {
            let () = self
                .client
                .del(self.key(session_id))
                .await
                .map_err(backend)?;
            Ok(())
        }
    }
}
