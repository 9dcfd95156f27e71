//! One `Set-Cookie` line as a browser reads it, through the `cookie`
//! crate's parser.

use std::time::{Duration, SystemTime};

use cookie::Cookie;

/// What a `Set-Cookie` line asks of the browser.
#[derive(Debug, Clone)]
pub(crate) struct Line {
    pub(crate) name: String,
    /// As sent: the layer's values need no decoding.
    pub(crate) value: String,
    pub(crate) max_age: Option<Duration>,
    pub(crate) expires: Option<SystemTime>,
    pub(crate) domain: Option<String>,
    pub(crate) path: Option<String>,
    pub(crate) secure: bool,
}

/// The line, or `None` for one a browser would ignore (no `=`, no name).
pub(crate) fn parse(line: &str) -> Option<Line> {
    let cookie = Cookie::parse(line).ok()?;
    if cookie.name().is_empty() {
        return None;
    }
    let max_age = cookie.max_age().map(|age| {
        // Negative ages remove the cookie, as zero does.
        Duration::from_secs(u64::try_from(age.whole_seconds()).unwrap_or(0))
    });
    let expires = cookie.expires_datetime().map(SystemTime::from);
    Some(Line {
        name: cookie.name().to_owned(),
        value: cookie.value().to_owned(),
        max_age,
        expires,
        domain: cookie.domain().map(|domain| domain.to_ascii_lowercase()),
        path: cookie.path().map(str::to_owned),
        secure: cookie.secure().unwrap_or(false),
    })
}

impl Line {
    /// When the cookie expires, as a browser judges it at `now`: `Max-Age`
    /// wins over `Expires`; `None` for a cookie kept until the browser
    /// closes.
    pub(crate) fn expires_at(&self, now: SystemTime) -> Option<SystemTime> {
        match self.max_age {
            Some(age) => Some(now + age),
            None => self.expires,
        }
    }

    /// Whether the line removes the cookie at `now`: `Max-Age=0` (or
    /// less), or an `Expires` not after `now`.
    pub(crate) fn removes_at(&self, now: SystemTime) -> bool {
        self.expires_at(now).is_some_and(|at| at <= now)
    }
}
