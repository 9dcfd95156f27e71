//! What every check sets up: the suite's key and layers, a clock it moves
//! by hand, and reading a session's id and record back out of a cookie.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::envelope;
use crate::key::{Key, KeyRing, Purpose};
use crate::session::{Expiry, SessionData, SessionLayerBuilder, StoreBackend};
use crate::store::{Record, RecordKey, SessionStore};
use crate::{Clock, SessionLayer, SessionMap};

/// A layer of the suite's apps.
pub(super) type MapLayer<S> = SessionLayer<SessionMap, StoreBackend<S>>;

/// The key every suite layer seals with, so a check can open the id in a
/// cookie.
fn suite_key() -> Key {
    Key::from_hex("5a1f0c9e8d7b6a5948372615f4e3d2c1b0a9f8e7d6c5b4a39281706f5e4d3c2b").expect("key")
}

/// The settings of [`layer`], for checks that change one.
pub(super) fn builder<T: SessionData, S: SessionStore + Clone>(
    store: &S,
) -> SessionLayerBuilder<T, StoreBackend<S>> {
    SessionLayer::<T>::store_builder(suite_key(), store.clone())
}

/// A store layer with the default settings.
pub(super) fn layer<S: SessionStore + Clone>(store: &S) -> MapLayer<S> {
    builder(store).build().expect("layer")
}

/// A store layer whose sessions end after `idle_seconds` without use,
/// timed by `clock`.
pub(super) fn inactivity_layer<S: SessionStore + Clone>(
    store: &S,
    idle_seconds: u64,
    clock: &TestClock,
) -> MapLayer<S> {
    builder(store)
        .expiry(Expiry::Inactivity(Duration::from_secs(idle_seconds)))
        .clock(clock.clone())
        .build()
        .expect("a lifetime browsers keep")
}

/// A clock a check moves by hand. It starts at the real time: stores
/// judge a record's expiry by their own clock, so a check that moves this
/// one forward sees the layer refuse what the store still returns.
#[derive(Clone)]
pub(super) struct TestClock(Arc<AtomicU64>);

impl TestClock {
    pub(super) fn starting_now() -> Self {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("after 1970")
            .as_secs();
        Self(Arc::new(AtomicU64::new(now)))
    }

    pub(super) fn advance(&self, seconds: u64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.0.load(Ordering::SeqCst))
    }
}

/// The session id sealed in an `id=…` cookie pair.
pub(super) fn session_id(cookie: &str) -> Vec<u8> {
    let value = cookie.trim_start_matches("id=");
    envelope::open_as(&KeyRing::from(suite_key()), Purpose::SessionId, "id", value)
        .expect("an id cookie")
        .plaintext
}

/// An `id=…` cookie pair whose id is sealed with a key no layer of the
/// suite holds.
pub(super) fn forged_cookie() -> String {
    let forged = envelope::seal_as(
        &KeyRing::from(Key::generate()),
        Purpose::SessionId,
        "id",
        &[7; 16],
    );
    format!("id={forged}")
}

pub(super) fn record_key(cookie: &str) -> RecordKey {
    RecordKey::for_session_id(&session_id(cookie))
}

/// The record the session in `cookie` has in `store`.
pub(super) async fn stored<S: SessionStore>(store: &S, cookie: &str) -> Record {
    store
        .load(&record_key(cookie))
        .await
        .expect("load")
        .expect("record")
}

pub(super) fn in_seconds(seconds: u64) -> SystemTime {
    SystemTime::now() + Duration::from_secs(seconds)
}
