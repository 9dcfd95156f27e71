use std::sync::Arc;

use cookie::Cookie;

use super::error::CookieError;
use super::jar::{check_writable, Cookies};
use super::parse::MAX_CANDIDATES;
use crate::envelope::{self, MAX_COOKIE_SIZE};
use crate::key::{KeyRing, Purpose};

/// Cookies whose values are sealed one by one with the layer's key:
/// encrypted and authenticated, bound to their name, so the browser can
/// neither read nor alter them, nor move one to another name.
///
/// Obtained from [`Cookies::private`]. It shares the jar it came from:
/// changes made here are sent with the response like any other. Reading or
/// writing a private cookie adds `Cookie` to the response's `Vary`, since
/// the response then depends on the request's cookies.
///
/// # Examples
///
/// ```
/// # use http::{Request, Response};
/// # use tower::{service_fn, Layer, ServiceExt};
/// use tower_cookie_sessions::{Cookie, CookieError, CookieLayer, Cookies, Key};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let layer = CookieLayer::new().with_key(Key::generate());
/// let service = layer.layer(service_fn(|request: Request<String>| async move {
///     let cookies = Cookies::from_request(&request).expect("layer");
///     let private = cookies.private().expect("the layer has a key");
///     let greeting = match private.get("name") {
///         Some(name) => format!("welcome back, {}", name.value()),
///         None => {
///             private.add(Cookie::new("name", "Ada"))?;
///             "hello".to_owned()
///         }
///     };
///     Ok::<_, CookieError>(Response::new(greeting))
/// }));
///
/// let response = service.oneshot(Request::new(String::new())).await?;
/// assert_eq!(response.body(), "hello");
/// assert_eq!(response.headers()["vary"], "Cookie");
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct PrivateCookies {
    cookies: Cookies,
    // Both print safely: `Cookies` shows names only, `KeyRing` ids only.
    ring: Arc<KeyRing>,
}

impl PrivateCookies {
    pub(super) fn new(cookies: Cookies, ring: Arc<KeyRing>) -> Self {
        Self { cookies, ring }
    }

    /// The private cookie called `name`, its value opened.
    ///
    /// A cookie set in this request is returned with its plaintext value.
    /// Otherwise the first few request cookies with that name are tried and
    /// the first that opens wins. Returns `None` if there is none, it was
    /// removed in this request, or none opens (tampered with, sealed under
    /// another name or an unknown key, or not a private cookie at all);
    /// why is logged as a `tracing::debug!` event, without the value.
    ///
    /// # Examples
    ///
    /// ```
    /// # use http::{Request, Response};
    /// # use tower::{service_fn, Layer, ServiceExt};
    /// # use tower_cookie_sessions::{Cookie, CookieError, CookieLayer, Cookies, Key};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let layer = CookieLayer::new().with_key(Key::generate());
    /// # let service = layer.layer(service_fn(|request: Request<String>| async move {
    /// # let cookies = Cookies::from_request(&request).expect("layer");
    /// let private = cookies.private().expect("the layer has a key");
    /// // The request sent `Cookie: user_id=42`, which was not sealed.
    /// assert!(private.get("user_id").is_none());
    /// assert_eq!(cookies.get("user_id").map(|c| c.value().to_owned()), Some("42".into()));
    ///
    /// private.add(Cookie::new("user_id", "7"))?;
    /// assert_eq!(private.get("user_id").map(|c| c.value().to_owned()), Some("7".into()));
    /// # Ok::<_, CookieError>(Response::new(String::new()))
    /// # }));
    /// # let request = Request::builder().header("cookie", "user_id=42").body(String::new())?;
    /// # service.oneshot(request).await?;
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn get(&self, name: &str) -> Option<Cookie<'static>> {
        self.cookies.mark_private_accessed();
        if let Some(change) = self.cookies.change(name) {
            let mut cookie = change?;
            // A plain `add` under this name would not open next request
            // either, so it is refused here too.
            let plaintext = self.open(name, cookie.value().as_bytes())?;
            cookie.set_value(plaintext);
            return Some(cookie);
        }
        self.cookies
            .request()
            .values(name)
            .take(MAX_CANDIDATES)
            .find_map(|value| self.open(name, &value))
            .map(|plaintext| Cookie::new(name.to_owned(), plaintext))
    }

    /// Seals the cookie's value and sets it on the response, like
    /// [`Cookies::add`], attributes and all.
    ///
    /// The sealed value is [`envelope::sealed_len`] bytes long (56 plus a
    /// third more than the plaintext). A cookie whose name and sealed value
    /// exceed 4096 bytes, which browsers drop and this crate refuses to
    /// open, is still sent, with a `tracing::warn!` event.
    ///
    /// # Errors
    ///
    /// As [`Cookies::add`]: a name that is not a token, or an attribute
    /// that cannot be sent, changes nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// # use http::{Request, Response};
    /// # use tower::{service_fn, Layer, ServiceExt};
    /// use tower_cookie_sessions::{Cookie, CookieError, CookieLayer, Cookies, Key};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let layer = CookieLayer::new().with_key(Key::generate());
    /// let service = layer.layer(service_fn(|request: Request<String>| async move {
    ///     let cookies = Cookies::from_request(&request).expect("layer");
    ///     let private = cookies.private().expect("the layer has a key");
    ///     private.add(Cookie::build(("cart", "3 apples")).path("/shop").http_only(true).build())?;
    ///     Ok::<_, CookieError>(Response::new(String::new()))
    /// }));
    ///
    /// let response = service.oneshot(Request::new(String::new())).await?;
    /// let set_cookie = response.headers()["set-cookie"].to_str()?;
    /// assert!(set_cookie.starts_with("cart="));
    /// assert!(set_cookie.ends_with("; HttpOnly; Path=/shop"));
    /// assert!(!set_cookie.contains("apples"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn add(&self, cookie: Cookie<'static>) -> Result<(), CookieError> {
        // Checked before sealing: the name is bound into the seal.
        check_writable(&cookie)?;
        self.cookies.mark_private_set();
        let mut cookie = cookie;
        let sealed = envelope::seal_as(
            &self.ring,
            Purpose::PrivateCookie,
            cookie.name(),
            cookie.value().as_bytes(),
        );
        if cookie.name().len() + sealed.len() > MAX_COOKIE_SIZE {
            tracing::warn!(
                cookie.name = cookie.name(),
                sealed_len = sealed.len(),
                "private cookie is too large for browsers to keep"
            );
        }
        cookie.set_value(sealed);
        self.cookies.add(cookie)
    }

    /// Deletes a private cookie from the browser, exactly like
    /// [`Cookies::remove`]: pass the `Path` and `Domain` it was set with.
    ///
    /// # Errors
    ///
    /// As [`Cookies::remove`].
    ///
    /// # Examples
    ///
    /// ```
    /// # use http::{Request, Response};
    /// # use tower::{service_fn, Layer, ServiceExt};
    /// use tower_cookie_sessions::{Cookie, CookieError, CookieLayer, Cookies, Key};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let layer = CookieLayer::new().with_key(Key::generate());
    /// let service = layer.layer(service_fn(|request: Request<String>| async move {
    ///     let cookies = Cookies::from_request(&request).expect("layer");
    ///     let private = cookies.private().expect("the layer has a key");
    ///     private.remove(Cookie::build("cart").path("/shop").build())?;
    ///     assert!(private.get("cart").is_none());
    ///     Ok::<_, CookieError>(Response::new(String::new()))
    /// }));
    ///
    /// let response = service.oneshot(Request::new(String::new())).await?;
    /// let set_cookie = response.headers()["set-cookie"].to_str()?;
    /// assert!(set_cookie.starts_with("cart=; Path=/shop; Max-Age=0"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn remove(&self, cookie: Cookie<'static>) -> Result<(), CookieError> {
        self.cookies.mark_private_accessed();
        self.cookies.remove(cookie)
    }

    fn open(&self, name: &str, value: &[u8]) -> Option<String> {
        let plaintext = envelope::open_with(
            &self.ring,
            Purpose::PrivateCookie,
            name,
            value,
            |plaintext, _| String::from_utf8(plaintext.to_vec()),
        )
        .map_err(|error| {
            tracing::debug!(cookie.name = name, %error, "private cookie did not open");
        })
        .ok()?;
        plaintext
            .map_err(|_| {
                tracing::debug!(cookie.name = name, "private cookie is not UTF-8");
            })
            .ok()
    }
}
