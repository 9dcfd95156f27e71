//! Cookie names are compared byte for byte, as the browser sent them:
//! `__Host%2Did` is another cookie than `__Host-id`, so a sibling
//! subdomain that sets the look-alike (which browsers do not hold to the
//! `__Host-` rules) can neither plant a session nor break the real one.

use axum::Router;
use tower_cookie_sessions::store::MemoryStore;
use tower_cookie_sessions::testing::TestClient;
use tower_cookie_sessions::{Key, SessionLayer};

use crate::common::{
    body_text, cookie_header_of, cookie_pair, counter_app, get_with, removed_names, set_cookies,
    Visit,
};

const NAME: &str = "__Host-id";

/// Names a browser keeps apart from `__Host-id` that decode, or fold, to it.
const LOOK_ALIKES: [&str; 5] = [
    "__Host%2Did",
    "__Host%2did",
    "%5F%5FHost-id",
    "%5f%5fHost%2did",
    "__HOST-id",
];

fn cookie_app(key: Key) -> Router {
    counter_app(
        SessionLayer::<crate::common::Counter>::builder(key)
            .cookie_name(NAME)
            .max_cookie_size(3 * 4096)
            .build()
            .expect("layer"),
    )
}

fn store_app(key: Key, store: &MemoryStore) -> Router {
    counter_app(
        SessionLayer::<crate::common::Counter>::store_builder(key, store.clone())
            .cookie_name(NAME)
            .build()
            .expect("layer"),
    )
}

/// The value of a session the attacker holds: authentic, sealed under
/// `NAME`, three visits in.
async fn attackers_session(app: &Router) -> String {
    let mut client = TestClient::new(app.clone());
    for _ in 0..3 {
        client.get("/").await;
    }
    client.cookie(NAME).expect("a session cookie")
}

/// What `/` answers to `cookie`: a fresh session counts 1.
async fn visits_with(app: &Router, cookie: &str) -> String {
    body_text(get_with(app, "/", Some(cookie)).await).await
}

async fn a_look_alike_name_is_not_the_session(app: Router) {
    let planted = attackers_session(&app).await;
    assert_eq!(
        visits_with(&app, &format!("{NAME}={planted}")).await,
        "visits: 4",
        "the session opens under its own name"
    );
    for name in LOOK_ALIKES {
        assert_eq!(
            visits_with(&app, &format!("{name}={planted}")).await,
            "visits: 1",
            "{name} was opened as {NAME}"
        );
    }
}

#[tokio::test]
async fn a_look_alike_name_is_not_the_cookie_session() {
    a_look_alike_name_is_not_the_session(cookie_app(Key::generate())).await;
}

#[tokio::test]
async fn a_look_alike_name_is_not_the_store_session() {
    a_look_alike_name_is_not_the_session(store_app(Key::generate(), &MemoryStore::new())).await;
}

/// Planted first, where a decoding lookup would take it before the real
/// cookie; the victim's own session is the one read, and the look-alike is
/// neither removed nor rewritten.
async fn a_look_alike_listed_first_changes_nothing(app: Router) {
    let planted = attackers_session(&app).await;
    for name in LOOK_ALIKES {
        let mut victim = TestClient::new(app.clone());
        victim.get("/").await;
        let own = victim.cookie(NAME).expect("the victim's session");
        let response = get_with(&app, "/", Some(&format!("{name}={planted}; {NAME}={own}"))).await;
        assert!(
            set_cookies(&response)
                .iter()
                .all(|line| line.starts_with(&format!("{NAME}="))),
            "{:?}",
            set_cookies(&response)
        );
        assert_eq!(body_text(response).await, "visits: 2", "{name} won");
    }
}

#[tokio::test]
async fn a_look_alike_listed_first_changes_nothing_for_cookie_sessions() {
    a_look_alike_listed_first_changes_nothing(cookie_app(Key::generate())).await;
}

#[tokio::test]
async fn a_look_alike_listed_first_changes_nothing_for_store_sessions() {
    a_look_alike_listed_first_changes_nothing(store_app(Key::generate(), &MemoryStore::new()))
        .await;
}

/// A chunked session beside a planted look-alike of one of its chunks: the
/// look-alike is not a repeated chunk, so the session opens, and no
/// response removes it as one of the session's.
#[tokio::test]
async fn a_look_alike_chunk_is_neither_joined_nor_refused_nor_removed() {
    let app = cookie_app(Key::generate());
    let mut victim = TestClient::new(app.clone());
    victim.get("/").await;
    victim.get("/resize?bytes=6000").await;
    assert_eq!(victim.cookie_names(), ["__Host-id.0", "__Host-id.1"]);
    let genuine = cookie_header_of(&victim).expect("chunks");
    let chunk = victim.cookie("__Host-id.1").expect("chunk 1");
    for planted in [
        "__Host%2Did.1",
        "__Host-id%2E1",
        "__Host%2Did%2E1",
        "%5F%5FHost-id.0",
        "__HOST-id.1",
    ] {
        for header in [
            format!("{planted}={chunk}; {genuine}"),
            format!("{genuine}; {planted}={chunk}"),
        ] {
            let response = get_with(&app, "/", Some(&header)).await;
            // Rewritten as chunks, the session removes `NAME` as it always
            // does, and touches nothing else.
            assert_eq!(removed_names(&response), [NAME], "{planted}");
            let lines = set_cookies(&response);
            let own = ["__Host-id", "__Host-id.0", "__Host-id.1"];
            assert!(
                lines
                    .iter()
                    .all(|line| own.contains(&line.split('=').next().unwrap_or_default())),
                "{planted}: {lines:?}"
            );
            assert!(body_text(response).await.starts_with("visits: "));
            let read = get_with(&app, "/read", Some(&header)).await;
            assert_eq!(body_text(read).await, "visits: 1", "{planted} in {header}");
        }
    }
    // The look-alike alone is no session, and is not removed either.
    let response = get_with(&app, "/read", Some(&format!("__Host%2Did.0={chunk}"))).await;
    assert!(removed_names(&response).is_empty());
    assert_eq!(body_text(response).await, "visits: 0");
}

/// A store session's id cookie, planted under a look-alike: the record is
/// not loaded, and the victim's own cookie is still the one used.
#[tokio::test]
async fn a_planted_store_id_does_not_fixate_the_session() {
    let store = MemoryStore::new();
    let app = store_app(Key::generate(), &store);
    let planted = attackers_session(&app).await;
    let response = get_with(&app, "/", Some(&format!("__Host%2Did={planted}"))).await;
    let issued = cookie_pair(&response, NAME).expect("a fresh session of its own");
    assert_ne!(issued, format!("{NAME}={planted}"));
    assert_eq!(body_text(response).await, "visits: 1");
    // The attacker's record did not move.
    assert_eq!(
        visits_with(&app, &format!("{NAME}={planted}")).await,
        "visits: 4"
    );
}
