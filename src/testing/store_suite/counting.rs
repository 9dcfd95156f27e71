//! A store that counts the loads reaching the store it wraps: the suite's
//! proof that a forged cookie costs no store round trip.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

use crate::store::{Record, RecordKey, SessionStore, StoreError};

#[derive(Clone)]
pub(super) struct LoadCounter<S> {
    inner: S,
    pub(super) loads: Arc<AtomicUsize>,
}

impl<S> LoadCounter<S> {
    pub(super) fn new(inner: S) -> Self {
        Self {
            inner,
            loads: Arc::default(),
        }
    }
}

// Every method is passed on, so the wrapped store's own behaviour (its
// `delete_expired`, its `is_trusted`) is what the layer sees.
impl<S: SessionStore> SessionStore for LoadCounter<S> {
    fn create(
        &self,
        key: &RecordKey,
        record: &Record,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        self.inner.create(key, record)
    }

    fn load(
        &self,
        key: &RecordKey,
    ) -> impl Future<Output = Result<Option<Record>, StoreError>> + Send {
        self.loads.fetch_add(1, Ordering::SeqCst);
        self.inner.load(key)
    }

    fn save(
        &self,
        key: &RecordKey,
        record: &Record,
        expected_version: u64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        self.inner.save(key, record, expected_version)
    }

    fn delete(&self, key: &RecordKey) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.inner.delete(key)
    }

    fn touch(
        &self,
        key: &RecordKey,
        expires_at: SystemTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        self.inner.touch(key, expires_at)
    }

    fn delete_expired(&self) -> impl Future<Output = Result<u64, StoreError>> + Send {
        self.inner.delete_expired()
    }

    fn is_trusted(&self) -> bool {
        self.inner.is_trusted()
    }
}
