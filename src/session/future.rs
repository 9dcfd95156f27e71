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

use crate::cookies::scope::{self, Slot};
use crate::cookies::Cookies;
use crate::headers;
use crate::session::backend::{MaybeReady, SetCookie};
use crate::session::config::SessionConfig;
use crate::session::error::SessionError;
use crate::session::handle::Shared;
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
    waiting: Waiting,
}

/// A session commit that has to wait for its store.
struct Waiting {
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

    // Inlined so the common answer (untouched, or sent at once) goes back to
    // the caller without another copy; the session work is in `respond`.
    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Some(pending) = this.committing.as_mut() {
            let result = ready!(Pin::new(&mut pending.waiting.commit).poll(cx));
            let done = this
                .committing
                .take()
                .expect("ResponseFuture polled after it completed");
            return Poll::Ready(done.finish(result));
        }
        // The inner answer is changed in place and returned as it is, so
        // the response is never moved on its way through this layer.
        let mut polled = scope::poll_within(this.slot, this.future, cx);
        let Poll::Ready(output) = &mut polled else {
            return Poll::Pending;
        };
        // Nothing asked for the jar or the session: the common response
        // goes out as it is.
        if let Some(Slot::Pending(_)) = this.slot {
            return polled;
        }
        let Some(waiting) = respond::<T, _, _>(this.slot.as_ref(), this.outer.as_ref(), output, cx)
        else {
            return polled;
        };
        // A store has to wait: keep the answer until it is done.
        if let Poll::Ready(output) = polled {
            *this.committing = Some(Box::new(Committing { output, waiting }));
        }
        Poll::Pending
    }
}

impl<B: From<String>, E> Committing<Result<Response<B>, E>> {
    /// The answer, once the store saved the session with `result`.
    fn finish(self, result: Result<SetCookie, SessionError>) -> Result<Response<B>, E> {
        let Committing { output, waiting } = self;
        output.map(|mut response| {
            finish(
                &mut response,
                Some(result),
                waiting.write_jar.as_ref(),
                &waiting.config,
            );
            response
        })
    }
}

/// Sends what the request did to its jar and session into `output`; the
/// session's commit, when a store has to wait for it.
#[inline(never)]
fn respond<T: SessionData, B: From<String>, E>(
    slot: Option<&Slot>,
    outer: Option<&Cookies>,
    output: &mut Result<Response<B>, E>,
    cx: &mut Context<'_>,
) -> Option<Waiting> {
    // An inner error passes through untouched: no cookie is sent and the
    // session is not saved.
    let Ok(response) = output else {
        return None;
    };
    let owns_jar = slot.is_some();
    // What the request used: its jar, or only this layer's session.
    let (jar, own) = match slot {
        Some(slot) => (slot.jar(), slot.own_session()),
        None => (outer, None),
    };
    match (jar, own) {
        (Some(jar), _) => {
            let Some(entry) = jar.session::<SessionSource<T>, Shared<T>>() else {
                // Never so in practice: this layer attached its source to
                // the jar. The jar's own changes still go out.
                if owns_jar {
                    jar.write_to(response.headers_mut());
                }
                return None;
            };
            // The jar is written by the layer that made it.
            let write_jar = (owns_jar && entry.jar_changed).then(|| jar.clone());
            send(
                &entry.source,
                entry.loaded.as_deref(),
                write_jar,
                response,
                cx,
            )
        }
        (None, Some((origin, Some(session)))) => {
            // Borrowed where the slot keeps them: no reference counting.
            let source = SessionSource::<T>::of(origin)?;
            let shared = (**session).downcast_ref::<Shared<T>>()?;
            send(source, Some(shared), None, response, cx)
        }
        (None, _) => None,
    }
}

/// Commits the session (`shared`, if the request opened it) and writes the
/// response's headers; the commit, when a store has to wait for it.
fn send<T: SessionData, B: From<String>>(
    source: &SessionSource<T>,
    shared: Option<&Shared<T>>,
    write_jar: Option<Cookies>,
    response: &mut Response<B>,
    cx: &mut Context<'_>,
) -> Option<Waiting> {
    // A load that failed or never finished left nothing to send.
    let Some(shared) = shared.filter(|shared| shared.is_opened()) else {
        if let Some(jar) = &write_jar {
            finish(response, None, Some(jar), &source.config);
        }
        return None;
    };
    let mut commit = source.backend.commit(&source.config, shared);
    if let Poll::Ready(result) = Pin::new(&mut commit).poll(cx) {
        finish(response, Some(result), write_jar.as_ref(), &source.config);
        return None;
    }
    Some(Waiting {
        config: Arc::clone(&source.config),
        write_jar,
        commit,
    })
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
