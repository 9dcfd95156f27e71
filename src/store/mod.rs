//! Server-side session stores.
//!
//! With a store, the cookie holds only a sealed random session id and the
//! session lives in the store, keyed by a hash of that id ([`RecordKey`]).
//! Pick a store when a session outgrows its cookies (8 KB by default), must
//! be revocable one by one, or must be shared by many service instances.
//! Handlers do not change: they still take a
//! [`Session<T>`](crate::Session).
//!
//! A store is one small trait over opaque bytes, [`SessionStore`]. Every
//! write is conditional: [`create`](SessionStore::create) only inserts an
//! absent record and [`save`](SessionStore::save) is compare-and-set on the
//! record's version, so two requests can never silently overwrite each
//! other's changes.
//!
//! # When the store is down
//!
//! A store call that fails or overruns the layer's
//! [`timeout`](crate::session::SessionLayerBuilder::timeout) (2 s by
//! default) answers `503 session store unavailable` (through
//! [`on_error`](crate::session::SessionLayerBuilder::on_error)), on load as
//! on save; under
//! [`LoadFailure::ContinueEmpty`](crate::session::LoadFailure::ContinueEmpty)
//! a failed load gives the handler an empty session that is never saved
//! instead. The visitor's cookie is kept, so the session is there again
//! once the store is. Only an error about the data (a record too large,
//! [`StoreError::Corrupt`]) is a `500`.
//!
//! So that an outage does not make every request wait out the timeout,
//! each store has a circuit breaker ([`Breaker`]), shared by every layer on
//! it: after two calls in a row that cannot reach the store, or three
//! failures of any kind in a row, layers answer at once without asking the
//! store, while one request at a time, every 200 ms, probes it under a
//! timeout of at most 500 ms. The first probe that gets an answer closes
//! the breaker.
//!
//! # Examples
//!
//! ```
//! use serde::{Deserialize, Serialize};
//! use tower_cookie_sessions::store::MemoryStore;
//! use tower_cookie_sessions::{Key, SessionLayer};
//!
//! #[derive(Clone, Default, Serialize, Deserialize)]
//! struct Cart {
//!     items: Vec<String>,
//! }
//!
//! # fn main() -> Result<(), tower_cookie_sessions::ConfigError> {
//! let layer = SessionLayer::<Cart>::store_builder(Key::generate(), MemoryStore::new()).build()?;
//! # let _ = layer;
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::future::Future;
use std::time::SystemTime;

use sha2::{Digest, Sha256};

use crate::syntax::hex_byte;

mod any;
pub(crate) mod breaker;
mod caching;
mod cleanup;
mod connect;
#[cfg(feature = "memory-store")]
mod memory;
#[cfg(feature = "mysql")]
mod mysql;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "redis")]
mod redis;
#[cfg(any(feature = "postgres", feature = "sqlite", feature = "mysql"))]
mod sql;
#[cfg(feature = "sqlite")]
mod sqlite;

pub use any::AnyStore;
pub use breaker::Breaker;
pub use caching::CachingStore;
pub use connect::{connect, ConnectError};
#[cfg(feature = "memory-store")]
pub use memory::MemoryStore;
#[cfg(feature = "mysql")]
pub use mysql::MySqlStore;
#[cfg(feature = "postgres")]
pub use postgres::PostgresStore;
#[cfg(feature = "redis")]
pub use redis::RedisStore;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;

/// What a store keeps for one session.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use tower_cookie_sessions::store::Record;
///
/// let record = Record::new(b"opaque".to_vec(), SystemTime::now() + Duration::from_secs(60));
/// assert_eq!(record.version, 1);
/// assert!(record.owner.is_none());
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Record {
    /// The encoded session: opaque to the store.
    pub data: Vec<u8>,
    /// When the record stops being valid. Stores may delete it from then on,
    /// and the layer refuses it even if a store still returns it.
    pub expires_at: SystemTime,
    /// Incremented by every save; [`SessionStore::save`] compares it.
    pub version: u64,
    /// An application tag such as a user id, so that
    /// [`OwnerIndex::delete_by_owner`] can end all of one user's sessions.
    pub owner: Option<String>,
}

impl Record {
    /// A first version of a record, with no owner.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::SystemTime;
    /// use tower_cookie_sessions::store::Record;
    ///
    /// let record = Record::new(Vec::new(), SystemTime::now()).with_owner(Some("user-7".into()));
    /// assert_eq!(record.owner.as_deref(), Some("user-7"));
    /// ```
    #[must_use]
    pub fn new(data: Vec<u8>, expires_at: SystemTime) -> Self {
        Self {
            data,
            expires_at,
            version: 1,
            owner: None,
        }
    }

    /// The same record with another owner tag.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::SystemTime;
    /// use tower_cookie_sessions::store::Record;
    ///
    /// let record = Record::new(Vec::new(), SystemTime::now()).with_owner(None);
    /// assert!(record.owner.is_none());
    /// ```
    #[must_use]
    pub fn with_owner(mut self, owner: Option<String>) -> Self {
        self.owner = owner;
        self
    }

    /// The same record at another version.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::SystemTime;
    /// use tower_cookie_sessions::store::Record;
    ///
    /// assert_eq!(Record::new(Vec::new(), SystemTime::now()).with_version(5).version, 5);
    /// ```
    #[must_use]
    pub fn with_version(mut self, version: u64) -> Self {
        self.version = version;
        self
    }

    /// Whether the record is past its expiry at `now`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use tower_cookie_sessions::store::Record;
    ///
    /// let now = SystemTime::now();
    /// assert!(Record::new(Vec::new(), now).is_expired(now));
    /// assert!(!Record::new(Vec::new(), now + Duration::from_secs(1)).is_expired(now));
    /// ```
    #[must_use]
    pub fn is_expired(&self, now: SystemTime) -> bool {
        self.expires_at <= now
    }
}

impl fmt::Debug for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Session data can hold tokens: show its size only.
        f.debug_struct("Record")
            .field("data", &format_args!("<{} bytes>", self.data.len()))
            .field("expires_at", &self.expires_at)
            .field("version", &self.version)
            .field("owner", &self.owner)
            .finish()
    }
}

/// The key a record is stored under: the SHA-256 of the session id.
///
/// The id itself never reaches the store, so a dump of the store yields no
/// cookie (and the cookie is sealed besides).
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::store::RecordKey;
///
/// let key = RecordKey::from_bytes([7; 32]);
/// assert_eq!(key.to_hex().len(), 64);
/// assert_eq!(RecordKey::from_hex(&key.to_hex()), Some(key));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordKey([u8; 32]);

impl RecordKey {
    /// The record key of a session id (the bytes sealed in the cookie).
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::store::RecordKey;
    ///
    /// assert_eq!(RecordKey::for_session_id(b"id"), RecordKey::for_session_id(b"id"));
    /// assert_ne!(RecordKey::for_session_id(b"id"), RecordKey::for_session_id(b"other"));
    /// ```
    #[must_use]
    pub fn for_session_id(id: &[u8]) -> Self {
        Self(Sha256::digest(id).into())
    }

    /// A key from its 32 bytes, as a store read it back.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::store::RecordKey;
    ///
    /// assert_eq!(RecordKey::from_bytes([1; 32]).as_bytes(), &[1; 32]);
    /// ```
    #[must_use]
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The key's 32 bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::store::RecordKey;
    ///
    /// assert_eq!(RecordKey::from_bytes([0; 32]).as_bytes().len(), 32);
    /// ```
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The key as 64 lowercase hex characters, for stores keyed by text.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::store::RecordKey;
    ///
    /// assert!(RecordKey::from_bytes([255; 32]).to_hex().starts_with("ffff"));
    /// ```
    #[must_use]
    pub fn to_hex(&self) -> String {
        use fmt::Write as _;
        let mut out = String::with_capacity(64);
        for byte in self.0 {
            // Writing to a String cannot fail.
            let _ = write!(out, "{byte:02x}");
        }
        out
    }

    /// Parses 64 hex characters back into a key.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::store::RecordKey;
    ///
    /// assert!(RecordKey::from_hex("zz").is_none());
    /// ```
    #[must_use]
    pub fn from_hex(text: &str) -> Option<Self> {
        let bytes = text.as_bytes();
        if bytes.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (slot, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
            *slot = hex_byte(pair[0], pair[1])?;
        }
        Some(Self(out))
    }
}

impl fmt::Debug for RecordKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RecordKey({})", &self.to_hex()[..12])
    }
}

/// A store could not do what was asked.
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::store::StoreError;
///
/// let error = StoreError::backend(std::io::Error::other("connection refused"));
/// assert_eq!(error.to_string(), "session store failed: connection refused");
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum StoreError {
    /// The store's client or server failed otherwise: the server refused
    /// the command, a configuration error. The server answered, so the
    /// circuit breaker does not count it.
    Backend(Box<dyn std::error::Error + Send + Sync>),
    /// The store could not be reached, or the connection broke: refused,
    /// reset or dropped mid-command, no connection to be had from a pool.
    /// What opens the store's [`Breaker`]: a store should return this
    /// rather than [`Backend`](StoreError::Backend) for such errors.
    Unreachable(Box<dyn std::error::Error + Send + Sync>),
    /// The operation took longer than the layer's store timeout.
    Timeout,
    /// Not tried: recent calls could not reach the store, and its
    /// [`Breaker`] is open until a probe gets an answer.
    CircuitOpen,
    /// The store returned something it could not have written.
    Corrupt(String),
    /// The store cannot do this at all (an [`AnyStore`] asked for owner
    /// lookups its store lacks); says what is missing.
    Unsupported(&'static str),
}

impl StoreError {
    /// Wraps a client error.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::store::StoreError;
    ///
    /// let error = StoreError::backend(std::io::Error::other("down"));
    /// assert!(matches!(error, StoreError::Backend(_)));
    /// ```
    pub fn backend(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        StoreError::Backend(Box::new(error))
    }

    /// Wraps a client error that says the store could not be reached or
    /// the connection broke.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::{Error, ErrorKind};
    /// use tower_cookie_sessions::store::StoreError;
    ///
    /// let error = StoreError::unreachable(Error::from(ErrorKind::ConnectionRefused));
    /// assert!(matches!(error, StoreError::Unreachable(_)));
    /// assert_eq!(error.to_string(), "session store unreachable: connection refused");
    /// ```
    pub fn unreachable(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        StoreError::Unreachable(Box::new(error))
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Backend(error) => write!(f, "session store failed: {error}"),
            StoreError::Unreachable(error) => write!(f, "session store unreachable: {error}"),
            StoreError::Timeout => f.write_str("session store timed out"),
            StoreError::CircuitOpen => {
                f.write_str("session store not asked: its recent calls failed (circuit open)")
            }
            StoreError::Corrupt(reason) => {
                write!(f, "session store returned a corrupt record: {reason}")
            }
            StoreError::Unsupported(what) => write!(f, "session store cannot do this: {what}"),
        }
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StoreError::Backend(error) | StoreError::Unreachable(error) => Some(error.as_ref()),
            _ => None,
        }
    }
}

/// Where server-side sessions live: records of opaque bytes, keyed by
/// [`RecordKey`], written only conditionally.
///
/// Methods return `impl Future + Send` rather than being `async fn`, so the
/// futures are guaranteed `Send` and implementations may still write
/// `async fn` or `async move` blocks.
///
/// # Examples
///
/// A store is about a hundred lines; see `examples/custom_store.rs` for a
/// whole one. The shape:
///
/// ```
/// use std::future::Future;
/// use std::time::SystemTime;
/// use tower_cookie_sessions::store::{Record, RecordKey, SessionStore, StoreError};
///
/// #[derive(Clone)]
/// struct Nowhere;
///
/// impl SessionStore for Nowhere {
///     fn create(&self, _: &RecordKey, _: &Record) -> impl Future<Output = Result<bool, StoreError>> + Send {
///         async { Ok(true) }
///     }
///     fn load(&self, _: &RecordKey) -> impl Future<Output = Result<Option<Record>, StoreError>> + Send {
///         async { Ok(None) }
///     }
///     fn save(&self, _: &RecordKey, _: &Record, _: u64) -> impl Future<Output = Result<bool, StoreError>> + Send {
///         async { Ok(false) }
///     }
///     fn delete(&self, _: &RecordKey) -> impl Future<Output = Result<(), StoreError>> + Send {
///         async { Ok(()) }
///     }
///     fn touch(&self, _: &RecordKey, _: SystemTime) -> impl Future<Output = Result<bool, StoreError>> + Send {
///         async { Ok(false) }
///     }
/// }
/// ```
pub trait SessionStore: Send + Sync + 'static {
    /// Inserts `record` under `key` only if no live record is there.
    /// Returns `false`, writing nothing, if one is.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use tower_cookie_sessions::store::{MemoryStore, Record, RecordKey, SessionStore};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tower_cookie_sessions::StoreError> {
    /// let store = MemoryStore::new();
    /// let key = RecordKey::for_session_id(b"session id");
    /// let expires = SystemTime::now() + Duration::from_secs(60);
    /// assert!(store.create(&key, &Record::new(b"first".to_vec(), expires)).await?);
    /// // A live record is there already: nothing is written.
    /// assert!(!store.create(&key, &Record::new(b"second".to_vec(), expires)).await?);
    /// assert_eq!(store.load(&key).await?.map(|record| record.data), Some(b"first".to_vec()));
    /// # Ok(())
    /// # }
    /// ```
    fn create(
        &self,
        key: &RecordKey,
        record: &Record,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The record under `key`, if there is one. A store should not return
    /// an expired record; the layer refuses it if it does.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use tower_cookie_sessions::store::{MemoryStore, Record, RecordKey, SessionStore};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tower_cookie_sessions::StoreError> {
    /// let store = MemoryStore::new();
    /// let key = RecordKey::for_session_id(b"session id");
    /// let expires = SystemTime::now() + Duration::from_secs(60);
    /// assert!(store.load(&key).await?.is_none());
    /// store.create(&key, &Record::new(b"data".to_vec(), expires)).await?;
    /// let record = store.load(&key).await?.expect("just created");
    /// assert_eq!((record.data, record.version), (b"data".to_vec(), 1));
    /// # Ok(())
    /// # }
    /// ```
    fn load(
        &self,
        key: &RecordKey,
    ) -> impl Future<Output = Result<Option<Record>, StoreError>> + Send;

    /// Replaces the record under `key` with `record` only if the stored
    /// version is `expected_version` (compare-and-set). `record.version` is
    /// the new version. Returns `false`, writing nothing, when the versions
    /// differ or the record is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use tower_cookie_sessions::store::{MemoryStore, Record, RecordKey, SessionStore};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tower_cookie_sessions::StoreError> {
    /// let store = MemoryStore::new();
    /// let key = RecordKey::for_session_id(b"session id");
    /// let expires = SystemTime::now() + Duration::from_secs(60);
    /// store.create(&key, &Record::new(b"v1".to_vec(), expires)).await?;
    /// let v2 = Record::new(b"v2".to_vec(), expires).with_version(2);
    /// assert!(store.save(&key, &v2, 1).await?);
    /// // A request that loaded version 1 too loses the race: nothing is written.
    /// let late = Record::new(b"late".to_vec(), expires).with_version(2);
    /// assert!(!store.save(&key, &late, 1).await?);
    /// assert_eq!(store.load(&key).await?.map(|record| record.data), Some(b"v2".to_vec()));
    /// # Ok(())
    /// # }
    /// ```
    fn save(
        &self,
        key: &RecordKey,
        record: &Record,
        expected_version: u64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Deletes the record under `key`; deleting a missing record succeeds.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use tower_cookie_sessions::store::{MemoryStore, Record, RecordKey, SessionStore};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tower_cookie_sessions::StoreError> {
    /// let store = MemoryStore::new();
    /// let key = RecordKey::for_session_id(b"session id");
    /// let expires = SystemTime::now() + Duration::from_secs(60);
    /// store.create(&key, &Record::new(b"data".to_vec(), expires)).await?;
    /// store.delete(&key).await?;
    /// assert!(store.load(&key).await?.is_none());
    /// store.delete(&key).await?; // already gone: still fine
    /// # Ok(())
    /// # }
    /// ```
    fn delete(&self, key: &RecordKey) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Moves the expiry of the record under `key`, leaving its data and
    /// version alone. Returns `false` when the record is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use tower_cookie_sessions::store::{MemoryStore, Record, RecordKey, SessionStore};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tower_cookie_sessions::StoreError> {
    /// let store = MemoryStore::new();
    /// let key = RecordKey::for_session_id(b"session id");
    /// let expires = SystemTime::now() + Duration::from_secs(60);
    /// store.create(&key, &Record::new(b"data".to_vec(), expires)).await?;
    /// let later = expires + Duration::from_secs(60);
    /// assert!(store.touch(&key, later).await?);
    /// let record = store.load(&key).await?.expect("still there");
    /// assert_eq!((record.expires_at, record.version), (later, 1));
    /// assert!(!store.touch(&RecordKey::for_session_id(b"no such id"), later).await?);
    /// # Ok(())
    /// # }
    /// ```
    fn touch(
        &self,
        key: &RecordKey,
        expires_at: SystemTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Deletes expired records, for stores that do not expire them on their
    /// own; returns how many were deleted. The default does nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use std::sync::Arc;
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use tower_cookie_sessions::store::{MemoryStore, Record, RecordKey, SessionStore};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tower_cookie_sessions::StoreError> {
    /// // A store on a clock the example moves.
    /// let seconds = Arc::new(AtomicU64::new(1_700_000_000));
    /// let clock = {
    ///     let seconds = Arc::clone(&seconds);
    ///     move || UNIX_EPOCH + Duration::from_secs(seconds.load(Ordering::Relaxed))
    /// };
    /// let store = MemoryStore::new().with_clock(clock);
    /// let expires = UNIX_EPOCH + Duration::from_secs(1_700_000_060);
    /// store.create(&RecordKey::for_session_id(b"id"), &Record::new(Vec::new(), expires)).await?;
    ///
    /// assert_eq!(store.delete_expired().await?, 0);
    /// seconds.store(1_700_000_120, Ordering::Relaxed);
    /// assert_eq!(store.delete_expired().await?, 1);
    /// # Ok(())
    /// # }
    /// ```
    fn delete_expired(&self) -> impl Future<Output = Result<u64, StoreError>> + Send {
        async { Ok(0) }
    }

    /// Whether nobody but this process can read or write the records: an
    /// in-process store such as [`MemoryStore`] answers `true`, and the
    /// layer then keeps its records unsealed (it still checks that each
    /// record is the one asked for). Every other store keeps the default,
    /// `false`: its records are sealed with the layer's key, bound to their
    /// record key, so the store holds no readable session data, and a
    /// record altered in the store, or served for another key, is refused.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::store::{MemoryStore, SessionStore};
    ///
    /// assert!(MemoryStore::new().is_trusted());
    /// ```
    fn is_trusted(&self) -> bool {
        false
    }

    /// The circuit breaker this store shares with its clones, so that
    /// every layer on the store sees an outage at once. The default,
    /// `None`, gives each layer a breaker of its own. A store that talks
    /// to a server keeps one [`Breaker`] in the state its clones share,
    /// and returns [`StoreError::Unreachable`] when it cannot reach it.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::Future;
    /// use std::time::SystemTime;
    /// use tower_cookie_sessions::store::{Breaker, Record, RecordKey, SessionStore, StoreError};
    ///
    /// #[derive(Clone, Default)]
    /// struct Remote {
    ///     breaker: Breaker,
    /// }
    ///
    /// impl SessionStore for Remote {
    ///     fn breaker(&self) -> Option<&Breaker> {
    ///         Some(&self.breaker)
    ///     }
    ///     // The calls, as in the trait's example:
    /// #   fn create(&self, _: &RecordKey, _: &Record) -> impl Future<Output = Result<bool, StoreError>> + Send {
    /// #       async { Ok(true) }
    /// #   }
    /// #   fn load(&self, _: &RecordKey) -> impl Future<Output = Result<Option<Record>, StoreError>> + Send {
    /// #       async { Ok(None) }
    /// #   }
    /// #   fn save(&self, _: &RecordKey, _: &Record, _: u64) -> impl Future<Output = Result<bool, StoreError>> + Send {
    /// #       async { Ok(false) }
    /// #   }
    /// #   fn delete(&self, _: &RecordKey) -> impl Future<Output = Result<(), StoreError>> + Send {
    /// #       async { Ok(()) }
    /// #   }
    /// #   fn touch(&self, _: &RecordKey, _: SystemTime) -> impl Future<Output = Result<bool, StoreError>> + Send {
    /// #       async { Ok(false) }
    /// #   }
    /// }
    ///
    /// let store = Remote::default();
    /// assert!(store.breaker().is_some());
    /// ```
    fn breaker(&self) -> Option<&Breaker> {
        None
    }
}

/// A store that finds records by their owner (the tag
/// [`Session::set_owner`](crate::Session::set_owner) sets), so an
/// application can end all of a user's sessions at once.
///
/// A capability a store opts into: one without an owner index does not
/// implement it, and the compiler says so where an application asks for
/// it, rather than the store answering "none deleted". Every store in this
/// crate implements it.
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::store::{MemoryStore, OwnerIndex};
/// use tower_cookie_sessions::{Key, SessionLayer};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let layer = SessionLayer::<u64>::store_builder(Key::generate(), MemoryStore::new()).build()?;
/// // "Sign this user out everywhere."
/// let ended = layer.store().delete_by_owner("user-42").await?;
/// assert_eq!(ended, 0);
/// # Ok(())
/// # }
/// ```
pub trait OwnerIndex: SessionStore {
    /// Deletes every record whose owner is `owner`; returns how many were
    /// deleted.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use tower_cookie_sessions::store::{MemoryStore, OwnerIndex, Record, RecordKey, SessionStore};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tower_cookie_sessions::StoreError> {
    /// let store = MemoryStore::new();
    /// let expires = SystemTime::now() + Duration::from_secs(60);
    /// for device in ["phone", "laptop"] {
    ///     let record = Record::new(Vec::new(), expires).with_owner(Some("user-7".to_owned()));
    ///     store.create(&RecordKey::for_session_id(device.as_bytes()), &record).await?;
    /// }
    /// assert_eq!(store.delete_by_owner("user-7").await?, 2);
    /// assert!(store.load(&RecordKey::for_session_id(b"phone")).await?.is_none());
    /// # Ok(())
    /// # }
    /// ```
    fn delete_by_owner(&self, owner: &str) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Every live (unexpired) record whose owner is `owner`, with its key,
    /// in any order: what [`SessionLayer::devices`](crate::SessionLayer::devices)
    /// opens to list a user's sessions. A record whose owner changed since
    /// it was indexed is not `owner`'s and is left out.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use tower_cookie_sessions::store::{MemoryStore, OwnerIndex, Record, RecordKey, SessionStore};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let store = MemoryStore::new();
    /// let key = RecordKey::for_session_id(b"an id");
    /// let expires = SystemTime::now() + Duration::from_secs(60);
    /// store.create(&key, &Record::new(b"data".to_vec(), expires).with_owner(Some("ada".into()))).await?;
    /// let owned = store.list_by_owner("ada").await?;
    /// assert_eq!(owned.len(), 1);
    /// assert_eq!(owned[0].0, key);
    /// assert!(store.list_by_owner("bob").await?.is_empty());
    /// # Ok(())
    /// # }
    /// ```
    fn list_by_owner(
        &self,
        owner: &str,
    ) -> impl Future<Output = Result<Vec<(RecordKey, Record)>, StoreError>> + Send;
}
