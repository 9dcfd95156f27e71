//! A session store of your own, in one file: every `SessionStore` method
//! over a `HashMap` behind a mutex, then used by a layer.
//!
//! Run with `cargo run --example custom_store`. A real store would talk to
//! its database in the same five methods (and one more for the optional
//! owner index); what matters is that `create` only
//! inserts and `save` only writes when the version still matches.
//!
//! The conformance suite (feature `test-util`) checks all of that: the
//! `tests` module at the end runs every check on this store, one test
//! each. (The crate's own tests include this file, so `cargo test` runs
//! them too.)

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use axum::body::Body;
use axum::routing::get;
use axum::Router;
use http::Request;
use tower::ServiceExt;
use tower_cookie_sessions::store::{OwnerIndex, Record, RecordKey, SessionStore, StoreError};
use tower_cookie_sessions::{Key, Session, SessionLayer};

/// Records by key; cloning shares the map.
#[derive(Clone, Default)]
struct HashMapStore {
    records: Arc<Mutex<HashMap<RecordKey, Record>>>,
}

impl HashMapStore {
    /// Runs `f` on the map with expired records already gone, so no method
    /// can return or collide with a dead session.
    fn with_live<R>(&self, f: impl FnOnce(&mut HashMap<RecordKey, Record>) -> R) -> R {
        let mut records = self
            .records
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let now = SystemTime::now();
        records.retain(|_, record| !record.is_expired(now));
        f(&mut records)
    }
}

impl SessionStore for HashMapStore {
    fn create(
        &self,
        key: &RecordKey,
        record: &Record,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        let created = self.with_live(|records| {
            if records.contains_key(key) {
                return false;
            }
            records.insert(*key, record.clone());
            true
        });
        async move { Ok(created) }
    }

    fn load(
        &self,
        key: &RecordKey,
    ) -> impl Future<Output = Result<Option<Record>, StoreError>> + Send {
        let record = self.with_live(|records| records.get(key).cloned());
        async move { Ok(record) }
    }

    fn save(
        &self,
        key: &RecordKey,
        record: &Record,
        expected_version: u64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        // Compare-and-set: a request that loaded an older version must not
        // overwrite what another request saved meanwhile.
        let saved = self.with_live(|records| match records.get_mut(key) {
            Some(current) if current.version == expected_version => {
                *current = record.clone();
                true
            }
            _ => false,
        });
        async move { Ok(saved) }
    }

    fn delete(&self, key: &RecordKey) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.with_live(|records| records.remove(key));
        async { Ok(()) }
    }

    fn touch(
        &self,
        key: &RecordKey,
        expires_at: SystemTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        let touched = self.with_live(|records| match records.get_mut(key) {
            Some(record) => {
                record.expires_at = expires_at;
                true
            }
            None => false,
        });
        async move { Ok(touched) }
    }
}

/// Optional: a store that can find records by owner offers "sign this user
/// out everywhere".
impl OwnerIndex for HashMapStore {
    fn delete_by_owner(&self, owner: &str) -> impl Future<Output = Result<u64, StoreError>> + Send {
        let deleted = self.with_live(|records| {
            let before = records.len();
            records.retain(|_, record| record.owner.as_deref() != Some(owner));
            (before - records.len()) as u64
        });
        async move { Ok(deleted) }
    }

    fn list_by_owner(
        &self,
        owner: &str,
    ) -> impl Future<Output = Result<Vec<(RecordKey, Record)>, StoreError>> + Send {
        let owned = self.with_live(|records| {
            records
                .iter()
                .filter(|(_, record)| record.owner.as_deref() == Some(owner))
                .map(|(key, record)| (*key, record.clone()))
                .collect()
        });
        async move { Ok(owned) }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let store = HashMapStore::default();
    let app = Router::new()
        .route(
            "/",
            get(|session: Session<u64>| async move {
                let visits = session.update(|visits| {
                    *visits += 1;
                    *visits
                });
                format!("visits: {visits}")
            }),
        )
        .layer(SessionLayer::<u64>::store_builder(Key::generate(), store.clone()).build()?);

    let mut cookie = None::<String>;
    for _ in 0..3 {
        let mut request = Request::get("/");
        if let Some(cookie) = &cookie {
            request = request.header("cookie", cookie);
        }
        let response = app.clone().oneshot(request.body(Body::empty())?).await?;
        if let Some(set_cookie) = response.headers().get("set-cookie") {
            cookie = set_cookie.to_str()?.split(';').next().map(str::to_owned);
        }
        let body = axum::body::to_bytes(response.into_body(), 1024).await?;
        println!("{}", String::from_utf8_lossy(&body));
    }
    println!(
        "records in the store: {}",
        store.with_live(|records| records.len())
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::HashMapStore;

    // One `#[tokio::test]` per check, each on a fresh store; a store on a
    // server would also pass `tear_down = ...` to drop what it wrote.
    tower_cookie_sessions::store_conformance!(async { Some(HashMapStore::default()) }, owner_index);
}
