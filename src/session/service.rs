//! `SessionService`: puts the lazy session and the cookie jar into each
//! request.

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_service::Service;

use crate::cookies::scope::{self, Origin, Slot};
use crate::session::backend::ErasedBackend;
use crate::session::config::SessionConfig;
use crate::session::future::ResponseFuture;
use crate::session::lazy::SessionSource;
use crate::session::SessionData;

/// The service built by [`SessionLayer`](crate::SessionLayer).
///
/// Each request gets a [`Cookies`](crate::Cookies) jar (unless an outer
/// [`CookieLayer`](crate::CookieLayer) already gave it one, which then
/// writes the jar's changes) and a session that opens only when the handler
/// asks for it.
///
/// # Examples
///
/// ```
/// use tower::ServiceBuilder;
/// use tower_cookie_sessions::{Key, SessionLayer};
///
/// # fn main() -> Result<(), tower_cookie_sessions::ConfigError> {
/// let service = ServiceBuilder::new()
///     .layer(SessionLayer::<u64>::new(Key::generate())?)
///     .service_fn(|_: http::Request<String>| async {
///         Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
///     });
/// # let _ = service;
/// # Ok(())
/// # }
/// ```
pub struct SessionService<S, T> {
    inner: S,
    source: Arc<SessionSource<T>>,
}

impl<S, T> SessionService<S, T> {
    pub(crate) fn new(
        inner: S,
        config: Arc<SessionConfig>,
        backend: Arc<dyn ErasedBackend<T>>,
    ) -> Self {
        Self {
            inner,
            source: Arc::new(SessionSource { config, backend }),
        }
    }
}

impl<S: Clone, T> Clone for SessionService<S, T> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            source: Arc::clone(&self.source),
        }
    }
}

impl<S: fmt::Debug, T> fmt::Debug for SessionService<S, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionService")
            .field("inner", &self.inner)
            .field("type", &std::any::type_name::<T>())
            .field("config", &self.source.config)
            .finish()
    }
}

impl<S, T, ReqBody, ResBody> Service<Request<ReqBody>> for SessionService<S, T>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    T: SessionData,
    ResBody: From<String>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, T>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    #[inline]
    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        if let Some(outer) = scope::current(request.headers()) {
            outer.attach_session(self.source.clone());
            return ResponseFuture::sharing(self.inner.call(request), outer);
        }
        let slot = Some(Slot::Pending(Origin::Session(self.source.clone())));
        ResponseFuture::owning(&mut self.inner, request, slot)
    }
}
