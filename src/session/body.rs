//! `SessionBody`: the session layer's response body.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use crate::session::shared::error_response::ErrorBody;

pin_project! {
    /// The body of a response from [`SessionService`](super::SessionService):
    /// the inner service's body, or the layer's own error body when the
    /// session could not be loaded or sent (the text of its
    /// [`on_error`](crate::session::SessionLayerBuilder::on_error) response).
    ///
    /// It implements [`http_body::Body`] with the inner body's `Data` and
    /// `Error`, so the layer stacks with any body type whose `Data` can be
    /// made from [`Bytes`], and with other middleware on either side
    /// (tower-http's compression or tracing, say).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::convert::Infallible;
    /// use http::{Request, Response};
    /// use http_body_util::BodyExt;
    /// use tower::{service_fn, Layer, ServiceExt};
    /// use tower_cookie_sessions::session::SessionBody;
    /// use tower_cookie_sessions::{Key, SessionLayer};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let service = SessionLayer::<u64>::new(Key::generate())?.layer(service_fn(
    ///     |_: Request<String>| async { Ok::<_, Infallible>(Response::new("hello".to_owned())) },
    /// ));
    /// let response: Response<SessionBody<String>> = service.oneshot(Request::new(String::new())).await?;
    /// let body = response.into_body().collect().await?.to_bytes();
    /// assert_eq!(&body[..], b"hello");
    /// # Ok(())
    /// # }
    /// ```
    pub struct SessionBody<B> {
        #[pin]
        kind: Kind<B>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<B> {
        Inner { #[pin] body: B },
        Error { #[pin] body: ErrorBody },
    }
}

impl<B> SessionBody<B> {
    /// The inner service's body, passed on as it is.
    pub(crate) fn inner(body: B) -> Self {
        Self {
            kind: Kind::Inner { body },
        }
    }

    /// The layer's own error body.
    pub(crate) fn error(body: ErrorBody) -> Self {
        Self {
            kind: Kind::Error { body },
        }
    }
}

impl<B> Body for SessionBody<B>
where
    B: Body,
    B::Data: From<Bytes>,
{
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        match self.project().kind.project() {
            KindProj::Inner { body } => body.poll_frame(cx),
            // The inner body's error type cannot carry the error body's
            // error: log it and end the body, which the client sees as a
            // short response (a reset, under HTTP/2).
            KindProj::Error { body } => match body.poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => Poll::Ready(Some(Ok(frame.map_data(Into::into)))),
                Poll::Ready(Some(Err(error))) => {
                    tracing::error!(%error, "session error response's body failed; ending it");
                    Poll::Ready(None)
                }
                Poll::Ready(None) => Poll::Ready(None),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Inner { body } => body.is_end_stream(),
            Kind::Error { body } => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Inner { body } => body.size_hint(),
            Kind::Error { body } => body.size_hint(),
        }
    }
}

impl<B: fmt::Debug> fmt::Debug for SessionBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Inner { body } => f.debug_tuple("SessionBody").field(body).finish(),
            Kind::Error { .. } => f.write_str("SessionBody(<error response>)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::IntoErrorResponse;
    use http::Response;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn an_error_body_is_its_text_once_with_an_exact_size() {
        let error = |text: &str| {
            Response::new(text.to_owned())
                .into_error_response()
                .into_body()
        };
        let body = SessionBody::<String>::error(error("503 store down\n"));
        assert_eq!(body.size_hint().exact(), Some(15));
        assert!(!body.is_end_stream());
        let bytes = body.collect().await.expect("infallible").to_bytes();
        assert_eq!(&bytes[..], b"503 store down\n");

        let empty = SessionBody::<String>::error(error(""));
        assert!(empty.is_end_stream());
    }

    #[tokio::test]
    async fn an_inner_body_passes_through() {
        let body = SessionBody::inner("hello".to_owned());
        assert_eq!(body.size_hint().exact(), Some(5));
        let bytes = body.collect().await.expect("infallible").to_bytes();
        assert_eq!(&bytes[..], b"hello");
    }
}
