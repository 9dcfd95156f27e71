//! What [`PostgresStore`](crate::store::PostgresStore) and
//! [`SqliteStore`](crate::store::SqliteStore) share: the table name check,
//! the SQL text, time and version conversion, and the cleanup task.
//!
//! Both stores run the same statements: sqlx's SQLite driver binds `$1`
//! placeholders by number too, and both databases have
//! `INSERT … ON CONFLICT … DO UPDATE … WHERE`. Only the DDL differs.

use std::fmt;
use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::store::{Record, SessionStore, StoreError};

/// The table both stores use unless told otherwise.
pub(crate) const DEFAULT_TABLE: &str = "tcs_sessions";

/// The longest table name accepted: Postgres cuts identifiers at 63 bytes,
/// and index names add a suffix to the table's.
const MAX_NAME_LEN: usize = 48;
const MAX_SCHEMA_LEN: usize = 63;

/// A validated table name, `table` or `schema.table`. It is interpolated
/// into SQL, so only ASCII letters, digits and underscores are accepted,
/// and it is double-quoted besides (so `Sessions` keeps its case and a
/// reserved word still works).
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct TableName {
    text: String,
    schema: Option<String>,
    name: String,
}

impl TableName {
    pub(crate) fn parse(text: &str) -> Result<Self, StoreError> {
        let invalid = || StoreError::backend(InvalidTableName(text.to_owned()));
        let (schema, name) = match text.split_once('.') {
            Some((schema, name)) => (Some(schema), name),
            None => (None, text),
        };
        if !is_identifier(name, MAX_NAME_LEN)
            || !schema.is_none_or(|schema| is_identifier(schema, MAX_SCHEMA_LEN))
        {
            return Err(invalid());
        }
        Ok(Self {
            text: text.to_owned(),
            schema: schema.map(str::to_owned),
            name: name.to_owned(),
        })
    }

    /// The name as given.
    pub(crate) fn as_str(&self) -> &str {
        &self.text
    }

    /// The quoted, possibly schema-qualified name for SQL.
    fn quoted(&self) -> String {
        match &self.schema {
            Some(schema) => format!("\"{schema}\".\"{}\"", self.name),
            None => format!("\"{}\"", self.name),
        }
    }

    /// An index name derived from the table's, not schema-qualified.
    fn index(&self, suffix: &str) -> String {
        format!("\"{}_{suffix}\"", self.name)
    }
}

impl fmt::Debug for TableName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.text, f)
    }
}

fn is_identifier(text: &str, max_len: usize) -> bool {
    let mut bytes = text.bytes();
    let starts_well = bytes
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == b'_');
    starts_well
        && text.len() <= max_len
        && bytes.all(|byte| byte.is_ascii_alphanumeric() || byte == b'_')
}

/// `with_table` was given a name that is not safe to put into SQL.
#[derive(Debug)]
struct InvalidTableName(String);

impl fmt::Display for InvalidTableName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid table name {:?}: expected `table` or `schema.table`, each part ASCII letters, digits and underscores, not starting with a digit, the table at most {MAX_NAME_LEN} bytes",
            self.0
        )
    }
}

impl std::error::Error for InvalidTableName {}

/// The SQL dialects the stores speak.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dialect {
    #[cfg(feature = "postgres")]
    Postgres,
    #[cfg(feature = "sqlite")]
    Sqlite,
}

/// Every statement a store runs, formatted once per store.
///
/// Parameters: `$1` is always the record key; `now` is unix milliseconds
/// from the application's clock, so every node judges expiry alike.
#[derive(Debug)]
pub(crate) struct Queries {
    /// DDL, run in order by `migrate()`.
    pub(crate) migrate: [String; 3],
    /// `$1 key, $2 data, $3 version, $4 owner, $5 expires_at, $6 now`;
    /// affects one row when it inserted or replaced an expired row.
    pub(crate) create: String,
    /// `$1 key, $2 now` → `data, version, owner, expires_at`.
    pub(crate) load: String,
    /// `$1 key, $2 data, $3 version, $4 owner, $5 expires_at, $6 expected
    /// version, $7 now`.
    pub(crate) save: String,
    /// `$1 key, $2 expires_at, $3 now`.
    pub(crate) touch: String,
    /// `$1 key`.
    pub(crate) delete: String,
    /// `$1 owner`.
    pub(crate) delete_by_owner: String,
    /// `$1 now`.
    pub(crate) delete_expired: String,
}

impl Queries {
    pub(crate) fn new(table: &TableName, dialect: Dialect) -> Self {
        let t = table.quoted();
        let (bytes, integer) = match dialect {
            #[cfg(feature = "postgres")]
            Dialect::Postgres => ("BYTEA", "BIGINT"),
            #[cfg(feature = "sqlite")]
            Dialect::Sqlite => ("BLOB", "INTEGER"),
        };
        let index = |suffix: &str, column: &str| {
            let index = table.index(suffix);
            match &table.schema {
                // SQLite qualifies the index, never the table it is on.
                #[cfg(feature = "sqlite")]
                Some(schema) if dialect == Dialect::Sqlite => format!(
                    "CREATE INDEX IF NOT EXISTS \"{schema}\".{index} ON \"{}\" ({column})",
                    table.name
                ),
                _ => format!("CREATE INDEX IF NOT EXISTS {index} ON {t} ({column})"),
            }
        };
        Self {
            migrate: [
                format!(
                    "CREATE TABLE IF NOT EXISTS {t} (\
                     key {bytes} NOT NULL PRIMARY KEY, \
                     data {bytes} NOT NULL, \
                     version {integer} NOT NULL, \
                     owner TEXT, \
                     expires_at {integer} NOT NULL)"
                ),
                index("owner_idx", "owner"),
                index("expires_at_idx", "expires_at"),
            ],
            create: format!(
                "INSERT INTO {t} AS existing (key, data, version, owner, expires_at) \
                 VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (key) DO UPDATE SET data = excluded.data, \
                 version = excluded.version, owner = excluded.owner, \
                 expires_at = excluded.expires_at \
                 WHERE existing.expires_at <= $6"
            ),
            load: format!(
                "SELECT data, version, owner, expires_at FROM {t} \
                 WHERE key = $1 AND expires_at > $2"
            ),
            save: format!(
                "UPDATE {t} SET data = $2, version = $3, owner = $4, expires_at = $5 \
                 WHERE key = $1 AND version = $6 AND expires_at > $7"
            ),
            touch: format!("UPDATE {t} SET expires_at = $2 WHERE key = $1 AND expires_at > $3"),
            delete: format!("DELETE FROM {t} WHERE key = $1"),
            delete_by_owner: format!("DELETE FROM {t} WHERE owner = $1"),
            delete_expired: format!("DELETE FROM {t} WHERE expires_at <= $1"),
        }
    }
}

/// Implements [`SessionStore`] for a store with `pool` and `queries`
/// fields: both SQL stores run the same statements with the same binds,
/// only the pool type differs.
macro_rules! impl_session_store {
    ($store:ty) => {
        impl $crate::store::SessionStore for $store {
            fn create(
                &self,
                key: &$crate::store::RecordKey,
                record: &$crate::store::Record,
            ) -> impl ::std::future::Future<
                Output = ::std::result::Result<bool, $crate::store::StoreError>,
            > + Send {
                async move {
                    let done = ::sqlx::query(&self.queries.create)
                        .bind(key.as_bytes().as_slice())
                        .bind(record.data.as_slice())
                        .bind($crate::store::sql::version_to_sql(record.version)?)
                        .bind(record.owner.as_deref())
                        .bind($crate::store::sql::to_millis(record.expires_at))
                        .bind($crate::store::sql::now())
                        .execute(&self.pool)
                        .await
                        .map_err($crate::store::StoreError::backend)?;
                    Ok(done.rows_affected() == 1)
                }
            }

            fn load(
                &self,
                key: &$crate::store::RecordKey,
            ) -> impl ::std::future::Future<
                Output = ::std::result::Result<
                    Option<$crate::store::Record>,
                    $crate::store::StoreError,
                >,
            > + Send {
                async move {
                    ::sqlx::query_as(&self.queries.load)
                        .bind(key.as_bytes().as_slice())
                        .bind($crate::store::sql::now())
                        .fetch_optional(&self.pool)
                        .await
                        .map_err($crate::store::StoreError::backend)?
                        .map($crate::store::sql::record_from_row)
                        .transpose()
                }
            }

            fn save(
                &self,
                key: &$crate::store::RecordKey,
                record: &$crate::store::Record,
                expected_version: u64,
            ) -> impl ::std::future::Future<
                Output = ::std::result::Result<bool, $crate::store::StoreError>,
            > + Send {
                async move {
                    // No stored row can hold a version past `i64::MAX`.
                    let Ok(expected) = i64::try_from(expected_version) else {
                        return Ok(false);
                    };
                    let done = ::sqlx::query(&self.queries.save)
                        .bind(key.as_bytes().as_slice())
                        .bind(record.data.as_slice())
                        .bind($crate::store::sql::version_to_sql(record.version)?)
                        .bind(record.owner.as_deref())
                        .bind($crate::store::sql::to_millis(record.expires_at))
                        .bind(expected)
                        .bind($crate::store::sql::now())
                        .execute(&self.pool)
                        .await
                        .map_err($crate::store::StoreError::backend)?;
                    Ok(done.rows_affected() == 1)
                }
            }

            fn delete(
                &self,
                key: &$crate::store::RecordKey,
            ) -> impl ::std::future::Future<
                Output = ::std::result::Result<(), $crate::store::StoreError>,
            > + Send {
                async move {
                    ::sqlx::query(&self.queries.delete)
                        .bind(key.as_bytes().as_slice())
                        .execute(&self.pool)
                        .await
                        .map_err($crate::store::StoreError::backend)?;
                    Ok(())
                }
            }

            fn touch(
                &self,
                key: &$crate::store::RecordKey,
                expires_at: ::std::time::SystemTime,
            ) -> impl ::std::future::Future<
                Output = ::std::result::Result<bool, $crate::store::StoreError>,
            > + Send {
                async move {
                    let done = ::sqlx::query(&self.queries.touch)
                        .bind(key.as_bytes().as_slice())
                        .bind($crate::store::sql::to_millis(expires_at))
                        .bind($crate::store::sql::now())
                        .execute(&self.pool)
                        .await
                        .map_err($crate::store::StoreError::backend)?;
                    Ok(done.rows_affected() == 1)
                }
            }

            fn delete_expired(
                &self,
            ) -> impl ::std::future::Future<
                Output = ::std::result::Result<u64, $crate::store::StoreError>,
            > + Send {
                async move {
                    let done = ::sqlx::query(&self.queries.delete_expired)
                        .bind($crate::store::sql::now())
                        .execute(&self.pool)
                        .await
                        .map_err($crate::store::StoreError::backend)?;
                    Ok(done.rows_affected())
                }
            }
        }

        impl $crate::store::OwnerIndex for $store {
            fn delete_by_owner(
                &self,
                owner: &str,
            ) -> impl ::std::future::Future<
                Output = ::std::result::Result<u64, $crate::store::StoreError>,
            > + Send {
                async move {
                    let done = ::sqlx::query(&self.queries.delete_by_owner)
                        .bind(owner)
                        .execute(&self.pool)
                        .await
                        .map_err($crate::store::StoreError::backend)?;
                    Ok(done.rows_affected())
                }
            }
        }
    };
}

pub(crate) use impl_session_store;

/// Now, in unix milliseconds, by this process's clock.
pub(crate) fn now() -> i64 {
    to_millis(SystemTime::now())
}

/// Milliseconds since the Unix epoch, negative before it, saturating at
/// the ends of `i64` (some 292 million years away).
pub(crate) fn to_millis(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_millis()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_millis()).map_or(i64::MIN, |ms| -ms),
    }
}

/// The time `millis` after the Unix epoch.
pub(crate) fn from_millis(millis: i64) -> Result<SystemTime, StoreError> {
    let offset = Duration::from_millis(millis.unsigned_abs());
    let time = if millis >= 0 {
        UNIX_EPOCH.checked_add(offset)
    } else {
        UNIX_EPOCH.checked_sub(offset)
    };
    time.ok_or_else(|| StoreError::Corrupt(format!("expiry {millis} ms is out of range")))
}

/// A record version as the `BIGINT` it is stored as.
pub(crate) fn version_to_sql(version: u64) -> Result<i64, StoreError> {
    i64::try_from(version).map_err(|_| {
        StoreError::backend(std::io::Error::other(format!(
            "record version {version} does not fit in a signed 64-bit column"
        )))
    })
}

/// A record read back as `data, version, owner, expires_at`.
pub(crate) fn record_from_row(
    (data, version, owner, expires_at): (Vec<u8>, i64, Option<String>, i64),
) -> Result<Record, StoreError> {
    let version = u64::try_from(version)
        .map_err(|_| StoreError::Corrupt(format!("negative record version {version}")))?;
    Ok(Record::new(data, from_millis(expires_at)?)
        .with_version(version)
        .with_owner(owner))
}

/// Deletes `store`'s expired records every `interval`, forever.
pub(crate) fn cleanup_task<S: SessionStore>(
    store: S,
    interval: Duration,
    name: &'static str,
) -> impl Future<Output = ()> + Send + 'static {
    // Asserted here rather than in the future, where the panic would only
    // show up as a dead task.
    assert!(!interval.is_zero(), "cleanup interval must be non-zero");
    async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match store.delete_expired().await {
                Ok(0) => {}
                Ok(deleted) => tracing::debug!(store = name, deleted, "expired sessions deleted"),
                Err(error) => tracing::warn!(
                    store = name,
                    %error,
                    "deleting expired sessions failed; trying again next interval"
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_are_plain_identifiers() {
        for good in ["tcs_sessions", "_t", "Sessions2", "auth.sessions"] {
            assert!(TableName::parse(good).is_ok(), "{good}");
        }
        let too_long = "t".repeat(MAX_NAME_LEN + 1);
        for bad in [
            "",
            "x; drop table y",
            "a.b.c",
            ".t",
            "s.",
            "1t",
            "t-1",
            "t\"",
            "séssions",
            too_long.as_str(),
        ] {
            let error = TableName::parse(bad).expect_err(bad).to_string();
            assert!(error.contains("invalid table name"), "{error}");
        }
    }

    #[test]
    fn table_names_are_quoted() {
        let table = TableName::parse("auth.Sessions").expect("valid");
        assert_eq!(table.quoted(), r#""auth"."Sessions""#);
        assert_eq!(table.index("owner_idx"), r#""Sessions_owner_idx""#);
    }

    #[cfg(feature = "sqlite")]
    #[test]
    fn sqlite_qualifies_the_index_not_its_table() {
        let table = TableName::parse("auth.Sessions").expect("valid");
        let queries = Queries::new(&table, Dialect::Sqlite);
        assert_eq!(
            queries.migrate[1],
            r#"CREATE INDEX IF NOT EXISTS "auth"."Sessions_owner_idx" ON "Sessions" (owner)"#
        );
    }

    #[test]
    fn millis_round_trip_both_sides_of_the_epoch() {
        for millis in [0, 1, -1, 1_700_000_000_123, -86_400_000] {
            assert_eq!(to_millis(from_millis(millis).expect("in range")), millis);
        }
        let now = SystemTime::now();
        let drift = now
            .duration_since(from_millis(to_millis(now)).expect("now"))
            .expect("truncated, never later");
        assert!(drift < Duration::from_millis(1));
    }

    #[test]
    fn versions_convert_with_a_check() {
        assert_eq!(version_to_sql(i64::MAX as u64).expect("fits"), i64::MAX);
        assert!(version_to_sql(i64::MAX as u64 + 1).is_err());
        let corrupt = record_from_row((Vec::new(), -1, None, 0)).expect_err("negative");
        assert!(matches!(corrupt, StoreError::Corrupt(_)));
        let record = record_from_row((vec![1], 7, Some("o".into()), 1_000)).expect("valid");
        assert_eq!(record.version, 7);
        assert_eq!(record.expires_at, UNIX_EPOCH + Duration::from_secs(1));
    }
}
