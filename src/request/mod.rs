//! The state one request carries through every layer: its `Cookie`
//! fields, the jar's changes, and the layers that set a cookie of their
//! own (their registrations, and what each keeps for the request, such as
//! an opened session).
//!
//! It is a single allocation, made by the outermost layer and put into the
//! request's extensions behind the public [`Cookies`](crate::Cookies),
//! which is its facade for handlers: a session, a flash or a private
//! cookie is found through the request that carries it, in any task that
//! holds it, and a sub-request a handler sends has a state of its own.
//! One lock covers the jar's changes and the registrations, so a layer's
//! response sees both as of one moment.

use std::borrow::Cow;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use http::header::COOKIE;
use http::{HeaderMap, HeaderValue};

use crate::cookies::jar::JarState;
use crate::cookies::parse::{values_named, values_named_or_under};
use crate::key::KeyRing;

pub(crate) mod owners;

use self::owners::{Owners, Registered, Registration};

/// What one request carries: see the module docs.
pub(crate) struct RequestState {
    /// The request's `Cookie` fields, kept raw: cloning a `HeaderValue` is a
    /// reference-count increment, and parsing waits for the first access.
    raw: RawCookies,
    locked: Mutex<Locked>,
}

/// The part of a request's state that changes while it is served.
pub(crate) struct Locked {
    pub(crate) jar: JarState,
    /// The layers that set a cookie of their own, outermost first.
    pub(crate) owners: Owners,
}

/// The request's `Cookie` fields. Nearly every request has at most one,
/// so it is kept inline and only further fields take a `Vec`.
pub(crate) struct RawCookies {
    first: Option<HeaderValue>,
    more: Vec<HeaderValue>,
}

impl RawCookies {
    pub(crate) fn iter(&self) -> impl Iterator<Item = &HeaderValue> {
        self.first.iter().chain(&self.more)
    }

    fn new(headers: &HeaderMap) -> Self {
        let mut fields = headers.get_all(COOKIE).iter();
        Self {
            first: fields.next().cloned(),
            more: fields.cloned().collect(),
        }
    }
}

impl RequestState {
    /// The state of a request with these headers, its jar sealing private
    /// cookies with `key`, and its first registered layer; nothing is
    /// parsed yet.
    pub(crate) fn new(
        headers: &HeaderMap,
        key: Option<Arc<KeyRing>>,
        owner: Option<Registration>,
    ) -> Arc<Self> {
        Arc::new(Self {
            raw: RawCookies::new(headers),
            locked: Mutex::new(Locked {
                jar: JarState::new(key),
                owners: Owners::with_first(owner),
            }),
        })
    }

    /// A layer inside the one that made the state joins it: with its key,
    /// if it has one (private cookies use the innermost layer's), and its
    /// registration, if it sets a cookie of its own.
    pub(crate) fn join(
        &self,
        key: Option<&Arc<KeyRing>>,
        owner: Option<Registration>,
    ) -> Option<Registered> {
        let mut locked = self.lock();
        if let Some(key) = key {
            locked.jar.set_key(Arc::clone(key));
        }
        owner.map(|owner| locked.owners.register(owner))
    }

    /// Runs `f` on the registration at `index` (as [`Registered::New`]
    /// gave it), with whether the jar itself has changes to write: all in
    /// one lock.
    pub(crate) fn with_owner<R>(
        &self,
        index: usize,
        f: impl FnOnce(Option<&mut Registration>, bool) -> R,
    ) -> R {
        let mut locked = self.lock();
        let changed = locked.jar.has_changes();
        f(locked.owners.get_mut(index), changed)
    }

    /// The first answer `find` gives, trying the innermost registered layer
    /// first. The state is locked while `find` runs: it may read request
    /// cookies ([`values`](Self::values)), which needs no lock, but
    /// nothing else of the state.
    pub(crate) fn find_owner<R>(
        &self,
        find: impl FnMut(&mut Registration) -> Option<R>,
    ) -> Option<R> {
        self.lock().owners.find_innermost(find)
    }

    /// The raw `Cookie` fields.
    pub(crate) fn raw(&self) -> &RawCookies {
        &self.raw
    }

    /// The values of the request cookies called `name`, in header order
    /// (percent-decoded if they contain a `%`); changes made in this
    /// request are ignored. Reads the raw header without parsing or caching
    /// the whole jar, and borrows each value unless it had to be decoded.
    /// Values are not checked further: callers open them as sealed
    /// base64url, which refuses anything else.
    pub(crate) fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = Cow<'a, [u8]>> + 'a {
        self.raw
            .iter()
            .flat_map(move |field| values_named(field.as_bytes(), name))
    }

    /// [`values`](Self::values) of the cookies called `name` or
    /// `name.SUFFIX`, each with its `SUFFIX` (`None` for `name` itself): a
    /// session's cookie and its chunks, in one pass.
    pub(crate) fn values_under<'a>(
        &'a self,
        name: &'a str,
    ) -> impl Iterator<Item = (Option<&'a [u8]>, Cow<'a, [u8]>)> + 'a {
        self.raw
            .iter()
            .flat_map(move |field| values_named_or_under(field.as_bytes(), name))
    }

    /// A panic elsewhere while the lock was held cannot leave the state
    /// half-updated (every update is a single push, retain or assignment),
    /// so a poisoned lock is used as it is rather than spreading the panic.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Locked> {
        self.locked.lock().unwrap_or_else(PoisonError::into_inner)
    }

    #[cfg(test)]
    pub(crate) fn is_poisoned(&self) -> bool {
        self.locked.is_poisoned()
    }
}
