//! `TestClient`: a service with a browser's cookie store in front, so a
//! test sends requests one after another as a visitor would.

use std::fmt;
use std::future::poll_fn;
use std::sync::Arc;
use std::time::SystemTime;

use http::header::{COOKIE, HOST, SET_COOKIE};
use http::{HeaderValue, Request, Response, Uri};
use tower_service::Service;

use crate::clock::{Clock, SystemClock};
use crate::session::SessionLayer;
use crate::testing::cookie_line::{self, Line};

/// Wraps a service and keeps the cookies its responses set, sending them
/// back on later requests as a browser does (RFC 6265): by name, `Domain`
/// and `Path`; `Secure` ones only over a secure request; gone after
/// `Max-Age=0`, or once their `Max-Age` or `Expires` has passed on the
/// client's clock (give it the layer's with
/// [`clock_of`](TestClient::clock_of)). A request URI without a scheme
/// (`/path`, as tests usually write) counts as secure, and its host is the
/// `Host` header's, else `localhost`. `__Host-` and `__Secure-` cookies
/// that break their prefix's rules are refused, as browsers refuse them.
/// A session split across several cookies comes and goes like any other.
/// Feature `test-util`.
///
/// # Examples
///
/// ```
/// use axum::{body::Body, routing::get, Router};
/// use tower_cookie_sessions::testing::TestClient;
/// use tower_cookie_sessions::{Key, Session, SessionLayer};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let app = Router::new()
///     .route("/", get(|session: Session<u64>| async move {
///         session.update(|n| { *n += 1; *n }).to_string()
///     }))
///     .layer(SessionLayer::<u64>::new(Key::generate())?);
///
/// let mut client = TestClient::new(app);
/// for expected in ["1", "2", "3"] {
///     let response = client.send(http::Request::get("/").body(Body::empty())?).await?;
///     let body = axum::body::to_bytes(response.into_body(), 64).await?;
///     assert_eq!(&body[..], expected.as_bytes());
/// }
/// assert!(client.cookie("id").is_some());
/// # Ok(())
/// # }
/// ```
pub struct TestClient<S> {
    service: S,
    clock: Arc<dyn Clock>,
    cookies: Vec<Stored>,
    /// Creation order, for sending equal paths oldest first.
    created: u64,
}

/// A cookie the client keeps.
#[derive(Debug, Clone)]
struct Stored {
    name: String,
    value: String,
    /// Lower case, without a leading dot.
    domain: String,
    /// Only for exactly `domain`, not its subdomains: no `Domain` was
    /// given.
    host_only: bool,
    path: String,
    secure: bool,
    expires: Option<SystemTime>,
    created: u64,
}

/// Where a request goes, as the cookie rules need it.
struct Target {
    host: String,
    path: String,
    secure: bool,
}

impl<S> TestClient<S> {
    /// A client with no cookies yet, on the system clock.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower::service_fn;
    /// use tower_cookie_sessions::testing::TestClient;
    ///
    /// let client = TestClient::new(service_fn(|_: http::Request<String>| async {
    ///     Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
    /// }));
    /// assert!(client.cookie_names().is_empty());
    /// ```
    pub fn new(service: S) -> Self {
        Self {
            service,
            clock: Arc::new(SystemClock),
            cookies: Vec::new(),
            created: 0,
        }
    }

    /// Judges `Max-Age` and `Expires` by `clock`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use tower::service_fn;
    /// use tower_cookie_sessions::testing::TestClient;
    ///
    /// let client = TestClient::new(service_fn(|_: http::Request<String>| async {
    ///     Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
    /// }))
    /// .clock(|| UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    /// # let _ = client;
    /// ```
    #[must_use]
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Judges `Max-Age` and `Expires` by `layer`'s clock, so a test that
    /// moves the layer's time moves the browser's too.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower::service_fn;
    /// use tower_cookie_sessions::testing::TestClient;
    /// use tower_cookie_sessions::{Key, SessionLayer};
    ///
    /// # fn main() -> Result<(), tower_cookie_sessions::ConfigError> {
    /// let layer = SessionLayer::<u64>::new(Key::generate())?;
    /// let client = TestClient::new(service_fn(|_: http::Request<String>| async {
    ///     Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
    /// }))
    /// .clock_of(&layer);
    /// # let _ = client;
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn clock_of<T, B>(mut self, layer: &SessionLayer<T, B>) -> Self {
        self.clock = Arc::clone(layer.clock());
        self
    }

    /// Sends `request` with the cookies that go to its URI (added to any
    /// `Cookie` header it has), and keeps what the response sets.
    ///
    /// # Errors
    ///
    /// The service's own error; the client keeps nothing from it.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower::service_fn;
    /// use tower_cookie_sessions::testing::TestClient;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut client = TestClient::new(service_fn(|request: http::Request<String>| async move {
    ///     let sent = request.headers().get("cookie").cloned();
    ///     let mut response = http::Response::new(format!("{sent:?}"));
    ///     response.headers_mut().insert("set-cookie", "theme=dark; Path=/".parse().unwrap());
    ///     Ok::<_, std::convert::Infallible>(response)
    /// }));
    /// client.send(http::Request::get("/").body(String::new())?).await?;
    /// let second = client.send(http::Request::get("/page").body(String::new())?).await?;
    /// assert_eq!(second.body(), "Some(\"theme=dark\")");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn send<RB, ResB>(
        &mut self,
        mut request: Request<RB>,
    ) -> Result<Response<ResB>, S::Error>
    where
        S: Service<Request<RB>, Response = Response<ResB>>,
    {
        let target = target(&request);
        let now = self.clock.now();
        if let Some(cookies) = self.header_for(&target, now) {
            let merged = match request.headers().get(COOKIE) {
                Some(existing) => {
                    let mut bytes = existing.as_bytes().to_vec();
                    bytes.extend_from_slice(b"; ");
                    bytes.extend_from_slice(cookies.as_bytes());
                    HeaderValue::from_bytes(&bytes).unwrap_or(cookies)
                }
                None => cookies,
            };
            request.headers_mut().insert(COOKIE, merged);
        }
        poll_fn(|cx| self.service.poll_ready(cx)).await?;
        let response = self.service.call(request).await?;
        let now = self.clock.now();
        for line in response.headers().get_all(SET_COOKIE) {
            if let Some(line) = line.to_str().ok().and_then(cookie_line::parse) {
                self.keep(line, &target, now);
            }
        }
        Ok(response)
    }

    /// The value of the live cookie called `name` (the first kept, when
    /// several domains or paths hold one).
    ///
    /// # Examples
    ///
    /// ```
    /// # use tower::service_fn;
    /// # use tower_cookie_sessions::testing::TestClient;
    /// # let client = TestClient::new(service_fn(|_: http::Request<String>| async {
    /// #     Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
    /// # }));
    /// assert_eq!(client.cookie("id"), None);
    /// ```
    #[must_use]
    pub fn cookie(&self, name: &str) -> Option<String> {
        let now = self.clock.now();
        self.cookies
            .iter()
            .find(|cookie| cookie.name == name && cookie.is_live(now))
            .map(|cookie| cookie.value.clone())
    }

    /// The names of the live cookies, sorted.
    ///
    /// # Examples
    ///
    /// ```
    /// # use tower::service_fn;
    /// # use tower_cookie_sessions::testing::TestClient;
    /// # let client = TestClient::new(service_fn(|_: http::Request<String>| async {
    /// #     Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
    /// # }));
    /// assert!(client.cookie_names().is_empty());
    /// ```
    #[must_use]
    pub fn cookie_names(&self) -> Vec<String> {
        let now = self.clock.now();
        let mut names: Vec<String> = self
            .cookies
            .iter()
            .filter(|cookie| cookie.is_live(now))
            .map(|cookie| cookie.name.clone())
            .collect();
        names.sort();
        names
    }

    /// The `Cookie` header the client would send to `uri` now.
    ///
    /// # Examples
    ///
    /// ```
    /// # use tower::service_fn;
    /// # use tower_cookie_sessions::testing::TestClient;
    /// # let client = TestClient::new(service_fn(|_: http::Request<String>| async {
    /// #     Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
    /// # }));
    /// assert_eq!(client.cookie_header("https://example.com/".parse().unwrap()), None);
    /// ```
    #[must_use]
    pub fn cookie_header(&self, uri: Uri) -> Option<HeaderValue> {
        let request = Request::builder().uri(uri).body(()).ok()?;
        self.header_for(&target(&request), self.clock.now())
    }

    /// Keeps `set_cookie` (a `Set-Cookie` value) as if a response from
    /// `uri` had sent it, by the same rules: a cookie the page's own script
    /// sets, or one an earlier visit left behind. A line that removes a
    /// cookie removes it; one a browser would refuse is ignored.
    ///
    /// # Examples
    ///
    /// ```
    /// # use tower::service_fn;
    /// # use tower_cookie_sessions::testing::TestClient;
    /// # let mut client = TestClient::new(service_fn(|_: http::Request<String>| async {
    /// #     Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
    /// # }));
    /// client.add_cookie("consent=yes; Path=/", "/".parse().unwrap());
    /// assert_eq!(client.cookie("consent").as_deref(), Some("yes"));
    /// client.add_cookie("consent=; Max-Age=0; Path=/", "/".parse().unwrap());
    /// assert_eq!(client.cookie("consent"), None);
    /// ```
    pub fn add_cookie(&mut self, set_cookie: &str, uri: Uri) {
        let (Ok(request), Some(line)) = (
            Request::builder().uri(uri).body(()),
            cookie_line::parse(set_cookie),
        ) else {
            return;
        };
        self.keep(line, &target(&request), self.clock.now());
    }

    /// Forgets every cookie, as a new browser profile.
    ///
    /// # Examples
    ///
    /// ```
    /// # use tower::service_fn;
    /// # use tower_cookie_sessions::testing::TestClient;
    /// # let mut client = TestClient::new(service_fn(|_: http::Request<String>| async {
    /// #     Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
    /// # }));
    /// client.clear();
    /// assert!(client.cookie_names().is_empty());
    /// ```
    pub fn clear(&mut self) {
        self.cookies.clear();
    }

    /// The service, to send a request past the cookie store.
    ///
    /// # Examples
    ///
    /// ```
    /// # use tower::service_fn;
    /// # use tower_cookie_sessions::testing::TestClient;
    /// # let mut client = TestClient::new(service_fn(|_: http::Request<String>| async {
    /// #     Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
    /// # }));
    /// let _service = client.service_mut();
    /// ```
    pub fn service_mut(&mut self) -> &mut S {
        &mut self.service
    }

    /// The request's cookies, most specific path first, then oldest first.
    fn header_for(&self, target: &Target, now: SystemTime) -> Option<HeaderValue> {
        let mut sent: Vec<&Stored> = self
            .cookies
            .iter()
            .filter(|cookie| cookie.is_live(now) && cookie.goes_to(target))
            .collect();
        if sent.is_empty() {
            return None;
        }
        sent.sort_by(|a, b| {
            b.path
                .len()
                .cmp(&a.path.len())
                .then(a.created.cmp(&b.created))
        });
        let pairs: Vec<String> = sent
            .iter()
            .map(|cookie| format!("{}={}", cookie.name, cookie.value))
            .collect();
        HeaderValue::try_from(pairs.join("; ")).ok()
    }

    /// Stores, replaces or removes what `line` says, if a browser would
    /// accept it from `target`.
    fn keep(&mut self, line: Line, target: &Target, now: SystemTime) {
        if line.secure && !target.secure {
            return;
        }
        let (domain, host_only) = match &line.domain {
            Some(domain) => {
                let domain = domain.trim_start_matches('.').to_owned();
                if !domain_matches(&target.host, &domain) {
                    return;
                }
                (domain, false)
            }
            None => (target.host.clone(), true),
        };
        let path = match &line.path {
            Some(path) if path.starts_with('/') => path.clone(),
            _ => default_path(&target.path),
        };
        if !prefix_allows(&line, host_only, &path) {
            return;
        }
        let expires = line.expires_at(now);
        let position = self
            .cookies
            .iter()
            .position(|c| c.name == line.name && c.domain == domain && c.path == path);
        let created = match position {
            Some(at) => self.cookies.remove(at).created,
            None => {
                self.created += 1;
                self.created
            }
        };
        if line.removes_at(now) {
            return;
        }
        self.cookies.push(Stored {
            name: line.name,
            value: line.value,
            domain,
            host_only,
            path,
            secure: line.secure,
            expires,
            created,
        });
    }
}

impl Stored {
    fn is_live(&self, now: SystemTime) -> bool {
        self.expires.is_none_or(|at| at > now)
    }

    fn goes_to(&self, target: &Target) -> bool {
        let domain_ok = if self.host_only {
            target.host == self.domain
        } else {
            domain_matches(&target.host, &self.domain)
        };
        domain_ok && path_matches(&target.path, &self.path) && (!self.secure || target.secure)
    }
}

fn target<B>(request: &Request<B>) -> Target {
    let uri = request.uri();
    let host = uri
        .host()
        .map(str::to_owned)
        .or_else(|| {
            let host = request.headers().get(HOST)?.to_str().ok()?;
            Some(host.split(':').next().unwrap_or(host).to_owned())
        })
        .unwrap_or_else(|| "localhost".to_owned())
        .to_ascii_lowercase();
    let secure = match uri.scheme_str() {
        None => true,
        Some(scheme) => scheme.eq_ignore_ascii_case("https") || scheme.eq_ignore_ascii_case("wss"),
    };
    let path = match uri.path() {
        "" => "/".to_owned(),
        path => path.to_owned(),
    };
    Target { host, path, secure }
}

/// RFC 6265 §5.1.3.
fn domain_matches(host: &str, domain: &str) -> bool {
    host == domain
        || host
            .strip_suffix(domain)
            .is_some_and(|rest| rest.ends_with('.'))
}

/// RFC 6265 §5.1.4.
fn path_matches(request_path: &str, cookie_path: &str) -> bool {
    request_path == cookie_path
        || request_path
            .strip_prefix(cookie_path)
            .is_some_and(|rest| cookie_path.ends_with('/') || rest.starts_with('/'))
}

/// RFC 6265 §5.1.4: the request path up to its last `/`.
fn default_path(request_path: &str) -> String {
    match request_path.rfind('/') {
        Some(0) | None => "/".to_owned(),
        Some(end) => request_path[..end].to_owned(),
    }
}

/// The `__Secure-` and `__Host-` rules browsers apply to a cookie's name.
fn prefix_allows(line: &Line, host_only: bool, path: &str) -> bool {
    if line.name.starts_with("__Host-") {
        return line.secure && host_only && path == "/";
    }
    !line.name.starts_with("__Secure-") || line.secure
}

impl<S> fmt::Debug for TestClient<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestClient")
            .field("cookies", &self.cookie_names())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_domains_match_as_rfc_6265_says() {
        assert!(path_matches("/", "/"));
        assert!(path_matches("/app/x", "/app"));
        assert!(path_matches("/app/", "/app/"));
        assert!(!path_matches("/application", "/app"));
        assert!(!path_matches("/", "/app"));
        assert_eq!(default_path("/a/b/c"), "/a/b");
        assert_eq!(default_path("/a"), "/");
        assert_eq!(default_path("x"), "/");
        assert!(domain_matches("example.com", "example.com"));
        assert!(domain_matches("www.example.com", "example.com"));
        assert!(!domain_matches("badexample.com", "example.com"));
        assert!(!domain_matches("example.com", "www.example.com"));
    }
}
