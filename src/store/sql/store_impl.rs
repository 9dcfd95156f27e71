//! `SessionStore` for the SQL stores, written once.

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
                            Err(error) => return Err($crate::store::sql::store_error(error)),
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
                        .map_err($crate::store::sql::store_error)?
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

            fn breaker(&self) -> Option<&$crate::store::Breaker> {
                Some(&self.breaker)
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

            fn list_by_owner(
                &self,
                owner: &str,
            ) -> impl ::std::future::Future<
                Output = ::std::result::Result<
                    Vec<($crate::store::RecordKey, $crate::store::Record)>,
                    $crate::store::StoreError,
                >,
            > + Send {
                async move {
                    let values = $crate::store::sql::Values {
                        owner: Some(Some(owner)),
                        now: Some($crate::store::sql::now()),
                        ..Default::default()
                    };
                    $crate::store::sql::bind(&self.table.queries.list_by_owner, &values)
                        .try_map(|row| ::sqlx::FromRow::from_row(&row))
                        .fetch_all(&self.pool)
                        .await
                        .map_err($crate::store::sql::store_error)?
                        .into_iter()
                        .map($crate::store::sql::keyed_record_from_row)
                        .collect()
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
                    .map_err($crate::store::sql::store_error)
            }
        }
    };
}

pub(crate) use impl_session_store;
