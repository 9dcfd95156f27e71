//! The session of a request, opened only when a handler asks.

use std::fmt;
use std::sync::Arc;

use http::HeaderMap;

use crate::cookies::scope::{self, Erased, SessionOrigin, Slot};
use crate::cookies::Cookies;
use crate::key::KeyRing;
use crate::session::backend::{ErasedBackend, MaybeReady};
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

impl<T: 'static> SessionOrigin for SessionSource<T> {
    fn keys(&self) -> &Arc<KeyRing> {
        &self.config.keys
    }
}

/// A session of type `T` on its way to the handler: already kept by the
/// request, and loaded once its load (if any) completes.
pub(crate) struct Opening<T> {
    config: Arc<SessionConfig>,
    shared: Arc<Shared<T>>,
    /// The store's answer, when it had to wait; `None` when `shared` is
    /// opened already.
    load: Option<MaybeReady<Result<State<T>, SessionError>>>,
}

/// Where the current request keeps the session of type `T`.
enum Place {
    /// The slot of the layer for `T`, which has built no jar.
    Slot,
    /// The request's jar.
    Jar(Cookies),
}

/// The layer for `T` of the current request, where it keeps its session,
/// and the session if one is kept.
struct Found<T> {
    source: Arc<SessionSource<T>>,
    place: Place,
    kept: Option<Arc<Shared<T>>>,
}

impl<T: SessionData> Opening<T> {
    /// Starts opening the session of type `T` of the current request, whose
    /// headers are `headers`; `None` if no layer for `T` is running this
    /// code. The request keeps the session from here on. A cookie session
    /// is decrypted right away; a store load is started, and finished by
    /// [`open`](Self::open).
    pub(crate) fn current(headers: &HeaderMap) -> Option<Self> {
        let found = scope::with_current(|slot| find::<T>(slot, headers)).flatten()?;
        let config = Arc::clone(&found.source.config);
        if let Some(kept) = &found.kept {
            if kept.is_opened() {
                let shared = Arc::clone(kept);
                return Some(Self {
                    config,
                    shared,
                    load: None,
                });
            }
        }
        // Outside the slot's borrow: decoding runs the application's
        // `Deserialize`.
        let load = found.source.backend.load(&config, headers);
        let (shared, load) = match (found.kept, load) {
            // Another load of this request is still on its way: whichever
            // finishes first opens the session both share.
            (Some(kept), load) => (kept, Some(load)),
            (None, MaybeReady::Ready(Some(Ok(state)))) => {
                let opened = Shared::opened(state, Arc::clone(&config));
                let kept = keep(&found.source, found.place, Arc::clone(&opened), headers);
                kept.fill_from(&opened);
                (kept, None)
            }
            (None, load) => {
                let loading = Shared::loading(Arc::clone(&config));
                let kept = keep(&found.source, found.place, loading, headers);
                (kept, Some(load))
            }
        };
        Some(Self {
            config,
            shared,
            load,
        })
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
    pub(crate) fn config(&self) -> &Arc<SessionConfig> {
        &self.config
    }
}

/// Looks for the layer for `T` in `slot`: its own session first, which
/// needs no jar; then the sessions attached to the jar (a layer nested in
/// another shares the outer layer's jar).
fn find<T: SessionData>(slot: &mut Slot, headers: &HeaderMap) -> Option<Found<T>> {
    if let Some((origin, kept)) = slot.own_session() {
        let origin: Erased = origin.clone();
        if let Ok(source) = origin.downcast::<SessionSource<T>>() {
            let kept = kept.and_then(|kept| Arc::clone(kept).downcast::<Shared<T>>().ok());
            return Some(Found {
                source,
                place: Place::Slot,
                kept,
            });
        }
    }
    let jar = slot.force(headers);
    let entry = jar.session::<SessionSource<T>, Shared<T>>()?;
    Some(Found {
        source: entry.source,
        place: Place::Jar(jar),
        kept: entry.loaded,
    })
}

/// Keeps `shared` as the request's session of type `T`, unless one is kept
/// already; returns the one that stays.
fn keep<T: SessionData>(
    source: &Arc<SessionSource<T>>,
    place: Place,
    shared: Arc<Shared<T>>,
    headers: &HeaderMap,
) -> Arc<Shared<T>> {
    let source: Erased = source.clone();
    let jar = match place {
        Place::Jar(jar) => jar,
        Place::Slot => {
            let kept = scope::with_current(|slot| {
                if slot.own_session().is_some() {
                    let erased: Erased = shared.clone();
                    Ok(slot.keep_own_session(erased))
                } else {
                    // Something built the jar meanwhile, and the session
                    // belongs there now.
                    Err(slot.force(headers))
                }
            });
            match kept {
                Some(Ok(kept)) => return kept.downcast().unwrap_or(shared),
                Some(Err(jar)) => jar,
                // Never so: the slot was current a moment ago, in this call.
                None => return shared,
            }
        }
    };
    jar.set_session(&source, shared)
}

impl<T> fmt::Debug for Opening<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Opening")
            .field("type", &std::any::type_name::<T>())
            .finish_non_exhaustive()
    }
}
