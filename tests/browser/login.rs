//! `examples/login/main.rs` in Chromium: the routes its top comment lists, as a
//! visitor clicks through them.

use crate::harness::{kit, App, Driver, Mode, Profile};

const SESSION: &str = "__Host-id";

/// Signs `browser` in through the form; the page it lands on is left open.
async fn sign_in(app: &App, browser: &Profile, user: &str, password: &str, lands_on: &str) {
    browser.open(&app.url("/login")).await;
    browser.fill("username", user).await;
    browser.fill("password", password).await;
    browser.click_to("#sign-in", lands_on).await;
}

fn flash(level: &str, text: &str) -> Vec<(String, String)> {
    vec![(level.to_owned(), text.to_owned())]
}

async fn session_cookie(browser: &Profile) -> Option<fantoccini::cookies::Cookie<'static>> {
    let cookies = browser.cookies().await;
    cookies.into_iter().find(|cookie| cookie.name() == SESSION)
}

#[tokio::test]
async fn signed_out_visitor_is_sent_to_the_login_form_once() {
    let Some(kit) = kit("signed_out_visitor_is_sent_to_the_login_form_once") else {
        return;
    };
    let driver = kit.driver().await;
    for mode in Mode::ALL {
        let app = kit.app("login", mode).await;
        let browser = driver.profile().await;
        browser.open(&app.url("/")).await;
        assert!(browser.text().await.contains("not signed in"), "{mode:?}");

        browser.open(&app.url("/private")).await;
        assert_eq!(browser.path().await, "/login", "{mode:?}");
        assert_eq!(browser.flashes().await, flash("info", "please sign in"));
        let form = "form[method=post][action='/login'] input[name=username]";
        let inputs = browser
            .client
            .find_all(fantoccini::Locator::Css(form))
            .await;
        assert_eq!(inputs.expect("a query").len(), 1, "{mode:?}");
        // Each flash shows once.
        browser.open(&app.url("/login")).await;
        assert_eq!(browser.flashes().await, [], "{mode:?}");
        browser.close().await;
    }
}

#[tokio::test]
async fn wrong_password_is_refused_with_an_error_shown_once() {
    let Some(kit) = kit("wrong_password_is_refused_with_an_error_shown_once") else {
        return;
    };
    let driver = kit.driver().await;
    for mode in Mode::ALL {
        let app = kit.app("login", mode).await;
        let browser = driver.profile().await;
        sign_in(&app, &browser, "alice", "Correct horse", "/login").await;
        let error = flash("error", "wrong username or password");
        assert_eq!(browser.flashes().await, error, "{mode:?}");
        sign_in(&app, &browser, "mallory", "correct horse", "/login").await;
        assert_eq!(browser.flashes().await, error, "{mode:?}");
        assert!(session_cookie(&browser).await.is_none(), "{mode:?}");

        browser.open(&app.url("/")).await;
        assert!(browser.text().await.contains("not signed in"), "{mode:?}");
        assert_eq!(browser.flashes().await, [], "{mode:?}");
        browser.close().await;
    }
}

#[tokio::test]
async fn login_renews_the_session_and_opens_the_private_page() {
    let Some(kit) = kit("login_renews_the_session_and_opens_the_private_page") else {
        return;
    };
    let driver = kit.driver().await;
    for mode in Mode::ALL {
        let app = kit.app("login", mode).await;
        let browser = driver.profile().await;
        sign_in(&app, &browser, "alice", "correct horse", "/private").await;
        assert!(
            browser.text().await.contains("private page of alice"),
            "{mode:?}"
        );
        assert_eq!(browser.flashes().await, flash("success", "welcome, alice"));
        let first = session_cookie(&browser).await.expect("a session cookie");
        assert_eq!(first.secure(), Some(true), "{mode:?}");
        assert_eq!(first.http_only(), Some(true), "{mode:?}");
        assert_eq!(first.path(), Some("/"), "{mode:?}");
        assert_eq!(first.domain(), Some("localhost"), "{mode:?}");

        browser.open(&app.url("/")).await;
        assert!(
            browser.text().await.contains("signed in as alice"),
            "{mode:?}"
        );
        assert_eq!(browser.flashes().await, [], "{mode:?}");

        // Signing in again (as someone else) issues a new session; with a
        // store, the earlier id is worth nothing any more.
        sign_in(&app, &browser, "bob", "correct horse", "/private").await;
        assert!(
            browser.text().await.contains("private page of bob"),
            "{mode:?}"
        );
        let second = session_cookie(&browser).await.expect("a session cookie");
        assert_ne!(first.value(), second.value(), "{mode:?}");
        if mode == Mode::Memory {
            let old = app.get("/private", &[first]).await;
            assert_eq!(old.status, 303, "{mode:?}");
        }
        browser.close().await;
    }
}

#[tokio::test]
async fn logout_ends_the_session_and_clears_its_cookie() {
    let Some(kit) = kit("logout_ends_the_session_and_clears_its_cookie") else {
        return;
    };
    let driver = kit.driver().await;
    for mode in Mode::ALL {
        let app = kit.app("login", mode).await;
        let browser = driver.profile().await;
        sign_in(&app, &browser, "alice", "correct horse", "/private").await;
        browser.open(&app.url("/")).await;
        assert!(session_cookie(&browser).await.is_some(), "{mode:?}");

        browser.click_to("#logout", "/").await;
        assert!(browser.text().await.contains("not signed in"), "{mode:?}");
        assert_eq!(browser.flashes().await, flash("info", "signed out"));
        assert!(session_cookie(&browser).await.is_none(), "{mode:?}");
        browser.open(&app.url("/private")).await;
        assert_eq!(browser.path().await, "/login", "{mode:?}");
        browser.close().await;
    }
}

#[tokio::test]
async fn logout_everywhere_signs_out_the_other_browser_only() {
    let Some(kit) = kit("logout_everywhere_signs_out_the_other_browser_only") else {
        return;
    };
    let driver = kit.driver().await;
    for mode in Mode::ALL {
        let app = kit.app("login", mode).await;
        let (this, other) = two_signed_in(&app, &driver, "alice").await;

        this.open(&app.url("/")).await;
        this.click_to("#logout-everywhere", "/").await;
        assert!(this.text().await.contains("signed in as alice"), "{mode:?}");
        let done = flash("success", "signed out everywhere else");
        assert_eq!(this.flashes().await, done, "{mode:?}");

        other.open(&app.url("/")).await;
        assert!(other.text().await.contains("not signed in"), "{mode:?}");
        // The refused session's cookie is removed from the other browser.
        assert!(session_cookie(&other).await.is_none(), "{mode:?}");
        this.open(&app.url("/private")).await;
        assert!(
            this.text().await.contains("private page of alice"),
            "{mode:?}"
        );
        this.close().await;
        other.close().await;
    }
}

/// How many elements on `browser`'s page match `css`.
async fn count(browser: &Profile, css: &str) -> usize {
    let found = browser.client.find_all(fantoccini::Locator::Css(css)).await;
    found.expect("a query").len()
}

/// Two browser profiles signed in as `user`.
async fn two_signed_in(app: &App, driver: &Driver, user: &str) -> (Profile, Profile) {
    let (this, other) = tokio::join!(driver.profile(), driver.profile());
    for browser in [&this, &other] {
        sign_in(app, browser, user, "correct horse", "/private").await;
    }
    (this, other)
}

/// "Your devices", with a store: the first profile lists both sessions,
/// itself marked, ends the other one with its button, and the second is
/// signed out on its next request. Without a store there is no such page.
#[tokio::test]
async fn devices_page_ends_the_other_browser() {
    let Some(kit) = kit("devices_page_ends_the_other_browser") else {
        return;
    };
    let driver = kit.driver().await;
    let app = kit.app("login", Mode::Memory).await;
    let (this, other) = two_signed_in(&app, &driver, "alice").await;

    this.open(&app.url("/")).await;
    this.click_to("a[href='/devices']", "/devices").await;
    assert_eq!(count(&this, ".device").await, 2);
    assert_eq!(count(&this, ".device.current").await, 1);
    assert_eq!(
        count(&this, ".device.current form").await,
        0,
        "no button for itself"
    );
    let text = this.text().await;
    assert!(
        text.contains("Chrome on Linux"),
        "labelled from the User-Agent: {text}"
    );

    this.click_to(".device:not(.current) form button", "/devices")
        .await;
    assert_eq!(
        this.flashes().await,
        [("success".to_owned(), "device signed out".to_owned())]
    );
    assert_eq!(count(&this, ".device").await, 1);
    assert_eq!(count(&this, ".device.current").await, 1);

    other.open(&app.url("/private")).await;
    assert_eq!(
        other.path().await,
        "/login",
        "the other browser is signed out"
    );
    assert!(session_cookie(&other).await.is_none());
    this.open(&app.url("/private")).await;
    assert!(this.text().await.contains("private page of alice"));
    this.close().await;
    other.close().await;

    let cookie_app = kit.app("login", Mode::Cookie).await;
    let status = cookie_app.get("/devices", &[]).await.status;
    assert_eq!(status, 404, "cookie sessions list no devices");
}

/// The `Origin` check: a page of the same site but another origin (the
/// counter example on another port of localhost) posts to `/logout`.
/// `SameSite=Lax` lets the cookie go along, so only the check stops it.
#[tokio::test]
async fn post_from_another_origin_of_the_same_site_is_refused() {
    let Some(kit) = kit("post_from_another_origin_of_the_same_site_is_refused") else {
        return;
    };
    let driver = kit.driver().await;
    let app = kit.app("login", Mode::Cookie).await;
    let elsewhere = kit.app("counter", Mode::Cookie).await;
    let browser = driver.profile().await;
    sign_in(&app, &browser, "alice", "correct horse", "/private").await;

    browser.open(&elsewhere.url("/")).await;
    let status = browser.post_no_cors(&app.url("/logout")).await;
    // An opaque answer: the page cannot read it, but the server ran it.
    assert_eq!(status, 0);
    browser.open(&app.url("/")).await;
    assert!(browser.text().await.contains("signed in as alice"));
    assert_eq!(browser.flashes().await, []);

    // The same request from the app's own page goes through.
    assert_eq!(browser.post("/logout").await, 200);
    browser.open(&app.url("/")).await;
    assert!(browser.text().await.contains("not signed in"));
    browser.close().await;
}
