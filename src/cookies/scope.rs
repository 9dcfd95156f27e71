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

/// A request's jar, as the layer that made it holds it.
pub(crate) enum Slot {
    /// Nothing has asked for the jar yet.
    Pending(Origin),
    /// The jar, built on first use.
    Ready(Cookies),
}

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
            Slot::Ready(jar) => f.debug_tuple("Ready").field(jar).finish(),
        }
    }
}

impl Slot {
    /// The jar, if something asked for it; `None` means nothing in the
    /// request used cookies or the session.
    pub(crate) fn jar(&self) -> Option<&Cookies> {
        match self {
            Slot::Ready(jar) => Some(jar),
            Slot::Pending(_) => None,
        }
    }

    /// The jar, built now from `headers` if nothing asked for it before.
    fn force(&mut self, headers: &HeaderMap) -> Cookies {
        let jar = match self {
            Slot::Ready(jar) => return jar.clone(),
            Slot::Pending(origin) => origin.build(RawCookies::new(headers)),
        };
        *self = Slot::Ready(jar.clone());
        jar
    }
}

impl Origin {
    fn build(&self, raw: RawCookies) -> Cookies {
        match self {
            Origin::Cookies(key) => Cookies::from_raw(raw, key.clone(), None),
            Origin::Session(source) => {
                let keys = Some(Arc::clone(source.keys()));
                let source: Arc<dyn Any + Send + Sync> = source.clone();
                Cookies::from_raw(raw, keys, Some(source))
            }
        }
    }
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
        .try_with(|current| current.borrow().is_some())
        .unwrap_or(false)
}

/// The current request's jar, built now from `headers` (that request's
/// headers) if nothing asked for it before; `None` if no layer is running
/// this code.
pub(crate) fn current(headers: &HeaderMap) -> Option<Cookies> {
    CURRENT
        .try_with(|current| {
            current
                .borrow_mut()
                .as_mut()
                .map(|slot| slot.force(headers))
        })
        .ok()
        .flatten()
}
