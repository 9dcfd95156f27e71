//! Why flash messages could not be used.

use std::fmt;

/// Why a [`Flash`](crate::flash::Flash) could not be had or a message not
/// added.
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::flash::FlashError;
///
/// let error = FlashError::TooLarge { size: 5000, limit: 4096 };
/// assert_eq!(error.to_string(), "flash cookie would be 5000 bytes, over the limit of 4096");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FlashError {
    /// No [`SessionLayer`](crate::SessionLayer) saw the request: flash
    /// messages travel with a session layer's cookie settings.
    MissingLayer,
    /// The flash cookie, with this message added, would be larger than a
    /// browser keeps one cookie; the message was not added. Messages are
    /// for short notices: keep anything larger in the session.
    TooLarge {
        /// The bytes the flash cookie's `Set-Cookie` would take.
        size: usize,
        /// The most one cookie may take.
        limit: usize,
    },
}

impl fmt::Display for FlashError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FlashError::MissingLayer => {
                f.write_str("flash messages need a SessionLayer around the service that uses them")
            }
            FlashError::TooLarge { size, limit } => write!(
                f,
                "flash cookie would be {size} bytes, over the limit of {limit}"
            ),
        }
    }
}

impl std::error::Error for FlashError {}
