use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use http::Response;
use pin_project_lite::pin_project;

use super::scope::{self, Slot};

pin_project! {
    /// The response future of [`CookieService`](super::CookieService).
    ///
    /// When the inner service answers, the jar's changes are appended to
    /// the response as `Set-Cookie` headers, and `Vary: Cookie` is added if
    /// a private cookie was used. When it fails, its error is passed on
    /// unchanged and no `Set-Cookie` is written, since there is no response
    /// to carry it.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::convert::Infallible;
    /// # use http::{Request, Response};
    /// use tower::{service_fn, Layer, Service};
    /// use tower_cookie_sessions::cookies::ResponseFuture;
    /// use tower_cookie_sessions::CookieLayer;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Infallible> {
    /// let mut service = CookieLayer::new().layer(service_fn(|_request: Request<String>| async {
    ///     Ok::<_, Infallible>(Response::new(String::new()))
    /// }));
    /// let future: ResponseFuture<_> = service.call(Request::new(String::new()));
    /// let response = future.await?;
    /// assert!(response.headers().get("set-cookie").is_none());
    /// # Ok(())
    /// # }
    /// ```
    #[derive(Debug)]
    pub struct ResponseFuture<F> {
        #[pin]
        future: F,
        // The request's jar, made current while the inner future is polled;
        // `None` when an outer layer owns the jar and writes its changes.
        slot: Option<Slot>,
    }
}

impl<F> ResponseFuture<F> {
    /// The future of a request whose jar an outer layer made and writes.
    pub(super) fn sharing(future: F) -> Self {
        Self { future, slot: None }
    }

    /// Calls `inner` with `slot` current, for a request whose jar this
    /// layer made. Built as one literal so the inner future is written in
    /// place rather than moved.
    #[inline]
    pub(super) fn owning<S, R>(inner: &mut S, request: R, mut slot: Option<Slot>) -> Self
    where
        S: tower_service::Service<R, Future = F>,
    {
        Self {
            future: scope::call_within(&mut slot, inner, request),
            slot,
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let polled = scope::poll_within(this.slot, this.future, cx);
        // A jar nothing asked for has nothing to write: the response goes
        // out without being moved.
        let Some(jar) = this.slot.as_ref().and_then(Slot::jar) else {
            return polled;
        };
        let mut response = ready!(polled)?;
        jar.write_to(response.headers_mut());
        *this.slot = None;
        Poll::Ready(Ok(response))
    }
}
