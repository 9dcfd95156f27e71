//! Test helpers (feature `test-util`): unit-test your own handlers with
//! `tower::ServiceExt` without building cookies by hand.
//!
//! - [`SessionLayer::test_request`](crate::SessionLayer::test_request)
//!   starts a request carrying a session that holds a given value (and
//!   flash messages), sealed by the layer itself: its keys, cookie name
//!   and codec; for a store layer the record is created in its store.
//!   It is the one way to mint a session cookie from outside the crate.
//! - [`SessionLayer::test_response`](crate::SessionLayer::test_response)
//!   reads back what a response set: the session, the flash messages, the
//!   cookies it removes.
//! - [`TestClient`] keeps cookies across requests as a browser does.
//! - [`store_suite`] is the conformance suite a session store of your own
//!   runs, with one call or one macro.
//!
//! Enable it for tests only:
//!
//! ```toml
//! [dev-dependencies]
//! tower-cookie-sessions = { version = "0.1", features = ["test-util"] }
//! ```
//!
//! # Examples
//!
//! ```
//! use axum::{body::Body, routing::get, Router};
//! use serde::{Deserialize, Serialize};
//! use tower::ServiceExt;
//! use tower_cookie_sessions::{Key, Session, SessionLayer};
//!
//! #[derive(Clone, Default, Serialize, Deserialize, PartialEq, Debug)]
//! struct Cart {
//!     items: Vec<String>,
//! }
//!
//! async fn add(session: Session<Cart>) -> String {
//!     session.update(|cart| cart.items.push("tea".into()));
//!     session.read(|cart| cart.items.len().to_string())
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let layer = SessionLayer::<Cart>::new(Key::generate())?;
//! let app = Router::new().route("/add", get(add)).layer(layer.clone());
//!
//! // A visitor who already has coffee in the cart.
//! let cart = Cart { items: vec!["coffee".into()] };
//! let request = layer
//!     .test_request()
//!     .session(cart)
//!     .into_request(http::Request::get("/add").body(Body::empty())?)
//!     .await?;
//! let response = app.oneshot(request).await?;
//!
//! let seen = layer.test_response(&response).await?;
//! assert_eq!(seen.session().map(|cart| cart.items.clone()), Some(vec!["coffee".into(), "tea".into()]));
//! # Ok(())
//! # }
//! ```

mod client;
mod cookie_line;
mod fixture;
pub mod store_suite;

use std::fmt;

pub use client::TestClient;
pub use fixture::{TestRequest, TestResponse};

use crate::flash::FlashError;
use crate::session::SessionError;

/// Why a test helper could not mint or read a session.
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::testing::TestError;
/// use tower_cookie_sessions::SessionError;
///
/// let error = TestError::from(SessionError::Conflict);
/// assert!(matches!(error, TestError::Session(SessionError::Conflict)));
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum TestError {
    /// The layer could not open or send the session.
    Session(SessionError),
    /// The layer could not carry the flash messages.
    Flash(FlashError),
    /// The layer answered with an error response, or set a cookie that
    /// cannot be sent back.
    Response(String),
}

impl TestError {
    pub(crate) fn response(reason: impl fmt::Display) -> Self {
        TestError::Response(reason.to_string())
    }
}

impl From<SessionError> for TestError {
    fn from(error: SessionError) -> Self {
        TestError::Session(error)
    }
}

impl From<FlashError> for TestError {
    fn from(error: FlashError) -> Self {
        TestError::Flash(error)
    }
}

impl fmt::Display for TestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TestError::Session(error) => write!(f, "session: {error}"),
            TestError::Flash(error) => write!(f, "flash: {error}"),
            TestError::Response(reason) => f.write_str(reason),
        }
    }
}

impl std::error::Error for TestError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TestError::Session(error) => Some(error),
            TestError::Flash(error) => Some(error),
            TestError::Response(_) => None,
        }
    }
}
