//! What [`PostgresStore`](crate::store::PostgresStore),
//! [`SqliteStore`](crate::store::SqliteStore) and
//! [`MySqlStore`](crate::store::MySqlStore) share: the table name check,
//! the SQL text, time and version conversion, and the cleanup task.
//!
//! Each statement is written once, with `?` placeholders and the list of
//! values they bind in order ([`Statement`]); Postgres and SQLite get `$n`
//! in their place. PostgreSQL and SQLite both have `INSERT … ON CONFLICT …
//! DO UPDATE … WHERE`, MySQL and MariaDB do not, so `create` is where the
//! dialects part, besides the DDL and identifier quoting.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::store::{Record, RecordKey, SessionStore, StoreError};

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
    fn quoted(&self, dialect: Dialect) -> String {
        match &self.schema {
            Some(schema) => format!("{}.{}", dialect.quote(schema), dialect.quote(&self.name)),
            None => dialect.quote(&self.name),
        }
    }

    /// An index name derived from the table's, not schema-qualified.
    fn index(&self, suffix: &str, dialect: Dialect) -> String {
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

/// A value a statement binds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Param {
    Key,
    Data,
    Version,
    Owner,
    ExpiresAt,
    /// The version `save` expects to find.
    Expected,
    /// Unix milliseconds by this process's clock, so that expiry does not
    /// depend on the database server's clock.
    Now,
}

/// One SQL statement and the values its placeholders bind, in order.
#[derive(Debug)]
pub(crate) struct Statement {
    pub(crate) sql: String,
    params: Vec<Param>,
}

impl Statement {
    /// `sql` with one `?` per entry of `params`, in order. MySQL keeps the
    /// `?`s; Postgres and SQLite get `$1`, `$2`… (sqlx's Postgres driver
    /// knows no other form).
    fn new(dialect: Dialect, sql: &str, params: &[Param]) -> Self {
        debug_assert_eq!(sql.matches('?').count(), params.len(), "{sql}");
        let sql = match dialect {
            #[cfg(feature = "mysql")]
            Dialect::MySql => sql.to_owned(),
            #[allow(unreachable_patterns)]
            _ => {
                let mut numbered = String::with_capacity(sql.len() + params.len());
                for (n, part) in sql.split('?').enumerate() {
                    if n > 0 {
                        numbered.push_str(&format!("${n}"));
                    }
                    numbered.push_str(part);
                }
                numbered
            }
        };
        Self {
            sql,
            params: params.to_vec(),
        }
    }
}

/// What one store operation has to bind; a statement takes what it names.
#[derive(Clone, Copy, Default)]
pub(crate) struct Values<'a> {
    pub(crate) key: Option<&'a [u8]>,
    pub(crate) data: Option<&'a [u8]>,
    pub(crate) version: Option<i64>,
    pub(crate) owner: Option<Option<&'a str>>,
    pub(crate) expires_at: Option<i64>,
    pub(crate) expected: Option<i64>,
    pub(crate) now: Option<i64>,
}

impl<'a> Values<'a> {
    /// `key` and every field of `record`, with now.
    pub(crate) fn record(key: &'a RecordKey, record: &'a Record) -> Result<Self, StoreError> {
        Ok(Self {
            key: Some(key.as_bytes().as_slice()),
            data: Some(record.data.as_slice()),
            version: Some(version_to_sql(record.version)?),
            owner: Some(record.owner.as_deref()),
            expires_at: Some(to_millis(record.expires_at)),
            now: Some(now()),
            ..Self::default()
        })
    }
}

/// `statement` with its values bound.
///
/// # Panics
///
/// If the statement names a value the operation did not supply: the
/// statements are fixed in [`Queries::new`], so that is a bug here, and
/// every operation runs in each store's tests.
pub(crate) fn bind<'q, DB>(
    statement: &'q Statement,
    values: &Values<'q>,
) -> sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>
where
    DB: sqlx::Database,
    &'q [u8]: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<&'q str>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    fn given<T>(value: Option<T>, param: Param) -> T {
        value.unwrap_or_else(|| panic!("the statement binds {param:?}, which its operation lacks"))
    }
    let mut query = sqlx::query(&statement.sql);
    for &param in &statement.params {
        query = match param {
            Param::Key => query.bind(given(values.key, param)),
            Param::Data => query.bind(given(values.data, param)),
            Param::Version => query.bind(given(values.version, param)),
            Param::Owner => query.bind(given(values.owner, param)),
            Param::ExpiresAt => query.bind(given(values.expires_at, param)),
            Param::Expected => query.bind(given(values.expected, param)),
            Param::Now => query.bind(given(values.now, param)),
        };
    }
    query
}

/// Whether `error` is a unique-key violation: for `create`, a live record
/// holds the key.
pub(crate) fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(error) if error.is_unique_violation())
}

/// Every statement a store runs, formatted once per store.
///
/// Every write affects one row exactly when it did what was asked; sqlx's
/// MySQL driver sets `CLIENT_FOUND_ROWS`, so there too an `UPDATE` counts
/// the row it matched even when it leaves a value as it was (a `touch`
/// to the same millisecond).
#[derive(Debug)]
pub(crate) struct Queries {
    /// DDL, run in order by `migrate()`; it binds nothing.
    pub(crate) migrate: Vec<Statement>,
    /// Run in order; the record was created when the last one affected a
    /// row. Only an absent or expired record is replaced, and a unique-key
    /// violation means a live one holds the key.
    pub(crate) create: Vec<Statement>,
    /// → `data, version, owner, expires_at` of a live record.
    pub(crate) load: Statement,
    pub(crate) save: Statement,
    pub(crate) touch: Statement,
    pub(crate) delete: Statement,
    pub(crate) delete_by_owner: Statement,
    pub(crate) delete_expired: Statement,
}

impl Queries {
    fn new(table: &TableName, dialect: Dialect) -> Self {
        use Param::*;
        let t = table.quoted(dialect);
        // `key` is a reserved word in MySQL.
        let key = dialect.quote("key");
        let statement = |sql: String, params: &[Param]| Statement::new(dialect, &sql, params);
        let index = |suffix: &str, column: &str| {
            let index = table.index(suffix, dialect);
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
        let (migrate, create, owner_out) = match dialect {
            #[cfg(feature = "mysql")]
            Dialect::MySql => (
                // MySQL has no `CREATE INDEX IF NOT EXISTS` (MariaDB
                // does), so the indexes come with the table. `data` is a
                // LONGBLOB because a BLOB stops at 64 KiB, and a server
                // outside strict mode would cut a longer session short
                // rather than refuse it. `owner` is binary, compared byte
                // by byte: a text column's default collation would match
                // `Ada` to `ada ` in `delete_by_owner`.
                vec![format!(
                    "CREATE TABLE IF NOT EXISTS {t} (\
                     {key} VARBINARY(32) NOT NULL PRIMARY KEY, \
                     data LONGBLOB NOT NULL, \
                     version BIGINT NOT NULL, \
                     owner BLOB, \
                     expires_at BIGINT NOT NULL, \
                     INDEX {} (owner(255)), \
                     INDEX {} (expires_at))",
                    table.index("owner_idx", dialect),
                    table.index("expires_at_idx", dialect),
                )],
                // No `ON CONFLICT … WHERE`, and `ON DUPLICATE KEY UPDATE`
                // reports a live row left alone like an insert under
                // `CLIENT_FOUND_ROWS`. So an expired row is deleted first,
                // then a plain INSERT fails on a live one. Two autocommit
                // statements, not a transaction: a DELETE that finds no row
                // holds a gap lock until commit, and two creates of one key
                // would deadlock on each other's. Either order of two
                // racing creates leaves one winner, as with one statement.
                vec![
                    statement(
                        format!("DELETE FROM {t} WHERE {key} = ? AND expires_at <= ?"),
                        &[Key, Now],
                    ),
                    statement(
                        format!(
                            "INSERT INTO {t} ({key}, data, version, owner, expires_at) \
                             VALUES (?, ?, ?, ?, ?)"
                        ),
                        &[Key, Data, Version, Owner, ExpiresAt],
                    ),
                ],
                // Back to text for sqlx, which decodes no binary column as
                // a `String`; it was written from one, so it is UTF-8.
                "CONVERT(owner USING utf8mb4)",
            ),
            #[allow(unreachable_patterns)]
            _ => {
                let (bytes, integer) = match dialect {
                    #[cfg(feature = "sqlite")]
                    Dialect::Sqlite => ("BLOB", "INTEGER"),
                    _ => ("BYTEA", "BIGINT"),
                };
                (
                    vec![
                        format!(
                            "CREATE TABLE IF NOT EXISTS {t} (\
                             {key} {bytes} NOT NULL PRIMARY KEY, \
                             data {bytes} NOT NULL, \
                             version {integer} NOT NULL, \
                             owner TEXT, \
                             expires_at {integer} NOT NULL)"
                        ),
                        index("owner_idx", "owner"),
                        index("expires_at_idx", "expires_at"),
                    ],
                    vec![statement(
                        format!(
                            "INSERT INTO {t} AS existing ({key}, data, version, owner, expires_at) \
                             VALUES (?, ?, ?, ?, ?) \
                             ON CONFLICT ({key}) DO UPDATE SET data = excluded.data, \
                             version = excluded.version, owner = excluded.owner, \
                             expires_at = excluded.expires_at \
                             WHERE existing.expires_at <= ?"
                        ),
                        &[Key, Data, Version, Owner, ExpiresAt, Now],
                    )],
                    "owner",
                )
            }
        };
        Self {
            migrate: migrate
                .into_iter()
                .map(|sql| Statement {
                    sql,
                    params: Vec::new(),
                })
                .collect(),
            create,
            load: statement(
                format!(
                    "SELECT data, version, {owner_out}, expires_at FROM {t} \
                     WHERE {key} = ? AND expires_at > ?"
                ),
                &[Key, Now],
            ),
            save: statement(
                format!(
                    "UPDATE {t} SET data = ?, version = ?, owner = ?, expires_at = ? \
                     WHERE {key} = ? AND version = ? AND expires_at > ?"
                ),
                &[Data, Version, Owner, ExpiresAt, Key, Expected, Now],
            ),
            touch: statement(
                format!("UPDATE {t} SET expires_at = ? WHERE {key} = ? AND expires_at > ?"),
                &[ExpiresAt, Key, Now],
            ),
            delete: statement(format!("DELETE FROM {t} WHERE {key} = ?"), &[Key]),
            delete_by_owner: statement(format!("DELETE FROM {t} WHERE owner = ?"), &[Owner]),
            delete_expired: statement(format!("DELETE FROM {t} WHERE expires_at <= ?"), &[Now]),
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

/// Implements [`SessionStore`] and `Debug` for a store with `pool` and
/// `table` ([`SqlTable`]) fields: the SQL stores run their statements
/// alike, only the pool type differs.
macro_rules! impl_session_store {
    ($store:ty) => {
        impl ::std::fmt::Debug for $store {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                // A pool's options hold the password: show the table only.
                f.debug_struct(stringify!($store))
                    .field("table", &self.table)
                    .finish_non_exhaustive()
            }
        }

        impl $crate::store::SessionStore for $store {
            fn create(
                &self,
                key: &$crate::store::RecordKey,
                record: &$crate::store::Record,
            ) -> impl ::std::future::Future<
                Output = ::std::result::Result<bool, $crate::store::StoreError>,
            > + Send {
                async move {
                    let values = $crate::store::sql::Values::record(key, record)?;
                    let mut created = false;
                    for statement in &self.table.queries.create {
                        match $crate::store::sql::bind(statement, &values)
                            .execute(&self.pool)
                            .await
                        {
                            Ok(done) => created = done.rows_affected() == 1,
                            Err(error) if $crate::store::sql::is_unique_violation(&error) => {
                                return Ok(false)
                            }
                            Err(error) => return Err($crate::store::StoreError::backend(error)),
                        }
                    }
                    Ok(created)
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
                    let values = $crate::store::sql::Values {
                        key: Some(key.as_bytes().as_slice()),
                        now: Some($crate::store::sql::now()),
                        ..Default::default()
                    };
                    $crate::store::sql::bind(&self.table.queries.load, &values)
                        .try_map(|row| ::sqlx::FromRow::from_row(&row))
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
                    let values = $crate::store::sql::Values {
                        expected: Some(expected),
                        ..$crate::store::sql::Values::record(key, record)?
                    };
                    self.rows_affected(&self.table.queries.save, &values)
                        .await
                        .map(|rows| rows == 1)
                }
            }

            fn delete(
                &self,
                key: &$crate::store::RecordKey,
            ) -> impl ::std::future::Future<
                Output = ::std::result::Result<(), $crate::store::StoreError>,
            > + Send {
                async move {
                    let values = $crate::store::sql::Values {
                        key: Some(key.as_bytes().as_slice()),
                        ..Default::default()
                    };
                    self.rows_affected(&self.table.queries.delete, &values)
                        .await
                        .map(drop)
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
                    let values = $crate::store::sql::Values {
                        key: Some(key.as_bytes().as_slice()),
                        expires_at: Some($crate::store::sql::to_millis(expires_at)),
                        now: Some($crate::store::sql::now()),
                        ..Default::default()
                    };
                    self.rows_affected(&self.table.queries.touch, &values)
                        .await
                        .map(|rows| rows == 1)
                }
            }

            fn delete_expired(
                &self,
            ) -> impl ::std::future::Future<
                Output = ::std::result::Result<u64, $crate::store::StoreError>,
            > + Send {
                async move {
                    let values = $crate::store::sql::Values {
                        now: Some($crate::store::sql::now()),
                        ..Default::default()
                    };
                    self.rows_affected(&self.table.queries.delete_expired, &values)
                        .await
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
                    let values = $crate::store::sql::Values {
                        owner: Some(Some(owner)),
                        ..Default::default()
                    };
                    self.rows_affected(&self.table.queries.delete_by_owner, &values)
                        .await
                }
            }
        }

        impl $store {
            /// Runs `statement` on the pool: how many rows it affected.
            async fn rows_affected(
                &self,
                statement: &$crate::store::sql::Statement,
                values: &$crate::store::sql::Values<'_>,
            ) -> ::std::result::Result<u64, $crate::store::StoreError> {
                $crate::store::sql::bind(statement, values)
                    .execute(&self.pool)
                    .await
                    .map(|done| done.rows_affected())
                    .map_err($crate::store::StoreError::backend)
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

    #[cfg(feature = "postgres")]
    #[test]
    fn table_names_are_quoted() {
        let table = TableName::parse("auth.Sessions").expect("valid");
        assert_eq!(table.quoted(Dialect::Postgres), r#""auth"."Sessions""#);
        assert_eq!(
            table.index("owner_idx", Dialect::Postgres),
            r#""Sessions_owner_idx""#
        );
    }

    #[cfg(feature = "postgres")]
    #[test]
    fn postgres_placeholders_are_numbered_in_order() {
        let table = TableName::parse("t").expect("valid");
        let queries = Queries::new(&table, Dialect::Postgres);
        assert_eq!(
            queries.touch.sql,
            r#"UPDATE "t" SET expires_at = $1 WHERE "key" = $2 AND expires_at > $3"#
        );
        assert_eq!(
            queries.touch.params,
            [Param::ExpiresAt, Param::Key, Param::Now]
        );
    }

    #[cfg(feature = "sqlite")]
    #[test]
    fn sqlite_qualifies_the_index_not_its_table() {
        let table = TableName::parse("auth.Sessions").expect("valid");
        let queries = Queries::new(&table, Dialect::Sqlite);
        assert_eq!(
            queries.migrate[1].sql,
            r#"CREATE INDEX IF NOT EXISTS "auth"."Sessions_owner_idx" ON "Sessions" (owner)"#
        );
    }

    #[cfg(feature = "mysql")]
    #[test]
    fn mysql_quotes_with_backticks_and_keeps_question_marks() {
        let table = TableName::parse("auth.Sessions").expect("valid");
        assert_eq!(table.quoted(Dialect::MySql), "`auth`.`Sessions`");
        let queries = Queries::new(&table, Dialect::MySql);
        assert_eq!(queries.migrate.len(), 1);
        assert!(queries.migrate[0]
            .sql
            .contains("INDEX `Sessions_owner_idx` (owner(255))"));
        assert_eq!(
            queries.delete.sql,
            "DELETE FROM `auth`.`Sessions` WHERE `key` = ?"
        );
        let create: Vec<&str> = queries.create.iter().map(|s| s.sql.as_str()).collect();
        assert_eq!(
            create,
            [
                "DELETE FROM `auth`.`Sessions` WHERE `key` = ? AND expires_at <= ?",
                "INSERT INTO `auth`.`Sessions` (`key`, data, version, owner, expires_at) \
                 VALUES (?, ?, ?, ?, ?)",
            ]
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
