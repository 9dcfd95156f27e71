use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_service::Service;

use super::future::ResponseFuture;
use super::scope::{self, Origin, Slot};
use crate::key::KeyRing;

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

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        // An outer layer already made a jar current: share it, so handlers
        // and layers see one set of changes, and leave writing them to it
        // so each change is sent once.
        if scope::is_active() {
            return ResponseFuture::sharing(self.inner.call(request));
        }
        let slot = Some(Slot::Pending(Origin::Cookies(self.key.clone())));
        ResponseFuture::owning(&mut self.inner, request, slot)
    }
}
