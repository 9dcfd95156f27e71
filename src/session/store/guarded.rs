//! The store as a layer sees it: every call under the layer's timeout and
//! through the store's circuit breaker.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::session::store::backend::timed;
use crate::store::breaker::{Health, PROBE_TIMEOUT};
use crate::store::{Breaker, OwnerIndex, Record, RecordKey, SessionStore, StoreError};

/// A layer's store: a call the store's breaker refuses fails at once with
/// [`StoreError::CircuitOpen`]; every other runs under the layer's timeout
/// (shorter for a probe), and its outcome goes back to the breaker.
pub(crate) struct Guarded<S> {
    store: Arc<S>,
    breaker: Breaker,
    timeout: Duration,
}

impl<S: SessionStore> Guarded<S> {
    /// `store` behind its own breaker, or a new one for this layer alone
    /// when it has none.
    pub(crate) fn new(store: Arc<S>, timeout: Duration) -> Self {
        let breaker = store.breaker().cloned().unwrap_or_default();
        Self {
            store,
            breaker,
            timeout,
        }
    }

    async fn call<O>(
        &self,
        operation: impl Future<Output = Result<O, StoreError>>,
    ) -> Result<O, StoreError> {
        // The operation is a future not yet polled: refused, it is dropped
        // without reaching the store.
        let Some(permit) = self.breaker.admit() else {
            return Err(StoreError::CircuitOpen);
        };
        let timeout = if permit.is_probe() {
            self.timeout.min(PROBE_TIMEOUT)
        } else {
            self.timeout
        };
        let outcome = timed(timeout, operation).await;
        permit.record(Health::of(outcome.as_ref().err()));
        outcome
    }
}

impl<S: SessionStore> SessionStore for Guarded<S> {
    fn create(
        &self,
        key: &RecordKey,
        record: &Record,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        self.call(self.store.create(key, record))
    }

    fn load(
        &self,
        key: &RecordKey,
    ) -> impl Future<Output = Result<Option<Record>, StoreError>> + Send {
        self.call(self.store.load(key))
    }

    fn save(
        &self,
        key: &RecordKey,
        record: &Record,
        expected_version: u64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        self.call(self.store.save(key, record, expected_version))
    }

    fn delete(&self, key: &RecordKey) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.call(self.store.delete(key))
    }

    fn touch(
        &self,
        key: &RecordKey,
        expires_at: SystemTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        self.call(self.store.touch(key, expires_at))
    }

    fn is_trusted(&self) -> bool {
        self.store.is_trusted()
    }

    fn breaker(&self) -> Option<&Breaker> {
        Some(&self.breaker)
    }
}

/// The owner lookups of "your devices" and "sign out everywhere", under
/// the same timeout and breaker as the session's own calls.
impl<S: OwnerIndex> OwnerIndex for Guarded<S> {
    fn delete_by_owner(&self, owner: &str) -> impl Future<Output = Result<u64, StoreError>> + Send {
        self.call(self.store.delete_by_owner(owner))
    }

    fn list_by_owner(
        &self,
        owner: &str,
    ) -> impl Future<Output = Result<Vec<(RecordKey, Record)>, StoreError>> + Send {
        self.call(self.store.list_by_owner(owner))
    }
}
