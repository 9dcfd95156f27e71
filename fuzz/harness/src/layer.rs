//! The whole layer: a request with arbitrary `Cookie` headers, and a store
//! that answers with arbitrary bytes.
//!
//! ```text
//! byte 0   bits 0-1  backend: cookie (0), cookie with the sealed payload
//!                    always cut into chunks (3), trusted store (1),
//!                    untrusted store (2)
//!          bits 2-3  cookie: the payload sealed as nothing (0), the session
//!                    (1), the session under the old key (2), private
//!                    cookie `pref` (3);
//!                    store: the record data is the payload as it is (0),
//!                    bound to the record key unsealed (1), sealed (2),
//!                    sealed under the old key (3)
//!          bit 4     cookie: the sealed payload goes before the headers;
//!                    store: no sealed session id cookie is added
//!          bits 5-7  what the handler does (see `act`)
//! byte 1   bits 0-1  expiry: browser close, inactivity, max age, inactivity
//!                    refreshed at once
//!          bits 2-3  cookie: `max_cookie_size` 8 KB, 4 KB, 16 KB, 50 cookies;
//!                    store: the record's expiry: in an hour, now, in 30
//!                    days, in the far future
//!          bit 4     cookie: sessions issued over 30 seconds ago are
//!                    revoked;
//!                    store: the store has no record
//!          bit 5     cookie: a load hook refuses sessions whose `delta` is
//!                    negative
//!          bits 6-7  cookie, backend 3: at least 2 + this many chunks
//! u16 LE + bytes     `Cookie` headers, one field per line (`\n`)
//! the rest           the payload
//! ```
//!
//! A sealed session payload goes as the one `id` cookie when it fits, as
//! the layer's own chunks (`id.0=COUNT.…; id.1=…`, one field) when it does
//! not, and as chunks of about equal size when backend 3 asks for them.
//!
//! Everything the layer needs answers at once (the store's futures are
//! ready, and so is the load hook's), so the target polls its futures
//! without a runtime.

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;
use std::future::{ready, Future};
use std::pin::{pin, Pin};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::header::{COOKIE, SET_COOKIE};
use http::{HeaderName, HeaderValue, Request, Response, StatusCode};
use http_body::Body;
use percent_encoding::percent_decode;
use tower_cookie_sessions::envelope::MAX_COOKIE_SIZE;
use tower_cookie_sessions::fuzzing::{
    chunk_index, chunk_values, decode_session, join_chunks, open_within, seal_as, seal_record,
    values_named_or_under, PlaintextFormat, Purpose, DEFAULT_MAX_COOKIE_SIZE,
    MAX_SESSION_COOKIES_SIZE,
};
use tower_cookie_sessions::session::SessionBody;
use tower_cookie_sessions::store::{Record, RecordKey, SessionStore, StoreError};
use tower_cookie_sessions::{Cookies, Expiry, KeyRing, Session, SessionError, SessionLayer};
use tower_layer::Layer;
use tower_service::Service;

use super::envelope::RECORD_SESSION_ID;
use super::input::Reader;
use super::session_type::FuzzSession;
use super::{fuzz_key_ring, old_key_ring, FUZZ_NOW};

/// The header the target's error hook names the error in.
const ERROR_HEADER: HeaderName = HeaderName::from_static("x-fuzz-error");

/// Request values at least this long are looked for in the response; a
/// shorter one could be part of an attribute (`SameSite=Lax`) by chance.
const ECHO_MIN: usize = 22;

/// Sends one request through a real [`SessionLayer`] (client-side, or over
/// a trusted or an untrusted store that loads the input's bytes), built
/// from `data` as laid out in this module's source.
///
/// Asserts that the response is the handler's `200`, never an error for
/// whatever the cookies or the record hold (the one exception: an
/// authentic session sealed by the target itself that no longer fits in
/// a cookie once changed, `500` with [`SessionError::TooLarge`]); that no
/// response header or body contains a value the request's cookies carried
/// or the bytes the store returned; and that a `Set-Cookie` either
/// removes the session cookie or carries a value that opens under the
/// current key as this layer's session.
///
/// # Panics
///
/// When one of those does not hold, or a future the target polls is not
/// ready: a finding.
///
/// # Examples
///
/// ```
/// // Client-side, a handler that flips a flag, a two-line `Cookie` header.
/// let header = b"id=not-a-session\ntheme=dark";
/// let mut input = vec![0b0010_0000, 0];
/// input.extend_from_slice(&(header.len() as u16).to_le_bytes());
/// input.extend_from_slice(header);
/// fuzz_harness::layer(&input);
/// ```
pub fn layer(data: &[u8]) {
    let mut input = Reader::new(data);
    let choice = input.byte();
    let setting = input.byte();
    let header = input.sized();
    let payload = input.rest();

    let backend = match choice & 0b11 {
        1 => Backend::Store { trusted: true },
        2 => Backend::Store { trusted: false },
        _ => Backend::Cookie,
    };
    let framing = choice >> 2 & 0b11;
    let action = choice >> 5;
    // Backend 3 cuts even a session that fits in one cookie.
    let least_chunks = (choice & 0b11 == 3).then(|| 2 + usize::from(setting >> 6));

    let mut fields: Vec<HeaderValue> = header
        .split(|&b| b == b'\n')
        .filter_map(|field| HeaderValue::from_bytes(field).ok())
        .collect();
    let mut echo: Vec<Vec<u8>> = fields.iter().flat_map(|f| values(f.as_bytes())).collect();
    if payload.len() >= ECHO_MIN {
        echo.push(payload.to_vec());
    }
    let mut authentic_payload = false;
    let added = match backend {
        Backend::Cookie => match framing {
            1 => {
                authentic_payload = true;
                Some(session_cookies(fuzz_key_ring(), payload, least_chunks))
            }
            2 => {
                authentic_payload = true;
                Some(session_cookies(old_key_ring(), payload, least_chunks))
            }
            3 => Some(sealed_cookie(
                fuzz_key_ring(),
                Purpose::PrivateCookie,
                "pref",
                payload,
            )),
            _ => None,
        },
        Backend::Store { .. } => (choice & 0x10 == 0).then(|| {
            sealed_cookie(
                fuzz_key_ring(),
                Purpose::SessionId,
                "id",
                &RECORD_SESSION_ID,
            )
        }),
    };
    if let Some(added) = added {
        echo.extend(values(added.as_bytes()));
        if backend == Backend::Cookie && choice & 0x10 != 0 {
            fields.insert(0, added);
        } else {
            fields.push(added);
        }
    }
    // A store session's cookie is its id alone: chunks are not its own.
    let carried = match backend {
        Backend::Cookie => Carried::of(&fields),
        Backend::Store { .. } => Carried::default(),
    };

    let mut request = Request::new(String::new());
    for field in fields {
        request.headers_mut().append(COOKIE, field);
    }

    let expiry = match setting & 0b11 {
        0 => Expiry::OnBrowserClose,
        1 | 3 => Expiry::Inactivity(Duration::from_secs(30 * 60)),
        _ => Expiry::MaxAge(Duration::from_secs(24 * 60 * 60)),
    };
    let limit = match backend {
        Backend::Cookie => COOKIE_LIMITS[usize::from(setting >> 2 & 0b11)],
        Backend::Store { .. } => DEFAULT_MAX_COOKIE_SIZE,
    };
    let refresh = if setting & 0b11 == 3 { 0.01 } else { 0.5 };
    let handler = Handler { action };
    let response = match backend {
        Backend::Cookie => {
            let builder = SessionLayer::<FuzzSession>::builder(fuzz_key_ring().clone())
                .expiry(expiry)
                .max_cookie_size(limit)
                .clock(|| unix_time(FUZZ_NOW))
                .on_error(error_response)
                .refresh_after(refresh);
            let builder = if setting & 0x20 != 0 {
                builder.on_load(|data: &FuzzSession, _| ready(Ok::<_, StoreError>(data.delta >= 0)))
            } else {
                builder
            };
            let session_layer = builder
                .build()
                .expect("the target's configuration is valid");
            if setting & 0x10 != 0 {
                session_layer
                    .revocation()
                    .revoke_issued_before(unix_time(FUZZ_NOW - 30));
            }
            call(session_layer.layer(handler), request)
        }
        Backend::Store { trusted } => {
            let record = (setting & 0x10 == 0).then(|| StoredBytes {
                data: payload.to_vec(),
                framing,
                expires_at: record_expiry(setting >> 2 & 0b11),
            });
            let store = FuzzStore { trusted, record };
            let session_layer =
                SessionLayer::<FuzzSession>::store_builder(fuzz_key_ring().clone(), store)
                    .expiry(expiry)
                    .clock(|| unix_time(FUZZ_NOW))
                    .on_error(error_response)
                    .refresh_after(refresh)
                    .build()
                    .expect("the target's configuration is valid");
            call(session_layer.layer(handler), request)
        }
    };

    let expected = Expected {
        backend,
        authentic_payload,
        destroyed: action == 4,
        limit,
        carried,
    };
    check(&response, &expected, &echo);
}

/// The `max_cookie_size` settings the target tries: the default, one
/// cookie, four cookies, the most.
const COOKIE_LIMITS: [usize; 4] = [
    DEFAULT_MAX_COOKIE_SIZE,
    MAX_COOKIE_SIZE,
    4 * MAX_COOKIE_SIZE,
    MAX_SESSION_COOKIES_SIZE,
];

/// What the request was, for judging the response.
struct Expected {
    backend: Backend,
    /// The request carries a session the target sealed with the key.
    authentic_payload: bool,
    /// The handler destroys the session.
    destroyed: bool,
    /// The layer's `max_cookie_size`.
    limit: usize,
    carried: Carried,
}

/// The session's chunks a request carried, read as the layer reads them.
#[derive(Default)]
struct Carried {
    chunks: BTreeSet<usize>,
}

impl Carried {
    fn of(fields: &[HeaderValue]) -> Self {
        let chunks = fields
            .iter()
            .flat_map(|field| values_named_or_under(field.as_bytes(), "id"))
            .filter_map(|(suffix, _)| chunk_index(&suffix?))
            .collect();
        Self { chunks }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Cookie,
    Store { trusted: bool },
}

/// A `Cookie` field with one sealed value.
fn sealed_cookie(ring: &KeyRing, purpose: Purpose, name: &str, plaintext: &[u8]) -> HeaderValue {
    let value = seal_as(ring, purpose, name, plaintext);
    HeaderValue::try_from(format!("{name}={value}")).expect("base64url is a header value")
}

/// A `Cookie` field with the session sealed from `plaintext`: the one `id`
/// cookie when it fits and no chunks are asked for, else its chunks in
/// one field, cut by the crate's own plan, or into at least `least`
/// pieces of about equal size.
fn session_cookies(ring: &KeyRing, plaintext: &[u8], least: Option<usize>) -> HeaderValue {
    let text = seal_as(ring, Purpose::Session, "id", plaintext);
    let fits = "id".len() + text.len() <= MAX_COOKIE_SIZE;
    let chunks = match least {
        None if fits => None,
        None => chunk_values("id".len(), text.as_bytes()),
        Some(least) => Some(even_chunks(text.as_bytes(), least)),
    };
    let Some(chunks) = chunks else {
        return HeaderValue::try_from(format!("id={text}")).expect("base64url is a header value");
    };
    let mut field = Vec::new();
    for (index, value) in chunks.iter().enumerate() {
        if index > 0 {
            field.extend_from_slice(b"; ");
        }
        field.extend_from_slice(format!("id.{index}=").as_bytes());
        field.extend_from_slice(value);
    }
    HeaderValue::try_from(field).expect("base64url is a header value")
}

/// `text` cut into at least `least` chunks (more if the text needs them)
/// of about equal size, chunk 0 starting with the count.
fn even_chunks(text: &[u8], least: usize) -> Vec<Vec<u8>> {
    let count = least.max(text.len().div_ceil(MAX_COOKIE_SIZE - 8));
    let piece = text.len().div_ceil(count);
    let mut chunks: Vec<Vec<u8>> = text.chunks(piece).map(<[u8]>::to_vec).collect();
    let prefix = format!("{}.", chunks.len());
    chunks[0].splice(..0, prefix.bytes());
    chunks
}

/// The values of a `Cookie` field's pairs long enough to look for, as
/// sent and percent-decoded.
fn values(field: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for pair in field.split(|&b| b == b';') {
        let Some(eq) = pair.iter().position(|&b| b == b'=') else {
            continue;
        };
        let value = pair[eq + 1..].trim_ascii();
        if value.len() >= ECHO_MIN {
            out.push(value.to_vec());
            let decoded: Vec<u8> = percent_decode(value).collect();
            if decoded.len() >= ECHO_MIN && decoded != value {
                out.push(decoded);
            }
        }
    }
    out
}

/// The time `seconds` after the Unix epoch.
fn unix_time(seconds: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(seconds)
}

fn record_expiry(choice: u8) -> SystemTime {
    let now = unix_time(FUZZ_NOW);
    match choice {
        0 => now + Duration::from_secs(3600),
        1 => now,
        2 => now + Duration::from_secs(30 * 24 * 3600),
        // As far as the platform's clock goes; beyond any deadline.
        _ => UNIX_EPOCH
            .checked_add(Duration::from_secs(1 << 62))
            .unwrap_or(now + Duration::from_secs(1 << 32)),
    }
}

/// Names the error, so [`check`] can tell which error a 500 was.
fn error_response(error: &SessionError) -> Response<String> {
    let kind = match error {
        SessionError::TooLarge { .. } => "too-large",
        _ => "other",
    };
    let mut response = Response::new(error.to_string());
    *response.status_mut() = error.status();
    response
        .headers_mut()
        .insert(ERROR_HEADER, HeaderValue::from_static(kind));
    response
}

/// The response, its body read.
struct Answer {
    status: StatusCode,
    headers: http::HeaderMap,
    body: Vec<u8>,
}

fn call<S>(mut service: S, request: Request<String>) -> Answer
where
    S: Service<Request<String>, Response = Response<SessionBody<String>>>,
    S::Error: std::fmt::Debug,
{
    poll_ready_now(std::future::poll_fn(|cx| service.poll_ready(cx))).expect("ready");
    let response = poll_ready_now(service.call(request)).expect("the handler is infallible");
    let (parts, body) = response.into_parts();
    let mut body = pin!(body);
    let mut bytes = Vec::new();
    while let Some(frame) = poll_ready_now(std::future::poll_fn(|cx| body.as_mut().poll_frame(cx)))
    {
        if let Ok(data) = frame.expect("a string body does not fail").into_data() {
            bytes.extend_from_slice(&data);
        }
    }
    Answer {
        status: parts.status,
        headers: parts.headers,
        body: bytes,
    }
}

/// Polls a future that has everything it needs until it is done.
fn poll_ready_now<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    // A future may yield once and wake itself; one that is still pending
    // after a few polls is waiting for something that never comes here.
    for _ in 0..8 {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
    panic!("a future of the layer was not ready, though everything it waits for is");
}

fn check(answer: &Answer, expected: &Expected, echo: &[Vec<u8>]) {
    let too_large = answer
        .headers
        .get(ERROR_HEADER)
        .is_some_and(|kind| kind == "too-large");
    assert!(
        answer.status == StatusCode::OK
            || (answer.status == StatusCode::INTERNAL_SERVER_ERROR
                && too_large
                && expected.authentic_payload),
        "answered {} ({:?}) to bad input",
        answer.status,
        String::from_utf8_lossy(&answer.body),
    );

    for secret in echo {
        let echoed = |bytes: &[u8]| bytes.windows(secret.len()).any(|w| w == &secret[..]);
        for (name, value) in &answer.headers {
            // A `Set-Cookie`'s attributes are the layer's configuration,
            // which a payload may spell out by chance: look in its value.
            let value = match name {
                &SET_COOKIE => value
                    .as_bytes()
                    .split(|&b| b == b';')
                    .next()
                    .unwrap_or_default(),
                _ => value.as_bytes(),
            };
            assert!(!echoed(value), "the {name} header echoes a request value");
        }
        assert!(!echoed(&answer.body), "the body echoes a request value");
    }

    check_set_cookies(answer, expected);
}

/// Every `Set-Cookie` removes or writes `id` or a chunk `id.N`, each name
/// at most once; what is written is one cookie or chunks `0..count` that
/// join and open as this layer's session; and what is removed is what the
/// README's rules for chunks say.
fn check_set_cookies(answer: &Answer, expected: &Expected) {
    // `None` is `id`, `Some(i)` is `id.i`.
    let mut removed = BTreeSet::new();
    let mut written = BTreeMap::new();
    for line in answer.headers.get_all(SET_COOKIE) {
        let line = line.to_str().expect("Set-Cookie is ASCII");
        let (pair, attributes) = line.split_once(';').unwrap_or((line, ""));
        let (name, value) = pair
            .split_once('=')
            .unwrap_or_else(|| panic!("not a cookie: {line}"));
        let cookie = match name.strip_prefix("id") {
            Some("") => None,
            Some(rest) => Some(
                rest.strip_prefix('.')
                    .and_then(|suffix| chunk_index(suffix.as_bytes()))
                    .unwrap_or_else(|| panic!("not the session's cookie: {line}")),
            ),
            None => panic!("not the session's cookie: {line}"),
        };
        assert!(
            cookie.is_none() || expected.backend == Backend::Cookie,
            "a store session sent a chunk: {line}"
        );
        assert!(
            !removed.contains(&cookie) && !written.contains_key(&cookie),
            "{name} is set twice in one response"
        );
        let max_age_0 = attributes.split(';').any(|a| a.trim() == "Max-Age=0");
        if value.is_empty() {
            assert!(max_age_0, "a removal that is no removal: {line}");
            removed.insert(cookie);
        } else {
            assert!(!max_age_0, "a write that the browser drops at once: {line}");
            written.insert(cookie, value);
        }
    }

    let carried = &expected.carried.chunks;
    for &index in removed.iter().flatten() {
        assert!(
            index == 0 || carried.contains(&index),
            "removed id.{index}, which the request did not carry"
        );
    }
    let removes_carried_from = |from: usize| {
        for &index in carried.range(from..) {
            assert!(removed.contains(&Some(index)), "left id.{index} behind");
        }
    };
    if expected.destroyed && answer.status == StatusCode::OK && expected.backend == Backend::Cookie
    {
        assert!(written.is_empty(), "destroy wrote a session");
        assert!(removed.contains(&None) && removed.contains(&Some(0)));
        removes_carried_from(0);
    }

    if let Some(value) = written.get(&None) {
        assert_eq!(written.len(), 1, "id and chunks written together");
        removes_carried_from(0);
        opens(expected, value.as_bytes(), MAX_COOKIE_SIZE);
    } else if !written.is_empty() {
        let count = written.len();
        assert!(
            written.keys().copied().eq((0..count).map(Some)),
            "the chunks written are not 0..{count}: {:?}",
            written.keys()
        );
        assert!(removed.contains(&None), "chunks written and id kept");
        removes_carried_from(count);
        let chunks = written
            .iter()
            .map(|(index, value)| (index.map(|i| i.to_string()), value.as_bytes()));
        let joined = join_chunks("id", chunks, expected.limit)
            .unwrap_or_else(|refusal| panic!("the layer's chunks do not join: {refusal}"));
        assert_eq!(joined.count, count);
        opens(expected, &joined.text, expected.limit);
    }
}

/// The sealed text the layer sent opens under the current key as this
/// layer's session (or session id), and reads back.
fn opens(expected: &Expected, text: &[u8], limit: usize) {
    let purpose = match expected.backend {
        Backend::Cookie => Purpose::Session,
        Backend::Store { .. } => Purpose::SessionId,
    };
    let ring = fuzz_key_ring();
    let opened = open_within(ring, purpose, "id", text, limit)
        .unwrap_or_else(|error| panic!("the layer's own cookie does not open: {error}"));
    assert!(opened.is_current_key);
    let plaintext = opened.plaintext;
    match expected.backend {
        Backend::Cookie => {
            let format = PlaintextFormat::default();
            let decoded = decode_session::<FuzzSession>(format, &plaintext, FUZZ_NOW, None);
            assert!(
                decoded.is_ok(),
                "the layer sent a session it cannot read back: {decoded:?}"
            );
        }
        Backend::Store { .. } => assert_eq!(plaintext.len(), RECORD_SESSION_ID.len()),
    }
}

/// The handler: opens the session, reads everything a handler can, and
/// does one thing to it.
#[derive(Clone, Copy)]
struct Handler {
    action: u8,
}

impl Service<Request<String>> for Handler {
    type Response = Response<String>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<String>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<String>) -> Self::Future {
        let action = self.action;
        let opening = Session::<FuzzSession>::from_extensions(request.extensions());
        let jar = Cookies::from_extensions(request.extensions());
        Box::pin(async move {
            if let Some(jar) = jar {
                let _ = jar.get("theme");
                if let Ok(private) = jar.private() {
                    let _ = private.get("pref");
                }
            }
            let session = match opening.await {
                Ok(session) => session,
                Err(error) => return Ok(error_response(&error)),
            };
            let _ = (
                session.issued_at(),
                session.expires_at(),
                session.absolute_deadline(),
                session.idle_deadline(),
                session.is_new(),
                session.is_persistent(),
                session.owner(),
            );
            act(&session, action);
            Ok(Response::new("ok".to_owned()))
        })
    }
}

fn act(session: &Session<FuzzSession>, action: u8) {
    match action {
        0 => {
            let _ = session.read(|data| data.name.len());
        }
        1 => session.update(|data| data.flag = !data.flag),
        2 => session.clear(),
        3 => session.renew(),
        4 => session.destroy(),
        5 => session.set_persistent(!session.is_persistent()),
        6 => session.expire_in(Duration::from_secs(60)),
        _ => {
            session.set_owner(Some("user-1".to_owned()));
            session.update(|data| data.flag = !data.flag);
        }
    }
}

/// What the store returns, and how it is framed for the key it is asked
/// for: a record only opens when bound to that key.
struct StoredBytes {
    data: Vec<u8>,
    framing: u8,
    expires_at: SystemTime,
}

/// A store whose every answer is ready: `load` returns the input's bytes,
/// and every write succeeds.
struct FuzzStore {
    trusted: bool,
    record: Option<StoredBytes>,
}

impl FuzzStore {
    fn load_now(&self, key: &RecordKey) -> Option<Record> {
        let stored = self.record.as_ref()?;
        let data = match stored.framing {
            1 => seal_record(fuzz_key_ring(), true, key, &stored.data),
            2 => seal_record(fuzz_key_ring(), false, key, &stored.data),
            3 => seal_record(old_key_ring(), false, key, &stored.data),
            _ => stored.data.clone(),
        };
        Some(Record::new(data, stored.expires_at))
    }
}

impl SessionStore for FuzzStore {
    fn create(
        &self,
        _: &RecordKey,
        _: &Record,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        ready(Ok(true))
    }

    fn load(
        &self,
        key: &RecordKey,
    ) -> impl Future<Output = Result<Option<Record>, StoreError>> + Send {
        ready(Ok(self.load_now(key)))
    }

    fn save(
        &self,
        _: &RecordKey,
        _: &Record,
        _: u64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        ready(Ok(true))
    }

    fn delete(&self, _: &RecordKey) -> impl Future<Output = Result<(), StoreError>> + Send {
        ready(Ok(()))
    }

    fn touch(
        &self,
        _: &RecordKey,
        _: SystemTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        ready(Ok(true))
    }

    fn is_trusted(&self) -> bool {
        self.trusted
    }
}
