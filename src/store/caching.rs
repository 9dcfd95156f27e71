//! `CachingStore`: a fast cache in front of a persistent store.

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::sync::Arc;
use std::time::SystemTime;

use crate::store::{Breaker, OwnerIndex, Record, RecordKey, SessionStore, StoreError};

/// Serves loads from a cache (typically a [`MemoryStore`]) and sends every
/// write to the backing store first, then to the cache.
///
/// Compare-and-set and deletes always go to the backing store, so no write
/// is lost. A load that misses the cache while a write to the same session
/// runs on this instance (or a clone of it) never installs a stale copy:
/// the write moves a per-session generation, and the load fills the cache
/// only if the generation did not move. Loads, though, trust the cache:
/// **correct for a single instance only.** With several instances, one
/// would read its own cached copy after another changed the session; its
/// next save would then fail compare-and-set (a conflict, never a lost
/// update), but reads in between are stale. A cache failure is logged and
/// the backing store answers.
///
/// [`MemoryStore`]: crate::store::MemoryStore
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::store::{CachingStore, MemoryStore};
///
/// // In production the second store would be Redis, PostgreSQL or SQLite.
/// let store = CachingStore::new(MemoryStore::new().with_capacity(1_000), MemoryStore::new());
/// # let _ = store;
/// ```
#[derive(Debug, Clone)]
pub struct CachingStore<Cache, Store> {
    cache: Cache,
    store: Store,
    // Shared by clones: they share the cache, so they must see each
    // other's writes.
    generations: Arc<Generations>,
}

impl<Cache, Store> CachingStore<Cache, Store> {
    /// A store that caches `store`'s records in `cache`.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::store::{CachingStore, MemoryStore};
    ///
    /// let store = CachingStore::new(MemoryStore::new(), MemoryStore::new());
    /// # let _ = store;
    /// ```
    #[must_use]
    pub fn new(cache: Cache, store: Store) -> Self {
        Self {
            cache,
            store,
            generations: Arc::new(Generations::new()),
        }
    }
}

// Why a racing load never installs a stale copy.
//
// Every write moves its key's generation twice: before its store call and
// again once the store has answered, and only then updates the cache. A
// cache update (a load's refill of a miss, or a write's own refresh) notes
// the generation before the store call whose answer it installs, goes ahead
// only if the generation has not moved since (beyond the write's own second
// step), and looks once more after the update, dropping the copy if the
// generation moved meanwhile.
//
// Say a copy is stale: some write W reached the store after the store call
// the copy came from. W's second step comes after W's store call, so after
// the copy's generation was noted. If that step comes before the copy's
// last look, the look drops the copy. If it comes after, so does W's own
// cache update, which replaces or drops the copy (a refill deletes first),
// or, for a touch, moves its expiry to what the store now holds (guarded
// like a refill against other writes). Either way the stale copy does not
// stay. The first step alone would not
// do: a load could note the generation after W began, read the store before
// W's write landed, and fill the cache after W's refresh; the first step
// only spares loads already under way a fill that W would undo.
//
// Deleting a cached copy is always safe, so deletions go unguarded.

/// How many generation counters there are: a fixed 8 KiB per store
/// (shared by clones), however many sessions pass through.
const STRIPES: usize = 1024;

/// Per-key generations, striped: two keys that share a stripe only cost
/// each other a skipped fill.
struct Generations {
    stripes: [AtomicU64; STRIPES],
    /// Moved by `delete_by_owner`, which cannot name its keys; it counts
    /// in every key's generation.
    epoch: AtomicU64,
}

// SeqCst throughout: the argument above is about one order of events, and
// the cost is nothing next to a store round trip.
impl Generations {
    fn new() -> Self {
        Self {
            stripes: [const { AtomicU64::new(0) }; STRIPES],
            epoch: AtomicU64::new(0),
        }
    }

    fn stripe(&self, key: &RecordKey) -> &AtomicU64 {
        // A record key is a SHA-256 output: its first bytes are uniform.
        let [first, second, ..] = *key.as_bytes();
        &self.stripes[usize::from(u16::from_le_bytes([first, second])) % STRIPES]
    }

    /// The key's generation now. Both counters only grow, so their sum
    /// moves whenever either does.
    fn read(&self, key: &RecordKey) -> u64 {
        self.stripe(key)
            .load(SeqCst)
            .wrapping_add(self.epoch.load(SeqCst))
    }

    /// A write to `key` begins; returns the generation its own cache update
    /// must find, if no other write comes near it.
    fn begin(&self, key: &RecordKey) -> u64 {
        self.stripe(key).fetch_add(1, SeqCst);
        self.read(key).wrapping_add(1)
    }

    /// The write to `key` has had its answer from the store.
    fn end(&self, key: &RecordKey) {
        self.stripe(key).fetch_add(1, SeqCst);
    }
}

impl fmt::Debug for Generations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Generations")
            .field("stripes", &STRIPES)
            .finish_non_exhaustive()
    }
}

impl<Cache: SessionStore, Store: SessionStore> CachingStore<Cache, Store> {
    /// Replaces the cached copy; a failing cache only costs speed.
    async fn refresh(&self, key: &RecordKey, record: Option<&Record>) {
        let result = async {
            self.cache.delete(key).await?;
            if let Some(record) = record {
                self.cache.create(key, record).await?;
            }
            Ok::<_, crate::store::StoreError>(())
        }
        .await;
        if let Err(error) = result {
            tracing::warn!(%error, "session cache update failed; dropping the cached copy");
            let _ = self.cache.delete(key).await;
        }
    }

    /// Runs `update` on the cache only while `key`'s generation is `seen`,
    /// and drops the cached copy unless the update happened and the
    /// generation still had not moved after it.
    async fn update_if_current(
        &self,
        key: &RecordKey,
        seen: u64,
        update: impl Future<Output = bool>,
    ) {
        let current = self.generations.read(key) == seen
            && update.await
            && self.generations.read(key) == seen;
        if !current {
            self.refresh(key, None).await;
        }
    }

    /// A refill, as an update for `update_if_current`: it always counts as
    /// done, since a failing cache already dropped its copy.
    async fn fill(&self, key: &RecordKey, record: &Record) -> bool {
        self.refresh(key, Some(record)).await;
        true
    }
}

impl<Cache: SessionStore, Store: SessionStore> SessionStore for CachingStore<Cache, Store> {
    async fn create(&self, key: &RecordKey, record: &Record) -> Result<bool, StoreError> {
        let mine = self.generations.begin(key);
        let created = self.store.create(key, record).await;
        self.generations.end(key);
        if let Ok(true) = created {
            self.update_if_current(key, mine, self.fill(key, record))
                .await;
        }
        created
    }

    async fn load(&self, key: &RecordKey) -> Result<Option<Record>, StoreError> {
        match self.cache.load(key).await {
            Ok(Some(record)) => return Ok(Some(record)),
            Ok(None) => {}
            Err(error) => tracing::warn!(%error, "session cache load failed; asking the store"),
        }
        let seen = self.generations.read(key);
        let record = self.store.load(key).await?;
        if let Some(record) = &record {
            self.update_if_current(key, seen, self.fill(key, record))
                .await;
        }
        Ok(record)
    }

    async fn save(
        &self,
        key: &RecordKey,
        record: &Record,
        expected_version: u64,
    ) -> Result<bool, StoreError> {
        let mine = self.generations.begin(key);
        let saved = self.store.save(key, record, expected_version).await;
        self.generations.end(key);
        match &saved {
            Ok(true) => {
                self.update_if_current(key, mine, self.fill(key, record))
                    .await;
            }
            // A conflict means the cached copy is stale; an error means
            // nobody knows: either way, stop serving it.
            _ => self.refresh(key, None).await,
        }
        saved
    }

    async fn delete(&self, key: &RecordKey) -> Result<(), StoreError> {
        self.generations.begin(key);
        let deleted = self.store.delete(key).await;
        self.generations.end(key);
        self.refresh(key, None).await;
        deleted
    }

    async fn touch(&self, key: &RecordKey, expires_at: SystemTime) -> Result<bool, StoreError> {
        // A touch is a write too: a load racing it would cache the old
        // expiry.
        let mine = self.generations.begin(key);
        let touched = self.store.touch(key, expires_at).await;
        self.generations.end(key);
        match touched {
            Ok(true) => {
                let moved = async { self.cache.touch(key, expires_at).await.unwrap_or(false) };
                self.update_if_current(key, mine, moved).await;
            }
            _ => self.refresh(key, None).await,
        }
        touched
    }

    async fn delete_expired(&self) -> Result<u64, StoreError> {
        let _ = self.cache.delete_expired().await;
        self.store.delete_expired().await
    }

    /// The persistent store's: while it is down, the layer does not ask
    /// the cache either, as nothing read from it could be saved.
    fn breaker(&self) -> Option<&Breaker> {
        self.store.breaker()
    }
}

/// The cache and the store each end the owner's records; the owner's
/// records cannot be named one by one, so the generations move for all.
impl<Cache: OwnerIndex, Store: OwnerIndex> OwnerIndex for CachingStore<Cache, Store> {
    async fn delete_by_owner(&self, owner: &str) -> Result<u64, StoreError> {
        self.generations.epoch.fetch_add(1, SeqCst);
        let deleted = self.store.delete_by_owner(owner).await;
        self.generations.epoch.fetch_add(1, SeqCst);
        if let Err(error) = self.cache.delete_by_owner(owner).await {
            tracing::warn!(%error, "session cache delete by owner failed");
        }
        deleted
    }

    /// The store's list: it holds every record, the cache only some.
    async fn list_by_owner(&self, owner: &str) -> Result<Vec<(RecordKey, Record)>, StoreError> {
        self.store.list_by_owner(owner).await
    }
}
