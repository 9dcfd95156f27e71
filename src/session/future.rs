//! The response future: sends what the handler did to this layer's
//! session.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use http::header::SET_COOKIE;
use http::Response;
use pin_project_lite::pin_project;
use tracing::Instrument;

use crate::cookies::Cookies;
use crate::flash::state::FlashResponse;
use crate::headers;
use crate::session::body::SessionBody;
use crate::session::shared::backend::{Committed, MaybeReady, SetCookie};
use crate::session::shared::config::SessionConfig;
use crate::session::shared::error::SessionError;
use crate::session::shared::error_response::ErrorBody;
use crate::session::shared::source::SessionSource;
use crate::session::shared::state::Shared;
use crate::session::shared::trace::{self, BeforeCommit};
use crate::session::SessionData;

pin_project! {
    /// Response future of [`SessionService`](super::SessionService).
    ///
    /// When the inner service answers, and only if the handler opened this
    /// layer's session, it commits the session and adds its `Set-Cookie`,
    /// `Vary: Cookie` and `Cache-Control: private`; the layer that made the
    /// request's jar also writes the jar's changes. An inner error passes
    /// through untouched: no cookie is sent and the session's changes are
    /// lost.
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
        mode: Mode<F>,
        _session: PhantomData<fn() -> T>,
    }
}

pin_project! {
    /// What the future is doing, one request at a time.
    #[project = ModeProj]
    enum Mode<F: Future> {
        /// The same layer further out answers for the request: pass the
        /// inner service's response on.
        Passing { #[pin] future: F },
        /// Waiting for the inner service, then committing this layer's
        /// session.
        Serving { #[pin] future: F, own: Own },
        /// A store that had to wait is saving the session; boxed so the
        /// common future stays small.
        Committing { own: Own, pending: Option<Box<Committing<F::Output>>> },
        /// Refused without calling the inner service.
        Refused { response: Option<Response<ErrorBody>> },
    }
}

/// This layer's registration with the request's state.
#[derive(Clone)]
struct Own {
    jar: Cookies,
    index: usize,
    /// This layer made the jar, so it writes the jar's changes too.
    writes_jar: bool,
}

/// The handler's answer, held while a store saves the session.
struct Committing<O> {
    output: O,
    commit: Committed,
    sending: Sending,
}

/// What a response of this layer has to send, decided in one lock of the
/// jar.
struct Sending {
    config: Arc<SessionConfig>,
    /// The jar's changes go out with this response.
    write_jar: bool,
    /// What the flash sends, when a handler used it.
    flash: Option<FlashResponse>,
    /// The session's span and what it needs to say, when `debug` is on.
    trace: Option<(tracing::Span, BeforeCommit)>,
}

impl<F: Future, T> ResponseFuture<F, T> {
    fn new(mode: Mode<F>) -> Self {
        Self {
            mode,
            _session: PhantomData,
        }
    }

    /// The future of a request whose jar this layer made.
    pub(crate) fn owning(future: F, jar: Cookies) -> Self {
        let own = Own {
            jar,
            index: 0,
            writes_jar: true,
        };
        Self::new(Mode::Serving { future, own })
    }

    /// The future of a request whose jar an outer layer made, where this
    /// layer is registered at `index`.
    pub(crate) fn registered(future: F, jar: Cookies, index: usize) -> Self {
        let own = Own {
            jar,
            index,
            writes_jar: false,
        };
        Self::new(Mode::Serving { future, own })
    }

    /// The future of a request that the same layer further out answers for.
    pub(crate) fn passing(future: F) -> Self {
        Self::new(Mode::Passing { future })
    }

    /// The future of a request refused without calling the inner service.
    pub(crate) fn refused(response: Response<ErrorBody>) -> Self {
        Self::new(Mode::Refused {
            response: Some(response),
        })
    }
}

impl<F, T, B, E> Future for ResponseFuture<F, T>
where
    F: Future<Output = Result<Response<B>, E>>,
    T: SessionData,
{
    type Output = Result<Response<SessionBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut mode = self.project().mode;
        let (output, own) = match mode.as_mut().project() {
            ModeProj::Passing { future } => {
                let output = ready!(future.poll(cx));
                return Poll::Ready(output.map(|response| response.map(SessionBody::inner)));
            }
            ModeProj::Refused { response } => {
                let response = response
                    .take()
                    .expect("ResponseFuture polled after it completed");
                return Poll::Ready(Ok(response.map(SessionBody::error)));
            }
            ModeProj::Committing { own, pending } => {
                let waiting = pending
                    .as_mut()
                    .expect("ResponseFuture polled after it completed");
                let result = ready!(Pin::new(&mut waiting.commit).poll(cx));
                let Committing {
                    output, sending, ..
                } = *pending.take().expect("checked above");
                return Poll::Ready(
                    output.map(|response| finish(response, Some(result), own, &sending)),
                );
            }
            ModeProj::Serving { future, own } => (ready!(future.poll(cx)), own),
        };
        // An inner error passes through untouched: no cookie is sent and
        // the session is not saved.
        if output.is_err() {
            return Poll::Ready(output.map(|response| response.map(SessionBody::inner)));
        }
        let Some((sending, commit)) = begin::<T>(own) else {
            // Neither the session nor the jar was used: the common answer.
            return Poll::Ready(output.map(|response| response.map(SessionBody::inner)));
        };
        let result = match commit {
            None => None,
            Some(mut commit) => match Pin::new(&mut commit).poll(cx) {
                Poll::Ready(result) => Some(result),
                Poll::Pending => {
                    // A store has to wait: keep the answer until it is done.
                    // The inner future is finished, so it is dropped here.
                    let own = own.clone();
                    mode.set(Mode::Committing {
                        own,
                        pending: Some(Box::new(Committing {
                            output,
                            commit,
                            sending,
                        })),
                    });
                    return Poll::Pending;
                }
            },
        };
        Poll::Ready(output.map(|response| finish(response, result, own, &sending)))
    }
}

/// What this layer's response sends, and the commit of its session if the
/// request opened it; `None` when there is nothing to send. One lock of the
/// jar finds both.
fn begin<T: SessionData>(own: &Own) -> Option<(Sending, Option<Committed>)> {
    own.jar
        .request()
        .with_owner(own.index, |registration, jar_changed| {
            // Always there: the index is this layer's registration.
            let registration = registration?;
            let source = SessionSource::<T>::of(&*registration.owner)?;
            let session = registration
                .kept
                .as_ref()
                .and_then(|kept| Arc::clone(kept).downcast::<Shared<T>>().ok())
                // A load that failed or never finished left nothing to send;
                // a change that panicked left nothing that may be sent.
                .filter(|session| session.is_opened() && !session.is_poisoned());
            let write_jar = own.writes_jar && jar_changed;
            let flash = registration
                .flash
                .as_ref()
                .map(|flash| flash.response())
                .filter(|flash| flash.read || flash.set_cookie.is_some());
            if session.is_none() && !write_jar && flash.is_none() {
                return None;
            }
            let mut trace = None;
            let commit = session.map(|session| {
                session.settle();
                let span = session.span();
                trace = span.cloned().zip(trace::before_commit(&session));
                let commit =
                    trace::in_scope(span, || source.backend.commit(&source.config, &session));
                match (commit, span) {
                    (MaybeReady::Pending(future), Some(span)) => {
                        MaybeReady::Pending(Box::pin(future.instrument(span.clone())))
                    }
                    (commit, _) => commit,
                }
            });
            let sending = Sending {
                config: Arc::clone(&source.config),
                write_jar,
                flash,
                trace,
            };
            Some((sending, commit))
        })
}

/// The response with the jar's headers (when this layer writes them), the
/// session's and the flash's, or the error response when the session could
/// not be sent (the flash's changes then go unsent with the rest). `commit`
/// is `None` when the handler did not open the session.
fn finish<B>(
    response: Response<B>,
    commit: Option<Result<SetCookie, SessionError>>,
    own: &Own,
    sending: &Sending,
) -> Response<SessionBody<B>> {
    let session_opened = commit.is_some();
    if let (Some((span, before)), Some(result)) = (&sending.trace, &commit) {
        trace::record_outcome(span, before, result.as_ref());
    }
    let set_cookie = match commit {
        Some(Err(error)) => {
            tracing::error!(%error, "session not sent");
            // The changes were made for the handler's response, which is
            // not sent: whichever layer writes the jar must not send them.
            own.jar.discard_changes();
            let mut response = (sending.config.on_error)(&error).map(SessionBody::error);
            headers::add_vary_cookie(response.headers_mut());
            headers::make_private(response.headers_mut());
            return response;
        }
        Some(Ok(set_cookie)) => set_cookie,
        None => SetCookie::none(),
    };
    let mut response = response.map(SessionBody::inner);
    let headers = response.headers_mut();
    if sending.write_jar {
        own.jar.write_to(headers);
    }
    let flash_read = sending.flash.as_ref().is_some_and(|flash| flash.read);
    if session_opened || flash_read {
        headers::add_vary_cookie(headers);
    }
    let flash_cookie = sending
        .flash
        .as_ref()
        .and_then(|flash| flash.set_cookie.clone());
    if !set_cookie.is_empty() || flash_cookie.is_some() {
        for line in set_cookie.into_iter().chain(flash_cookie) {
            headers.append(SET_COOKIE, line);
        }
        headers::make_private(headers);
    }
    response
}

impl<F: Future, T> fmt::Debug for ResponseFuture<F, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("type", &std::any::type_name::<T>())
            .field(
                "mode",
                &match self.mode {
                    Mode::Passing { .. } => "passing",
                    Mode::Serving { .. } => "serving",
                    Mode::Committing { .. } => "committing",
                    Mode::Refused { .. } => "refused",
                },
            )
            .finish_non_exhaustive()
    }
}
