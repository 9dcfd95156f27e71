//! `SessionLayerBuilder`: every setting of a session layer, checked once
//! by `build`.
//!
//! The backend is chosen first ([`SessionLayer::builder`] for client-side
//! sessions, [`SessionLayer::store_builder`] for a store), so a setting
//! that means something for one backend only exists only on its builder.
//! The setters never fail and their order never matters: `build` checks
//! the whole configuration and reports every problem at once.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use cookie::SameSite;

use crate::clock::Clock;
use crate::codec::{self, Codec};
use crate::key::KeyRing;
use crate::layer_id::LayerId;
use crate::session::client::backend::{CookieBackend, HookedCookies};
use crate::session::layer::SessionLayer;
use crate::session::shared::backend::ErasedBackend;
use crate::session::shared::config::{
    ConfigError, ConfigProblem, Expiry, LoadFailure, SessionConfig,
};
use crate::session::shared::error::SessionError;
use crate::session::shared::error_response::{ErrorHandler, IntoErrorResponse};
use crate::session::shared::revocation::{load_hook, LoadHook};
use crate::session::store::backend::{StoreBackend, StoreSessions};
use crate::session::store::conflict::ConflictPolicy;
use crate::session::SessionData;
use crate::store::{SessionStore, StoreError};

/// The settings of a [`SessionLayer`], made by [`SessionLayer::builder`]
/// (client-side sessions) or [`SessionLayer::store_builder`] (sessions in
/// a store) and turned into the layer by [`build`](Self::build).
///
/// The defaults are the safe ones: cookie `id`, `Path=/`, `HttpOnly`,
/// `SameSite=Lax`, `Secure`, a browser-session cookie, and an absolute
/// timeout of two weeks enforced by the server. No setter fails: `build`
/// checks everything once and reports every problem it finds.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use serde::{Deserialize, Serialize};
/// use tower_cookie_sessions::{Expiry, Key, SessionLayer};
///
/// #[derive(Clone, Default, Serialize, Deserialize)]
/// struct Account {
///     user_id: Option<u64>,
/// }
///
/// # fn main() -> Result<(), tower_cookie_sessions::ConfigError> {
/// let layer = SessionLayer::<Account>::builder(Key::generate())
///     .cookie_name("__Host-session")
///     .expiry(Expiry::Inactivity(Duration::from_secs(30 * 60)))
///     .absolute_timeout(Duration::from_secs(24 * 60 * 60))
///     .build()?;
/// # let _ = layer;
/// # Ok(())
/// # }
/// ```
#[must_use = "a builder does nothing until `build` makes the layer"]
pub struct SessionLayerBuilder<T, B = CookieBackend> {
    config: SessionConfig,
    hook: Option<LoadHook<T>>,
    backend: B,
    /// A store layer's only; `None` keeps the type's default.
    conflict: Option<ConflictPolicy<T>>,
}

impl<T, B> SessionLayerBuilder<T, B> {
    pub(crate) fn new(keys: KeyRing, backend: B) -> Self {
        Self {
            config: SessionConfig::new(keys),
            hook: None,
            backend,
            conflict: None,
        }
    }

    /// Sets the cookie's name (default `id`).
    ///
    /// A name starting with `__Host-` is recommended: browsers then accept
    /// the cookie only with `Secure`, `Path=/` and no `Domain`, which is the
    /// only defence against a sibling subdomain setting its own cookie under
    /// this name. The name is sent, and looked for in requests, exactly as
    /// it is. `build` refuses a name cookie names cannot have, and a
    /// `__Host-` or `__Secure-` prefix that `Secure`, `Path` or `Domain`
    /// contradicts.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::{Key, SessionLayer};
    ///
    /// let builder = SessionLayer::<u8>::builder(Key::generate());
    /// assert!(builder.cookie_name("__Host-id").build().is_ok());
    /// let builder = SessionLayer::<u8>::builder(Key::generate());
    /// assert!(builder.cookie_name("no spaces").build().is_err());
    /// ```
    pub fn cookie_name(mut self, name: impl Into<String>) -> Self {
        self.config.cookie_name = name.into();
        self
    }

    /// Sets the cookie's `Path` (default `/`). It must start with `/`, and
    /// a `__Host-` cookie's must be `/`.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::{Key, SessionLayer};
    ///
    /// let layer = SessionLayer::<u8>::builder(Key::generate()).path("/app").build();
    /// assert!(layer.is_ok());
    /// ```
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.config.path = path.into();
        self
    }

    /// Sets the cookie's `Domain` (default none: the cookie goes only to the
    /// host that set it, which is safer). A `__Host-` cookie cannot have
    /// one.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::{Key, SessionLayer};
    ///
    /// let layer = SessionLayer::<u8>::builder(Key::generate()).domain("example.com").build();
    /// assert!(layer.is_ok());
    /// ```
    pub fn domain(mut self, domain: impl Into<String>) -> Self {
        self.config.domain = Some(domain.into());
        self
    }

    /// Sets whether the cookie is `Secure` (default `true`). Turn it off only
    /// for development over plain HTTP: browsers do not send `Secure`
    /// cookies there, except to `localhost`. `__Host-` and `__Secure-` names
    /// and `SameSite=None` need it.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::{Key, SessionLayer};
    ///
    /// let layer = SessionLayer::<u8>::builder(Key::generate()).secure(false).build();
    /// assert!(layer.is_ok());
    /// ```
    pub fn secure(mut self, secure: bool) -> Self {
        self.config.secure = secure;
        self
    }

    /// Sets whether the cookie is `HttpOnly`, hidden from JavaScript
    /// (default `true`).
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::{Key, SessionLayer};
    ///
    /// let layer = SessionLayer::<u8>::builder(Key::generate()).http_only(true).build();
    /// assert!(layer.is_ok());
    /// ```
    pub fn http_only(mut self, http_only: bool) -> Self {
        self.config.http_only = http_only;
        self
    }

    /// Sets the cookie's `SameSite` (default `Lax`). `SameSite::None`
    /// needs `Secure`.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::{Key, SameSite, SessionLayer};
    ///
    /// let layer = SessionLayer::<u8>::builder(Key::generate())
    ///     .same_site(SameSite::Strict)
    ///     .build();
    /// assert!(layer.is_ok());
    /// ```
    pub fn same_site(mut self, same_site: SameSite) -> Self {
        self.config.same_site = same_site;
        self
    }

    /// Sets when sessions end (default [`Expiry::OnBrowserClose`]). A
    /// `MaxAge` or `Inactivity` window over 400 days is refused: browsers
    /// would clip the cookie's `Max-Age` and end the session earlier than
    /// configured.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_cookie_sessions::{Expiry, Key, SessionLayer};
    ///
    /// let day = Duration::from_secs(24 * 60 * 60);
    /// let week = SessionLayer::<u8>::builder(Key::generate()).expiry(Expiry::MaxAge(7 * day));
    /// assert!(week.build().is_ok());
    /// let too_long = SessionLayer::<u8>::builder(Key::generate()).expiry(Expiry::MaxAge(401 * day));
    /// assert!(too_long.build().is_err());
    /// ```
    pub fn expiry(mut self, expiry: Expiry) -> Self {
        self.config.expiry = expiry;
        self
    }

    /// Caps every session's life from its issue (or renewal), whatever the
    /// activity; rolling refreshes never extend it. Default: two weeks, or
    /// the [`Expiry::MaxAge`] when that is set. Over 400 days, which
    /// browsers clip, is refused.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_cookie_sessions::{Key, SessionLayer};
    ///
    /// let layer = SessionLayer::<u8>::builder(Key::generate())
    ///     .absolute_timeout(Duration::from_secs(8 * 60 * 60))
    ///     .build();
    /// assert!(layer.is_ok());
    /// ```
    pub fn absolute_timeout(mut self, timeout: Duration) -> Self {
        self.config.absolute_timeout = Some(timeout);
        self
    }

    /// With [`Expiry::Inactivity`], how much of the idle window must pass
    /// before a request that only reads the session sends it again to slide
    /// the deadline (default `0.5`: half). Lower means fresher deadlines and
    /// more `Set-Cookie` headers. It must be greater than 0 and at most 1.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::{Key, SessionLayer};
    ///
    /// assert!(SessionLayer::<u8>::builder(Key::generate()).refresh_after(0.25).build().is_ok());
    /// assert!(SessionLayer::<u8>::builder(Key::generate()).refresh_after(0.0).build().is_err());
    /// ```
    pub fn refresh_after(mut self, fraction: f64) -> Self {
        self.config.refresh_fraction = fraction;
        self
    }

    /// Sets how long the layer waits for its store, or for the
    /// [`on_load`](Self::on_load) hook, before the operation counts as
    /// failed (default 2 seconds). A client-side layer without a hook never
    /// waits. While the store's [circuit breaker](crate::store::Breaker)
    /// is open, requests do not wait at all, and its probe waits at most
    /// 500 ms.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_cookie_sessions::{Key, MemoryStore, SessionLayer};
    ///
    /// let layer = SessionLayer::<u64>::store_builder(Key::generate(), MemoryStore::new())
    ///     .timeout(Duration::from_millis(500))
    ///     .build();
    /// assert!(layer.is_ok());
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.config.store_timeout = timeout;
        self
    }

    /// Sets how deeply nested a session's data may be when it is decoded
    /// (default 128 levels: each struct, enum, sequence, map or option is
    /// one). A cookie or store record nested deeper is refused like any
    /// unreadable session (a fresh session, logged) instead of overflowing
    /// the stack; raise it only for a recursive session type that
    /// legitimately nests deeper.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::{Key, SessionLayer};
    ///
    /// let layer = SessionLayer::<Vec<Vec<u8>>>::builder(Key::generate())
    ///     .max_decode_depth(16)
    ///     .build();
    /// assert!(layer.is_ok());
    /// ```
    pub fn max_decode_depth(mut self, levels: usize) -> Self {
        self.config.max_decode_depth = levels;
        self
    }

    /// Sets how the session type is serialized (default
    /// [`Codec::Bincode`], the most compact). Choose [`Codec::Cbor`] for a
    /// type with serde attributes that need field names or tags:
    /// `skip_serializing_if`, `flatten`, internally tagged or untagged
    /// enums. The codec is sealed into every session, so after a switch
    /// sessions written with the other one start fresh.
    ///
    /// # Examples
    ///
    /// ```
    /// use serde::{Deserialize, Serialize};
    /// use tower_cookie_sessions::{Codec, Key, SessionLayer};
    ///
    /// #[derive(Clone, Default, Serialize, Deserialize)]
    /// #[serde(tag = "kind")]
    /// enum Visitor {
    ///     #[default]
    ///     Anonymous,
    ///     User { id: u64 },
    /// }
    ///
    /// let layer = SessionLayer::<Visitor>::builder(Key::generate())
    ///     .codec(Codec::Cbor)
    ///     .build();
    /// assert!(layer.is_ok());
    /// ```
    pub fn codec(mut self, codec: Codec) -> Self {
        self.config.codec = codec;
        self
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
    /// let layer = SessionLayer::<u8>::builder(Key::generate()).schema_version(2).build();
    /// assert!(layer.is_ok());
    /// ```
    pub fn schema_version(mut self, version: u32) -> Self {
        self.config.schema_version = version;
        self
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
    /// let layer = SessionLayer::<u8>::builder(Key::generate())
    ///     .clock(|| UNIX_EPOCH + Duration::from_secs(1_700_000_000))
    ///     .build();
    /// assert!(layer.is_ok());
    /// ```
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.config.clock = Arc::new(clock);
        self
    }

    /// Sets the response sent instead of the handler's when the session
    /// cannot be loaded or sent (see [`SessionError`]). By default: the
    /// error's [status](SessionError::status) and
    /// [generic message](SessionError::public_message) as plain text.
    ///
    /// # Examples
    ///
    /// ```
    /// use http::{Response, StatusCode};
    /// use tower_cookie_sessions::{Key, SessionLayer};
    ///
    /// let layer = SessionLayer::<u8>::builder(Key::generate())
    ///     .on_error(|error| {
    ///         let mut response = Response::new(format!("{{\"error\":\"{error}\"}}"));
    ///         *response.status_mut() = error.status();
    ///         response
    ///     })
    ///     .build();
    /// assert!(layer.is_ok());
    /// ```
    pub fn on_error<F, R>(mut self, handler: F) -> Self
    where
        F: Fn(&SessionError) -> R + Send + Sync + 'static,
        R: IntoErrorResponse,
    {
        let handler: ErrorHandler = Arc::new(move |error| handler(error).into_error_response());
        self.config.on_error = handler;
        self
    }
}

impl<T: SessionData, B> SessionLayerBuilder<T, B> {
    /// Runs `hook` on every session loaded from an authentic cookie or
    /// store record, with its data and issue time (when it was started, or
    /// last [renewed](crate::Session::renew)), before the handler gets it:
    /// `Ok(true)` keeps it, `Ok(false)` refuses it. A refused session is
    /// a fresh one; the response removes its cookies, and a store layer
    /// deletes its record. This is how a session is signed out before its
    /// deadline from what it holds: "sign out my other devices" keeps a
    /// per-user generation number in the application's database and in
    /// the session, and refuses sessions of an older generation.
    ///
    /// The hook is called with the data borrowed; its future must own
    /// what it needs (copy the user id out). Requests without an authentic
    /// session never call it, nor do sessions the
    /// [revocation](SessionLayer::revocation) cutoff refuses first.
    ///
    /// When it fails:
    ///
    /// - `Err(error)`, or no answer within [`timeout`](Self::timeout) (2
    ///   seconds by default), is [`SessionError::Load`]: the response is
    ///   `503` through [`on_error`](Self::on_error), the handler does not
    ///   run, and the browser keeps its cookies for the next try. Wrap your
    ///   own errors with [`StoreError::backend`]. The timeout needs a tokio
    ///   runtime only when the hook's future has to wait.
    /// - A panic in the hook unwinds out of the handler's session load
    ///   like a panic in the handler: with tower-http's `CatchPanicLayer`
    ///   the answer is its `500`; no session cookie is sent or removed.
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
    /// let layer = SessionLayer::<Account>::builder(Key::generate())
    ///     .on_load({
    ///         let generations = Arc::clone(&generations);
    ///         move |account: &Account, _issued| {
    ///             let current = account.user_id.map(|user| {
    ///                 let generations = generations.lock().expect("not poisoned");
    ///                 generations.get(&user).copied().unwrap_or(0)
    ///             });
    ///             let keep = current.is_none_or(|current| current == account.generation);
    ///             async move { Ok(keep) }
    ///         }
    ///     })
    ///     .build()?;
    /// # let _ = layer;
    /// # Ok(())
    /// # }
    /// ```
    pub fn on_load<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(&T, SystemTime) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<bool, StoreError>> + Send + 'static,
    {
        self.hook = Some(load_hook(hook));
        self
    }

    /// Every problem of the settings every backend shares, and of the
    /// session type.
    fn problems(&self) -> Vec<ConfigProblem> {
        let mut problems = self.config.problems();
        if let Err(error) = codec::check_round_trip::<T>(self.config.codec) {
            problems.push(ConfigProblem::UnsupportedType {
                type_name: std::any::type_name::<T>(),
                codec: self.config.codec,
                reason: error.to_string(),
            });
        }
        problems
    }
}

impl<T: SessionData> SessionLayerBuilder<T, CookieBackend> {
    /// Sets the most a session's cookies may take, names plus values
    /// (default 8 KB). A session that does not fit in one cookie (4096
    /// bytes, name included) is split across `NAME.0`, `NAME.1`... up to
    /// this total; a larger one is not sent: the response is
    /// [`SessionError::TooLarge`] through [`on_error`](Self::on_error),
    /// and the browser keeps the cookies it had. It must be between one
    /// cookie (4096) and 50 of them.
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
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::{Key, SessionLayer};
    ///
    /// let layer = SessionLayer::<Vec<String>>::builder(Key::generate())
    ///     .max_cookie_size(16 * 1024)
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(layer.cookie_size_limit(), 16 * 1024);
    ///
    /// let small = SessionLayer::<Vec<String>>::builder(Key::generate()).max_cookie_size(1024);
    /// assert!(small.build().is_err());
    /// ```
    pub fn max_cookie_size(mut self, bytes: usize) -> Self {
        self.config.max_cookie_size = bytes;
        self
    }

    /// Checks every setting and makes the layer.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] listing every problem found: a cookie name,
    /// `Path` or `Domain` browsers would not keep, a `__Host-`/`__Secure-`
    /// prefix or `SameSite=None` that the other attributes contradict, a
    /// lifetime over 400 days, a refresh fraction outside `(0, 1]`, a
    /// cookie size limit out of range, or a session type whose default value
    /// does not survive its codec.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::{Key, SessionLayer};
    ///
    /// # fn main() -> Result<(), tower_cookie_sessions::ConfigError> {
    /// let layer = SessionLayer::<Vec<String>>::builder(Key::generate()).secure(false).build()?;
    /// # let _ = layer;
    /// # Ok(())
    /// # }
    /// ```
    pub fn build(self) -> Result<SessionLayer<T, CookieBackend>, ConfigError> {
        let mut problems = self.problems();
        problems.extend(self.config.cookie_size_problem());
        ConfigError::check(problems)?;
        let backend: Arc<dyn ErasedBackend<T>> = match self.hook {
            Some(hook) => Arc::new(HookedCookies::new(hook)),
            None => Arc::new(CookieBackend),
        };
        Ok(SessionLayer::from_parts(
            LayerId::mint(),
            Arc::new(self.config),
            backend,
            CookieBackend,
        ))
    }
}

impl<T: SessionData, S: SessionStore> SessionLayerBuilder<T, StoreBackend<S>> {
    /// Sets what happens when a save loses a race with another request
    /// (default [`ConflictPolicy::Error`]: `409 Conflict`; for
    /// [`SessionMap`](crate::SessionMap) sessions,
    /// [`ConflictPolicy::merge_keys`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::{ConflictPolicy, Key, MemoryStore, SessionLayer};
    ///
    /// # fn main() -> Result<(), tower_cookie_sessions::ConfigError> {
    /// let layer = SessionLayer::<u64>::store_builder(Key::generate(), MemoryStore::new())
    ///     .conflict_policy(ConflictPolicy::merge(|loaded, mine, latest| Some(latest + (mine - loaded))))
    ///     .build()?;
    /// # let _ = layer;
    /// # Ok(())
    /// # }
    /// ```
    pub fn conflict_policy(mut self, policy: ConflictPolicy<T>) -> Self {
        self.conflict = Some(policy);
        self
    }

    /// Sets what happens when the store cannot load a session (default
    /// [`LoadFailure::Fail`]: `503 Service Unavailable`).
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::{Key, LoadFailure, MemoryStore, SessionLayer};
    ///
    /// # fn main() -> Result<(), tower_cookie_sessions::ConfigError> {
    /// let layer = SessionLayer::<u64>::store_builder(Key::generate(), MemoryStore::new())
    ///     .on_load_failure(LoadFailure::ContinueEmpty)
    ///     .build()?;
    /// # let _ = layer;
    /// # Ok(())
    /// # }
    /// ```
    pub fn on_load_failure(mut self, policy: LoadFailure) -> Self {
        self.config.load_failure = policy;
        self
    }

    /// Sets the largest record the layer writes to the store, in bytes of
    /// record data (default 1 MB). A session that would be larger is not
    /// written: the response is [`SessionError::TooLarge`] through
    /// [`on_error`](Self::on_error), and the stored session stays as it
    /// was. One visitor cannot fill a shared store.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::{Key, MemoryStore, SessionLayer};
    ///
    /// # fn main() -> Result<(), tower_cookie_sessions::ConfigError> {
    /// let layer = SessionLayer::<Vec<String>>::store_builder(Key::generate(), MemoryStore::new())
    ///     .max_record_size(64 * 1024)
    ///     .build()?;
    /// # let _ = layer;
    /// # Ok(())
    /// # }
    /// ```
    pub fn max_record_size(mut self, bytes: usize) -> Self {
        self.config.max_record_size = bytes;
        self
    }

    /// Checks every setting and makes the layer.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] listing every problem found, as for a client-side
    /// layer's [`build`](SessionLayerBuilder::build) (without the cookie
    /// size limit, which store sessions do not have).
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::{Key, MemoryStore, SessionLayer};
    ///
    /// # fn main() -> Result<(), tower_cookie_sessions::ConfigError> {
    /// let layer = SessionLayer::<Vec<String>>::store_builder(Key::generate(), MemoryStore::new())
    ///     .cookie_name("__Host-sid")
    ///     .build()?;
    /// # let _ = layer;
    /// # Ok(())
    /// # }
    /// ```
    pub fn build(self) -> Result<SessionLayer<T, StoreBackend<S>>, ConfigError> {
        ConfigError::check(self.problems())?;
        let conflict = self.conflict.unwrap_or_else(ConflictPolicy::default_for);
        let backend = StoreSessions::new(
            Arc::clone(&self.backend.store),
            self.config.store_timeout,
            conflict,
            self.hook,
        );
        Ok(SessionLayer::from_parts(
            LayerId::mint(),
            Arc::new(self.config),
            Arc::new(backend),
            self.backend,
        ))
    }
}

impl<T, B> fmt::Debug for SessionLayerBuilder<T, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionLayerBuilder")
            .field("type", &std::any::type_name::<T>())
            .field("backend", &std::any::type_name::<B>())
            .field("config", &self.config)
            .field("on_load", &self.hook.is_some())
            .finish()
    }
}
