//! `Session<SessionMap>` through the layer: one key at a time, values that
//! outlive their types' names, and maps of the first format refused.

use crate::common::key;
use crate::common::*;
use axum::extract::Query;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use tower_cookie_sessions::fuzzing::{self, Purpose};
use tower_cookie_sessions::store::MemoryStore;
use tower_cookie_sessions::{KeyRing, Session, SessionLayer, SessionMap};

/// What a handler of the release before wrote: a cart line, in a module
/// of its own.
mod checkout_v1 {
    #[derive(serde::Serialize)]
    pub(crate) struct CartLine {
        pub(crate) sku: String,
        pub(crate) quantity: u32,
    }
}

/// The same data after a refactoring: renamed, moved, with its fields in
/// another order, a wider integer and a new field with a default.
mod cart {
    #[derive(serde::Deserialize, Debug, PartialEq)]
    pub(crate) struct LineItem {
        pub(crate) quantity: u64,
        pub(crate) sku: String,
        #[serde(default)]
        pub(crate) gift_wrap: bool,
    }
}

#[derive(Deserialize)]
struct Entry {
    key: String,
    value: Option<String>,
}

fn app<B: Clone + Send + Sync + 'static>(layer: SessionLayer<SessionMap, B>) -> Router {
    Router::new()
        .route(
            "/insert",
            get(
                |session: Session<SessionMap>, Query(entry): Query<Entry>| async move {
                    session
                        .insert(entry.key, &entry.value.unwrap_or_default())
                        .expect("a string encodes");
                    "inserted"
                },
            ),
        )
        .route(
            "/get",
            get(
                |session: Session<SessionMap>, Query(entry): Query<Entry>| async move {
                    match session.get::<String>(&entry.key) {
                        Ok(Some(value)) => value,
                        Ok(None) => "none".to_owned(),
                        Err(error) => format!("error: {error}"),
                    }
                },
            ),
        )
        .route(
            "/remove",
            get(
                |session: Session<SessionMap>, Query(entry): Query<Entry>| async move {
                    format!("{}", session.remove(&entry.key))
                },
            ),
        )
        .route(
            "/contains",
            get(
                |session: Session<SessionMap>, Query(entry): Query<Entry>| async move {
                    format!("{}", session.contains(&entry.key))
                },
            ),
        )
        .route(
            "/keys",
            get(|session: Session<SessionMap>| async move { session.keys().join(",") }),
        )
        .route(
            "/count",
            get(|session: Session<SessionMap>| async move {
                let visits: u32 = session.get("visits").expect("a number").unwrap_or(0);
                session.insert("visits", &(visits + 1)).expect("encodes");
                format!("{visits}")
            }),
        )
        .route(
            "/count_wide",
            get(|session: Session<SessionMap>| async move {
                // Written as a `u32` by `/count`, read as an `i64`; as a
                // string it is a typed error.
                let wide: Option<i64> = session.get("visits").expect("fits an i64");
                let as_text = session.get::<String>("visits").unwrap_err();
                format!("{wide:?} / {as_text}")
            }),
        )
        .route(
            "/add_line",
            get(|session: Session<SessionMap>| async move {
                let line = checkout_v1::CartLine {
                    sku: "tea".into(),
                    quantity: 3,
                };
                session.insert("line", &line).expect("encodes");
                "added"
            }),
        )
        .route(
            "/line",
            get(|session: Session<SessionMap>| async move {
                format!("{:?}", session.get::<cart::LineItem>("line"))
            }),
        )
        .layer(layer)
}

fn cookie_app() -> Router {
    app(SessionLayer::<SessionMap>::new(key(0x3b)).expect("layer"))
}

fn store_app(store: &MemoryStore) -> Router {
    app(
        SessionLayer::<SessionMap>::store_builder(key(0x3b), store.clone())
            .build()
            .expect("layer"),
    )
}

/// Sends `path` with `cookie`, and gives the body and the cookie to send
/// next (the new one, or the same when none was set).
async fn visit(app: &Router, path: &str, cookie: Option<&str>) -> (String, Option<String>) {
    let response = get_with(app, path, cookie).await;
    assert_eq!(response.status(), 200, "{path}");
    let next = cookie_pair(&response, "id").or_else(|| cookie.map(str::to_owned));
    (body_text(response).await, next)
}

#[tokio::test]
async fn one_key_at_a_time_through_the_session() {
    for app in [cookie_app(), store_app(&MemoryStore::new())] {
        let (_, cookie) = visit(&app, "/insert?key=name&value=ada", None).await;
        let (_, cookie) = visit(&app, "/insert?key=theme&value=dark", cookie.as_deref()).await;
        let cookie = cookie.expect("a session cookie");
        let c = Some(cookie.as_str());

        assert_eq!(visit(&app, "/get?key=name", c).await.0, "ada");
        assert_eq!(visit(&app, "/get?key=missing", c).await.0, "none");
        assert_eq!(visit(&app, "/contains?key=theme", c).await.0, "true");
        assert_eq!(visit(&app, "/contains?key=missing", c).await.0, "false");
        assert_eq!(visit(&app, "/keys", c).await.0, "name,theme");

        // Removing a missing key is no change: nothing is sent.
        let response = get_with(&app, "/remove?key=missing", c).await;
        assert!(set_cookie_for(&response, "id").is_none());
        assert_eq!(body_text(response).await, "false");

        let (removed, cookie) = visit(&app, "/remove?key=name", c).await;
        assert_eq!(removed, "true");
        let c = cookie.as_deref();
        assert_eq!(visit(&app, "/keys", c).await.0, "theme");
        assert_eq!(visit(&app, "/get?key=name", c).await.0, "none");
    }
}

#[tokio::test]
async fn numbers_widen_and_other_shapes_are_typed_errors() {
    let app = cookie_app();
    let (first, cookie) = visit(&app, "/count", None).await;
    let (second, cookie) = visit(&app, "/count", cookie.as_deref()).await;
    assert_eq!((first.as_str(), second.as_str()), ("0", "1"));
    let (read, _) = visit(&app, "/count_wide", cookie.as_deref()).await;
    assert_eq!(
        read,
        "Some(2) / session value `visits` is not a `alloc::string::String`: \
         invalid type: integer `2`, expected string"
    );
    // The same read from `/get` answers with the error, not a wrong value.
    let (read, _) = visit(&app, "/get?key=visits", cookie.as_deref()).await;
    assert!(
        read.starts_with("error: session value `visits` is not a"),
        "{read}"
    );
}

#[tokio::test]
async fn a_value_reads_back_as_a_renamed_type_in_another_module() {
    for app in [cookie_app(), store_app(&MemoryStore::new())] {
        let (_, cookie) = visit(&app, "/add_line", None).await;
        let (line, _) = visit(&app, "/line", cookie.as_deref()).await;
        assert_eq!(
            line,
            r#"Ok(Some(LineItem { quantity: 3, sku: "tea", gift_wrap: false }))"#
        );
    }
}

/// A session cookie sealed like the layer's, around `map` (a `SessionMap`'s
/// bytes), issued now and ending in an hour.
fn sealed_session(map: &[u8]) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    let plaintext = session_plaintext(0, now, now + 3600, map);
    let ring = KeyRing::from(key(0x3b));
    format!(
        "id={}",
        fuzzing::seal_as(&ring, Purpose::Session, "id", &plaintext)
    )
}

#[tokio::test]
async fn a_map_of_the_first_format_gives_a_fresh_session() {
    let app = cookie_app();
    // {"n": "x"} in this format: its byte, one entry, the key, then the
    // value's CBOR (a text string of one byte) as a byte string.
    let current = sealed_session(&[0xFF, 1, 1, b'n', 2, 0x61, b'x']);
    assert_eq!(visit(&app, "/get?key=n", Some(&current)).await.0, "x");

    // {"n": "x"} in the first format: one entry, the key, the FNV-1a tag
    // of `alloc::string::String`'s name, and the bincode string.
    let mut first = vec![1, 1, b'n'];
    first.extend_from_slice(&fnv1a(b"alloc::string::String").to_le_bytes());
    first.extend_from_slice(&[2, 1, b'x']);
    let logs = Logs::capture();
    let response = get_with(&app, "/get?key=n", Some(&sealed_session(&first))).await;
    assert_eq!(response.status(), 200);
    assert_eq!(body_text(response).await, "none", "not a fresh session");
    let text = logs.text();
    assert!(
        text.contains("session data does not decode"),
        "the log says why: {text}"
    );
}

/// 64-bit FNV-1a, as the first format tagged values.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}
