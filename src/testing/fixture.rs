//! Requests that start with a session, and what a response did to it,
//! minted and read through the layer itself.
//!
//! Both run the layer around a service of their own, so a cookie is sealed
//! exactly as the layer seals it (its keys, name, codec, chunks, store
//! record) and read exactly as it reads it: nothing here knows the cookie
//! format.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::SystemTime;

use http::header::{COOKIE, SET_COOKIE};
use http::{HeaderValue, Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use crate::flash::{Flash, FlashMessage};
use crate::session::{Session, SessionData, SessionLayer};
use crate::testing::cookie_line::{self, Line};
use crate::testing::TestError;

/// A request to be, carrying a session (and flash messages) that a layer
/// sealed: see [`SessionLayer::test_request`].
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::flash::{FlashMessage, Level};
/// use tower_cookie_sessions::{Key, SessionLayer};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let layer = SessionLayer::<u64>::new(Key::generate())?;
/// let request = layer
///     .test_request()
///     .session(41)
///     .flash(FlashMessage::new(Level::Info, "hello"))
///     .into_request(http::Request::get("/").body(String::new())?)
///     .await?;
/// assert!(request.headers()["cookie"].to_str()?.starts_with("id="));
/// # Ok(())
/// # }
/// ```
#[must_use = "a test request does nothing until it is made into a request"]
pub struct TestRequest<'l, T, B> {
    layer: &'l SessionLayer<T, B>,
    data: Option<T>,
    owner: Option<String>,
    flash: Vec<FlashMessage>,
}

impl<T: SessionData, B> SessionLayer<T, B> {
    /// Starts a request that carries a session of this layer, sealed by
    /// the layer as a handler's change would be (for a store layer, its
    /// record is created in the store). Feature `test-util`.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::{Key, SessionLayer};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let layer = SessionLayer::<String>::new(Key::generate())?;
    /// let cookie = layer.test_request().session("alice".to_owned()).cookie_header().await?;
    /// assert!(cookie.is_some());
    /// # Ok(())
    /// # }
    /// ```
    pub fn test_request(&self) -> TestRequest<'_, T, B> {
        TestRequest {
            layer: self,
            data: None,
            owner: None,
            flash: Vec::new(),
        }
    }

    /// What `response` (from a service behind this layer) set: the
    /// session it carries, the flash messages it leaves, and the cookies
    /// it removes. The session and the messages are read by this layer,
    /// from the cookies the response sets (a store session from the
    /// store), so a response that leaves the session unchanged, and sets no
    /// cookie for it, reads as no session. Feature `test-util`.
    ///
    /// # Errors
    ///
    /// [`TestError`] when the layer cannot read the session (a store that
    /// fails).
    ///
    /// # Examples
    ///
    /// ```
    /// use http::{Request, Response};
    /// use tower::{service_fn, Layer, ServiceExt};
    /// use tower_cookie_sessions::{Key, Session, SessionLayer};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let layer = SessionLayer::<u64>::new(Key::generate())?;
    /// let service = layer.layer(service_fn(|request: Request<String>| async move {
    ///     Session::<u64>::load(&request).await?.set(7);
    ///     Ok::<_, tower_cookie_sessions::SessionError>(Response::new(String::new()))
    /// }));
    /// let response = service.oneshot(Request::new(String::new())).await?;
    /// let seen = layer.test_response(&response).await?;
    /// assert_eq!(seen.session(), Some(&7));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn test_response<RB>(
        &self,
        response: &Response<RB>,
    ) -> Result<TestResponse<T>, TestError> {
        let (kept, removed) = set_cookies(response, self.clock().now());
        let mut request = Request::new(());
        if let Some(header) = cookie_header(&kept)? {
            request.headers_mut().insert(COOKIE, header);
        }
        let seen = Arc::new(Mutex::new(None));
        let reader = Reader {
            seen: Arc::clone(&seen),
        };
        run(self.layer(reader), request).await?;
        let (session, flash) = seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
            .ok_or_else(|| TestError::response("the layer did not reach its service"))?;
        Ok(TestResponse {
            session,
            flash,
            removed,
        })
    }
}

impl<T: SessionData, B> TestRequest<'_, T, B> {
    /// The session holds `data`.
    ///
    /// A session whose data is `T::default()` is as good as none to the
    /// layer, which then sends no cookie for it.
    ///
    /// # Examples
    ///
    /// ```
    /// # use tower_cookie_sessions::{Key, SessionLayer};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let layer = SessionLayer::<u64>::new(Key::generate())?;
    /// let request = layer.test_request().session(3);
    /// # let _ = request;
    /// # Ok(())
    /// # }
    /// ```
    pub fn session(mut self, data: T) -> Self {
        self.data = Some(data);
        self
    }

    /// The session belongs to `owner`, as
    /// [`Session::set_owner`] makes it.
    ///
    /// # Examples
    ///
    /// ```
    /// # use tower_cookie_sessions::{Key, MemoryStore, SessionLayer};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let layer = SessionLayer::<u64, _>::store_builder(Key::generate(), MemoryStore::new()).build()?;
    /// let request = layer.test_request().session(3).owner("alice");
    /// # let _ = request;
    /// # Ok(())
    /// # }
    /// ```
    pub fn owner(mut self, owner: impl Into<String>) -> Self {
        self.owner = Some(owner.into());
        self
    }

    /// The request carries `message` as the previous response's flash.
    ///
    /// # Examples
    ///
    /// ```
    /// # use tower_cookie_sessions::flash::{FlashMessage, Level};
    /// # use tower_cookie_sessions::{Key, SessionLayer};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let layer = SessionLayer::<u64>::new(Key::generate())?;
    /// let request = layer.test_request().flash(FlashMessage::new(Level::Success, "saved"));
    /// # let _ = request;
    /// # Ok(())
    /// # }
    /// ```
    pub fn flash(mut self, message: FlashMessage) -> Self {
        self.flash.push(message);
        self
    }

    /// The `Cookie` header that carries it all, or `None` when there is
    /// nothing to carry.
    ///
    /// # Errors
    ///
    /// [`TestError`] when the layer refuses to send it: a session too
    /// large, a store that fails, flash messages past one cookie.
    ///
    /// # Examples
    ///
    /// ```
    /// # use tower_cookie_sessions::{Key, SessionLayer};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let layer = SessionLayer::<u64>::new(Key::generate())?;
    /// assert!(layer.test_request().cookie_header().await?.is_none());
    /// assert!(layer.test_request().session(1).cookie_header().await?.is_some());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn cookie_header(self) -> Result<Option<HeaderValue>, TestError> {
        let minter = Minter {
            data: self.data,
            owner: self.owner,
            flash: self.flash,
        };
        let response = run(self.layer.layer(minter), Request::new(())).await?;
        if !response.status().is_success() {
            return Err(TestError::response(format!(
                "the layer answered {} instead of sending the session",
                response.status()
            )));
        }
        let (kept, _) = set_cookies(&response, self.layer.clock().now());
        cookie_header(&kept)
    }

    /// `request`, with the [`cookie_header`](TestRequest::cookie_header)
    /// added to its cookies.
    ///
    /// # Errors
    ///
    /// As [`cookie_header`](TestRequest::cookie_header).
    ///
    /// # Examples
    ///
    /// ```
    /// # use tower_cookie_sessions::{Key, SessionLayer};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let layer = SessionLayer::<u64>::new(Key::generate())?;
    /// let request = http::Request::get("/").header("cookie", "theme=dark").body(())?;
    /// let request = layer.test_request().session(5).into_request(request).await?;
    /// assert!(request.headers()["cookie"].to_str()?.starts_with("theme=dark; id="));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn into_request<RB>(
        self,
        mut request: Request<RB>,
    ) -> Result<Request<RB>, TestError> {
        let Some(cookie) = self.cookie_header().await? else {
            return Ok(request);
        };
        let merged = match request.headers().get(COOKIE) {
            Some(existing) => {
                let mut bytes = existing.as_bytes().to_vec();
                bytes.extend_from_slice(b"; ");
                bytes.extend_from_slice(cookie.as_bytes());
                HeaderValue::from_bytes(&bytes).map_err(TestError::response)?
            }
            None => cookie,
        };
        request.headers_mut().insert(COOKIE, merged);
        Ok(request)
    }
}

impl<T, B> std::fmt::Debug for TestRequest<'_, T, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The data may be anything the session holds: not for logs.
        f.debug_struct("TestRequest")
            .field("session", &self.data.is_some())
            .field("owner", &self.owner.is_some())
            .field("flash", &self.flash.len())
            .finish_non_exhaustive()
    }
}

/// What a response did to a layer's session and flash: see
/// [`SessionLayer::test_response`].
///
/// # Examples
///
/// ```
/// use http::Response;
/// use tower_cookie_sessions::{Key, SessionLayer};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let layer = SessionLayer::<u64>::new(Key::generate())?;
/// let seen = layer.test_response(&Response::new(())).await?;
/// assert!(seen.session().is_none() && seen.flash().is_empty() && seen.removed().is_empty());
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct TestResponse<T> {
    session: Option<T>,
    flash: Vec<FlashMessage>,
    removed: Vec<String>,
}

impl<T> TestResponse<T> {
    /// The session the response's cookies carry, if they carry one.
    ///
    /// # Examples
    ///
    /// ```
    /// # use tower_cookie_sessions::{Key, SessionLayer};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let layer = SessionLayer::<u64>::new(Key::generate())?;
    /// let seen = layer.test_response(&http::Response::new(())).await?;
    /// assert_eq!(seen.session(), None);
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn session(&self) -> Option<&T> {
        self.session.as_ref()
    }

    /// The session, owned.
    ///
    /// # Examples
    ///
    /// ```
    /// # use tower_cookie_sessions::{Key, SessionLayer};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let layer = SessionLayer::<u64>::new(Key::generate())?;
    /// let seen = layer.test_response(&http::Response::new(())).await?;
    /// assert_eq!(seen.into_session(), None);
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn into_session(self) -> Option<T> {
        self.session
    }

    /// The flash messages the response leaves for the next request.
    ///
    /// # Examples
    ///
    /// ```
    /// # use tower_cookie_sessions::{Key, SessionLayer};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let layer = SessionLayer::<u64>::new(Key::generate())?;
    /// let seen = layer.test_response(&http::Response::new(())).await?;
    /// assert!(seen.flash().is_empty());
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn flash(&self) -> &[FlashMessage] {
        &self.flash
    }

    /// The names of the cookies the response removes (`Max-Age=0`, or an
    /// `Expires` in the past), in the order it removes them.
    ///
    /// # Examples
    ///
    /// ```
    /// # use tower_cookie_sessions::{Key, SessionLayer};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let layer = SessionLayer::<u64>::new(Key::generate())?;
    /// let response = http::Response::builder()
    ///     .header("set-cookie", "id=; Path=/; Max-Age=0")
    ///     .body(())?;
    /// assert_eq!(layer.test_response(&response).await?.removed(), ["id"]);
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn removed(&self) -> &[String] {
        &self.removed
    }
}

/// The cookies `response` sets, as a browser would keep them at `now`,
/// and the names of those it removes.
fn set_cookies<B>(response: &Response<B>, now: SystemTime) -> (Vec<Line>, Vec<String>) {
    let (removed, kept): (Vec<Line>, Vec<Line>) = response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .filter_map(cookie_line::parse)
        .partition(|line| line.removes_at(now));
    (kept, removed.into_iter().map(|line| line.name).collect())
}

/// The `Cookie` header that sends `lines` back; `None` for no cookies.
fn cookie_header(lines: &[Line]) -> Result<Option<HeaderValue>, TestError> {
    if lines.is_empty() {
        return Ok(None);
    }
    let pairs: Vec<String> = lines
        .iter()
        .map(|line| format!("{}={}", line.name, line.value))
        .collect();
    HeaderValue::try_from(pairs.join("; "))
        .map(Some)
        .map_err(TestError::response)
}

type BoxFuture<O> = Pin<Box<dyn Future<Output = O> + Send>>;

/// Waits for `service` to be ready, then sends it `request`.
async fn run<S>(mut service: S, request: Request<()>) -> Result<S::Response, TestError>
where
    S: Service<Request<()>, Error = TestError>,
{
    poll_fn(|cx| service.poll_ready(cx)).await?;
    service.call(request).await
}

/// The service behind the layer that writes what a test request carries.
struct Minter<T> {
    data: Option<T>,
    owner: Option<String>,
    flash: Vec<FlashMessage>,
}

impl<T: SessionData> Service<Request<()>> for Minter<T> {
    type Response = Response<String>;
    type Error = TestError;
    type Future = BoxFuture<Result<Response<String>, TestError>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), TestError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<()>) -> Self::Future {
        let data = self.data.take();
        let owner = self.owner.take();
        let flash = std::mem::take(&mut self.flash);
        let pushed = (!flash.is_empty())
            .then(|| Flash::from_request(&request))
            .transpose()
            .and_then(|handle| {
                handle.map_or(Ok(()), |handle| {
                    flash
                        .into_iter()
                        .try_for_each(|message| handle.push(message))
                })
            });
        let session = (data.is_some() || owner.is_some()).then(|| Session::<T>::load(&request));
        Box::pin(async move {
            pushed?;
            if let Some(session) = session {
                let session = session.await?;
                if let Some(data) = data {
                    session.set(data);
                }
                if owner.is_some() {
                    session.set_owner(owner);
                }
            }
            Ok(Response::new(String::new()))
        })
    }
}

/// What [`Reader`] saw: the session (unless it was a fresh one) and the
/// flash messages.
type Seen<T> = Arc<Mutex<Option<(Option<T>, Vec<FlashMessage>)>>>;

/// The service behind the layer that reads what a response's cookies
/// carry.
struct Reader<T> {
    seen: Seen<T>,
}

impl<T: SessionData> Service<Request<()>> for Reader<T> {
    type Response = Response<String>;
    type Error = TestError;
    type Future = BoxFuture<Result<Response<String>, TestError>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), TestError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<()>) -> Self::Future {
        let flash = Flash::from_request(&request).map(|flash| flash.peek());
        let session = Session::<T>::load(&request);
        let seen = Arc::clone(&self.seen);
        Box::pin(async move {
            let flash = flash?;
            let session = session.await?;
            let data = (!session.is_new()).then(|| session.cloned());
            *seen.lock().unwrap_or_else(PoisonError::into_inner) = Some((data, flash));
            Ok(Response::new(String::new()))
        })
    }
}
