//! `Flash` as an axum extractor, and its errors as responses.

use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use axum_core::response::{IntoResponse, Response};
use http::request::Parts;
use http::StatusCode;

use crate::flash::{Flash, FlashError};

impl<S: Send + Sync> FromRequestParts<S> for Flash {
    type Rejection = FlashError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Flash::from_extensions(&parts.extensions).inspect_err(|error| {
            tracing::error!(%error, "flash extractor used without a session layer");
        })
    }
}

/// `Option<Flash>`: `None` when no session layer saw the request.
///
/// # Examples
///
/// ```
/// use axum::{body::Body, routing::get, Router};
/// use http::Request;
/// use tower::ServiceExt;
/// use tower_cookie_sessions::flash::Flash;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let app = Router::new().route(
///     "/",
///     get(|flash: Option<Flash>| async move { if flash.is_some() { "flash" } else { "none" } }),
/// );
/// let response = app.oneshot(Request::new(Body::empty())).await?;
/// let body = axum::body::to_bytes(response.into_body(), 64).await?;
/// assert_eq!(&body[..], b"none");
/// # Ok(())
/// # }
/// ```
impl<S: Send + Sync> OptionalFromRequestParts<S> for Flash {
    type Rejection = FlashError;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(Flash::from_extensions(&parts.extensions).ok())
    }
}

/// A 500 with a short plain-text body; the details go to the log, not to
/// the visitor.
///
/// # Examples
///
/// ```
/// use axum_core::response::IntoResponse;
/// use tower_cookie_sessions::flash::FlashError;
///
/// assert_eq!(FlashError::MissingLayer.into_response().status(), 500);
/// ```
impl IntoResponse for FlashError {
    fn into_response(self) -> Response {
        tracing::error!(error = %self, "flash messages failed");
        let body = match self {
            FlashError::MissingLayer => "flash messages not available",
            FlashError::TooLarge { .. } => "flash message too large",
        };
        (StatusCode::INTERNAL_SERVER_ERROR, body).into_response()
    }
}
