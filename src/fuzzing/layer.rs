//! The whole layer: a request with arbitrary `Cookie` headers, and a store
//! that answers with arbitrary bytes.
//!
//! ```text
//! byte 0   bits 0-1  backend: cookie (0, 3), trusted store (1), untrusted store (2)
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
//!          bits 2-3  the store record's expiry: in an hour, now, in 30
//!                    days, in the far future
//!          bit 4     the store has no record
//! u16 LE + bytes     `Cookie` headers, one field per line (`\n`)
//! the rest           the payload
//! ```
//!
//! Everything the layer needs answers at once (the store's futures are
//! ready), so the target polls its futures without a runtime.

use std::convert::Infallible;
use std::future::{ready, Future};
use std::pin::{pin, Pin};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::header::{COOKIE, SET_COOKIE};
use http::{HeaderName, HeaderValue, Request, Response, StatusCode};
use http_body::Body;
use percent_encoding::percent_decode;
use tower_layer::Layer;
use tower_service::Service;

use super::envelope::RECORD_SESSION_ID;
use super::input::Reader;
use super::session_type::FuzzSession;
use super::{fuzz_key_ring, old_key_ring, FUZZ_NOW};
use crate::cookies::Cookies;
use crate::envelope;
use crate::key::{KeyRing, Purpose};
use crate::session::config::SessionConfig;
use crate::session::plaintext::decode_session;
use crate::session::{Expiry, Session, SessionError, SessionLayer};
use crate::store::{Record, RecordKey, Result as StoreResult, SessionStore};

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
/// use tower_cookie_sessions::fuzzing;
///
/// // Client-side, a handler that flips a flag, a two-line `Cookie` header.
/// let header = b"id=not-a-session\ntheme=dark";
/// let mut input = vec![0b0010_0000, 0];
/// input.extend_from_slice(&(header.len() as u16).to_le_bytes());
/// input.extend_from_slice(header);
/// fuzzing::layer(&input);
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
                Some(sealed_cookie(
                    fuzz_key_ring(),
                    Purpose::Session,
                    "id",
                    payload,
                ))
            }
            2 => {
                authentic_payload = true;
                Some(sealed_cookie(
                    old_key_ring(),
                    Purpose::Session,
                    "id",
                    payload,
                ))
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

    let mut request = Request::new(String::new());
    for field in fields {
        request.headers_mut().append(COOKIE, field);
    }

    let expiry = match setting & 0b11 {
        0 => Expiry::OnBrowserClose,
        1 | 3 => Expiry::Inactivity(Duration::from_secs(30 * 60)),
        _ => Expiry::MaxAge(Duration::from_secs(24 * 60 * 60)),
    };
    let session_layer = SessionLayer::<FuzzSession>::new(fuzz_key_ring().clone())
        .and_then(|layer| layer.expiry(expiry))
        .map(|layer| {
            layer
                .clock(|| UNIX_EPOCH + Duration::from_secs(FUZZ_NOW))
                .on_error(error_response)
        })
        .and_then(|layer| match setting & 0b11 {
            3 => layer.refresh_after(0.01),
            _ => Ok(layer),
        })
        .expect("the target's configuration is valid");

    let handler = Handler { action };
    let response = match backend {
        Backend::Cookie => call(session_layer.layer(handler), request),
        Backend::Store { trusted } => {
            let record = (setting & 0x10 == 0).then(|| StoredBytes {
                data: payload.to_vec(),
                framing,
                expires_at: record_expiry(setting >> 2 & 0b11),
            });
            let store = FuzzStore { trusted, record };
            call(session_layer.with_store(store).layer(handler), request)
        }
    };

    check(&response, backend, authentic_payload, &echo);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Cookie,
    Store { trusted: bool },
}

/// A `Cookie` field with one sealed value.
fn sealed_cookie(ring: &KeyRing, purpose: Purpose, name: &str, plaintext: &[u8]) -> HeaderValue {
    let value = envelope::seal(ring, purpose, name, plaintext);
    HeaderValue::try_from(format!("{name}={value}")).expect("base64url is a header value")
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

fn record_expiry(choice: u8) -> SystemTime {
    let now = UNIX_EPOCH + Duration::from_secs(FUZZ_NOW);
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
    S: Service<Request<String>, Response = Response<crate::session::SessionBody<String>>>,
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

fn check(answer: &Answer, backend: Backend, authentic_payload: bool, echo: &[Vec<u8>]) {
    let too_large = answer
        .headers
        .get(ERROR_HEADER)
        .is_some_and(|kind| kind == "too-large");
    assert!(
        answer.status == StatusCode::OK
            || (answer.status == StatusCode::INTERNAL_SERVER_ERROR
                && too_large
                && authentic_payload),
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

    let set_cookies: Vec<&HeaderValue> = answer.headers.get_all(SET_COOKIE).iter().collect();
    assert!(set_cookies.len() <= 1, "{set_cookies:?}");
    for line in set_cookies {
        let line = line.to_str().expect("Set-Cookie is ASCII");
        let value = line
            .strip_prefix("id=")
            .and_then(|rest| rest.split(';').next())
            .unwrap_or_else(|| panic!("not the session cookie: {line}"));
        if value.is_empty() {
            assert!(line.contains("; Max-Age=0"), "{line}");
            continue;
        }
        let purpose = match backend {
            Backend::Cookie => Purpose::Session,
            Backend::Store { .. } => Purpose::SessionId,
        };
        let opened = envelope::open(fuzz_key_ring(), purpose, "id", value)
            .unwrap_or_else(|error| panic!("the layer's own cookie does not open: {error}"));
        assert!(opened.is_current_key);
        match backend {
            Backend::Cookie => {
                let config = SessionConfig::new(fuzz_key_ring().clone());
                let decoded =
                    decode_session::<FuzzSession>(&config, &opened.plaintext, FUZZ_NOW, None);
                assert!(
                    decoded.is_ok(),
                    "the layer sent a session it cannot read back: {decoded:?}"
                );
            }
            Backend::Store { .. } => assert_eq!(opened.plaintext.len(), RECORD_SESSION_ID.len()),
        }
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
        let config = SessionConfig::new(fuzz_key_ring().clone());
        let data = match stored.framing {
            1 => [&[0u8][..], key.as_bytes(), &stored.data].concat(),
            2 => seal_record(&config, key, &stored.data),
            3 => seal_record(
                &SessionConfig::new(old_key_ring().clone()),
                key,
                &stored.data,
            ),
            _ => stored.data.clone(),
        };
        Some(Record::new(data, stored.expires_at))
    }
}

fn seal_record(config: &SessionConfig, key: &RecordKey, plaintext: &[u8]) -> Vec<u8> {
    crate::session::record::seal(config, false, key, |out| {
        out.extend_from_slice(plaintext);
        Ok::<_, Infallible>(())
    })
    .unwrap_or_else(|never| match never {})
}

impl SessionStore for FuzzStore {
    fn create(&self, _: &RecordKey, _: &Record) -> impl Future<Output = StoreResult<bool>> + Send {
        ready(Ok(true))
    }

    fn load(&self, key: &RecordKey) -> impl Future<Output = StoreResult<Option<Record>>> + Send {
        ready(Ok(self.load_now(key)))
    }

    fn save(
        &self,
        _: &RecordKey,
        _: &Record,
        _: u64,
    ) -> impl Future<Output = StoreResult<bool>> + Send {
        ready(Ok(true))
    }

    fn delete(&self, _: &RecordKey) -> impl Future<Output = StoreResult<()>> + Send {
        ready(Ok(()))
    }

    fn touch(
        &self,
        _: &RecordKey,
        _: SystemTime,
    ) -> impl Future<Output = StoreResult<bool>> + Send {
        ready(Ok(true))
    }

    fn delete_by_owner(&self, _: &str) -> impl Future<Output = StoreResult<u64>> + Send {
        ready(Ok(0))
    }

    fn is_trusted(&self) -> bool {
        self.trusted
    }
}
