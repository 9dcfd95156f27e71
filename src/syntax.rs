//! Small byte-level rules shared by cookies, headers, keys and stores.

/// RFC 6265 `cookie-name`: an RFC 7230 token.
pub(crate) fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// RFC 6265 `av-octet`s (a `Path` or `Domain`): visible ASCII and space,
/// but no `;`, which would end the attribute.
pub(crate) fn is_attribute_value(value: &str) -> bool {
    value
        .bytes()
        .all(|b| (0x20..0x7f).contains(&b) && b != b';')
}

/// `bytes` without the spaces and tabs (HTTP's optional white space)
/// around it.
pub(crate) fn trim_ows(bytes: &[u8]) -> &[u8] {
    let is_ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = bytes.iter().position(|b| !is_ows(b)).unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !is_ows(b))
        .map_or(start, |i| i + 1);
    &bytes[start..end]
}

/// The byte two hexadecimal digits (either case) spell.
pub(crate) fn hex_byte(high: u8, low: u8) -> Option<u8> {
    fn digit(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    Some(digit(high)? << 4 | digit(low)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_attribute_values() {
        assert!(is_token("__Host-id"));
        assert!(!is_token("a b"));
        assert!(!is_token("a=b"));
        assert!(!is_token(""));
        assert!(is_attribute_value("/app path"));
        assert!(!is_attribute_value("/a;b"));
        assert!(!is_attribute_value("/a\nb"));
    }

    #[test]
    fn trims_only_spaces_and_tabs() {
        assert_eq!(trim_ows(b" \ta b\t "), b"a b");
        assert_eq!(trim_ows(b"  "), b"");
        assert_eq!(trim_ows(b"\na"), b"\na");
    }

    #[test]
    fn hex_bytes() {
        assert_eq!(hex_byte(b'f', b'F'), Some(255));
        assert_eq!(hex_byte(b'0', b'9'), Some(9));
        assert_eq!(hex_byte(b'+', b'f'), None);
        assert_eq!(hex_byte(b'g', b'0'), None);
    }
}
