//! How a layer hands its request's jar to the code it wraps.
//!
//! The jar is not put into the request's extensions: inserting into an
//! empty `http::Extensions` costs three allocations (the map, its table and
//! the boxed value), more than everything else an untouched request costs.
//! Instead the layer makes its request's [`Slot`] *current* on the thread
//! for exactly as long as it runs the wrapped service: while the inner
//! `call` runs, and during each poll of the inner future. This is what
//! tokio's task-locals do, without tying the crate to tokio's runtime.
//!
//! The slot starts [`Pending`](Slot::Pending), holding only what a jar is
//! built from. The jar itself (one allocation, and a look at the `Cookie`
//! header) is built the first time something asks for it, from the request
//! headers the asker passes in; so a request whose handler never touches
//! cookies or the session costs no allocation and no header lookup.
//! A session layer's slot can also hold the layer's own session
//! ([`Opened`](Slot::Opened)): a handler that opens its session but never
//! asks for the jar gets no jar either, and the session moves into the jar
//! if something asks for it later.
//!
//! The slot is swapped in before and out after (also when the inner
//! service panics), so it never outlives the poll that set it and never
//! leaks into another request served on the same thread.

use std::any::Any;
use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::mem;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::HeaderMap;
use tower_service::Service;

use super::jar::{Cookies, RawCookies};
use crate::key::KeyRing;

/// A request's jar (and, for a session layer, its own session), as the
/// layer that made it holds it.
pub(crate) enum Slot {
    /// Nothing has asked for the jar or the session yet.
    Pending(Origin),
    /// A session layer's own session, opened while nothing asked for the
    /// jar: a request that only uses its session never builds a jar.
    Opened {
        source: Arc<dyn SessionOrigin>,
        session: Erased,
    },
    /// The jar, built on first use. It holds the layer's session, if any.
    Ready(Cookies),
}

/// A session layer's source or session, with its type erased: the jar and
/// the slot hold those of every session type.
pub(crate) type Erased = Arc<dyn Any + Send + Sync>;

/// Who made the jar, which is what it is built from: a cookie layer with
/// its optional key, or a session layer, whose source carries its keys and
/// is attached to the jar.
pub(crate) enum Origin {
    Cookies(Option<Arc<KeyRing>>),
    Session(Arc<dyn SessionOrigin>),
}

/// A session layer's source, as a pending jar keeps it.
pub(crate) trait SessionOrigin: Any + Send + Sync {
    /// The keys the layer's jar opens private cookies with.
    fn keys(&self) -> &Arc<KeyRing>;
}

impl fmt::Debug for Slot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Slot::Pending(_) => f.write_str("Pending"),
            Slot::Opened { .. } => f.write_str("Opened"),
            Slot::Ready(jar) => f.debug_tuple("Ready").field(jar).finish(),
        }
    }
}

impl Slot {
    /// The jar, if something asked for it; `None` means nothing in the
    /// request used cookies (the session may still have been opened).
    pub(crate) fn jar(&self) -> Option<&Cookies> {
        match self {
            Slot::Ready(jar) => Some(jar),
            Slot::Pending(_) | Slot::Opened { .. } => None,
        }
    }

    /// The session layer's own source and its session, while no jar was
    /// built; `None` once there is a jar (which then holds both) or for a
    /// cookie layer.
    pub(crate) fn own_session(&self) -> Option<(&Arc<dyn SessionOrigin>, Option<&Erased>)> {
        match self {
            Slot::Pending(Origin::Session(source)) => Some((source, None)),
            Slot::Opened { source, session } => Some((source, Some(session))),
            Slot::Pending(Origin::Cookies(_)) | Slot::Ready(_) => None,
        }
    }

    /// Keeps `session` as the layer's own session, in a slot whose
    /// [`own_session`](Self::own_session) found none kept; any other slot
    /// is left as it is.
    pub(crate) fn keep_own_session(&mut self, session: Erased) {
        // Moved out and back rather than cloned: no reference counting.
        *self = match mem::replace(self, Slot::Pending(Origin::Cookies(None))) {
            Slot::Pending(Origin::Session(source)) => Slot::Opened { source, session },
            other => other,
        };
    }

    /// The jar, built now from `headers` if nothing asked for it before.
    /// A session opened before moves into it.
    pub(crate) fn force(&mut self, headers: &HeaderMap) -> Cookies {
        let jar = match self {
            Slot::Ready(jar) => return jar.clone(),
            Slot::Pending(origin) => origin.build(RawCookies::new(headers)),
            Slot::Opened { source, session } => {
                session_jar(RawCookies::new(headers), source, Some(Arc::clone(session)))
            }
        };
        *self = Slot::Ready(jar.clone());
        jar
    }
}

impl Origin {
    fn build(&self, raw: RawCookies) -> Cookies {
        match self {
            Origin::Cookies(key) => Cookies::from_raw(raw, key.clone(), None),
            Origin::Session(source) => session_jar(raw, source, None),
        }
    }
}

/// A session layer's jar, carrying its source and its session if opened.
fn session_jar(
    raw: RawCookies,
    source: &Arc<dyn SessionOrigin>,
    session: Option<Erased>,
) -> Cookies {
    let keys = Some(Arc::clone(source.keys()));
    let source: Erased = source.clone();
    Cookies::from_raw(raw, keys, Some((source, session)))
}

thread_local! {
    static CURRENT: RefCell<Option<Slot>> = const { RefCell::new(None) };
}

/// Calls `inner` with `slot` current: how both layers start a request.
#[inline]
pub(crate) fn call_within<S: Service<R>, R>(
    slot: &mut Option<Slot>,
    inner: &mut S,
    request: R,
) -> S::Future {
    let _entered = Entered::new(slot);
    inner.call(request)
}

/// Polls `future` with `slot` current: how both layers poll the service
/// they wrap.
#[inline]
pub(crate) fn poll_within<F: Future>(
    slot: &mut Option<Slot>,
    future: Pin<&mut F>,
    cx: &mut Context<'_>,
) -> Poll<F::Output> {
    let _entered = Entered::new(slot);
    future.poll(cx)
}

/// While this lives, its slot (if `Some`) is the current one; dropping it,
/// also while a panic unwinds, puts back whatever was current before. A
/// `None` slot (a layer sharing an outer jar) changes nothing.
struct Entered<'a>(Option<&'a mut Option<Slot>>);

impl<'a> Entered<'a> {
    #[inline]
    fn new(slot: &'a mut Option<Slot>) -> Self {
        if slot.is_none() {
            return Entered(None);
        }
        swap(slot);
        Entered(Some(slot))
    }
}

impl Drop for Entered<'_> {
    #[inline]
    fn drop(&mut self) {
        if let Some(slot) = self.0.as_deref_mut() {
            swap(slot);
        }
    }
}

/// Exchanges `slot` with the thread's current one. A thread that is being
/// torn down has none, and nothing is exchanged.
#[inline]
fn swap(slot: &mut Option<Slot>) {
    let _ = CURRENT.try_with(|current| mem::swap(&mut *current.borrow_mut(), slot));
}

/// Whether a layer is running this code.
pub(crate) fn is_active() -> bool {
    CURRENT
        // Borrowed already: a slot is in use further up this thread's stack.
        .try_with(|current| current.try_borrow().map_or(true, |slot| slot.is_some()))
        .unwrap_or(false)
}

/// The current request's jar, built now from `headers` (that request's
/// headers) if nothing asked for it before; `None` if no layer is running
/// this code.
pub(crate) fn current(headers: &HeaderMap) -> Option<Cookies> {
    with_current(|slot| slot.force(headers))
}

/// Runs `f` on the current request's slot; `None` if no layer is running
/// this code, or if `f` is already running further up this thread's stack
/// (code that `f` runs, such as an application's `Deserialize`, asked for
/// the jar or the session again).
pub(crate) fn with_current<R>(f: impl FnOnce(&mut Slot) -> R) -> Option<R> {
    CURRENT
        .try_with(|current| current.try_borrow_mut().ok()?.as_mut().map(f))
        .ok()
        .flatten()
}
