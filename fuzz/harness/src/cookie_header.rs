//! The `Cookie` header parser.

use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use tower_cookie_sessions::fuzzing::{parse_cookie_header, trim_ows, values_named};

/// What must be escaped in a value for it to read back as it was: what
/// the parser splits on (`;`), trims (space; tab is a control), refuses
/// (controls) and decodes (`%`).
const ESCAPE: &AsciiSet = &CONTROLS.add(b' ').add(b';').add(b'%');

/// How many of a header's names are looked up one by one.
const LOOKUPS: usize = 8;

/// Parses `data` as one `Cookie` header field.
///
/// Asserts that every pair read has a name, and that the name is exactly
/// the bytes the header sent before that pair's `=`, spaces and tabs
/// around it trimmed (never percent-decoded, nothing inside it changed);
/// that the pairs, written out again with their names as they are and
/// their values percent-encoded, parse to the same pairs; and that the
/// lookup of one cookie by name (the session's path, which reads less)
/// finds exactly the values the full parse found under that name, in
/// order (for the first few names, alphabetically).
///
/// # Panics
///
/// When one of those does not hold: a finding.
///
/// # Examples
///
/// ```
/// fuzz_harness::cookie_header(b"id=abc; theme=dark; __Host%2Did=%3B");
/// ```
pub fn cookie_header(data: &[u8]) {
    let pairs = parse_cookie_header(data);

    assert!(
        pairs.iter().all(|(name, _)| !name.is_empty()),
        "a pair with an empty name was read"
    );

    // The names as sent: what precedes each pair's first `=`, trimmed.
    let mut sent = data
        .split(|&b| b == b';')
        .filter_map(|pair| Some(trim_ows(&pair[..pair.iter().position(|&b| b == b'=')?])));
    for (name, _) in &pairs {
        assert!(
            sent.any(|raw| raw == name.as_bytes()),
            "name {name:?} is not a name the header sent"
        );
    }

    let written = pairs
        .iter()
        .map(|(name, value)| format!("{name}={}", utf8_percent_encode(value, ESCAPE)))
        .collect::<Vec<_>>()
        .join("; ");
    let again = parse_cookie_header(written.as_bytes());
    assert_eq!(again, pairs, "written out as {written:?}");

    let mut names: Vec<&str> = pairs.iter().map(|(name, _)| name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    // Each lookup reads the whole header: a few names keep a long header
    // of many pairs from costing thousands of passes per input.
    for name in names.into_iter().take(LOOKUPS) {
        let found = values_named(data, name);
        let expected: Vec<&[u8]> = pairs
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, value)| value.as_bytes())
            .collect();
        // The lookup also returns values the full parse skips (not UTF-8
        // once decoded), for the base64url decoder to refuse; never fewer.
        let mut found_iter = found.iter();
        for value in &expected {
            assert!(
                found_iter.any(|raw| raw.as_slice() == *value),
                "values_named({name:?}) missed {value:?}"
            );
        }
        let exact = data
            .split(|&b| b == b';')
            .filter(|pair| {
                pair.iter()
                    .position(|&b| b == b'=')
                    .is_some_and(|eq| trim_ows(&pair[..eq]) == name.as_bytes())
            })
            .count();
        assert_eq!(
            found.len(),
            exact,
            "values_named({name:?}) found a pair of another name"
        );
    }
}
