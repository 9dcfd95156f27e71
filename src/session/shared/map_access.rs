//! `Session<SessionMap>` reads and writes one key at a time, as Flask's
//! `session[...]` and tower-sessions' `session.get(...)` do, without a
//! closure around each call.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::map::{SessionMap, SessionMapError};
use crate::session::Session;

/// One key at a time: each call locks the session once (`remove` twice
/// when the key is there), and the writes mark it modified as
/// [`update`](Session::update) does. The table in
/// [`SessionMap`]'s documentation puts these beside Flask's and
/// tower-sessions' calls.
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::{Session, SessionMap, SessionMapError};
///
/// async fn sign_in(session: Session<SessionMap>) -> Result<String, SessionMapError> {
///     session.insert("user_id", &42_u64)?;
///     session.insert("name", "ada")?;
///     let user_id: Option<u64> = session.get("user_id")?;
///     assert!(session.contains("name"));
///     assert_eq!(session.keys(), ["name", "user_id"]);
///     session.remove("name");
///     Ok(format!("{user_id:?}"))
/// }
/// # let _ = sign_in;
/// ```
impl Session<SessionMap> {
    /// The value under `key` read as a `V`, or `None` when there is none:
    /// [`SessionMap::get`] on this request's session.
    ///
    /// # Errors
    ///
    /// [`SessionMapError::TypeMismatch`] when the stored value does not
    /// have `V`'s shape, and [`SessionMapError::Decode`] when its bytes are
    /// not a value; treat either like a missing value.
    ///
    /// # Examples
    ///
    /// ```
    /// # use tower_cookie_sessions::{Session, SessionMap, SessionMapError};
    /// async fn greet(session: Session<SessionMap>) -> String {
    ///     match session.get::<String>("name") {
    ///         Ok(Some(name)) => format!("hello, {name}"),
    ///         Ok(None) | Err(_) => "hello, stranger".to_owned(),
    ///     }
    /// }
    /// # let _ = greet;
    /// ```
    pub fn get<V: DeserializeOwned>(&self, key: &str) -> Result<Option<V>, SessionMapError> {
        self.read(|map| map.get(key))
    }

    /// Stores `value` under `key`, replacing any value there, and marks the
    /// session modified: [`SessionMap::insert`] on this request's session.
    ///
    /// # Errors
    ///
    /// [`SessionMapError::Encode`] when `value`'s `Serialize`
    /// implementation fails; the session is then unchanged.
    ///
    /// # Examples
    ///
    /// ```
    /// # use tower_cookie_sessions::{Session, SessionMap, SessionMapError};
    /// async fn add_to_cart(session: Session<SessionMap>) -> Result<(), SessionMapError> {
    ///     let mut cart: Vec<u32> = session.get("cart")?.unwrap_or_default();
    ///     cart.push(7);
    ///     session.insert("cart", &cart)
    /// }
    /// # let _ = add_to_cart;
    /// ```
    pub fn insert<V: Serialize + ?Sized>(
        &self,
        key: impl Into<String>,
        value: &V,
    ) -> Result<(), SessionMapError> {
        self.update(|map| map.insert(key, value))
    }

    /// Removes the value under `key`, if any; returns whether there was
    /// one. [`SessionMap::remove`] on this request's session.
    ///
    /// # Examples
    ///
    /// ```
    /// # use tower_cookie_sessions::{Session, SessionMap};
    /// async fn sign_out(session: Session<SessionMap>) -> &'static str {
    ///     if session.remove("user_id") {
    ///         "signed out"
    ///     } else {
    ///         "was not signed in"
    ///     }
    /// }
    /// # let _ = sign_out;
    /// ```
    pub fn remove(&self, key: &str) -> bool {
        // Only a removal is a change: reading first keeps a request that
        // removes a missing key from writing the session.
        if !self.contains(key) {
            return false;
        }
        self.update(|map| map.remove(key))
    }

    /// Whether a value is stored under `key`, of any type.
    ///
    /// # Examples
    ///
    /// ```
    /// # use tower_cookie_sessions::{Session, SessionMap};
    /// async fn is_signed_in(session: Session<SessionMap>) -> bool {
    ///     session.contains("user_id")
    /// }
    /// # let _ = is_signed_in;
    /// ```
    #[must_use]
    pub fn contains(&self, key: &str) -> bool {
        self.read(|map| map.contains_key(key))
    }

    /// The keys of the stored values, in ascending order.
    ///
    /// # Examples
    ///
    /// ```
    /// # use tower_cookie_sessions::{Session, SessionMap};
    /// async fn keys(session: Session<SessionMap>) -> String {
    ///     session.keys().join(",")
    /// }
    /// # let _ = keys;
    /// ```
    #[must_use]
    pub fn keys(&self) -> Vec<String> {
        self.read(|map| map.keys().map(str::to_owned).collect())
    }
}
