//! One SQL statement, written once with `?` placeholders, and the values
//! it binds, in order.

use crate::store::sql::{now, to_millis, version_to_sql, Dialect};
use crate::store::{Record, RecordKey, StoreError};

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
    pub(super) params: Vec<Param>,
}

impl Statement {
    /// `sql` with one `?` per entry of `params`, in order. MySQL keeps the
    /// `?`s; Postgres and SQLite get `$1`, `$2`… (sqlx's Postgres driver
    /// knows no other form).
    pub(super) fn new(dialect: Dialect, sql: &str, params: &[Param]) -> Self {
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

/// A client error as the layer's breaker needs it: no connection to be had
/// or one lost (an I/O or TLS failure, a pool timed out, closed or without
/// its worker, a server shutting down or refusing connections: SQLSTATE
/// class 08, 53300 and 57P01 to 57P03) is [`StoreError::Unreachable`];
/// anything else the server answered is [`StoreError::Backend`].
pub(crate) fn store_error(error: sqlx::Error) -> StoreError {
    let unreachable = match &error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(error) => error.code().is_some_and(|code| {
            code.starts_with("08") || matches!(&*code, "53300" | "57P01" | "57P02" | "57P03")
        }),
        _ => false,
    };
    if unreachable {
        StoreError::unreachable(error)
    } else {
        StoreError::backend(error)
    }
}
