use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_service::Service;

use super::future::ResponseFuture;
use super::jar::Cookies;
use crate::key::KeyRing;
use crate::request::RequestState;

/// The service made by [`CookieLayer`](crate::CookieLayer).
///
/// # Examples
///
/// ```
/// # use std::convert::Infallible;
/// # use http::{Request, Response};
/// use tower::{service_fn, Layer};
/// use tower_cookie_sessions::cookies::CookieService;
/// use tower_cookie_sessions::CookieLayer;
///
/// let handler = service_fn(|_request: Request<String>| async {
///     Ok::<_, Infallible>(Response::new(String::new()))
/// });
/// let service: CookieService<_> = CookieLayer::new().layer(handler);
/// # let _ = service;
/// ```
#[derive(Clone, Debug)]
pub struct CookieService<S> {
    inner: S,
    key: Option<Arc<KeyRing>>,
}

impl<S> CookieService<S> {
    pub(super) fn new(inner: S, key: Option<Arc<KeyRing>>) -> Self {
        Self { inner, key }
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for CookieService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        // An outer layer made the request's jar: join it, so handlers and
        // layers see one set of changes, and leave writing them to that
        // layer so each change is sent once.
        if let Some(jar) = request.extensions().get::<Cookies>() {
            jar.request().join(self.key.as_ref(), None);
            return ResponseFuture::new(self.inner.call(request), None);
        }
        let jar = Cookies::over(RequestState::new(request.headers(), self.key.clone(), None));
        request.extensions_mut().insert(jar.clone());
        ResponseFuture::new(self.inner.call(request), Some(jar))
    }
}
