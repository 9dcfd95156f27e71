//! `MemoryStore`: sessions in this process's memory.

use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use self::slots::Inner;
use crate::clock::Clock;
use crate::store::{OwnerIndex, Record, RecordKey, SessionStore, StoreError};

/// How many sessions a [`MemoryStore`] keeps by default.
pub(crate) const DEFAULT_CAPACITY: usize = 100_000;

/// How many protected sessions one owner keeps by default.
const DEFAULT_PROTECTED_PER_OWNER: usize = 10;

/// Sessions in this process's memory, lost on restart and not shared
/// between instances: for development, tests, and single-instance services
/// that can afford to log everybody out on a deploy.
///
/// Bounded, and hard to flood: past its capacity (default 100,000) it
/// evicts by a segmented LRU. A new session starts on *probation*; its
/// second use (a load, save or touch) promotes it to the *protected*
/// segment, which holds at most 80% of the capacity (past that, its least
/// recently used record goes back to probation). Eviction takes the least
/// recently used record on probation first. So a client that opens
/// sessions it never comes back to (a bot on a page that writes the
/// session) churns through probation only, and cannot push out visitors
/// who keep using theirs. A create is never refused: a login always gets
/// its record. A record created with an owner (a signed-in session, see
/// [`Session::set_owner`](crate::Session::set_owner)) starts protected, as
/// if already used twice: only the application's sign-in gives a session
/// an owner, so a flood between a login and the user's next request cannot
/// evict that login.
///
/// One owner holds at most ten protected records (see
/// [`with_protected_per_owner`](MemoryStore::with_protected_per_owner)),
/// however they got there: past that, the owner's least recently used one
/// goes back to probation, where it is evicted before anyone else's
/// protected session. So a script signing in to one account over and over,
/// or one user's many devices, cannot push other signed-in users out.
///
/// Expired sessions are swept whenever one is inserted, so there is no
/// background task; requests that never write allocate nothing here.
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::store::MemoryStore;
/// use tower_cookie_sessions::{Key, SessionLayer};
///
/// # fn main() -> Result<(), tower_cookie_sessions::ConfigError> {
/// let store = MemoryStore::new().with_capacity(10_000);
/// let layer = SessionLayer::<Vec<String>>::store_builder(Key::generate(), store.clone()).build()?;
/// # let _ = layer;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct MemoryStore {
    inner: Arc<Mutex<Inner>>,
}

impl MemoryStore {
    /// An empty store holding at most 100,000 sessions.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::store::MemoryStore;
    ///
    /// let store = MemoryStore::new();
    /// assert_eq!(store.len(), 0);
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self {
            inner: Arc::default(),
        }
    }

    /// Sets how many sessions the store keeps (at least one); the protected
    /// segment holds at most 80% of them (see [`MemoryStore`]). Clones share
    /// the store, its capacity included: setting it on one sets it for all,
    /// and a lower capacity is reached by the evictions of the next create.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::store::MemoryStore;
    ///
    /// let store = MemoryStore::new().with_capacity(2);
    /// # let _ = store;
    /// ```
    #[must_use]
    pub fn with_capacity(self, capacity: usize) -> Self {
        self.lock().capacity = capacity.max(1);
        self
    }

    /// Sets how many protected records one owner holds at most (at least
    /// one; ten by default), for the store and every clone of it. Past it,
    /// the owner's least recently used protected record goes back to
    /// probation; a lowered bound is reached at the owner's next sign-in or
    /// use. Set it to the number of devices a user may keep signed in
    /// through a flood.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::store::MemoryStore;
    ///
    /// let store = MemoryStore::new().with_protected_per_owner(3);
    /// # let _ = store;
    /// ```
    #[must_use]
    pub fn with_protected_per_owner(self, limit: usize) -> Self {
        self.lock().protected_per_owner = limit.max(1);
        self
    }

    /// Sets the clock expiry is judged by (default the system clock), for
    /// the store and every clone of it.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::SystemTime;
    /// use tower_cookie_sessions::store::MemoryStore;
    ///
    /// let store = MemoryStore::new().with_clock(SystemTime::now);
    /// # let _ = store;
    /// ```
    #[must_use]
    pub fn with_clock(self, clock: impl Clock) -> Self {
        self.lock().clock = Arc::new(clock);
        self
    }

    /// How many sessions the store holds now, expired ones not yet swept
    /// included.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::store::MemoryStore;
    ///
    /// assert!(MemoryStore::new().is_empty());
    /// ```
    #[must_use]
    pub fn len(&self) -> usize {
        self.lock().records.len()
    }

    /// Whether the store holds no session.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::store::MemoryStore;
    ///
    /// assert!(MemoryStore::new().is_empty());
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every change below keeps the indexes consistent before it can
        // panic (allocation failure aside), so a poisoned lock is usable.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn create_now(&self, key: &RecordKey, record: &Record) -> bool {
        let mut inner = self.lock();
        let now = inner.clock.now();
        // `find` also removes an expired record under `key`. A create that
        // collides is not a use of the record already there.
        if inner.find(key, now).is_some() {
            return false;
        }
        inner.sweep(now);
        while inner.records.len() >= inner.capacity {
            if !inner.evict() {
                break;
            }
        }
        inner.insert(*key, record.clone());
        true
    }

    fn save_now(&self, key: &RecordKey, record: &Record, expected: u64) -> bool {
        let mut inner = self.lock();
        let now = inner.clock.now();
        let Some(index) = inner.live(key, now) else {
            return false;
        };
        if inner.record(index).map(|current| current.version) != Some(expected) {
            return false;
        }
        inner.overwrite(index, record);
        true
    }

    fn touch_now(&self, key: &RecordKey, expires_at: SystemTime) -> bool {
        let mut inner = self.lock();
        let now = inner.clock.now();
        let Some(index) = inner.live(key, now) else {
            return false;
        };
        inner.set_expiry(index, expires_at);
        true
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.lock();
        f.debug_struct("MemoryStore")
            .field("len", &inner.records.len())
            .field("capacity", &inner.capacity)
            .field("protected_per_owner", &inner.protected_per_owner)
            .finish()
    }
}

impl SessionStore for MemoryStore {
    /// Records live in this process's memory, where nobody outside it can
    /// read or change them: sealing them would cost time and buy nothing.
    fn is_trusted(&self) -> bool {
        true
    }

    fn create(
        &self,
        key: &RecordKey,
        record: &Record,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        std::future::ready(Ok(self.create_now(key, record)))
    }

    fn load(
        &self,
        key: &RecordKey,
    ) -> impl Future<Output = Result<Option<Record>, StoreError>> + Send {
        let mut inner = self.lock();
        let now = inner.clock.now();
        let record = inner
            .live(key, now)
            .and_then(|index| inner.record(index).cloned());
        std::future::ready(Ok(record))
    }

    fn save(
        &self,
        key: &RecordKey,
        record: &Record,
        expected_version: u64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        std::future::ready(Ok(self.save_now(key, record, expected_version)))
    }

    fn delete(&self, key: &RecordKey) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.lock().remove(key);
        std::future::ready(Ok(()))
    }

    fn touch(
        &self,
        key: &RecordKey,
        expires_at: SystemTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        std::future::ready(Ok(self.touch_now(key, expires_at)))
    }

    fn delete_expired(&self) -> impl Future<Output = Result<u64, StoreError>> + Send {
        let mut inner = self.lock();
        let now = inner.clock.now();
        std::future::ready(Ok(inner.sweep(now)))
    }
}

impl OwnerIndex for MemoryStore {
    fn delete_by_owner(&self, owner: &str) -> impl Future<Output = Result<u64, StoreError>> + Send {
        std::future::ready(Ok(self.lock().remove_owned_by(owner)))
    }

    fn list_by_owner(
        &self,
        owner: &str,
    ) -> impl Future<Output = Result<Vec<(RecordKey, Record)>, StoreError>> + Send {
        let inner = self.lock();
        let now = inner.clock.now();
        std::future::ready(Ok(inner.owned_by(owner, now)))
    }
}

mod slots;
#[cfg(test)]
mod tests;
