//! Checks of the store trait itself, without a layer: the contract the
//! layer relies on (create only inserts, save is compare-and-set, touch
//! moves only the expiry, expired records are gone).

use std::time::{Duration, SystemTime};

use super::setup::in_seconds;
use crate::store::{Record, RecordKey, SessionStore};

pub(super) async fn touch_moves_only_the_expiry<S: SessionStore + Clone>(store: S) {
    let key = RecordKey::for_session_id(b"touch");
    let record = Record::new(b"data".to_vec(), in_seconds(60)).with_owner(Some("o".into()));
    assert!(store.create(&key, &record).await.expect("create"));
    let later = in_seconds(3600);
    assert!(store.touch(&key, later).await.expect("touch"));
    let loaded = store.load(&key).await.expect("load").expect("record");
    assert_eq!(loaded.data, b"data");
    assert_eq!(loaded.version, 1);
    assert_eq!(loaded.owner.as_deref(), Some("o"));
    let drift = loaded
        .expires_at
        .duration_since(later)
        .unwrap_or_else(|e| e.duration());
    assert!(
        drift < Duration::from_secs(1),
        "expiry moved to {:?}",
        loaded.expires_at
    );
    assert!(!store
        .touch(&RecordKey::for_session_id(b"missing"), later)
        .await
        .expect("touch"));
    store.delete(&key).await.expect("delete");
}

pub(super) async fn create_refuses_an_existing_record<S: SessionStore + Clone>(store: S) {
    let key = RecordKey::for_session_id(b"create-twice");
    assert!(store
        .create(&key, &Record::new(b"one".to_vec(), in_seconds(60)))
        .await
        .expect("create"));
    assert!(!store
        .create(&key, &Record::new(b"two".to_vec(), in_seconds(60)))
        .await
        .expect("create"));
    assert_eq!(
        store.load(&key).await.expect("load").expect("record").data,
        b"one"
    );
    store.delete(&key).await.expect("delete");
    store
        .delete(&key)
        .await
        .expect("deleting a missing record succeeds");
}

pub(super) async fn save_is_compare_and_set<S: SessionStore + Clone>(store: S) {
    let key = RecordKey::for_session_id(b"cas");
    let first = Record::new(b"v1".to_vec(), in_seconds(60));
    assert!(store.create(&key, &first).await.expect("create"));
    let second = Record::new(b"v2".to_vec(), in_seconds(60)).with_version(2);
    assert!(
        !store.save(&key, &second, 7).await.expect("save"),
        "wrong version"
    );
    assert!(store.save(&key, &second, 1).await.expect("save"));
    assert!(
        !store.save(&key, &second, 1).await.expect("save"),
        "version 1 is gone"
    );
    let loaded = store.load(&key).await.expect("load").expect("record");
    assert_eq!(
        (loaded.data.as_slice(), loaded.version),
        (b"v2".as_slice(), 2)
    );
    let missing = RecordKey::for_session_id(b"cas-missing");
    assert!(
        !store.save(&missing, &second, 1).await.expect("save"),
        "no record"
    );
    store.delete(&key).await.expect("delete");
}

pub(super) async fn delete_expired_leaves_live_records<S: SessionStore + Clone>(store: S) {
    let live = RecordKey::for_session_id(b"live");
    let dead = RecordKey::for_session_id(b"dead");
    assert!(store
        .create(&live, &Record::new(b"live".to_vec(), in_seconds(60)))
        .await
        .expect("create"));
    let _ = store
        .create(
            &dead,
            &Record::new(b"dead".to_vec(), SystemTime::now() - Duration::from_secs(1)),
        )
        .await
        .expect("create");
    store.delete_expired().await.expect("delete expired");
    assert!(store.load(&dead).await.expect("load").is_none());
    assert!(store.load(&live).await.expect("load").is_some());
    store.delete(&live).await.expect("delete");
}
