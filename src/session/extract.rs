//! `Session<T>` as an axum extractor.

use std::sync::Arc;

use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use axum_core::response::{IntoResponse, Response};
use http::request::Parts;

use crate::session::shared::error::SessionError;
use crate::session::shared::error_response::{default_error_response, ErrorBody};
use crate::session::shared::handle::Session;
use crate::session::shared::open::Opening;
use crate::session::SessionData;

/// Why a `Session<T>` could not be extracted; answers with the layer's
/// [`on_error`](crate::session::SessionLayerBuilder::on_error) response, or for a missing
/// layer a 500 that names the type and the layer to add.
///
/// # Examples
///
/// ```
/// use axum_core::response::IntoResponse;
/// use tower_cookie_sessions::session::SessionRejection;
/// use tower_cookie_sessions::SessionError;
///
/// let rejection = SessionRejection::from(SessionError::MissingLayer { type_name: "my_app::Cart" });
/// assert_eq!(rejection.into_response().status(), 500);
/// ```
#[derive(Debug)]
pub struct SessionRejection {
    error: SessionError,
    response: Option<http::Response<ErrorBody>>,
}

impl SessionRejection {
    /// The error behind the rejection.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::session::SessionRejection;
    /// use tower_cookie_sessions::SessionError;
    ///
    /// let rejection = SessionRejection::from(SessionError::MissingLayer { type_name: "u8" });
    /// assert!(matches!(rejection.error(), SessionError::MissingLayer { .. }));
    /// ```
    #[must_use]
    pub fn error(&self) -> &SessionError {
        &self.error
    }
}

impl From<SessionError> for SessionRejection {
    fn from(error: SessionError) -> Self {
        Self {
            error,
            response: None,
        }
    }
}

impl IntoResponse for SessionRejection {
    fn into_response(self) -> Response {
        match self.response {
            Some(response) => response.map(axum_core::body::Body::new),
            None => default_error_response(&self.error).map(axum_core::body::Body::from),
        }
    }
}

impl<S, T> FromRequestParts<S> for Session<T>
where
    S: Send + Sync,
    T: SessionData,
{
    type Rejection = SessionRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let opening = Opening::<T>::from_extensions(&parts.extensions).inspect_err(|error| {
            tracing::error!(%error, "session extractor used without its layer");
        })?;
        open(opening).await
    }
}

/// `Option<Session<T>>`: `None` when no `SessionLayer<T>` saw the request,
/// for handlers that also serve without one. A store that fails is still a
/// rejection.
///
/// # Examples
///
/// ```
/// use axum::{body::Body, routing::get, Router};
/// use http::Request;
/// use tower::ServiceExt;
/// use tower_cookie_sessions::Session;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let app = Router::new().route(
///     "/",
///     get(|session: Option<Session<u64>>| async move {
///         match session {
///             Some(session) => format!("visit {}", session.update(|n| { *n += 1; *n })),
///             None => "no sessions here".to_owned(),
///         }
///     }),
/// );
/// let response = app.oneshot(Request::new(Body::empty())).await?;
/// let body = axum::body::to_bytes(response.into_body(), 64).await?;
/// assert_eq!(&body[..], b"no sessions here");
/// # Ok(())
/// # }
/// ```
impl<S, T> OptionalFromRequestParts<S> for Session<T>
where
    S: Send + Sync,
    T: SessionData,
{
    type Rejection = SessionRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        match Opening::<T>::from_extensions(&parts.extensions) {
            Ok(opening) => open(opening).await.map(Some),
            Err(_) => Ok(None),
        }
    }
}

/// Finishes opening a session; a failure answers with the layer's
/// `on_error` response.
async fn open<T: SessionData>(opening: Opening<T>) -> Result<Session<T>, SessionRejection> {
    let config = Arc::clone(opening.config());
    opening.open().await.map_err(|error| {
        let response = (config.on_error)(&error);
        SessionRejection {
            error,
            response: Some(response),
        }
    })
}

impl IntoResponse for SessionError {
    fn into_response(self) -> Response {
        default_error_response(&self).map(axum_core::body::Body::from)
    }
}
