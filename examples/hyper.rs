//! The visit counter of `examples/counter.rs` on plain hyper and tower, no
//! axum: the session is opened with `Session::load(&request)`.
//!
//! ```text
//! SESSION_KEY=$(openssl rand -hex 32) cargo run --example hyper
//! curl -c jar -b jar localhost:3000/
//! ```
//!
//! Same routes, answers and variables (`PORT`, `SESSION_KEY`, `RUST_LOG`)
//! as the axum example.

use std::convert::Infallible;
use std::error::Error;
use std::net::SocketAddr;
use std::process::ExitCode;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use serde::{Deserialize, Serialize};
use tower::ServiceBuilder;
use tower_cookie_sessions::{Key, Session, SessionError, SessionLayer};
use tracing_subscriber::EnvFilter;

#[derive(Clone, Default, Serialize, Deserialize)]
struct Visitor {
    visits: u64,
    notes: String,
}

/// Larger requests are refused before allocating: the layer refuses
/// sessions over 8 KB of cookies anyway.
const MAX_GROW: usize = 64 * 1024;

/// The handler's body; the layer answers with `SessionBody<Body>`, which
/// is this body or the layer's own error text.
type Body = Full<Bytes>;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,tower_cookie_sessions=debug")),
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
    let service = ServiceBuilder::new()
        .layer(session_layer()?)
        .service_fn(|request| async move {
            // Answer errors here: an `Err` from the service makes hyper
            // drop the connection instead of replying. The cause is for
            // the log; the visitor gets the generic text.
            let response = route(request).await.unwrap_or_else(|error| {
                tracing::error!(%error, "session error");
                text(error.status(), error.public_message())
            });
            Ok::<_, Infallible>(response)
        });

    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    tracing::info!("listening on http://{}", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        let service = TowerToHyperService::new(service.clone());
        tokio::spawn(async move {
            let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection closed with an error");
            }
        });
    }
}

fn session_layer() -> Result<SessionLayer<Visitor>, Box<dyn Error>> {
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
    Ok(SessionLayer::builder(key).secure(false).build()?)
}

async fn route(request: Request<Incoming>) -> Result<Response<Body>, SessionError> {
    // `/health` matches before any `Session::load`, so its cookie is never
    // opened and nothing is sent.
    let response = match (request.method(), request.uri().path()) {
        (&Method::GET, "/health") => text(StatusCode::OK, "ok"),
        (&Method::GET, "/") => {
            let session = Session::<Visitor>::load(&request).await?;
            let visits = session.update(|visitor| {
                visitor.visits += 1;
                visitor.visits
            });
            text(StatusCode::OK, format!("visits: {visits}"))
        }
        (&Method::POST, "/logout") => {
            let session = Session::<Visitor>::load(&request).await?;
            session.destroy();
            text(StatusCode::OK, "bye")
        }
        (&Method::GET, path @ ("/grow" | "/resize")) => {
            let query = request.uri().query().unwrap_or_default();
            let bytes = query
                .split('&')
                .find_map(|pair| pair.strip_prefix("bytes="))
                .and_then(|bytes| bytes.parse::<usize>().ok());
            match bytes {
                Some(bytes) if bytes <= MAX_GROW => {
                    let session = Session::<Visitor>::load(&request).await?;
                    let resize = path == "/resize";
                    let size = session.update(|visitor| {
                        if resize {
                            visitor.notes.clear();
                        }
                        visitor.notes.push_str(&"x".repeat(bytes));
                        visitor.notes.len()
                    });
                    text(StatusCode::OK, format!("size: {size}"))
                }
                _ => text(
                    StatusCode::BAD_REQUEST,
                    format!("bytes must be a number up to {MAX_GROW}"),
                ),
            }
        }
        _ => text(StatusCode::NOT_FOUND, "not found"),
    };
    Ok(response)
}

fn text(status: StatusCode, body: impl Into<String>) -> Response<Body> {
    let mut response = Response::new(Body::from(body.into()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}
