//! Typed sessions: [`SessionLayer`], [`Session`] and their configuration.
//!
//! The layer gives every request a session that opens only when the handler
//! asks for it. The session travels in the request's extensions, owned by
//! the layer that made it: [`Session::from_extensions`] finds it wherever
//! the request goes (another task, behind a `Buffer`), and a new request a
//! handler sends to another layered service has sessions of its own.
//! A request follows one path through the code: `layer.rs` (the
//! configuration), `service.rs` (registering with the request's state,
//! `src/request/`),
//! `shared/open.rs` (opening the session when a handler asks), `future.rs`
//! (committing it on the way out). What only client-side sessions do lives
//! in `client/`, what only store sessions do in `store/`, and what both
//! share in `shared/`. With the default [`CookieBackend`] the whole session
//! is serialized (with bincode unless the layer's [`Codec`](crate::Codec)
//! says otherwise), sealed with XChaCha20-Poly1305 (see
//! [`envelope`](crate::envelope)) and sent as one cookie, or split across a
//! few when it is larger than one (up to
//! [`SessionLayerBuilder::max_cookie_size`]); nothing is kept on the server.
//! [`SessionLayer::revocation`] and [`SessionLayerBuilder::on_load`] refuse
//! sessions before their deadlines, client-side or in a store.
//!
//! # Examples
//!
//! ```
//! use axum::{routing::get, Router};
//! use serde::{Deserialize, Serialize};
//! use tower::ServiceExt;
//! use tower_cookie_sessions::{Key, Session, SessionLayer};
//!
//! #[derive(Clone, Default, Serialize, Deserialize)]
//! struct Visits {
//!     count: u64,
//! }
//!
//! async fn count(session: Session<Visits>) -> String {
//!     let count = session.update(|visits| {
//!         visits.count += 1;
//!         visits.count
//!     });
//!     format!("visits: {count}")
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let app = Router::new()
//!     .route("/", get(count))
//!     .layer(SessionLayer::<Visits>::new(Key::generate())?);
//!
//! let first = app
//!     .clone()
//!     .oneshot(http::Request::get("/").body(axum::body::Body::empty())?)
//!     .await?;
//! let set_cookie = first.headers()["set-cookie"].to_str()?;
//! let cookie = set_cookie.split(';').next().unwrap_or_default();
//!
//! let second = app
//!     .oneshot(http::Request::get("/").header("cookie", cookie).body(axum::body::Body::empty())?)
//!     .await?;
//! let body = axum::body::to_bytes(second.into_body(), 1024).await?;
//! assert_eq!(&body[..], b"visits: 2");
//! # Ok(())
//! # }
//! ```
//!
//! # What is sent, and when
//!
//! Only a request whose handler opened the session can send a session
//! cookie, and only when it changed, was renewed or destroyed, was opened
//! with an older key (it is sealed again under the current one), or when a
//! rolling refresh of the inactivity deadline is due. Such responses also
//! get `Vary: Cookie` and `Cache-Control: private`, so no shared cache
//! hands one visitor's cookie to another.
//!
//! If the inner service returns an error rather than a response, nothing is
//! sent and the session's changes are lost. Headers leave with the response
//! head, so changes made while a streaming body is being produced are lost
//! too: finish with the session before returning the response.
//!
//! # Bad input
//!
//! A missing, malformed, tampered, truncated, oversized, wrong-key,
//! renamed, expired, future-dated or undecodable cookie is no session: the
//! handler gets a fresh, empty one and a `tracing` event at debug level says
//! why. When several cookies carry the session's name, at most three are
//! tried and the first that authenticates is used; they are never merged.
//! The chunks of a larger session are joined in index order and
//! authenticated as one: a chunk reordered, dropped, repeated or taken from
//! another session fails, and a chunk name sent twice refuses the session
//! without any combination being tried.
//!
//! # Limits
//!
//! bincode, the default codec, writes no field names, so serde attributes
//! that rely on them (`skip_serializing_if`, `flatten`, untagged and
//! internally tagged enums) cannot round-trip: building the layer refuses
//! a type whose default value does not survive, and debug builds panic on
//! a write that would not read back. [`Codec::Cbor`](crate::Codec::Cbor)
//! carries them all.
//!
//! # Tracing
//!
//! Each request that opens a session gets one `debug` span, `session`,
//! with `session.cookie` (the cookie's name), `session.outcome` (`none`,
//! `loaded`, `fresh (REASON)` such as `fresh (not authentic)` or
//! `fresh (absolute deadline passed)`, `saved`, `renewed`, `destroyed`,
//! `conflict` or `error`) and, for store sessions, `session.id`: the short
//! keyed tag the store's log lines use, never the id. The layer's own
//! events for that request (why a cookie was refused, a store failing)
//! are inside it. With `debug` off nothing is built for it. To see the
//! fields, print spans as they close:
//!
//! ```
//! use tracing_subscriber::fmt::format::FmtSpan;
//!
//! let subscriber = tracing_subscriber::fmt()
//!     .with_max_level(tracing::Level::DEBUG)
//!     .with_span_events(FmtSpan::CLOSE)
//!     .finish();
//! # let _ = subscriber;
//! ```

mod body;
mod builder;
pub(crate) mod client;
#[cfg(feature = "axum")]
mod extract;
mod future;
mod layer;
mod service;
pub(crate) mod shared;
pub(crate) mod store;

pub use body::SessionBody;
pub use builder::SessionLayerBuilder;
pub use client::backend::CookieBackend;
#[cfg(feature = "axum")]
pub use extract::SessionRejection;
pub use future::ResponseFuture;
pub use layer::SessionLayer;
pub use service::SessionService;
pub use shared::config::{ConfigError, ConfigProblem, Expiry, LoadFailure, MAX_COOKIE_LIFETIME};
pub use shared::error::SessionError;
pub use shared::error_response::{ErrorBody, IntoErrorResponse};
pub use shared::handle::Session;
pub use shared::revocation::Revocation;
pub use store::backend::StoreBackend;
pub use store::conflict::ConflictPolicy;
pub use store::device::{Device, DeviceHandle, DeviceHandleError};

use serde::de::DeserializeOwned;
use serde::Serialize;

/// What a session type must be: the application's own struct, serialized
/// with bincode. Implemented for every type with these bounds.
///
/// # Examples
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use tower_cookie_sessions::session::SessionData;
///
/// #[derive(Clone, Default, Serialize, Deserialize)]
/// struct Cart {
///     items: Vec<String>,
/// }
///
/// fn assert_session_data<T: SessionData>() {}
/// assert_session_data::<Cart>();
/// ```
pub trait SessionData:
    Serialize + DeserializeOwned + Default + Clone + Send + Sync + 'static
{
}

impl<T> SessionData for T where
    T: Serialize + DeserializeOwned + Default + Clone + Send + Sync + 'static
{
}
