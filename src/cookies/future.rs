use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use http::Response;
use pin_project_lite::pin_project;

use super::jar::Cookies;

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
        // The request's jar, when this layer made it and so writes its
        // changes; `None` when an outer layer does.
        jar: Option<Cookies>,
    }
}

impl<F> ResponseFuture<F> {
    pub(super) fn new(future: F, jar: Option<Cookies>) -> Self {
        Self { future, jar }
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = ready!(this.future.poll(cx))?;
        if let Some(jar) = this.jar.take() {
            jar.write_to(response.headers_mut());
        }
        Poll::Ready(Ok(response))
    }
}
