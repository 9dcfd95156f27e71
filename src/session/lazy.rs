//! The session of a request, opened only when a handler asks.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use http::HeaderMap;

use crate::cookies::scope::{self, SessionOrigin};
use crate::cookies::Cookies;
use crate::key::KeyRing;
use crate::session::backend::ErasedBackend;
use crate::session::config::SessionConfig;
use crate::session::error::SessionError;
use crate::session::handle::{Session, Shared};
use crate::session::SessionData;

/// What a session layer shares with all its requests: its configuration
/// and backend. Attached to each request's cookie jar, so one handoff (the
/// jar) carries both.
pub(crate) struct SessionSource<T> {
    pub(crate) config: Arc<SessionConfig>,
    pub(crate) backend: Arc<dyn ErasedBackend<T>>,
}

impl<T: 'static> SessionOrigin for SessionSource<T> {
    fn keys(&self) -> &Arc<KeyRing> {
        &self.config.keys
    }
}

/// A request's session: the jar that holds it and the layer's source.
pub(crate) struct LazySession<T> {
    cookies: Cookies,
    source: Arc<SessionSource<T>>,
}

impl<T> Clone for LazySession<T> {
    fn clone(&self) -> Self {
        Self {
            cookies: self.cookies.clone(),
            source: Arc::clone(&self.source),
        }
    }
}

impl<T: SessionData> LazySession<T> {
    pub(crate) fn new(cookies: Cookies, source: Arc<SessionSource<T>>) -> Self {
        Self { cookies, source }
    }

    /// The session of type `T` of the current request, whose headers are
    /// `headers`, if a layer for `T` is running this code; with the
    /// session itself if the request already opened it.
    pub(crate) fn current(headers: &HeaderMap) -> Option<(Self, Option<Session<T>>)> {
        Self::of_jar(&scope::current(headers)?)
    }

    /// The session of type `T` that `jar` carries, if a layer for `T`
    /// attached its source to it; with the session itself if the request
    /// opened it. One look into the jar answers both.
    pub(crate) fn of_jar(jar: &Cookies) -> Option<(Self, Option<Session<T>>)> {
        let entry = jar.session::<SessionSource<T>, Shared<T>>()?;
        Some((
            Self::new(jar.clone(), entry.source),
            entry.loaded.map(Session::from_shared),
        ))
    }

    /// Opens the request's session (`loaded`, if it was already open).
    pub(crate) async fn open(
        &self,
        loaded: Option<Session<T>>,
    ) -> Result<Session<T>, SessionError> {
        if let Some(session) = loaded {
            return Ok(session);
        }
        let state = self
            .source
            .backend
            .load(&self.source.config, &self.cookies)
            .await?;
        let session = Session::new(state, Arc::clone(&self.source.config));
        // Two extractors in one request may load at once: the first to
        // finish wins, so both see the same shared session.
        let source: Arc<dyn Any + Send + Sync> = self.source.clone();
        let kept = self.cookies.set_session(&source, session.into_shared());
        Ok(Session::from_shared(kept))
    }
}

impl<T> LazySession<T> {
    pub(crate) fn cookies(&self) -> &Cookies {
        &self.cookies
    }

    pub(crate) fn config(&self) -> &Arc<SessionConfig> {
        &self.source.config
    }

    pub(crate) fn backend(&self) -> &Arc<dyn ErasedBackend<T>> {
        &self.source.backend
    }
}

impl<T> fmt::Debug for LazySession<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LazySession")
            .field("type", &std::any::type_name::<T>())
            .finish_non_exhaustive()
    }
}
