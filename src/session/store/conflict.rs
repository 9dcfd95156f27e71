//! What a server-side session layer does when two requests changed one
//! session at once.

use std::fmt;
use std::sync::Arc;

use crate::map::SessionMap;

/// A three-way merge: the data as this request loaded it, as this request
/// left it, and as it is now in the store. `None` means the changes
/// conflict.
pub(crate) type MergeFn<T> = Arc<dyn Fn(&T, &T, &T) -> Option<T> + Send + Sync>;

/// How a server-side session layer resolves a save that lost a race.
///
/// Every save is compare-and-set on the record's version, so a request
/// that loaded version 3 cannot overwrite version 4 written meanwhile by
/// another request. What happens then:
///
/// - [`ConflictPolicy::Error`] (the default): the response becomes
///   `409 Conflict` (through [`on_error`](crate::session::SessionLayerBuilder::on_error))
///   and a `tracing` warning is logged. The handler has already run; only
///   its session changes are dropped, and the client is told.
/// - a merge: the layer loads the latest version, merges, and saves again,
///   at most three times before answering as for `Error`. The default for
///   [`SessionMap`] sessions is [`ConflictPolicy::merge_keys`]: changes to
///   different keys both stay.
/// - [`ConflictPolicy::KeepLatest`] (opt in): the other request's version
///   stays, **this request's session changes are dropped** silently (a
///   `tracing` warning is logged), and the handler's response goes out as
///   it is. Only for sessions whose changes may be lost, such as a
///   "last page visited".
///
/// A request whose changes leave the data as it was loaded saves nothing,
/// so it never conflicts.
///
/// Client-side sessions have no store to compare against: the last
/// response wins.
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::{ConflictPolicy, Key, MemoryStore, SessionLayer, SessionMap};
///
/// # fn main() -> Result<(), tower_cookie_sessions::ConfigError> {
/// let layer = SessionLayer::<SessionMap>::store_builder(Key::generate(), MemoryStore::new())
///     .conflict_policy(ConflictPolicy::merge_keys())
///     .build()?;
/// # let _ = layer;
/// # Ok(())
/// # }
/// ```
#[derive(Default)]
#[non_exhaustive]
pub enum ConflictPolicy<T> {
    /// Refuse the save: `409 Conflict`.
    #[default]
    Error,
    /// Keep the version the other request saved and drop this request's
    /// session changes, without an error.
    KeepLatest,
    /// Merge with the latest version and retry.
    Merge {
        /// The merge function.
        merge: MergeFn<T>,
        /// Whether a request that replaced the whole data (`set`, `clear`)
        /// conflicts without calling `merge`.
        replace_conflicts: bool,
    },
}

impl<T: 'static> ConflictPolicy<T> {
    /// The policy a store layer starts with: [`merge_keys`](ConflictPolicy::merge_keys)
    /// for [`SessionMap`], whose changes are tracked per key, and `Error`
    /// for every other type, whose changes the layer cannot tell apart.
    pub(crate) fn default_for() -> Self {
        let merge_keys: Box<dyn std::any::Any> =
            Box::new(ConflictPolicy::<SessionMap>::merge_keys());
        merge_keys
            .downcast::<Self>()
            .map_or(ConflictPolicy::Error, |policy| *policy)
    }
}

impl<T> ConflictPolicy<T> {
    /// Merge with `merge(loaded, mine, latest)`, which returns the merged
    /// data or `None` when the changes conflict.
    ///
    /// # Examples
    ///
    /// Two counters that only ever grow merge by adding both increments:
    ///
    /// ```
    /// use tower_cookie_sessions::session::ConflictPolicy;
    ///
    /// let policy = ConflictPolicy::<u64>::merge(|loaded, mine, latest| {
    ///     Some(latest + (mine - loaded))
    /// });
    /// # let _ = policy;
    /// ```
    pub fn merge<F>(merge: F) -> Self
    where
        F: Fn(&T, &T, &T) -> Option<T> + Send + Sync + 'static,
    {
        ConflictPolicy::Merge {
            merge: Arc::new(merge),
            replace_conflicts: false,
        }
    }
}

impl ConflictPolicy<SessionMap> {
    /// [`SessionMap`]'s merge: re-apply this request's changed and removed
    /// keys onto the latest version. The same key changed by both requests
    /// conflicts, and so do `set` and `clear`, which replace every key.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::session::ConflictPolicy;
    /// use tower_cookie_sessions::SessionMap;
    ///
    /// let policy: ConflictPolicy<SessionMap> = ConflictPolicy::merge_keys();
    /// # let _ = policy;
    /// ```
    #[must_use]
    pub fn merge_keys() -> Self {
        ConflictPolicy::Merge {
            merge: Arc::new(|_loaded, mine: &SessionMap, latest| mine.merge_onto(latest).ok()),
            replace_conflicts: true,
        }
    }
}

impl<T> Clone for ConflictPolicy<T> {
    fn clone(&self) -> Self {
        match self {
            ConflictPolicy::Error => ConflictPolicy::Error,
            ConflictPolicy::KeepLatest => ConflictPolicy::KeepLatest,
            ConflictPolicy::Merge {
                merge,
                replace_conflicts,
            } => ConflictPolicy::Merge {
                merge: Arc::clone(merge),
                replace_conflicts: *replace_conflicts,
            },
        }
    }
}

impl<T> fmt::Debug for ConflictPolicy<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConflictPolicy::Error => f.write_str("Error"),
            ConflictPolicy::KeepLatest => f.write_str("KeepLatest"),
            ConflictPolicy::Merge {
                replace_conflicts, ..
            } => f
                .debug_struct("Merge")
                .field("replace_conflicts", replace_conflicts)
                .finish_non_exhaustive(),
        }
    }
}
