//! A lenient parser for `Cookie` request headers.
//!
//! Browsers send whatever other sites' scripts and old deployments left
//! behind, so one bad pair must not cost the visitor every other cookie:
//! a pair that cannot be read is skipped and parsing goes on with the next.

use std::borrow::Cow;

use http::header::COOKIE;
use http::HeaderMap;
use percent_encoding::percent_decode;

use crate::syntax::trim_ows;

/// Every well-formed `name=value` pair of one `Cookie` header field, in
/// order, duplicates kept.
///
/// A pair is skipped when it has no `=`, an empty name, a control byte
/// (0x00–0x1F or 0x7F) in its name or value, or a name or value that is not
/// UTF-8 once percent-decoded. Space and tab around pairs, names and values
/// are trimmed. Values are percent-decoded because this crate writes them
/// percent-encoded; double quotes around a value are kept as they were sent.
pub(crate) fn parse_cookie_header(header: &[u8], out: &mut Vec<(String, String)>) {
    out.extend(pairs(header).map(|(name, value)| (name.into_owned(), value.into_owned())));
}

/// The same pairs as [`parse_cookie_header`], borrowed from the header
/// where no percent-decoding was needed.
fn pairs(header: &[u8]) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> {
    split_pairs(header).filter_map(parse_pair)
}

/// The header's `;`-separated pairs, found 16 bytes at a time: a session
/// cookie is one long pair, and a byte-by-byte split costs more than
/// reading it.
fn split_pairs(header: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(header);
    std::iter::from_fn(move || {
        let current = rest?;
        match find_byte(current, b';') {
            Some(end) => {
                rest = Some(&current[end + 1..]);
                Some(&current[..end])
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
}

const BLOCK: usize = 16;

/// The first position of `needle`. Each 16-byte block is tested with one
/// branch-free fold, which the compiler turns into a vector compare.
fn find_byte(haystack: &[u8], needle: u8) -> Option<usize> {
    let mut blocks = haystack.chunks_exact(BLOCK);
    let mut offset = 0;
    for block in &mut blocks {
        let Ok(block) = <&[u8; BLOCK]>::try_from(block) else {
            break;
        };
        if block.iter().fold(false, |found, &b| found | (b == needle)) {
            return block.iter().position(|&b| b == needle).map(|i| offset + i);
        }
        offset += BLOCK;
    }
    haystack[offset..]
        .iter()
        .position(|&b| b == needle)
        .map(|i| offset + i)
}

/// How many request cookies of one name are opened, at most: browsers
/// send one per matching path and domain, and a sibling subdomain can toss
/// in more with the same name, so a few is plenty, and the cap keeps a
/// request stuffed with copies from costing many decryptions.
pub(crate) const MAX_CANDIDATES: usize = 3;

/// The raw values of the request cookies called `name`, over all of the
/// request's `Cookie` fields, in order; see [`values_named`].
pub(crate) fn request_values<'a>(
    headers: &'a HeaderMap,
    name: &'a str,
) -> impl Iterator<Item = Cow<'a, [u8]>> + 'a {
    headers
        .get_all(COOKIE)
        .into_iter()
        .flat_map(move |field| values_named(field.as_bytes(), name))
}

/// The raw values of the pairs called `name` in one `Cookie` header
/// field, in order, percent-decoded when they contain a `%`.
///
/// This is the lookup of one sealed cookie (the session's, on every
/// request that opens it): a pair whose name differs is passed over
/// without looking at its value, and a matching value is borrowed from the
/// header and otherwise left unchecked, because every caller opens it as
/// base64url, which refuses control bytes and text that is not ASCII.
pub(crate) fn values_named<'a>(
    header: &'a [u8],
    name: &'a str,
) -> impl Iterator<Item = Cow<'a, [u8]>> + 'a {
    split_pairs(header).filter_map(move |pair| {
        let eq = pair.iter().position(|&b| b == b'=')?;
        let raw_name = trim_ows(&pair[..eq]);
        let same_name = if raw_name.contains(&b'%') {
            decode(raw_name).is_some_and(|decoded| decoded == name)
        } else {
            raw_name == name.as_bytes()
        };
        if !same_name || raw_name.is_empty() || has_control(raw_name) {
            return None;
        }
        let value = trim_ows(&pair[eq + 1..]);
        Some(if value.contains(&b'%') {
            percent_decode(value).into()
        } else {
            Cow::Borrowed(value)
        })
    })
}

fn parse_pair(pair: &[u8]) -> Option<(Cow<'_, str>, Cow<'_, str>)> {
    let eq = pair.iter().position(|&b| b == b'=')?;
    let name = trim_ows(&pair[..eq]);
    if name.is_empty() || has_control(name) {
        return None;
    }
    Some((decode(name)?, decode(trim_ows(&pair[eq + 1..]))?))
}

/// Reads a name or value: `None` if it has a control byte or is not UTF-8
/// once percent-decoded.
fn decode(raw: &[u8]) -> Option<Cow<'_, str>> {
    // One branch-free pass over the bytes (which the compiler vectorises)
    // answers both questions for the common value: a sealed one is
    // base64url, with no control byte and nothing to decode.
    let (control, percent) = raw.iter().fold((false, false), |(control, percent), &b| {
        (control | is_control(b), percent | (b == b'%'))
    });
    if control {
        return None;
    }
    if !percent {
        return std::str::from_utf8(raw).ok().map(Cow::Borrowed);
    }
    match percent_decode(raw).into() {
        Cow::Borrowed(bytes) => std::str::from_utf8(bytes).ok().map(Cow::Borrowed),
        Cow::Owned(bytes) => String::from_utf8(bytes).ok().map(Cow::Owned),
    }
}

fn has_control(raw: &[u8]) -> bool {
    raw.iter()
        .fold(false, |control, &b| control | is_control(b))
}

fn is_control(b: u8) -> bool {
    b < 0x20 || b == 0x7f
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(header: &[u8]) -> Vec<(String, String)> {
        let mut out = Vec::new();
        parse_cookie_header(header, &mut out);
        out
    }

    fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
        expected
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn reads_pairs_in_order_with_duplicates() {
        assert_eq!(
            parse(b"a=1; b=2;a=3"),
            pairs(&[("a", "1"), ("b", "2"), ("a", "3")])
        );
    }

    #[test]
    fn trims_space_and_tab_around_pairs_names_and_values() {
        assert_eq!(
            parse(b" \ta = 1 ;\tb=\t2\t; "),
            pairs(&[("a", "1"), ("b", "2")])
        );
    }

    #[test]
    fn empty_values_are_kept() {
        assert_eq!(parse(b"a=; b="), pairs(&[("a", ""), ("b", "")]));
    }

    #[test]
    fn skips_pairs_without_equals_or_name() {
        assert_eq!(parse(b"flag; =v; =; a=1; ;;"), pairs(&[("a", "1")]));
    }

    #[test]
    fn value_may_contain_equals() {
        assert_eq!(parse(b"a=b=c=="), pairs(&[("a", "b=c==")]));
    }

    #[test]
    fn skips_pairs_with_control_bytes() {
        assert_eq!(
            parse(b"a=x\x01y; b=2; c\x7f=3; d=x\ty; e=5"),
            pairs(&[("b", "2"), ("e", "5")])
        );
    }

    #[test]
    fn percent_decodes_names_and_values() {
        assert_eq!(
            parse(b"caf%C3%A9=a%3Bb%20c; raw=caf\xc3\xa9"),
            pairs(&[("café", "a;b c"), ("raw", "café")])
        );
    }

    #[test]
    fn decoded_control_characters_round_trip() {
        // `cookie`'s encoder writes a newline as %0A; it must read back.
        assert_eq!(parse(b"a=x%0Ay"), pairs(&[("a", "x\ny")]));
    }

    #[test]
    fn skips_non_utf8_before_or_after_decoding() {
        assert_eq!(
            parse(b"a=\xff; b=%FF; c=%C3; \xfe=1; d=ok; e=%zz"),
            pairs(&[("d", "ok"), ("e", "%zz")])
        );
    }

    #[test]
    fn quotes_are_kept() {
        assert_eq!(parse(br#"a="b c""#), pairs(&[("a", "\"b c\"")]));
    }

    /// The values `values_named` finds, as text where they are UTF-8.
    fn named(header: &[u8], name: &str) -> Vec<String> {
        values_named(header, name)
            .filter_map(|value| String::from_utf8(value.into_owned()).ok())
            .collect()
    }

    #[test]
    fn find_byte_finds_the_first_in_and_across_blocks() {
        let mut haystack = vec![b'x'; 40];
        assert_eq!(find_byte(&haystack, b';'), None);
        for at in [0, 15, 16, 31, 32, 39] {
            haystack[at] = b';';
            assert_eq!(find_byte(&haystack, b';'), Some(at), "at {at}");
            haystack[at] = b'x';
        }
        haystack[20] = b';';
        haystack[35] = b';';
        assert_eq!(find_byte(&haystack, b';'), Some(20));
    }

    #[test]
    fn values_named_reads_the_pairs_of_that_name() {
        let header = b"a=1; id=x\x01y; b=2; id=first; ida=no; %69d=second; id=%FF; id = third ;id";
        // Raw control bytes stay in, for the base64url decoder to refuse.
        assert_eq!(named(header, "id"), ["x\u{1}y", "first", "second", "third"]);
        assert_eq!(named(header, "a"), ["1"]);
        assert!(named(header, "").is_empty());
        assert!(named(b"a\x01=1", "a\x01").is_empty());
        // Values are left for the base64url decoder to refuse.
        let raw: Vec<Cow<'_, [u8]>> = values_named(b"id=x\x01y; id=a%3Bb", "id").collect();
        assert_eq!(raw, [&b"x\x01y"[..], &b"a;b"[..]]);
    }

    proptest! {
        #[test]
        // Without raw control bytes (which only the full parse refuses), the
        // two agree, percent-decoded control characters included.
        fn values_named_agrees_with_the_full_parse(
            header in proptest::collection::vec(
                prop_oneof![Just(b'a'), Just(b'b'), Just(b'='), Just(b';'), Just(b' '), Just(b'%'),
                            Just(b'4'), Just(b'1'), Just(0xc3u8), Just(0xa9u8)],
                0..64,
            ),
            name in prop_oneof![Just("a"), Just("b"), Just("ab"), Just("A"), Just("\u{e9}")],
        ) {
            let expected: Vec<String> = parse(&header)
                .into_iter()
                .filter(|(n, _)| n == name)
                .map(|(_, v)| v)
                .collect();
            prop_assert_eq!(named(&header, name), expected);
        }

        #[test]
        fn split_pairs_is_split_on_semicolons(header in proptest::collection::vec(
            prop_oneof![Just(b';'), Just(b'a'), Just(b'=')], 0..80,
        )) {
            let ours: Vec<&[u8]> = split_pairs(&header).collect();
            let std: Vec<&[u8]> = header.split(|&b| b == b';').collect();
            prop_assert_eq!(ours, std);
        }

        #[test]
        fn arbitrary_bytes_never_panic(header in proptest::collection::vec(any::<u8>(), 0..512)) {
            for (name, _) in parse(&header) {
                prop_assert!(!name.is_empty());
            }
        }

        #[test]
        fn well_formed_pairs_are_all_read(
            cookies in proptest::collection::vec(("[a-zA-Z0-9_]{1,8}", "[a-zA-Z0-9_ =-]{0,16}"), 0..8),
        ) {
            let header = cookies
                .iter()
                .map(|(n, v)| format!("{n}={}", v.trim()))
                .collect::<Vec<_>>()
                .join("; ");
            let expected: Vec<(String, String)> = cookies
                .iter()
                .map(|(n, v)| (n.clone(), v.trim().to_owned()))
                .collect();
            prop_assert_eq!(parse(header.as_bytes()), expected);
        }
    }
}
