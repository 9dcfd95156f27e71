//! `CachingStore`: a fast cache in front of a persistent store.

use std::time::SystemTime;

use crate::store::{Record, RecordKey, Result, SessionStore};

/// Serves loads from a cache (typically a [`MemoryStore`]) and sends every
/// write to the backing store first, then to the cache.
///
/// Compare-and-set and deletes always go to the backing store, so no write
/// is lost. Loads, though, trust the cache: **correct for a single
/// instance only.** With several instances, one would read its own cached
/// copy after another changed the session; its next save would then fail
/// compare-and-set (a conflict, never a lost update), but reads in between
/// are stale. A cache failure is logged and the backing store answers.
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
        Self { cache, store }
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
}

impl<Cache: SessionStore, Store: SessionStore> SessionStore for CachingStore<Cache, Store> {
    async fn create(&self, key: &RecordKey, record: &Record) -> Result<bool> {
        let created = self.store.create(key, record).await?;
        if created {
            self.refresh(key, Some(record)).await;
        }
        Ok(created)
    }

    async fn load(&self, key: &RecordKey) -> Result<Option<Record>> {
        match self.cache.load(key).await {
            Ok(Some(record)) => return Ok(Some(record)),
            Ok(None) => {}
            Err(error) => tracing::warn!(%error, "session cache load failed; asking the store"),
        }
        let record = self.store.load(key).await?;
        if let Some(record) = &record {
            self.refresh(key, Some(record)).await;
        }
        Ok(record)
    }

    async fn save(&self, key: &RecordKey, record: &Record, expected_version: u64) -> Result<bool> {
        let saved = self.store.save(key, record, expected_version).await;
        match &saved {
            Ok(true) => self.refresh(key, Some(record)).await,
            // A conflict means the cached copy is stale; an error means
            // nobody knows: either way, stop serving it.
            _ => self.refresh(key, None).await,
        }
        saved
    }

    async fn delete(&self, key: &RecordKey) -> Result<()> {
        let deleted = self.store.delete(key).await;
        self.refresh(key, None).await;
        deleted
    }

    async fn touch(&self, key: &RecordKey, expires_at: SystemTime) -> Result<bool> {
        let touched = self.store.touch(key, expires_at).await;
        let cached = match touched {
            Ok(true) => self.cache.touch(key, expires_at).await.unwrap_or(false),
            _ => false,
        };
        if !cached {
            self.refresh(key, None).await;
        }
        touched
    }

    async fn delete_by_owner(&self, owner: &str) -> Result<u64> {
        let deleted = self.store.delete_by_owner(owner).await;
        if let Err(error) = self.cache.delete_by_owner(owner).await {
            tracing::warn!(%error, "session cache delete by owner failed");
        }
        deleted
    }

    async fn delete_expired(&self) -> Result<u64> {
        let _ = self.cache.delete_expired().await;
        self.store.delete_expired().await
    }
}
