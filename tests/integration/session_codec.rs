//! Serde shapes across requests: CBOR carries every one, bincode refuses
//! the ones it cannot carry loudly (when the layer is built, or in debug
//! builds on the write), and a change of codec or type starts fresh
//! sessions with one warning.

use crate::common::key;
use std::fmt::Debug;

use crate::common::{body_text, cookie_pair, get_with, Logs};
use axum::routing::get;
use axum::Router;
use serde::{Deserialize, Serialize};
use tower_cookie_sessions::{Codec, ConfigError, MemoryStore, Session, SessionLayer};

/// A session type and a value of it that is not its default.
trait Shape: Clone + Default + Debug + PartialEq + Serialize + for<'de> Deserialize<'de> {
    fn sample() -> Self;
}

#[derive(Clone, Default, Debug, PartialEq, Serialize, Deserialize)]
struct Skips {
    #[serde(skip_serializing_if = "Option::is_none")]
    nickname: Option<String>,
    visits: u32,
}

impl Shape for Skips {
    fn sample() -> Self {
        Self {
            nickname: None,
            visits: 3,
        }
    }
}

#[derive(Clone, Default, Debug, PartialEq, Serialize, Deserialize)]
struct Prefs {
    theme: String,
}

#[derive(Clone, Default, Debug, PartialEq, Serialize, Deserialize)]
struct Flattens {
    user: u64,
    #[serde(flatten)]
    prefs: Prefs,
}

impl Shape for Flattens {
    fn sample() -> Self {
        Self {
            user: 7,
            prefs: Prefs {
                theme: "dark".into(),
            },
        }
    }
}

#[derive(Clone, Default, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind")]
enum Tagged {
    #[default]
    Guest,
    Member {
        id: u64,
    },
}

impl Shape for Tagged {
    fn sample() -> Self {
        Self::Member { id: 9 }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
enum Untagged {
    Name(String),
    Id(u64),
}

impl Default for Untagged {
    fn default() -> Self {
        Self::Name(String::new())
    }
}

impl Shape for Untagged {
    fn sample() -> Self {
        Self::Id(12)
    }
}

/// The shape of the report: its default, `None`, passes bincode;
/// `Some` does not come back.
#[derive(Clone, Default, Debug, PartialEq, Serialize, Deserialize)]
struct MaybeTagged {
    role: Option<Tagged>,
}

impl Shape for MaybeTagged {
    fn sample() -> Self {
        Self {
            role: Some(Tagged::Member { id: 4 }),
        }
    }
}

/// `/write` stores the sample; `/read` shows what the session holds.
fn app<T: Shape + Send + Sync + 'static, B: Clone + Send + Sync + 'static>(
    layer: SessionLayer<T, B>,
) -> Router {
    Router::new()
        .route(
            "/write",
            get(|session: Session<T>| async move {
                session.set(T::sample());
                "written"
            }),
        )
        .route(
            "/read",
            get(|session: Session<T>| async move { format!("{:?}", session.cloned()) }),
        )
        .layer(layer)
}

/// Writes the sample in one request and reads it in the next.
async fn across_two_requests<T: Shape + Send + Sync + 'static, B: Clone + Send + Sync + 'static>(
    layer: SessionLayer<T, B>,
    name: &str,
) -> String {
    let app = app(layer);
    let written = get_with(&app, "/write", None).await;
    let cookie = cookie_pair(&written, name).expect("the write sets the session cookie");
    body_text(get_with(&app, "/read", Some(&cookie)).await).await
}

async fn cbor_round_trips<T: Shape + Send + Sync + 'static>() {
    let layer = SessionLayer::<T>::builder(key(0x20))
        .codec(Codec::Cbor)
        .build()
        .expect("CBOR takes every shape");
    assert_eq!(
        across_two_requests(layer, "id").await,
        format!("{:?}", T::sample()),
        "a cookie session of `{}`",
        std::any::type_name::<T>()
    );
    let layer = SessionLayer::<T>::store_builder(key(0x20), MemoryStore::new())
        .codec(Codec::Cbor)
        .build()
        .expect("CBOR takes every shape");
    assert_eq!(
        across_two_requests(layer, "id").await,
        format!("{:?}", T::sample()),
        "a store session of `{}`",
        std::any::type_name::<T>()
    );
}

#[tokio::test]
async fn cbor_carries_every_shape_across_requests() {
    cbor_round_trips::<Skips>().await;
    cbor_round_trips::<Flattens>().await;
    cbor_round_trips::<Tagged>().await;
    cbor_round_trips::<Untagged>().await;
    cbor_round_trips::<MaybeTagged>().await;
}

fn refused_by_bincode<T: Shape + Send + Sync + 'static>() -> ConfigError {
    let error = SessionLayer::<T>::new(key(0x20)).expect_err("bincode cannot carry this shape");
    let text = error.to_string();
    assert!(
        text.contains(std::any::type_name::<T>()) && text.contains(".codec(Codec::Cbor)"),
        "the error names the type and the switch: {text}"
    );
    let store = SessionLayer::<T>::store_builder(key(0x20), MemoryStore::new()).build();
    assert!(store.is_err(), "a store layer checks the type too");
    error
}

#[test]
fn bincode_refuses_the_shapes_it_cannot_carry_when_the_layer_is_built() {
    refused_by_bincode::<Skips>();
    refused_by_bincode::<Flattens>();
    refused_by_bincode::<Tagged>();
    refused_by_bincode::<Untagged>();
}

#[tokio::test]
async fn bincode_carries_the_default_of_maybe_tagged_and_plain_values() {
    let layer = SessionLayer::<MaybeTagged>::new(key(0x20)).expect("None round-trips");
    let app = Router::new()
        .route(
            "/",
            get(|session: Session<MaybeTagged>| async move { format!("{:?}", session.cloned()) }),
        )
        .layer(layer);
    assert_eq!(
        body_text(get_with(&app, "/", None).await).await,
        "MaybeTagged { role: None }"
    );
}

#[cfg(debug_assertions)]
#[tokio::test]
#[should_panic(expected = "does not round-trip through bincode")]
async fn in_debug_builds_a_bincode_write_that_would_not_come_back_panics() {
    let layer = SessionLayer::<MaybeTagged>::new(key(0x20)).expect("None round-trips");
    across_two_requests(layer, "id").await;
}

#[cfg(debug_assertions)]
#[tokio::test]
#[should_panic(expected = ".codec(Codec::Cbor)")]
async fn the_debug_panic_names_the_switch_for_store_sessions_too() {
    let layer = SessionLayer::<MaybeTagged>::store_builder(key(0x20), MemoryStore::new())
        .build()
        .expect("None round-trips");
    across_two_requests(layer, "id").await;
}

#[derive(Clone, Default, Debug, PartialEq, Serialize, Deserialize)]
struct Plain {
    visits: u64,
}

/// `/` counts visits and answers whether the session was new and the count.
fn counting(codec: Codec) -> Router {
    Router::new()
        .route(
            "/",
            get(|session: Session<Plain>| async move {
                let fresh = session.is_new();
                let visits = session.update(|p| {
                    p.visits += 1;
                    p.visits
                });
                format!("{fresh} {visits}")
            }),
        )
        .layer(
            SessionLayer::<Plain>::builder(key(0x20))
                .codec(codec)
                .build()
                .expect("layer"),
        )
}

#[tokio::test]
async fn switching_codecs_starts_fresh_sessions() {
    for (from, to) in [(Codec::Bincode, Codec::Cbor), (Codec::Cbor, Codec::Bincode)] {
        let (old, new) = (counting(from), counting(to));
        let first = get_with(&old, "/", None).await;
        let cookie = cookie_pair(&first, "id").expect("session cookie");
        assert_eq!(
            body_text(get_with(&old, "/", Some(&cookie)).await).await,
            "false 2",
            "{from:?} reads its own sessions"
        );
        assert_eq!(
            body_text(get_with(&new, "/", Some(&cookie)).await).await,
            "true 1",
            "a {from:?} session is never decoded as {to:?} data"
        );
    }
}

#[tokio::test]
async fn a_session_that_no_longer_decodes_is_fresh_and_warned_about_once() {
    #[derive(Clone, Default, Debug, PartialEq, Serialize, Deserialize)]
    struct Before {
        name: String,
    }
    #[derive(Clone, Default, Debug, PartialEq, Serialize, Deserialize)]
    struct After {
        name: String,
        age: u32,
    }
    let before = Router::new()
        .route(
            "/",
            get(|session: Session<Before>| async move {
                session.set(Before { name: "ada".into() });
            }),
        )
        .layer(SessionLayer::<Before>::new(key(0x20)).expect("layer"));
    let cookie = cookie_pair(&get_with(&before, "/", None).await, "id").expect("cookie");

    let after = Router::new()
        .route(
            "/",
            get(|session: Session<After>| async move { format!("{:?}", session.is_new()) }),
        )
        .layer(SessionLayer::<After>::new(key(0x20)).expect("layer"));
    let logs = Logs::capture();
    for _ in 0..3 {
        assert_eq!(
            body_text(get_with(&after, "/", Some(&cookie)).await).await,
            "true"
        );
    }
    let text = logs.text();
    let warnings: Vec<&str> = text
        .lines()
        .filter(|line| line.contains(" WARN "))
        .collect();
    assert_eq!(warnings.len(), 1, "one warning a minute: {text}");
    assert!(
        warnings[0].contains("After") && warnings[0].contains("schema_version"),
        "the warning names the type and what to do: {}",
        warnings[0]
    );
    assert!(
        !text.contains("ada"),
        "the session's data never reaches the log: {text}"
    );
}
