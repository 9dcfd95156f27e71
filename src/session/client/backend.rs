//! Client-side sessions: the sealed session is the cookie, or, when it is
//! larger than one cookie, its chunks (see `chunks.rs`).

use std::sync::Arc;

use crate::clock::{from_unix_seconds, unix_seconds};
use crate::cookies::parse::MAX_CANDIDATES;
use crate::cookies::Cookies;
use crate::envelope::{self, MAX_COOKIE_SIZE};
use crate::key::Purpose;
use crate::session::client::chunks::{
    self, indexes, join_chunks, low_bits, Carried, ChunkRefusal, Opened,
};
use crate::session::shared::backend::{Committed, ErasedBackend, Loading, MaybeReady, SetCookie};
use crate::session::shared::config::SessionConfig;
use crate::session::shared::error::SessionError;
use crate::session::shared::plaintext::{self, decode_session, Format, Refusal};
use crate::session::shared::revocation::LoadHook;
use crate::session::shared::set_cookie;
use crate::session::shared::state::{record_activity, Shared, State, Status};
use crate::session::store::backend::timed;
use crate::session::SessionData;

/// The default backend: the whole session, sealed, is the cookie.
///
/// Nothing is stored on the server and any instance holding the key can
/// read the session. A session larger than one cookie (4 KB, name
/// included) is split across several, `NAME.0` to `NAME.k`, up to
/// [`max_cookie_size`](crate::session::SessionLayerBuilder::max_cookie_size) in all (8 KB
/// by default). A copy of a cookie stays valid until its sealed deadline,
/// unless it is [revoked](crate::SessionLayer::revocation) or refused by
/// the layer's [load hook](crate::session::SessionLayerBuilder::on_load). When two
/// requests change the same session at once, the response that arrives
/// last wins.
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

/// Client-side sessions checked by the application's hook when they load.
/// Only a session whose cookie authenticated waits for it; a request
/// without one opens at once, as with [`CookieBackend`].
pub(crate) struct HookedCookies<T> {
    hook: LoadHook<T>,
}

impl<T> HookedCookies<T> {
    pub(crate) fn new(hook: LoadHook<T>) -> Self {
        Self { hook }
    }
}

impl<T: SessionData> ErasedBackend<T> for HookedCookies<T> {
    fn load(&self, config: &Arc<SessionConfig>, jar: &Cookies) -> Loading<T> {
        let state = open_session(config, jar);
        if !state.status.existed {
            return MaybeReady::ready(Ok(state));
        }
        let hook = Arc::clone(&self.hook);
        let config = Arc::clone(config);
        // The hook is the application's code: it is called when this
        // future is first polled, by the handler's load, not here, where
        // the request's state is locked.
        MaybeReady::Pending(Box::pin(
            async move { checked(&hook, &config, state).await },
        ))
    }

    fn commit(&self, config: &Arc<SessionConfig>, session: &Arc<Shared<T>>) -> Committed {
        MaybeReady::ready(seal_session(config, session))
    }
}

/// The loaded session if the hook keeps it, a fresh one that removes its
/// cookies if the hook refuses it, or the error the hook failed with (or
/// the timeout).
async fn checked<T: SessionData>(
    hook: &LoadHook<T>,
    config: &SessionConfig,
    state: State<T>,
) -> Result<State<T>, SessionError> {
    let verdict = hook(&state.data, from_unix_seconds(state.deadlines.issued));
    match timed(config.store_timeout, verdict).await {
        Ok(true) => Ok(state),
        Ok(false) => {
            tracing::debug!(
                cookie = config.cookie_name.as_str(),
                "session refused by the load hook; starting a fresh session"
            );
            Ok(ended(
                config,
                state.opened_at,
                state.cookies,
                "refused by the load hook",
            ))
        }
        Err(error) => {
            tracing::error!(%error, "session load hook failed; answering with an error");
            Err(SessionError::Load(Arc::new(error)))
        }
    }
}

/// A fresh session in place of an authentic one that has ended (expired,
/// revoked or refused by the hook): its response removes the cookies it
/// came from, unless the handler starts a new session.
fn ended<T: SessionData>(
    config: &SessionConfig,
    now: u64,
    cookies: Carried,
    reason: &'static str,
) -> State<T> {
    let mut state = State::fresh(config, now);
    state.status.ended = true;
    state.status.refused = Some(reason);
    state.cookies = cookies;
    state
}

/// The request's session, or a fresh one; says at debug level why a cookie
/// was refused, never with its contents.
///
/// `NAME` comes first: a response that writes chunks removes it, so one
/// that opens is newer than any chunk beside it (which a request carrying
/// no cookies, such as a cross-site form post under `SameSite=Lax`, could
/// not have removed). One pass over the `Cookie` header opens the first
/// `NAME` that authenticates and notes the chunks; only when none does are
/// the chunks joined and opened.
fn open_session<T: SessionData>(config: &SessionConfig, jar: &Cookies) -> State<T> {
    let now = unix_seconds(config.clock.now());
    let name = config.cookie_name.as_str();
    let mut cookies = Carried::default();
    let mut tries = 0;
    let mut opened = None;
    for (suffix, value) in jar.request().values_under(name) {
        cookies.note(suffix);
        if suffix.is_some() || opened.is_some() || tries == MAX_CANDIDATES {
            continue;
        }
        tries += 1;
        opened = open_value(config, &value, MAX_COOKIE_SIZE, now);
        if opened.is_some() {
            cookies.opened = Opened::Plain;
        }
    }
    if opened.is_none() && cookies.has_first_chunk() {
        // A chunk seen twice is refused without reading the header again.
        let joined = if cookies.repeated {
            Err(ChunkRefusal::Repeated)
        } else {
            join_chunks(
                name,
                jar.request().values_under(name),
                config.max_cookie_size,
            )
        };
        match joined {
            Ok(joined) => {
                opened = open_value(config, &joined.text, config.max_cookie_size, now);
                if opened.is_some() {
                    cookies.opened = Opened::Chunks(joined.count);
                }
            }
            Err(refusal) => tracing::debug!(
                cookie = name,
                reason = %refusal,
                "session cookie refused"
            ),
        }
    }
    let mut state = opened.unwrap_or_else(|| {
        let mut state = State::fresh(config, now);
        if tries > 0 || cookies.has_first_chunk() {
            state.status.refused = Some("not authentic");
        }
        state
    });
    state.cookies = cookies;
    state
}

/// Opens one sealed value (a cookie's, or chunks joined) of up to `limit`
/// bytes with its name: `None` when it does not authenticate. An authentic
/// value whose session is expired, undecodable or revoked is a fresh
/// session, and ends the search whatever other cookies were sent.
fn open_value<T: SessionData>(
    config: &SessionConfig,
    value: &[u8],
    limit: usize,
    now: u64,
) -> Option<State<T>> {
    let name = config.cookie_name.as_str();
    let opened = envelope::open_within(
        &config.keys,
        Purpose::Session,
        name,
        value,
        limit,
        |plaintext, key_id| {
            let decoded = decode_session(config, plaintext, now, None).and_then(|loaded| {
                if config.revocation.refuses(loaded.1.issued) {
                    return Err(Refusal::ended("issued before the revocation cutoff"));
                }
                Ok(loaded)
            });
            match decoded {
                Ok((data, deadlines)) => {
                    let mut state = State::loaded(data, deadlines, now);
                    state.status.reseal = key_id != config.keys.current_id();
                    state
                }
                Err(Refusal { reason, unreadable }) => {
                    tracing::debug!(
                        cookie = name,
                        reason,
                        "session cookie refused; starting a fresh session"
                    );
                    let mut state = State::fresh(config, now);
                    state.status.ended = !unreadable;
                    state.status.refused = Some(reason);
                    state
                }
            }
        },
    );
    match opened {
        Ok(state) => Some(state),
        Err(error) => {
            tracing::debug!(cookie = name, reason = %error, "session cookie refused");
            None
        }
    }
}

/// Plaintexts up to this size are encoded on the stack.
const PLAINTEXT_ON_STACK: usize = 256;

/// The `Set-Cookie` lines for what the handler did, if anything needs
/// sending. A session that does not fit sends nothing, so the browser
/// keeps the cookies it has.
fn seal_session<T: SessionData>(
    config: &SessionConfig,
    session: &Shared<T>,
) -> Result<SetCookie, SessionError> {
    let mut state = session.lock();
    let now = state.opened_at;
    let cookies = state.cookies;
    if state.status.destroyed {
        // `NAME.0` too, even if this request did not carry it (a request
        // may carry no cookies at all): without it no chunk the browser
        // may still hold is a session.
        return Ok(removals(config, true, cookies.chunks | 1));
    }
    if !state.status.is_dirty() && !state.refresh_due(config, now) {
        return Ok(if state.status.ended {
            removals(config, cookies.plain, cookies.chunks)
        } else {
            removals(config, false, cookies.stale_chunks())
        });
    }
    let Some(expires) = record_activity(config, &mut state.deadlines, now) else {
        // An override ended the session already; nothing valid to send.
        return Ok(removals(config, true, cookies.chunks));
    };
    // The plaintext is only sealed: it lives on the stack unless it is
    // large.
    let mut stack = [0u8; PLAINTEXT_ON_STACK];
    let heap;
    let plaintext = match plaintext::encode_to_slice(
        &state.deadlines,
        Format::of(config),
        &state.data,
        &mut stack,
    ) {
        Some(len) => &stack[..len],
        None => {
            heap = plaintext::encode(&state.deadlines, Format::of(config), &state.data)
                .map_err(|error| SessionError::Encode(error.to_string()))?;
            heap.as_slice()
        }
    };
    let max_age = state.deadlines.persistent.then(|| expires - now);
    let name = config.cookie_name.as_str();
    let text_len = envelope::sealed_len(plaintext.len());
    let (lines, sent) = if name.len() + text_len <= MAX_COOKIE_SIZE {
        let mut lines = SetCookie::one(set_cookie::sealed_cookie(
            config,
            Purpose::Session,
            plaintext,
            max_age,
        ));
        push_chunk_removals(&mut lines, config, cookies.chunks);
        (lines, Opened::Plain)
    } else {
        let too_large = |size| SessionError::TooLarge {
            size,
            limit: config.max_cookie_size,
        };
        let plan = chunks::plan(name.len(), text_len).map_err(too_large)?;
        if plan.size > config.max_cookie_size {
            return Err(too_large(plan.size));
        }
        let mut text = Vec::with_capacity(text_len);
        envelope::seal_into(&config.keys, Purpose::Session, name, plaintext, &mut text);
        let mut lines = SetCookie::none();
        for (index, piece) in plan.pieces() {
            let count = (index == 0).then_some(plan.count);
            lines.push(set_cookie::chunk(
                config,
                index,
                count,
                &text[piece],
                max_age,
            ));
        }
        // `NAME` goes even if this request did not carry it: a browser that
        // kept one would open it rather than these chunks.
        lines.push(set_cookie::removal(config));
        push_chunk_removals(&mut lines, config, cookies.chunks & !low_bits(plan.count));
        (lines, Opened::Chunks(plan.count))
    };
    // Sent: a second commit of this request would have nothing to send.
    state.status = Status::saved();
    state.cookies = Carried {
        plain: sent == Opened::Plain,
        chunks: match sent {
            Opened::Chunks(count) => low_bits(count),
            _ => 0,
        },
        repeated: false,
        opened: sent,
    };
    Ok(lines)
}

/// Removals of `NAME` (when `plain`) and of the chunks whose bits are set.
fn removals(config: &SessionConfig, plain: bool, chunks: u64) -> SetCookie {
    let mut lines = SetCookie::none();
    if plain {
        lines.push(set_cookie::removal(config));
    }
    push_chunk_removals(&mut lines, config, chunks);
    lines
}

fn push_chunk_removals(lines: &mut SetCookie, config: &SessionConfig, chunks: u64) {
    for index in indexes(chunks) {
        lines.push(set_cookie::chunk_removal(config, index));
    }
}
