//! The `Cookie` header parser.

use std::borrow::Cow;

use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};

use crate::cookies::parse::{parse_cookie_header, values_named};

/// What must be escaped for a pair to read back as it was: what the parser
/// splits on (`;`, and `=` in a name), trims (space; tab is a control),
/// refuses (controls) and decodes (`%`).
const ESCAPE: &AsciiSet = &CONTROLS.add(b' ').add(b';').add(b'=').add(b'%');

/// How many of a header's names are looked up one by one.
const LOOKUPS: usize = 8;

/// Parses `data` as one `Cookie` header field.
///
/// Asserts that every pair read has a name; that
/// the pairs, written out again percent-encoded, parse to the same pairs;
/// and that the lookup of one cookie by name (the session's path, which
/// reads less) finds every value the full parse found under that name, in
/// order (for the first few names, alphabetically).
///
/// # Panics
///
/// When one of those does not hold: a finding.
///
/// # Examples
///
/// ```
/// tower_cookie_sessions::fuzzing::cookie_header(b"id=abc; theme=dark; caf%C3%A9=%3B");
/// ```
pub fn cookie_header(data: &[u8]) {
    let mut pairs = Vec::new();
    parse_cookie_header(data, &mut pairs);

    assert!(
        pairs.iter().all(|(name, _)| !name.is_empty()),
        "a pair with an empty name was read"
    );

    let written = pairs
        .iter()
        .map(|(name, value)| {
            format!(
                "{}={}",
                utf8_percent_encode(name, ESCAPE),
                utf8_percent_encode(value, ESCAPE)
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    let mut again = Vec::new();
    parse_cookie_header(written.as_bytes(), &mut again);
    assert_eq!(again, pairs, "written out as {written:?}");

    let mut names: Vec<&str> = pairs.iter().map(|(name, _)| name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    // Each lookup reads the whole header: a few names keep a long header
    // of many pairs from costing thousands of passes per input.
    for name in names.into_iter().take(LOOKUPS) {
        let found: Vec<Cow<'_, [u8]>> = values_named(data, name).collect();
        let mut found = found.iter();
        for (_, value) in pairs.iter().filter(|(n, _)| n == name) {
            assert!(
                found.any(|raw| raw.as_ref() == value.as_bytes()),
                "values_named({name:?}) missed {value:?}"
            );
        }
    }
}
