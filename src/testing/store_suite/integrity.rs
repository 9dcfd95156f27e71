//! Checks that what a cookie or a store holds cannot be forged, swapped,
//! read or grown past its cap: whatever fails to check out is a fresh
//! session, never someone else's.

use std::sync::atomic::Ordering;

use super::app::plain_map_app;
use super::client::{get, set, value};
use super::counting::LoadCounter;
use super::setup::{builder, forged_cookie, layer, record_key, session_id, stored};
use crate::store::{Record, SessionStore};
use crate::SessionMap;

pub(super) async fn unknown_id_is_never_adopted<S: SessionStore + Clone>(store: S) {
    let app = plain_map_app(&layer(&store));
    let cookie = set(&app, None, "key=a&value=1&owner=fixated")
        .await
        .id_cookie();
    // The record goes, as when its owner is signed out everywhere.
    store.delete(&record_key(&cookie)).await.expect("delete");
    let response = set(&app, Some(&cookie), "key=b&value=2").await;
    let fresh = response.cookie_pair("id").expect("a new id");
    assert_ne!(session_id(&fresh), session_id(&cookie));
    assert_eq!(value(&app, &fresh, "a").await, "none");
    assert!(store
        .load(&record_key(&cookie))
        .await
        .expect("load")
        .is_none());
}

pub(super) async fn forged_cookie_makes_no_store_call<S: SessionStore + Clone>(store: S) {
    let counting = LoadCounter::new(store);
    let app = plain_map_app(&builder::<SessionMap, _>(&counting).build().expect("layer"));
    let response = get(&app, "/read", Some(&forged_cookie())).await;
    assert_eq!(response.body, "0");
    assert_eq!(
        counting.loads.load(Ordering::SeqCst),
        0,
        "the store was asked"
    );

    let cookie = set(&app, None, "key=a&value=1").await.id_cookie();
    assert_eq!(value(&app, &cookie, "a").await, "1");
    assert_eq!(
        counting.loads.load(Ordering::SeqCst),
        1,
        "an authentic id is looked up"
    );
}

pub(super) async fn corrupt_record_is_replaced<S: SessionStore + Clone>(store: S) {
    let app = plain_map_app(&layer(&store));
    let cookie = set(&app, None, "key=a&value=1").await.id_cookie();
    let key = record_key(&cookie);
    let record = store.load(&key).await.expect("load").expect("record");
    let garbage = Record::new(b"\x01\x00not a session".to_vec(), record.expires_at)
        .with_version(record.version + 1);
    assert!(store
        .save(&key, &garbage, record.version)
        .await
        .expect("save"));

    assert_eq!(value(&app, &cookie, "a").await, "none", "a fresh session");
    let repaired = store
        .load(&key)
        .await
        .expect("load")
        .expect("the record is replaced, not left corrupt");
    assert_ne!(repaired.data, garbage.data);
    let response = set(&app, Some(&cookie), "key=b&value=2").await;
    assert_eq!(response.status, 200);
    assert_eq!(value(&app, &cookie, "b").await, "2");
}

/// Alice's record served under bob's key (a store or cache mix-up, a
/// restored backup) does not open as bob's session.
pub(super) async fn record_served_for_another_id_is_refused<S: SessionStore + Clone>(store: S) {
    let app = plain_map_app(&layer(&store));
    let alice = set(&app, None, "key=user&value=alice").await.id_cookie();
    let bob = set(&app, None, "key=user&value=bob").await.id_cookie();
    let alices = stored(&store, &alice).await;
    let bobs = stored(&store, &bob).await;
    let swapped =
        Record::new(alices.data.clone(), alices.expires_at).with_version(bobs.version + 1);
    assert!(store
        .save(&record_key(&bob), &swapped, bobs.version)
        .await
        .expect("save"));

    assert_eq!(
        value(&app, &bob, "user").await,
        "none",
        "bob gets a fresh session, never alice's"
    );
    assert_eq!(value(&app, &alice, "user").await, "alice");
}

/// A record changed in the store is refused like a corrupt one.
pub(super) async fn altered_record_is_refused<S: SessionStore + Clone>(store: S) {
    let app = plain_map_app(&layer(&store));
    let cookie = set(&app, None, "key=role&value=user").await.id_cookie();
    let key = record_key(&cookie);
    let record = store.load(&key).await.expect("load").expect("record");
    let mut data = record.data.clone();
    // A sealed record's tag, or the key a trusted store's record is bound
    // to: either way the layer must notice.
    let index = if store.is_trusted() {
        5
    } else {
        data.len() - 1
    };
    data[index] ^= 0x20;
    let altered = Record::new(data, record.expires_at).with_version(record.version + 1);
    assert!(store
        .save(&key, &altered, record.version)
        .await
        .expect("save"));
    assert_eq!(
        value(&app, &cookie, "role").await,
        "none",
        "a fresh session"
    );
}

/// A store nobody vouches for holds no readable session data: anyone who
/// can read it learns nothing, and anyone who can write it forges nothing.
pub(super) async fn records_hold_no_readable_session_data<S: SessionStore + Clone>(store: S) {
    let app = plain_map_app(&layer(&store));
    let cookie = set(
        &app,
        None,
        "key=token&value=sk-live-4242424242&label=sk-live-phone",
    )
    .await
    .id_cookie();
    let record = stored(&store, &cookie).await;
    // The value and the device label alike.
    let readable = record
        .data
        .windows(7)
        .filter(|window| *window == b"sk-live")
        .count()
        == 2;
    if store.is_trusted() {
        // In-process memory: nobody else reads it, so it is not sealed.
        assert!(readable, "a trusted store's records skip the cipher");
    } else {
        assert!(!readable, "the record is sealed");
    }
}

/// A session larger than the layer's record cap is the size error, and the
/// stored session stays as it was.
pub(super) async fn oversized_record_is_refused_before_the_store<S: SessionStore + Clone>(
    store: S,
) {
    let capped = builder::<SessionMap, _>(&store)
        .max_record_size(600)
        .build()
        .expect("layer");
    let app = plain_map_app(&capped);
    let cookie = set(&app, None, "key=a&value=small").await.id_cookie();
    let before = stored(&store, &cookie).await;
    let big = "x".repeat(700);
    let response = set(&app, Some(&cookie), &format!("key=a&value={big}")).await;
    assert_eq!(response.status, 500);
    assert!(response.set_cookies.is_empty());
    assert_eq!(response.body, "session too large\n");
    let after = stored(&store, &cookie).await;
    assert_eq!(after.version, before.version, "nothing was written");
    assert_eq!(value(&app, &cookie, "a").await, "small");
    let fresh = set(&app, None, &format!("key=a&value={big}")).await;
    assert_eq!(
        fresh.status, 500,
        "a new session over the cap is not created either"
    );
}
