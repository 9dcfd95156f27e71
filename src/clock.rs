//! The one source of "now", so tests can move time instead of sleeping.
//!
//! # Examples
//!
//! A clock that tests can move forward:
//!
//! ```
//! use std::sync::atomic::{AtomicU64, Ordering};
//! use std::sync::Arc;
//! use std::time::{Duration, SystemTime, UNIX_EPOCH};
//! use tower_cookie_sessions::Clock;
//!
//! let seconds = Arc::new(AtomicU64::new(1_700_000_000));
//! let clock = {
//!     let seconds = Arc::clone(&seconds);
//!     move || UNIX_EPOCH + Duration::from_secs(seconds.load(Ordering::SeqCst))
//! };
//! seconds.fetch_add(60, Ordering::SeqCst);
//! assert_eq!(clock.now(), UNIX_EPOCH + Duration::from_secs(1_700_000_060));
//! ```

use std::fmt;
use std::time::SystemTime;

/// A source of the current time.
///
/// Implemented for [`SystemClock`] and for any `Fn() -> SystemTime` closure
/// that is `Send + Sync`.
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::{Clock, SystemClock};
///
/// let now = SystemClock.now();
/// assert!(now > std::time::UNIX_EPOCH);
/// ```
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    ///
    /// # Examples
    ///
    /// A clock that tests move by hand:
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use std::sync::Arc;
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use tower_cookie_sessions::Clock;
    ///
    /// let seconds = Arc::new(AtomicU64::new(1_700_000_000));
    /// let clock = {
    ///     let seconds = Arc::clone(&seconds);
    ///     move || UNIX_EPOCH + Duration::from_secs(seconds.load(Ordering::Relaxed))
    /// };
    /// seconds.fetch_add(60, Ordering::Relaxed);
    /// assert_eq!(clock.now(), UNIX_EPOCH + Duration::from_secs(1_700_000_060));
    /// ```
    fn now(&self) -> SystemTime;
}

/// The operating system's wall clock; the default.
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::{Clock, SystemClock};
///
/// let _ = SystemClock.now();
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

impl<F> Clock for F
where
    F: Fn() -> SystemTime + Send + Sync + 'static,
{
    fn now(&self) -> SystemTime {
        self()
    }
}

/// Debug for a shared clock without requiring `Debug` from closures.
pub(crate) struct ClockDebug;

impl fmt::Debug for ClockDebug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Clock")
    }
}

/// Whole seconds since the Unix epoch; times before it count as zero.
pub(crate) fn unix_seconds(time: SystemTime) -> u64 {
    time.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// The latest time [`from_unix_seconds`] gives: 9999-12-31T23:59:59Z,
/// which every platform's `SystemTime` holds.
pub(crate) const MAX_UNIX_SECONDS: u64 = 253_402_300_799;

/// The time `seconds` after the Unix epoch, or [`MAX_UNIX_SECONDS`] when
/// that is later. A deadline is a sealed `u64`, and one far enough out
/// (written with the key, or by a store) would overflow `SystemTime`; past
/// the year 9999 every such deadline means "never", and saturating keeps
/// its meaning without a panic.
pub(crate) fn from_unix_seconds(seconds: u64) -> SystemTime {
    std::time::UNIX_EPOCH + std::time::Duration::from_secs(seconds.min(MAX_UNIX_SECONDS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn far_deadlines_saturate_instead_of_overflowing() {
        let max = from_unix_seconds(MAX_UNIX_SECONDS);
        assert_eq!(from_unix_seconds(u64::MAX), max);
        assert_eq!(from_unix_seconds(MAX_UNIX_SECONDS + 1), max);
        assert_eq!(unix_seconds(max), MAX_UNIX_SECONDS);
        assert_eq!(
            unix_seconds(from_unix_seconds(1_700_000_000)),
            1_700_000_000
        );
    }
}
