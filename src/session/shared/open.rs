//! Opening a request's session: found in the request's extensions, under
//! the innermost session layer of its type, and loaded only when a handler
//! first asks.

use std::fmt;
use std::sync::Arc;

use http::Extensions;
use tracing::Instrument;

use crate::cookies::Cookies;
use crate::request::owners::Kept;
use crate::session::shared::backend::{BoxFuture, Loading, MaybeReady};
use crate::session::shared::error::SessionError;
use crate::session::shared::handle::Session;
use crate::session::shared::source::SessionSource;
use crate::session::shared::state::{Shared, State};
use crate::session::shared::trace;
use crate::session::SessionData;

/// A session of type `T` on its way to the handler: already kept by the
/// request, and loaded once its load (if any) completes.
pub(crate) struct Opening<T> {
    shared: Arc<Shared<T>>,
    /// The store's answer, when it had to wait; `None` when `shared` is
    /// opened already.
    load: Option<PendingLoad<T>>,
}

/// A load that did not finish at once. Boxed, so that the futures that
/// carry an `Opening` (the handler's among them) stay small: they are moved
/// whole on every request, and a client-side session never waits.
type PendingLoad<T> = BoxFuture<Result<State<T>, SessionError>>;

/// `load` as a boxed future: the store's own when it waits; an answer known
/// at once that is not an opened session (an error) is boxed as it is.
fn pending<T: SessionData>(load: Loading<T>) -> PendingLoad<T> {
    match load {
        MaybeReady::Pending(future) => future,
        ready => Box::pin(ready),
    }
}

impl<T: SessionData> Opening<T> {
    /// Starts opening the session of type `T` in `extensions`: the one of
    /// the innermost `SessionLayer<T>` registered with the request's state.
    /// The request keeps the session from here on. A cookie session is
    /// decrypted right away; a store load is started, and finished by
    /// [`open`](Self::open).
    ///
    /// # Errors
    ///
    /// [`SessionError::MissingLayer`] when no such layer saw the request.
    pub(crate) fn from_extensions(extensions: &Extensions) -> Result<Self, SessionError> {
        let missing = || SessionError::MissingLayer {
            type_name: std::any::type_name::<T>(),
        };
        let jar = extensions.get::<Cookies>().ok_or_else(missing)?;
        jar.request()
            .find_owner(|registration| {
                let source = SessionSource::<T>::of(&*registration.owner)?;
                Some(start(source, &mut registration.kept, jar))
            })
            .ok_or_else(missing)
    }

    /// The session, once its load (if it had to wait) is done.
    pub(crate) async fn open(self) -> Result<Session<T>, SessionError> {
        if let Some(load) = self.load {
            self.shared.fill(load.await?);
        }
        Ok(Session::from_shared(self.shared))
    }

    /// The layer's configuration, for the extractor's error response.
    #[cfg(feature = "axum")]
    pub(crate) fn config(&self) -> &Arc<crate::session::shared::config::SessionConfig> {
        self.shared.config()
    }
}

/// Opens the session of `source`'s layer, which keeps it in `kept`; the
/// cookies it is loaded from are the request's, in `jar`. All of it runs
/// in the one lock of the jar that found the layer, so two loads of one
/// request cannot each keep a session of their own.
fn start<T: SessionData>(
    source: &SessionSource<T>,
    kept: &mut Option<Kept>,
    jar: &Cookies,
) -> Opening<T> {
    let kept_session = kept
        .as_ref()
        .and_then(|kept| Arc::clone(kept).downcast::<Shared<T>>().ok());
    if let Some(shared) = kept_session {
        if shared.is_opened() {
            return Opening { shared, load: None };
        }
        // Another load of this request is still on its way (or failed):
        // this one loads too, and whichever finishes first opens the
        // session both share.
        let load = source.backend.load(&source.config, jar);
        return Opening {
            shared,
            load: Some(pending(load)),
        };
    }
    let config = Arc::clone(&source.config);
    let span = trace::span(&config);
    // The load's own events (why a cookie was refused) go under the span.
    let load = trace::in_scope(span.as_ref(), || source.backend.load(&source.config, jar));
    let (shared, load) = match load {
        MaybeReady::Ready(Some(Ok(state))) => (Shared::opened(state, config, span), None),
        load => {
            let load = pending(load);
            let load: PendingLoad<T> = match &span {
                Some(span) => Box::pin(load.instrument(span.clone())),
                None => load,
            };
            (Shared::loading(config, span), Some(load))
        }
    };
    *kept = Some(Arc::clone(&shared) as Kept);
    Opening { shared, load }
}

impl<T> fmt::Debug for Opening<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Opening")
            .field("type", &std::any::type_name::<T>())
            .finish_non_exhaustive()
    }
}
