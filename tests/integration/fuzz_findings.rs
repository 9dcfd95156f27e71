//! What the fuzz targets found, one test per finding, through the public
//! API. The inputs that found them are in `fuzz/regressions/<target>/`,
//! which `tests/fuzz_corpus.rs` replays.

use std::time::{Duration, SystemTime};

use crate::common::*;
use tower_cookie_sessions::fuzzing::{self, Purpose};
use tower_cookie_sessions::store::{MemoryStore, Record, RecordKey, SessionStore};
use tower_cookie_sessions::{Key, SessionLayer};

fn key() -> Key {
    Key::from_hex("3a5f0c9e2d4b6a8f1e3c5d7b9a0f2e4d6c8b0a1f3e5d7c9b2a4f6e8d0c1b3a59").expect("key")
}

/// A session plaintext as the layer writes it (format 1, flags, schema
/// 0, LEB128 issue time and absolute deadline, bincode data), for a
/// [`Counter`] with `visits` and no blob, ending at `u64::MAX`: no
/// configuration writes that, but the key's holder can, and a deadline is
/// only a number.
fn never_ending_plaintext(visits: u8) -> Vec<u8> {
    session_plaintext(0b01, START, u64::MAX, &[visits, 0])
}

/// Found by `layer` (`fuzz/regressions/layer/far-deadline-cookie`):
/// `Session::expires_at` panicked with "overflow when adding duration to
/// instant". Times now saturate at the year 9999, and a deadline further
/// out than a layer seals (400 days from now) is refused: a fresh session.
#[tokio::test]
async fn a_sealed_deadline_past_what_a_layer_seals_gives_a_fresh_session() {
    let clock = TestClock::new();
    let value = fuzzing::seal_as(
        &key().into(),
        Purpose::Session,
        "id",
        &never_ending_plaintext(4),
    );
    let app = counter_app(
        SessionLayer::builder(key())
            .clock(clock.source())
            .build()
            .expect("layer"),
    );
    let logs = Logs::capture();
    let response = get_with(&app, "/", Some(&format!("id={value}"))).await;
    assert_eq!(response.status(), 200);
    assert!(set_cookie_for(&response, "id").is_some());
    assert_eq!(body_text(response).await, "visits: 1");
    let text = logs.text();
    assert!(
        text.contains("deadline beyond what a layer seals"),
        "{text}"
    );
}

/// Found by `layer` (`fuzz/regressions/layer/far-deadline-record`): the
/// save of a store session computed the record's expiry with the same
/// overflowing addition. Such a record is now refused like a corrupt one:
/// a fresh session, whose save replaces it.
#[tokio::test]
async fn a_store_record_whose_deadline_is_past_what_a_layer_seals_is_replaced() {
    let clock = TestClock::starting_now();
    let store = MemoryStore::new();
    let id = [9u8; 16];
    let record_key = RecordKey::for_session_id(&id);
    // A trusted store's record: 0x00, the record key, the plaintext.
    let data = [
        &[0u8][..],
        record_key.as_bytes(),
        &never_ending_plaintext(4),
    ]
    .concat();
    let expires_at = SystemTime::now() + Duration::from_secs(3600);
    assert!(store
        .create(&record_key, &Record::new(data, expires_at))
        .await
        .expect("created"));
    let layer = SessionLayer::store_builder(key(), store)
        .clock(clock.source())
        .build()
        .expect("layer");
    // The counter app never reads a deadline: this is the save's own.
    let app = counter_app(layer.clone());

    let cookie = format!(
        "id={}",
        fuzzing::seal_as(&key().into(), Purpose::SessionId, "id", &id)
    );
    let response = get_with(&app, "/", Some(&cookie)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(body_text(response).await, "visits: 1");
}
