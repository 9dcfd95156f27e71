// The README links the guides as files in `docs/`, which is right on
// GitHub; on docs.rs these definitions come first, so they win, and the
// same links lead to the guides' pages there.
#![doc = "[guide-ts]: guide::from_tower_sessions"]
#![doc = "[guide-ae]: guide::from_axum_extra"]
// The README's links to files beside it resolve on GitHub; on docs.rs they
// lead to the same files in docs.rs's view of the published package
// (`fuzz/` is a package of its own, so it is not in this one).
#![doc = "[benches-readme]: https://docs.rs/crate/tower-cookie-sessions/latest/source/benches/README.md"]
#![doc = "[contributing]: https://docs.rs/crate/tower-cookie-sessions/latest/source/CONTRIBUTING.md"]
#![doc = "[security]: https://docs.rs/crate/tower-cookie-sessions/latest/source/SECURITY.md"]
#![doc = "[changelog]: https://docs.rs/crate/tower-cookie-sessions/latest/source/CHANGELOG.md"]
#![doc = "[examples]: https://docs.rs/crate/tower-cookie-sessions/latest/source/examples/"]
#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(
    missing_docs,
    unreachable_pub,
    missing_debug_implementations,
    rust_2018_idioms
)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod clock;
mod codec;
pub mod cookies;
pub mod envelope;
pub mod flash;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod guide;
mod headers;
mod key;
mod layer_id;
mod map;
mod request;
pub mod session;
pub mod store;
mod syntax;
#[cfg(feature = "test-util")]
pub mod testing;

pub use clock::{Clock, SystemClock};
pub use codec::Codec;
pub use cookies::{CookieError, CookieLayer, Cookies, PrivateCookies};
pub use flash::Flash;
pub use key::{Key, KeyError, KeyRing};
pub use map::{MergeConflict, SessionMap, SessionMapError};
pub use session::{
    ConfigError, ConfigProblem, ConflictPolicy, Expiry, LoadFailure, Session, SessionError,
    SessionLayer, SessionLayerBuilder,
};
#[cfg(feature = "memory-store")]
pub use store::MemoryStore;
pub use store::StoreError;

/// Cookie types from the [`cookie`](https://docs.rs/cookie) crate, used by
/// [`Cookies`].
pub use cookie::{Cookie, SameSite};

/// The `redis` crate, to build connections for
/// [`RedisStore::new`](store::RedisStore::new) without a direct dependency.
#[cfg(feature = "redis")]
pub use redis;

/// The `sqlx` crate, to build pools for the SQL stores without a direct
/// dependency.
#[cfg(any(feature = "postgres", feature = "sqlite", feature = "mysql"))]
pub use sqlx;
