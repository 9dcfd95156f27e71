//! Formats the session's `Set-Cookie` line.
//!
//! Written by hand rather than through `cookie::Cookie`: every part was
//! validated when the layer was built, and the value is base64url, so the
//! line needs no escaping and costs one allocation.

use std::fmt::Write as _;

use cookie::SameSite;
use http::HeaderValue;

use crate::envelope;
use crate::key::Purpose;
use crate::session::config::SessionConfig;

/// `Set-Cookie` for a session cookie whose value is `plaintext`, sealed for
/// `purpose` straight into the line (one allocation for both); persistent
/// cookies get `Max-Age` (seconds until the session ends).
pub(crate) fn sealed_cookie(
    config: &SessionConfig,
    purpose: Purpose,
    plaintext: &[u8],
    max_age: Option<u64>,
) -> HeaderValue {
    let value_len = envelope::sealed_len(plaintext.len());
    let mut line = String::with_capacity(config.cookie_name.len() + value_len + 128);
    line.push_str(&config.cookie_name);
    line.push('=');
    envelope::seal_into(
        &config.keys,
        purpose,
        &config.cookie_name,
        plaintext,
        &mut line,
    );
    push_attributes(&mut line, config, max_age);
    to_header(line)
}

/// `Set-Cookie` that makes the browser drop the session cookie. It repeats
/// the cookie's attributes: browsers refuse a `__Host-` or `__Secure-`
/// cookie without them, removal included.
pub(crate) fn removal(config: &SessionConfig) -> HeaderValue {
    let mut line = String::with_capacity(config.cookie_name.len() + 128);
    line.push_str(&config.cookie_name);
    line.push('=');
    push_attributes(&mut line, config, Some(0));
    line.push_str("; Expires=Thu, 01 Jan 1970 00:00:00 GMT");
    to_header(line)
}

fn push_attributes(line: &mut String, config: &SessionConfig, max_age: Option<u64>) {
    line.push_str("; Path=");
    line.push_str(&config.path);
    if let Some(domain) = &config.domain {
        line.push_str("; Domain=");
        line.push_str(domain);
    }
    if let Some(seconds) = max_age {
        // Writing to a String cannot fail.
        let _ = write!(line, "; Max-Age={seconds}");
    }
    if config.secure {
        line.push_str("; Secure");
    }
    if config.http_only {
        line.push_str("; HttpOnly");
    }
    line.push_str(match config.same_site {
        SameSite::Strict => "; SameSite=Strict",
        SameSite::Lax => "; SameSite=Lax",
        SameSite::None => "; SameSite=None",
    });
}

fn to_header(line: String) -> HeaderValue {
    HeaderValue::try_from(line)
        // The name, path and domain were checked when the layer was built and
        // the value is base64url, so only visible ASCII can be here.
        .expect("session cookie attributes are validated when the layer is built")
}
