//! `MemoryStore`: sessions in this process's memory.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;
use std::future::Future;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use crate::clock::{Clock, SystemClock};
use crate::store::{Record, RecordKey, Result, SessionStore};

/// How many sessions a [`MemoryStore`] keeps by default.
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::store::{MemoryStore, DEFAULT_CAPACITY};
///
/// let store = MemoryStore::new().with_capacity(DEFAULT_CAPACITY * 10);
/// # let _ = store;
/// ```
pub const DEFAULT_CAPACITY: usize = 100_000;

/// Sessions in this process's memory, lost on restart and not shared
/// between instances: for development, tests, and single-instance services
/// that can afford to log everybody out on a deploy.
///
/// Bounded: past its capacity (default 100,000) the least recently used
/// session is evicted. Expired sessions are swept whenever one is inserted,
/// so there is no background task; requests that never write allocate
/// nothing here.
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::store::MemoryStore;
/// use tower_cookie_sessions::{Key, SessionLayer};
///
/// # fn main() -> Result<(), tower_cookie_sessions::ConfigError> {
/// let store = MemoryStore::new().with_capacity(10_000);
/// let layer = SessionLayer::<Vec<String>>::new(Key::generate())?.with_store(store.clone());
/// # let _ = layer;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct MemoryStore {
    inner: Arc<Mutex<Inner>>,
    capacity: usize,
    clock: Arc<dyn Clock>,
}

#[derive(Default)]
struct Inner {
    records: HashMap<RecordKey, Entry, BuildHasherDefault<RecordKeyHasher>>,
    /// Least recently used first.
    recency: BTreeMap<u64, RecordKey>,
    /// Soonest expiry first.
    expiries: BTreeSet<(SystemTime, RecordKey)>,
    owners: HashMap<String, HashSet<RecordKey>>,
    tick: u64,
}

struct Entry {
    record: Record,
    used: u64,
}

/// Hashes a record key by its first eight bytes. A record key is already
/// the SHA-256 of a session id that this crate generated or authenticated,
/// so its bits are uniform and cannot be chosen by a client; SipHash's
/// protection against chosen keys would cost every lookup some 500
/// instructions for nothing.
#[derive(Default)]
struct RecordKeyHasher(u64);

impl Hasher for RecordKeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut word = [0u8; 8];
        let len = bytes.len().min(word.len());
        word[..len].copy_from_slice(&bytes[..len]);
        self.0 ^= u64::from_le_bytes(word);
    }

    // The slice's length prefix says nothing: every key is 32 bytes.
    fn write_usize(&mut self, _: usize) {}

    fn finish(&self) -> u64 {
        self.0
    }
}

impl MemoryStore {
    /// An empty store holding at most [`DEFAULT_CAPACITY`] sessions.
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
            capacity: DEFAULT_CAPACITY,
            clock: Arc::new(SystemClock),
        }
    }

    /// Sets how many sessions the store keeps before evicting the least
    /// recently used (at least one).
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
    pub fn with_capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity.max(1);
        self
    }

    /// Sets the clock expiry is judged by (default the system clock).
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
    pub fn with_clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
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
        let now = self.clock.now();
        let mut inner = self.lock();
        if inner.live(key, now).is_some() {
            return false;
        }
        inner.remove(key);
        inner.sweep(now);
        while inner.records.len() >= self.capacity {
            if !inner.evict_least_recent() {
                break;
            }
        }
        inner.insert(*key, record.clone());
        true
    }

    fn save_now(&self, key: &RecordKey, record: &Record, expected: u64) -> bool {
        let now = self.clock.now();
        let mut inner = self.lock();
        match inner.live(key, now) {
            Some(current) if current.version == expected => {
                inner.remove(key);
                inner.insert(*key, record.clone());
                true
            }
            _ => false,
        }
    }

    fn touch_now(&self, key: &RecordKey, expires_at: SystemTime) -> bool {
        let now = self.clock.now();
        let mut inner = self.lock();
        let Some(current) = inner.live(key, now) else {
            return false;
        };
        let record = Record {
            expires_at,
            ..current.clone()
        };
        inner.remove(key);
        inner.insert(*key, record);
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
        f.debug_struct("MemoryStore")
            .field("len", &self.len())
            .field("capacity", &self.capacity)
            .finish()
    }
}

impl Inner {
    /// The live record under `key`, marking it used.
    fn live(&mut self, key: &RecordKey, now: SystemTime) -> Option<&Record> {
        let expired = self.records.get(key)?.record.is_expired(now);
        if expired {
            self.remove(key);
            return None;
        }
        self.tick += 1;
        let tick = self.tick;
        let entry = self.records.get_mut(key)?;
        self.recency.remove(&entry.used);
        entry.used = tick;
        self.recency.insert(tick, *key);
        Some(&entry.record)
    }

    fn insert(&mut self, key: RecordKey, record: Record) {
        self.tick += 1;
        self.recency.insert(self.tick, key);
        self.expiries.insert((record.expires_at, key));
        if let Some(owner) = &record.owner {
            self.owners.entry(owner.clone()).or_default().insert(key);
        }
        self.records.insert(
            key,
            Entry {
                record,
                used: self.tick,
            },
        );
    }

    fn remove(&mut self, key: &RecordKey) -> Option<Record> {
        let entry = self.records.remove(key)?;
        self.recency.remove(&entry.used);
        self.expiries.remove(&(entry.record.expires_at, *key));
        if let Some(owner) = &entry.record.owner {
            if let Some(keys) = self.owners.get_mut(owner) {
                keys.remove(key);
                if keys.is_empty() {
                    self.owners.remove(owner);
                }
            }
        }
        Some(entry.record)
    }

    /// Removes every record expired at `now`; returns how many.
    fn sweep(&mut self, now: SystemTime) -> u64 {
        let mut swept = 0;
        while let Some(&(expires_at, key)) = self.expiries.first() {
            if expires_at > now {
                break;
            }
            self.remove(&key);
            swept += 1;
        }
        swept
    }

    fn evict_least_recent(&mut self) -> bool {
        let Some((_, key)) = self.recency.pop_first() else {
            return false;
        };
        // Put it back so `remove` finds every index entry in place.
        if let Some(entry) = self.records.get(&key) {
            self.recency.insert(entry.used, key);
        }
        self.remove(&key).is_some()
    }
}

impl SessionStore for MemoryStore {
    fn create(
        &self,
        key: &RecordKey,
        record: &Record,
    ) -> impl Future<Output = Result<bool>> + Send {
        std::future::ready(Ok(self.create_now(key, record)))
    }

    fn load(&self, key: &RecordKey) -> impl Future<Output = Result<Option<Record>>> + Send {
        let now = self.clock.now();
        std::future::ready(Ok(self.lock().live(key, now).cloned()))
    }

    fn save(
        &self,
        key: &RecordKey,
        record: &Record,
        expected_version: u64,
    ) -> impl Future<Output = Result<bool>> + Send {
        std::future::ready(Ok(self.save_now(key, record, expected_version)))
    }

    fn delete(&self, key: &RecordKey) -> impl Future<Output = Result<()>> + Send {
        self.lock().remove(key);
        std::future::ready(Ok(()))
    }

    fn touch(
        &self,
        key: &RecordKey,
        expires_at: SystemTime,
    ) -> impl Future<Output = Result<bool>> + Send {
        std::future::ready(Ok(self.touch_now(key, expires_at)))
    }

    fn delete_by_owner(&self, owner: &str) -> impl Future<Output = Result<u64>> + Send {
        let mut inner = self.lock();
        let keys = inner.owners.remove(owner).unwrap_or_default();
        let mut deleted = 0;
        for key in keys {
            if inner.remove(&key).is_some() {
                deleted += 1;
            }
        }
        std::future::ready(Ok(deleted))
    }

    fn delete_expired(&self) -> impl Future<Output = Result<u64>> + Send {
        let now = self.clock.now();
        std::future::ready(Ok(self.lock().sweep(now)))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn key(byte: u8) -> RecordKey {
        RecordKey::from_bytes([byte; 32])
    }

    fn record(seconds: u64) -> Record {
        Record::new(
            vec![1, 2, 3],
            SystemTime::now() + Duration::from_secs(seconds),
        )
    }

    #[test]
    fn least_recently_used_is_evicted_at_capacity() {
        let store = MemoryStore::new().with_capacity(2);
        assert!(store.create_now(&key(1), &record(60)));
        assert!(store.create_now(&key(2), &record(60)));
        // Using 1 makes 2 the least recently used.
        assert!(store.lock().live(&key(1), SystemTime::now()).is_some());
        assert!(store.create_now(&key(3), &record(60)));
        let mut inner = store.lock();
        assert!(inner.live(&key(1), SystemTime::now()).is_some());
        assert!(inner.live(&key(2), SystemTime::now()).is_none());
        assert!(inner.live(&key(3), SystemTime::now()).is_some());
        assert_eq!(inner.recency.len(), inner.records.len());
        assert_eq!(inner.expiries.len(), inner.records.len());
    }

    #[test]
    fn expired_records_are_swept_on_insert() {
        let store = MemoryStore::new();
        let expired = Record::new(vec![], SystemTime::now() - Duration::from_secs(1));
        store.lock().insert(key(1), expired);
        assert_eq!(store.len(), 1);
        assert!(store.create_now(&key(2), &record(60)));
        assert_eq!(store.len(), 1);
    }

    #[test]
    fn indexes_stay_consistent_through_every_operation() {
        let store = MemoryStore::new().with_capacity(3);
        for i in 0..10u8 {
            let owned = record(60).with_owner(Some(format!("user-{}", i % 2)));
            store.create_now(&key(i), &owned);
            store.touch_now(&key(i), SystemTime::now() + Duration::from_secs(120));
            store.save_now(&key(i), &owned.clone().with_version(2), 1);
        }
        let inner = store.lock();
        assert_eq!(inner.records.len(), 3);
        assert_eq!(inner.recency.len(), 3);
        assert_eq!(inner.expiries.len(), 3);
        let owned: usize = inner.owners.values().map(HashSet::len).sum();
        assert_eq!(owned, 3);
    }
}
