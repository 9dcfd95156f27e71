//! The response future: sends what the handler did to the session.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use http::header::SET_COOKIE;
use http::Response;
use pin_project_lite::pin_project;

use crate::headers;
use crate::session::backend::{MaybeReady, SetCookie};
use crate::session::error::SessionError;
use crate::session::lazy::LazySession;
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
        lazy: LazySession<T>,
        // Whether this layer made the jar, and so writes its changes.
        owns_jar: bool,
        committing: Option<Committing<F::Output>>,
    }
}

/// The handler's answer, held while a store saves the session.
struct Committing<O> {
    output: O,
    commit: MaybeReady<Result<SetCookie, SessionError>>,
}

impl<F: Future, T> ResponseFuture<F, T> {
    pub(crate) fn new(future: F, lazy: LazySession<T>, owns_jar: bool) -> Self {
        Self {
            future,
            lazy,
            owns_jar,
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
        let mut this = self.project();
        let committing =
            match this.committing.as_mut() {
                Some(committing) => committing,
                None => {
                    let output = ready!(this.future.as_mut().poll(cx));
                    if this.lazy.cookies().is_untouched() {
                        return Poll::Ready(output);
                    }
                    let Some(session) = this.lazy.loaded() else {
                        return Poll::Ready(output.map(|response| {
                            finish(response, None, *this.owns_jar, false, this.lazy)
                        }));
                    };
                    let commit = this.lazy.backend().commit(this.lazy.config(), &session);
                    this.committing.insert(Committing { output, commit })
                }
            };
        let result = ready!(Pin::new(&mut committing.commit).poll(cx));
        let Committing { output, .. } = this
            .committing
            .take()
            .expect("ResponseFuture polled after it completed");
        Poll::Ready(
            output.map(|response| finish(response, Some(result), *this.owns_jar, true, this.lazy)),
        )
    }
}

/// Adds the jar's and the session's headers, or swaps in the error
/// response when the session could not be sent.
fn finish<B: From<String>, T>(
    mut response: Response<B>,
    commit: Option<Result<SetCookie, SessionError>>,
    owns_jar: bool,
    session_opened: bool,
    lazy: &LazySession<T>,
) -> Response<B> {
    let set_cookie = match commit {
        Some(Err(error)) => {
            tracing::error!(%error, "session not sent");
            let error_response = (lazy.config().on_error)(&error);
            let (parts, body) = error_response.into_parts();
            let mut response = Response::from_parts(parts, B::from(body));
            headers::add_vary_cookie(response.headers_mut());
            headers::make_private(response.headers_mut());
            return response;
        }
        Some(Ok(set_cookie)) => set_cookie,
        None => None,
    };
    let headers = response.headers_mut();
    if owns_jar {
        let jar = lazy.cookies();
        jar.write_changes(headers);
        if jar.private_accessed() {
            headers::add_vary_cookie(headers);
        }
    }
    if session_opened {
        headers::add_vary_cookie(headers);
    }
    if let Some(value) = set_cookie {
        headers.append(SET_COOKIE, value);
        headers::make_private(headers);
    }
    response
}

impl<O> fmt::Debug for Committing<O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Committing")
    }
}
