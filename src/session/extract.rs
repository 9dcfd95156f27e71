//! `Session<T>` as an axum extractor.

use std::sync::Arc;

use axum_core::extract::FromRequestParts;
use axum_core::response::{IntoResponse, Response};
use http::request::Parts;

use crate::session::config::default_error_response;
use crate::session::error::SessionError;
use crate::session::handle::Session;
use crate::session::lazy::Opening;
use crate::session::SessionData;

/// Why a `Session<T>` could not be extracted; answers with the layer's
/// [`on_error`](crate::SessionLayer::on_error) response, or for a missing
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
    response: Option<http::Response<String>>,
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
        let response = self
            .response
            .unwrap_or_else(|| default_error_response(&self.error));
        response.map(axum_core::body::Body::from)
    }
}

impl<S, T> FromRequestParts<S> for Session<T>
where
    S: Send + Sync,
    T: SessionData,
{
    type Rejection = SessionRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Some(opening) = Opening::<T>::current(&parts.headers) else {
            let error = SessionError::MissingLayer {
                type_name: std::any::type_name::<T>(),
            };
            tracing::error!(%error, "session extractor used without its layer");
            return Err(error.into());
        };
        let on_error = Arc::clone(opening.config());
        opening.open().await.map_err(|error| {
            let response = (on_error.on_error)(&error);
            SessionRejection {
                error,
                response: Some(response),
            }
        })
    }
}

impl IntoResponse for SessionError {
    fn into_response(self) -> Response {
        default_error_response(&self).map(axum_core::body::Body::from)
    }
}
