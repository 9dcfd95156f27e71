//! The session of a request, opened only when a handler asks.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use http::HeaderMap;

use crate::cookies::scope::{self, Erased, SessionOrigin, Slot};
use crate::key::KeyRing;
use crate::session::backend::{BoxFuture, ErasedBackend, Loading, MaybeReady};
use crate::session::config::SessionConfig;
use crate::session::error::SessionError;
use crate::session::handle::{Session, Shared};
use crate::session::state::State;
use crate::session::SessionData;

/// What a session layer shares with all its requests: its configuration
/// and backend. Made current with each request (and attached to its jar,
/// if one is built), so one handoff carries both.
pub(crate) struct SessionSource<T> {
    pub(crate) config: Arc<SessionConfig>,
    pub(crate) backend: Arc<dyn ErasedBackend<T>>,
}

impl<T: 'static> SessionSource<T> {
    /// The source of type `T` behind a slot's erased `origin`, borrowed
    /// where the slot keeps it.
    pub(crate) fn of(origin: &Arc<dyn SessionOrigin>) -> Option<&Self> {
        (&**origin as &dyn Any).downcast_ref()
    }
}

impl<T: 'static> SessionOrigin for SessionSource<T> {
    fn keys(&self) -> &Arc<KeyRing> {
        &self.config.keys
    }
}

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

/// What the request keeps, and what is left to do, when a load starts.
enum Start<T> {
    /// The request already keeps the session, open or on its way.
    Kept(Arc<Shared<T>>),
    /// The request keeps no session yet: keep this one.
    New(Arc<Shared<T>>),
}

impl<T: SessionData> Opening<T> {
    /// Starts opening the session of type `T` of the current request, whose
    /// headers are `headers`; `None` if no layer for `T` is running this
    /// code. The request keeps the session from here on. A cookie session
    /// is decrypted right away; a store load is started, and finished by
    /// [`open`](Self::open).
    ///
    /// All of it runs in one borrow of the request's slot, so the layer's
    /// source is used where it is, without reference counting. Decoding
    /// runs the application's `Deserialize`; a load started from inside it
    /// finds no layer (`None`) rather than panicking.
    pub(crate) fn current(headers: &HeaderMap) -> Option<Self> {
        scope::with_current(|slot| open_in::<T>(slot, headers)).flatten()
    }

    /// The session, once its load (if it had to wait) is done.
    pub(crate) async fn open(self) -> Result<Session<T>, SessionError> {
        if let Some(load) = self.load {
            self.shared.fill(load.await?);
        }
        Ok(Session::from_shared(self.shared))
    }
}

impl<T> Opening<T> {
    /// The layer's configuration, for the extractor's error response.
    #[cfg(feature = "axum")]
    pub(crate) fn config(&self) -> &Arc<SessionConfig> {
        self.shared.config()
    }
}

/// Opens the session of type `T` in `slot`: the layer's own session first,
/// which needs no jar; then the sessions attached to the jar (a layer
/// nested in another shares the outer layer's jar).
fn open_in<T: SessionData>(slot: &mut Slot, headers: &HeaderMap) -> Option<Opening<T>> {
    let own = slot.own_session().and_then(|(origin, kept)| {
        let source = SessionSource::<T>::of(origin)?;
        let kept = kept.and_then(|kept| Arc::clone(kept).downcast::<Shared<T>>().ok());
        Some(start(source, kept, headers))
    });
    if let Some((start, load)) = own {
        let shared = match start {
            Start::Kept(kept) => kept,
            // The slot kept none a moment ago, in this same borrow.
            Start::New(shared) => {
                slot.keep_own_session(shared.clone());
                shared
            }
        };
        return Some(Opening { shared, load });
    }
    let jar = slot.force(headers);
    let entry = jar.session::<SessionSource<T>, Shared<T>>()?;
    let (start, load) = start(&entry.source, entry.loaded, headers);
    let shared = match start {
        Start::Kept(kept) => kept,
        Start::New(shared) => {
            let source: Erased = entry.source;
            let kept = jar.set_session(&source, Arc::clone(&shared));
            // Another load kept one first: it opens with this one's state
            // if it has none yet.
            kept.fill_from(&shared);
            kept
        }
    };
    Some(Opening { shared, load })
}

/// Starts the load of a session whose layer is `source`, unless the
/// request keeps it open already (`kept`).
fn start<T: SessionData>(
    source: &SessionSource<T>,
    kept: Option<Arc<Shared<T>>>,
    headers: &HeaderMap,
) -> (Start<T>, Option<PendingLoad<T>>) {
    match kept {
        Some(kept) if kept.is_opened() => (Start::Kept(kept), None),
        // Another load of this request is still on its way: this one loads
        // too, and whichever finishes first opens the session both share.
        Some(kept) => {
            let load = source.backend.load(&source.config, headers);
            (Start::Kept(kept), Some(pending(load)))
        }
        None => {
            let config = Arc::clone(&source.config);
            match source.backend.load(&source.config, headers) {
                MaybeReady::Ready(Some(Ok(state))) => {
                    (Start::New(Shared::opened(state, config)), None)
                }
                load => (Start::New(Shared::loading(config)), Some(pending(load))),
            }
        }
    }
}

impl<T> fmt::Debug for Opening<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Opening")
            .field("type", &std::any::type_name::<T>())
            .finish_non_exhaustive()
    }
}
