use std::fmt;

use std::convert::Infallible;

use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use axum_core::response::{IntoResponse, Response};
use http::request::Parts;
use http::StatusCode;

use super::jar::Cookies;

/// Extracts the request's jar; needs [`CookieLayer`](crate::CookieLayer) or
/// the session layer around the handler. `Extension<Cookies>` works too.
impl<S> FromRequestParts<S> for Cookies
where
    S: Send + Sync,
{
    type Rejection = CookiesRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Cookies::from_extensions(&parts.extensions).ok_or(CookiesRejection)
    }
}

/// `Option<Cookies>`: `None` when no layer gave the request a jar, for
/// handlers that also serve without one.
///
/// # Examples
///
/// ```
/// use axum::{body::Body, routing::get, Router};
/// use http::Request;
/// use tower::ServiceExt;
/// use tower_cookie_sessions::Cookies;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let app = Router::new().route(
///     "/",
///     get(|cookies: Option<Cookies>| async move { cookies.is_some().to_string() }),
/// );
/// let response = app.oneshot(Request::new(Body::empty())).await?;
/// let body = axum::body::to_bytes(response.into_body(), 16).await?;
/// assert_eq!(&body[..], b"false");
/// # Ok(())
/// # }
/// ```
impl<S> OptionalFromRequestParts<S> for Cookies
where
    S: Send + Sync,
{
    type Rejection = Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(Cookies::from_extensions(&parts.extensions))
    }
}

/// The rejection of the [`Cookies`] extractor when no layer put a jar into
/// the request: a setup mistake, so it answers `500 Internal Server Error`
/// with a message saying which layer is missing.
///
/// # Examples
///
/// ```
/// use axum::{body::Body, routing::get, Router};
/// use http::{Request, StatusCode};
/// use tower::ServiceExt;
/// use tower_cookie_sessions::Cookies;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // Forgot `.layer(CookieLayer::new())`:
/// let app = Router::new().route("/", get(|_cookies: Cookies| async { "unreachable" }));
///
/// let response = app.oneshot(Request::new(Body::empty())).await?;
/// assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CookiesRejection;

impl CookiesRejection {
    const MESSAGE: &'static str =
        "Can't extract `Cookies`. Is `CookieLayer` or `SessionLayer` added to the service?";
}

impl fmt::Display for CookiesRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(Self::MESSAGE)
    }
}

impl std::error::Error for CookiesRejection {}

impl IntoResponse for CookiesRejection {
    fn into_response(self) -> Response {
        (StatusCode::INTERNAL_SERVER_ERROR, Self::MESSAGE).into_response()
    }
}
