//! The seam between the session handle and where sessions live.
//!
//! `Session<T>` never names its backend: the layer keeps an
//! `Arc<dyn ErasedBackend<T>>`, whose futures are boxed only when they
//! really wait (a store round trip), so the client-side cookie backend
//! allocates nothing for them.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::HeaderValue;

use crate::cookies::Cookies;

use crate::session::shared::config::SessionConfig;
use crate::session::shared::error::SessionError;
use crate::session::shared::state::{Shared, State};

/// A boxed, sendable future.
pub(crate) type BoxFuture<O> = Pin<Box<dyn Future<Output = O> + Send + 'static>>;

/// A result that is either known now or still on its way.
pub(crate) enum MaybeReady<O> {
    Ready(Option<O>),
    Pending(BoxFuture<O>),
}

impl<O> MaybeReady<O> {
    pub(crate) fn ready(output: O) -> Self {
        MaybeReady::Ready(Some(output))
    }
}

// Nothing inside is ever pinned in place: the output is moved out whole and
// the boxed future is pinned by its box.
impl<O> Unpin for MaybeReady<O> {}

impl<O> Future for MaybeReady<O> {
    type Output = O;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<O> {
        match self.get_mut() {
            MaybeReady::Ready(output) => {
                Poll::Ready(output.take().expect("MaybeReady polled after it completed"))
            }
            MaybeReady::Pending(future) => future.as_mut().poll(cx),
        }
    }
}

/// A session being loaded: known now, or when a store answers.
pub(crate) type Loading<T> = MaybeReady<Result<State<T>, SessionError>>;

/// The `Set-Cookie` lines the response carries for the session: usually
/// none or one, kept inline; a session split across several cookies, or
/// one that leaves such a session, needs more.
#[derive(Debug, Default)]
pub(crate) struct SetCookie {
    first: Option<HeaderValue>,
    more: Vec<HeaderValue>,
}

impl SetCookie {
    /// No line: nothing to send.
    pub(crate) fn none() -> Self {
        Self::default()
    }

    /// One line.
    pub(crate) fn one(line: HeaderValue) -> Self {
        Self {
            first: Some(line),
            more: Vec::new(),
        }
    }

    /// Adds a line after the others.
    pub(crate) fn push(&mut self, line: HeaderValue) {
        if self.first.is_none() {
            self.first = Some(line);
        } else {
            self.more.push(line);
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.first.is_none()
    }
}

impl From<Option<HeaderValue>> for SetCookie {
    fn from(line: Option<HeaderValue>) -> Self {
        Self {
            first: line,
            more: Vec::new(),
        }
    }
}

impl IntoIterator for SetCookie {
    type Item = HeaderValue;
    type IntoIter =
        std::iter::Chain<std::option::IntoIter<HeaderValue>, std::vec::IntoIter<HeaderValue>>;

    fn into_iter(self) -> Self::IntoIter {
        self.first.into_iter().chain(self.more)
    }
}

/// A session's commit: the `Set-Cookie` its response carries, now or
/// after a store round trip.
pub(crate) type Committed = MaybeReady<Result<SetCookie, SessionError>>;

/// Loads and commits sessions of type `T`; object safe.
pub(crate) trait ErasedBackend<T>: Send + Sync + 'static {
    /// Opens the session of the request whose cookies are in `jar`: a
    /// fresh one when the request has none that is valid. Called while the
    /// jar is locked: read the request's cookies with
    /// `RequestState::values`, which takes no lock, and nothing else.
    fn load(&self, config: &Arc<SessionConfig>, jar: &Cookies) -> Loading<T>;

    /// Saves what the handler did and says which `Set-Cookie`, if any, the
    /// response carries. What a save changed (a new id, the record's
    /// version, the deadlines) is written back into `session`, so
    /// committing it again saves nothing twice.
    fn commit(&self, config: &Arc<SessionConfig>, session: &Arc<Shared<T>>) -> Committed;
}
