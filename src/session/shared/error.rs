//! What can go wrong with a session after the layer is built.

use std::fmt;
use std::sync::Arc;

use http::StatusCode;

use crate::store::StoreError;

/// A session could not be loaded or saved.
///
/// Bad input from the client is never an error: a missing, tampered or
/// expired cookie gives the handler a fresh session. These errors are the
/// server's own: a missing layer, a failing store, or a session too large
/// to send. When one happens, the layer answers with the response of its
/// [`on_error`](crate::session::SessionLayerBuilder::on_error) hook, which receives the
/// whole error. By default that is the status of [`SessionError::status`]
/// and the generic text of [`SessionError::public_message`]: the cause (a
/// store client's own error text, say) goes to a `tracing` error event for
/// the operator, never to the visitor.
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::SessionError;
///
/// let err = SessionError::TooLarge { size: 5000, limit: 4096 };
/// assert_eq!(err.to_string(), "session too large: 5000 > 4096 bytes");
/// assert_eq!(err.status(), http::StatusCode::INTERNAL_SERVER_ERROR);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum SessionError {
    /// No `SessionLayer` for this session type wraps the service.
    MissingLayer {
        /// The name of the session type that was asked for.
        type_name: &'static str,
    },
    /// Two different session layers of one request would set a cookie of
    /// this name, and overwrite each other's in the browser. Detected
    /// when the inner one sees the request, before the handler runs: give
    /// each layer its own [`cookie_name`](crate::session::SessionLayerBuilder::cookie_name).
    CookieNameTaken {
        /// The cookie both layers set.
        name: String,
    },
    /// The session is over its size limit: a client-side session's
    /// cookies, names plus values, over
    /// [`max_cookie_size`](crate::session::SessionLayerBuilder::max_cookie_size), or a
    /// store record over
    /// [`max_record_size`](crate::session::SessionLayerBuilder::max_record_size). Nothing
    /// is sent or written: the previous session stays.
    TooLarge {
        /// The size the cookies (or record) would have had, in bytes.
        size: usize,
        /// The limit, in bytes.
        limit: usize,
    },
    /// The session data could not be serialized.
    Encode(String),
    /// The store failed or timed out loading the session, or a
    /// client-side session's [load hook](crate::session::SessionLayerBuilder::on_load)
    /// returned an error or timed out.
    Load(Arc<StoreError>),
    /// The store failed or timed out saving, creating or deleting the
    /// session; the response carries no cookie for what was not saved. A
    /// `503`, as for [`Load`](SessionError::Load), unless the error is
    /// about the data ([`StoreError::Corrupt`]) or a store that cannot do
    /// this ([`StoreError::Unsupported`]): those are a `500`.
    Save(Arc<StoreError>),
    /// Another request changed the session since this one loaded it, and
    /// the layer's [`ConflictPolicy`](crate::session::ConflictPolicy) could
    /// not merge the two. The handler has already run; its session changes
    /// were not saved.
    Conflict,
}

impl SessionError {
    /// The HTTP status that answers this error by default: `503` when the
    /// store is down or slow, whether loading or saving; `409` for a
    /// conflict; `500` for the rest, the server's own mistakes.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use http::StatusCode;
    /// use tower_cookie_sessions::store::StoreError;
    /// use tower_cookie_sessions::SessionError;
    ///
    /// let err = SessionError::MissingLayer { type_name: "u32" };
    /// assert_eq!(err.status(), StatusCode::INTERNAL_SERVER_ERROR);
    /// let cut_off = SessionError::Save(Arc::new(StoreError::Timeout));
    /// assert_eq!(cut_off.status(), StatusCode::SERVICE_UNAVAILABLE);
    /// ```
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            SessionError::Load(_) => StatusCode::SERVICE_UNAVAILABLE,
            SessionError::Save(error) if store_down(error) => StatusCode::SERVICE_UNAVAILABLE,
            SessionError::MissingLayer { .. }
            | SessionError::CookieNameTaken { .. }
            | SessionError::TooLarge { .. }
            | SessionError::Encode(_)
            | SessionError::Save(_) => StatusCode::INTERNAL_SERVER_ERROR,
            SessionError::Conflict => StatusCode::CONFLICT,
        }
    }
}

impl SessionError {
    /// What the default error response tells the visitor: one generic
    /// line per kind of error, without the cause, which may name servers,
    /// tables or keys. Use it in your own error responses too; log the
    /// error itself (its `Display`) for the operator.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tower_cookie_sessions::store::StoreError;
    /// use tower_cookie_sessions::SessionError;
    ///
    /// let error = SessionError::Load(Arc::new(StoreError::Timeout));
    /// assert_eq!(error.public_message(), "session store unavailable");
    /// assert!(error.to_string().contains("timed out"), "the cause, for the log");
    /// ```
    #[must_use]
    pub fn public_message(&self) -> &'static str {
        match self {
            SessionError::MissingLayer { .. } | SessionError::CookieNameTaken { .. } => {
                "session not available"
            }
            SessionError::TooLarge { .. } => "session too large",
            SessionError::Load(_) => "session store unavailable",
            SessionError::Save(error) if store_down(error) => "session store unavailable",
            SessionError::Encode(_) | SessionError::Save(_) => "session could not be saved",
            SessionError::Conflict => "session changed by another request; try again",
        }
    }
}

/// Whether a store error says the store is down or slow, rather than
/// something about the data or the store's abilities: such a save answers
/// as a failed load does.
fn store_down(error: &StoreError) -> bool {
    !matches!(error, StoreError::Corrupt(_) | StoreError::Unsupported(_))
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionError::MissingLayer { type_name } => write!(
                f,
                "Can't extract `Session<{type_name}>`. Is `SessionLayer<{type_name}>` added to the service?"
            ),
            SessionError::CookieNameTaken { name } => write!(
                f,
                "two session layers set the cookie `{name}`: give each its own `cookie_name`"
            ),
            SessionError::TooLarge { size, limit } => {
                write!(f, "session too large: {size} > {limit} bytes")
            }
            SessionError::Encode(reason) => write!(f, "session could not be encoded: {reason}"),
            SessionError::Load(error) => write!(f, "session could not be loaded: {error}"),
            SessionError::Save(error) => write!(f, "session could not be saved: {error}"),
            SessionError::Conflict => {
                f.write_str("session changed by another request; this request's changes were not saved")
            }
        }
    }
}

impl std::error::Error for SessionError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SessionError::Load(error) | SessionError::Save(error) => Some(error.as_ref()),
            _ => None,
        }
    }
}
