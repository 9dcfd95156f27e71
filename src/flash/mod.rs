//! Flash messages: one-shot notices set by one request and shown by the
//! next, as Flask's and Rails' `flash` are ("saved", "wrong password",
//! "please sign in").
//!
//! Every [`SessionLayer`](crate::SessionLayer) carries them, beside a
//! cookie session or a store session alike, in a cookie of their own:
//! the session cookie's name with `-flash` appended (`__Host-id-flash` for
//! `__Host-id`), with the session cookie's attributes, sealed with the
//! layer's keys under a purpose of its own. They never enter the session,
//! so reading a flash writes nothing to the session and cannot conflict
//! with another request's save. The cookie holds at most one cookie's
//! worth (4096 bytes): [`Flash::push`] refuses a message past that with
//! [`FlashError::TooLarge`]. A message not shown within ten minutes is
//! dropped.
//!
//! # Examples
//!
//! A form posts, the handler leaves a message and redirects; the page it
//! redirects to shows the message once.
//!
//! ```
//! use axum::{body::Body, response::Redirect, routing::{get, post}, Router};
//! use http::{header, Request, StatusCode};
//! use tower::ServiceExt;
//! use tower_cookie_sessions::flash::{Flash, FlashError};
//! use tower_cookie_sessions::{Key, SessionLayer};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! async fn save(flash: Flash) -> Result<Redirect, FlashError> {
//!     flash.success("saved")?;
//!     Ok(Redirect::to("/"))
//! }
//!
//! async fn home(flash: Flash) -> String {
//!     flash.take().iter().map(|m| format!("{}: {}", m.level(), m.text())).collect()
//! }
//!
//! let app = Router::new()
//!     .route("/", get(home))
//!     .route("/save", post(save))
//!     .layer(SessionLayer::<()>::new(Key::generate())?);
//!
//! let posted = app.clone().oneshot(Request::post("/save").body(Body::empty())?).await?;
//! assert_eq!(posted.status(), StatusCode::SEE_OTHER);
//! let cookie = posted.headers()[header::SET_COOKIE].to_str()?.split(';').next().unwrap().to_owned();
//!
//! let shown = app.oneshot(Request::get("/").header(header::COOKIE, cookie).body(Body::empty())?).await?;
//! // The message is taken: the flash cookie goes.
//! assert!(shown.headers()[header::SET_COOKIE].to_str()?.starts_with("id-flash=; "));
//! let body = axum::body::to_bytes(shown.into_body(), 1024).await?;
//! assert_eq!(&body[..], b"success: saved");
//! # Ok(())
//! # }
//! ```

mod error;
#[cfg(feature = "axum")]
mod extract;
mod handle;
mod message;
pub(crate) mod state;

pub use error::FlashError;
pub use handle::Flash;
pub use message::{FlashMessage, Level};
