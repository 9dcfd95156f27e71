//! Response header edits shared by the cookie and session layers: a
//! response that depends on a cookie must say so to caches.
//!
//! Both functions work on raw header bytes, so a field that is not UTF-8
//! is carried over as it is instead of being dropped or causing a panic.

use http::header::{Entry, CACHE_CONTROL, VARY};
use http::{HeaderMap, HeaderValue};

use crate::syntax::trim_ows;

/// Adds `Cookie` to the response's `Vary`, merged into the fields already
/// there.
///
/// Nothing changes when some `Vary` field already lists `Cookie` (in any
/// case) or `*`, which already means "varies on everything". Several `Vary`
/// fields are folded into one, which RFC 9110 makes equivalent, because
/// some caches only read the first field.
pub(crate) fn add_vary_cookie(headers: &mut HeaderMap) {
    // The usual case: nothing to merge with, and one hash lookup.
    let mut entry = match headers.entry(VARY) {
        Entry::Vacant(vacant) => {
            vacant.insert(HeaderValue::from_static("Cookie"));
            return;
        }
        Entry::Occupied(occupied) => occupied,
    };
    let mut existing = Vec::new();
    for value in entry.iter() {
        for token in list_items(value.as_bytes()) {
            if token == b"*" || token.eq_ignore_ascii_case(b"cookie") {
                return;
            }
            existing.push(token);
        }
    }
    existing.push(b"Cookie");
    let merged = HeaderValue::from_bytes(&existing.join(b", ".as_slice()));
    match merged {
        Ok(merged) => {
            entry.insert(merged);
        }
        // Unreachable: every item came out of a valid header value.
        Err(_) => entry.append(HeaderValue::from_static("Cookie")),
    }
}

/// Makes the response private to the browser: shared caches must not
/// store a response that sets someone's session cookie.
///
/// Adds `private` to `Cache-Control` unless it already has `private` or
/// `no-store`; drops `public` and `s-maxage`, which would contradict it, and
/// keeps every other directive (`max-age=60` still applies to the browser).
/// Several `Cache-Control` fields are folded into one.
pub(crate) fn make_private(headers: &mut HeaderMap) {
    // The usual case, and the one on every response that sets a session:
    // nothing to merge with, and one hash lookup.
    let mut entry = match headers.entry(CACHE_CONTROL) {
        Entry::Vacant(vacant) => {
            vacant.insert(HeaderValue::from_static("private"));
            return;
        }
        Entry::Occupied(occupied) => occupied,
    };
    let mut kept: Vec<&[u8]> = Vec::new();
    for value in entry.iter() {
        for directive in list_items(value.as_bytes()) {
            let name = directive_name(directive);
            // `private="Set-Cookie"` only hides the named fields: the body
            // would still be shared, so only the bare form counts.
            if name.eq_ignore_ascii_case(b"no-store") || directive.eq_ignore_ascii_case(b"private")
            {
                return;
            }
            if name.eq_ignore_ascii_case(b"public") || name.eq_ignore_ascii_case(b"s-maxage") {
                continue;
            }
            kept.push(directive);
        }
    }
    let mut directives: Vec<&[u8]> = vec![b"private"];
    directives.extend(kept);
    let new_value = HeaderValue::from_bytes(&directives.join(b", ".as_slice()))
        // Unreachable: every directive came out of a valid header value.
        .unwrap_or_else(|_| HeaderValue::from_static("private"));
    entry.insert(new_value);
}

/// The part of a directive before its `=`, trimmed.
fn directive_name(directive: &[u8]) -> &[u8] {
    let end = directive
        .iter()
        .position(|&b| b == b'=')
        .unwrap_or(directive.len());
    trim_ows(&directive[..end])
}

/// The non-empty, trimmed items of a comma-separated field value. Commas
/// inside a quoted string (`no-cache="Set-Cookie, Foo"`) do not split.
fn list_items(value: &[u8]) -> Vec<&[u8]> {
    let mut items = Vec::new();
    let mut start = 0;
    let mut in_quotes = false;
    let mut escaped = false;
    for (i, &b) in value.iter().enumerate() {
        if escaped {
            escaped = false;
        } else if in_quotes && b == b'\\' {
            escaped = true;
        } else if b == b'"' {
            in_quotes = !in_quotes;
        } else if b == b',' && !in_quotes {
            items.push(trim_ows(&value[start..i]));
            start = i + 1;
        }
    }
    items.push(trim_ows(&value[start..]));
    items.retain(|item| !item.is_empty());
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(name: http::HeaderName, values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(&name, HeaderValue::from_str(value).expect("valid value"));
        }
        headers
    }

    fn values(headers: &HeaderMap, name: http::HeaderName) -> Vec<&str> {
        headers
            .get_all(name)
            .iter()
            .map(|v| v.to_str().expect("ascii"))
            .collect()
    }

    #[test]
    fn vary_is_added_when_absent() {
        let mut h = HeaderMap::new();
        add_vary_cookie(&mut h);
        assert_eq!(values(&h, VARY), ["Cookie"]);
    }

    #[test]
    fn vary_is_merged_with_existing_fields() {
        let mut h = headers(VARY, &["Accept-Encoding", "Origin, Accept"]);
        add_vary_cookie(&mut h);
        assert_eq!(
            values(&h, VARY),
            ["Accept-Encoding, Origin, Accept, Cookie"]
        );
    }

    #[test]
    fn vary_cookie_is_not_duplicated_in_any_case() {
        let mut h = headers(VARY, &["Accept", "accept-encoding, COOKIE"]);
        add_vary_cookie(&mut h);
        assert_eq!(values(&h, VARY), ["Accept", "accept-encoding, COOKIE"]);
    }

    #[test]
    fn vary_star_is_left_alone() {
        let mut h = headers(VARY, &["*"]);
        add_vary_cookie(&mut h);
        assert_eq!(values(&h, VARY), ["*"]);
        let mut h = headers(VARY, &["Accept, *"]);
        add_vary_cookie(&mut h);
        assert_eq!(values(&h, VARY), ["Accept, *"]);
    }

    #[test]
    fn empty_vary_items_are_dropped() {
        let mut h = headers(VARY, &["", " , Accept ,"]);
        add_vary_cookie(&mut h);
        assert_eq!(values(&h, VARY), ["Accept, Cookie"]);
    }

    #[test]
    fn non_utf8_vary_is_kept() {
        let mut h = HeaderMap::new();
        h.insert(VARY, HeaderValue::from_bytes(b"X-\xff").expect("obs-text"));
        add_vary_cookie(&mut h);
        assert_eq!(h.get(VARY).expect("vary").as_bytes(), b"X-\xff, Cookie");
    }

    #[test]
    fn cache_control_private_is_added_when_absent() {
        let mut h = HeaderMap::new();
        make_private(&mut h);
        assert_eq!(values(&h, CACHE_CONTROL), ["private"]);
    }

    #[test]
    fn cache_control_keeps_other_directives() {
        let mut h = headers(CACHE_CONTROL, &["max-age=60, must-revalidate"]);
        make_private(&mut h);
        assert_eq!(
            values(&h, CACHE_CONTROL),
            ["private, max-age=60, must-revalidate"]
        );
    }

    #[test]
    fn cache_control_loses_public_and_s_maxage() {
        let mut h = headers(CACHE_CONTROL, &["PUBLIC, max-age=60", "s-maxage=600"]);
        make_private(&mut h);
        assert_eq!(values(&h, CACHE_CONTROL), ["private, max-age=60"]);
    }

    #[test]
    fn cache_control_private_or_no_store_is_left_alone() {
        for existing in [
            "private",
            "Private, max-age=5",
            "no-store",
            "public, no-store",
        ] {
            let mut h = headers(CACHE_CONTROL, &[existing]);
            make_private(&mut h);
            assert_eq!(values(&h, CACHE_CONTROL), [existing]);
        }
    }

    #[test]
    fn qualified_private_does_not_count_and_quoted_commas_do_not_split() {
        let mut h = headers(
            CACHE_CONTROL,
            &[r#"private="Set-Cookie", no-cache="A, B", public"#],
        );
        make_private(&mut h);
        assert_eq!(
            values(&h, CACHE_CONTROL),
            [r#"private, private="Set-Cookie", no-cache="A, B""#]
        );
    }

    #[test]
    fn unbalanced_quotes_do_not_panic() {
        let mut h = headers(CACHE_CONTROL, &[r#"no-cache="a, \"#]);
        make_private(&mut h);
        assert_eq!(values(&h, CACHE_CONTROL), [r#"private, no-cache="a, \"#]);
    }
}
