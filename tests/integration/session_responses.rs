//! What responses carry: re-sealed cookies after rotation, `Vary` and
//! `Cache-Control`, the oversized-session error, and the extractor's
//! answer when no layer is there.

use crate::common::key;
use std::convert::Infallible;

use crate::common::*;
use axum::routing::get;
use axum::Router;
use http::{Request, Response, StatusCode};
use tower::{ServiceBuilder, ServiceExt};
use tower_cookie_sessions::fuzzing::{self, Purpose};
use tower_cookie_sessions::{
    Cookie, CookieLayer, Cookies, Key, KeyRing, Session, SessionError, SessionLayer,
};

#[tokio::test]
async fn rotation_keeps_old_cookies_readable_and_reseals_them() {
    let clock = TestClock::new();
    let old_app = counter_app(
        SessionLayer::builder(KeyRing::new(1, key(1)))
            .clock(clock.source())
            .build()
            .expect("layer"),
    );
    let old_cookie = cookie_pair(&get_with(&old_app, "/", None).await, "id").expect("cookie");

    let ring = KeyRing::new(2, key(2))
        .with_old_key(1, key(1))
        .expect("ring");
    let app = counter_app(
        SessionLayer::builder(ring)
            .clock(clock.source())
            .build()
            .expect("layer"),
    );
    let response = get_with(&app, "/read", Some(&old_cookie)).await;
    let resealed = cookie_pair(&response, "id").expect("a read with an old key re-seals");
    assert_eq!(body_text(response).await, "visits: 1");

    // The new cookie opens under the new key alone.
    let value = resealed.trim_start_matches("id=");
    let opened =
        fuzzing::open_as(&KeyRing::new(2, key(2)), Purpose::Session, "id", value).expect("new key");
    assert!(opened.is_current_key);

    let again = get_with(&app, "/read", Some(&resealed)).await;
    assert!(
        set_cookies(&again).is_empty(),
        "a current cookie is not re-sealed"
    );
}

async fn counter_with_headers(headers: &[(&str, &str)]) -> Response<axum::body::Body> {
    let headers: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let app = Router::new()
        .route(
            "/",
            get(move |session: Session<Counter>| async move {
                session.update(|c| c.visits += 1);
                let mut response = Response::new(axum::body::Body::from("ok"));
                for (name, value) in headers {
                    response.headers_mut().append(
                        http::HeaderName::try_from(name).expect("name"),
                        http::HeaderValue::try_from(value).expect("value"),
                    );
                }
                response
            }),
        )
        .layer(SessionLayer::<Counter>::new(Key::generate()).expect("layer"));
    get_with(&app, "/", None).await
}

fn all(response: &Response<axum::body::Body>, name: &str) -> Vec<String> {
    response
        .headers()
        .get_all(name)
        .iter()
        .map(|v| v.to_str().expect("ascii").to_owned())
        .collect()
}

#[tokio::test]
async fn vary_cookie_is_merged_without_duplicates() {
    let response = counter_with_headers(&[("vary", "Accept-Encoding")]).await;
    assert_eq!(
        all(&response, "vary").join(", ").to_ascii_lowercase(),
        "accept-encoding, cookie"
    );

    let response = counter_with_headers(&[("vary", "accept-encoding, COOKIE")]).await;
    assert_eq!(all(&response, "vary"), ["accept-encoding, COOKIE"]);

    let response = counter_with_headers(&[("vary", "*")]).await;
    assert_eq!(all(&response, "vary"), ["*"]);
}

#[tokio::test]
async fn session_cookie_makes_the_response_private() {
    let response = counter_with_headers(&[]).await;
    assert_eq!(all(&response, "cache-control"), ["private"]);

    let response =
        counter_with_headers(&[("cache-control", "public, max-age=60, s-maxage=300")]).await;
    assert_eq!(all(&response, "cache-control"), ["private, max-age=60"]);

    let response = counter_with_headers(&[("cache-control", "no-store")]).await;
    assert_eq!(all(&response, "cache-control"), ["no-store"]);

    let response = counter_with_headers(&[("cache-control", "private, max-age=5")]).await;
    assert_eq!(all(&response, "cache-control"), ["private, max-age=5"]);
}

#[tokio::test]
async fn oversized_session_is_a_500_with_no_cookie() {
    let logs = Logs::capture();
    let layer = SessionLayer::<Counter>::new(Key::generate()).expect("layer");
    let limit = layer.cookie_size_limit();
    let app = counter_app(layer);

    let fits = get_with(&app, &format!("/grow?bytes={}", limit / 2), None).await;
    assert_eq!(fits.status(), StatusCode::OK);

    let response = get_with(&app, &format!("/grow?bytes={limit}"), None).await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(set_cookies(&response).is_empty());
    let body = body_text(response).await;
    assert_eq!(body, "session too large\n", "generic text for the visitor");
    let text = logs.text();
    assert!(
        text.contains("ERROR") && text.contains(&format!("> {limit} bytes")),
        "the sizes go to the log: {text}"
    );
}

#[tokio::test]
async fn on_error_maps_session_errors_to_the_users_response() {
    let layer = SessionLayer::<Counter>::builder(Key::generate())
        .on_error(|error| {
            let mut response = Response::new(format!("{{\"error\":\"{error}\"}}"));
            *response.status_mut() = StatusCode::INSUFFICIENT_STORAGE;
            response
        })
        .build()
        .expect("layer");
    let limit = layer.cookie_size_limit();
    let app = counter_app(layer);
    let response = get_with(&app, &format!("/grow?bytes={limit}"), None).await;
    assert_eq!(response.status(), StatusCode::INSUFFICIENT_STORAGE);
    assert!(body_text(response)
        .await
        .starts_with("{\"error\":\"session too large"));
}

#[tokio::test]
async fn on_error_takes_anything_axum_turns_into_a_response() {
    use axum::response::{IntoResponse, Redirect};
    use tower_cookie_sessions::store::{OwnerIndex, Record, RecordKey, SessionStore, StoreError};

    /// A store that is always down.
    #[derive(Clone)]
    struct Down;

    impl SessionStore for Down {
        async fn create(&self, _: &RecordKey, _: &Record) -> Result<bool, StoreError> {
            Err(StoreError::Timeout)
        }
        async fn load(&self, _: &RecordKey) -> Result<Option<Record>, StoreError> {
            Err(StoreError::Timeout)
        }
        async fn save(&self, _: &RecordKey, _: &Record, _: u64) -> Result<bool, StoreError> {
            Err(StoreError::Timeout)
        }
        async fn delete(&self, _: &RecordKey) -> Result<(), StoreError> {
            Err(StoreError::Timeout)
        }
        async fn touch(&self, _: &RecordKey, _: std::time::SystemTime) -> Result<bool, StoreError> {
            Err(StoreError::Timeout)
        }
    }

    impl OwnerIndex for Down {
        async fn delete_by_owner(&self, _: &str) -> Result<u64, StoreError> {
            Err(StoreError::Timeout)
        }

        async fn list_by_owner(&self, _: &str) -> Result<Vec<(RecordKey, Record)>, StoreError> {
            Err(StoreError::Timeout)
        }
    }

    // A tuple of status, headers and body, as handlers return them.
    let layer = SessionLayer::<Counter>::builder(Key::generate())
        .on_error(|error| {
            (
                StatusCode::INSUFFICIENT_STORAGE,
                [("x-session-error", "too-large")],
                format!("custom: {error}"),
            )
        })
        .build()
        .expect("layer");
    let limit = layer.cookie_size_limit();
    let response = get_with(&counter_app(layer), &format!("/grow?bytes={limit}"), None).await;
    assert_eq!(response.status(), StatusCode::INSUFFICIENT_STORAGE);
    assert_eq!(response.headers()["x-session-error"], "too-large");
    assert_eq!(response.headers()["vary"], "Cookie");
    assert!(body_text(response)
        .await
        .starts_with("custom: session too large"));

    // A redirect, from a store layer whose store is down.
    let layer = SessionLayer::<Counter>::store_builder(Key::generate(), Down)
        .on_error(|_| Redirect::to("/maintenance").into_response())
        .build()
        .expect("layer");
    let first = get_with(&counter_app(layer.clone()), "/", None).await;
    assert_eq!(
        first.status(),
        StatusCode::SEE_OTHER,
        "a new session's create fails"
    );
    assert_eq!(first.headers()["location"], "/maintenance");
}

#[tokio::test]
async fn extractor_without_the_layer_is_a_500_whose_log_names_the_type() {
    let logs = Logs::capture();
    let app = Router::new().route("/", get(|_: Session<Counter>| async { "unreachable" }));
    let response = get_with(&app, "/", None).await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body_text(response).await, "session not available\n");
    let text = logs.text();
    assert!(
        text.contains("ERROR") && text.contains("Session<") && text.contains("Counter"),
        "{text}"
    );
    assert!(text.contains("SessionLayer"), "{text}");
}

#[tokio::test]
async fn extractor_for_another_type_is_a_500() {
    let app = Router::new()
        .route("/", get(|_: Session<u64>| async { "unreachable" }))
        .layer(SessionLayer::<Counter>::new(Key::generate()).expect("layer"));
    let logs = Logs::capture();
    let response = get_with(&app, "/", None).await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body_text(response).await, "session not available\n");
    assert!(logs.text().contains("Session<u64>"), "{}", logs.text());
}

#[tokio::test]
async fn plain_tower_services_load_the_session_from_the_request() {
    let service = ServiceBuilder::new()
        .layer(SessionLayer::<u64>::new(Key::generate()).expect("layer"))
        .service_fn(|request: Request<String>| async move {
            let session = Session::<u64>::load(&request).await?;
            let visits = session.update(|v| {
                *v += 1;
                *v
            });
            Ok::<_, SessionError>(Response::new(format!("visits: {visits}")))
        });
    let first = service
        .clone()
        .oneshot(Request::new(String::new()))
        .await
        .expect("response");
    let cookie = cookie_pair(&first, "id").expect("cookie");
    let second = service
        .oneshot(
            Request::builder()
                .header("cookie", cookie)
                .body(String::new())
                .expect("request"),
        )
        .await
        .expect("response");
    assert_eq!(body_text(second).await, "visits: 2");
}

#[tokio::test]
async fn loading_without_the_layer_is_a_clear_error() {
    let error = Session::<u64>::load(&Request::new(()))
        .await
        .expect_err("no layer");
    assert!(
        matches!(error, SessionError::MissingLayer { type_name: "u64" }),
        "{error}"
    );
    assert!(error.to_string().contains("SessionLayer<u64>"));
}

#[tokio::test]
async fn session_layer_provides_the_cookie_jar_with_private_cookies() {
    let app = Router::new()
        .route(
            "/",
            get(|cookies: Cookies, session: Session<Counter>| async move {
                cookies
                    .add(Cookie::new("theme", "dark"))
                    .expect("a valid cookie");
                cookies
                    .private()
                    .expect("the session key")
                    .add(Cookie::new("secret", "42"))
                    .expect("a valid cookie");
                session.update(|c| c.visits += 1);
            }),
        )
        .layer(SessionLayer::<Counter>::new(Key::generate()).expect("layer"));
    let response = get_with(&app, "/", None).await;
    let names: Vec<String> = set_cookies(&response)
        .iter()
        .map(|line| line.split('=').next().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(names, ["theme", "secret", "id"]);
}

#[tokio::test]
async fn an_outer_cookie_layer_writes_the_jar_once() {
    let app = Router::new()
        .route(
            "/",
            get(|cookies: Cookies, session: Session<Counter>| async move {
                cookies
                    .add(Cookie::new("theme", "dark"))
                    .expect("a valid cookie");
                session.update(|c| c.visits += 1);
            }),
        )
        .layer(SessionLayer::<Counter>::new(Key::generate()).expect("layer"))
        .layer(CookieLayer::new());
    let response = get_with(&app, "/", None).await;
    let themes = set_cookies(&response)
        .iter()
        .filter(|l| l.starts_with("theme="))
        .count();
    assert_eq!(themes, 1);
    assert!(set_cookie_for(&response, "id").is_some());
}

/// Sends a request through `layer` to a handler that sets its session and
/// then fails: the handler's error comes back as it was.
async fn assert_handler_error_passes_through<B>(layer: SessionLayer<u64, B>) {
    let service =
        ServiceBuilder::new()
            .layer(layer)
            .service_fn(|request: Request<String>| async move {
                let session = Session::<u64>::load(&request).await.expect("layer");
                session.set(7);
                Err::<Response<String>, _>("inner failure")
            });
    let error = service
        .oneshot(Request::new(String::new()))
        .await
        .expect_err("error passes through");
    assert_eq!(error, "inner failure");
}

#[tokio::test]
async fn inner_service_errors_pass_through_without_cookies() {
    assert_handler_error_passes_through(SessionLayer::new(Key::generate()).expect("layer")).await;
}

#[tokio::test]
async fn inner_service_errors_do_not_save_a_store_session() {
    let store = tower_cookie_sessions::store::MemoryStore::new();
    assert_handler_error_passes_through(
        SessionLayer::store_builder(Key::generate(), store.clone())
            .build()
            .expect("layer"),
    )
    .await;
    assert!(
        store.is_empty(),
        "the session of a failed request is not saved"
    );
}

#[tokio::test]
async fn untouched_requests_do_not_need_a_body_that_is_infallible() {
    // The layer works over any body whose data is made from `Bytes`, e.g.
    // a plain `String`.
    let service = ServiceBuilder::new()
        .layer(SessionLayer::<u64>::new(Key::generate()).expect("layer"))
        .service_fn(|_: Request<String>| async {
            Ok::<_, Infallible>(Response::new(String::from("hi")))
        });
    let response = service
        .oneshot(Request::new(String::new()))
        .await
        .expect("response");
    assert!(set_cookies(&response).is_empty());
    assert_eq!(body_text(response).await, "hi");
}

#[tokio::test]
async fn an_update_that_changes_nothing_sends_nothing() {
    let app = Router::new()
        .route(
            "/",
            get(|session: Session<Counter>| async move {
                session.update(|c| c.visits += 1);
                "counted"
            }),
        )
        .route(
            "/look",
            get(|session: Session<Counter>| async move {
                // Changed and changed back, or not changed at all.
                session.update(|c| c.visits += 1);
                session.update(|c| c.visits -= 1);
                session.set(session.cloned());
                "looked"
            }),
        )
        .layer(SessionLayer::<Counter>::new(Key::generate()).expect("layer"));
    let first = get_with(&app, "/", None).await;
    let cookie = cookie_pair(&first, "id").expect("cookie");
    let response = get_with(&app, "/look", Some(&cookie)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        set_cookies(&response).is_empty(),
        "{:?}",
        set_cookies(&response)
    );
    let fresh = get_with(&app, "/look", None).await;
    assert!(
        set_cookies(&fresh).is_empty(),
        "a new, unchanged session sends no cookie"
    );
}
