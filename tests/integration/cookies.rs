//! The cookie jar through `CookieLayer`, driven with real `Cookie` and
//! `Set-Cookie` headers.

use crate::common::key;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use cookie::time::{Duration, OffsetDateTime};
use http::header::{CACHE_CONTROL, COOKIE, SET_COOKIE, VARY};
use http::{HeaderValue, Request, Response};
use tower::{service_fn, Layer, ServiceExt};
use tower_cookie_sessions::cookies::CookieError;
use tower_cookie_sessions::{Cookie, CookieLayer, Cookies, KeyRing, SameSite};

/// Runs `handler` with the jar of a request carrying `cookie_headers` (one
/// `Cookie` field each), behind `layer`.
async fn run(
    layer: CookieLayer,
    cookie_headers: &[&str],
    handler: impl Fn(Cookies) -> String + Clone + Send + 'static,
) -> Response<String> {
    let service = layer.layer(service_fn(move |request: Request<String>| {
        let handler = handler.clone();
        async move {
            let cookies =
                Cookies::from_request(&request).expect("CookieLayer gives the request a jar");
            Ok::<_, Infallible>(Response::new(handler(cookies)))
        }
    }));
    let mut request = Request::builder();
    for value in cookie_headers {
        request = request.header(COOKIE, *value);
    }
    service
        .oneshot(request.body(String::new()).expect("valid request"))
        .await
        .expect("infallible")
}

fn set_cookies(response: &Response<String>) -> Vec<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|value| value.to_str().expect("ASCII Set-Cookie").to_owned())
        .collect()
}

/// The `Cookie` header a browser sends back after `set_cookies`.
fn cookie_header(set_cookies: &[String]) -> String {
    set_cookies
        .iter()
        .map(|set_cookie| set_cookie.split(';').next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("; ")
}

fn value_of(cookie: Option<Cookie<'static>>) -> String {
    match cookie {
        Some(cookie) => cookie.value().to_owned(),
        None => "<none>".to_owned(),
    }
}

#[tokio::test]
async fn get_reads_a_request_cookie() {
    let response = run(CookieLayer::new(), &["theme=dark; lang=fr"], |c| {
        format!("{} {}", value_of(c.get("theme")), value_of(c.get("lang")))
    })
    .await;
    assert_eq!(response.body(), "dark fr");
}

#[tokio::test]
async fn get_of_a_missing_cookie_is_none() {
    let response = run(CookieLayer::new(), &["theme=dark"], |c| {
        value_of(c.get("lang"))
    })
    .await;
    assert_eq!(response.body(), "<none>");
}

#[tokio::test]
async fn several_cookie_headers_are_all_read() {
    let response = run(CookieLayer::new(), &["a=1", "b=2; c=3"], |c| {
        c.list()
            .iter()
            .map(|cookie| format!("{}={}", cookie.name(), cookie.value()))
            .collect::<Vec<_>>()
            .join(",")
    })
    .await;
    assert_eq!(response.body(), "a=1,b=2,c=3");
}

#[tokio::test]
async fn duplicate_names_return_the_first() {
    let response = run(CookieLayer::new(), &["id=first; id=second"], |c| {
        value_of(c.get("id"))
    })
    .await;
    assert_eq!(response.body(), "first");
}

#[tokio::test]
async fn malformed_pairs_are_skipped_and_the_rest_kept() {
    let response = run(
        CookieLayer::new(),
        &["novalue; =anon; good=1; bad=%FF; also=2"],
        |c| {
            c.list()
                .iter()
                .map(|cookie| format!("{}={}", cookie.name(), cookie.value()))
                .collect::<Vec<_>>()
                .join(",")
        },
    )
    .await;
    assert_eq!(response.body(), "good=1,also=2");
}

#[tokio::test]
async fn non_utf8_cookie_header_does_not_fail_the_request() {
    let service = CookieLayer::new().layer(service_fn(|request: Request<String>| async move {
        let cookies = Cookies::from_request(&request).expect("jar");
        Ok::<_, Infallible>(Response::new(value_of(cookies.get("ok"))))
    }));
    let mut request = Request::new(String::new());
    request.headers_mut().insert(
        COOKIE,
        HeaderValue::from_bytes(b"x=\xff\xfe; ok=yes").expect("obs-text is allowed"),
    );
    let response = service.oneshot(request).await.expect("infallible");
    assert_eq!(response.body(), "yes");
}

#[tokio::test]
async fn no_set_cookie_without_changes() {
    let response = run(CookieLayer::new(), &["a=1"], |c| value_of(c.get("a"))).await;
    assert!(response.headers().get(SET_COOKIE).is_none());
    assert!(response.headers().get(VARY).is_none());
}

#[tokio::test]
async fn add_writes_every_attribute() {
    let response = run(CookieLayer::new(), &[], |c| {
        let expires = OffsetDateTime::from_unix_timestamp(1_900_000_000).expect("date");
        c.add(
            Cookie::build(("prefs", "compact"))
                .max_age(Duration::hours(1))
                .expires(expires)
                .domain("example.com")
                .path("/app")
                .secure(true)
                .http_only(true)
                .same_site(SameSite::Strict)
                .build(),
        )
        .expect("a valid cookie");
        String::new()
    })
    .await;
    assert_eq!(
        set_cookies(&response),
        [
            "prefs=compact; HttpOnly; SameSite=Strict; Secure; Path=/app; Domain=example.com; \
          Max-Age=3600; Expires=Sun, 17 Mar 2030 17:46:40 GMT"
        ]
    );
}

#[tokio::test]
async fn add_percent_encodes_and_the_value_reads_back() {
    let first = run(CookieLayer::new(), &[], |c| {
        c.add(Cookie::new("note", "a; b, \"café\""))
            .expect("a valid cookie");
        String::new()
    })
    .await;
    let written = set_cookies(&first);
    assert_eq!(written, ["note=a%3B%20b%2C%20%22caf%C3%A9%22"]);
    let second = run(CookieLayer::new(), &[&cookie_header(&written)], |c| {
        value_of(c.get("note"))
    })
    .await;
    assert_eq!(second.body(), "a; b, \"café\"");
}

#[tokio::test]
async fn several_changes_give_one_set_cookie_each_in_order() {
    let response = run(CookieLayer::new(), &[], |c| {
        c.add(Cookie::new("a", "1")).expect("a valid cookie");
        c.add(Cookie::new("b", "2")).expect("a valid cookie");
        c.add(Cookie::new("a", "3")).expect("a valid cookie");
        String::new()
    })
    .await;
    assert_eq!(set_cookies(&response), ["b=2", "a=3"]);
}

#[tokio::test]
async fn get_sees_a_cookie_added_in_the_same_request() {
    let response = run(CookieLayer::new(), &["a=old"], |c| {
        c.add(Cookie::new("a", "new")).expect("a valid cookie");
        value_of(c.get("a"))
    })
    .await;
    assert_eq!(response.body(), "new");
}

#[tokio::test]
async fn remove_sends_an_expired_cookie_with_same_path_and_domain() {
    let response = run(CookieLayer::new(), &["token=abc"], |c| {
        c.remove(
            Cookie::build("token")
                .path("/api")
                .domain("example.com")
                .build(),
        )
        .expect("a valid cookie");
        value_of(c.get("token"))
    })
    .await;
    assert_eq!(response.body(), "<none>");
    let written = set_cookies(&response);
    assert_eq!(written.len(), 1);
    let removal = Cookie::parse(written[0].clone()).expect("valid Set-Cookie");
    assert_eq!(removal.name(), "token");
    assert_eq!(removal.value(), "");
    assert_eq!(removal.path(), Some("/api"));
    assert_eq!(removal.domain(), Some("example.com"));
    assert_eq!(removal.max_age(), Some(Duration::ZERO));
    let expires = removal.expires_datetime().expect("Expires is set");
    assert!(expires < OffsetDateTime::now_utc());
}

#[tokio::test]
async fn an_invalid_attribute_is_refused_not_sent_malformed() {
    let response = run(CookieLayer::new(), &[], |c| {
        let path = c.add(
            Cookie::build(("a", "1"))
                .path("/x; Domain=evil.example")
                .build(),
        );
        let domain = c.add(
            Cookie::build(("b", "2"))
                .domain("example.com\r\nX-Injected: 1")
                .build(),
        );
        c.add(Cookie::new("c", "3")).expect("a valid cookie");
        format!(
            "{}\n{}",
            path.expect_err("refused"),
            domain.expect_err("refused")
        )
    })
    .await;
    assert_eq!(set_cookies(&response), ["c=3"]);
    assert!(response.headers().get("x-injected").is_none());
    assert_eq!(
        response.body(),
        "cookie \"a\" has an invalid Path: it cannot be sent in a Set-Cookie header\n\
         cookie \"b\" has an invalid Domain: it cannot be sent in a Set-Cookie header"
    );
}

/// Names are compared as the browser sent them: a look-alike of a
/// `__Host-` name is a cookie of its own, read under its own name only.
#[tokio::test]
async fn get_and_list_compare_names_as_sent() {
    let header = "__Host%2Did=planted; %5F%5FHost-id=planted2; __HOST-id=planted3; __Host-id=real";
    let response = run(CookieLayer::new(), &[header], |c| {
        let names: Vec<String> = c.list().iter().map(|c| c.name().to_owned()).collect();
        format!(
            "{} {} {}",
            value_of(c.get("__Host-id")),
            value_of(c.get("__Host%2Did")),
            names.join(",")
        )
    })
    .await;
    assert_eq!(
        response.body(),
        "real planted __Host%2Did,%5F%5FHost-id,__HOST-id,__Host-id"
    );
}

#[tokio::test]
async fn remove_of_a_name_removes_only_that_name_as_sent() {
    let header = "__Host%2Did=planted; __Host-id=real";
    let response = run(CookieLayer::new(), &[header], |c| {
        c.remove(Cookie::new("__Host-id", ""))
            .expect("a valid cookie");
        format!(
            "{} {}",
            value_of(c.get("__Host-id")),
            value_of(c.get("__Host%2Did"))
        )
    })
    .await;
    assert_eq!(response.body(), "<none> planted");
    let lines = set_cookies(&response);
    assert_eq!(lines.len(), 1);
    assert!(lines[0].starts_with("__Host-id=; Max-Age=0"), "{lines:?}");
}

#[tokio::test]
async fn a_name_that_is_not_a_token_is_refused_with_a_clear_error() {
    let response = run(CookieLayer::new().with_key(key(1)), &[], |c| {
        let plain = c.add(Cookie::new("my name", "1")).expect_err("refused");
        let private = c.private().expect("key");
        let sealed = private.add(Cookie::new("a;b", "1")).expect_err("refused");
        assert_eq!(sealed, CookieError::InvalidName("a;b".into()));
        c.add(Cookie::new("a%20b", "1"))
            .expect("a token, written as it is");
        plain.to_string()
    })
    .await;
    assert_eq!(set_cookies(&response), ["a%20b=1"]);
    assert_eq!(
        response.body(),
        "cookie name \"my name\" is not an RFC 6265 token: use letters, digits and \
         !#$%&'*+-.^_`|~ (names are sent as they are, never percent-encoded)"
    );
}

#[tokio::test]
async fn private_cookie_round_trips_across_two_requests() {
    let layer = CookieLayer::new().with_key(key(1));
    let first = run(layer.clone(), &[], |c| {
        let private = c.private().expect("key");
        private
            .add(Cookie::new("user", "ada lovelace"))
            .expect("a valid cookie");
        String::new()
    })
    .await;
    let written = set_cookies(&first);
    assert_eq!(written.len(), 1);
    // Not "ada": three base64 letters turn up in a random nonce now and then.
    assert!(!written[0].contains("lovelace"), "{written:?}");

    let second = run(layer, &[&cookie_header(&written)], |c| {
        value_of(c.private().expect("key").get("user"))
    })
    .await;
    assert_eq!(second.body(), "ada lovelace");
}

#[tokio::test]
async fn private_cookie_opens_under_a_rotated_ring() {
    let first = run(
        CookieLayer::new().with_key(KeyRing::new(1, key(1))),
        &[],
        |c| {
            c.private()
                .expect("key")
                .add(Cookie::new("user", "ada"))
                .expect("a valid cookie");
            String::new()
        },
    )
    .await;
    let ring = KeyRing::new(2, key(2))
        .with_old_key(1, key(1))
        .expect("distinct ids");
    let second = run(
        CookieLayer::new().with_key(ring),
        &[&cookie_header(&set_cookies(&first))],
        |c| value_of(c.private().expect("key").get("user")),
    )
    .await;
    assert_eq!(second.body(), "ada");
}

#[tokio::test]
async fn tampered_private_cookie_reads_as_none() {
    let layer = CookieLayer::new().with_key(key(1));
    let first = run(layer.clone(), &[], |c| {
        c.private()
            .expect("key")
            .add(Cookie::new("user", "ada"))
            .expect("a valid cookie");
        String::new()
    })
    .await;
    let header = cookie_header(&set_cookies(&first));
    // Flip one base64 character in the middle of the sealed value.
    let mut bytes = header.into_bytes();
    let middle = bytes.len() / 2;
    bytes[middle] = if bytes[middle] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(bytes).expect("ASCII");

    let second = run(layer, &[&tampered], |c| {
        value_of(c.private().expect("key").get("user"))
    })
    .await;
    assert_eq!(second.body(), "<none>");
    assert!(second.headers().get(SET_COOKIE).is_none());
}

#[tokio::test]
async fn later_valid_private_cookie_wins_over_a_bad_one() {
    let layer = CookieLayer::new().with_key(key(1));
    let first = run(layer.clone(), &[], |c| {
        c.private()
            .expect("key")
            .add(Cookie::new("user", "ada"))
            .expect("a valid cookie");
        String::new()
    })
    .await;
    let good = cookie_header(&set_cookies(&first));
    let second = run(layer, &["user=forged", &good], |c| {
        value_of(c.private().expect("key").get("user"))
    })
    .await;
    assert_eq!(second.body(), "ada");
}

#[tokio::test]
async fn private_cookie_sealed_as_a_is_refused_as_b() {
    let layer = CookieLayer::new().with_key(key(1));
    let first = run(layer.clone(), &[], |c| {
        c.private()
            .expect("key")
            .add(Cookie::new("a", "secret"))
            .expect("a valid cookie");
        String::new()
    })
    .await;
    let header = cookie_header(&set_cookies(&first));
    let renamed = header.replacen("a=", "b=", 1);

    let second = run(layer, &[&renamed], |c| {
        value_of(c.private().expect("key").get("b"))
    })
    .await;
    assert_eq!(second.body(), "<none>");
}

#[tokio::test]
async fn private_cookie_under_another_key_reads_as_none() {
    let first = run(CookieLayer::new().with_key(key(1)), &[], |c| {
        c.private()
            .expect("key")
            .add(Cookie::new("user", "ada"))
            .expect("a valid cookie");
        String::new()
    })
    .await;
    let second = run(
        CookieLayer::new().with_key(key(2)),
        &[&cookie_header(&set_cookies(&first))],
        |c| value_of(c.private().expect("key").get("user")),
    )
    .await;
    assert_eq!(second.body(), "<none>");
}

#[tokio::test]
async fn private_without_key_is_an_error() {
    let response = run(CookieLayer::new(), &[], |c| match c.private() {
        Ok(_) => "ok".to_owned(),
        Err(error) => {
            assert_eq!(error, CookieError::NoKey);
            error.to_string()
        }
    })
    .await;
    assert_eq!(
        response.body(),
        "no key configured: build the layer with `CookieLayer::with_key`"
    );
}

#[tokio::test]
async fn private_access_adds_vary_cookie() {
    let service = CookieLayer::new().with_key(key(1)).layer(service_fn(
        |request: Request<String>| async move {
            let cookies = Cookies::from_request(&request).expect("jar");
            let _ = cookies.private().expect("key").get("user");
            let mut response = Response::new(String::new());
            response
                .headers_mut()
                .insert(VARY, HeaderValue::from_static("Accept-Encoding"));
            Ok::<_, Infallible>(response)
        },
    ));
    let response = service
        .oneshot(Request::new(String::new()))
        .await
        .expect("infallible");
    let vary: Vec<_> = response.headers().get_all(VARY).iter().collect();
    assert_eq!(vary, ["Accept-Encoding, Cookie"]);
    // Reading a private cookie leaves caching to the application.
    assert!(response.headers().get(CACHE_CONTROL).is_none());
}

#[tokio::test]
async fn setting_a_private_cookie_makes_the_response_private() {
    let response = run(CookieLayer::new().with_key(key(1)), &[], |c| {
        c.private()
            .expect("key")
            .add(Cookie::new("user", "7"))
            .expect("a valid cookie");
        String::new()
    })
    .await;
    assert_eq!(set_cookies(&response).len(), 1);
    assert_eq!(response.headers()[CACHE_CONTROL], "private");
    assert_eq!(response.headers()[VARY], "Cookie");

    // The same through a session layer's jar, whose session stays unused.
    let service = tower_cookie_sessions::SessionLayer::<u64>::new(key(2))
        .expect("layer")
        .layer(service_fn(|request: Request<String>| async move {
            let cookies = Cookies::from_request(&request).expect("jar");
            cookies
                .private()
                .expect("the session layer's key")
                .add(Cookie::new("user", "7"))
                .expect("a valid cookie");
            let mut response = Response::new(String::new());
            response.headers_mut().insert(
                CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=60"),
            );
            Ok::<_, Infallible>(response)
        }));
    let response = service
        .oneshot(Request::new(String::new()))
        .await
        .expect("infallible");
    let cache_control = response.headers()[CACHE_CONTROL].to_str().expect("ascii");
    assert!(
        cache_control.contains("private") && !cache_control.contains("public"),
        "{cache_control}"
    );
}

#[tokio::test]
async fn plain_access_adds_no_vary() {
    let response = run(CookieLayer::new().with_key(key(1)), &["a=1"], |c| {
        c.add(Cookie::new("b", "2")).expect("a valid cookie");
        value_of(c.get("a"))
    })
    .await;
    assert!(response.headers().get(VARY).is_none());
}

#[tokio::test]
async fn cookie_header_not_parsed_when_untouched() {
    // The jar's Debug output says whether the header was parsed.
    let seen = Arc::new(Mutex::new(Vec::new()));
    let service = CookieLayer::new().layer(service_fn({
        let seen = Arc::clone(&seen);
        move |request: Request<String>| {
            let seen = Arc::clone(&seen);
            async move {
                let cookies = Cookies::from_request(&request).expect("jar");
                let mut seen = seen.lock().expect("not poisoned");
                seen.push(format!("{cookies:?}"));
                let _ = cookies.get("a");
                seen.push(format!("{cookies:?}"));
                Ok::<_, Infallible>(Response::new(String::new()))
            }
        }
    }));
    let request = Request::builder()
        .header(COOKIE, "a=1")
        .body(String::new())
        .expect("request");
    service.oneshot(request).await.expect("infallible");
    let seen = seen.lock().expect("not poisoned");
    assert!(seen[0].contains("<not parsed>"), "{}", seen[0]);
    assert!(!seen[1].contains("<not parsed>"), "{}", seen[1]);
}

#[tokio::test]
async fn nested_layers_share_one_jar_and_write_once() {
    let inner = CookieLayer::new().layer(service_fn(|request: Request<String>| async move {
        let cookies = Cookies::from_request(&request).expect("jar");
        cookies.add(Cookie::new("a", "1")).expect("a valid cookie");
        Ok::<_, Infallible>(Response::new(String::new()))
    }));
    let service = CookieLayer::new().layer(inner);
    let response = service
        .oneshot(Request::new(String::new()))
        .await
        .expect("infallible");
    let written: Vec<_> = response.headers().get_all(SET_COOKIE).iter().collect();
    assert_eq!(written, ["a=1"]);
}

#[tokio::test]
async fn inner_errors_pass_through_without_set_cookie() {
    let service = CookieLayer::new().layer(service_fn(|request: Request<String>| async move {
        let cookies = Cookies::from_request(&request).expect("jar");
        cookies.add(Cookie::new("a", "1")).expect("a valid cookie");
        Err::<Response<String>, _>("inner failed")
    }));
    let result = service.oneshot(Request::new(String::new())).await;
    assert_eq!(result.expect_err("inner error"), "inner failed");
}

#[tokio::test]
async fn debug_never_shows_values() {
    let response = run(CookieLayer::new().with_key(key(1)), &["sid=s3cr3t"], |c| {
        let _ = c.get("sid");
        c.private()
            .expect("key")
            .add(Cookie::new("user", "h1dd3n"))
            .expect("a valid cookie");
        format!("{c:?}")
    })
    .await;
    let printed = response.body();
    assert!(
        printed.contains("sid") && printed.contains("user"),
        "{printed}"
    );
    assert!(
        !printed.contains("s3cr3t") && !printed.contains("h1dd3n"),
        "{printed}"
    );
}

#[cfg(feature = "axum")]
mod axum_extractor {
    use axum::body::{to_bytes, Body};
    use axum::routing::get;
    use axum::Router;
    use http::StatusCode;

    use super::*;

    async fn handler(cookies: Cookies) -> String {
        cookies
            .add(Cookie::new("seen", "yes"))
            .expect("a valid cookie");
        value_of(cookies.get("theme"))
    }

    #[tokio::test]
    async fn extractor_gives_the_jar_with_the_layer() {
        let app = Router::new()
            .route("/", get(handler))
            .layer(CookieLayer::new());
        let request = Request::builder()
            .header(COOKIE, "theme=dark")
            .body(Body::empty())
            .expect("request");
        let response = app.oneshot(request).await.expect("infallible");
        assert_eq!(response.status(), StatusCode::OK);
        let written: Vec<_> = response.headers().get_all(SET_COOKIE).iter().collect();
        assert_eq!(written, ["seen=yes"]);
        let body = to_bytes(response.into_body(), 1024).await.expect("body");
        assert_eq!(body, "dark");
    }

    #[tokio::test]
    async fn extractor_without_the_layer_says_what_is_missing() {
        let app = Router::new().route("/", get(handler));
        let response = app
            .oneshot(Request::new(Body::empty()))
            .await
            .expect("infallible");
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = to_bytes(response.into_body(), 1024).await.expect("body");
        assert_eq!(
            body,
            "Can't extract `Cookies`. Is `CookieLayer` or `SessionLayer` added to the service?"
        );
    }
}
