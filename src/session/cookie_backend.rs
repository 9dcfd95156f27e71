//! Client-side sessions: the sealed session is the cookie.

use std::sync::Arc;

use crate::clock::unix_seconds;
use crate::cookies::parse::MAX_CANDIDATES;
use crate::cookies::Cookies;
use crate::envelope::{self, MAX_COOKIE_SIZE};
use crate::key::Purpose;
use crate::session::backend::{Committed, ErasedBackend, Loading, MaybeReady, SetCookie};
use crate::session::config::SessionConfig;
use crate::session::error::SessionError;
use crate::session::plaintext::{self, decode_session, Refusal};
use crate::session::set_cookie;
use crate::session::state::{record_activity, Shared, State, Status};
use crate::session::SessionData;

/// The default backend: the whole session, sealed, is the cookie.
///
/// Nothing is stored on the server and any instance holding the key can
/// read the session. The price: a session must fit in one cookie (4 KB,
/// name included), and a copy of a cookie stays valid until its sealed
/// deadline. When two requests change the same session at once, the
/// response that arrives last wins.
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::session::CookieBackend;
/// use tower_cookie_sessions::{Key, SessionLayer};
///
/// # fn main() -> Result<(), tower_cookie_sessions::ConfigError> {
/// let layer: SessionLayer<u64, CookieBackend> = SessionLayer::new(Key::generate())?;
/// # let _ = layer;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct CookieBackend;

impl<T: SessionData> ErasedBackend<T> for CookieBackend {
    fn load(&self, config: &Arc<SessionConfig>, jar: &Cookies) -> Loading<T> {
        MaybeReady::ready(Ok(open_session(config, jar)))
    }

    fn commit(&self, config: &Arc<SessionConfig>, session: &Arc<Shared<T>>) -> Committed {
        MaybeReady::ready(seal_session(config, session))
    }
}

/// The request's session, or a fresh one; says at debug level why a cookie
/// was refused, never with its contents.
fn open_session<T: SessionData>(config: &SessionConfig, jar: &Cookies) -> State<T> {
    let now = unix_seconds(config.clock.now());
    let opened = open_first(
        config,
        jar,
        Purpose::Session,
        "session cookie",
        |plaintext, current_key| {
            // An authentic cookie that is expired or undecodable ends the
            // search: a fresh session, whatever other cookies were sent.
            Some(match decode_session(config, plaintext, now, None) {
                Ok((data, deadlines)) => {
                    let mut state = State::loaded(data, deadlines, now);
                    state.status.reseal = !current_key;
                    state
                }
                Err(Refusal { reason, unreadable }) => {
                    tracing::debug!(
                        cookie = config.cookie_name.as_str(),
                        reason,
                        "session cookie refused; starting a fresh session"
                    );
                    let mut state = State::fresh(config, now);
                    state.status.ended = !unreadable;
                    state
                }
            })
        },
    );
    opened.unwrap_or_else(|| State::fresh(config, now))
}

/// Opens the request's cookies with the session's name as `purpose`, at
/// most [`MAX_CANDIDATES`] of them, in order. `read` gets each plaintext
/// and whether it was sealed under the current key, and gives the answer
/// or `None` to try the next cookie. A cookie that does not open is
/// skipped, and a debug-level event says why `what` was refused.
pub(crate) fn open_first<R>(
    config: &SessionConfig,
    jar: &Cookies,
    purpose: Purpose,
    what: &'static str,
    mut read: impl FnMut(&[u8], bool) -> Option<R>,
) -> Option<R> {
    let name = config.cookie_name.as_str();
    for value in jar.request_values(name).take(MAX_CANDIDATES) {
        let opened =
            envelope::open_with(&config.keys, purpose, name, &value, |plaintext, key_id| {
                read(plaintext, key_id == config.keys.current_id())
            });
        match opened {
            Ok(Some(answer)) => return Some(answer),
            Ok(None) => {}
            Err(error) => tracing::debug!(cookie = name, reason = %error, "{what} refused"),
        }
    }
    None
}

/// Plaintexts up to this size are encoded on the stack.
const PLAINTEXT_ON_STACK: usize = 256;

/// The `Set-Cookie` for what the handler did, if anything needs sending.
fn seal_session<T: SessionData>(
    config: &SessionConfig,
    session: &Shared<T>,
) -> Result<SetCookie, SessionError> {
    let mut state = session.lock();
    let now = state.opened_at;
    if state.status.destroyed {
        return Ok(Some(set_cookie::removal(config)));
    }
    if !state.status.is_dirty() && !state.refresh_due(config, now) {
        return Ok(state.status.ended.then(|| set_cookie::removal(config)));
    }
    let Some(expires) = record_activity(config, &mut state.deadlines, now) else {
        // An override ended the session already; nothing valid to send.
        return Ok(Some(set_cookie::removal(config)));
    };
    // The plaintext is only sealed: it lives on the stack unless it is
    // large.
    let mut stack = [0u8; PLAINTEXT_ON_STACK];
    let heap;
    let plaintext = match plaintext::encode_to_slice(
        &state.deadlines,
        config.schema_version,
        &state.data,
        &mut stack,
    ) {
        Some(len) => &stack[..len],
        None => {
            heap = plaintext::encode(&state.deadlines, config.schema_version, &state.data)
                .map_err(|error| SessionError::Encode(error.to_string()))?;
            heap.as_slice()
        }
    };
    let name = config.cookie_name.as_str();
    let size = name.len() + envelope::sealed_len(plaintext.len());
    if size > MAX_COOKIE_SIZE {
        return Err(SessionError::TooLarge {
            size,
            limit: MAX_COOKIE_SIZE,
        });
    }
    let max_age = state.deadlines.persistent.then(|| expires - now);
    let line = set_cookie::sealed_cookie(config, Purpose::Session, plaintext, max_age);
    // Sent: a second commit of this request would have nothing to send.
    state.status = Status::saved();
    Ok(Some(line))
}
