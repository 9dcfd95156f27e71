//! The exported conformance suite fails a store that breaks the contract,
//! and says which check it broke.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

use tower_cookie_sessions::store::{MemoryStore, Record, RecordKey, SessionStore, StoreError};
use tower_cookie_sessions::testing::store_suite;

/// A `MemoryStore` whose `touch` never finds the record.
#[derive(Clone, Default)]
struct NoTouch(MemoryStore);

impl SessionStore for NoTouch {
    fn create(
        &self,
        key: &RecordKey,
        record: &Record,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        self.0.create(key, record)
    }

    fn load(
        &self,
        key: &RecordKey,
    ) -> impl Future<Output = Result<Option<Record>, StoreError>> + Send {
        self.0.load(key)
    }

    fn save(
        &self,
        key: &RecordKey,
        record: &Record,
        expected_version: u64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        self.0.save(key, record, expected_version)
    }

    fn delete(&self, key: &RecordKey) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.0.delete(key)
    }

    async fn touch(&self, _key: &RecordKey, _expires_at: SystemTime) -> Result<bool, StoreError> {
        Ok(false)
    }
}

/// The panic message of a task that panicked with a formatted message.
fn panic_text(error: tokio::task::JoinError) -> String {
    *error
        .into_panic()
        .downcast::<String>()
        .expect("a formatted panic message")
}

#[tokio::test]
async fn a_failing_check_is_named_and_its_store_still_torn_down() {
    let torn_down = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&torn_down);
    let outcome = tokio::spawn(store_suite::run_check(
        "touch_moves_only_the_expiry",
        NoTouch::default(),
        move |_store| async move { flag.store(true, Ordering::SeqCst) },
    ))
    .await;
    let message = panic_text(outcome.expect_err("the check fails"));
    assert!(
        message.starts_with("store conformance check `touch_moves_only_the_expiry` failed: "),
        "{message}"
    );
    assert!(torn_down.load(Ordering::SeqCst), "torn down after failing");
}

#[tokio::test]
async fn run_all_names_each_check_that_failed_and_runs_the_rest() {
    let outcome = tokio::spawn(store_suite::run_all(|| async { NoTouch::default() })).await;
    let message = panic_text(outcome.expect_err("the suite fails"));
    assert!(
        message.contains(&format!(
            "of {} store conformance checks failed",
            store_suite::CHECKS.len()
        )),
        "{message}"
    );
    assert!(
        message.contains("`touch_moves_only_the_expiry`: "),
        "{message}"
    );
    assert!(!message.contains("`round_trip`"), "{message}");
}

#[tokio::test]
#[should_panic(expected = "no store conformance check is named `no_such_check`")]
async fn an_unknown_check_is_refused() {
    store_suite::run_check("no_such_check", MemoryStore::new(), |_store| async {}).await;
}
