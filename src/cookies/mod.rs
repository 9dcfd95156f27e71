//! The cookie jar: read, set and delete cookies, plain or private.
//!
//! [`CookieLayer`] gives every request a [`Cookies`] jar (the session layer
//! does too), in the request's extensions: handlers get it with
//! [`Cookies::from_request`], `request.extensions().get::<Cookies>()` or
//! the axum extractor. The outermost layer that sees a request puts the jar
//! there and writes its changes to the response; layers inside join it. The `Cookie` header is parsed only when
//! the handler first reads a cookie, leniently: every `Cookie` field is
//! read, and a malformed pair (no `=`, an empty name, control bytes, text
//! that is not UTF-8) is skipped without losing the others. Names are
//! compared exactly as the browser sent them, never percent-decoded or
//! case-folded: `__Host%2Did` is not `__Host-id`, whose prefix rules the
//! browser enforces only on the literal name. Values are percent-decoded. Changes become
//! `Set-Cookie` headers on the response, one per cookie, with every
//! attribute the handler set; a handler that changes nothing adds none.
//!
//! With a key, [`Cookies::private`] gives [`PrivateCookies`], whose values
//! are each sealed with XChaCha20-Poly1305 (see [`crate::envelope`]) and
//! bound to their name. Using a private cookie adds `Cookie` to the
//! response's `Vary`.
//!
//! # Examples
//!
//! ```
//! use http::{header, Request, Response};
//! use tower::{service_fn, Layer, ServiceExt};
//! use tower_cookie_sessions::{Cookie, CookieError, CookieLayer, Cookies, Key, SameSite};
//!
//! async fn handler(request: Request<String>) -> Result<Response<String>, CookieError> {
//!     let cookies = Cookies::from_request(&request).expect("CookieLayer is added");
//!
//!     // A plain cookie: readable and writable by the browser.
//!     let theme = cookies.get("theme").map(|c| c.value().to_owned());
//!     cookies.add(
//!         Cookie::build(("theme", "dark"))
//!             .path("/")
//!             .same_site(SameSite::Lax)
//!             .build(),
//!     )?;
//!
//!     // A private cookie: sealed, so the browser can neither read nor forge it.
//!     let private = cookies.private()?;
//!     let user = private.get("user").map(|c| c.value().to_owned());
//!     if user.is_none() {
//!         private.add(Cookie::build(("user", "ada")).http_only(true).build())?;
//!     }
//!
//!     Ok(Response::new(format!("theme: {theme:?}, user: {user:?}")))
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let service = CookieLayer::new()
//!     .with_key(Key::generate())
//!     .layer(service_fn(handler));
//!
//! // First visit: no cookies yet, two are set.
//! let response = service.clone().oneshot(Request::new(String::new())).await?;
//! assert_eq!(response.body(), "theme: None, user: None");
//! let set_cookies: Vec<String> = response
//!     .headers()
//!     .get_all(header::SET_COOKIE)
//!     .iter()
//!     .map(|value| value.to_str().map(str::to_owned))
//!     .collect::<Result<_, _>>()?;
//! assert_eq!(set_cookies[0], "theme=dark; SameSite=Lax; Path=/");
//! assert_eq!(response.headers()[header::VARY], "Cookie");
//!
//! // Second visit: the browser sends back what it was given.
//! let cookie_header = set_cookies
//!     .iter()
//!     .map(|set_cookie| set_cookie.split(';').next().unwrap_or_default())
//!     .collect::<Vec<_>>()
//!     .join("; ");
//! let request = Request::builder()
//!     .header(header::COOKIE, cookie_header)
//!     .body(String::new())?;
//! let response = service.oneshot(request).await?;
//! assert_eq!(response.body(), r#"theme: Some("dark"), user: Some("ada")"#);
//! # Ok(())
//! # }
//! ```

mod error;
#[cfg(feature = "axum")]
mod extract;
mod future;
pub(crate) mod jar;
mod layer;
pub(crate) mod parse;
mod private;
mod service;

pub use self::error::CookieError;
#[cfg(feature = "axum")]
pub use self::extract::CookiesRejection;
pub use self::future::ResponseFuture;
pub use self::jar::Cookies;
pub use self::layer::CookieLayer;
pub use self::private::PrivateCookies;
pub use self::service::CookieService;
