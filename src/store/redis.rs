//! `RedisStore`: sessions in Redis or Redis Cluster.

use std::fmt;
use std::future::Future;
use std::sync::{Arc, LazyLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, FromRedisValue, RedisError, RedisResult, RetryMethod, Script, ScriptInvocation};

use crate::store::{Breaker, OwnerIndex, Record, RecordKey, SessionStore, StoreError};

/// The key prefix of a store that was given none.
const DEFAULT_PREFIX: &str = "tcs:";

/// How long to wait for a connection or a reply before calling the server
/// down: short, so a dead server fails a request instead of hanging it.
const IO_TIMEOUT: Duration = Duration::from_secs(1);

/// The latest expiry written (9999-12-31), so a far-future `SystemTime`
/// still makes a valid `PEXPIREAT`.
const MAX_UNIX_MS: u64 = 253_402_300_799_999;

/// Members removed from an owner set per `SREM`.
const SREM_BATCH: usize = 512;

/// ARGV: data, version, expires, has owner ("1"/"0"), owner.
static CREATE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('HSET', KEYS[1], 'data', ARGV[1], 'version', ARGV[2], 'expires', ARGV[3])
if ARGV[4] == '1' then
  redis.call('HSET', KEYS[1], 'owner', ARGV[5])
end
redis.call('PEXPIREAT', KEYS[1], ARGV[3])
return 1
",
    )
});

/// ARGV: expected version, data, version, expires, has owner, owner.
static SAVE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('HGET', KEYS[1], 'version') ~= ARGV[1] then
  return 0
end
redis.call('HSET', KEYS[1], 'data', ARGV[2], 'version', ARGV[3], 'expires', ARGV[4])
if ARGV[5] == '1' then
  redis.call('HSET', KEYS[1], 'owner', ARGV[6])
else
  redis.call('HDEL', KEYS[1], 'owner')
end
redis.call('PEXPIREAT', KEYS[1], ARGV[4])
return 1
",
    )
});

/// ARGV: expires. Nil when the record is gone, else `[owner]` or `[]`.
static TOUCH: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('EXISTS', KEYS[1]) == 0 then
  return false
end
local owner = redis.call('HGET', KEYS[1], 'owner')
redis.call('HSET', KEYS[1], 'expires', ARGV[1])
redis.call('PEXPIREAT', KEYS[1], ARGV[1])
if owner then
  return {owner}
end
return {}
",
    )
});

/// On an owner set. ARGV: record key, the record's expiry; the set's own
/// expiry only ever moves later.
static INDEX: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
redis.call('SADD', KEYS[1], ARGV[1])
local at = redis.call('PEXPIRETIME', KEYS[1])
if at < tonumber(ARGV[2]) then
  redis.call('PEXPIREAT', KEYS[1], ARGV[2])
end
return 1
",
    )
});

/// ARGV: owner. Deletes the record only if it still belongs to the owner.
static DELETE_IF_OWNER: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('HGET', KEYS[1], 'owner') == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
",
    )
});

/// Sessions in Redis, through a reconnecting [`ConnectionManager`], or in
/// Redis Cluster, through a [`ClusterConnection`]
/// (`redis::cluster_async::ClusterConnection`). Requires Redis 7.0 or later.
///
/// Each record is one Redis hash, `{prefix}s:{record key in hex}`, with the
/// fields `data`, `version`, `expires` (unix milliseconds) and `owner`
/// (absent when there is none). Redis deletes the hash itself when the
/// session expires (`PEXPIREAT`), so
/// [`delete_expired`](SessionStore::delete_expired) has nothing to do and
/// keeps the trait's default. Every conditional write is a Lua script
/// touching exactly one key, which Redis runs atomically and Redis Cluster
/// accepts; `WATCH` would be unsound on the multiplexed connection that
/// requests share.
///
/// For [`delete_by_owner`](OwnerIndex::delete_by_owner), each owner has a
/// set `{prefix}o:{owner}` of record keys, written before the record and
/// kept alive at least as long as the owner's records. On a cluster it
/// lives in another slot than the records, so no record script touches it.
/// A record whose owner changed, or that is gone, leaves a stale member
/// behind, which is harmless: a record is deleted only if its own `owner`
/// field still names the owner.
///
/// `C` is any multiplexed `redis` connection that can be cloned; the
/// layer's [`timeout`](crate::session::SessionLayerBuilder::timeout) bounds
/// each operation. A refused connection means a command was never sent, so
/// it is tried once more: a [`ConnectionManager`] whose reconnect attempts
/// gave up during a long outage then reconnects for that second try, and
/// the first request after the server is back succeeds. Clones share one
/// [`Breaker`]: broken, refused or lost connections are
/// [`StoreError::Unreachable`], the connection's own response timeouts
/// [`StoreError::Timeout`].
///
/// # Examples
///
/// ```no_run
/// use std::time::Duration;
/// use serde::{Deserialize, Serialize};
/// use tower_cookie_sessions::store::RedisStore;
/// use tower_cookie_sessions::{Key, SessionLayer};
///
/// #[derive(Clone, Default, Serialize, Deserialize)]
/// struct Cart {
///     items: Vec<String>,
/// }
///
/// # #[tokio::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let store = RedisStore::connect("redis://127.0.0.1:6379")
///     .await?
///     .with_prefix("shop:");
/// let layer = SessionLayer::<Cart>::store_builder(Key::generate(), store)
///     .timeout(Duration::from_secs(1))
///     .build()?;
/// # let _ = layer;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RedisStore<C = ConnectionManager> {
    connection: C,
    prefix: Arc<str>,
    breaker: Breaker,
}

impl<C> RedisStore<C>
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    /// A store using `connection`, with the key prefix `tcs:`.
    ///
    /// Give a [`ConnectionManager`] short connection and response timeouts
    /// and a short reconnect backoff, as [`RedisStore::connect`] does, so a
    /// restarted server is used again quickly. The connection types are
    /// `redis::aio::ConnectionManager` and
    /// `redis::cluster_async::ClusterConnection`, from the `redis` crate
    /// (add it to your own dependencies to build one yourself).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use redis::aio::{ConnectionManager, ConnectionManagerConfig};
    /// use tower_cookie_sessions::store::RedisStore;
    ///
    /// # #[tokio::main]
    /// # async fn main() -> redis::RedisResult<()> {
    /// let client = redis::Client::open("redis://127.0.0.1:6379")?;
    /// let config = ConnectionManagerConfig::new()
    ///     .set_connection_timeout(Some(Duration::from_secs(1)))
    ///     .set_response_timeout(Some(Duration::from_secs(1)))
    ///     .set_max_delay(Duration::from_millis(200));
    /// // Connects on first use; `ConnectionManager::new_with_config` connects now.
    /// let manager = ConnectionManager::new_lazy_with_config(client, config)?;
    /// let store = RedisStore::new(manager);
    /// assert_eq!(store.prefix(), "tcs:");
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn new(connection: C) -> Self {
        Self {
            connection,
            prefix: Arc::from(DEFAULT_PREFIX),
            breaker: Breaker::new(),
        }
    }
}

impl<C> RedisStore<C> {
    /// Puts every key of this store under `prefix` (default `tcs:`), so
    /// several applications can share one Redis.
    ///
    /// # Examples
    ///
    /// ```
    /// use redis::aio::{ConnectionManager, ConnectionManagerConfig};
    /// use tower_cookie_sessions::store::RedisStore;
    ///
    /// # #[tokio::main]
    /// # async fn main() -> redis::RedisResult<()> {
    /// // Connects on first use.
    /// let client = redis::Client::open("redis://127.0.0.1:6379")?;
    /// let manager = ConnectionManager::new_lazy_with_config(client, ConnectionManagerConfig::new())?;
    /// let store = RedisStore::new(manager).with_prefix("shop:");
    /// assert_eq!(store.prefix(), "shop:");
    /// assert_eq!(format!("{store:?}"), r#"RedisStore { prefix: "shop:", .. }"#);
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = Arc::from(prefix.into());
        self
    }

    /// The prefix of every key this store writes.
    ///
    /// # Examples
    ///
    /// ```
    /// use redis::aio::{ConnectionManager, ConnectionManagerConfig};
    /// use tower_cookie_sessions::store::RedisStore;
    ///
    /// # #[tokio::main]
    /// # async fn main() -> redis::RedisResult<()> {
    /// let client = redis::Client::open("redis://127.0.0.1:6379")?;
    /// let manager = ConnectionManager::new_lazy_with_config(client, ConnectionManagerConfig::new())?;
    /// assert_eq!(RedisStore::new(manager).prefix(), "tcs:");
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The connection the store uses, for running other commands on it.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use tower_cookie_sessions::store::RedisStore;
    ///
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let store = RedisStore::connect("redis://127.0.0.1:6379").await?;
    /// let mut connection = store.connection().clone();
    /// let pong: String = redis::cmd("PING").query_async(&mut connection).await?;
    /// assert_eq!(pong, "PONG");
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn connection(&self) -> &C {
        &self.connection
    }

    fn record_key(&self, key: &RecordKey) -> String {
        format!("{}s:{}", self.prefix, key.to_hex())
    }

    fn owner_key(&self, owner: &str) -> String {
        format!("{}o:{owner}", self.prefix)
    }
}

impl RedisStore<ConnectionManager> {
    /// Connects to the Redis server at `url` (`redis://[:password@]host:port[/db]`)
    /// through a [`ConnectionManager`] that reconnects on its own, with
    /// connection and response timeouts of one second and a reconnect
    /// backoff of at most 0.4 s, so a restarted server is used again
    /// within the layer's default two-second store timeout.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] when `url` is not a Redis URL or the server
    /// cannot be reached (after retrying for up to about a second and a half).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use tower_cookie_sessions::store::RedisStore;
    ///
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), tower_cookie_sessions::store::StoreError> {
    /// let store = RedisStore::connect("redis://127.0.0.1:6379/0").await?;
    /// # let _ = store;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let client = redis::Client::open(url).map_err(StoreError::backend)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(IO_TIMEOUT))
            .set_response_timeout(Some(IO_TIMEOUT))
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(200))
            .set_number_of_retries(5);
        let manager = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(StoreError::backend)?;
        Ok(Self::new(manager))
    }
}

impl RedisStore<ClusterConnection> {
    /// Connects to the Redis Cluster that `nodes` (`redis://host:port` URLs,
    /// one or more of its nodes) belong to, with connection and response
    /// timeouts of one second.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] when a URL is invalid or the cluster cannot
    /// be reached.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use tower_cookie_sessions::store::RedisStore;
    ///
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), tower_cookie_sessions::store::StoreError> {
    /// let store = RedisStore::connect_cluster(["redis://10.0.0.1:6379", "redis://10.0.0.2:6379"])
    ///     .await?
    ///     .with_prefix("shop:");
    /// # let _ = store;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn connect_cluster(
        nodes: impl IntoIterator<Item = impl AsRef<str>>,
    ) -> Result<Self, StoreError> {
        let nodes: Vec<String> = nodes.into_iter().map(|n| n.as_ref().to_owned()).collect();
        let connection = redis::cluster::ClusterClient::builder(nodes)
            .connection_timeout(IO_TIMEOUT)
            .response_timeout(IO_TIMEOUT)
            .build()
            .map_err(StoreError::backend)?
            .get_async_connection()
            .await
            .map_err(StoreError::backend)?;
        Ok(Self::new(connection))
    }
}

impl<C> fmt::Debug for RedisStore<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The connection's own `Debug` can show the URL, password included.
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl<C> RedisStore<C>
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    /// Runs a script, once more if the connection was refused: the command
    /// was then never sent, and a [`ConnectionManager`] whose reconnect
    /// attempts gave up starts new ones on that error, so the second try
    /// reaches a server that came back.
    async fn invoke<T: FromRedisValue>(
        &self,
        script: &ScriptInvocation<'_>,
    ) -> Result<T, StoreError> {
        let mut connection = self.connection.clone();
        let mut outcome: RedisResult<T> = script.invoke_async(&mut connection).await;
        if matches!(&outcome, Err(error) if error.is_connection_refusal()) {
            outcome = script.invoke_async(&mut connection).await;
        }
        outcome.map_err(store_error)
    }

    /// Runs a command, retried as in [`invoke`](Self::invoke).
    async fn query<T: FromRedisValue>(&self, command: &Cmd) -> Result<T, StoreError> {
        let mut connection = self.connection.clone();
        let mut outcome: RedisResult<T> = command.query_async(&mut connection).await;
        if matches!(&outcome, Err(error) if error.is_connection_refusal()) {
            outcome = command.query_async(&mut connection).await;
        }
        outcome.map_err(store_error)
    }

    /// Adds `key` to `owner`'s set and keeps the set alive until at least
    /// `expires_ms`. Done before the record is written: a member whose
    /// record was not written is harmless, a record missing from its
    /// owner's set is not.
    async fn index(&self, owner: &str, key: &RecordKey, expires_ms: u64) -> Result<(), StoreError> {
        let mut script = INDEX.prepare_invoke();
        script
            .key(self.owner_key(owner))
            .arg(key.to_hex())
            .arg(expires_ms);
        self.invoke::<i64>(&script).await.map(drop)
    }

    async fn create_record(&self, key: &RecordKey, record: &Record) -> Result<bool, StoreError> {
        let expires = unix_ms(record.expires_at);
        if let Some(owner) = &record.owner {
            self.index(owner, key, expires).await?;
        }
        let mut script = CREATE.prepare_invoke();
        script
            .key(self.record_key(key))
            .arg(record.data.as_slice())
            .arg(record.version)
            .arg(expires);
        owner_args(&mut script, record.owner.as_deref());
        Ok(self.invoke::<i64>(&script).await? == 1)
    }

    async fn load_record(&self, key: &RecordKey) -> Result<Option<Record>, StoreError> {
        let mut command = redis::cmd("HMGET");
        command
            .arg(self.record_key(key))
            .arg(&["data", "version", "owner", "expires"]);
        let fields: Vec<Option<Vec<u8>>> = self.query(&command).await?;
        let record = parse_record(fields)?;
        Ok(record.filter(|record| !record.is_expired(SystemTime::now())))
    }

    async fn save_record(
        &self,
        key: &RecordKey,
        record: &Record,
        expected: u64,
    ) -> Result<bool, StoreError> {
        let expires = unix_ms(record.expires_at);
        if let Some(owner) = &record.owner {
            self.index(owner, key, expires).await?;
        }
        let mut script = SAVE.prepare_invoke();
        script
            .key(self.record_key(key))
            .arg(expected)
            .arg(record.data.as_slice())
            .arg(record.version)
            .arg(expires);
        owner_args(&mut script, record.owner.as_deref());
        Ok(self.invoke::<i64>(&script).await? == 1)
    }

    async fn touch_record(
        &self,
        key: &RecordKey,
        expires_at: SystemTime,
    ) -> Result<bool, StoreError> {
        let expires = unix_ms(expires_at);
        let mut script = TOUCH.prepare_invoke();
        script.key(self.record_key(key)).arg(expires);
        let Some(owner) = self.invoke::<Option<Vec<Vec<u8>>>>(&script).await? else {
            return Ok(false);
        };
        // The record now outlives its owner set's expiry: move that too. If
        // this fails, the next save or touch repairs it.
        if let Some(owner) = owner.first() {
            let owner = std::str::from_utf8(owner)
                .map_err(|_| StoreError::Corrupt("owner is not UTF-8".into()))?;
            self.index(owner, key, expires).await?;
        }
        Ok(true)
    }

    async fn delete_owned(&self, owner: &str) -> Result<u64, StoreError> {
        let set = self.owner_key(owner);
        let mut members = redis::cmd("SMEMBERS");
        members.arg(&set);
        let members: Vec<String> = self.query(&members).await?;
        let mut deleted = 0;
        for member in &members {
            // Anything else in the set is not ours to interpret.
            let Some(key) = RecordKey::from_hex(member) else {
                continue;
            };
            let mut script = DELETE_IF_OWNER.prepare_invoke();
            script.key(self.record_key(&key)).arg(owner);
            deleted += self.invoke::<u64>(&script).await?;
        }
        // Only the members read: a session created meanwhile stays indexed.
        self.unindex(&set, &members).await?;
        Ok(deleted)
    }

    /// Takes `members` out of the owner set `set`, in batches.
    async fn unindex(&self, set: &str, members: &[String]) -> Result<(), StoreError> {
        for batch in members.chunks(SREM_BATCH) {
            let mut remove = redis::cmd("SREM");
            remove.arg(set).arg(batch);
            self.query::<i64>(&remove).await?;
        }
        Ok(())
    }

    async fn list_owned(&self, owner: &str) -> Result<Vec<(RecordKey, Record)>, StoreError> {
        let set = self.owner_key(owner);
        let mut members = redis::cmd("SMEMBERS");
        members.arg(&set);
        let members: Vec<String> = self.query(&members).await?;
        let mut owned = Vec::new();
        let mut gone = Vec::new();
        for member in members {
            let Some(key) = RecordKey::from_hex(&member) else {
                continue;
            };
            match self.load_record(&key).await? {
                Some(record) if record.owner.as_deref() == Some(owner) => owned.push((key, record)),
                // Expired, deleted, or given another owner: the member is
                // stale, and listing is where an index that is only ever
                // added to gets pruned.
                _ => gone.push(member),
            }
        }
        self.unindex(&set, &gone).await?;
        Ok(owned)
    }
}

impl<C> SessionStore for RedisStore<C>
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    fn create(
        &self,
        key: &RecordKey,
        record: &Record,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        self.create_record(key, record)
    }

    fn load(
        &self,
        key: &RecordKey,
    ) -> impl Future<Output = Result<Option<Record>, StoreError>> + Send {
        self.load_record(key)
    }

    fn save(
        &self,
        key: &RecordKey,
        record: &Record,
        expected_version: u64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        self.save_record(key, record, expected_version)
    }

    fn delete(&self, key: &RecordKey) -> impl Future<Output = Result<(), StoreError>> + Send {
        let mut command = redis::cmd("DEL");
        command.arg(self.record_key(key));
        async move { self.query::<i64>(&command).await.map(drop) }
    }

    fn touch(
        &self,
        key: &RecordKey,
        expires_at: SystemTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        self.touch_record(key, expires_at)
    }

    fn breaker(&self) -> Option<&Breaker> {
        Some(&self.breaker)
    }

    // `delete_expired` keeps the default: Redis deletes expired keys itself.
}

impl<C> OwnerIndex for RedisStore<C>
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    fn delete_by_owner(&self, owner: &str) -> impl Future<Output = Result<u64, StoreError>> + Send {
        self.delete_owned(owner)
    }

    fn list_by_owner(
        &self,
        owner: &str,
    ) -> impl Future<Output = Result<Vec<(RecordKey, Record)>, StoreError>> + Send {
        self.list_owned(owner)
    }
}

/// A client error as the layer's breaker needs it: the connection's own
/// timeout, a server out of reach (a connection refused, broken or lost,
/// or a server that says to wait: loading its data, cluster down), or
/// anything else the server answered.
fn store_error(error: RedisError) -> StoreError {
    if error.is_timeout() {
        return StoreError::Timeout;
    }
    match error.retry_method() {
        RetryMethod::Reconnect
        | RetryMethod::ReconnectFromInitialConnections
        | RetryMethod::WaitAndRetry => StoreError::unreachable(error),
        _ if error.is_io_error() => StoreError::unreachable(error),
        _ => StoreError::backend(error),
    }
}

/// Unix milliseconds, clamped to what `PEXPIREAT` takes.
fn unix_ms(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |since| {
        u64::try_from(since.as_millis()).map_or(MAX_UNIX_MS, |ms| ms.min(MAX_UNIX_MS))
    })
}

fn owner_args(script: &mut ScriptInvocation<'_>, owner: Option<&str>) {
    match owner {
        Some(owner) => script.arg("1").arg(owner),
        None => script.arg("0").arg(""),
    };
}

/// A record from `HMGET data version owner expires`; `None` when the hash
/// does not exist.
fn parse_record(fields: Vec<Option<Vec<u8>>>) -> Result<Option<Record>, StoreError> {
    let corrupt = |reason: &str| StoreError::Corrupt(reason.to_owned());
    let Ok([data, version, owner, expires]) = <[Option<Vec<u8>>; 4]>::try_from(fields) else {
        return Err(corrupt("HMGET returned the wrong number of fields"));
    };
    if data.is_none() && version.is_none() && owner.is_none() && expires.is_none() {
        return Ok(None);
    }
    let number = |field: Option<Vec<u8>>, name: &str| -> Result<u64, StoreError> {
        field
            .as_deref()
            .and_then(|bytes| std::str::from_utf8(bytes).ok())
            .and_then(|text| text.parse().ok())
            .ok_or_else(|| corrupt(&format!("missing or malformed `{name}` field")))
    };
    let data = data.ok_or_else(|| corrupt("missing `data` field"))?;
    let version = number(version, "version")?;
    let expires = number(expires, "expires")?;
    let owner = owner
        .map(String::from_utf8)
        .transpose()
        .map_err(|_| corrupt("`owner` field is not UTF-8"))?;
    let expires_at = UNIX_EPOCH + Duration::from_millis(expires);
    Ok(Some(
        Record::new(data, expires_at)
            .with_version(version)
            .with_owner(owner),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(values: [Option<&str>; 4]) -> Vec<Option<Vec<u8>>> {
        values
            .iter()
            .map(|value| value.map(|text| text.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn a_missing_hash_is_no_record() {
        assert!(parse_record(fields([None; 4])).expect("parse").is_none());
    }

    #[test]
    fn fields_parse_into_a_record() {
        let record = parse_record(fields([Some("abc"), Some("7"), Some("ada"), Some("1500")]))
            .expect("parse")
            .expect("record");
        assert_eq!(record.data, b"abc");
        assert_eq!(record.version, 7);
        assert_eq!(record.owner.as_deref(), Some("ada"));
        assert_eq!(record.expires_at, UNIX_EPOCH + Duration::from_millis(1500));
    }

    #[test]
    fn malformed_fields_are_corrupt() {
        for bad in [
            [None, Some("1"), None, Some("1")],
            [Some("x"), Some("one"), None, Some("1")],
            [Some("x"), Some("1"), None, None],
            [Some("x"), Some("-1"), None, Some("1")],
        ] {
            assert!(matches!(
                parse_record(fields(bad)),
                Err(StoreError::Corrupt(_))
            ));
        }
        assert!(matches!(
            parse_record(vec![None]),
            Err(StoreError::Corrupt(_))
        ));
    }

    #[test]
    fn client_errors_are_sorted_for_the_breaker() {
        use std::io::{Error, ErrorKind};
        for kind in [
            ErrorKind::ConnectionRefused,
            ErrorKind::ConnectionReset,
            ErrorKind::BrokenPipe,
        ] {
            let error = store_error(RedisError::from(Error::from(kind)));
            assert!(
                matches!(error, StoreError::Unreachable(_)),
                "{kind:?}: {error:?}"
            );
        }
        let timeout = store_error(RedisError::from(Error::from(ErrorKind::TimedOut)));
        assert!(matches!(timeout, StoreError::Timeout));
        let answered = store_error(RedisError::from((
            redis::ErrorKind::UnexpectedReturnType,
            "no",
        )));
        assert!(matches!(answered, StoreError::Backend(_)));
    }

    #[test]
    fn expiry_is_clamped_to_what_redis_takes() {
        assert_eq!(unix_ms(UNIX_EPOCH - Duration::from_secs(1)), 0);
        assert_eq!(unix_ms(UNIX_EPOCH + Duration::from_millis(42)), 42);
        let far = UNIX_EPOCH + Duration::from_secs(1 << 40);
        assert_eq!(unix_ms(far), MAX_UNIX_MS);
    }
}
