use http::header::COOKIE;

use super::*;
use crate::key::Key;

fn jar(cookie_headers: &[&[u8]]) -> Cookies {
    let mut headers = HeaderMap::new();
    for value in cookie_headers {
        headers.append(COOKIE, HeaderValue::from_bytes(value).expect("valid value"));
    }
    Cookies::new(&headers, None)
}

fn set_cookies(cookies: &Cookies) -> Vec<String> {
    let mut headers = HeaderMap::new();
    cookies.write_to(&mut headers);
    headers
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().expect("ascii").to_owned())
        .collect()
}

#[test]
fn nothing_is_parsed_until_first_access() {
    let cookies = jar(&[b"a=1"]);
    assert!(cookies.lock().jar.parsed.is_none());
    cookies.add(Cookie::new("b", "2")).expect("valid");
    assert!(cookies.lock().jar.parsed.is_none());
    assert!(cookies.get("a").is_some());
    assert!(cookies.lock().jar.parsed.is_some());
}

#[test]
fn request_values_are_in_order_capped_and_ignore_changes() {
    let cookies = jar(&[b"id=1; other=x", b"id=2; id=3"]);
    cookies.add(Cookie::new("id", "new")).expect("valid");
    let values = |name, max| cookies.request().values(name).take(max).collect::<Vec<_>>();
    assert_eq!(values("id", 2), [&b"1"[..], b"2"]);
    assert_eq!(values("id", 10), [&b"1"[..], b"2", b"3"]);
    assert!(values("none", 3).is_empty());
}

#[test]
fn later_change_of_same_name_path_domain_replaces_earlier() {
    let cookies = jar(&[]);
    cookies
        .add(Cookie::build(("a", "1")).path("/").build())
        .expect("valid");
    cookies
        .add(Cookie::build(("a", "2")).path("/x").build())
        .expect("valid");
    cookies
        .add(Cookie::build(("a", "3")).path("/").build())
        .expect("valid");
    assert_eq!(
        cookies.get("a").map(|c| c.value().to_owned()),
        Some("3".into())
    );
    assert_eq!(set_cookies(&cookies), ["a=2; Path=/x", "a=3; Path=/"]);
}

#[test]
fn domains_compare_without_case() {
    let cookies = jar(&[]);
    cookies
        .add(Cookie::build(("a", "1")).domain("Example.COM").build())
        .expect("valid");
    cookies
        .add(Cookie::build(("a", "2")).domain("example.com").build())
        .expect("valid");
    assert_eq!(set_cookies(&cookies), ["a=2; Domain=example.com"]);
}

#[test]
fn remove_after_add_hides_the_cookie() {
    let cookies = jar(&[b"a=old"]);
    cookies.add(Cookie::new("a", "new")).expect("valid");
    cookies.remove(Cookie::new("a", "")).expect("valid");
    assert!(cookies.get("a").is_none());
    assert!(cookies.list().is_empty());
    let written = set_cookies(&cookies);
    assert_eq!(written.len(), 1);
    assert!(
        written[0].starts_with("a=; Max-Age=0; Expires="),
        "{written:?}"
    );
}

#[test]
fn write_to_takes_the_changes() {
    let cookies = jar(&[]);
    cookies.add(Cookie::new("a", "1")).expect("valid");
    assert_eq!(set_cookies(&cookies).len(), 1);
    assert!(set_cookies(&cookies).is_empty());
}

#[test]
fn names_are_written_as_they_are_and_values_percent_encoded() {
    let cookies = jar(&[]);
    cookies
        .add(Cookie::new("a%2Db|^`", "x;y\n\u{e9}%"))
        .expect("a token");
    let written = set_cookies(&cookies);
    assert_eq!(written, ["a%2Db|^`=x%3By%0A%C3%A9%25"]);
    let back = jar(&[written[0].as_bytes()]);
    assert_eq!(
        back.get("a%2Db|^`").map(|c| c.value().to_owned()),
        Some("x;y\n\u{e9}%".into())
    );
    assert!(back.get("a-b|^`").is_none());
}

#[test]
fn a_name_that_is_not_a_token_is_refused() {
    let cookies = jar(&[]);
    for name in [
        "a b",
        "a;b",
        "a=b",
        "",
        "caf\u{e9}",
        "a\nb",
        "(a)",
        "a,b",
        "\"a\"",
    ] {
        let refused = cookies.add(Cookie::new(name, "1"));
        assert_eq!(refused, Err(CookieError::InvalidName(name.to_owned())));
        let refused = cookies.remove(Cookie::new(name, ""));
        assert_eq!(refused, Err(CookieError::InvalidName(name.to_owned())));
    }
    assert!(set_cookies(&cookies).is_empty());
}

#[test]
fn invalid_attributes_are_refused() {
    let cookies = jar(&[]);
    let invalid = |name: &str, attribute| {
        Err(CookieError::InvalidAttribute {
            name: name.to_owned(),
            attribute,
        })
    };
    let refused = cookies.add(Cookie::build(("p", "1")).path("/a;b").build());
    assert_eq!(refused, invalid("p", "Path"));
    let refused = cookies.add(Cookie::build(("d", "1")).domain("ex\nample.com").build());
    assert_eq!(refused, invalid("d", "Domain"));
    let refused = cookies.add(Cookie::build(("u", "1")).path("/caf\u{e9}").build());
    assert_eq!(refused, invalid("u", "Path"));
    cookies.add(Cookie::new("ok", "1")).expect("valid");
    assert_eq!(set_cookies(&cookies), ["ok=1"]);
}

#[test]
fn extreme_expires_is_refused_without_a_panic() {
    use cookie::time::{Date, OffsetDateTime, PrimitiveDateTime, Time};
    let max = PrimitiveDateTime::new(Date::MAX, Time::MAX)
        .assume_offset(UtcOffset::from_hms(-10, 0, 0).expect("offset"));
    let min = PrimitiveDateTime::new(Date::MIN, Time::MIDNIGHT)
        .assume_offset(UtcOffset::from_hms(10, 0, 0).expect("offset"));
    let cookies = jar(&[]);
    let refused = cookies.add(Cookie::build(("min", "1")).expires(min).build());
    assert!(
        matches!(
            refused,
            Err(CookieError::InvalidAttribute {
                attribute: "Expires",
                ..
            })
        ),
        "{refused:?}"
    );
    // `cookie` caps a later date at the end of year 9999 itself.
    cookies
        .add(Cookie::build(("max", "1")).expires(max).build())
        .expect("capped");
    let now = Cookie::build(("now", "1")).expires(OffsetDateTime::now_utc());
    cookies.add(now.build()).expect("valid");
    let written = set_cookies(&cookies);
    assert_eq!(written.len(), 2);
    assert!(
        written[0].starts_with("max=1; Expires=Fri, 31 Dec 9999"),
        "{written:?}"
    );
    assert!(written[1].starts_with("now=1; Expires="), "{written:?}");
}

#[test]
fn poisoned_lock_does_not_panic() {
    let cookies = jar(&[b"a=1"]);
    let clone = cookies.clone();
    let _ = std::thread::spawn(move || {
        let _guard = clone.lock();
        panic!("poison the lock");
    })
    .join();
    assert!(cookies.request().is_poisoned());
    assert!(cookies.get("a").is_some());
    cookies.add(Cookie::new("b", "2")).expect("valid");
    assert_eq!(set_cookies(&cookies), ["b=2"]);
}

#[test]
fn debug_shows_names_but_no_values_or_keys() {
    let mut headers = HeaderMap::new();
    headers.insert(COOKIE, HeaderValue::from_static("sid=secret-value"));
    let key = Key::from_bytes(&(200u8..232).collect::<Vec<_>>()).expect("key");
    let cookies = Cookies::new(&headers, Some(Arc::new(KeyRing::new(3, key))));
    let before = format!("{cookies:?}");
    assert!(before.contains("<not parsed>"), "{before}");
    let _ = cookies.get("sid");
    cookies
        .add(Cookie::new("theme", "hidden-value"))
        .expect("valid");
    let after = format!("{cookies:?}");
    assert!(
        after.contains("\"sid\"") && after.contains("\"theme\""),
        "{after}"
    );
    assert!(!after.contains("secret-value") && !after.contains("hidden-value"));
    assert!(!after.contains("200"), "{after}");
}
