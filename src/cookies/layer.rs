use std::sync::Arc;

use tower_layer::Layer;

use super::service::CookieService;
use crate::key::KeyRing;

/// Gives every request a [`Cookies`](crate::Cookies) jar, found with
/// [`Cookies::from_request`](crate::Cookies::from_request) or the axum
/// extractor, and writes its changes to the response as `Set-Cookie`
/// headers.
///
/// Holds only configuration: the optional key ring that
/// [`Cookies::private`](crate::Cookies::private) seals and opens with.
/// The session layer includes this one; add both and the outer jar is the
/// one every handler and layer sees.
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::{CookieLayer, Key};
///
/// // Plain cookies only:
/// let layer = CookieLayer::new();
///
/// // Plain and private cookies:
/// let layer = CookieLayer::new().with_key(Key::generate());
/// # let _ = layer;
/// ```
#[must_use]
#[derive(Clone, Debug, Default)]
pub struct CookieLayer {
    key: Option<Arc<KeyRing>>,
}

impl CookieLayer {
    /// A layer without a key: plain cookies only.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::CookieLayer;
    ///
    /// let layer = CookieLayer::new();
    /// # let _ = layer;
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the key (or key ring, for rotation) that private cookies are
    /// sealed and opened with.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::{CookieLayer, Key, KeyRing};
    ///
    /// # fn main() -> Result<(), tower_cookie_sessions::KeyError> {
    /// let layer = CookieLayer::new().with_key(Key::generate());
    ///
    /// let ring = KeyRing::new(2, Key::generate()).with_old_key(1, Key::generate())?;
    /// let layer = CookieLayer::new().with_key(ring);
    /// # let _ = layer;
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_key(mut self, key: impl Into<KeyRing>) -> Self {
        self.key = Some(Arc::new(key.into()));
        self
    }
}

impl<S> Layer<S> for CookieLayer {
    type Service = CookieService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CookieService::new(inner, self.key.clone())
    }
}
