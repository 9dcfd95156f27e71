//! The statements each SQL store runs, formatted once per table.

use crate::store::sql::{Dialect, Param, Statement, TableName};

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
    /// → `key, data, version, owner, expires_at` of an owner's live records.
    pub(crate) list_by_owner: Statement,
    pub(crate) delete_expired: Statement,
}

impl Queries {
    pub(super) fn new(table: &TableName, dialect: Dialect) -> Self {
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
            list_by_owner: statement(
                format!(
                    "SELECT {key}, data, version, {owner_out}, expires_at FROM {t} \
                     WHERE owner = ? AND expires_at > ?"
                ),
                &[Owner, Now],
            ),
            delete_expired: statement(format!("DELETE FROM {t} WHERE expires_at <= ?"), &[Now]),
        }
    }
}
