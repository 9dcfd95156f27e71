//! `SessionLayer`: configuration, checked as it is built.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use cookie::SameSite;
use http::Response;
use tower_layer::Layer;

use crate::clock::Clock;
use crate::codec;
use crate::key::KeyRing;
use crate::layer_id::LayerId;
use crate::session::backend::ErasedBackend;
use crate::session::config::{ConfigError, ErrorHandler, Expiry, LoadFailure, SessionConfig};
use crate::session::conflict::ConflictPolicy;
use crate::session::cookie_backend::{CookieBackend, HookedCookies};
use crate::session::error::SessionError;
use crate::session::revocation::{load_hook, Revocation};
use crate::session::service::SessionService;
use crate::session::source::SessionSource;
use crate::session::store_backend::{StoreBackend, StoreSessions};
use crate::session::SessionData;
use crate::store::{SessionStore, StoreError};

/// Adds typed sessions of type `T`, and a [`Cookies`](crate::Cookies) jar,
/// to every request.
///
/// `B` says where sessions live: [`CookieBackend`] (the default) seals the
/// whole session into the cookie. The defaults are the safe ones: cookie
/// `id`, `Path=/`, `HttpOnly`, `SameSite=Lax`, `Secure`, a browser-session
/// cookie, and an absolute timeout of two weeks enforced by the server.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use serde::{Deserialize, Serialize};
/// use tower_cookie_sessions::session::Expiry;
/// use tower_cookie_sessions::{Key, SessionLayer};
///
/// #[derive(Clone, Default, Serialize, Deserialize)]
/// struct Account {
///     user_id: Option<u64>,
/// }
///
/// # fn main() -> Result<(), tower_cookie_sessions::ConfigError> {
/// let layer = SessionLayer::<Account>::new(Key::generate())?
///     .cookie_name("__Host-session")?
///     .expiry(Expiry::Inactivity(Duration::from_secs(30 * 60)))?
///     .absolute_timeout(Duration::from_secs(24 * 60 * 60))?;
/// # let _ = layer;
/// # Ok(())
/// # }
/// ```
#[must_use]
pub struct SessionLayer<T, B = CookieBackend> {
    /// Which layer owns a request's session: minted by `new` and by every
    /// builder method, copied by `Clone`.
    id: LayerId,
    config: Arc<SessionConfig>,
    backend: Arc<dyn ErasedBackend<T>>,
    /// The typed backend, kept so store settings can rebuild `backend`.
    kind: B,
}

impl<T: SessionData> SessionLayer<T, CookieBackend> {
    /// A layer with client-side sessions sealed under `keys` (a [`Key`] or
    /// a [`KeyRing`]).
    ///
    /// # Errors
    ///
    /// [`ConfigError::UnsupportedType`] when `T::default()` does not survive
    /// a bincode round trip. bincode writes no field names, so serde
    /// attributes that depend on them lose data: `skip_serializing_if`,
    /// `flatten`, and untagged or internally tagged enums. The check only
    /// sees what the default value reaches; keep such attributes out of
    /// session types.
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
        codec::check_round_trip::<T>().map_err(|error| ConfigError::UnsupportedType {
            type_name: std::any::type_name::<T>(),
            reason: error.to_string(),
        })?;
        Ok(Self {
            id: LayerId::mint(),
            config: Arc::new(SessionConfig::new(keys.into())),
            backend: Arc::new(CookieBackend),
            kind: CookieBackend,
        })
    }

    /// Keeps sessions in `store` instead of the cookie, which then carries
    /// only a sealed, random 128-bit session id. Handlers do not change.
    ///
    /// [`revocation`](Self::revocation), [`on_load`](Self::on_load) and
    /// [`max_cookie_size`](Self::max_cookie_size) are for client-side
    /// sessions: the store layer drops the hook and ignores the other two.
    /// Server-side sessions are revoked by deleting their records
    /// ([`Session::destroy`](crate::Session::destroy),
    /// [`SessionStore::delete_by_owner`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::store::MemoryStore;
    /// use tower_cookie_sessions::{Key, SessionLayer};
    ///
    /// # fn main() -> Result<(), tower_cookie_sessions::ConfigError> {
    /// let layer = SessionLayer::<Vec<String>>::new(Key::generate())?.with_store(MemoryStore::new());
    /// # let _ = layer;
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_store<S: SessionStore>(self, store: S) -> SessionLayer<T, StoreBackend<S>> {
        let store = Arc::new(store);
        SessionLayer {
            id: LayerId::mint(),
            config: self.config,
            backend: Arc::new(StoreSessions::new(
                Arc::clone(&store),
                ConflictPolicy::default_for(),
            )),
            kind: StoreBackend { store },
        }
    }

    /// Sets the most a session's cookies may take, names plus values
    /// (default [`DEFAULT_MAX_COOKIE_SIZE`](crate::session::DEFAULT_MAX_COOKIE_SIZE),
    /// 8 KB). A session that does not fit in one cookie (4096 bytes, name
    /// included) is split across `NAME.0`, `NAME.1`... up to this total; a
    /// larger one is not sent: the response is
    /// [`SessionError::TooLarge`] through [`on_error`](Self::on_error),
    /// and the browser keeps the cookies it had.
    ///
    /// Every request carries these cookies: servers and proxies refuse a
    /// `Cookie` header over their limit (nginx: one
    /// `large_client_header_buffers` buffer, 8 KB by default, for the whole
    /// header with the other cookies) with a `400` on every request, and
    /// browsers keep a limited number of cookies per site (Chromium 180,
    /// shared with its subdomains). `4096` keeps every session in one
    /// cookie. The limit applies to the cookies a request brings too: after
    /// lowering it, a visitor whose session is larger starts a fresh one.
    ///
    /// # Errors
    ///
    /// [`ConfigError::CookieSizeOutOfRange`] below 4096 bytes or above
    /// [`MAX_COOKIE_CHUNKS`](crate::session::MAX_COOKIE_CHUNKS) full
    /// cookies.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::{Key, SessionLayer};
    ///
    /// let layer = SessionLayer::<Vec<String>>::new(Key::generate()).unwrap();
    /// let layer = layer.max_cookie_size(16 * 1024).unwrap();
    /// assert_eq!(layer.cookie_size_limit(), 16 * 1024);
    /// assert!(layer.clone().max_cookie_size(1024).is_err());
    /// assert!(layer.max_cookie_size(51 * 4096).is_err());
    /// ```
    pub fn max_cookie_size(self, bytes: usize) -> Result<Self, ConfigError> {
        self.try_configure(|config| config.max_cookie_size = bytes)
    }

    /// The handle that revokes this layer's sessions by their issue time:
    /// [`Revocation::revoke_issued_before`] signs out everybody whose
    /// session was issued (or [renewed](crate::Session::renew)) before a
    /// time, from the next request on, without rotating the key.
    ///
    /// The handle is shared with this layer's clones and with the layers
    /// its builder methods make, before or after this call. It is kept in
    /// this process's memory: see [`Revocation`] for applying it on every
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

    /// Runs `hook` on every session loaded from an authentic cookie, with
    /// its data and issue time (when it was started, or last
    /// [renewed](crate::Session::renew)), before the handler gets it:
    /// `Ok(true)` keeps it, `Ok(false)` refuses it. A refused session is
    /// a fresh one, and the response removes its cookies. This is how a
    /// client-side session is signed out before its deadline from what it
    /// holds: "sign out my other devices" keeps a per-user generation
    /// number in the application's database and in the session, and
    /// refuses sessions of an older generation.
    ///
    /// The hook is called with the data borrowed; its future must own
    /// what it needs (copy the user id out). Requests without an authentic
    /// session never call it, nor do sessions the
    /// [revocation](Self::revocation) cutoff refuses first.
    ///
    /// When it fails:
    ///
    /// - `Err(error)`, or no answer within
    ///   [`store_timeout`](Self::store_timeout) (2 seconds by default),
    ///   is [`SessionError::Load`]: the response is `503` through
    ///   [`on_error`](Self::on_error), the handler does not run, and the
    ///   browser keeps its cookies for the next try. Wrap your own errors
    ///   with [`StoreError::backend`]. As for a store, the timeout needs a
    ///   tokio runtime only when the hook's future has to wait.
    /// - A panic in the hook unwinds out of the handler's session load
    ///   like a panic in the handler: with tower-http's `CatchPanicLayer`
    ///   the answer is its `500`; no session cookie is sent or removed.
    ///
    /// Only client-side sessions run the hook; a store layer made with
    /// [`with_store`](Self::with_store) drops it.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::collections::HashMap;
    /// use std::sync::{Arc, Mutex};
    /// use serde::{Deserialize, Serialize};
    /// use tower_cookie_sessions::{Key, SessionLayer};
    ///
    /// #[derive(Clone, Default, Serialize, Deserialize)]
    /// struct Account {
    ///     user_id: Option<u64>,
    ///     /// The user's generation when this session signed in.
    ///     generation: u64,
    /// }
    ///
    /// # fn main() -> Result<(), tower_cookie_sessions::ConfigError> {
    /// // The application's own record of each user's generation: bumping
    /// // it signs out every session signed in before.
    /// let generations: Arc<Mutex<HashMap<u64, u64>>> = Arc::default();
    /// let layer = SessionLayer::<Account>::new(Key::generate())?.on_load({
    ///     let generations = Arc::clone(&generations);
    ///     move |account: &Account, _issued| {
    ///         let current = account.user_id.map(|user| {
    ///             let generations = generations.lock().expect("not poisoned");
    ///             generations.get(&user).copied().unwrap_or(0)
    ///         });
    ///         let keep = current.is_none_or(|current| current == account.generation);
    ///         async move { Ok(keep) }
    ///     }
    /// });
    /// # let _ = layer;
    /// # Ok(())
    /// # }
    /// ```
    pub fn on_load<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(&T, SystemTime) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<bool, StoreError>> + Send + 'static,
    {
        self.backend = Arc::new(HookedCookies::new(load_hook(hook)));
        self.id = LayerId::mint();
        self
    }
}

impl<T: SessionData, S: SessionStore> SessionLayer<T, StoreBackend<S>> {
    /// The store, for work outside requests, such as
    /// [`delete_by_owner`](SessionStore::delete_by_owner) ("log this user
    /// out everywhere").
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::store::{MemoryStore, SessionStore};
    /// use tower_cookie_sessions::{Key, SessionLayer};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let layer = SessionLayer::<u64>::new(Key::generate())?.with_store(MemoryStore::new());
    /// let ended = layer.store().delete_by_owner("user-42").await?;
    /// assert_eq!(ended, 0);
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn store(&self) -> &S {
        &self.kind.store
    }

    /// Sets what happens when a save loses a race with another request
    /// (default [`ConflictPolicy::Error`]: `409 Conflict`; for
    /// [`SessionMap`](crate::SessionMap) sessions,
    /// [`ConflictPolicy::merge_keys`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::session::ConflictPolicy;
    /// use tower_cookie_sessions::store::MemoryStore;
    /// use tower_cookie_sessions::{Key, SessionLayer};
    ///
    /// # fn main() -> Result<(), tower_cookie_sessions::ConfigError> {
    /// let layer = SessionLayer::<u64>::new(Key::generate())?
    ///     .with_store(MemoryStore::new())
    ///     .conflict_policy(ConflictPolicy::merge(|loaded, mine, latest| Some(latest + (mine - loaded))));
    /// # let _ = layer;
    /// # Ok(())
    /// # }
    /// ```
    pub fn conflict_policy(mut self, policy: ConflictPolicy<T>) -> Self {
        self.backend = Arc::new(StoreSessions::new(Arc::clone(&self.kind.store), policy));
        self.id = LayerId::mint();
        self
    }

    /// Sets what happens when the store cannot load a session (default
    /// [`LoadFailure::Fail`]: `503 Service Unavailable`).
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::session::LoadFailure;
    /// use tower_cookie_sessions::store::MemoryStore;
    /// use tower_cookie_sessions::{Key, SessionLayer};
    ///
    /// # fn main() -> Result<(), tower_cookie_sessions::ConfigError> {
    /// let layer = SessionLayer::<u64>::new(Key::generate())?
    ///     .with_store(MemoryStore::new())
    ///     .on_load_failure(LoadFailure::ContinueEmpty);
    /// # let _ = layer;
    /// # Ok(())
    /// # }
    /// ```
    pub fn on_load_failure(self, policy: LoadFailure) -> Self {
        self.configure(|config| config.load_failure = policy)
    }

    /// Sets the largest record the layer writes to the store, in bytes of
    /// record data (default [`DEFAULT_MAX_RECORD_SIZE`](crate::session::DEFAULT_MAX_RECORD_SIZE),
    /// 1 MB). A session that would be larger is not written: the response
    /// is [`SessionError::TooLarge`](crate::SessionError::TooLarge)
    /// through [`on_error`](SessionLayer::on_error), and the stored
    /// session stays as it was.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::store::MemoryStore;
    /// use tower_cookie_sessions::{Key, SessionLayer};
    ///
    /// # fn main() -> Result<(), tower_cookie_sessions::ConfigError> {
    /// let layer = SessionLayer::<Vec<String>>::new(Key::generate())?
    ///     .with_store(MemoryStore::new())
    ///     .max_record_size(64 * 1024);
    /// # let _ = layer;
    /// # Ok(())
    /// # }
    /// ```
    pub fn max_record_size(self, bytes: usize) -> Self {
        self.configure(|config| config.max_record_size = bytes)
    }
}

impl<T, B> SessionLayer<T, B> {
    /// Sets the cookie's name (default `id`).
    ///
    /// A name starting with `__Host-` is recommended: browsers then accept
    /// the cookie only with `Secure`, `Path=/` and no `Domain`, which is the
    /// only defence against a sibling subdomain tossing its own cookie under
    /// this name.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidCookieName`] for characters cookie names cannot
    /// have, and the prefix errors when the name's `__Host-` or `__Secure-`
    /// prefix contradicts `Secure`, `Path` or `Domain`.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::{Key, SessionLayer};
    ///
    /// let layer = SessionLayer::<u8>::new(Key::generate()).unwrap();
    /// assert!(layer.clone().cookie_name("__Host-id").is_ok());
    /// assert!(layer.cookie_name("no spaces").is_err());
    /// ```
    pub fn cookie_name(self, name: impl Into<String>) -> Result<Self, ConfigError> {
        let name = name.into();
        self.try_configure(|config| config.cookie_name = name)
    }

    /// Sets the cookie's `Path` (default `/`).
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidPath`] unless it starts with `/` and has only
    /// characters attributes can have; [`ConfigError::HostPrefixRequiresRootPath`]
    /// for a `__Host-` cookie.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::{Key, SessionLayer};
    ///
    /// let layer = SessionLayer::<u8>::new(Key::generate()).unwrap();
    /// assert!(layer.path("/app").is_ok());
    /// ```
    pub fn path(self, path: impl Into<String>) -> Result<Self, ConfigError> {
        let path = path.into();
        self.try_configure(|config| config.path = path)
    }

    /// Sets the cookie's `Domain` (default none: the cookie goes only to the
    /// host that set it, which is safer).
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidDomain`] for characters attributes cannot
    /// have; [`ConfigError::HostPrefixForbidsDomain`] for a `__Host-` cookie.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::{Key, SessionLayer};
    ///
    /// let layer = SessionLayer::<u8>::new(Key::generate()).unwrap();
    /// assert!(layer.domain("example.com").is_ok());
    /// ```
    pub fn domain(self, domain: impl Into<String>) -> Result<Self, ConfigError> {
        let domain = domain.into();
        self.try_configure(|config| config.domain = Some(domain))
    }

    /// Sets whether the cookie is `Secure` (default `true`). Turn it off only
    /// for development over plain HTTP: browsers do not send `Secure`
    /// cookies there (except to `localhost`).
    ///
    /// # Errors
    ///
    /// [`ConfigError::PrefixRequiresSecure`] for a `__Host-` or `__Secure-`
    /// name, [`ConfigError::SameSiteNoneRequiresSecure`] with
    /// `SameSite=None`.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::{Key, SessionLayer};
    ///
    /// let layer = SessionLayer::<u8>::new(Key::generate()).unwrap().secure(false);
    /// assert!(layer.is_ok());
    /// ```
    pub fn secure(self, secure: bool) -> Result<Self, ConfigError> {
        self.try_configure(|config| config.secure = secure)
    }

    /// Sets whether the cookie is `HttpOnly`, hidden from JavaScript
    /// (default `true`).
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::{Key, SessionLayer};
    ///
    /// let layer = SessionLayer::<u8>::new(Key::generate()).unwrap().http_only(true);
    /// # let _ = layer;
    /// ```
    pub fn http_only(self, http_only: bool) -> Self {
        self.configure(|config| config.http_only = http_only)
    }

    /// Sets the cookie's `SameSite` (default `Lax`).
    ///
    /// # Errors
    ///
    /// [`ConfigError::SameSiteNoneRequiresSecure`] for `SameSite::None`
    /// without `Secure`.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::{Key, SameSite, SessionLayer};
    ///
    /// let layer = SessionLayer::<u8>::new(Key::generate()).unwrap();
    /// assert!(layer.same_site(SameSite::Strict).is_ok());
    /// ```
    pub fn same_site(self, same_site: SameSite) -> Result<Self, ConfigError> {
        self.try_configure(|config| config.same_site = same_site)
    }

    /// Sets when sessions end (default [`Expiry::OnBrowserClose`]).
    ///
    /// # Errors
    ///
    /// [`ConfigError::LifetimeTooLong`] for a `MaxAge` or `Inactivity`
    /// window over [`MAX_COOKIE_LIFETIME`](crate::session::MAX_COOKIE_LIFETIME)
    /// (400 days): browsers would clip the cookie's `Max-Age` and end the
    /// session earlier than configured.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_cookie_sessions::session::Expiry;
    /// use tower_cookie_sessions::{Key, SessionLayer};
    ///
    /// let day = Duration::from_secs(24 * 60 * 60);
    /// let layer = SessionLayer::<u8>::new(Key::generate()).unwrap();
    /// assert!(layer.clone().expiry(Expiry::MaxAge(7 * day)).is_ok());
    /// assert!(layer.expiry(Expiry::MaxAge(401 * day)).is_err());
    /// ```
    pub fn expiry(self, expiry: Expiry) -> Result<Self, ConfigError> {
        self.try_configure(|config| config.expiry = expiry)
    }

    /// Caps every session's life from its issue (or renewal), whatever the
    /// activity; rolling refreshes never extend it. Default: two weeks, or
    /// the [`Expiry::MaxAge`] when that is set.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_cookie_sessions::{Key, SessionLayer};
    ///
    /// let layer = SessionLayer::<u8>::new(Key::generate())
    ///     .unwrap()
    ///     .absolute_timeout(Duration::from_secs(8 * 60 * 60))
    ///     .unwrap();
    /// # let _ = layer;
    /// ```
    ///
    /// # Errors
    ///
    /// [`ConfigError::LifetimeTooLong`] over
    /// [`MAX_COOKIE_LIFETIME`](crate::session::MAX_COOKIE_LIFETIME) (400
    /// days), which browsers clip.
    pub fn absolute_timeout(self, timeout: Duration) -> Result<Self, ConfigError> {
        self.try_configure(|config| config.absolute_timeout = Some(timeout))
    }

    /// With [`Expiry::Inactivity`], how much of the idle window must pass
    /// before a request that only reads the session sends it again to slide
    /// the deadline (default `0.5`: half). Lower means fresher deadlines and
    /// more `Set-Cookie` headers.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidRefreshFraction`] unless `0 < fraction <= 1`.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::{Key, SessionLayer};
    ///
    /// let layer = SessionLayer::<u8>::new(Key::generate()).unwrap();
    /// assert!(layer.clone().refresh_after(0.25).is_ok());
    /// assert!(layer.refresh_after(0.0).is_err());
    /// ```
    pub fn refresh_after(self, fraction: f64) -> Result<Self, ConfigError> {
        if !(fraction > 0.0 && fraction <= 1.0) {
            return Err(ConfigError::InvalidRefreshFraction);
        }
        Ok(self.configure(|config| config.refresh_fraction = fraction))
    }

    /// Sets how long one store operation, or a client-side session's
    /// [load hook](SessionLayer::on_load), may take before it counts as
    /// failed (default 2 seconds).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_cookie_sessions::store::MemoryStore;
    /// use tower_cookie_sessions::{Key, SessionLayer};
    ///
    /// # fn main() -> Result<(), tower_cookie_sessions::ConfigError> {
    /// let layer = SessionLayer::<u64>::new(Key::generate())?
    ///     .with_store(MemoryStore::new())
    ///     .store_timeout(Duration::from_millis(500));
    /// # let _ = layer;
    /// # Ok(())
    /// # }
    /// ```
    pub fn store_timeout(self, timeout: Duration) -> Self {
        self.configure(|config| config.store_timeout = timeout)
    }

    /// Sets how deeply nested a session's data may be when it is decoded
    /// (default [`DEFAULT_MAX_DECODE_DEPTH`](crate::session::DEFAULT_MAX_DECODE_DEPTH),
    /// 128 levels: each struct, enum, sequence, map or option is one). A
    /// cookie or store record nested deeper is refused like any unreadable
    /// session (a fresh session, logged) instead of overflowing the stack;
    /// raise it only for a recursive session type that legitimately nests
    /// deeper.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::{Key, SessionLayer};
    ///
    /// let layer = SessionLayer::<Vec<Vec<u8>>>::new(Key::generate()).unwrap().max_decode_depth(16);
    /// # let _ = layer;
    /// ```
    pub fn max_decode_depth(self, levels: usize) -> Self {
        self.configure(|config| config.max_decode_depth = levels)
    }

    /// Sets the schema version sealed into every session (default 0). Bump
    /// it when `T` changes shape: sessions of another version then start
    /// fresh instead of failing to decode.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::{Key, SessionLayer};
    ///
    /// let layer = SessionLayer::<u8>::new(Key::generate()).unwrap().schema_version(2);
    /// # let _ = layer;
    /// ```
    pub fn schema_version(self, version: u32) -> Self {
        self.configure(|config| config.schema_version = version)
    }

    /// Sets the time source (default [`SystemClock`](crate::SystemClock)),
    /// so tests can move time instead of sleeping.
    ///
    /// A request reads it once, when it opens its session: the load and the
    /// save (cookie or store) judge deadlines by that same time. A store's
    /// own expiry uses the store's clock.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use tower_cookie_sessions::{Key, SessionLayer};
    ///
    /// let layer = SessionLayer::<u8>::new(Key::generate())
    ///     .unwrap()
    ///     .clock(|| UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    /// # let _ = layer;
    /// ```
    pub fn clock(self, clock: impl Clock) -> Self {
        let clock: Arc<dyn Clock> = Arc::new(clock);
        self.configure(|config| config.clock = clock)
    }

    /// Sets the response sent instead of the handler's when the session
    /// cannot be sent (see [`SessionError`]). By default: the error's
    /// [status](SessionError::status) and message as plain text.
    ///
    /// # Examples
    ///
    /// ```
    /// use http::{Response, StatusCode};
    /// use tower_cookie_sessions::{Key, SessionLayer};
    ///
    /// let layer = SessionLayer::<u8>::new(Key::generate()).unwrap().on_error(|error| {
    ///     let mut response = Response::new(format!("{{\"error\":\"{error}\"}}"));
    ///     *response.status_mut() = error.status();
    ///     response
    /// });
    /// # let _ = layer;
    /// ```
    pub fn on_error<F>(self, handler: F) -> Self
    where
        F: Fn(&SessionError) -> Response<String> + Send + Sync + 'static,
    {
        let handler: ErrorHandler = Arc::new(handler);
        self.configure(|config| config.on_error = handler)
    }

    /// The most a client-side session's cookies, names plus values, may
    /// take together (see [`max_cookie_size`](SessionLayer::max_cookie_size)):
    /// a larger session is answered with [`SessionError::TooLarge`].
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

    /// Every change makes another layer: a layer is one configuration, so
    /// a clone changed afterwards no longer owns the original's sessions.
    fn configure(mut self, change: impl FnOnce(&mut SessionConfig)) -> Self {
        change(Arc::make_mut(&mut self.config));
        self.id = LayerId::mint();
        self
    }

    fn try_configure(self, change: impl FnOnce(&mut SessionConfig)) -> Result<Self, ConfigError> {
        let layer = self.configure(change);
        layer.config.validate()?;
        Ok(layer)
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
