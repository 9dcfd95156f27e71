//! `Debug` output and log events end up in logs: none of them may show key
//! bytes, a session id or session data.

use std::convert::Infallible;

use crate::common::{cookie_pair, Logs};
use http::{Request, Response};
use serde::{Deserialize, Serialize};
use tower::{service_fn, Layer, ServiceExt};
use tower_cookie_sessions::fuzzing::{self, Purpose};
use tower_cookie_sessions::store::{MemoryStore, Record, RecordKey, SessionStore};
use tower_cookie_sessions::{
    Cookie, CookieLayer, Cookies, Key, KeyRing, Session, SessionError, SessionLayer, SessionMap,
};

const KEY_HEX: &str = "5a1f0c9e8d7b6a5948372615f4e3d2c1b0a9f8e7d6c5b4a39281706f5e4d3c2b";
const SECRET: &str = "sk-live-4242424242";

fn key() -> Key {
    Key::from_hex(KEY_HEX).expect("key")
}

/// Fails if `text` shows the key (as hex or as a byte list) or the secret.
fn assert_clean(what: &str, text: &str) {
    assert!(!text.contains(SECRET), "{what} shows session data: {text}");
    assert!(
        !text.contains(&KEY_HEX[..8]) && !text.contains("90, 31, 12"),
        "{what} shows key bytes: {text}"
    );
}

#[derive(Clone, Default, Debug, Serialize, Deserialize)]
struct Secret {
    token: String,
}

#[tokio::test]
async fn no_public_type_prints_keys_ids_or_data() {
    assert_clean("Key", &format!("{:?}", key()));
    assert_clean("KeyRing", &format!("{:?}", KeyRing::from(key())));
    let cookie_layer = CookieLayer::new().with_key(key());
    assert_clean("CookieLayer", &format!("{cookie_layer:?}"));
    let layer = SessionLayer::<Secret>::new(key()).expect("layer");
    assert_clean("SessionLayer", &format!("{layer:?}"));
    assert_clean("Revocation", &format!("{:?}", layer.revocation()));
    let hooked = SessionLayer::<Secret>::builder(key()).on_load(|_: &Secret, _| async { Ok(true) });
    assert_clean(
        "SessionLayerBuilder with a load hook",
        &format!("{hooked:?}"),
    );
    let hooked = hooked.build().expect("layer");
    assert_clean("SessionLayer with a load hook", &format!("{hooked:?}"));
    let store_layer = SessionLayer::<Secret>::store_builder(key(), MemoryStore::new())
        .build()
        .expect("layer");
    assert_clean("SessionLayer with a store", &format!("{store_layer:?}"));

    // A session, the jar and its private view, as a handler holds them.
    let service = layer.layer(service_fn(|request: Request<String>| async move {
        let session = Session::<Secret>::load(&request).await?;
        session.set(Secret {
            token: SECRET.to_owned(),
        });
        let cookies = Cookies::from_request(&request).expect("jar");
        let private = cookies.private().expect("the session layer has a key");
        private
            .add(Cookie::new("token", SECRET))
            .expect("a valid cookie");
        cookies
            .add(Cookie::new("plain", SECRET))
            .expect("a valid cookie");
        let shown = format!("{session:?} {cookies:?} {private:?}");
        Ok::<_, SessionError>(Response::new(shown))
    }));
    let request = Request::builder()
        .header("cookie", format!("theme={SECRET}"))
        .body(String::new())
        .expect("request");
    let response = service.oneshot(request).await.expect("ok");
    let shown = crate::common::body_text(response).await;
    assert!(shown.contains("Session"), "{shown}");
    assert_clean("Session, Cookies and PrivateCookies", &shown);

    let ring = KeyRing::from(key());
    let sealed = fuzzing::seal_as(&ring, Purpose::Session, "id", SECRET.as_bytes());
    let opened = fuzzing::open_as(&ring, Purpose::Session, "id", &sealed).expect("opens");
    assert_clean("envelope::Opened", &format!("{opened:?}"));

    let id = b"0123456789abcdef";
    let record_key = RecordKey::for_session_id(id);
    let shown = format!("{record_key:?}");
    assert!(!shown.contains("0123456789abcdef") && !shown.contains(&record_key.to_hex()));
    let record = Record::new(SECRET.as_bytes().to_vec(), std::time::SystemTime::now());
    assert_clean("Record", &format!("{record:?}"));

    let mut map = SessionMap::new();
    map.insert("token", SECRET).expect("insert");
    assert_clean("SessionMap", &format!("{map:?}"));

    let store = MemoryStore::new();
    store.create(&record_key, &record).await.expect("create");
    assert_clean("MemoryStore", &format!("{store:?}"));
    let caching = tower_cookie_sessions::store::CachingStore::new(store.clone(), store.clone());
    assert_clean("CachingStore", &format!("{caching:?}"));
    let layered = SessionLayer::<Secret>::store_builder(key(), store)
        .build()
        .expect("layer")
        .layer(service_fn(|_: Request<String>| async {
            Ok::<_, Infallible>(Response::new(String::new()))
        }));
    assert_clean("SessionService", &format!("{layered:?}"));
    let policy =
        tower_cookie_sessions::session::ConflictPolicy::<Secret>::merge(|_, _, l| Some(l.clone()));
    assert_clean("ConflictPolicy", &format!("{policy:?}"));
    let error = SessionError::Encode(String::from("length overflow"));
    assert_clean("SessionError", &format!("{error:?}"));
}

#[tokio::test]
async fn store_log_events_name_a_session_by_a_short_tag() {
    let store = MemoryStore::new();
    let layer = SessionLayer::<Secret>::store_builder(key(), store.clone())
        .build()
        .expect("layer");
    let write = layer
        .clone()
        .layer(service_fn(|request: Request<String>| async move {
            Session::<Secret>::load(&request).await?.set(Secret {
                token: SECRET.to_owned(),
            });
            Ok::<_, SessionError>(Response::new(String::new()))
        }));
    let response = write
        .oneshot(Request::new(String::new()))
        .await
        .expect("ok");
    let cookie = cookie_pair(&response, "id").expect("cookie");
    let id = fuzzing::open_as(
        &KeyRing::from(key()),
        Purpose::SessionId,
        "id",
        cookie.trim_start_matches("id="),
    )
    .expect("an id")
    .plaintext;
    let record_key = RecordKey::for_session_id(&id);

    // The record goes bad in the store; the layer logs its refusal.
    let record = store
        .load(&record_key)
        .await
        .expect("load")
        .expect("record");
    let mut data = record.data.clone();
    data[5] ^= 1;
    let altered = Record::new(data, record.expires_at).with_version(record.version + 1);
    assert!(store
        .save(&record_key, &altered, record.version)
        .await
        .expect("save"));

    let logs = Logs::capture();
    let read = layer.layer(service_fn(|request: Request<String>| async move {
        let _ = Session::<Secret>::load(&request)
            .await
            .expect("a fresh session")
            .cloned();
        Ok::<_, Infallible>(Response::new(String::new()))
    }));
    let request = Request::builder()
        .header("cookie", &cookie)
        .body(String::new())
        .expect("request");
    read.oneshot(request).await.expect("ok");
    let text = logs.text();
    let tag = text
        .split("session=")
        .nth(1)
        .map(|rest| &rest[..8])
        .unwrap_or_else(|| panic!("the event names the session: {text}"));
    assert!(tag.bytes().all(|b| b.is_ascii_hexdigit()), "{text}");
    let id_hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
    assert!(!text.contains(&id_hex), "{text}");
    assert!(!text.contains(&record_key.to_hex()[..12]), "{text}");
    assert!(!text.contains(cookie.trim_start_matches("id=")), "{text}");
}
