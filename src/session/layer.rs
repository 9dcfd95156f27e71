//! `SessionLayer`: a checked configuration, applied to a service.

use std::fmt;
use std::sync::Arc;

use tower_layer::Layer;

use crate::key::KeyRing;
use crate::layer_id::LayerId;
use crate::session::builder::SessionLayerBuilder;
use crate::session::client::backend::CookieBackend;
use crate::session::service::SessionService;
use crate::session::shared::backend::ErasedBackend;
use crate::session::shared::config::{ConfigError, SessionConfig};
use crate::session::shared::revocation::Revocation;
use crate::session::shared::source::SessionSource;
use crate::session::store::backend::StoreBackend;
use crate::session::store::device::{Device, DeviceHandle};
use crate::session::store::guarded::Guarded;
use crate::session::store::owned;
use crate::session::SessionData;
use crate::store::{OwnerIndex, SessionStore, StoreError};

/// Adds typed sessions of type `T`, and a [`Cookies`](crate::Cookies) jar,
/// to every request.
///
/// `B` says where sessions live: [`CookieBackend`] (the default) seals the
/// whole session into the cookie; [`StoreBackend`] keeps it in a
/// [`SessionStore`] and the cookie carries only a sealed id. Make one with
/// [`SessionLayer::new`] (client-side, every default), or configure one
/// with [`SessionLayer::builder`] or [`SessionLayer::store_builder`] and
/// [`build`](SessionLayerBuilder::build) it.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use serde::{Deserialize, Serialize};
/// use tower_cookie_sessions::{Expiry, Key, MemoryStore, SessionLayer};
///
/// #[derive(Clone, Default, Serialize, Deserialize)]
/// struct Account {
///     user_id: Option<u64>,
/// }
///
/// # fn main() -> Result<(), tower_cookie_sessions::ConfigError> {
/// // Client-side: the sealed session is the cookie.
/// let layer = SessionLayer::<Account>::builder(Key::generate())
///     .cookie_name("__Host-session")
///     .expiry(Expiry::Inactivity(Duration::from_secs(30 * 60)))
///     .build()?;
///
/// // The same sessions in a store; handlers do not change.
/// let store_layer = SessionLayer::<Account>::store_builder(Key::generate(), MemoryStore::new())
///     .cookie_name("__Host-session")
///     .expiry(Expiry::Inactivity(Duration::from_secs(30 * 60)))
///     .build()?;
/// # let _ = (layer, store_layer);
/// # Ok(())
/// # }
/// ```
#[must_use]
pub struct SessionLayer<T, B = CookieBackend> {
    /// Which layer owns a request's session: minted by `build`, copied by
    /// `Clone`.
    id: LayerId,
    config: Arc<SessionConfig>,
    backend: Arc<dyn ErasedBackend<T>>,
    /// The typed backend, for what the application asks of it
    /// ([`SessionLayer::store`]).
    kind: B,
}

impl<T: SessionData> SessionLayer<T, CookieBackend> {
    /// A layer with client-side sessions sealed under `keys` (a [`Key`] or
    /// a [`KeyRing`]) and every default: the same as
    /// `SessionLayer::builder(keys).build()`.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] when `T::default()` does not survive its codec (see
    /// [`SessionLayerBuilder::build`]).
    ///
    /// [`Key`]: crate::Key
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::{Key, SessionLayer};
    ///
    /// let layer = SessionLayer::<Vec<String>>::new(Key::generate());
    /// assert!(layer.is_ok());
    /// ```
    pub fn new(keys: impl Into<KeyRing>) -> Result<Self, ConfigError> {
        Self::builder(keys).build()
    }

    /// The settings of a layer with client-side sessions sealed under
    /// `keys`: the whole session, sealed, is the cookie, split across a
    /// few when larger than one (see
    /// [`max_cookie_size`](SessionLayerBuilder::max_cookie_size)).
    ///
    /// [`Key`]: crate::Key
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::{Key, SessionLayer};
    ///
    /// # fn main() -> Result<(), tower_cookie_sessions::ConfigError> {
    /// let layer = SessionLayer::<Vec<String>>::builder(Key::generate())
    ///     .cookie_name("__Host-id")
    ///     .build()?;
    /// # let _ = layer;
    /// # Ok(())
    /// # }
    /// ```
    pub fn builder(keys: impl Into<KeyRing>) -> SessionLayerBuilder<T, CookieBackend> {
        SessionLayerBuilder::new(keys.into(), CookieBackend)
    }

    /// The settings of a layer that keeps sessions in `store`; the cookie
    /// carries only a sealed, random 128-bit session id, sealed under
    /// `keys`, as are the store's records (unless the store is trusted).
    /// Handlers do not change.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::{Key, MemoryStore, SessionLayer};
    ///
    /// # fn main() -> Result<(), tower_cookie_sessions::ConfigError> {
    /// let layer = SessionLayer::<Vec<String>>::store_builder(Key::generate(), MemoryStore::new())
    ///     .build()?;
    /// # let _ = layer;
    /// # Ok(())
    /// # }
    /// ```
    pub fn store_builder<S: SessionStore>(
        keys: impl Into<KeyRing>,
        store: S,
    ) -> SessionLayerBuilder<T, StoreBackend<S>> {
        let backend = StoreBackend {
            store: Arc::new(store),
        };
        SessionLayerBuilder::new(keys.into(), backend)
    }

    /// The most a client-side session's cookies, names plus values, may
    /// take together (see
    /// [`max_cookie_size`](SessionLayerBuilder::max_cookie_size)): a larger
    /// session is answered with [`SessionError::TooLarge`](crate::SessionError::TooLarge).
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::{Key, SessionLayer};
    ///
    /// let layer = SessionLayer::<u8>::new(Key::generate()).unwrap();
    /// assert_eq!(layer.cookie_size_limit(), 8192);
    /// ```
    #[must_use]
    pub fn cookie_size_limit(&self) -> usize {
        self.config.max_cookie_size
    }
}

impl<T: SessionData, S: SessionStore> SessionLayer<T, StoreBackend<S>> {
    /// The store, for work outside requests, such as
    /// [`delete_by_owner`](crate::store::OwnerIndex::delete_by_owner) ("log
    /// this user out everywhere", for stores with an owner index).
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::store::OwnerIndex;
    /// use tower_cookie_sessions::{Key, MemoryStore, SessionLayer};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let layer = SessionLayer::<u64>::store_builder(Key::generate(), MemoryStore::new()).build()?;
    /// let ended = layer.store().delete_by_owner("user-42").await?;
    /// assert_eq!(ended, 0);
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn store(&self) -> &S {
        &self.kind.store
    }
}

/// "Your devices": with a store that has an owner index, the sessions of
/// one owner (the tag [`Session::set_owner`](crate::Session::set_owner)
/// sets at sign-in), each with its public [`DeviceHandle`], its label
/// ([`Session::set_device_label`](crate::Session::set_device_label)) and
/// when it was created, last seen and expires. The labels and times are
/// sealed with each record, so the store holds none of them readably.
impl<T: SessionData, S: OwnerIndex> SessionLayer<T, StoreBackend<S>> {
    /// `owner`'s live sessions, most recently seen first. Compare each
    /// handle with [`Session::device`](crate::Session::device) to mark the
    /// one the page is shown on.
    ///
    /// # Errors
    ///
    /// The store's error, [`StoreError::Timeout`] past the layer's
    /// timeout, or [`StoreError::CircuitOpen`] while the store's breaker
    /// is open; an [`AnyStore`](crate::store::AnyStore) without an owner
    /// index answers [`StoreError::Unsupported`].
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::{Key, MemoryStore, SessionLayer};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let layer = SessionLayer::<u64>::store_builder(Key::generate(), MemoryStore::new()).build()?;
    /// for device in layer.devices("user-42").await? {
    ///     println!("{} {}", device.handle(), device.label().unwrap_or("unknown device"));
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn devices(&self, owner: &str) -> Result<Vec<Device>, StoreError> {
        let listed = owned::list(&self.config, &self.guarded_store(), owner).await?;
        Ok(listed.into_iter().map(|(_, device)| device).collect())
    }

    /// Ends `owner`'s session named `device`, as a "sign out this device"
    /// button does: its next request gets a fresh session. Answers `false`,
    /// ending nothing, when `owner` has no live session of that handle,
    /// which is what a handle of someone else's session gets: pass the
    /// signed-in user as `owner`, never a value from the form.
    ///
    /// # Errors
    ///
    /// As for [`devices`](Self::devices).
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::session::DeviceHandle;
    /// use tower_cookie_sessions::{Key, MemoryStore, SessionLayer};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let layer = SessionLayer::<u64>::store_builder(Key::generate(), MemoryStore::new()).build()?;
    /// let posted: DeviceHandle = "AAECAwQFBgcICQoLDA0ODw".parse()?;
    /// assert!(!layer.end_device("user-42", posted).await?);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn end_device(&self, owner: &str, device: DeviceHandle) -> Result<bool, StoreError> {
        owned::end(&self.config, &self.guarded_store(), owner, device).await
    }

    /// The store under the layer's timeout and the store's circuit
    /// breaker, as the layer's own calls are (a store without a breaker of
    /// its own gets the timeout only).
    fn guarded_store(&self) -> Guarded<S> {
        Guarded::new(Arc::clone(&self.kind.store), self.config.store_timeout)
    }
}

impl<T, B> SessionLayer<T, B> {
    pub(crate) fn from_parts(
        id: LayerId,
        config: Arc<SessionConfig>,
        backend: Arc<dyn ErasedBackend<T>>,
        kind: B,
    ) -> Self {
        Self {
            id,
            config,
            backend,
            kind,
        }
    }

    /// The handle that revokes this layer's sessions by their issue time:
    /// [`Revocation::revoke_issued_before`] signs out everybody whose
    /// session was issued (or [renewed](crate::Session::renew)) before a
    /// time, from the next request on, without rotating the key. For a
    /// store layer the refused sessions' records are deleted as they are
    /// met.
    ///
    /// The handle is shared with this layer's clones. It is kept in this
    /// process's memory: see [`Revocation`] for applying it on every
    /// instance.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::SystemTime;
    /// use axum::{routing::post, Router};
    /// use tower_cookie_sessions::{Key, SessionLayer};
    ///
    /// # fn main() -> Result<(), tower_cookie_sessions::ConfigError> {
    /// let layer = SessionLayer::<u64>::new(Key::generate())?;
    /// let revocation = layer.revocation();
    /// let app: Router = Router::new()
    ///     .route(
    ///         "/admin/sign-everybody-out",
    ///         post(move || async move {
    ///             revocation.revoke_issued_before(SystemTime::now());
    ///             "done"
    ///         }),
    ///     )
    ///     .layer(layer);
    /// # let _ = app;
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn revocation(&self) -> Revocation {
        self.config.revocation.clone()
    }
}

impl<T, B: Clone> Clone for SessionLayer<T, B> {
    fn clone(&self) -> Self {
        Self {
            id: self.id,
            config: Arc::clone(&self.config),
            backend: Arc::clone(&self.backend),
            kind: self.kind.clone(),
        }
    }
}

impl<T, B> SessionLayer<T, B> {
    /// The layer's clock, for the test helpers' notion of now.
    #[cfg(feature = "test-util")]
    pub(crate) fn clock(&self) -> &Arc<dyn crate::clock::Clock> {
        &self.config.clock
    }
}

impl<T, B> fmt::Debug for SessionLayer<T, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionLayer")
            .field("type", &std::any::type_name::<T>())
            .field("backend", &std::any::type_name::<B>())
            .field("config", &self.config)
            .finish()
    }
}

impl<S, T: 'static, B> Layer<S> for SessionLayer<T, B> {
    type Service = SessionService<S, T>;

    fn layer(&self, inner: S) -> Self::Service {
        let source = SessionSource {
            id: self.id,
            config: Arc::clone(&self.config),
            backend: Arc::clone(&self.backend),
        };
        SessionService::new(inner, Arc::new(source))
    }
}
