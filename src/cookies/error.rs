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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CookieError {
    /// [`Cookies::private`](crate::Cookies::private) was called but the
    /// layer has no key to seal and open private cookies with.
    NoKey,
}

impl fmt::Display for CookieError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CookieError::NoKey => {
                f.write_str("no key configured: build the layer with `CookieLayer::with_key`")
            }
        }
    }
}

impl std::error::Error for CookieError {}
