use std::fmt;

/// Why a cookie operation could not be done.
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::cookies::CookieError;
///
/// assert_eq!(
///     CookieError::NoKey.to_string(),
///     "no key configured: build the layer with `CookieLayer::with_key`"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CookieError {
    /// [`Cookies::private`](crate::Cookies::private) was called but the
    /// layer has no key to seal and open private cookies with.
    NoKey,
    /// The cookie's name is not an RFC 6265 token (letters, digits and
    /// ``!#$%&'*+-.^_`|~``): names are written and compared exactly as
    /// they are, never percent-encoded.
    InvalidName(String),
    /// An attribute of the cookie cannot be written in a `Set-Cookie`
    /// header: a `Path` or `Domain` with a `;` or a byte outside visible
    /// ASCII and space, or an `Expires` out of range.
    InvalidAttribute {
        /// The cookie's name.
        name: String,
        /// `"Path"`, `"Domain"` or `"Expires"`.
        attribute: &'static str,
    },
}

impl fmt::Display for CookieError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CookieError::NoKey => {
                f.write_str("no key configured: build the layer with `CookieLayer::with_key`")
            }
            CookieError::InvalidName(name) => write!(
                f,
                "cookie name {name:?} is not an RFC 6265 token: use letters, digits and \
                 !#$%&'*+-.^_`|~ (names are sent as they are, never percent-encoded)"
            ),
            CookieError::InvalidAttribute { name, attribute } => write!(
                f,
                "cookie {name:?} has an invalid {attribute}: it cannot be sent in a Set-Cookie header"
            ),
        }
    }
}

impl std::error::Error for CookieError {}
