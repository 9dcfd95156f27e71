//! The response future: sends what the handler did to the session.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use http::header::SET_COOKIE;
use http::Response;
use pin_project_lite::pin_project;

use crate::cookies::scope::{self, Slot};
use crate::cookies::Cookies;
use crate::headers;
use crate::session::backend::{MaybeReady, SetCookie};
use crate::session::error::SessionError;
use crate::session::handle::{Session, Shared};
use crate::session::lazy::{LazySession, SessionSource};
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
        committing: Option<Box<Committing<F::Output, T>>>,
    }
}

/// The handler's answer, held while a store saves the session.
struct Committing<O, T> {
    output: O,
    lazy: LazySession<T>,
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
        }
    }

    /// The future of a request whose jar an outer layer made.
    pub(crate) fn sharing(future: F, outer: Cookies) -> Self {
        Self {
            future,
            slot: None,
            outer: Some(outer),
            committing: None,
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
            let Committing { output, lazy, .. } = *this
                .committing
                .take()
                .expect("ResponseFuture polled after it completed");
            let owns_jar = this.slot.is_some();
            return Poll::Ready(output.map(|mut response| {
                finish(&mut response, Some(result), owns_jar, &lazy);
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
        let jar = match this.slot {
            Some(slot) => slot.jar(),
            None => this.outer.as_ref(),
        };
        // Nothing asked for the jar: the common response goes out as it is.
        let Some(jar) = jar else {
            return polled;
        };
        // An inner error passes through untouched: no cookie is sent and
        // the session is not saved.
        let Ok(response) = output else {
            return polled;
        };
        let Some(entry) = jar.session::<SessionSource<T>, Shared<T>>() else {
            // Never so in practice: this layer attached its source to the
            // jar. The jar's own changes still go out.
            if owns_jar {
                jar.write_to(response.headers_mut());
            }
            return polled;
        };
        // The jar was used, but neither for this layer's session nor in a
        // way this layer has to write.
        let write_jar = owns_jar && entry.jar_changed;
        if entry.loaded.is_none() && !write_jar {
            return polled;
        }
        let lazy = LazySession::new(jar.clone(), entry.source);
        let Some(shared) = entry.loaded else {
            finish(response, None, write_jar, &lazy);
            return polled;
        };
        let session = Session::from_shared(shared);
        let mut commit = lazy.backend().commit(lazy.config(), &session);
        if let Poll::Ready(result) = Pin::new(&mut commit).poll(cx) {
            finish(response, Some(result), write_jar, &lazy);
            return polled;
        }
        // A store has to wait: keep the answer until it is done.
        if let Poll::Ready(output) = polled {
            *this.committing = Some(Box::new(Committing {
                output,
                lazy,
                commit,
            }));
        }
        Poll::Pending
    }
}

/// Adds the jar's headers (when `write_jar`) and the session's, or swaps
/// in the error response when the session could not be sent. `commit` is
/// `None` when the handler did not open the session.
fn finish<B: From<String>, T>(
    response: &mut Response<B>,
    commit: Option<Result<SetCookie, SessionError>>,
    write_jar: bool,
    lazy: &LazySession<T>,
) {
    let session_opened = commit.is_some();
    let set_cookie = match commit {
        Some(Err(error)) => {
            tracing::error!(%error, "session not sent");
            let error_response = (lazy.config().on_error)(&error);
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
    if write_jar {
        lazy.cookies().write_to(headers);
    }
    if session_opened {
        headers::add_vary_cookie(headers);
    }
    if let Some(value) = set_cookie {
        headers.append(SET_COOKIE, value);
        headers::make_private(headers);
    }
}

impl<O, T> fmt::Debug for Committing<O, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Committing")
    }
}
