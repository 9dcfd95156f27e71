//! "Your devices" through an axum app, as an application builds the page:
//! sign in with a label, list the owner's sessions marking this one, end
//! another one by its handle.

use axum::extract::{Query, State};
use axum::routing::{get, post};
use axum::Router;
use http::StatusCode;
use serde::Deserialize;
use tower_cookie_sessions::session::{DeviceHandle, StoreBackend};
use tower_cookie_sessions::store::{AnyStore, StoreError};
use tower_cookie_sessions::testing::TestClient;
use tower_cookie_sessions::{MemoryStore, Session, SessionLayer};

use crate::common::{body_text, key, Visit};

type Layer = SessionLayer<String, StoreBackend<AnyStore>>;

#[derive(Deserialize)]
struct Login {
    user: String,
    label: String,
}

#[derive(Deserialize)]
struct End {
    device: String,
}

/// `POST /login?user&label`, `GET /whoami`, `GET /devices` (one line per
/// device: handle, label, and `current` for this one), `POST
/// /devices/end?device` (answers whether one ended).
fn app(layer: Layer) -> Router {
    Router::new()
        .route(
            "/login",
            post(|session: Session<String>, Query(login): Query<Login>| async move {
                session.renew();
                session.set(login.user.clone());
                session.set_owner(Some(login.user));
                session.set_device_label(Some(login.label));
                "signed in"
            }),
        )
        .route(
            "/whoami",
            get(|session: Session<String>| async move { session.cloned() }),
        )
        .route(
            "/devices",
            get(|State(layer): State<Layer>, session: Session<String>| async move {
                let user = session.cloned();
                let devices = layer.devices(&user).await.expect("devices");
                devices
                    .iter()
                    .map(|device| {
                        let current = session.device() == Some(device.handle());
                        format!(
                            "{} {} {}",
                            device.handle(),
                            device.label().unwrap_or("-"),
                            if current { "current" } else { "other" }
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            }),
        )
        .route(
            "/devices/end",
            post(
                |State(layer): State<Layer>, session: Session<String>, Query(end): Query<End>| async move {
                    let Ok(handle) = end.device.parse::<DeviceHandle>() else {
                        return (StatusCode::BAD_REQUEST, "bad handle".to_owned());
                    };
                    // The signed-in user, never a value from the form.
                    let ended = layer.end_device(&session.cloned(), handle).await.expect("end");
                    (StatusCode::OK, ended.to_string())
                },
            ),
        )
        .with_state(layer.clone())
        .layer(layer)
}

fn layer() -> Layer {
    SessionLayer::<String>::store_builder(key(7), AnyStore::with_owner_index(MemoryStore::new()))
        .build()
        .expect("layer")
}

async fn call(client: &mut TestClient<Router>, method: &str, path: &str) -> String {
    let response = client.visit(method, path).await;
    assert_eq!(response.status(), StatusCode::OK, "{method} {path}");
    body_text(response).await
}

#[tokio::test]
async fn a_devices_page_lists_marks_and_ends_only_the_owners_sessions() {
    let app = app(layer());
    let mut laptop = TestClient::new(app.clone());
    let mut phone = TestClient::new(app.clone());
    let mut bob = TestClient::new(app);
    call(&mut laptop, "POST", "/login?user=ada&label=laptop").await;
    call(&mut phone, "POST", "/login?user=ada&label=phone").await;
    call(&mut bob, "POST", "/login?user=bob&label=bobs").await;

    let page = call(&mut laptop, "GET", "/devices").await;
    let lines: Vec<&str> = page.lines().collect();
    assert_eq!(lines.len(), 2, "{page}");
    assert!(
        lines.iter().any(|line| line.ends_with("laptop current")),
        "{page}"
    );
    let phone_line = lines
        .iter()
        .find(|line| line.ends_with("phone other"))
        .expect("the phone is listed as another device");
    let phone_handle = phone_line.split(' ').next().expect("handle");

    // Bob posting ada's handle ends nothing.
    let ended = call(
        &mut bob,
        "POST",
        &format!("/devices/end?device={phone_handle}"),
    )
    .await;
    assert_eq!(ended, "false");
    assert_eq!(call(&mut phone, "GET", "/whoami").await, "ada");

    let ended = call(
        &mut laptop,
        "POST",
        &format!("/devices/end?device={phone_handle}"),
    )
    .await;
    assert_eq!(ended, "true");
    assert_eq!(
        call(&mut phone, "GET", "/whoami").await,
        "",
        "the phone is signed out"
    );
    assert_eq!(call(&mut laptop, "GET", "/whoami").await, "ada");
    assert_eq!(call(&mut bob, "GET", "/whoami").await, "bob");
    let page = call(&mut laptop, "GET", "/devices").await;
    assert_eq!(page.lines().count(), 1, "{page}");
}

#[tokio::test]
async fn a_store_without_an_owner_index_says_so() {
    let layer = SessionLayer::<String>::store_builder(key(7), AnyStore::new(MemoryStore::new()))
        .build()
        .expect("layer");
    let error = layer.devices("ada").await.expect_err("no owner index");
    assert!(matches!(error, StoreError::Unsupported(_)), "{error}");
    let handle: DeviceHandle = "AAECAwQFBgcICQoLDA0ODw".parse().expect("handle");
    let error = layer
        .end_device("ada", handle)
        .await
        .expect_err("no owner index");
    assert!(matches!(error, StoreError::Unsupported(_)), "{error}");
}

#[tokio::test]
async fn client_side_sessions_have_no_device() {
    let layer = SessionLayer::<String>::new(key(7)).expect("layer");
    let app = Router::new()
        .route(
            "/",
            get(|session: Session<String>| async move {
                session.set("ada".to_owned());
                session.set_device_label(Some("laptop".into()));
                format!("{:?} {:?}", session.device(), session.device_label())
            }),
        )
        .layer(layer);
    let mut client = TestClient::new(app);
    assert_eq!(call(&mut client, "GET", "/").await, "None None");
    assert_eq!(call(&mut client, "GET", "/").await, "None None");
}
