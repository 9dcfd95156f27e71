//! The request extension that opens the session only when asked.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use crate::cookies::Cookies;
use crate::session::backend::ErasedBackend;
use crate::session::config::SessionConfig;
use crate::session::error::SessionError;
use crate::session::handle::Session;
use crate::session::SessionData;

/// Put in request extensions by the service; the session handle comes
/// from here, and the response future reads back what the handler did.
pub(crate) struct LazySession<T> {
    inner: Arc<Inner<T>>,
}

struct Inner<T> {
    config: Arc<SessionConfig>,
    backend: Arc<dyn ErasedBackend<T>>,
    cookies: Cookies,
    session: Mutex<Option<Session<T>>>,
}

impl<T> Clone for LazySession<T> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<T: SessionData> LazySession<T> {
    pub(crate) fn new(
        config: Arc<SessionConfig>,
        backend: Arc<dyn ErasedBackend<T>>,
        cookies: Cookies,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                config,
                backend,
                cookies,
                session: Mutex::new(None),
            }),
        }
    }

    /// The request's session, opened on first call.
    pub(crate) async fn get_or_load(&self) -> Result<Session<T>, SessionError> {
        if let Some(session) = self.loaded() {
            return Ok(session);
        }
        let state = self
            .inner
            .backend
            .load(&self.inner.config, &self.inner.cookies)
            .await?;
        let mut slot = self
            .inner
            .session
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // Two extractors in one request may load at once: the first to
        // finish wins, so both see the same shared session.
        Ok(slot
            .get_or_insert_with(|| Session::new(state, Arc::clone(&self.inner.config)))
            .clone())
    }
}

impl<T> LazySession<T> {
    /// The session, if the handler opened it.
    pub(crate) fn loaded(&self) -> Option<Session<T>> {
        self.inner
            .session
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn config(&self) -> &Arc<SessionConfig> {
        &self.inner.config
    }

    pub(crate) fn backend(&self) -> &Arc<dyn ErasedBackend<T>> {
        &self.inner.backend
    }
}

impl<T> fmt::Debug for LazySession<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LazySession")
            .field("type", &std::any::type_name::<T>())
            .finish_non_exhaustive()
    }
}
