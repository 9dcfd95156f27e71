//! Why a [`SessionMap`](super::SessionMap) value could not be read or
//! stored, and why two requests' changes could not be merged.

use std::fmt;

/// Why a [`SessionMap`](crate::SessionMap) value could not be read or stored.
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::{SessionMap, SessionMapError};
///
/// # fn main() -> Result<(), SessionMapError> {
/// let mut session = SessionMap::new();
/// session.insert("cart", &7_u32)?;
///
/// match session.get::<Vec<u32>>("cart") {
///     Err(SessionMapError::TypeMismatch { key, reason, .. }) => {
///         assert_eq!(key, "cart");
///         assert_eq!(reason, "invalid type: integer `7`, expected array");
///     }
///     other => panic!("expected a type mismatch, got {other:?}"),
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionMapError {
    /// The value under `key` does not have the shape of the type asked
    /// for: a string read as a number, a number too large for the integer
    /// type, a struct read as a list, a struct missing a field that has no
    /// default.
    #[non_exhaustive]
    TypeMismatch {
        /// The key asked for.
        key: String,
        /// The name of the type asked for, as [`std::any::type_name`] gives
        /// it: for messages only.
        expected: &'static str,
        /// What did not fit, as serde reports it.
        reason: String,
    },
    /// The bytes under `key` are not a value at all: not valid CBOR, or
    /// nested deeper than 128 levels. Only a bug or a corrupted record can
    /// store such bytes; sessions are authenticated.
    #[non_exhaustive]
    Decode {
        /// The key asked for.
        key: String,
        /// The name of the type asked for.
        expected: &'static str,
        /// What the decoder reported.
        reason: String,
    },
    /// A value could not be encoded for storage under `key`.
    #[non_exhaustive]
    Encode {
        /// The key the value was to be stored under.
        key: String,
        /// What the encoder reported.
        reason: String,
    },
}

impl fmt::Display for SessionMapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TypeMismatch {
                key,
                expected,
                reason,
            } => write!(f, "session value `{key}` is not a `{expected}`: {reason}"),
            Self::Decode {
                key,
                expected,
                reason,
            } => write!(
                f,
                "session value `{key}` is not a valid `{expected}`: {reason}"
            ),
            Self::Encode { key, reason } => {
                write!(f, "session value `{key}` cannot be stored: {reason}")
            }
        }
    }
}

impl std::error::Error for SessionMapError {}

/// A [`SessionMap`](crate::SessionMap) whose changes cannot be replayed onto the session as
/// another request saved it. Returned by [`SessionMap::merge_onto`](crate::SessionMap::merge_onto).
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::SessionMap;
///
/// let mut mine = SessionMap::new();
/// mine.clear();
/// let conflict = mine.merge_onto(&SessionMap::new()).unwrap_err();
/// assert_eq!(conflict.key(), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeConflict {
    pub(super) key: Option<String>,
}

impl MergeConflict {
    /// The key both requests wrote, or `None` when this request cleared the
    /// whole session.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::SessionMap;
    ///
    /// # fn main() -> Result<(), tower_cookie_sessions::SessionMapError> {
    /// let mut mine = SessionMap::new();
    /// mine.insert("cart", &vec![1_u32])?;
    /// let mut theirs = SessionMap::new();
    /// theirs.insert("cart", &vec![2_u32])?;
    ///
    /// let conflict = mine.merge_onto(&theirs).unwrap_err();
    /// assert_eq!(conflict.key(), Some("cart"));
    /// assert_eq!(conflict.to_string(), "session value `cart` was also changed by another request");
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }
}

impl fmt::Display for MergeConflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.key {
            Some(key) => write!(
                f,
                "session value `{key}` was also changed by another request"
            ),
            None => f.write_str("the session was cleared while another request changed it"),
        }
    }
}

impl std::error::Error for MergeConflict {}
