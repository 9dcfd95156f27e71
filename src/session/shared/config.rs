//! The session layer's configuration, checked when it is built.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use cookie::SameSite;

use crate::clock::{Clock, SystemClock};
use crate::codec::Codec;
use crate::envelope::MAX_COOKIE_SIZE;
use crate::key::KeyRing;
use crate::session::shared::error_response::{default_handler, ErrorHandler};
use crate::session::shared::revocation::Revocation;
use crate::session::shared::undecodable::Undecodable;
use crate::syntax::{is_attribute_value, is_token};

/// How long a session lasts when [`Expiry`] does not say: two weeks.
pub(crate) const DEFAULT_ABSOLUTE_TIMEOUT: Duration = Duration::from_secs(14 * 24 * 60 * 60);

/// The longest lifetime browsers keep a cookie: Chromium and the cookie
/// specification draft (RFC 6265bis) clip `Max-Age` and `Expires` to 400
/// days, so a longer setting would silently end sessions earlier than
/// configured.
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::session::MAX_COOKIE_LIFETIME;
///
/// assert_eq!(MAX_COOKIE_LIFETIME.as_secs(), 400 * 24 * 60 * 60);
/// ```
pub const MAX_COOKIE_LIFETIME: Duration = Duration::from_secs(400 * 24 * 60 * 60);

/// The longest `Path` or `Domain` attribute browsers accept: Chromium
/// ignores a longer one (RFC 6265bis), which would leave the cookie on
/// the wrong paths or host.
pub(crate) const MAX_ATTRIBUTE_LEN: usize = 1024;

/// The most a client-side session's cookies may take by default, names
/// plus values: 8 KB, two full cookies. Servers refuse larger `Cookie`
/// headers (nginx answers `400` to a header line over its 8 KB buffer, on
/// every request, logout included), and browsers keep a limited number of
/// cookies per site (Chromium 180, shared with its subdomains).
pub(crate) const DEFAULT_MAX_COOKIE_SIZE: usize = 2 * MAX_COOKIE_SIZE;

/// The most cookies a client-side session is split across: `NAME.0` to
/// `NAME.49`, so [`SessionLayerBuilder::max_cookie_size`](crate::session::SessionLayerBuilder::max_cookie_size)
/// accepts at most `MAX_COOKIE_CHUNKS` full cookies (200 KB).
pub(crate) const MAX_COOKIE_CHUNKS: usize = 50;

/// The largest `max_cookie_size` a layer accepts: every chunk full.
pub(crate) const MAX_SESSION_COOKIES_SIZE: usize = MAX_COOKIE_CHUNKS * MAX_COOKIE_SIZE;

/// How far in the future a session's issue time may be before it is
/// refused: servers' clocks differ a little, forged times differ a lot.
pub(crate) const CLOCK_SKEW_SECONDS: u64 = 60;

/// When a session ends.
///
/// Whatever the choice, the deadlines are sealed into the cookie and
/// enforced by the server; the cookie's own `Max-Age` only tells the browser
/// when to forget it.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tower_cookie_sessions::{Expiry, Key, SessionLayer};
///
/// # fn main() -> Result<(), tower_cookie_sessions::ConfigError> {
/// let layer = SessionLayer::<u32>::builder(Key::generate())
///     .expiry(Expiry::Inactivity(Duration::from_secs(30 * 60)))
///     .absolute_timeout(Duration::from_secs(12 * 60 * 60))
///     .build()?;
/// # let _ = layer;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Expiry {
    /// A browser-session cookie (no `Max-Age`): the browser forgets it when
    /// it closes. The server still refuses it after the absolute timeout.
    OnBrowserClose,
    /// A persistent cookie that lives this long from when the session was
    /// issued, whatever the activity. The absolute timeout, when set, caps it.
    MaxAge(Duration),
    /// A persistent cookie that ends after this long without a request that
    /// uses the session. Activity extends it (see
    /// [`SessionLayerBuilder::refresh_after`](crate::session::SessionLayerBuilder::refresh_after)),
    /// never past the absolute timeout.
    Inactivity(Duration),
}

/// One thing wrong with a session layer's configuration; see
/// [`ConfigError`].
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::session::ConfigProblem;
///
/// assert_eq!(
///     ConfigProblem::PrefixRequiresSecure("__Host-").to_string(),
///     "a `__Host-` cookie must be `Secure`"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigProblem {
    /// The cookie name is empty or has characters a cookie name cannot have.
    InvalidCookieName(String),
    /// The `Domain` attribute has characters a cookie attribute cannot have.
    InvalidDomain(String),
    /// The `Path` attribute does not start with `/` or has characters a
    /// cookie attribute cannot have.
    InvalidPath(String),
    /// A `__Host-` or `__Secure-` cookie without `Secure`: browsers refuse it.
    PrefixRequiresSecure(&'static str),
    /// A `__Host-` cookie with a `Domain`: browsers refuse it.
    HostPrefixForbidsDomain,
    /// A `__Host-` cookie with a `Path` other than `/`: browsers refuse it.
    HostPrefixRequiresRootPath,
    /// `SameSite=None` without `Secure`: browsers refuse it.
    SameSiteNoneRequiresSecure,
    /// The rolling refresh fraction is not in `(0, 1]`.
    InvalidRefreshFraction,
    /// A `Path` or `Domain` longer than 1024 bytes, which
    /// browsers ignore.
    AttributeTooLong {
        /// `"Path"` or `"Domain"`.
        attribute: &'static str,
        /// Its length in bytes.
        len: usize,
    },
    /// An [`Expiry`] or absolute timeout longer than
    /// [`MAX_COOKIE_LIFETIME`] (400 days), which browsers clip.
    LifetimeTooLong {
        /// `"expiry"` or `"absolute_timeout"`.
        setting: &'static str,
        /// The duration asked for.
        duration: Duration,
    },
    /// A [`max_cookie_size`](crate::session::SessionLayerBuilder::max_cookie_size) below
    /// one cookie (4096 bytes) or above 50 of them.
    CookieSizeOutOfRange(usize),
    /// The session type's default value does not survive a round trip
    /// through the layer's [`Codec`].
    UnsupportedType {
        /// The session type's name.
        type_name: &'static str,
        /// The codec it was tried with.
        codec: Codec,
        /// What went wrong.
        reason: String,
    },
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigProblem::InvalidCookieName(name) => {
                write!(f, "cookie name {name:?} has characters cookie names cannot have")
            }
            ConfigProblem::InvalidDomain(domain) => {
                write!(f, "cookie domain {domain:?} has characters cookie attributes cannot have")
            }
            ConfigProblem::InvalidPath(path) => write!(
                f,
                "cookie path {path:?} must start with `/` and have only characters cookie attributes can have"
            ),
            ConfigProblem::PrefixRequiresSecure(prefix) => {
                write!(f, "a `{prefix}` cookie must be `Secure`")
            }
            ConfigProblem::HostPrefixForbidsDomain => {
                f.write_str("a `__Host-` cookie cannot have a `Domain`")
            }
            ConfigProblem::HostPrefixRequiresRootPath => {
                f.write_str("a `__Host-` cookie must have `Path=/`")
            }
            ConfigProblem::SameSiteNoneRequiresSecure => {
                f.write_str("`SameSite=None` requires `Secure`")
            }
            ConfigProblem::InvalidRefreshFraction => {
                f.write_str("the refresh fraction must be greater than 0 and at most 1")
            }
            ConfigProblem::AttributeTooLong { attribute, len } => write!(
                f,
                "cookie `{attribute}` is {len} bytes; browsers ignore one over {MAX_ATTRIBUTE_LEN}"
            ),
            ConfigProblem::LifetimeTooLong { setting, duration } => write!(
                f,
                "`{setting}` of {} days is over the 400 days browsers keep a cookie",
                duration.as_secs() / (24 * 60 * 60)
            ),
            ConfigProblem::CookieSizeOutOfRange(size) => write!(
                f,
                "a session cookie size limit of {size} bytes is not between one cookie \
                 ({MAX_COOKIE_SIZE}) and {MAX_COOKIE_CHUNKS} of them \
                 ({MAX_SESSION_COOKIES_SIZE})"
            ),
            ConfigProblem::UnsupportedType {
                type_name,
                codec: Codec::Bincode,
                reason,
            } => write!(
                f,
                "session type `{type_name}` does not survive a bincode round trip ({reason}); \
                 build the layer with `.codec(Codec::Cbor)` to keep `skip_serializing_if`, \
                 `flatten`, untagged or internally tagged enums"
            ),
            ConfigProblem::UnsupportedType {
                type_name,
                codec,
                reason,
            } => write!(
                f,
                "session type `{type_name}` does not survive a {} round trip ({reason})",
                codec.name()
            ),
        }
    }
}

impl std::error::Error for ConfigProblem {}

/// A configuration the session layer refuses: every problem
/// [`build`](crate::session::SessionLayerBuilder::build) found, checked once
/// and all together, so the order of the builder's calls never matters and
/// a bad setting never reaches a `Set-Cookie` header.
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::session::ConfigProblem;
/// use tower_cookie_sessions::{Key, SessionLayer};
///
/// let error = SessionLayer::<u32>::builder(Key::generate())
///     .cookie_name("__Host-id")
///     .secure(false)
///     .path("/app")
///     .build()
///     .unwrap_err();
/// assert_eq!(
///     error.problems(),
///     [
///         ConfigProblem::PrefixRequiresSecure("__Host-"),
///         ConfigProblem::HostPrefixRequiresRootPath,
///     ]
/// );
/// assert_eq!(
///     error.to_string(),
///     "2 problems with the session layer's configuration: a `__Host-` cookie must be `Secure`; \
///      a `__Host-` cookie must have `Path=/`"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    problems: Vec<ConfigProblem>,
}

impl ConfigError {
    /// Every problem found, in a fixed order (the cookie's attributes, then
    /// its lifetime and size, then the session type).
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::{Key, SessionLayer};
    ///
    /// let error = SessionLayer::<u32>::builder(Key::generate())
    ///     .cookie_name("no spaces")
    ///     .build()
    ///     .unwrap_err();
    /// assert_eq!(error.problems().len(), 1);
    /// ```
    #[must_use]
    pub fn problems(&self) -> &[ConfigProblem] {
        &self.problems
    }

    /// `Err` with every problem in `problems`, if there is one.
    pub(crate) fn check(problems: Vec<ConfigProblem>) -> Result<(), Self> {
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Self { problems })
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.problems.as_slice() {
            [one] => write!(f, "{one}"),
            problems => {
                write!(
                    f,
                    "{} problems with the session layer's configuration: ",
                    problems.len()
                )?;
                for (i, problem) in problems.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    write!(f, "{problem}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ConfigError {}

/// Everything the session layer needs at run time, shared by every request.
#[derive(Clone)]
pub(crate) struct SessionConfig {
    pub(crate) keys: Arc<KeyRing>,
    pub(crate) cookie_name: String,
    pub(crate) path: String,
    pub(crate) domain: Option<String>,
    pub(crate) secure: bool,
    pub(crate) http_only: bool,
    pub(crate) same_site: SameSite,
    pub(crate) expiry: Expiry,
    pub(crate) absolute_timeout: Option<Duration>,
    pub(crate) refresh_fraction: f64,
    pub(crate) schema_version: u32,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) on_error: ErrorHandler,
    pub(crate) store_timeout: Duration,
    pub(crate) load_failure: LoadFailure,
    pub(crate) max_record_size: usize,
    pub(crate) max_decode_depth: usize,
    pub(crate) codec: Codec,
    /// Rate-limits the warning for authentic sessions that do not decode.
    pub(crate) undecodable: Arc<Undecodable>,
    /// The most a client-side session's cookies take, names plus values.
    pub(crate) max_cookie_size: usize,
    /// Client-side sessions issued before its cutoff are refused.
    pub(crate) revocation: Revocation,
}

/// How long one store operation may take by default.
pub(crate) const DEFAULT_STORE_TIMEOUT: Duration = Duration::from_secs(2);

/// The largest store record a layer writes by default: 1 MB of record data.
/// A session that grows past it is refused before it reaches the store, so
/// one visitor cannot fill a shared store (or a Redis value's memory).
pub(crate) const DEFAULT_MAX_RECORD_SIZE: usize = 1024 * 1024;

/// How deeply nested session data may be by default when decoded: 128
/// levels, far more than any session type needs and far less than would
/// overflow a thread's stack.
pub(crate) const DEFAULT_MAX_DECODE_DEPTH: usize = crate::codec::DEFAULT_MAX_DEPTH;

/// What a server-side session layer does when its store cannot load a
/// session (an error or a timeout).
///
/// That includes a store the layer does not ask because its circuit
/// breaker is open ([`StoreError::CircuitOpen`](crate::store::StoreError::CircuitOpen)):
/// while the store is down, each request is answered at once, with the
/// `503` or the empty session, instead of waiting out the timeout; see
/// [`store::Breaker`](crate::store::Breaker). Saves answer `503` whatever
/// this says: a session that cannot be saved is not pretended saved.
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum LoadFailure {
    /// Answer `503 Service Unavailable` (through the
    /// [`on_error`](crate::session::SessionLayerBuilder::on_error) hook); the handler does
    /// not run. The default.
    #[default]
    Fail,
    /// Give the handler an empty session that is never saved, so pages that
    /// can live without the session keep working while the store is down.
    ContinueEmpty,
}

impl SessionConfig {
    pub(crate) fn new(keys: KeyRing) -> Self {
        Self {
            keys: Arc::new(keys),
            cookie_name: "id".to_owned(),
            path: "/".to_owned(),
            domain: None,
            secure: true,
            http_only: true,
            same_site: SameSite::Lax,
            expiry: Expiry::OnBrowserClose,
            absolute_timeout: None,
            refresh_fraction: 0.5,
            schema_version: 0,
            clock: Arc::new(SystemClock),
            on_error: Arc::new(default_handler),
            store_timeout: DEFAULT_STORE_TIMEOUT,
            load_failure: LoadFailure::Fail,
            max_record_size: DEFAULT_MAX_RECORD_SIZE,
            max_decode_depth: DEFAULT_MAX_DECODE_DEPTH,
            codec: Codec::default(),
            undecodable: Arc::default(),
            max_cookie_size: DEFAULT_MAX_COOKIE_SIZE,
            revocation: Revocation::new(),
        }
    }

    /// How long after issue a session ends, whatever the activity.
    pub(crate) fn lifetime(&self) -> Duration {
        match (self.expiry, self.absolute_timeout) {
            (Expiry::MaxAge(age), Some(cap)) => age.min(cap),
            (Expiry::MaxAge(age), None) => age,
            (_, Some(cap)) => cap,
            (_, None) => DEFAULT_ABSOLUTE_TIMEOUT,
        }
    }

    /// The inactivity window, if sessions have one.
    pub(crate) fn idle_timeout(&self) -> Option<Duration> {
        match self.expiry {
            Expiry::Inactivity(idle) => Some(idle),
            _ => None,
        }
    }

    /// Whether new sessions get a persistent cookie.
    pub(crate) fn persistent_by_default(&self) -> bool {
        !matches!(self.expiry, Expiry::OnBrowserClose)
    }

    /// What is wrong with the cookie's attributes, checked against each
    /// other, the name's prefix and what browsers accept, and with the
    /// session's lifetime: every problem, in a fixed order.
    pub(crate) fn problems(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if !is_token(&self.cookie_name) {
            problems.push(ConfigProblem::InvalidCookieName(self.cookie_name.clone()));
        }
        if !self.path.starts_with('/') || !is_attribute_value(&self.path) {
            problems.push(ConfigProblem::InvalidPath(self.path.clone()));
        }
        if let Some(domain) = &self.domain {
            if domain.is_empty() || !is_attribute_value(domain) {
                problems.push(ConfigProblem::InvalidDomain(domain.clone()));
            }
        }
        for (attribute, value) in [("Path", Some(&self.path)), ("Domain", self.domain.as_ref())] {
            if let Some(value) = value.filter(|value| value.len() > MAX_ATTRIBUTE_LEN) {
                problems.push(ConfigProblem::AttributeTooLong {
                    attribute,
                    len: value.len(),
                });
            }
        }
        // Browsers match the prefixes case-insensitively.
        let lower = self.cookie_name.to_ascii_lowercase();
        if lower.starts_with("__host-") {
            if !self.secure {
                problems.push(ConfigProblem::PrefixRequiresSecure("__Host-"));
            }
            if self.domain.is_some() {
                problems.push(ConfigProblem::HostPrefixForbidsDomain);
            }
            if self.path != "/" {
                problems.push(ConfigProblem::HostPrefixRequiresRootPath);
            }
        } else if lower.starts_with("__secure-") && !self.secure {
            problems.push(ConfigProblem::PrefixRequiresSecure("__Secure-"));
        }
        if self.same_site == SameSite::None && !self.secure {
            problems.push(ConfigProblem::SameSiteNoneRequiresSecure);
        }
        let expiry = match self.expiry {
            Expiry::OnBrowserClose => None,
            Expiry::MaxAge(duration) | Expiry::Inactivity(duration) => Some(duration),
        };
        for (setting, duration) in [
            ("expiry", expiry),
            ("absolute_timeout", self.absolute_timeout),
        ] {
            if let Some(duration) = duration.filter(|duration| *duration > MAX_COOKIE_LIFETIME) {
                problems.push(ConfigProblem::LifetimeTooLong { setting, duration });
            }
        }
        if !(self.refresh_fraction > 0.0 && self.refresh_fraction <= 1.0) {
            problems.push(ConfigProblem::InvalidRefreshFraction);
        }
        problems
    }

    /// What is wrong with the limit on a client-side session's cookies.
    pub(crate) fn cookie_size_problem(&self) -> Option<ConfigProblem> {
        (!(MAX_COOKIE_SIZE..=MAX_SESSION_COOKIES_SIZE).contains(&self.max_cookie_size))
            .then_some(ConfigProblem::CookieSizeOutOfRange(self.max_cookie_size))
    }
}

impl fmt::Debug for SessionConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionConfig")
            .field("keys", &self.keys)
            .field("cookie_name", &self.cookie_name)
            .field("path", &self.path)
            .field("domain", &self.domain)
            .field("secure", &self.secure)
            .field("http_only", &self.http_only)
            .field("same_site", &self.same_site)
            .field("expiry", &self.expiry)
            .field("absolute_timeout", &self.absolute_timeout)
            .field("refresh_fraction", &self.refresh_fraction)
            .field("schema_version", &self.schema_version)
            .field("clock", &crate::clock::ClockDebug)
            .field("store_timeout", &self.store_timeout)
            .field("load_failure", &self.load_failure)
            .field("max_record_size", &self.max_record_size)
            .field("max_decode_depth", &self.max_decode_depth)
            .field("codec", &self.codec)
            .field("max_cookie_size", &self.max_cookie_size)
            .field("revocation", &self.revocation)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::Key;

    #[test]
    fn lifetime_follows_expiry_and_cap() {
        let mut config = SessionConfig::new(KeyRing::from(Key::generate()));
        assert_eq!(config.lifetime(), DEFAULT_ABSOLUTE_TIMEOUT);
        config.expiry = Expiry::MaxAge(Duration::from_secs(30 * 24 * 3600));
        assert_eq!(config.lifetime(), Duration::from_secs(30 * 24 * 3600));
        config.absolute_timeout = Some(Duration::from_secs(60));
        assert_eq!(config.lifetime(), Duration::from_secs(60));
        config.expiry = Expiry::Inactivity(Duration::from_secs(600));
        assert_eq!(config.lifetime(), Duration::from_secs(60));
        assert_eq!(config.idle_timeout(), Some(Duration::from_secs(600)));
    }
}
