//! Checks of a store's owner index: ending and listing one owner's
//! sessions, and the "your devices" page built on them.

use std::time::{Duration, SystemTime};

use super::app::plain_map_app;
use super::client::{get, set, value};
use super::setup::{in_seconds, inactivity_layer, layer, record_key, TestClock};
use crate::clock::Clock;
use crate::session::DeviceHandle;
use crate::store::{OwnerIndex, Record, RecordKey};

pub(super) async fn delete_by_owner_ends_only_that_owners_sessions<S: OwnerIndex + Clone>(
    store: S,
) {
    let app = plain_map_app(&layer(&store));
    let mut ada = Vec::new();
    for _ in 0..2 {
        ada.push(set(&app, None, "key=a&value=1&owner=ada").await.id_cookie());
    }
    let bob = set(&app, None, "key=b&value=2&owner=bob").await.id_cookie();
    assert_eq!(store.delete_by_owner("ada").await.expect("delete"), 2);
    for cookie in &ada {
        assert_eq!(value(&app, cookie, "a").await, "none");
    }
    assert_eq!(value(&app, &bob, "b").await, "2");
    assert_eq!(store.delete_by_owner("nobody").await.expect("delete"), 0);
}

pub(super) async fn list_by_owner_lists_only_that_owners_live_records<S: OwnerIndex + Clone>(
    store: S,
) {
    let owned = |name: &str| Record::new(name.as_bytes().to_vec(), in_seconds(60));
    let keys: Vec<RecordKey> = (0..4u8)
        .map(|n| RecordKey::for_session_id(&[b'l', n]))
        .collect();
    for (key, owner) in keys.iter().zip(["ada", "ada", "bob", "ada"]) {
        let record = owned(owner).with_owner(Some(owner.to_owned()));
        assert!(store.create(key, &record).await.expect("create"));
    }
    let mut listed = store.list_by_owner("ada").await.expect("list");
    listed.sort_by_key(|(key, _)| *key);
    let mut expected = vec![keys[0], keys[1], keys[3]];
    expected.sort();
    assert_eq!(
        listed.iter().map(|(key, _)| *key).collect::<Vec<_>>(),
        expected
    );
    assert!(listed
        .iter()
        .all(|(_, record)| record.data == b"ada" && record.owner.as_deref() == Some("ada")));

    // A record given to another owner, and a deleted one, are no longer
    // ada's.
    let moved = owned("bob").with_owner(Some("bob".into())).with_version(2);
    assert!(store.save(&keys[1], &moved, 1).await.expect("save"));
    store.delete(&keys[3]).await.expect("delete");
    let listed = store.list_by_owner("ada").await.expect("list");
    assert_eq!(
        listed.iter().map(|(key, _)| *key).collect::<Vec<_>>(),
        vec![keys[0]]
    );
    assert_eq!(store.list_by_owner("bob").await.expect("list").len(), 2);
    assert!(store
        .list_by_owner("nobody")
        .await
        .expect("list")
        .is_empty());
}

/// The handle `/device` answers for the session in `cookie`.
async fn device_of<A: super::client::App>(app: &A, cookie: &str) -> DeviceHandle {
    get(app, "/device", Some(cookie))
        .await
        .body
        .parse()
        .expect("a stored session has a device handle")
}

pub(super) async fn devices_list_each_session_with_its_label_and_times<S: OwnerIndex + Clone>(
    store: S,
) {
    let layer = layer(&store);
    let app = plain_map_app(&layer);
    let before = SystemTime::now() - Duration::from_secs(1);
    let laptop = set(
        &app,
        None,
        "key=a&value=1&owner=ada&label=Firefox%20on%20Linux",
    )
    .await
    .id_cookie();
    let phone = set(&app, None, "key=a&value=2&owner=ada").await.id_cookie();
    let _bob = set(&app, None, "key=a&value=3&owner=bob&label=bob")
        .await
        .id_cookie();
    assert_eq!(get(&app, "/device", None).await.body, "none", "not stored");

    let devices = layer.devices("ada").await.expect("devices");
    assert_eq!(devices.len(), 2, "{devices:?}");
    let laptop_handle = device_of(&app, &laptop).await;
    let phone_handle = device_of(&app, &phone).await;
    assert_ne!(laptop_handle, phone_handle);
    let listed = |handle| {
        devices
            .iter()
            .find(|device| device.handle() == handle)
            .expect("listed")
    };
    assert_eq!(listed(laptop_handle).label(), Some("Firefox on Linux"));
    assert_eq!(listed(phone_handle).label(), None);
    let after = SystemTime::now() + Duration::from_secs(1);
    for device in &devices {
        assert!(
            device.created() >= before && device.created() <= after,
            "{device:?}"
        );
        assert!(device.last_seen() >= device.created(), "{device:?}");
        assert!(device.expires() > after, "{device:?}");
    }
    assert!(layer.devices("nobody").await.expect("devices").is_empty());
}

pub(super) async fn device_handle_survives_renew_and_logout_ends_it<S: OwnerIndex + Clone>(
    store: S,
) {
    let layer = layer(&store);
    let app = plain_map_app(&layer);
    let cookie = set(&app, None, "key=a&value=1&owner=ada&label=laptop")
        .await
        .id_cookie();
    let handle = device_of(&app, &cookie).await;
    let created = layer.devices("ada").await.expect("devices")[0].created();

    let renewed = get(&app, "/renew", Some(&cookie)).await.id_cookie();
    assert_ne!(record_key(&renewed), record_key(&cookie));
    assert_eq!(
        device_of(&app, &renewed).await,
        handle,
        "renew keeps the handle"
    );
    let devices = layer.devices("ada").await.expect("devices");
    assert_eq!(devices.len(), 1, "{devices:?}");
    assert_eq!(devices[0].handle(), handle);
    assert_eq!(devices[0].created(), created);
    assert_eq!(devices[0].label(), Some("laptop"));

    // Signing out and in again is a new device.
    let out = super::client::send(&app, http::Method::POST, "/logout", Some(&renewed)).await;
    assert!(out.set_cookie_for("id").is_some());
    assert!(layer.devices("ada").await.expect("devices").is_empty());
    let again = set(&app, None, "key=a&value=1&owner=ada").await.id_cookie();
    assert_ne!(device_of(&app, &again).await, handle);
}

pub(super) async fn ending_a_device_needs_its_owner<S: OwnerIndex + Clone>(store: S) {
    let layer = layer(&store);
    let app = plain_map_app(&layer);
    let laptop = set(&app, None, "key=a&value=1&owner=ada").await.id_cookie();
    let phone = set(&app, None, "key=a&value=2&owner=ada").await.id_cookie();
    let bob = set(&app, None, "key=a&value=3&owner=bob").await.id_cookie();
    let phone_handle = device_of(&app, &phone).await;

    // Bob posting ada's handle ends nothing.
    assert!(!layer.end_device("bob", phone_handle).await.expect("end"));
    assert_eq!(value(&app, &phone, "a").await, "2");
    assert_eq!(value(&app, &bob, "a").await, "3");

    assert!(layer.end_device("ada", phone_handle).await.expect("end"));
    assert_eq!(value(&app, &phone, "a").await, "none", "signed out");
    assert_eq!(
        value(&app, &laptop, "a").await,
        "1",
        "the other device stays"
    );
    assert!(
        !layer.end_device("ada", phone_handle).await.expect("end"),
        "gone"
    );
    let left = layer.devices("ada").await.expect("devices");
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].handle(), device_of(&app, &laptop).await);
}

pub(super) async fn last_seen_moves_on_writes_and_refreshes_not_reads<S: OwnerIndex + Clone>(
    store: S,
) {
    let clock = TestClock::starting_now();
    let layer = inactivity_layer(&store, 1000, &clock);
    let app = plain_map_app(&layer);
    let cookie = set(&app, None, "key=a&value=1&owner=ada").await.id_cookie();
    let seen = || async { layer.devices("ada").await.expect("devices")[0].last_seen() };
    let signed_in = seen().await;

    clock.advance(100);
    assert_eq!(value(&app, &cookie, "a").await, "1");
    assert_eq!(seen().await, signed_in, "a read writes nothing");

    clock.advance(500);
    assert_eq!(value(&app, &cookie, "a").await, "1");
    let refreshed = seen().await;
    assert_eq!(refreshed, clock.now(), "a rolling refresh moves last seen");

    clock.advance(10);
    let cookie_after = set(&app, Some(&cookie), "key=a&value=2").await;
    assert!(cookie_after.status.is_success());
    assert_eq!(seen().await, clock.now(), "a write moves last seen");
}
