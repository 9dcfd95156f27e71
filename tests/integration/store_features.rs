//! Says which store test suites this build leaves out: a plain `cargo test`
//! builds without the store features, and `cargo test` lists these as
//! ignored with the reason, rather than passing in silence.

#[cfg(not(feature = "redis"))]
#[test]
#[ignore = "the Redis store suites need `--features redis` (and REDIS_URL, redis-server)"]
fn redis_store_suites() {}

#[cfg(not(feature = "postgres"))]
#[test]
#[ignore = "the PostgreSQL store suite needs `--features postgres` (and DATABASE_URL)"]
fn postgres_store_suite() {}

#[cfg(not(feature = "sqlite"))]
#[test]
#[ignore = "the SQLite store suite needs `--features sqlite`"]
fn sqlite_store_suite() {}

#[cfg(not(feature = "mysql"))]
#[test]
#[ignore = "the MySQL store suite needs `--features mysql` (and MYSQL_URL)"]
fn mysql_store_suite() {}
