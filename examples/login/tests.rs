//! The login example's handlers through the layer, with the crate's test
//! helpers (feature `test-util`).

use axum::body::Body;
use axum::http::header::{CONTENT_TYPE, LOCATION, USER_AGENT};
use axum::http::Request;
use tower::ServiceExt;
use tower_cookie_sessions::flash::{FlashMessage, Level};
use tower_cookie_sessions::testing::TestClient;
use tower_cookie_sessions::MemoryStore;

use super::*;

fn cookie_app() -> (Router, SessionLayer<Option<User>>) {
    let generations = Generations::default();
    let layer = cookie_layer(Key::generate(), generations.clone()).expect("a layer");
    let app = routes(SignOut::Generations(generations)).layer(layer.clone());
    (app, layer)
}

fn store_app() -> (Router, SessionLayer<Option<User>, StoreBackend<AnyStore>>) {
    let store = AnyStore::with_owner_index(MemoryStore::new());
    let layer = store_layer(Key::generate(), store).expect("a layer");
    let app = routes(SignOut::Store(layer.clone())).layer(layer.clone());
    (app, layer)
}

fn get(path: &str) -> Request<Body> {
    Request::get(path)
        .header(HOST, "localhost")
        .body(Body::empty())
        .expect("a request")
}

fn post(path: &str, form: &str) -> Request<Body> {
    Request::post(path)
        .header(HOST, "localhost")
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form.to_owned()))
        .expect("a request")
}

const ALICE: &str = "username=alice&password=correct+horse";

async fn text(response: Response) -> String {
    let body = axum::body::to_bytes(response.into_body(), 64 * 1024).await;
    String::from_utf8(body.expect("a body").to_vec()).expect("UTF-8")
}

fn location(response: &Response) -> &str {
    response.headers()[LOCATION].to_str().expect("a location")
}

fn alice() -> Option<User> {
    Some(User {
        name: "alice".to_owned(),
        generation: 0,
    })
}

#[test]
fn only_the_demo_passwords_sign_in() {
    assert_eq!(check_password("alice", "correct horse"), Some("alice"));
    assert_eq!(check_password("bob", "correct horse"), Some("bob"));
    assert_eq!(check_password("alice", "correct horse "), None);
    assert_eq!(check_password("mallory", "correct horse"), None);
    assert_eq!(check_password("", ""), None);
}

#[tokio::test]
async fn home_escapes_the_name_and_every_flash_message() {
    let (app, layer) = cookie_app();
    let user = User {
        name: "<b>eve</b>".to_owned(),
        generation: 0,
    };
    let request = layer
        .test_request()
        .session(Some(user))
        .flash(FlashMessage::new(Level::Warning, "a & \"b\" <i>"))
        .into_request(get("/"))
        .await
        .expect("a request");
    let response = app.oneshot(request).await.expect("a response");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()[CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let page = text(response).await;
    assert!(
        page.contains("signed in as &lt;b&gt;eve&lt;/b&gt;"),
        "{page}"
    );
    let flash = "<p class=\"flash\" data-level=\"warning\">a &amp; &quot;b&quot; &lt;i&gt;</p>";
    assert!(page.contains(flash), "{page}");
    assert!(!page.contains("<b>") && !page.contains("<i>"), "{page}");
}

#[tokio::test]
async fn login_form_posts_username_and_password() {
    let (app, _) = cookie_app();
    let page = text(app.oneshot(get("/login")).await.expect("a response")).await;
    assert!(
        page.contains("<form method=\"post\" action=\"/login\">"),
        "{page}"
    );
    assert!(page.contains("name=\"username\"") && page.contains("name=\"password\""));
}

#[tokio::test]
async fn login_renews_the_session_so_a_planted_id_is_worthless() {
    let (app, layer) = store_app();
    // The attacker signs in as himself and plants that session's
    // cookie in the victim's browser, who then signs in as alice.
    let mallory = Some(User {
        name: "mallory".to_owned(),
        generation: 0,
    });
    let planted = layer.test_request().session(mallory).cookie_header().await;
    let planted = planted.expect("minted").expect("a cookie");
    let mut request = post("/login", ALICE);
    request
        .headers_mut()
        .insert(axum::http::header::COOKIE, planted.clone());
    let response = app.clone().oneshot(request).await.expect("a response");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/private");
    let seen = layer.test_response(&response).await.expect("readable");
    assert_eq!(seen.session(), Some(&alice()));
    assert_eq!(
        seen.flash(),
        [FlashMessage::new(Level::Success, "welcome, alice")]
    );

    let mut request = get("/private");
    request
        .headers_mut()
        .insert(axum::http::header::COOKIE, planted);
    let response = app.oneshot(request).await.expect("a response");
    assert_eq!(location(&response), "/login");
    // The owner was set: the new session is alice's.
    assert_eq!(layer.store().delete_by_owner("alice").await.unwrap(), 1);
}

#[tokio::test]
async fn wrong_password_goes_back_to_the_form_with_an_error() {
    let (app, layer) = cookie_app();
    let response = app
        .oneshot(post("/login", "username=alice&password=x"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/login");
    let seen = layer.test_response(&response).await.expect("readable");
    assert_eq!(seen.session(), None);
    let error = FlashMessage::new(Level::Error, "wrong username or password");
    assert_eq!(seen.flash(), [error]);
}

#[tokio::test]
async fn private_page_is_for_signed_in_visitors_only() {
    let (app, layer) = cookie_app();
    let response = app
        .clone()
        .oneshot(get("/private"))
        .await
        .expect("a response");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/login");
    let seen = layer.test_response(&response).await.expect("readable");
    assert_eq!(
        seen.flash(),
        [FlashMessage::new(Level::Info, "please sign in")]
    );

    let request = layer
        .test_request()
        .session(alice())
        .into_request(get("/private"));
    let response = app
        .oneshot(request.await.unwrap())
        .await
        .expect("a response");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(text(response).await.contains("private page of alice"));
}

#[tokio::test]
async fn logout_ends_the_session() {
    let (app, layer) = cookie_app();
    let request = layer
        .test_request()
        .session(alice())
        .into_request(post("/logout", ""));
    let response = app
        .oneshot(request.await.unwrap())
        .await
        .expect("a response");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/");
    let seen = layer.test_response(&response).await.expect("readable");
    assert!(seen.removed().iter().any(|name| name == COOKIE_NAME));
    assert_eq!(seen.flash(), [FlashMessage::new(Level::Info, "signed out")]);
}

async fn home(client: &mut TestClient<Router>) -> String {
    text(client.send(get("/")).await.expect("a response")).await
}

/// Alice on two browsers and Bob on a third; the first signs Alice
/// out everywhere else.
async fn logout_everywhere_signs_out_only_the_others(app: Router) {
    let mut this = TestClient::new(app.clone());
    let mut other = TestClient::new(app.clone());
    let mut bob = TestClient::new(app);
    for (client, form) in [
        (&mut this, ALICE),
        (&mut other, ALICE),
        (&mut bob, "username=bob&password=correct+horse"),
    ] {
        let response = client.send(post("/login", form)).await.unwrap();
        assert_eq!(location(&response), "/private");
    }

    let response = this.send(post("/logout-everywhere", "")).await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/");
    assert!(home(&mut this).await.contains("signed in as alice"));
    assert!(home(&mut other).await.contains("not signed in"));
    assert!(other.cookie(COOKIE_NAME).is_none());
    assert!(home(&mut bob).await.contains("signed in as bob"));
    // Still signed in on the next request too.
    assert!(home(&mut this).await.contains("signed in as alice"));
}

#[tokio::test]
async fn logout_everywhere_with_cookie_sessions() {
    logout_everywhere_signs_out_only_the_others(cookie_app().0).await;
}

#[tokio::test]
async fn logout_everywhere_with_a_store() {
    logout_everywhere_signs_out_only_the_others(store_app().0).await;
}

/// Signs `client` in with `form` from a browser whose `User-Agent` is
/// `agent`.
async fn sign_in_from(client: &mut TestClient<Router>, form: &str, agent: &str) {
    let mut request = post("/login", form);
    request
        .headers_mut()
        .insert(USER_AGENT, agent.parse().expect("a header value"));
    let response = client.send(request).await.expect("a response");
    assert_eq!(location(&response), "/private");
}

/// The `device` field of the end form of the one listed device that is
/// not this one.
fn other_device(page: &str) -> &str {
    let (_, after) = page
        .split_once("name=\"device\" value=\"")
        .expect("an end form");
    after.split('"').next().expect("a handle")
}

#[tokio::test]
async fn devices_lists_the_users_sessions_and_ends_only_their_own() {
    let (app, _) = store_app();
    let mut laptop = TestClient::new(app.clone());
    let mut phone = TestClient::new(app.clone());
    let mut bob = TestClient::new(app);
    let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
    let chrome =
        "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/126.0 Mobile Safari/537.36";
    sign_in_from(&mut laptop, ALICE, firefox).await;
    sign_in_from(&mut phone, ALICE, chrome).await;
    sign_in_from(&mut bob, "username=bob&password=correct+horse", firefox).await;

    let response = laptop.send(get("/devices")).await.expect("a response");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()[CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let page = text(response).await;
    assert_eq!(page.matches("<li class=\"device").count(), 2, "{page}");
    assert_eq!(
        page.matches("class=\"device current\"").count(),
        1,
        "{page}"
    );
    assert!(
        page.contains("<li class=\"device current\">Firefox on Linux"),
        "{page}"
    );
    assert!(
        page.contains("<li class=\"device\">Chrome on Android"),
        "{page}"
    );
    assert_eq!(page.matches("action=\"/devices/end\"").count(), 1, "{page}");
    let handle = other_device(&page).to_owned();

    // Bob posting alice's handle ends nothing.
    let form = format!("device={handle}");
    let response = bob.send(post("/devices/end", &form)).await.unwrap();
    assert_eq!(location(&response), "/devices");
    assert!(home(&mut phone).await.contains("signed in as alice"));

    let response = laptop.send(post("/devices/end", &form)).await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/devices");
    assert!(home(&mut phone).await.contains("not signed in"));
    assert!(home(&mut laptop).await.contains("signed in as alice"));
    assert!(home(&mut bob).await.contains("signed in as bob"));
    let page = text(laptop.send(get("/devices")).await.unwrap()).await;
    assert_eq!(page.matches("<li class=\"device").count(), 1, "{page}");
}

#[tokio::test]
async fn devices_needs_a_signed_in_user_and_a_store() {
    let (app, layer) = store_app();
    let response = app.oneshot(get("/devices")).await.expect("a response");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/login");
    let seen = layer.test_response(&response).await.expect("readable");
    assert_eq!(
        seen.flash(),
        [FlashMessage::new(Level::Info, "please sign in")]
    );

    let (app, layer) = cookie_app();
    let request = layer
        .test_request()
        .session(alice())
        .into_request(get("/devices"));
    let response = app.oneshot(request.await.unwrap()).await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[test]
fn labels_name_the_browser_and_system_only() {
    let safari = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 \
                  Version/17.5 Mobile/15E148 Safari/604.1";
    assert_eq!(devices::label(Some(safari)), "Safari on iOS");
    assert_eq!(devices::label(None), "a browser on an unknown system");
}

#[tokio::test]
async fn post_from_another_origin_is_refused() {
    let (app, _) = cookie_app();
    for (origin, expected) in [
        (Some("http://localhost"), StatusCode::SEE_OTHER),
        (Some("https://localhost"), StatusCode::SEE_OTHER),
        (None, StatusCode::SEE_OTHER),
        (Some("http://localhost:8080"), StatusCode::FORBIDDEN),
        (Some("http://evil.example"), StatusCode::FORBIDDEN),
        (Some("null"), StatusCode::FORBIDDEN),
    ] {
        let mut request = post("/login", ALICE);
        if let Some(origin) = origin {
            request
                .headers_mut()
                .insert(ORIGIN, origin.parse().unwrap());
        }
        let response = app.clone().oneshot(request).await.expect("a response");
        assert_eq!(response.status(), expected, "Origin: {origin:?}");
    }
}
