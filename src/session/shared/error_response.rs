//! What the layer answers instead of the handler when a session cannot be
//! loaded or sent: the `on_error` hook's response, with its body boxed so
//! that any body type (axum's, a `String`, a `Full<Bytes>`) fits in the
//! layer's own [`SessionBody`](crate::session::SessionBody).

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::Response;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt as _;

use crate::session::shared::error::SessionError;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The body of an [`on_error`](crate::session::SessionLayerBuilder::on_error)
/// response, whatever its type was.
///
/// # Examples
///
/// ```
/// use http::Response;
/// use tower_cookie_sessions::session::{ErrorBody, IntoErrorResponse};
///
/// let response: Response<ErrorBody> = Response::new("down".to_owned()).into_error_response();
/// # let _ = response;
/// ```
pub struct ErrorBody(Pin<Box<dyn Body<Data = Bytes, Error = BoxError> + Send + 'static>>);

impl ErrorBody {
    fn new<B>(body: B) -> Self
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        Self(Box::pin(body.map_err(Into::into)))
    }
}

impl Body for ErrorBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.0.as_mut().poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.0.size_hint()
    }
}

impl fmt::Debug for ErrorBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ErrorBody(..)")
    }
}

/// What an [`on_error`](crate::session::SessionLayerBuilder::on_error) hook may
/// return: with the `axum` feature, anything that implements axum's
/// `IntoResponse` (a `(StatusCode, Json<_>)` tuple, a `Redirect`...);
/// without it, an [`http::Response`] with any body of [`Bytes`] chunks.
///
/// # Examples
///
/// ```
/// use http::{Response, StatusCode};
/// use tower_cookie_sessions::session::IntoErrorResponse;
///
/// let mut response = Response::new("try again later".to_owned());
/// *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
/// assert_eq!(response.into_error_response().status(), 503);
/// ```
pub trait IntoErrorResponse {
    /// The response, its body boxed.
    ///
    /// # Examples
    ///
    /// ```
    /// use http::{header, Response};
    /// use tower_cookie_sessions::session::IntoErrorResponse;
    ///
    /// let response = Response::builder()
    ///     .status(409)
    ///     .header(header::CONTENT_TYPE, "text/plain")
    ///     .body("someone else saved first".to_owned())?
    ///     .into_error_response();
    /// assert_eq!(response.status(), 409);
    /// assert_eq!(response.headers()[header::CONTENT_TYPE], "text/plain");
    /// # Ok::<_, http::Error>(())
    /// ```
    fn into_error_response(self) -> Response<ErrorBody>;
}

#[cfg(feature = "axum")]
impl<R: axum_core::response::IntoResponse> IntoErrorResponse for R {
    fn into_error_response(self) -> Response<ErrorBody> {
        self.into_response().map(ErrorBody::new)
    }
}

// Every such response is also axum's `IntoResponse`, so enabling `axum`
// only ever accepts more.
#[cfg(not(feature = "axum"))]
impl<B> IntoErrorResponse for Response<B>
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    fn into_error_response(self) -> Response<ErrorBody> {
        self.map(ErrorBody::new)
    }
}

/// Maps a session error to the response sent instead of the handler's.
pub(crate) type ErrorHandler =
    std::sync::Arc<dyn Fn(&SessionError) -> Response<ErrorBody> + Send + Sync>;

/// The response for a session error when the application set no
/// [`on_error`](crate::session::SessionLayerBuilder::on_error) hook: its status and
/// generic text. Whoever answers with it has logged the cause.
pub(crate) fn default_error_response(error: &SessionError) -> Response<String> {
    let mut response = Response::new(format!("{}\n", error.public_message()));
    *response.status_mut() = error.status();
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// [`default_error_response`], as the hook a layer starts with.
pub(crate) fn default_handler(error: &SessionError) -> Response<ErrorBody> {
    default_error_response(error).map(ErrorBody::new)
}
