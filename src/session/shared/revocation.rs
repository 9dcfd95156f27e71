//! Revoking client-side sessions before their deadlines: a cutoff on the
//! sealed issue time, and the application's own check run on load.

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::clock::from_unix_seconds;
use crate::session::shared::backend::BoxFuture;
use crate::store::StoreError;

/// Signs out every client-side session issued before a point in time:
/// "sign everybody out" without rotating the key.
///
/// Obtained from [`SessionLayer::revocation`](crate::SessionLayer::revocation).
/// Clones share one cutoff with the layer they came from, the layer's
/// clones and the layers its builder methods make, so a handle kept by the
/// application (an admin route, a task polling shared configuration)
/// changes what the running service accepts, from its next request on.
///
/// A session whose sealed issue time (set when it was started, and again
/// by [`Session::renew`](crate::Session::renew)) is before the cutoff is
/// refused when it is loaded: the handler gets a fresh session and the
/// response removes the refused session's cookies.
///
/// The cutoff lives in this process's memory only. With several
/// instances, apply it on every one: keep the time in shared
/// configuration or a database row and have each instance call
/// [`revoke_issued_before`](Self::revoke_issued_before) with it at start
/// and whenever it changes (a periodic poll is enough: until an instance
/// sees the new time it keeps accepting the old sessions). A restart
/// forgets the cutoff unless it is applied again.
///
/// # Examples
///
/// ```
/// use std::time::SystemTime;
/// use tower_cookie_sessions::{Key, SessionLayer};
///
/// # fn main() -> Result<(), tower_cookie_sessions::ConfigError> {
/// let layer = SessionLayer::<u64>::new(Key::generate())?;
/// let revocation = layer.revocation();
/// assert_eq!(revocation.issued_before(), None);
///
/// // Later, from an admin route: everybody signs in again.
/// revocation.revoke_issued_before(SystemTime::now());
/// assert!(revocation.issued_before().is_some());
/// # let _ = layer;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Revocation {
    /// Sessions issued before this Unix second are refused; 0 refuses none.
    cutoff: Arc<AtomicU64>,
}

impl Revocation {
    /// A cutoff that refuses nothing yet, for a new layer.
    pub(crate) fn new() -> Self {
        Self {
            cutoff: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Refuses every session issued before `time`, from the next request
    /// on. The cutoff only moves forward: a `time` earlier than the current
    /// cutoff changes nothing, so instances that apply the times they poll
    /// in any order agree on the latest.
    ///
    /// Issue times are sealed to the second: a session issued in the same
    /// second as `time`, even just after it, is refused too. Pass a time
    /// from one source for all instances (the one you store), rather than
    /// each instance's own clock.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use tower_cookie_sessions::{Key, SessionLayer};
    ///
    /// let layer = SessionLayer::<u64>::new(Key::generate()).unwrap();
    /// let revocation = layer.revocation();
    /// let noon = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    /// revocation.revoke_issued_before(noon);
    /// revocation.revoke_issued_before(noon - Duration::from_secs(60));
    /// assert_eq!(revocation.issued_before(), Some(noon), "never moves back");
    /// ```
    pub fn revoke_issued_before(&self, time: SystemTime) {
        let since_epoch = time.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
        // Rounded up: a session issued in second `s` began before any time
        // after `s`.
        let seconds = since_epoch.as_secs() + u64::from(since_epoch.subsec_nanos() > 0);
        self.cutoff.fetch_max(seconds, Ordering::Release);
    }

    /// The current cutoff, whole seconds: sessions issued before it are
    /// refused. `None` until [`revoke_issued_before`](Self::revoke_issued_before)
    /// is called.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::{Key, SessionLayer};
    ///
    /// let layer = SessionLayer::<u64>::new(Key::generate()).unwrap();
    /// assert_eq!(layer.revocation().issued_before(), None);
    /// ```
    #[must_use]
    pub fn issued_before(&self) -> Option<SystemTime> {
        match self.cutoff.load(Ordering::Acquire) {
            0 => None,
            seconds => Some(from_unix_seconds(seconds)),
        }
    }

    /// Whether a session issued at `issued` (Unix seconds) is revoked.
    pub(crate) fn refuses(&self, issued: u64) -> bool {
        issued < self.cutoff.load(Ordering::Acquire)
    }
}

impl fmt::Debug for Revocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Revocation")
            .field("issued_before", &self.issued_before())
            .finish()
    }
}

/// The application's check of a loaded client-side session: its data and
/// issue time in, whether to keep it out.
pub(crate) type LoadHook<T> =
    Arc<dyn Fn(&T, SystemTime) -> BoxFuture<Result<bool, StoreError>> + Send + Sync>;

/// Boxes the application's hook into a [`LoadHook`].
pub(crate) fn load_hook<T, F, Fut>(hook: F) -> LoadHook<T>
where
    F: Fn(&T, SystemTime) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<bool, StoreError>> + Send + 'static,
{
    Arc::new(move |data, issued| Box::pin(hook(data, issued)))
}
