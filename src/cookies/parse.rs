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
/// (0x00–0x1F or 0x7F) in its name or value, a name that is not UTF-8, or a
/// value that is not UTF-8 once percent-decoded. The spaces and tabs around
/// a name and around a value are trimmed, as browsers trim them when they
/// store a cookie (RFC 6265 §5.2); nothing inside either is changed.
///
/// Names are kept exactly as sent, never percent-decoded: browsers apply
/// the `__Host-` and `__Secure-` rules only to names that literally start
/// with them, so `__Host%2Did` is another cookie, which any sibling
/// subdomain may set. Values are percent-decoded because this crate writes
/// them percent-encoded; double quotes around a value are kept as they were
/// sent.
pub(crate) fn parse_cookie_header(header: &[u8], out: &mut Vec<(String, String)>) {
    out.extend(pairs(header).map(|(name, value)| (name.into_owned(), value.into_owned())));
}

/// The same pairs as [`parse_cookie_header`], borrowed from the header
/// where no percent-decoding of the value was needed.
fn pairs(header: &[u8]) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> {
    split_pairs(header).filter_map(|(pair, _)| parse_pair(pair))
}

/// The header's `;`-separated pairs. Each pair comes with whether it
/// holds a `%`, noted in the same pass (see [`find_byte_noting`]) so that
/// a sealed value, which has none, is read once.
fn split_pairs(header: &[u8]) -> impl Iterator<Item = (&[u8], bool)> {
    let mut rest = Some(header);
    std::iter::from_fn(move || {
        let current = rest?;
        let (end, percent) = find_byte_noting(current, b';', b'%');
        match end {
            Some(end) => {
                rest = Some(&current[end + 1..]);
                Some((&current[..end], percent))
            }
            None => {
                rest = None;
                Some((current, percent))
            }
        }
    })
}

/// The first position of `needle`, and whether `noted` comes before it:
/// `memchr2` looks for both at once, many bytes per step, which is what
/// a session cookie (one long pair with neither) needs.
fn find_byte_noting(haystack: &[u8], needle: u8, noted: u8) -> (Option<usize>, bool) {
    let Some(first) = memchr::memchr2(needle, noted, haystack) else {
        return (None, false);
    };
    if haystack[first] == needle {
        return (Some(first), false);
    }
    // A `%` came first: only the needle is still to find.
    let after = first + 1;
    (
        memchr::memchr(needle, &haystack[after..]).map(|at| after + at),
        true,
    )
}

/// How many request cookies of one name are opened, at most: browsers
/// send one per matching path and domain, and a sibling subdomain can toss
/// in more with the same name, so a few is plenty, and the cap keeps a
/// request stuffed with copies from costing many decryptions.
pub(crate) const MAX_CANDIDATES: usize = 3;

/// The raw values of the pairs called exactly `name` in one `Cookie`
/// header field, in order, percent-decoded when they contain a `%`.
///
/// This is the lookup of one sealed cookie (the session's, on every
/// request that opens it): a pair whose name differs by a byte is passed
/// over without looking at its value, and a matching value is borrowed from
/// the header and otherwise left unchecked, because every caller opens it as
/// base64url, which refuses control bytes and text that is not ASCII. Names
/// are compared as sent (see [`parse_cookie_header`]).
pub(crate) fn values_named<'a>(
    header: &'a [u8],
    name: &'a str,
) -> impl Iterator<Item = Cow<'a, [u8]>> + 'a {
    split_pairs(header).filter_map(move |(pair, has_percent)| {
        let eq = pair.iter().position(|&b| b == b'=')?;
        let raw_name = trim_ows(&pair[..eq]);
        if raw_name != name.as_bytes() || raw_name.is_empty() || has_control(raw_name) {
            return None;
        }
        Some(raw_value(pair, eq, has_percent))
    })
}

/// The pairs of one `Cookie` header field called exactly `name` or
/// `name.SUFFIX`, in order: each with its `SUFFIX` (`None` for `name`
/// itself) and its raw value, percent-decoded when it contains a `%`.
///
/// One pass over the header finds a session's plain cookie and the chunks
/// of a session split across several (`name.0`, `name.1`...), so a request
/// with neither costs what [`values_named`] costs. Names and suffixes are
/// compared as sent, values left unchecked, as there.
pub(crate) fn values_named_or_under<'a>(
    header: &'a [u8],
    name: &'a str,
) -> impl Iterator<Item = (Option<&'a [u8]>, Cow<'a, [u8]>)> + 'a {
    split_pairs(header).filter_map(move |(pair, has_percent)| {
        let eq = pair.iter().position(|&b| b == b'=')?;
        let raw_name = trim_ows(&pair[..eq]);
        let suffix = suffix_of(raw_name, name)?;
        if raw_name.is_empty() || has_control(raw_name) {
            return None;
        }
        Some((suffix, raw_value(pair, eq, has_percent)))
    })
}

/// The value of `pair`, whose `=` is at `eq`: borrowed from the header,
/// or percent-decoded when it contains a `%`.
fn raw_value(pair: &[u8], eq: usize, has_percent: bool) -> Cow<'_, [u8]> {
    let value = trim_ows(&pair[eq + 1..]);
    if has_percent && value.contains(&b'%') {
        percent_decode(value).into()
    } else {
        Cow::Borrowed(value)
    }
}

/// `Some(None)` when `candidate` is `name`, `Some(Some(suffix))` when it is
/// `name.suffix`, and `None` otherwise.
pub(crate) fn suffix_of<'c>(candidate: &'c [u8], name: &str) -> Option<Option<&'c [u8]>> {
    let rest = candidate.strip_prefix(name.as_bytes())?;
    match rest.split_first() {
        None => Some(None),
        Some((b'.', suffix)) => Some(Some(suffix)),
        Some(_) => None,
    }
}

fn parse_pair(pair: &[u8]) -> Option<(Cow<'_, str>, Cow<'_, str>)> {
    let eq = pair.iter().position(|&b| b == b'=')?;
    let name = trim_ows(&pair[..eq]);
    if name.is_empty() || has_control(name) {
        return None;
    }
    let name = std::str::from_utf8(name).ok()?;
    Some((Cow::Borrowed(name), decode(trim_ows(&pair[eq + 1..]))?))
}

/// Reads a value: `None` if it has a control byte or is not UTF-8 once
/// percent-decoded.
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
    fn percent_decodes_values_and_keeps_names_as_sent() {
        assert_eq!(
            parse(b"caf%C3%A9=a%3Bb%20c; raw=caf\xc3\xa9; caf\xc3\xa9=1"),
            pairs(&[("caf%C3%A9", "a;b c"), ("raw", "café"), ("café", "1")])
        );
    }

    #[test]
    fn nothing_inside_a_name_is_changed() {
        assert_eq!(
            parse(b" a b = 1 ;__Host%2Did=2; __HOST-id=3;\ta\t=\t4"),
            pairs(&[
                ("a b", "1"),
                ("__Host%2Did", "2"),
                ("__HOST-id", "3"),
                ("a", "4")
            ])
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
            parse(b"a=\xff; b=%FF; c=%C3; \xfe=1; d=ok; e=%zz; %FF=2"),
            pairs(&[("d", "ok"), ("e", "%zz"), ("%FF", "2")])
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
    fn values_named_or_under_reads_a_name_and_its_suffixes_as_sent() {
        let header = b"id.0=a; ida=x; id=b; other.id=y; id.=c; id%2E1=d; i%64.2=e; id.1x=f; \
                       %69d=g; ID.3=h; id.4=%41";
        let found: Vec<(Option<Vec<u8>>, Vec<u8>)> = values_named_or_under(header, "id")
            .map(|(suffix, value)| (suffix.map(<[u8]>::to_vec), value.into_owned()))
            .collect();
        let expected: Vec<(Option<Vec<u8>>, Vec<u8>)> = vec![
            (Some(b"0".to_vec()), b"a".to_vec()),
            (None, b"b".to_vec()),
            (Some(b"".to_vec()), b"c".to_vec()),
            (Some(b"1x".to_vec()), b"f".to_vec()),
            (Some(b"4".to_vec()), b"A".to_vec()),
        ];
        assert_eq!(found, expected);
    }

    #[test]
    fn find_byte_finds_the_first_wherever_it_is() {
        let find = |haystack: &[u8]| find_byte_noting(haystack, b';', b'%').0;
        // Long enough for memchr's vector loop and its scalar tail.
        let mut haystack = vec![b'x'; 45];
        assert_eq!(find(&haystack), None);
        for at in [0, 7, 8, 15, 16, 39, 40, 44] {
            haystack[at] = b';';
            assert_eq!(find(&haystack), Some(at), "at {at}");
            haystack[at] = b'x';
        }
        haystack[20] = b';';
        haystack[35] = b';';
        assert_eq!(find(&haystack), Some(20));
    }

    #[test]
    fn find_byte_notes_what_comes_before_the_needle() {
        let noted = |haystack: &[u8]| find_byte_noting(haystack, b';', b'%').1;
        let mut haystack = vec![b'x'; 45];
        assert!(!noted(&haystack));
        for at in [0, 7, 8, 15, 16, 39, 40, 44] {
            haystack[at] = b'%';
            assert!(noted(&haystack), "% at {at}");
            haystack[at] = b'x';
        }
        // After the needle, near it or far: not noted.
        haystack[3] = b';';
        for at in [4, 7, 8, 20, 42] {
            haystack[at] = b'%';
            assert!(!noted(&haystack), "% at {at}");
            haystack[at] = b'x';
        }
    }

    #[test]
    fn values_named_reads_the_pairs_of_that_name() {
        let header =
            b"a=1; id=x\x01y; b=2; id=first; ida=no; %69d=not; ID=not; id=%FF; id = second ;id";
        // Raw control bytes stay in, for the base64url decoder to refuse.
        assert_eq!(named(header, "id"), ["x\u{1}y", "first", "second"]);
        assert_eq!(named(header, "%69d"), ["not"]);
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
                            Just(b'4'), Just(b'1'), Just(b'6'), Just(0xc3u8), Just(0xa9u8)],
                0..64,
            ),
            // `%61` would be `a` if names were decoded.
            name in prop_oneof![Just("a"), Just("b"), Just("ab"), Just("A"), Just("\u{e9}"), Just("%61")],
        ) {
            let expected: Vec<String> = parse(&header)
                .into_iter()
                .filter(|(n, _)| n == name)
                .map(|(_, v)| v)
                .collect();
            prop_assert_eq!(named(&header, name), expected);
        }

        #[test]
        fn values_named_or_under_agrees_with_values_named(
            header in proptest::collection::vec(
                prop_oneof![
                    Just(b'i'), Just(b'd'), Just(b'.'), Just(b'0'), Just(b'='),
                    Just(b';'), Just(b'%'), Just(b' '), any::<u8>(),
                ],
                0..200,
            ),
        ) {
            let plain: Vec<Cow<'_, [u8]>> = values_named(&header, "id").collect();
            let under: Vec<Cow<'_, [u8]>> = values_named_or_under(&header, "id")
                .filter(|(suffix, _)| suffix.is_none())
                .map(|(_, value)| value)
                .collect();
            prop_assert_eq!(plain, under);
        }

        #[test]
        // Bytes one bit away from `;` and `%` are where a word-at-a-time
        // search could mark a byte that does not match.
        fn find_byte_agrees_with_a_byte_by_byte_search(haystack in proptest::collection::vec(
            prop_oneof![Just(b';'), Just(b'%'), Just(b':'), Just(b'$'), Just(0u8), Just(1u8),
                        Just(0xffu8), Just(b'a')],
            0..200,
        )) {
            let at = haystack.iter().position(|&b| b == b';');
            let before = &haystack[..at.unwrap_or(haystack.len())];
            prop_assert_eq!(
                find_byte_noting(&haystack, b';', b'%'),
                (at, before.contains(&b'%'))
            );
        }

        #[test]
        fn split_pairs_is_split_on_semicolons(header in proptest::collection::vec(
            prop_oneof![Just(b';'), Just(b'a'), Just(b'='), Just(b'%')], 0..80,
        )) {
            let ours: Vec<&[u8]> = split_pairs(&header).map(|(pair, _)| pair).collect();
            let std: Vec<&[u8]> = header.split(|&b| b == b';').collect();
            prop_assert_eq!(ours, std);
            for (pair, has_percent) in split_pairs(&header) {
                prop_assert_eq!(has_percent, pair.contains(&b'%'));
            }
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
