use std::collections::HashSet;
use std::fmt::{self, Write as _};
use std::sync::{Arc, MutexGuard};

use cookie::time::UtcOffset;
use cookie::Cookie;
use http::header::SET_COOKIE;
use http::{Extensions, HeaderMap, HeaderValue, Request};
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};

use super::error::CookieError;
use super::parse::parse_cookie_header;
use super::private::PrivateCookies;
use crate::headers::{add_vary_cookie, make_private};
use crate::key::KeyRing;
use crate::request::{Locked, RawCookies, RequestState};
use crate::syntax::{is_attribute_value, is_token};

/// The cookie jar of one request.
///
/// [`CookieLayer`](crate::CookieLayer) (and the session layer, which
/// includes it) puts one into each request's extensions; handlers get it
/// with [`Cookies::from_request`], `request.extensions().get::<Cookies>()`,
/// or the axum extractor (`Cookies`, `Option<Cookies>` or
/// `Extension<Cookies>`). The outermost layer puts it there and writes its
/// changes; layers inside join it, so a request has one jar. The `Cookie`
/// header is parsed on first access only; pairs that cannot be read are
/// skipped without losing the others. Changes made with
/// [`add`](Cookies::add) and [`remove`](Cookies::remove) become `Set-Cookie`
/// headers on the response; a response whose handler changed nothing gets
/// none.
///
/// Clones share the same jar, so a clone moved into another task still
/// writes to this request's response, as long as it does so before the
/// response is returned. `Debug` shows cookie names, never values.
///
/// # Examples
///
/// ```
/// # use http::{Request, Response};
/// # use tower::{service_fn, Layer, ServiceExt};
/// use tower_cookie_sessions::{Cookie, CookieError, CookieLayer, Cookies};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let service = CookieLayer::new().layer(service_fn(|request: Request<String>| async move {
///     let cookies = Cookies::from_request(&request).expect("CookieLayer is added");
///     let visits: u32 = cookies
///         .get("visits")
///         .and_then(|cookie| cookie.value().parse().ok())
///         .unwrap_or(0);
///     cookies.add(Cookie::new("visits", (visits + 1).to_string()))?;
///     Ok::<_, CookieError>(Response::new(format!("visit number {}", visits + 1)))
/// }));
///
/// let request = Request::builder().header("cookie", "visits=41").body(String::new())?;
/// let response = service.oneshot(request).await?;
/// assert_eq!(response.headers()["set-cookie"], "visits=42");
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Cookies {
    /// The request's state, of which the jar is the public face.
    state: Arc<RequestState>,
}

/// The jar's part of the request's state: what the handler and layers did
/// with cookies.
pub(crate) struct JarState {
    /// The key private cookies seal with: the innermost layer's that has
    /// one.
    key: Option<Arc<KeyRing>>,
    /// `None` until something reads a request cookie.
    parsed: Option<Vec<(String, String)>>,
    /// At most one change per (name, path, domain), oldest first.
    changes: Vec<Change>,
    private_accessed: bool,
    /// A private cookie was added: its response must not be cached for
    /// anyone else.
    private_set: bool,
}

struct Change {
    cookie: Cookie<'static>,
    /// Made by `remove`: the handler should no longer see this cookie.
    removal: bool,
}

impl JarState {
    pub(crate) fn new(key: Option<Arc<KeyRing>>) -> Self {
        Self {
            key,
            parsed: None,
            changes: Vec::new(),
            private_accessed: false,
            private_set: false,
        }
    }

    pub(crate) fn set_key(&mut self, key: Arc<KeyRing>) {
        self.key = Some(key);
    }

    fn parsed(&mut self, raw: &RawCookies) -> &[(String, String)] {
        self.parsed.get_or_insert_with(|| {
            let mut pairs = Vec::new();
            for value in raw.iter() {
                parse_cookie_header(value.as_bytes(), &mut pairs);
            }
            pairs
        })
    }

    fn latest_change(&self, name: &str) -> Option<&Change> {
        self.changes
            .iter()
            .rev()
            .find(|change| change.cookie.name() == name)
    }

    fn push_change(&mut self, cookie: Cookie<'static>, removal: bool) {
        // Removing and pushing, rather than replacing in place, keeps the
        // newest change last, which is what `get` relies on.
        self.changes
            .retain(|change| !same_cookie(&change.cookie, &cookie));
        self.changes.push(Change { cookie, removal });
    }

    /// Whether the response has anything of the jar's to write.
    pub(crate) fn has_changes(&self) -> bool {
        !self.changes.is_empty() || self.private_accessed
    }
}

/// Whether two cookies name the same browser cookie, which a browser keys by
/// name, path and domain.
fn same_cookie(a: &Cookie<'_>, b: &Cookie<'_>) -> bool {
    let domain_eq = match (a.domain(), b.domain()) {
        (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
        (None, None) => true,
        _ => false,
    };
    a.name() == b.name() && a.path() == b.path() && domain_eq
}

impl Cookies {
    /// The jar of `request`, for plain tower or hyper services (axum
    /// handlers take `Cookies` as an extractor instead). The same as
    /// [`Cookies::from_extensions`] on the request's extensions.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::convert::Infallible;
    /// # use http::{Request, Response};
    /// use tower::{service_fn, Layer, ServiceExt};
    /// use tower_cookie_sessions::{CookieLayer, Cookies};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let service = CookieLayer::new().layer(service_fn(|request: Request<String>| async move {
    ///     let cookies = Cookies::from_request(&request).expect("CookieLayer is added");
    ///     let theme = cookies.get("theme").map(|c| c.value().to_owned());
    ///     Ok::<_, Infallible>(Response::new(theme.unwrap_or_default()))
    /// }));
    ///
    /// let request = Request::builder().header("cookie", "theme=dark").body(String::new())?;
    /// assert_eq!(service.oneshot(request).await?.body(), "dark");
    ///
    /// // A request no layer has seen has no jar.
    /// assert!(Cookies::from_request(&Request::new(())).is_none());
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn from_request<B>(request: &Request<B>) -> Option<Cookies> {
        Self::from_extensions(request.extensions())
    }

    /// The jar a layer put into these request extensions (a request's, or
    /// axum's `Parts`); `None` if no [`CookieLayer`](crate::CookieLayer) or
    /// session layer has seen the request.
    ///
    /// The jar travels with the request: it is found in any task that
    /// holds the request, behind `tower::buffer::Buffer`, or in middleware
    /// that runs the rest of the stack in a task of its own. A new request
    /// a handler builds (an in-process sub-request) has none of its own
    /// until a layer sees it, and then gets its own jar; one built with a
    /// copy of this request's extensions joins this request's jar instead,
    /// and its cookie changes go out with this request's response.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::convert::Infallible;
    /// # use http::{Request, Response};
    /// use tower::{service_fn, Layer, ServiceExt};
    /// use tower_cookie_sessions::{Cookie, CookieLayer, Cookies};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let service = CookieLayer::new().layer(service_fn(|request: Request<String>| async move {
    ///     let cookies = Cookies::from_extensions(request.extensions()).expect("layer");
    ///     // The jar is found in a task of its own too.
    ///     tokio::spawn(async move { cookies.add(Cookie::new("seen", "1")) }).await.ok();
    ///     Ok::<_, Infallible>(Response::new(String::new()))
    /// }));
    ///
    /// let response = service.oneshot(Request::new(String::new())).await?;
    /// assert_eq!(response.headers()["set-cookie"], "seen=1");
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn from_extensions(extensions: &Extensions) -> Option<Cookies> {
        extensions.get::<Cookies>().cloned()
    }

    /// The public face of `state`, as the outermost layer puts it into the
    /// request's extensions.
    pub(crate) fn over(state: Arc<RequestState>) -> Cookies {
        Cookies { state }
    }

    /// A jar over the request's `Cookie` fields; nothing is parsed yet.
    #[cfg(test)]
    pub(crate) fn new(headers: &HeaderMap, key: Option<Arc<KeyRing>>) -> Cookies {
        Self::over(RequestState::new(headers, key, None))
    }

    /// The request's whole state, for the layers that keep something in it.
    pub(crate) fn request(&self) -> &RequestState {
        &self.state
    }

    fn lock(&self) -> MutexGuard<'_, Locked> {
        self.state.lock()
    }

    /// The cookie called `name`: the one set in this request if the handler
    /// changed it, else the first one the request sent with that name.
    ///
    /// Returns `None` if there is no such cookie or it was removed in this
    /// request. A cookie added in this request is returned with the
    /// attributes it was added with; a request cookie has only a name and a
    /// (percent-decoded) value, since browsers send nothing else.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::convert::Infallible;
    /// # use http::{Request, Response};
    /// # use tower::{service_fn, Layer, ServiceExt};
    /// # use tower_cookie_sessions::{Cookie, CookieLayer, Cookies};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let service = CookieLayer::new().layer(service_fn(|request: Request<String>| async move {
    /// # let cookies = Cookies::from_request(&request).expect("layer");
    /// // The request sent `Cookie: theme=dark`.
    /// assert_eq!(cookies.get("theme").map(|c| c.value().to_owned()), Some("dark".into()));
    /// assert!(cookies.get("missing").is_none());
    ///
    /// cookies.add(Cookie::new("theme", "light")).expect("a valid cookie");
    /// assert_eq!(cookies.get("theme").map(|c| c.value().to_owned()), Some("light".into()));
    /// # Ok::<_, Infallible>(Response::new(String::new()))
    /// # }));
    /// # let request = Request::builder().header("cookie", "theme=dark").body(String::new())?;
    /// # service.oneshot(request).await?;
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn get(&self, name: &str) -> Option<Cookie<'static>> {
        let mut locked = self.lock();
        let state = &mut locked.jar;
        if let Some(change) = state.latest_change(name) {
            return (!change.removal).then(|| change.cookie.clone());
        }
        state
            .parsed(self.state.raw())
            .iter()
            .find(|(n, _)| n == name)
            .map(|(n, v)| Cookie::new(n.clone(), v.clone()))
    }

    /// Sets a cookie on the response, with every attribute it carries:
    /// `Max-Age`, `Expires`, `Domain`, `Path`, `Secure`, `HttpOnly`,
    /// `SameSite` (and `Partitioned`).
    ///
    /// A later [`add`](Cookies::add) or [`remove`](Cookies::remove) of the
    /// same name, path and domain replaces this one; cookies that differ in
    /// path or domain are distinct cookies to a browser and are all sent.
    ///
    /// The name is sent exactly as it is and compared exactly as the
    /// browser sends it back, so it must be an RFC 6265 token (letters,
    /// digits and ``!#$%&'*+-.^_`|~``). The value is percent-encoded on the
    /// wire and decoded again when the browser sends it back, so any text
    /// round-trips.
    ///
    /// # Errors
    ///
    /// Nothing is changed, and the error says why, when the cookie could not
    /// be sent as it is: [`CookieError::InvalidName`] for a name that is not
    /// a token, [`CookieError::InvalidAttribute`] for a `Path` or `Domain`
    /// that cannot appear in a `Set-Cookie` header (containing `;`, a
    /// control character or non-ASCII text) or an `Expires` that cannot be
    /// written as an HTTP date.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::convert::Infallible;
    /// # use http::{Request, Response};
    /// # use tower::{service_fn, Layer, ServiceExt};
    /// use cookie::time::Duration;
    /// use tower_cookie_sessions::{Cookie, CookieError, CookieLayer, Cookies, SameSite};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let service = CookieLayer::new().layer(service_fn(|request: Request<String>| async move {
    ///     let cookies = Cookies::from_request(&request).expect("layer");
    ///     cookies.add(
    ///         Cookie::build(("lang", "fr"))
    ///             .path("/")
    ///             .max_age(Duration::days(365))
    ///             .same_site(SameSite::Lax)
    ///             .http_only(true)
    ///             .build(),
    ///     )?;
    ///     // Names are sent as they are: one that is not a token is refused.
    ///     assert!(cookies.add(Cookie::new("my lang", "fr")).is_err());
    ///     Ok::<_, CookieError>(Response::new(String::new()))
    /// }));
    ///
    /// let response = service.oneshot(Request::new(String::new())).await?;
    /// assert_eq!(
    ///     response.headers()["set-cookie"],
    ///     "lang=fr; HttpOnly; SameSite=Lax; Path=/; Max-Age=31536000"
    /// );
    /// # Ok(())
    /// # }
    /// ```
    pub fn add(&self, cookie: Cookie<'static>) -> Result<(), CookieError> {
        check_writable(&cookie)?;
        self.lock().jar.push_change(cookie, false);
        Ok(())
    }

    /// Deletes a cookie from the browser: sends a cookie with the same name,
    /// `Path` and `Domain`, an empty value, `Max-Age=0` and an `Expires` in
    /// the past.
    ///
    /// A browser only deletes the cookie whose path and domain match, so
    /// pass the same `Path` and `Domain` the cookie was set with. After
    /// this, [`get`](Cookies::get) returns `None` for that name. Other
    /// attributes (`Secure`, `SameSite`) are kept, which some browsers need
    /// to accept the removal (for `__Secure-` names, say).
    ///
    /// # Errors
    ///
    /// As [`add`](Cookies::add): a name that is not a token, or an
    /// attribute that cannot be sent, changes nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// # use http::{Request, Response};
    /// # use tower::{service_fn, Layer, ServiceExt};
    /// use tower_cookie_sessions::{Cookie, CookieError, CookieLayer, Cookies};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let service = CookieLayer::new().layer(service_fn(|request: Request<String>| async move {
    ///     let cookies = Cookies::from_request(&request).expect("layer");
    ///     cookies.remove(Cookie::build("token").path("/api").build())?;
    ///     assert!(cookies.get("token").is_none());
    ///     Ok::<_, CookieError>(Response::new(String::new()))
    /// }));
    ///
    /// let request = Request::builder().header("cookie", "token=abc").body(String::new())?;
    /// let response = service.oneshot(request).await?;
    /// let set_cookie = response.headers()["set-cookie"].to_str()?;
    /// assert!(set_cookie.starts_with("token=; Path=/api; Max-Age=0; Expires="));
    /// # Ok(())
    /// # }
    /// ```
    pub fn remove(&self, cookie: Cookie<'static>) -> Result<(), CookieError> {
        let mut cookie = cookie;
        cookie.make_removal();
        check_writable(&cookie)?;
        self.lock().jar.push_change(cookie, true);
        Ok(())
    }

    /// Every cookie the handler sees: the request's cookies (in request
    /// order, duplicates kept) except those whose name was changed in this
    /// request, followed by the cookies added in this request.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::convert::Infallible;
    /// # use http::{Request, Response};
    /// # use tower::{service_fn, Layer, ServiceExt};
    /// # use tower_cookie_sessions::{Cookie, CookieLayer, Cookies};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let service = CookieLayer::new().layer(service_fn(|request: Request<String>| async move {
    /// # let cookies = Cookies::from_request(&request).expect("layer");
    /// // The request sent `Cookie: a=1; b=2`.
    /// cookies.remove(Cookie::new("a", "")).expect("a valid cookie");
    /// cookies.add(Cookie::new("c", "3")).expect("a valid cookie");
    /// let names: Vec<String> = cookies.list().iter().map(|c| c.name().to_owned()).collect();
    /// assert_eq!(names, ["b", "c"]);
    /// # Ok::<_, Infallible>(Response::new(String::new()))
    /// # }));
    /// # let request = Request::builder().header("cookie", "a=1; b=2").body(String::new())?;
    /// # service.oneshot(request).await?;
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn list(&self) -> Vec<Cookie<'static>> {
        let mut locked = self.lock();
        let state = &mut locked.jar;
        let changed: HashSet<String> = state
            .changes
            .iter()
            .map(|change| change.cookie.name().to_owned())
            .collect();
        let mut cookies: Vec<Cookie<'static>> = state
            .parsed(self.state.raw())
            .iter()
            .filter(|(name, _)| !changed.contains(name))
            .map(|(name, value)| Cookie::new(name.clone(), value.clone()))
            .collect();
        cookies.extend(
            state
                .changes
                .iter()
                .filter(|change| !change.removal)
                .map(|change| change.cookie.clone()),
        );
        cookies
    }

    /// The private cookies of this jar: each value sealed on its own with
    /// the layer's key, so the browser can neither read nor alter it.
    ///
    /// # Errors
    ///
    /// [`CookieError::NoKey`] if the layer was built without a key.
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
    ///     let private = cookies.private()?;
    ///     private.add(Cookie::new("user_id", "42"))?;
    ///     Ok::<_, CookieError>(Response::new(String::new()))
    /// }));
    ///
    /// let response = service.oneshot(Request::new(String::new())).await?;
    /// let set_cookie = response.headers()["set-cookie"].to_str()?;
    /// assert!(set_cookie.starts_with("user_id="));
    /// assert!(!set_cookie.contains("42"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn private(&self) -> Result<PrivateCookies, CookieError> {
        let ring = self.lock().jar.key.clone().ok_or(CookieError::NoKey)?;
        Ok(PrivateCookies::new(self.clone(), ring))
    }

    /// The latest change to the cookie called `name`: `None` if there is
    /// none, `Some(None)` if it was a removal.
    pub(super) fn change(&self, name: &str) -> Option<Option<Cookie<'static>>> {
        self.lock()
            .jar
            .latest_change(name)
            .map(|change| (!change.removal).then(|| change.cookie.clone()))
    }

    /// Writes what the jar did to the response: one `Set-Cookie` per
    /// change, oldest first, `Vary: Cookie` if a private cookie was used,
    /// and `Cache-Control: private` if one is set (a shared cache must
    /// not hand one visitor's sealed cookie to another). The changes are
    /// forgotten, so a second call writes no `Set-Cookie`. A jar nothing
    /// used leaves the headers as they are.
    pub(crate) fn write_to(&self, headers: &mut HeaderMap) {
        let (changes, private_accessed, private_set) = {
            let mut locked = self.lock();
            let state = &mut locked.jar;
            let changes = std::mem::take(&mut state.changes);
            let private_set = std::mem::take(&mut state.private_set) && !changes.is_empty();
            (changes, state.private_accessed, private_set)
        };
        for change in changes {
            match set_cookie_value(&change.cookie) {
                Ok(value) => {
                    headers.append(SET_COOKIE, value);
                }
                Err(reason) => {
                    tracing::error!(
                        cookie.name = change.cookie.name(),
                        reason,
                        "cookie left out of the response: it cannot be written as a Set-Cookie header"
                    );
                }
            }
        }
        if private_accessed {
            add_vary_cookie(headers);
        }
        if private_set {
            make_private(headers);
        }
    }

    /// Forgets the jar's cookie changes: the response they were made for
    /// is being replaced by an error response, which must not carry them.
    pub(crate) fn discard_changes(&self) {
        let state = &mut self.lock().jar;
        state.changes.clear();
        state.private_set = false;
    }

    pub(super) fn mark_private_accessed(&self) {
        self.lock().jar.private_accessed = true;
    }

    pub(super) fn mark_private_set(&self) {
        let state = &mut self.lock().jar;
        state.private_accessed = true;
        state.private_set = true;
    }
}

/// Refuses what cannot be written as a `Set-Cookie` line that a browser
/// keeps under this name: a name that is not a token (it is written as it
/// is, so that it compares as it is), a `Path` or `Domain` that would end
/// the attribute or is not ASCII, and an `Expires` out of range.
pub(crate) fn check_writable(cookie: &Cookie<'_>) -> Result<(), CookieError> {
    let name = cookie.name();
    if !is_token(name) {
        return Err(CookieError::InvalidName(name.to_owned()));
    }
    let invalid = |attribute| CookieError::InvalidAttribute {
        name: name.to_owned(),
        attribute,
    };
    if !cookie.path().is_none_or(is_attribute_value) {
        return Err(invalid("Path"));
    }
    if !cookie.domain().is_none_or(is_attribute_value) {
        return Err(invalid("Domain"));
    }
    // `cookie` converts Expires to UTC with a conversion that panics out of
    // range, and cannot print a year past 9999.
    if let Some(expires) = cookie.expires_datetime() {
        let year = expires
            .checked_to_offset(UtcOffset::UTC)
            .map(|utc| utc.year());
        if !year.is_some_and(|year| (0..=9999).contains(&year)) {
            return Err(invalid("Expires"));
        }
    }
    Ok(())
}

/// What is percent-encoded in a value: what the `Cookie` header cannot
/// carry or would split on, and `%` itself. The same set as the `cookie`
/// crate's, so values written before read back alike.
const VALUE_ENCODE_SET: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'<')
    .add(b'>')
    .add(b'`')
    .add(b'#')
    .add(b'?')
    .add(b'{')
    .add(b'}')
    .add(b'/')
    .add(b':')
    .add(b';')
    .add(b'=')
    .add(b'@')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'|')
    .add(b'%')
    .add(b'(')
    .add(b')')
    .add(b',');

/// Formats a change as a `Set-Cookie` value: the name as it is (a token,
/// checked when the change was made), the value percent-encoded, then the
/// attributes.
fn set_cookie_value(cookie: &Cookie<'_>) -> Result<HeaderValue, &'static str> {
    let (name, value) = (cookie.name(), cookie.value());
    // `Cookie`'s own `Display` writes `name=value` and then the
    // attributes; only the attributes are kept from it. Writing into a
    // String instead of `to_string()`, which panics when a `Display`
    // fails.
    let mut plain = String::new();
    write!(plain, "{cookie}").map_err(|_| "Expires cannot be formatted")?;
    let attributes = plain
        .get(name.len() + 1 + value.len()..)
        .ok_or("cannot be formatted")?;
    let mut text = String::with_capacity(plain.len());
    write!(
        text,
        "{name}={}{attributes}",
        utf8_percent_encode(value, VALUE_ENCODE_SET)
    )
    .map_err(|_| "cannot be formatted")?;
    HeaderValue::try_from(text).map_err(|_| "not a valid header value")
}

impl fmt::Debug for Cookies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Names only: values may be secrets or sealed private cookies.
        let locked = self.lock();
        let state = &locked.jar;
        let mut debug = f.debug_struct("Cookies");
        match &state.parsed {
            Some(pairs) => debug.field(
                "request",
                &pairs.iter().map(|(name, _)| name).collect::<Vec<_>>(),
            ),
            None => debug.field("request", &format_args!("<not parsed>")),
        };
        let changes: Vec<&str> = state.changes.iter().map(|c| c.cookie.name()).collect();
        debug
            .field("changes", &changes)
            .field("private_accessed", &state.private_accessed)
            .field("key", &state.key)
            .field("owners", &locked.owners.len())
            .finish()
    }
}

#[cfg(test)]
mod tests;
