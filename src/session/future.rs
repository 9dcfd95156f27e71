//! The response future: sends what the handler did to the session.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use http::header::SET_COOKIE;
use http::Response;
use pin_project_lite::pin_project;

use crate::cookies::scope::{self, Erased, Slot};
use crate::cookies::Cookies;
use crate::headers;
use crate::session::backend::{MaybeReady, SetCookie};
use crate::session::config::SessionConfig;
use crate::session::error::SessionError;
use crate::session::handle::{Session, Shared};
use crate::session::lazy::SessionSource;
use crate::session::SessionData;

pin_project! {
    /// Response future of [`SessionService`](super::SessionService).
    ///
    /// When the inner service answers, and only if the handler opened the
    /// session, it commits the session and adds its `Set-Cookie`, `Vary:
    /// Cookie` and `Cache-Control: private`. An inner error passes through
    /// untouched: no cookie is sent and the session's changes are lost.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::convert::Infallible;
    /// use http::{Request, Response};
    /// use tower::{service_fn, Layer, Service};
    /// use tower_cookie_sessions::session::ResponseFuture;
    /// use tower_cookie_sessions::{Key, SessionLayer};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut service = SessionLayer::<u64>::new(Key::generate())?.layer(service_fn(
    ///     |_: Request<String>| async { Ok::<_, Infallible>(Response::new(String::new())) },
    /// ));
    /// let future: ResponseFuture<_, u64> = service.call(Request::new(String::new()));
    /// let response = future.await?;
    /// assert!(response.headers().get("set-cookie").is_none());
    /// # Ok(())
    /// # }
    /// ```
    pub struct ResponseFuture<F: Future, T> {
        #[pin]
        future: F,
        // The request's jar, when this layer made it and so writes its
        // changes; made current while the inner future is polled.
        slot: Option<Slot>,
        // The jar an outer layer made, which that layer writes.
        outer: Option<Cookies>,
        // Only while a store that had to wait saves the session: boxed so
        // the common future stays small.
        committing: Option<Box<Committing<F::Output>>>,
        _session: PhantomData<fn() -> T>,
    }
}

/// The handler's answer, held while a store saves the session.
struct Committing<O> {
    output: O,
    config: Arc<SessionConfig>,
    /// The jar, when this layer writes it.
    write_jar: Option<Cookies>,
    commit: MaybeReady<Result<SetCookie, SessionError>>,
}

impl<F: Future, T> ResponseFuture<F, T> {
    /// Calls `inner` with `slot` current, for a request whose jar this
    /// layer made. Built as one literal so the inner future is written in
    /// place rather than moved.
    #[inline]
    pub(crate) fn owning<S, R>(inner: &mut S, request: R, mut slot: Option<Slot>) -> Self
    where
        S: tower_service::Service<R, Future = F>,
    {
        Self {
            future: scope::call_within(&mut slot, inner, request),
            slot,
            outer: None,
            committing: None,
            _session: PhantomData,
        }
    }

    /// The future of a request whose jar an outer layer made.
    pub(crate) fn sharing(future: F, outer: Cookies) -> Self {
        Self {
            future,
            slot: None,
            outer: Some(outer),
            committing: None,
            _session: PhantomData,
        }
    }
}

impl<F, T, ResBody, E> Future for ResponseFuture<F, T>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
    T: SessionData,
    ResBody: From<String>,
{
    type Output = Result<Response<ResBody>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Some(committing) = this.committing.as_mut() {
            let result = ready!(Pin::new(&mut committing.commit).poll(cx));
            let Committing {
                output,
                config,
                write_jar,
                ..
            } = *this
                .committing
                .take()
                .expect("ResponseFuture polled after it completed");
            return Poll::Ready(output.map(|mut response| {
                finish(&mut response, Some(result), write_jar.as_ref(), &config);
                response
            }));
        }

        // The inner answer is changed in place and returned as it is, so
        // the response is never moved on its way through this layer.
        let mut polled = scope::poll_within(this.slot, this.future, cx);
        let Poll::Ready(output) = &mut polled else {
            return Poll::Pending;
        };
        let owns_jar = this.slot.is_some();
        // What the request used: its jar, or only this layer's session.
        let (jar, own) = match this.slot {
            Some(slot) => (slot.jar(), slot.own_session()),
            None => (this.outer.as_ref(), None),
        };
        let (source, shared, write_jar) = match (jar, own) {
            (Some(jar), _) => {
                // An inner error passes through untouched: no cookie is
                // sent and the session is not saved.
                let Ok(response) = output else {
                    return polled;
                };
                let Some(entry) = jar.session::<SessionSource<T>, Shared<T>>() else {
                    // Never so in practice: this layer attached its source
                    // to the jar. The jar's own changes still go out.
                    if owns_jar {
                        jar.write_to(response.headers_mut());
                    }
                    return polled;
                };
                // The jar is written by the layer that made it.
                let write_jar = (owns_jar && entry.jar_changed).then(|| jar.clone());
                (entry.source, entry.loaded, write_jar)
            }
            (None, Some((origin, Some(session)))) => {
                let origin: Erased = origin.clone();
                let (Ok(source), Ok(shared)) = (
                    origin.downcast::<SessionSource<T>>(),
                    Arc::clone(session).downcast::<Shared<T>>(),
                ) else {
                    return polled;
                };
                (source, Some(shared), None)
            }
            // Nothing asked for the jar or the session: the common response
            // goes out as it is.
            (None, _) => return polled,
        };
        let Ok(response) = output else {
            return polled;
        };
        // A load that failed or never finished left nothing to send.
        let shared = shared.filter(|shared| shared.is_opened());
        let Some(shared) = shared else {
            if let Some(jar) = &write_jar {
                finish(response, None, Some(jar), &source.config);
            }
            return polled;
        };
        let session = Session::from_shared(shared);
        let mut commit = source.backend.commit(&source.config, &session);
        if let Poll::Ready(result) = Pin::new(&mut commit).poll(cx) {
            finish(response, Some(result), write_jar.as_ref(), &source.config);
            return polled;
        }
        // A store has to wait: keep the answer until it is done.
        if let Poll::Ready(output) = polled {
            *this.committing = Some(Box::new(Committing {
                output,
                config: Arc::clone(&source.config),
                write_jar,
                commit,
            }));
        }
        Poll::Pending
    }
}

/// Adds the jar's headers (when there is a `jar` to write) and the
/// session's, or swaps in the error response when the session could not
/// be sent. `commit` is `None` when the handler did not open the session.
fn finish<B: From<String>>(
    response: &mut Response<B>,
    commit: Option<Result<SetCookie, SessionError>>,
    jar: Option<&Cookies>,
    config: &SessionConfig,
) {
    let session_opened = commit.is_some();
    let set_cookie = match commit {
        Some(Err(error)) => {
            tracing::error!(%error, "session not sent");
            let error_response = (config.on_error)(&error);
            let (parts, body) = error_response.into_parts();
            *response = Response::from_parts(parts, B::from(body));
            headers::add_vary_cookie(response.headers_mut());
            headers::make_private(response.headers_mut());
            return;
        }
        Some(Ok(set_cookie)) => set_cookie,
        None => None,
    };
    let headers = response.headers_mut();
    if let Some(jar) = jar {
        jar.write_to(headers);
    }
    if session_opened {
        headers::add_vary_cookie(headers);
    }
    if let Some(value) = set_cookie {
        headers.append(SET_COOKIE, value);
        headers::make_private(headers);
    }
}

impl<O> fmt::Debug for Committing<O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Committing")
    }
}
