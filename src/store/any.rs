//! `AnyStore`: any store behind one type, chosen at run time.
//!
//! [`SessionStore`] returns `impl Future`, which keeps each store's calls
//! free of boxing but makes the trait unusable as `dyn`. `DynStore` is
//! the same operations with boxed futures; `AnyStore` holds one behind an
//! `Arc` and is a `SessionStore` again, so an application has one layer
//! type whichever store its configuration names.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::store::{Breaker, OwnerIndex, Record, RecordKey, SessionStore, StoreError};

/// A boxed store future.
type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// An owner's records, as `list_by_owner` returns them.
type Owned = Vec<(RecordKey, Record)>;

/// [`SessionStore`] and [`OwnerIndex`] as an object-safe trait; see
/// [`AnyStore`].
trait DynStore: Send + Sync + 'static {
    fn create<'a>(&'a self, key: &'a RecordKey, record: &'a Record) -> BoxFuture<'a, bool>;
    fn load<'a>(&'a self, key: &'a RecordKey) -> BoxFuture<'a, Option<Record>>;
    fn save<'a>(
        &'a self,
        key: &'a RecordKey,
        record: &'a Record,
        expected: u64,
    ) -> BoxFuture<'a, bool>;
    fn delete<'a>(&'a self, key: &'a RecordKey) -> BoxFuture<'a, ()>;
    fn touch<'a>(&'a self, key: &'a RecordKey, expires_at: SystemTime) -> BoxFuture<'a, bool>;
    fn delete_expired(&self) -> BoxFuture<'_, u64>;
    fn is_trusted(&self) -> bool;
    fn breaker(&self) -> Option<&Breaker>;
    /// `None` when the store has no owner index.
    fn delete_by_owner<'a>(&'a self, owner: &'a str) -> Option<BoxFuture<'a, u64>>;
    /// `None` when the store has no owner index.
    fn list_by_owner<'a>(&'a self, owner: &'a str) -> Option<BoxFuture<'a, Owned>>;
    fn has_owner_index(&self) -> bool;
    fn name(&self) -> &'static str;
}

/// A store without an owner index.
struct Plain<S>(S);

/// A store with one.
struct Indexed<S>(S);

/// The operations both adapters forward alike.
macro_rules! forward_store {
    () => {
        fn create<'a>(&'a self, key: &'a RecordKey, record: &'a Record) -> BoxFuture<'a, bool> {
            Box::pin(self.0.create(key, record))
        }
        fn load<'a>(&'a self, key: &'a RecordKey) -> BoxFuture<'a, Option<Record>> {
            Box::pin(self.0.load(key))
        }
        fn save<'a>(
            &'a self,
            key: &'a RecordKey,
            record: &'a Record,
            expected: u64,
        ) -> BoxFuture<'a, bool> {
            Box::pin(self.0.save(key, record, expected))
        }
        fn delete<'a>(&'a self, key: &'a RecordKey) -> BoxFuture<'a, ()> {
            Box::pin(self.0.delete(key))
        }
        fn touch<'a>(&'a self, key: &'a RecordKey, expires_at: SystemTime) -> BoxFuture<'a, bool> {
            Box::pin(self.0.touch(key, expires_at))
        }
        fn delete_expired(&self) -> BoxFuture<'_, u64> {
            Box::pin(self.0.delete_expired())
        }
        fn is_trusted(&self) -> bool {
            self.0.is_trusted()
        }
        fn breaker(&self) -> Option<&Breaker> {
            self.0.breaker()
        }
        fn name(&self) -> &'static str {
            std::any::type_name::<S>()
        }
    };
}

impl<S: SessionStore> DynStore for Plain<S> {
    forward_store!();

    fn delete_by_owner<'a>(&'a self, _: &'a str) -> Option<BoxFuture<'a, u64>> {
        None
    }

    fn list_by_owner<'a>(&'a self, _: &'a str) -> Option<BoxFuture<'a, Owned>> {
        None
    }

    fn has_owner_index(&self) -> bool {
        false
    }
}

impl<S: OwnerIndex> DynStore for Indexed<S> {
    forward_store!();

    fn delete_by_owner<'a>(&'a self, owner: &'a str) -> Option<BoxFuture<'a, u64>> {
        Some(Box::pin(self.0.delete_by_owner(owner)))
    }

    fn list_by_owner<'a>(&'a self, owner: &'a str) -> Option<BoxFuture<'a, Owned>> {
        Some(Box::pin(self.0.list_by_owner(owner)))
    }

    fn has_owner_index(&self) -> bool {
        true
    }
}

/// Any store, as one type: for an application that picks its store at run
/// time ([`connect`](crate::store::connect) returns one).
///
/// It forwards every call, [`is_trusted`](SessionStore::is_trusted) and
/// [`breaker`](SessionStore::breaker) to the store inside, and claims nothing that store lacks: made with
/// [`AnyStore::new`], [`OwnerIndex::delete_by_owner`] answers
/// [`StoreError::Unsupported`]; made with [`AnyStore::with_owner_index`]
/// (for stores that have one) it forwards. Each call boxes its future,
/// which costs a small allocation beside the store's own work (measured in
/// `benches/stores.rs`). Clones share the store.
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::store::{AnyStore, MemoryStore};
/// use tower_cookie_sessions::{Key, SessionLayer};
///
/// # fn main() -> Result<(), tower_cookie_sessions::ConfigError> {
/// let store = AnyStore::with_owner_index(MemoryStore::new());
/// assert!(store.has_owner_index());
/// let layer = SessionLayer::<u64, _>::store_builder(Key::generate(), store).build()?;
/// # let _ = layer;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct AnyStore {
    inner: Arc<dyn DynStore>,
}

impl AnyStore {
    /// `store`, without its owner lookups: for a store that has none.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::store::{AnyStore, MemoryStore, OwnerIndex, StoreError};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let store = AnyStore::new(MemoryStore::new());
    /// assert!(matches!(store.delete_by_owner("ada").await, Err(StoreError::Unsupported(_))));
    /// # }
    /// ```
    pub fn new<S: SessionStore>(store: S) -> Self {
        Self {
            inner: Arc::new(Plain(store)),
        }
    }

    /// `store`, with its owner lookups.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::store::{AnyStore, MemoryStore, OwnerIndex};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let store = AnyStore::with_owner_index(MemoryStore::new());
    /// assert_eq!(store.delete_by_owner("ada").await?, 0);
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_owner_index<S: OwnerIndex>(store: S) -> Self {
        Self {
            inner: Arc::new(Indexed(store)),
        }
    }

    /// Whether [`delete_by_owner`](OwnerIndex::delete_by_owner) reaches an
    /// owner index.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::store::{AnyStore, MemoryStore};
    ///
    /// assert!(!AnyStore::new(MemoryStore::new()).has_owner_index());
    /// ```
    #[must_use]
    pub fn has_owner_index(&self) -> bool {
        self.inner.has_owner_index()
    }

    /// Deletes expired records every `every`, for stores that do not
    /// expire them on their own (the SQL stores; for the others this does
    /// nothing useful but no harm). Spawn it once per process.
    ///
    /// # Panics
    ///
    /// If `every` is zero.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_cookie_sessions::store::{AnyStore, MemoryStore};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let store = AnyStore::new(MemoryStore::new());
    /// tokio::spawn(store.cleanup_task(Duration::from_secs(600)));
    /// # }
    /// ```
    pub fn cleanup_task(&self, every: Duration) -> impl Future<Output = ()> + Send + 'static {
        crate::store::cleanup::cleanup_task(self.clone(), every, self.inner.name())
    }
}

impl SessionStore for AnyStore {
    async fn create(&self, key: &RecordKey, record: &Record) -> Result<bool, StoreError> {
        self.inner.create(key, record).await
    }

    async fn load(&self, key: &RecordKey) -> Result<Option<Record>, StoreError> {
        self.inner.load(key).await
    }

    async fn save(
        &self,
        key: &RecordKey,
        record: &Record,
        expected_version: u64,
    ) -> Result<bool, StoreError> {
        self.inner.save(key, record, expected_version).await
    }

    async fn delete(&self, key: &RecordKey) -> Result<(), StoreError> {
        self.inner.delete(key).await
    }

    async fn touch(&self, key: &RecordKey, expires_at: SystemTime) -> Result<bool, StoreError> {
        self.inner.touch(key, expires_at).await
    }

    async fn delete_expired(&self) -> Result<u64, StoreError> {
        self.inner.delete_expired().await
    }

    fn is_trusted(&self) -> bool {
        self.inner.is_trusted()
    }

    fn breaker(&self) -> Option<&Breaker> {
        self.inner.breaker()
    }
}

impl OwnerIndex for AnyStore {
    async fn delete_by_owner(&self, owner: &str) -> Result<u64, StoreError> {
        match self.inner.delete_by_owner(owner) {
            Some(future) => future.await,
            None => Err(StoreError::Unsupported(NO_OWNER_INDEX)),
        }
    }

    async fn list_by_owner(&self, owner: &str) -> Result<Owned, StoreError> {
        match self.inner.list_by_owner(owner) {
            Some(future) => future.await,
            None => Err(StoreError::Unsupported(NO_OWNER_INDEX)),
        }
    }
}

const NO_OWNER_INDEX: &str = "this store has no owner index";

impl fmt::Debug for AnyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnyStore")
            .field("store", &self.inner.name())
            .field("owner_index", &self.has_owner_index())
            .finish()
    }
}
