//! What [`PostgresStore`](crate::store::PostgresStore),
//! [`SqliteStore`](crate::store::SqliteStore) and
//! [`MySqlStore`](crate::store::MySqlStore) share: the table name check,
//! the SQL text (`statement`, `queries`), the `SessionStore` impl
//! (`store_impl`), and time and version conversion.
//!
//! Each statement is written once, with `?` placeholders and the list of
//! values they bind in order ([`Statement`]); Postgres and SQLite get `$n`
//! in their place. PostgreSQL and SQLite both have `INSERT … ON CONFLICT …
//! DO UPDATE … WHERE`, MySQL and MariaDB do not, so `create` is where the
//! dialects part, besides the DDL and identifier quoting.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::store::{Record, RecordKey, StoreError};

/// The table the stores use unless told otherwise.
const DEFAULT_TABLE: &str = "tcs_sessions";

/// The longest table name accepted: Postgres cuts identifiers at 63 bytes,
/// and index names add a suffix to the table's.
const MAX_NAME_LEN: usize = 48;
const MAX_SCHEMA_LEN: usize = 63;

/// A validated table name, `table` or `schema.table`. It is interpolated
/// into SQL, so only ASCII letters, digits and underscores are accepted,
/// and it is double-quoted besides (so `Sessions` keeps its case and a
/// reserved word still works).
#[derive(Clone, PartialEq, Eq)]
struct TableName {
    text: String,
    schema: Option<String>,
    name: String,
}

impl TableName {
    fn parse(text: &str) -> Result<Self, StoreError> {
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
    fn as_str(&self) -> &str {
        &self.text
    }

    /// The quoted, possibly schema-qualified name for SQL.
    pub(super) fn quoted(&self, dialect: Dialect) -> String {
        match &self.schema {
            Some(schema) => format!("{}.{}", dialect.quote(schema), dialect.quote(&self.name)),
            None => dialect.quote(&self.name),
        }
    }

    /// An index name derived from the table's, not schema-qualified.
    pub(super) fn index(&self, suffix: &str, dialect: Dialect) -> String {
        dialect.quote(&format!("{}_{suffix}", self.name))
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
    #[cfg(feature = "mysql")]
    MySql,
}

impl Dialect {
    /// `ident` quoted: MySQL's double quote is a string delimiter unless
    /// the session runs in `ANSI_QUOTES` mode, which a shared pool cannot
    /// count on.
    fn quote(self, ident: &str) -> String {
        match self {
            #[cfg(feature = "mysql")]
            Dialect::MySql => format!("`{ident}`"),
            #[allow(unreachable_patterns)]
            _ => format!("\"{ident}\""),
        }
    }
}

/// A store's table: its validated name and the statements formatted for
/// it. Each SQL store is a pool and one of these.
#[derive(Clone)]
pub(crate) struct SqlTable {
    name: TableName,
    pub(crate) queries: Arc<Queries>,
}

impl SqlTable {
    /// [`DEFAULT_TABLE`].
    pub(crate) fn default_for(dialect: Dialect) -> Self {
        Self::parse(DEFAULT_TABLE, dialect).expect("the default table name is valid")
    }

    /// The table `name`, `table` or `schema.table`, if it is safe in SQL.
    pub(crate) fn parse(name: &str, dialect: Dialect) -> Result<Self, StoreError> {
        let name = TableName::parse(name)?;
        let queries = Arc::new(Queries::new(&name, dialect));
        Ok(Self { name, queries })
    }

    /// The name as given.
    pub(crate) fn name(&self) -> &str {
        self.name.as_str()
    }
}

/// The name only: the statements follow from it.
impl fmt::Debug for SqlTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.name, f)
    }
}

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

/// A record and its key read back as `key, data, version, owner,
/// expires_at`.
pub(crate) fn keyed_record_from_row(
    (key, data, version, owner, expires_at): (Vec<u8>, Vec<u8>, i64, Option<String>, i64),
) -> Result<(RecordKey, Record), StoreError> {
    let key = <[u8; 32]>::try_from(key.as_slice())
        .map_err(|_| StoreError::Corrupt(format!("a record key of {} bytes", key.len())))?;
    let record = record_from_row((data, version, owner, expires_at))?;
    Ok((RecordKey::from_bytes(key), record))
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

mod queries;
mod statement;
mod store_impl;
#[cfg(test)]
mod tests;

pub(crate) use self::queries::Queries;
pub(crate) use self::statement::{
    bind, is_unique_violation, store_error, Param, Statement, Values,
};
pub(crate) use self::store_impl::impl_session_store;
pub(crate) use crate::store::cleanup::cleanup_task;
