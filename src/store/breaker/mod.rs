//! `Breaker`: the circuit breaker that lets a layer answer at once while
//! its store is down.
//!
//! Closed, every call goes to the store. After a run of calls that could
//! not reach it (see [`OPEN_AFTER_UNREACHABLE`] and [`OPEN_AFTER`]) it
//! opens: calls fail with [`StoreError::CircuitOpen`] without being sent,
//! except one probe at a time, every [`PROBE_INTERVAL`], under a timeout of
//! at most [`PROBE_TIMEOUT`]. The first probe that gets an answer closes
//! it again.

use std::fmt;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::time::Instant;

use crate::store::StoreError;

/// Consecutive calls that failed to connect, or whose connection broke,
/// that open the breaker: one alone is a connection reset now and then,
/// which the next call's reconnection mends.
pub(crate) const OPEN_AFTER_UNREACHABLE: u32 = 2;

/// Consecutive failed calls of any kind, timeouts included, that open the
/// breaker: one slow call is not an outage.
pub(crate) const OPEN_AFTER: u32 = 3;

/// How long an open breaker refuses every call before it lets a probe
/// through, and again after each failed probe: often enough that a store
/// that is back is used within a fraction of a second, seldom enough that
/// a dead one is not hammered.
pub(crate) const PROBE_INTERVAL: Duration = Duration::from_millis(200);

/// The longest a probe may take (less if the layer's timeout is shorter):
/// while the store is down, the probe is the one request that waits.
pub(crate) const PROBE_TIMEOUT: Duration = Duration::from_millis(500);

/// A circuit breaker for one store, shared by every layer on that store.
///
/// Each store in this crate that talks to a server ([`RedisStore`],
/// [`PostgresStore`], [`MySqlStore`], [`SqliteStore`]) holds one, shared by
/// its clones, and hands it to the layer through
/// [`SessionStore::breaker`]; [`AnyStore`] and [`CachingStore`] pass on
/// their store's. A layer on a store without one keeps a breaker of its
/// own.
///
/// While the store answers, the breaker is closed and costs an atomic load
/// per store call. Two calls in a row that cannot reach the store
/// ([`StoreError::Unreachable`]: refused, reset or dropped connections), or
/// three failures of any kind in a row ([`StoreError::Timeout`] included),
/// open it. Open, the layer does not ask the store: a load answers the
/// layer's `503` at once (or, under
/// [`LoadFailure::ContinueEmpty`](crate::session::LoadFailure::ContinueEmpty),
/// an empty session that is not saved), and so does a save. Every 200 ms
/// one request is let through as a probe, under a timeout of at most
/// 500 ms; the first probe that gets an answer from the store closes the
/// breaker (a call sent before the breaker opened and answered after says
/// nothing about the store now, and does not). Errors about the data itself
/// ([`StoreError::Corrupt`]) and other errors the server answered with
/// ([`StoreError::Backend`]) count as answers.
///
/// [`RedisStore`]: crate::store::RedisStore
/// [`PostgresStore`]: crate::store::PostgresStore
/// [`MySqlStore`]: crate::store::MySqlStore
/// [`SqliteStore`]: crate::store::SqliteStore
/// [`AnyStore`]: crate::store::AnyStore
/// [`CachingStore`]: crate::store::CachingStore
/// [`SessionStore::breaker`]: crate::store::SessionStore::breaker
///
/// # Examples
///
/// A store of your own shares one between its clones, so that every
/// layer on it sees the same outage:
///
/// ```
/// use tower_cookie_sessions::store::Breaker;
///
/// #[derive(Clone, Default)]
/// struct MyStore {
///     breaker: Breaker,
///     // the client, shared by clones too
/// }
///
/// let store = MyStore::default();
/// let clone = store.clone();
/// assert!(!clone.breaker.is_open());
/// # let _ = store;
/// ```
///
/// and returns it from [`SessionStore::breaker`]; see there.
#[derive(Clone, Default)]
pub struct Breaker {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    /// All a closed breaker's callers read: bit 0 is set while it is open
    /// or probing, the rest counts how often it opened, so that a call
    /// made before an outage and answered after it cannot close it.
    word: AtomicU64,
    /// Failures in a row while closed. Counted under `state`'s lock; an
    /// answer resets it without the lock, and a reset lost to a racing
    /// failure only opens the breaker one failure early.
    streak: AtomicU32,
    state: Mutex<State>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum State {
    #[default]
    Closed,
    /// Refusing every call until `probe_at`, when the next one probes.
    Open { probe_at: Instant },
    /// One call is probing; every other is refused.
    Probing,
}

/// How a call's outcome bears on the store's health.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Health {
    /// The store answered, whatever it said.
    Answered,
    /// The call could not reach the store, or lost its connection.
    Unreachable,
    /// The call got no answer in time.
    TimedOut,
}

impl Health {
    /// The health an outcome shows.
    pub(crate) fn of(error: Option<&StoreError>) -> Self {
        match error {
            Some(StoreError::Unreachable(_)) => Health::Unreachable,
            Some(StoreError::Timeout) => Health::TimedOut,
            // `CircuitOpen` never reaches here: such a call was not made.
            _ => Health::Answered,
        }
    }
}

impl Breaker {
    /// A closed breaker of its own.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::store::Breaker;
    ///
    /// assert!(!Breaker::new().is_open());
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the breaker is open: recent calls could not reach the store,
    /// and layers answer without asking it until a call gets through. For
    /// a readiness check, say.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::store::{Breaker, MemoryStore, SessionStore};
    ///
    /// // A store in memory cannot be down, and has none.
    /// assert!(MemoryStore::new().breaker().is_none_or(|breaker| !breaker.is_open()));
    /// assert!(!Breaker::new().is_open());
    /// ```
    #[must_use]
    pub fn is_open(&self) -> bool {
        self.inner.word.load(Ordering::Acquire) & OPEN != 0
    }

    /// Lets a call go to the store: `None` when the breaker is open and
    /// the call must fail without being made.
    pub(crate) fn admit(&self) -> Option<Permit<'_>> {
        let inner = &*self.inner;
        let word = inner.word.load(Ordering::Acquire);
        if word & OPEN == 0 {
            return Some(Permit::new(inner, word, false));
        }
        let mut state = inner.state.lock();
        let word = inner.word.load(Ordering::Acquire);
        match *state {
            // Closed since the word was read.
            State::Closed => Some(Permit::new(inner, word, false)),
            State::Open { probe_at } if Instant::now() >= probe_at => {
                *state = State::Probing;
                Some(Permit::new(inner, word, true))
            }
            State::Open { .. } | State::Probing => None,
        }
    }
}

/// Bit 0 of [`Inner::word`]: open or probing.
const OPEN: u64 = 1;

impl Inner {
    /// The store answered a call admitted when the word was `admitted`.
    fn answered(&self, admitted: u64) {
        if self.streak.load(Ordering::Relaxed) != 0 {
            self.streak.store(0, Ordering::Relaxed);
        }
        let word = self.word.load(Ordering::Acquire);
        // Only a call admitted since the breaker last opened says the store
        // is back; one from before says only that it answered then.
        if word & OPEN != 0 && admitted | OPEN == word {
            let mut state = self.state.lock();
            if *state != State::Closed && self.word.load(Ordering::Acquire) == word {
                *state = State::Closed;
                self.word.store(word & !OPEN, Ordering::Release);
                tracing::info!("session store answers again; asking it on every request");
            }
        }
    }

    fn failed(&self, health: Health, probe: bool) {
        let mut state = self.state.lock();
        match *state {
            State::Closed => {
                let streak = self.streak.load(Ordering::Relaxed) + 1;
                let opens = streak >= OPEN_AFTER
                    || (health == Health::Unreachable && streak >= OPEN_AFTER_UNREACHABLE);
                if !opens {
                    self.streak.store(streak, Ordering::Relaxed);
                    return;
                }
                self.streak.store(0, Ordering::Relaxed);
                self.reopen(&mut state);
                tracing::warn!(
                    failures = streak,
                    "session store unreachable; answering without it until a probe gets through"
                );
            }
            State::Probing if probe => self.reopen(&mut state),
            // A call made before the breaker opened: the probe decides.
            State::Open { .. } | State::Probing => {}
        }
    }

    fn reopen(&self, state: &mut State) {
        *state = State::Open {
            probe_at: Instant::now() + PROBE_INTERVAL,
        };
        let word = self.word.load(Ordering::Acquire);
        if word & OPEN == 0 {
            // A new outage: calls admitted before it are from before it.
            self.word.store((word + 2) | OPEN, Ordering::Release);
        }
    }
}

/// A call the breaker let through; its outcome is reported with
/// [`record`](Permit::record).
pub(crate) struct Permit<'a> {
    inner: &'a Inner,
    /// The breaker's word when the call was admitted.
    admitted: u64,
    probe: bool,
    recorded: bool,
}

impl<'a> Permit<'a> {
    fn new(inner: &'a Inner, admitted: u64, probe: bool) -> Self {
        Self {
            inner,
            admitted,
            probe,
            recorded: false,
        }
    }

    /// Whether this call is the open breaker's probe.
    pub(crate) fn is_probe(&self) -> bool {
        self.probe
    }

    /// Reports how the call went.
    pub(crate) fn record(mut self, health: Health) {
        self.recorded = true;
        match health {
            Health::Answered => self.inner.answered(self.admitted),
            Health::Unreachable | Health::TimedOut => self.inner.failed(health, self.probe),
        }
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        // A probe whose request went away said nothing about the store:
        // the next call probes instead.
        if self.probe && !self.recorded {
            let mut state = self.inner.state.lock();
            if *state == State::Probing {
                *state = State::Open {
                    probe_at: Instant::now(),
                };
            }
        }
    }
}

impl fmt::Debug for Breaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match *self.inner.state.lock() {
            State::Closed => "closed",
            State::Open { .. } => "open",
            State::Probing => "probing",
        };
        f.debug_struct("Breaker").field("state", &state).finish()
    }
}

#[cfg(test)]
mod tests;
