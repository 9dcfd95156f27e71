//! `examples/counter.rs` in Chromium: the count, logout, and sessions
//! larger than one cookie, up to the size limit and past it.

use std::collections::BTreeMap;

use crate::harness::{kit, App, Mode, Profile};

#[tokio::test]
async fn visit_count_grows_across_page_loads() {
    let Some(kit) = kit("visit_count_grows_across_page_loads") else {
        return;
    };
    let driver = kit.driver().await;
    for mode in Mode::ALL {
        let app = kit.app("counter", mode).await;
        let browser = driver.profile().await;
        for visits in 1..=3 {
            browser.open(&app.url("/")).await;
            assert_eq!(
                browser.text().await,
                format!("visits: {visits}"),
                "{mode:?}"
            );
        }
        assert_eq!(browser.cookie_names().await, ["id"], "{mode:?}");
        browser.close().await;
    }
}

#[tokio::test]
async fn logout_clears_the_cookie_in_the_browser() {
    let Some(kit) = kit("logout_clears_the_cookie_in_the_browser") else {
        return;
    };
    let driver = kit.driver().await;
    for mode in Mode::ALL {
        let app = kit.app("counter", mode).await;
        let browser = driver.profile().await;
        browser.open(&app.url("/")).await;
        browser.open(&app.url("/")).await;
        assert_eq!(browser.cookie_names().await, ["id"], "{mode:?}");

        assert_eq!(browser.post("/logout").await, 200, "{mode:?}");
        assert!(browser.cookies().await.is_empty(), "{mode:?}");
        browser.open(&app.url("/")).await;
        assert_eq!(browser.text().await, "visits: 1", "{mode:?}");
        browser.close().await;
    }
}

#[tokio::test]
async fn chunked_session_survives_and_shrinking_leaves_no_chunk() {
    let Some(kit) = kit("chunked_session_survives_and_shrinking_leaves_no_chunk") else {
        return;
    };
    let driver = kit.driver().await;
    for mode in Mode::ALL {
        let app = kit.app("counter", mode).await;
        let browser = driver.profile().await;
        browser.open(&app.url("/")).await;

        resize(&app, &browser, 5000).await;
        let expected: &[&str] = match mode {
            Mode::Cookie => &["id.0", "id.1"],
            Mode::Memory => &["id"],
        };
        assert_eq!(browser.cookie_names().await, expected, "{mode:?}");
        assert_size(&app, &browser, 5000).await;
        browser.open(&app.url("/")).await;
        assert_eq!(browser.text().await, "visits: 2", "{mode:?}");

        resize(&app, &browser, 10).await;
        assert_eq!(browser.cookie_names().await, ["id"], "{mode:?}");
        assert_size(&app, &browser, 10).await;
        browser.open(&app.url("/")).await;
        assert_eq!(browser.text().await, "visits: 3", "{mode:?}");
        browser.close().await;
    }
}

/// Cookie mode only: a store's cookie is a small id whatever the session.
#[tokio::test]
async fn cookies_at_the_size_limits_are_kept_and_past_them_none_is_sent() {
    let Some(kit) = kit("cookies_at_the_size_limits_are_kept_and_past_them_none_is_sent") else {
        return;
    };
    let driver = kit.driver().await;
    let app = kit.app("counter", Mode::Cookie).await;
    let browser = driver.profile().await;
    browser.open(&app.url("/")).await;

    // The largest session in one cookie: 4096 bytes of name and value,
    // Chromium's limit, exactly.
    let cookies = browser.cookies().await;
    let one = largest(&app, &cookies, |raw| {
        raw.status == 200 && raw.kept().all(|cookie| cookie.name() == "id")
    })
    .await;
    resize(&app, &browser, one).await;
    assert_eq!(
        browser_sizes(&browser).await,
        [("id".to_owned(), 4096)].into()
    );
    assert_size(&app, &browser, one).await;
    // One byte more is two chunks, and no `id` is left beside them.
    resize(&app, &browser, one + 1).await;
    assert_eq!(browser.cookie_names().await, ["id.0", "id.1"]);
    assert_size(&app, &browser, one + 1).await;

    // The largest session the layer sends: its 8 KB limit, in chunks the
    // browser keeps whole.
    let cookies = browser.cookies().await;
    let most = largest(&app, &cookies, |raw| raw.status == 200).await;
    resize(&app, &browser, most).await;
    let sizes = browser_sizes(&browser).await;
    let total: usize = sizes.values().sum();
    assert!((8189..=8192).contains(&total), "{sizes:?}");
    assert!(sizes.values().all(|&size| size <= 4096), "{sizes:?}");
    assert_size(&app, &browser, most).await;

    // Past it, nothing is sent: the browser keeps the session it had.
    let before = browser.cookies().await;
    browser
        .open(&app.url(&format!("/resize?bytes={}", most + 1)))
        .await;
    assert!(browser.text().await.contains("too large"));
    assert_eq!(browser.cookies().await, before);
    assert_size(&app, &browser, most).await;
    browser.close().await;
}

/// `/resize?bytes=N` in the browser, checked against what the server sends
/// for the same cookies: the browser must keep every cookie it is sent,
/// whole, and drop every cookie it is told to remove.
async fn resize(app: &App, browser: &Profile, bytes: usize) {
    let path = format!("/resize?bytes={bytes}");
    let before = browser_sizes(browser).await;
    let raw = app.get(&path, &browser.cookies().await).await;
    assert_eq!(raw.status, 200, "{path}: {}", app.log());
    let mut expected = before;
    for name in raw.removed() {
        expected.remove(name);
    }
    for cookie in raw.kept() {
        expected.insert(cookie.name().to_owned(), size(cookie));
    }

    browser.open(&app.url(&path)).await;
    assert_eq!(browser.text().await, format!("size: {bytes}"));
    assert_eq!(browser_sizes(browser).await, expected, "{path}");
}

/// What the browser keeps: each cookie's name, and its name and value's
/// length (Chromium's limit is on their sum).
async fn browser_sizes(browser: &Profile) -> BTreeMap<String, usize> {
    let cookies = browser.cookies().await;
    cookies
        .iter()
        .map(|cookie| (cookie.name().to_owned(), size(cookie)))
        .collect()
}

fn size(cookie: &fantoccini::cookies::Cookie<'_>) -> usize {
    cookie.name().len() + cookie.value().len()
}

/// The session the browser's cookies carry has notes of `bytes` bytes: it
/// came back whole.
async fn assert_size(app: &App, browser: &Profile, bytes: usize) {
    browser.open(&app.url("/grow?bytes=0")).await;
    assert_eq!(browser.text().await, format!("size: {bytes}"));
}

/// The largest `bytes` whose `/resize` answer to `cookies` passes `fits`,
/// found by bisection outside the browser (it leaves the browser alone).
async fn largest(
    app: &App,
    cookies: &[fantoccini::cookies::Cookie<'static>],
    fits: impl Fn(&crate::harness::Raw) -> bool,
) -> usize {
    let (mut low, mut high) = (0, 16 * 1024);
    while low + 1 < high {
        let middle = (low + high) / 2;
        let raw = app.get(&format!("/resize?bytes={middle}"), cookies).await;
        if fits(&raw) {
            low = middle;
        } else {
            high = middle;
        }
    }
    low
}
