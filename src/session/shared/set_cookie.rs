//! Formats the session's `Set-Cookie` lines: its cookie, the chunks of a
//! session larger than one cookie, and their removals.
//!
//! Written by hand rather than through `cookie::Cookie`: every part was
//! validated when the layer was built, and the value is base64url, so the
//! line needs no escaping. It is written as bytes into a buffer of exactly
//! its length, which becomes the header value without a copy or a second
//! allocation.

use std::io::Write as _;

use cookie::SameSite;
use http::HeaderValue;

use crate::envelope;
use crate::key::Purpose;
use crate::session::client::chunks::{chunk_name_len, digits};
use crate::session::shared::config::SessionConfig;

/// `Set-Cookie` for a session cookie whose value is `plaintext`, sealed for
/// `purpose` straight into the line (one allocation for both); persistent
/// cookies get `Max-Age` (seconds until the session ends).
pub(crate) fn sealed_cookie(
    config: &SessionConfig,
    purpose: Purpose,
    plaintext: &[u8],
    max_age: Option<u64>,
) -> HeaderValue {
    sealed_cookie_named(config, &config.cookie_name, purpose, plaintext, max_age)
}

/// [`sealed_cookie`] for another cookie of the layer (its flash cookie),
/// with the session cookie's attributes.
pub(crate) fn sealed_cookie_named(
    config: &SessionConfig,
    name: &str,
    purpose: Purpose,
    plaintext: &[u8],
    max_age: Option<u64>,
) -> HeaderValue {
    let len = sealed_cookie_len(config, name, plaintext.len(), max_age);
    let mut line = Vec::with_capacity(len);
    line.extend_from_slice(name.as_bytes());
    line.push(b'=');
    envelope::seal_into(&config.keys, purpose, name, plaintext, &mut line);
    push_attributes(&mut line, config, max_age);
    debug_assert_eq!(line.len(), len, "the line is sized exactly");
    to_header(line)
}

/// The length of the line [`sealed_cookie_named`] writes for a plaintext
/// of `plaintext_len` bytes.
pub(crate) fn sealed_cookie_len(
    config: &SessionConfig,
    name: &str,
    plaintext_len: usize,
    max_age: Option<u64>,
) -> usize {
    name.len() + 1 + envelope::sealed_len(plaintext_len) + attributes_len(config, max_age)
}

/// `Set-Cookie` for chunk `index` of a session larger than one cookie:
/// `NAME.index=`, the chunk count when it is chunk 0 (`count` is `Some`),
/// then its piece of the sealed `text`. Same attributes as the session
/// cookie.
pub(crate) fn chunk(
    config: &SessionConfig,
    index: usize,
    count: Option<usize>,
    text: &[u8],
    max_age: Option<u64>,
) -> HeaderValue {
    let prefix = count.map_or(0, |count| digits(count as u64) + 1);
    let len = chunk_name_len(config.cookie_name.len(), index)
        + 1
        + prefix
        + text.len()
        + attributes_len(config, max_age);
    let mut line = Vec::with_capacity(len);
    push_name(&mut line, &config.cookie_name, Some(index));
    line.push(b'=');
    if let Some(count) = count {
        // Writing to a Vec cannot fail.
        let _ = write!(line, "{count}.");
    }
    line.extend_from_slice(text);
    push_attributes(&mut line, config, max_age);
    debug_assert_eq!(line.len(), len, "the line is sized exactly");
    to_header(line)
}

/// `Set-Cookie` that makes the browser drop the session cookie. It repeats
/// the cookie's attributes: browsers refuse a `__Host-` or `__Secure-`
/// cookie without them, removal included.
pub(crate) fn removal(config: &SessionConfig) -> HeaderValue {
    removal_of(config, &config.cookie_name, None)
}

/// [`removal`] of another cookie of the layer (its flash cookie).
pub(crate) fn removal_named(config: &SessionConfig, name: &str) -> HeaderValue {
    removal_of(config, name, None)
}

/// [`removal`] of chunk `NAME.index`.
pub(crate) fn chunk_removal(config: &SessionConfig, index: usize) -> HeaderValue {
    removal_of(config, &config.cookie_name, Some(index))
}

fn removal_of(config: &SessionConfig, name: &str, chunk: Option<usize>) -> HeaderValue {
    const EXPIRED: &[u8] = b"; Expires=Thu, 01 Jan 1970 00:00:00 GMT";
    let name_len = chunk.map_or(name.len(), |index| chunk_name_len(name.len(), index));
    let len = name_len + 1 + attributes_len(config, Some(0)) + EXPIRED.len();
    let mut line = Vec::with_capacity(len);
    push_name(&mut line, name, chunk);
    line.push(b'=');
    push_attributes(&mut line, config, Some(0));
    line.extend_from_slice(EXPIRED);
    debug_assert_eq!(line.len(), len, "the line is sized exactly");
    to_header(line)
}

/// `NAME`, or `NAME.index` for a chunk.
fn push_name(line: &mut Vec<u8>, name: &str, chunk: Option<usize>) {
    line.extend_from_slice(name.as_bytes());
    if let Some(index) = chunk {
        // Writing to a Vec cannot fail.
        let _ = write!(line, ".{index}");
    }
}

fn push_attributes(line: &mut Vec<u8>, config: &SessionConfig, max_age: Option<u64>) {
    line.extend_from_slice(b"; Path=");
    line.extend_from_slice(config.path.as_bytes());
    if let Some(domain) = &config.domain {
        line.extend_from_slice(b"; Domain=");
        line.extend_from_slice(domain.as_bytes());
    }
    if let Some(seconds) = max_age {
        // Writing to a Vec cannot fail.
        let _ = write!(line, "; Max-Age={seconds}");
    }
    if config.secure {
        line.extend_from_slice(b"; Secure");
    }
    if config.http_only {
        line.extend_from_slice(b"; HttpOnly");
    }
    line.extend_from_slice(same_site_attribute(config.same_site));
}

/// The length [`push_attributes`] writes, so the line's buffer is sized
/// exactly.
fn attributes_len(config: &SessionConfig, max_age: Option<u64>) -> usize {
    "; Path=".len()
        + config.path.len()
        + config
            .domain
            .as_ref()
            .map_or(0, |domain| "; Domain=".len() + domain.len())
        + max_age.map_or(0, |seconds| "; Max-Age=".len() + digits(seconds))
        + if config.secure { "; Secure".len() } else { 0 }
        + if config.http_only {
            "; HttpOnly".len()
        } else {
            0
        }
        + same_site_attribute(config.same_site).len()
}

fn same_site_attribute(same_site: SameSite) -> &'static [u8] {
    match same_site {
        SameSite::Strict => b"; SameSite=Strict",
        SameSite::Lax => b"; SameSite=Lax",
        SameSite::None => b"; SameSite=None",
    }
}

fn to_header(line: Vec<u8>) -> HeaderValue {
    // A `Vec` whose length is its capacity becomes the value's bytes as
    // they are.
    HeaderValue::try_from(line)
        // The name, path and domain were checked when the layer was built and
        // the value is base64url, so only visible ASCII can be here.
        .expect("session cookie attributes are validated when the layer is built")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::{Key, KeyRing};

    #[test]
    fn attributes_len_is_what_push_attributes_writes() {
        let mut config = SessionConfig::new(KeyRing::from(Key::generate()));
        for domain in [None, Some("example.com".to_owned())] {
            for (secure, http_only) in [(true, true), (false, false), (true, false)] {
                for same_site in [SameSite::Strict, SameSite::Lax, SameSite::None] {
                    for max_age in [
                        None,
                        Some(0),
                        Some(9),
                        Some(10),
                        Some(1_209_600),
                        Some(u64::MAX),
                    ] {
                        config.domain.clone_from(&domain);
                        config.path = "/app".to_owned();
                        config.secure = secure;
                        config.http_only = http_only;
                        config.same_site = same_site;
                        let mut line = Vec::new();
                        push_attributes(&mut line, &config, max_age);
                        assert_eq!(attributes_len(&config, max_age), line.len());
                    }
                }
            }
        }
    }

    #[test]
    fn lines_fill_their_buffer_exactly() {
        let config = SessionConfig::new(KeyRing::from(Key::generate()));
        for plaintext_len in [0, 1, 2, 3, 40, 500] {
            let plaintext = vec![7u8; plaintext_len];
            let value = sealed_cookie(&config, Purpose::Session, &plaintext, Some(3600));
            let text = value.to_str().expect("ASCII");
            assert!(text.starts_with("id="), "{text}");
            assert!(
                text.ends_with("; Max-Age=3600; Secure; HttpOnly; SameSite=Lax"),
                "{text}"
            );
        }
        let removal = removal(&config);
        assert!(removal
            .to_str()
            .expect("ASCII")
            .ends_with("; Expires=Thu, 01 Jan 1970 00:00:00 GMT"));
        for index in [0, 9, 10, 49] {
            let removal = chunk_removal(&config, index);
            assert!(removal
                .to_str()
                .expect("ASCII")
                .starts_with(&format!("id.{index}=; Path=/; Max-Age=0;")));
            for count in [None, Some(2), Some(50)] {
                let line = chunk(&config, index, count, b"AbC-_", Some(60));
                let expected = match count {
                    Some(count) => format!("id.{index}={count}.AbC-_; Max-Age=60;"),
                    None => format!("id.{index}=AbC-_; Max-Age=60;"),
                };
                let text = line.to_str().expect("ASCII").replace("; Path=/", "");
                assert!(text.starts_with(&expected), "{text}");
            }
        }
    }
}
