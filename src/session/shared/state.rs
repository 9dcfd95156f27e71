//! A request's session: what it holds while the request runs, what
//! happened to it, and the one place its handles share.
//!
//! The request's state keeps a [`Shared`] for each session layer whose
//! session a handler opened, under that layer's registration; every
//! `Session<T>` handle of the request points at it, and the layer's
//! response future commits it.

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError};
use std::time::Duration;

use parking_lot::lock_api::GetThreadId;
use parking_lot::RawThreadId;

use crate::session::client::chunks::Carried;
use crate::session::shared::config::SessionConfig;
use crate::session::shared::plaintext::Deadlines;
use crate::session::store::device::Origin;
use crate::session::SessionData;

/// What the handles of one request's session share. The request keeps it
/// from the moment a load starts, so a store that has to wait fills it in
/// place.
pub(crate) struct Shared<T> {
    state: Mutex<State<T>>,
    /// The thread holding `state`, zero when none: a handle used again on
    /// that thread, from inside `read` or `update`, would wait for itself
    /// forever.
    holder: AtomicUsize,
    config: Arc<SessionConfig>,
    /// The state was loaded: a handle may be given out and the response
    /// commits it. `false` only while a store load is on its way, or after
    /// it failed.
    opened: AtomicBool,
    /// A change panicked half-way: the session is never saved.
    poisoned: AtomicBool,
    /// The request's `session` span; `None` unless `debug` is on, so that
    /// the common request has nothing to drop.
    span: Option<tracing::Span>,
}

impl<T: SessionData> Shared<T> {
    /// A session whose state is loaded.
    pub(crate) fn opened(
        state: State<T>,
        config: Arc<SessionConfig>,
        span: Option<tracing::Span>,
    ) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(state),
            holder: AtomicUsize::new(0),
            config,
            opened: AtomicBool::new(true),
            poisoned: AtomicBool::new(false),
            span,
        })
    }

    /// A session whose load is on its way; [`fill`](Self::fill) opens it.
    pub(crate) fn loading(config: Arc<SessionConfig>, span: Option<tracing::Span>) -> Arc<Self> {
        Arc::new(Self {
            // Never read: no handle is given out and nothing is committed
            // until the session is opened.
            state: Mutex::new(State::fresh(&config, 0)),
            holder: AtomicUsize::new(0),
            config,
            opened: AtomicBool::new(false),
            poisoned: AtomicBool::new(false),
            span,
        })
    }

    /// Forgets a change that changed nothing: when the data encodes to the
    /// bytes it was loaded as, the session is not saved (a due refresh
    /// still moves its expiry), so two requests that only looked through
    /// `update` never conflict.
    pub(crate) fn settle(&self) {
        let mut state = self.lock();
        if !state.status.modified {
            return;
        }
        let unchanged = state.as_loaded.as_ref().is_some_and(|loaded| {
            crate::codec::same_encoding(self.config.codec, loaded, &state.data)
        });
        if unchanged {
            state.status.modified = false;
            state.status.replaced = false;
        }
    }

    /// Opens the session with `state`, unless another load opened it
    /// first: two loads in one request share the first one's session.
    pub(crate) fn fill(&self, state: State<T>) {
        let mut kept = self.lock();
        if !self.is_opened() {
            *kept = state;
            self.opened.store(true, Ordering::Release);
        }
    }
}

impl<T> Shared<T> {
    /// The request's `session` span.
    pub(crate) fn span(&self) -> Option<&tracing::Span> {
        self.span.as_ref()
    }

    pub(crate) fn is_opened(&self) -> bool {
        self.opened.load(Ordering::Acquire)
    }

    /// Marks the session as changed by code that panicked: whatever it
    /// left is not what the handler meant, so nothing of it is saved.
    pub(crate) fn poison(&self) {
        self.poisoned.store(true, Ordering::Release);
    }

    pub(crate) fn is_poisoned(&self) -> bool {
        self.poisoned.load(Ordering::Acquire)
    }

    /// The state, once no other thread holds it.
    ///
    /// # Panics
    ///
    /// When this thread holds it already: a handle used from inside the
    /// closure of `read`, `update` or `set` on the same session. Waiting
    /// would hang the request for good.
    pub(crate) fn lock(&self) -> Locked<'_, T> {
        let me = RawThreadId::INIT.nonzero_thread_id().get();
        let guard = match self.state.try_lock() {
            Ok(guard) => guard,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => {
                // Only this thread writes its own id, and it clears it
                // before letting go: seeing it means holding the lock.
                if self.holder.load(Ordering::Relaxed) == me {
                    panic!(
                        "`Session<{}>` used again from inside its own `read`, `update` or `set` \
                         closure; the session is locked while the closure runs, so take what \
                         the closure needs before calling it, or use the `&T`/`&mut T` it is \
                         given",
                        std::any::type_name::<T>()
                    );
                }
                lock(&self.state)
            }
        };
        self.holder.store(me, Ordering::Relaxed);
        Locked {
            guard,
            holder: &self.holder,
        }
    }

    /// The state, unless a handle holds it right now.
    pub(crate) fn try_lock(&self) -> Option<MutexGuard<'_, State<T>>> {
        self.state.try_lock().ok()
    }

    pub(crate) fn config(&self) -> &Arc<SessionConfig> {
        &self.config
    }
}

/// The locked state of a session; forgets its thread when dropped.
pub(crate) struct Locked<'a, T> {
    guard: MutexGuard<'a, State<T>>,
    holder: &'a AtomicUsize,
}

impl<T> Drop for Locked<'_, T> {
    fn drop(&mut self) {
        // Runs before `guard` unlocks.
        self.holder.store(0, Ordering::Relaxed);
    }
}

impl<T> Deref for Locked<'_, T> {
    type Target = State<T>;

    fn deref(&self) -> &State<T> {
        &self.guard
    }
}

impl<T> DerefMut for Locked<'_, T> {
    fn deref_mut(&mut self) -> &mut State<T> {
        &mut self.guard
    }
}

/// A handler that panicked while holding the lock left valid data behind
/// (every change is a plain assignment), so keep serving it.
fn lock<T>(state: &Mutex<T>) -> MutexGuard<'_, T> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A loaded session: its data, its deadlines and its history in this
/// request.
#[derive(Debug, Clone)]
pub(crate) struct State<T> {
    pub(crate) data: T,
    pub(crate) deadlines: Deadlines,
    pub(crate) status: Status,
    /// The owner tag server-side stores keep with the record.
    pub(crate) owner: Option<String>,
    /// Where the session lives in a store; `None` for client-side sessions.
    /// Boxed so client-side state stays small: it is moved several times
    /// on its way from the cookie into the handle.
    pub(crate) record: Option<Box<RecordState<T>>>,
    /// When this request opened the session (Unix seconds). Its commit
    /// judges deadlines by the same time, so a request reads the clock once.
    pub(crate) opened_at: u64,
    /// The data as loaded, kept by the first `update` of the request so a
    /// closure that panics half-way can be undone.
    pub(crate) as_loaded: Option<T>,
    /// Which of a client-side session's cookies the request carried, so
    /// the response removes those the browser no longer needs.
    pub(crate) cookies: Carried,
}

/// A server-side session's place in its store.
#[derive(Debug, Clone)]
pub(crate) struct RecordState<T> {
    /// The session id; `None` until the session is first saved.
    pub(crate) id: Option<SessionId>,
    /// The record version this request loaded (0 when there is none).
    pub(crate) version: u64,
    /// The data as loaded, kept only when a merge policy needs it.
    pub(crate) original: Option<T>,
    /// The store could not be reached and the layer carries on: this
    /// session is never saved.
    pub(crate) detached: bool,
    /// The stored record was corrupt or of an old schema: overwrite it.
    pub(crate) replace: bool,
    /// The device the record names, once it is stored: a renewal keeps
    /// it, a destroyed session loses it.
    pub(crate) device: Option<Origin>,
    /// The application's label for the device, sealed with the record.
    pub(crate) label: Option<String>,
}

/// A server-side session id: 128 bits from the operating system's CSPRNG.
pub(crate) type SessionId = [u8; 16];

impl<T> RecordState<T> {
    pub(crate) fn new() -> Self {
        Self {
            id: None,
            version: 0,
            original: None,
            detached: false,
            replace: false,
            device: None,
            label: None,
        }
    }
}

/// What happened to a session in this request; decides what the response
/// sends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Status {
    /// Loaded from a valid cookie or record, rather than started fresh.
    pub(crate) existed: bool,
    /// Opened with a key that no longer seals: send it again under the
    /// current key.
    pub(crate) reseal: bool,
    pub(crate) modified: bool,
    /// The whole data was replaced (`set` or `clear`), not changed in place.
    pub(crate) replaced: bool,
    pub(crate) renewed: bool,
    pub(crate) destroyed: bool,
    pub(crate) expiry_changed: bool,
    /// The request's cookie opened, but its session had ended (expired,
    /// or its record gone): the response removes the cookie unless a new
    /// session replaces it. A cookie that did not open is left alone, so
    /// nodes that lack a newly rotated-in key sign nobody out.
    pub(crate) ended: bool,
    /// Why the request's cookie did not give its session, when it sent
    /// one: for the request's `session` span.
    pub(crate) refused: Option<&'static str>,
}

impl Status {
    /// Whether the session must be sent again even if no refresh is due.
    pub(crate) fn is_dirty(&self) -> bool {
        self.modified || self.renewed || self.expiry_changed || self.reseal
    }

    /// What is left after a commit sent everything: a session that exists
    /// and has no changes, so committing it again would send nothing.
    pub(crate) fn saved() -> Self {
        Status {
            existed: true,
            ..Status::default()
        }
    }
}

impl<T: Default> State<T> {
    /// A new, empty session issued at `now`.
    pub(crate) fn fresh(config: &SessionConfig, now: u64) -> Self {
        Self {
            data: T::default(),
            deadlines: fresh_deadlines(config, now, config.persistent_by_default()),
            status: Status::default(),
            owner: None,
            record: None,
            opened_at: now,
            as_loaded: None,
            cookies: Carried::default(),
        }
    }
}

impl<T> State<T> {
    /// A session that was read back from a cookie or a record at `now`.
    pub(crate) fn loaded(data: T, deadlines: Deadlines, now: u64) -> Self {
        Self {
            data,
            deadlines,
            status: Status {
                existed: true,
                ..Status::default()
            },
            owner: None,
            record: None,
            opened_at: now,
            as_loaded: None,
            cookies: Carried::default(),
        }
    }
}

/// Deadlines for a session issued at `now`.
pub(crate) fn fresh_deadlines(config: &SessionConfig, now: u64, persistent: bool) -> Deadlines {
    let absolute = now.saturating_add(config.lifetime().as_secs());
    Deadlines {
        issued: now,
        absolute,
        idle: config
            .idle_timeout()
            .map(|idle| now.saturating_add(idle.as_secs()).min(absolute)),
        persistent,
    }
}

/// The idle deadline a request at `now` would give the session, if that
/// extends the one it has. Never past the absolute deadline.
pub(crate) fn extended_idle(deadlines: &Deadlines, idle: Duration, now: u64) -> Option<u64> {
    let current = deadlines.idle?;
    let extended = now.saturating_add(idle.as_secs()).min(deadlines.absolute);
    (extended > current).then_some(extended)
}

impl<T> State<T> {
    /// Whether this request should send a session it only read, to slide
    /// its inactivity deadline; a session started by this request has
    /// nothing to slide.
    pub(crate) fn refresh_due(&self, config: &SessionConfig, now: u64) -> bool {
        self.status.existed && refresh_due(config, &self.deadlines, now)
    }
}

/// Counts a request that sends the session as activity: slides the
/// inactivity deadline (never past the absolute one). Returns when the
/// session now ends, or `None` when it has already ended (an override set
/// a deadline in the past).
pub(crate) fn record_activity(
    config: &SessionConfig,
    deadlines: &mut Deadlines,
    now: u64,
) -> Option<u64> {
    if let Some(idle) = config.idle_timeout() {
        if let Some(extended) = extended_idle(deadlines, idle, now) {
            deadlines.idle = Some(extended);
        }
    }
    let expires = deadlines.expires();
    (expires > now).then_some(expires)
}

/// Whether enough of the idle window has passed that a request which only
/// read the session should still send it again, to slide the deadline.
pub(crate) fn refresh_due(config: &SessionConfig, deadlines: &Deadlines, now: u64) -> bool {
    let Some(idle) = config.idle_timeout() else {
        return false;
    };
    let Some(current) = deadlines.idle else {
        return false;
    };
    if extended_idle(deadlines, idle, now).is_none() {
        return false;
    }
    let window = idle.as_secs_f64();
    let refreshed_at = current.saturating_sub(idle.as_secs());
    let elapsed = now.saturating_sub(refreshed_at) as f64;
    elapsed >= window * config.refresh_fraction
}
