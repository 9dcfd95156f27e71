//! The SQL stores' shared parts, tested without a server.

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
