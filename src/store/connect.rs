//! `connect(url)`: the store a URL names, among those compiled in.

use std::fmt;

use crate::store::{AnyStore, StoreError};

/// Connects to the store `url` names and returns it as an [`AnyStore`],
/// with its owner index: the way to move an application from one machine
/// to a cluster, or from SQLite to PostgreSQL, by configuration alone.
///
/// | URL | store | feature |
/// |---|---|---|
/// | `memory` | [`MemoryStore`](crate::store::MemoryStore) | `memory-store` |
/// | `redis://…`, `rediss://…` | `RedisStore` | `redis` |
/// | `redis+cluster://host:port,host:port,…` (`rediss+cluster://` for TLS) | `RedisStore` over Redis Cluster | `redis` |
/// | `postgres://…`, `postgresql://…` | `PostgresStore` | `postgres` |
/// | `mysql://…`, `mariadb://…` | `MySqlStore` | `mysql` |
/// | `sqlite://PATH` | `SqliteStore` | `sqlite` |
///
/// SQL stores get their table created ([`migrate`](crate::store) is run);
/// spawn [`AnyStore::cleanup_task`] to delete their expired rows.
///
/// # Errors
///
/// [`ConnectError::Unknown`] for a URL of no store above,
/// [`ConnectError::FeatureMissing`] naming the cargo feature a known
/// scheme needs, [`ConnectError::Store`] when the store cannot be reached
/// or set up. Errors never repeat the URL, which may hold a password.
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::store::{connect, ConnectError};
/// use tower_cookie_sessions::{Key, SessionLayer};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let url = std::env::var("SESSION_STORE").unwrap_or_else(|_| "memory".to_owned());
/// # let url = "memory";
/// let store = connect(&url).await?;
/// let layer = SessionLayer::<u64, _>::store_builder(Key::generate(), store).build()?;
/// # let _ = layer;
/// assert!(matches!(connect("ftp://example.com").await, Err(ConnectError::Unknown)));
/// # Ok(())
/// # }
/// ```
pub async fn connect(url: &str) -> Result<AnyStore, ConnectError> {
    let scheme = url.split_once("://").map_or(url, |(scheme, _)| scheme);
    match scheme.to_ascii_lowercase().as_str() {
        "memory" => memory(),
        "redis" | "rediss" => redis(url).await,
        "redis+cluster" | "rediss+cluster" => redis_cluster(url).await,
        "postgres" | "postgresql" => postgres(url).await,
        "mysql" | "mariadb" => mysql(url).await,
        "sqlite" => sqlite(url).await,
        _ => Err(ConnectError::Unknown),
    }
}

/// Why [`connect`] found no store.
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::store::ConnectError;
///
/// let error = ConnectError::FeatureMissing { scheme: "redis", feature: "redis" };
/// assert_eq!(
///     error.to_string(),
///     "a redis session store needs the `redis` feature of tower-cookie-sessions"
/// );
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum ConnectError {
    /// The URL names no store this crate has.
    Unknown,
    /// The store is one this crate has, but not in this build.
    FeatureMissing {
        /// The kind of store the URL names.
        scheme: &'static str,
        /// The cargo feature to enable.
        feature: &'static str,
    },
    /// The store could not be reached or set up.
    Store(StoreError),
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectError::Unknown => f.write_str(
                "not a session store URL: use memory, redis://, rediss://, redis+cluster://, \
                 postgres://, mysql:// or sqlite://",
            ),
            ConnectError::FeatureMissing { scheme, feature } => write!(
                f,
                "a {scheme} session store needs the `{feature}` feature of tower-cookie-sessions"
            ),
            ConnectError::Store(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for ConnectError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConnectError::Store(error) => Some(error),
            _ => None,
        }
    }
}

impl From<StoreError> for ConnectError {
    fn from(error: StoreError) -> Self {
        ConnectError::Store(error)
    }
}

fn memory() -> Result<AnyStore, ConnectError> {
    #[cfg(feature = "memory-store")]
    return Ok(AnyStore::with_owner_index(crate::store::MemoryStore::new()));
    #[cfg(not(feature = "memory-store"))]
    Err(missing("memory", "memory-store"))
}

async fn redis(url: &str) -> Result<AnyStore, ConnectError> {
    #[cfg(feature = "redis")]
    return Ok(AnyStore::with_owner_index(
        crate::store::RedisStore::connect(url).await?,
    ));
    #[cfg(not(feature = "redis"))]
    {
        let _ = url;
        Err(missing("redis", "redis"))
    }
}

/// `redis+cluster://a:1,b:2/…` is the nodes `redis://a:1/…` and
/// `redis://b:2/…` (`rediss` likewise), credentials and path shared.
async fn redis_cluster(url: &str) -> Result<AnyStore, ConnectError> {
    #[cfg(feature = "redis")]
    {
        let (scheme, rest) = url.split_once("+cluster://").ok_or(ConnectError::Unknown)?;
        let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
        let (credentials, hosts) = authority
            .rsplit_once('@')
            .map_or(("", authority), |(c, h)| (c, h));
        let nodes: Vec<String> = hosts
            .split(',')
            .filter(|host| !host.is_empty())
            .map(|host| {
                let at = if credentials.is_empty() {
                    String::new()
                } else {
                    format!("{credentials}@")
                };
                format!("{scheme}://{at}{host}/{path}")
            })
            .collect();
        if nodes.is_empty() {
            return Err(ConnectError::Unknown);
        }
        Ok(AnyStore::with_owner_index(
            crate::store::RedisStore::connect_cluster(nodes).await?,
        ))
    }
    #[cfg(not(feature = "redis"))]
    {
        let _ = url;
        Err(missing("redis cluster", "redis"))
    }
}

async fn postgres(url: &str) -> Result<AnyStore, ConnectError> {
    #[cfg(feature = "postgres")]
    {
        let store = crate::store::PostgresStore::connect(url).await?;
        store.migrate().await?;
        Ok(AnyStore::with_owner_index(store))
    }
    #[cfg(not(feature = "postgres"))]
    {
        let _ = url;
        Err(missing("postgres", "postgres"))
    }
}

async fn mysql(url: &str) -> Result<AnyStore, ConnectError> {
    #[cfg(feature = "mysql")]
    {
        let store = crate::store::MySqlStore::connect(url).await?;
        store.migrate().await?;
        Ok(AnyStore::with_owner_index(store))
    }
    #[cfg(not(feature = "mysql"))]
    {
        let _ = url;
        Err(missing("mysql", "mysql"))
    }
}

async fn sqlite(url: &str) -> Result<AnyStore, ConnectError> {
    #[cfg(feature = "sqlite")]
    {
        let store = crate::store::SqliteStore::connect(url).await?;
        store.migrate().await?;
        Ok(AnyStore::with_owner_index(store))
    }
    #[cfg(not(feature = "sqlite"))]
    {
        let _ = url;
        Err(missing("sqlite", "sqlite"))
    }
}

#[cfg(not(all(
    feature = "memory-store",
    feature = "redis",
    feature = "postgres",
    feature = "mysql",
    feature = "sqlite"
)))]
fn missing(scheme: &'static str, feature: &'static str) -> ConnectError {
    ConnectError::FeatureMissing { scheme, feature }
}
