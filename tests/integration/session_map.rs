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
use tower_cookie_sessions::testing::TestClient;
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

/// The body `client` gets for `path`, which must answer 200.
async fn page(client: &mut TestClient<Router>, path: &str) -> String {
    let response = client.get(path).await;
    assert_eq!(response.status(), 200, "{path}");
    body_text(response).await
}

#[tokio::test]
async fn one_key_at_a_time_through_the_session() {
    for app in [cookie_app(), store_app(&MemoryStore::new())] {
        let mut client = TestClient::new(app);
        page(&mut client, "/insert?key=name&value=ada").await;
        page(&mut client, "/insert?key=theme&value=dark").await;
        assert!(client.cookie("id").is_some(), "a session cookie");

        assert_eq!(page(&mut client, "/get?key=name").await, "ada");
        assert_eq!(page(&mut client, "/get?key=missing").await, "none");
        assert_eq!(page(&mut client, "/contains?key=theme").await, "true");
        assert_eq!(page(&mut client, "/contains?key=missing").await, "false");
        assert_eq!(page(&mut client, "/keys").await, "name,theme");

        // Removing a missing key is no change: nothing is sent.
        let response = client.get("/remove?key=missing").await;
        assert!(set_cookie_for(&response, "id").is_none());
        assert_eq!(body_text(response).await, "false");

        assert_eq!(page(&mut client, "/remove?key=name").await, "true");
        assert_eq!(page(&mut client, "/keys").await, "theme");
        assert_eq!(page(&mut client, "/get?key=name").await, "none");
    }
}

#[tokio::test]
async fn numbers_widen_and_other_shapes_are_typed_errors() {
    let mut client = TestClient::new(cookie_app());
    let first = page(&mut client, "/count").await;
    let second = page(&mut client, "/count").await;
    assert_eq!((first.as_str(), second.as_str()), ("0", "1"));
    let read = page(&mut client, "/count_wide").await;
    assert_eq!(
        read,
        "Some(2) / session value `visits` is not a `alloc::string::String`: \
         invalid type: integer `2`, expected string"
    );
    // The same read from `/get` answers with the error, not a wrong value.
    let read = page(&mut client, "/get?key=visits").await;
    assert!(
        read.starts_with("error: session value `visits` is not a"),
        "{read}"
    );
}

#[tokio::test]
async fn a_value_reads_back_as_a_renamed_type_in_another_module() {
    for app in [cookie_app(), store_app(&MemoryStore::new())] {
        let mut client = TestClient::new(app);
        page(&mut client, "/add_line").await;
        let line = page(&mut client, "/line").await;
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
    let response = get_with(&app, "/get?key=n", Some(&current)).await;
    assert_eq!(body_text(response).await, "x");

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
