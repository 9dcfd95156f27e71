//! A visit counter with sessions, on axum: client-side by default, or in
//! the store `SESSION_STORE` names.
//!
//! ```text
//! SESSION_KEY=$(openssl rand -hex 32) cargo run --example counter
//! curl -c jar -b jar localhost:3000/             # visits: 1, then 2, ...
//! curl -c jar -b jar 'localhost:3000/grow?bytes=5000'   # size: 5000, in cookies id.0 and id.1
//! curl -c jar -b jar 'localhost:3000/grow?bytes=2000'   # 500: session too large (over 8 KB)
//! curl -c jar -b jar 'localhost:3000/resize?bytes=10'   # size: 10, back in one cookie, id
//! curl -c jar -b jar -X POST localhost:3000/logout
//!
//! SESSION_STORE=memory cargo run --example counter
//! SESSION_STORE=redis://127.0.0.1:6379 cargo run --features redis --example counter
//! SESSION_STORE=postgres://postgres@127.0.0.1/test cargo run --features postgres --example counter
//! SESSION_STORE=sqlite://sessions.db cargo run --features sqlite --example counter
//! SESSION_STORE=mysql://root@127.0.0.1/test cargo run --features mysql --example counter
//! ```
//!
//! `SESSION_STORE` is `cookie` (the default: the whole session is the
//! cookie), `memory`, or a `redis://`, `postgres://`, `mysql://` or
//! `sqlite://PATH` URL (the SQLite file is created if missing). In the cookie, a session larger
//! than one cookie is split across `id.0`, `id.1`... up to 8 KB in all;
//! with a store there is no such limit: `/grow` keeps growing. `PORT` changes the port (default 3000);
//! `RUST_LOG` the log filter. At debug level the layer says why it refused
//! a cookie: edit the jar file and watch.

use std::error::Error;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use axum::extract::Query;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use serde::{Deserialize, Serialize};
use tower_cookie_sessions::store;
use tower_cookie_sessions::{Key, Session, SessionLayer};
use tracing_subscriber::EnvFilter;

/// Everything this app keeps about a visitor. bincode stores it without
/// field names, so a cookie holding only the counter is about 80 bytes.
#[derive(Clone, Default, Serialize, Deserialize)]
struct Visitor {
    visits: u64,
    notes: String,
}

/// Larger requests are refused before allocating, so one request cannot
/// ask for gigabytes; repeated requests still grow a store's session.
const MAX_GROW: usize = 64 * 1024;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,tower_cookie_sessions=debug")),
        )
        .init();
    // Errors are logged with `Display`: returning them from `main` would
    // print their `Debug` form, which says less.
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
    let app = Router::new()
        .route("/", get(count))
        .route("/health", get(health))
        .route("/logout", post(logout))
        .route("/grow", get(grow))
        .route("/resize", get(resize));
    let app = with_sessions(app).await?;

    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    tracing::info!("listening on http://{}", listener.local_addr()?);
    // On Ctrl-C, requests in flight finish instead of being cut off.
    let shutdown = async { tokio::signal::ctrl_c().await.expect("Ctrl-C handler") };
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}

/// All session configuration lives here. It returns the wrapped `Router`
/// rather than the layer, because a layer's type names its store.
async fn with_sessions(app: Router) -> Result<Router, Box<dyn Error>> {
    let key = match std::env::var("SESSION_KEY") {
        Ok(hex) => Key::from_hex(&hex)
            .map_err(|error| format!("SESSION_KEY must be 64 hex characters: {error}"))?,
        Err(std::env::VarError::NotPresent) => {
            tracing::warn!(
                "SESSION_KEY is not set: using a random key, so sessions will not survive a \
                 restart (make one with `openssl rand -hex 32`)"
            );
            Key::generate()
        }
        Err(error) => return Err(format!("SESSION_KEY: {error}").into()),
    };
    // Browsers drop `Secure` cookies sent over plain HTTP (except to
    // localhost); behind TLS, leave the default on.
    let store = std::env::var("SESSION_STORE").unwrap_or_default();
    let app = match store.as_str() {
        "" | "cookie" => app.layer(
            SessionLayer::<Visitor>::builder(key)
                .secure(false)
                .build()?,
        ),
        // `memory`, `redis://…`, `redis+cluster://a:1,b:2`, `postgres://…`,
        // `mysql://…`, `sqlite://PATH`: whichever this build has.
        url => {
            let store = store::connect(url).await?;
            // SQL stores do not expire rows on their own.
            tokio::spawn(store.cleanup_task(Duration::from_secs(60)));
            app.layer(
                SessionLayer::<Visitor, _>::store_builder(key, store)
                    .secure(false)
                    .build()?,
            )
        }
    };
    tracing::info!(
        "sessions: {}",
        if store.is_empty() { "cookie" } else { &store }
    );
    Ok(app)
}

async fn count(session: Session<Visitor>) -> String {
    let visits = session.update(|visitor| {
        visitor.visits += 1;
        visitor.visits
    });
    format!("visits: {visits}")
}

/// Takes no `Session`, so the cookie is never opened and nothing is sent:
/// probes stay cheap and cacheable.
async fn health() -> &'static str {
    "ok"
}

async fn logout(session: Session<Visitor>) -> &'static str {
    session.destroy();
    "bye"
}

#[derive(Deserialize)]
struct Bytes {
    bytes: usize,
}

async fn grow(
    session: Session<Visitor>,
    Query(Bytes { bytes }): Query<Bytes>,
) -> Result<String, (StatusCode, String)> {
    if bytes > MAX_GROW {
        return Err((
            StatusCode::BAD_REQUEST,
            format!("bytes must be at most {MAX_GROW}"),
        ));
    }
    let size = session.update(|visitor| {
        visitor.notes.push_str(&"x".repeat(bytes));
        visitor.notes.len()
    });
    Ok(format!("size: {size}"))
}

/// Sets the notes to `bytes` bytes, larger or smaller: how the browser
/// tests move a session across the chunk boundaries both ways.
async fn resize(
    session: Session<Visitor>,
    Query(Bytes { bytes }): Query<Bytes>,
) -> Result<String, (StatusCode, String)> {
    if bytes > MAX_GROW {
        return Err((
            StatusCode::BAD_REQUEST,
            format!("bytes must be at most {MAX_GROW}"),
        ));
    }
    session.update(|visitor| visitor.notes = "x".repeat(bytes));
    Ok(format!("size: {bytes}"))
}
