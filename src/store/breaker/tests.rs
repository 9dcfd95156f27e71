//! The breaker's state machine, on tokio's paused clock.

use std::future::{pending, Future};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

use super::*;
use crate::session::store::guarded::Guarded;
use crate::store::{Record, RecordKey, SessionStore};

fn unreachable() -> StoreError {
    StoreError::unreachable(std::io::Error::from(std::io::ErrorKind::ConnectionRefused))
}

/// Makes one call through `breaker` that ends with `outcome`; whether it
/// was let through.
fn call(breaker: &Breaker, outcome: Result<(), StoreError>) -> bool {
    match breaker.admit() {
        Some(permit) => {
            permit.record(Health::of(outcome.as_ref().err()));
            true
        }
        None => false,
    }
}

fn state(breaker: &Breaker) -> State {
    *breaker.inner.state.lock()
}

#[tokio::test(start_paused = true)]
async fn one_slow_call_does_not_open_it_three_in_a_row_do() {
    let breaker = Breaker::new();
    assert!(call(&breaker, Err(StoreError::Timeout)));
    assert!(call(&breaker, Err(StoreError::Timeout)));
    assert!(!breaker.is_open(), "two timeouts are not an outage");
    assert!(call(&breaker, Err(StoreError::Timeout)));
    assert!(breaker.is_open());
    assert!(!call(&breaker, Ok(())), "refused without being made");
}

#[tokio::test(start_paused = true)]
async fn two_unreachable_calls_in_a_row_open_it() {
    let breaker = Breaker::new();
    assert!(call(&breaker, Err(unreachable())));
    assert!(!breaker.is_open(), "one reset connection is not an outage");
    assert!(call(&breaker, Err(unreachable())));
    assert!(breaker.is_open());
}

#[tokio::test(start_paused = true)]
async fn a_timeout_then_an_unreachable_call_open_it() {
    let breaker = Breaker::new();
    call(&breaker, Err(StoreError::Timeout));
    call(&breaker, Err(unreachable()));
    assert!(breaker.is_open());
}

#[tokio::test(start_paused = true)]
async fn an_answer_ends_the_streak() {
    let breaker = Breaker::new();
    for _ in 0..5 {
        call(&breaker, Err(StoreError::Timeout));
        call(&breaker, Err(StoreError::Timeout));
        call(&breaker, Ok(()));
    }
    assert!(!breaker.is_open());
}

#[tokio::test(start_paused = true)]
async fn errors_the_server_answered_with_are_answers() {
    let breaker = Breaker::new();
    for answer in [
        StoreError::Corrupt("bad".into()),
        StoreError::backend(std::io::Error::other("NOSCRIPT")),
        StoreError::Unsupported("owners"),
    ] {
        call(&breaker, Err(unreachable()));
        call(&breaker, Err(answer));
    }
    assert!(!breaker.is_open());
}

/// A breaker opened at the current (paused) instant.
fn opened() -> Breaker {
    let breaker = Breaker::new();
    call(&breaker, Err(unreachable()));
    call(&breaker, Err(unreachable()));
    assert!(breaker.is_open());
    breaker
}

#[tokio::test(start_paused = true)]
async fn open_it_refuses_until_the_probe_interval_then_lets_one_probe_through() {
    let breaker = opened();
    tokio::time::advance(PROBE_INTERVAL - Duration::from_millis(1)).await;
    assert!(breaker.admit().is_none());
    tokio::time::advance(Duration::from_millis(1)).await;
    let probe = breaker.admit().expect("the probe");
    assert!(probe.is_probe());
    assert_eq!(state(&breaker), State::Probing);
    assert!(breaker.admit().is_none(), "one probe at a time");
    tokio::time::advance(Duration::from_secs(10)).await;
    assert!(breaker.admit().is_none(), "however long the probe takes");
    probe.record(Health::Answered);
    assert!(!breaker.is_open(), "an answer closes it");
    assert!(breaker.admit().is_some_and(|permit| !permit.is_probe()));
}

#[tokio::test(start_paused = true)]
async fn a_failed_probe_waits_another_interval() {
    let breaker = opened();
    tokio::time::advance(PROBE_INTERVAL).await;
    let probe = breaker.admit().expect("the probe");
    probe.record(Health::TimedOut);
    assert!(breaker.is_open());
    assert!(breaker.admit().is_none());
    tokio::time::advance(PROBE_INTERVAL).await;
    assert!(breaker.admit().is_some_and(|permit| permit.is_probe()));
}

#[tokio::test(start_paused = true)]
async fn a_probe_whose_request_went_away_lets_the_next_call_probe() {
    let breaker = opened();
    tokio::time::advance(PROBE_INTERVAL).await;
    drop(breaker.admit().expect("the probe"));
    assert!(breaker.is_open());
    let next = breaker.admit().expect("probes at once");
    assert!(next.is_probe());
}

#[tokio::test(start_paused = true)]
async fn a_call_made_before_it_opened_decides_nothing() {
    let breaker = Breaker::new();
    let early = breaker.admit().expect("closed");
    let later = breaker.admit().expect("closed");
    call(&breaker, Err(unreachable()));
    call(&breaker, Err(unreachable()));
    tokio::time::advance(PROBE_INTERVAL).await;
    let probe = breaker.admit().expect("the probe");
    early.record(Health::Unreachable);
    later.record(Health::Answered);
    assert_eq!(state(&breaker), State::Probing, "the probe decides");
    probe.record(Health::Answered);
    assert!(!breaker.is_open());

    // Nor does one from before the breaker last opened.
    let early = breaker.admit().expect("closed");
    call(&breaker, Err(unreachable()));
    call(&breaker, Err(unreachable()));
    early.record(Health::Answered);
    assert!(breaker.is_open());
}

#[tokio::test(start_paused = true)]
async fn clones_share_one_state() {
    let breaker = Breaker::new();
    let clone = breaker.clone();
    call(&breaker, Err(unreachable()));
    call(&clone, Err(unreachable()));
    assert!(breaker.is_open() && clone.is_open());
    assert_eq!(format!("{clone:?}"), r#"Breaker { state: "open" }"#);
}

/// A store whose calls never end, counting how many were made.
#[derive(Default)]
struct Hung {
    calls: AtomicUsize,
    breaker: Breaker,
}

impl Hung {
    /// Counted when first polled: a future the breaker refuses is dropped
    /// unpolled, as a store's is.
    async fn hang<O: Send>(&self) -> Result<O, StoreError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        pending().await
    }
}

impl SessionStore for Hung {
    fn create(
        &self,
        _: &RecordKey,
        _: &Record,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        self.hang()
    }
    fn load(
        &self,
        _: &RecordKey,
    ) -> impl Future<Output = Result<Option<Record>, StoreError>> + Send {
        self.hang()
    }
    fn save(
        &self,
        _: &RecordKey,
        _: &Record,
        _: u64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        self.hang()
    }
    fn delete(&self, _: &RecordKey) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.hang()
    }
    fn touch(
        &self,
        _: &RecordKey,
        _: SystemTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        self.hang()
    }
    fn breaker(&self) -> Option<&Breaker> {
        Some(&self.breaker)
    }
}

#[tokio::test(start_paused = true)]
async fn a_layer_times_out_three_calls_then_answers_at_once_and_probes_under_a_shorter_timeout() {
    let store = Arc::new(Hung::default());
    let timeout = Duration::from_secs(2);
    let guarded = Guarded::new(Arc::clone(&store), timeout);
    let key = RecordKey::for_session_id(b"id");
    for _ in 0..OPEN_AFTER {
        let started = Instant::now();
        assert!(matches!(guarded.load(&key).await, Err(StoreError::Timeout)));
        assert_eq!(started.elapsed(), timeout);
    }
    assert!(store.breaker.is_open(), "the store's own breaker");
    let started = Instant::now();
    assert!(matches!(
        guarded
            .save(&key, &Record::new(Vec::new(), SystemTime::now()), 1)
            .await,
        Err(StoreError::CircuitOpen)
    ));
    assert_eq!(started.elapsed(), Duration::ZERO, "answered at once");
    assert_eq!(
        store.calls.load(Ordering::SeqCst),
        3,
        "the store was not asked"
    );

    tokio::time::advance(PROBE_INTERVAL).await;
    let started = Instant::now();
    assert!(matches!(guarded.load(&key).await, Err(StoreError::Timeout)));
    assert_eq!(started.elapsed(), PROBE_TIMEOUT, "the probe waits less");
    assert_eq!(store.calls.load(Ordering::SeqCst), 4);
    assert!(store.breaker.is_open());
}

#[tokio::test(start_paused = true)]
async fn layers_on_a_store_without_a_breaker_have_one_each() {
    let store = Arc::new(crate::store::MemoryStore::new());
    let one = Guarded::new(Arc::clone(&store), Duration::from_secs(1));
    let two = Guarded::new(store, Duration::from_secs(1));
    let (one, two) = (one.breaker().expect("one"), two.breaker().expect("two"));
    call(one, Err(unreachable()));
    call(one, Err(unreachable()));
    assert!(one.is_open() && !two.is_open());
}
