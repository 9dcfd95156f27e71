//! A lenient parser for `Cookie` request headers.
//!
//! Browsers send whatever other sites' scripts and old deployments left
//! behind, so one bad pair must not cost the visitor every other cookie:
//! a pair that cannot be read is skipped and parsing goes on with the next.

use std::borrow::Cow;

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
/// where no percent-decoding was needed, so a lookup of one cookie (the
/// session's, on every request that opens it) allocates nothing.
pub(crate) fn pairs(header: &[u8]) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> {
    header.split(|&b| b == b';').filter_map(parse_pair)
}

fn parse_pair(pair: &[u8]) -> Option<(Cow<'_, str>, Cow<'_, str>)> {
    let eq = pair.iter().position(|&b| b == b'=')?;
    let name = trim_ows(&pair[..eq]);
    let value = trim_ows(&pair[eq + 1..]);
    if name.is_empty() || name.iter().chain(value).any(|&b| is_control(b)) {
        return None;
    }
    Some((decode(name)?, decode(value)?))
}

fn decode(raw: &[u8]) -> Option<Cow<'_, str>> {
    // Most values (every sealed one: base64url) have nothing to decode, and
    // looking for `%` is far cheaper than decoding byte by byte.
    if !raw.contains(&b'%') {
        return std::str::from_utf8(raw).ok().map(Cow::Borrowed);
    }
    match percent_decode(raw).into() {
        Cow::Borrowed(bytes) => std::str::from_utf8(bytes).ok().map(Cow::Borrowed),
        Cow::Owned(bytes) => String::from_utf8(bytes).ok().map(Cow::Owned),
    }
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

    proptest! {
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
