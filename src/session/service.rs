//! `SessionService`: registers its layer with the request's state, putting
//! one into the request's extensions when no layer did before.

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_service::Service;

use crate::cookies::Cookies;
use crate::request::owners::{Registered, Registration};
use crate::request::RequestState;
use crate::session::future::ResponseFuture;
use crate::session::shared::error::SessionError;
use crate::session::shared::source::SessionSource;
use crate::session::SessionData;

/// The service built by [`SessionLayer`](crate::SessionLayer).
///
/// Each request gets a [`Cookies`] jar in its extensions, unless an outer
/// layer already gave it one (which then writes the jar's changes), and a
/// session that opens only when the handler asks for it. The layer is
/// registered with the jar under its identity, so the same layer applied
/// twice is one session; a *different* layer that would set the same
/// cookie name is refused before the inner service runs, with a 500
/// through [`on_error`](crate::session::SessionLayerBuilder::on_error)
/// ([`SessionError::CookieNameTaken`]) and an error event naming the
/// cookie.
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
    pub(crate) fn new(inner: S, source: Arc<SessionSource<T>>) -> Self {
        Self { inner, source }
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
{
    type Response = Response<super::SessionBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, T>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let source = &self.source;
        let registration = || Registration::new(source.id, Arc::clone(source) as _);
        let Some(jar) = request.extensions().get::<Cookies>() else {
            // The outermost layer: the request's state starts here, and
            // this layer writes the jar's changes.
            let jar = Cookies::over(RequestState::new(
                request.headers(),
                Some(Arc::clone(&source.config.keys)),
                Some(registration()),
            ));
            request.extensions_mut().insert(jar.clone());
            return ResponseFuture::owning(self.inner.call(request), jar);
        };
        match jar
            .request()
            .join(Some(&source.config.keys), Some(registration()))
        {
            Some(Registered::New(index)) => {
                let jar = jar.clone();
                ResponseFuture::registered(self.inner.call(request), jar, index)
            }
            // The same layer further out answers for this request.
            Some(Registered::Already) | None => ResponseFuture::passing(self.inner.call(request)),
            Some(Registered::NameTaken) => {
                let error = SessionError::CookieNameTaken {
                    name: source.config.cookie_name.clone(),
                };
                tracing::error!(
                    cookie = source.config.cookie_name.as_str(),
                    "two session layers of one request set the same cookie: give each its own \
                     `cookie_name`; answering with an error without calling the service"
                );
                ResponseFuture::refused((source.config.on_error)(&error))
            }
        }
    }
}
