//! One request's flash messages for one session layer: what the request
//! brought, whether a handler read it, what it adds, and the `Set-Cookie`
//! that follows from those.
//!
//! The messages travel in a cookie of their own, sealed under
//! [`Purpose::Flash`] and never in the session: reading a flash writes
//! nothing to the session, and cannot conflict with another request's
//! save of it.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use http::HeaderValue;

use crate::clock::unix_seconds;
use crate::codec::{self, Codec};
use crate::cookies::parse::MAX_CANDIDATES;
use crate::cookies::Cookies;
use crate::envelope::{self, MAX_COOKIE_SIZE};
use crate::flash::{FlashError, FlashMessage};
use crate::key::Purpose;
use crate::session::shared::config::SessionConfig;
use crate::session::shared::set_cookie;

/// How long a flash message waits for the page that shows it: the next
/// request after a redirect comes in well under that, and a message not
/// shown by then is stale. Sealed into the cookie, and its `Max-Age`.
pub(crate) const FLASH_LIFETIME: Duration = Duration::from_secs(10 * 60);

/// The first byte of the sealed plaintext: the layout of what follows
/// (the deadline, then the messages in bincode).
const FORMAT: u8 = 1;

/// How deeply nested a flash cookie's data may be: a list of flat
/// messages needs only a few levels.
const MAX_DEPTH: usize = 8;

/// The name of the flash cookie of the session cookie `session_name`: it
/// keeps the session cookie's `__Host-`/`__Secure-` prefix, and its
/// attributes go with it.
pub(crate) fn flash_cookie_name(session_name: &str) -> String {
    format!("{session_name}{FLASH_SUFFIX}")
}

/// What [`flash_cookie_name`] appends.
pub(crate) const FLASH_SUFFIX: &str = "-flash";

/// The flash messages of one request, for one session layer.
pub(crate) struct FlashState {
    config: Arc<SessionConfig>,
    name: String,
    inner: Mutex<Inner>,
}

struct Inner {
    /// The messages the request brought, in the order they were added.
    incoming: Vec<FlashMessage>,
    /// The request carried a cookie of the flash cookie's name, whether or
    /// not it opened: a response that empties the flash removes it.
    had_cookie: bool,
    /// A handler took the incoming messages: the response drops them.
    taken: bool,
    /// A handler looked at the incoming messages: the response depends on
    /// the request's cookie.
    read: bool,
    /// The messages added in this request, for the next one.
    outgoing: Vec<FlashMessage>,
}

/// What a response sends for the flash.
pub(crate) struct FlashResponse {
    /// The flash cookie, or its removal.
    pub(crate) set_cookie: Option<HeaderValue>,
    /// The response depends on the request's flash cookie.
    pub(crate) read: bool,
}

impl FlashState {
    /// The flash of `config`'s layer, opened from the request's cookies in
    /// `jar`: the first of at most [`MAX_CANDIDATES`] cookies of its name
    /// that opens and has not expired.
    pub(crate) fn open(config: Arc<SessionConfig>, jar: &Cookies) -> Self {
        let name = flash_cookie_name(&config.cookie_name);
        let now = unix_seconds(config.clock.now());
        let mut had_cookie = false;
        let incoming = jar
            .request()
            .values(&name)
            .take(MAX_CANDIDATES)
            .find_map(|value| {
                had_cookie = true;
                let opened =
                    envelope::open_with(&config.keys, Purpose::Flash, &name, &value, |plain, _| {
                        decode(plain, now)
                    });
                match opened.map_err(|error| error.to_string()) {
                    Ok(Ok(messages)) => Some(messages),
                    Ok(Err(reason)) | Err(reason) => {
                        tracing::debug!(cookie = name.as_str(), %reason, "flash cookie refused");
                        None
                    }
                }
            })
            .unwrap_or_default();
        Self {
            config,
            name,
            inner: Mutex::new(Inner {
                incoming,
                had_cookie,
                taken: false,
                read: false,
                outgoing: Vec::new(),
            }),
        }
    }

    /// The messages the request brought, unless a handler took them.
    pub(crate) fn peek(&self) -> Vec<FlashMessage> {
        let mut inner = self.lock();
        inner.read = true;
        if inner.taken {
            return Vec::new();
        }
        inner.incoming.clone()
    }

    /// The messages the request brought; the response drops them.
    pub(crate) fn take(&self) -> Vec<FlashMessage> {
        let mut inner = self.lock();
        inner.read = true;
        if inner.taken {
            return Vec::new();
        }
        inner.taken = true;
        inner.incoming.clone()
    }

    /// Adds `message` for the next request, unless the flash cookie would
    /// then be larger than one cookie may be.
    pub(crate) fn push(&self, message: FlashMessage) -> Result<(), FlashError> {
        let mut inner = self.lock();
        inner.outgoing.push(message);
        let size = self.cookie_len(&inner);
        if size > MAX_COOKIE_SIZE {
            inner.outgoing.pop();
            return Err(FlashError::TooLarge {
                size,
                limit: MAX_COOKIE_SIZE,
            });
        }
        Ok(())
    }

    /// The `Set-Cookie` line the flash cookie takes now, if any.
    fn cookie_len(&self, inner: &Inner) -> usize {
        let plaintext_len = 1 + 8 + encoded_len(&inner.remaining());
        set_cookie::sealed_cookie_len(
            &self.config,
            &self.name,
            plaintext_len,
            Some(FLASH_LIFETIME.as_secs()),
        )
    }

    /// What the response sends for the flash: nothing when no handler
    /// changed it (a favicon or an XHR leaves it for the page that shows
    /// it), else the messages still to show, or the cookie's removal.
    pub(crate) fn response(&self) -> FlashResponse {
        let inner = self.lock();
        let changed = inner.taken && !inner.incoming.is_empty() || !inner.outgoing.is_empty();
        let remaining = inner.remaining();
        let set_cookie = if remaining.is_empty() {
            // A cookie that did not open, or whose messages were taken,
            // goes once a handler dealt with the flash.
            (inner.had_cookie && (inner.taken || inner.read))
                .then(|| set_cookie::removal_named(&self.config, &self.name))
        } else if changed {
            let now = unix_seconds(self.config.clock.now());
            let plaintext = encode(&remaining, now + FLASH_LIFETIME.as_secs());
            Some(set_cookie::sealed_cookie_named(
                &self.config,
                &self.name,
                Purpose::Flash,
                &plaintext,
                Some(FLASH_LIFETIME.as_secs()),
            ))
        } else {
            None
        };
        FlashResponse {
            set_cookie,
            read: inner.read,
        }
    }

    /// A panic in another handle's call cannot leave the state half
    /// changed (each change is one push, pop or assignment).
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Inner {
    /// The messages the next request gets: those not taken, then the new.
    fn remaining(&self) -> Vec<&FlashMessage> {
        let kept = if self.taken {
            &[][..]
        } else {
            &self.incoming[..]
        };
        kept.iter().chain(&self.outgoing).collect()
    }
}

fn encoded_len(messages: &[&FlashMessage]) -> usize {
    // A list of strings and small enums always encodes.
    codec::encode(Codec::Bincode, messages).map_or(0, |bytes| bytes.len())
}

/// The sealed plaintext: format byte, deadline (Unix seconds, big-endian),
/// the messages.
fn encode(messages: &[&FlashMessage], deadline: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.push(FORMAT);
    out.extend_from_slice(&deadline.to_be_bytes());
    // A list of strings and small enums always encodes.
    let _ = codec::encode_into(Codec::Bincode, messages, &mut out);
    out
}

fn decode(plaintext: &[u8], now: u64) -> Result<Vec<FlashMessage>, String> {
    let Some((&FORMAT, rest)) = plaintext.split_first() else {
        return Err("unknown format".to_owned());
    };
    let (deadline, data) = rest
        .split_first_chunk::<8>()
        .ok_or_else(|| "too short".to_owned())?;
    if u64::from_be_bytes(*deadline) <= now {
        return Err("expired".to_owned());
    }
    codec::decode_with_depth(Codec::Bincode, data, MAX_DEPTH).map_err(|error| error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flash::Level;

    #[test]
    fn plaintext_round_trips_and_refuses_expired_and_foreign_bytes() {
        let messages = [
            FlashMessage::new(Level::Info, "a"),
            FlashMessage::new(Level::Error, "b").with_category("form"),
        ];
        let refs: Vec<&FlashMessage> = messages.iter().collect();
        let plaintext = encode(&refs, 100);
        assert_eq!(decode(&plaintext, 99).expect("opens"), messages);
        assert_eq!(decode(&plaintext, 100).unwrap_err(), "expired");
        assert!(decode(&plaintext[..5], 0).is_err());
        assert!(decode(b"", 0).is_err());
        let mut other = plaintext.clone();
        other[0] = 2;
        assert!(decode(&other, 0).is_err());
        let mut trailing = plaintext;
        trailing.push(0);
        assert!(decode(&trailing, 0).is_err());
    }
}
