//! "Your devices": what a store session's record says about the browser
//! that holds it, and the public handle that names it.
//!
//! Every record's plaintext starts with a device block, sealed with the
//! rest of the record:
//!
//! ```text
//! handle (16 bytes) | created | last written | label length + 1 (0: none) | label
//! ```
//!
//! Numbers are LEB128 varints; times are Unix seconds. The handle is drawn
//! from the CSPRNG when the session is first stored, independent of the
//! session id, so it can be shown, logged and posted back in a form
//! without opening anything; a renewed session keeps it (and its creation
//! time), a destroyed one does not.

use std::fmt;
use std::str::FromStr;
use std::time::SystemTime;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use crate::clock::from_unix_seconds;
use crate::session::shared::plaintext::{read_varint, write_varint};
use crate::session::store::ids;

/// The bytes of a handle.
const HANDLE_LEN: usize = 16;
/// Its base64url text: 22 characters.
const HANDLE_TEXT_LEN: usize = 22;

/// The public name of one stored session, for a "your devices" page: shown
/// to its owner, posted back to end it with
/// [`SessionLayer::end_device`](crate::SessionLayer::end_device).
///
/// It is random, independent of the session id, and opens nothing: ending
/// a session by its handle also needs the owner, so a handle of someone
/// else's session ends nothing. It stays the same when the session is
/// [renewed](crate::Session::renew). As text it is 22 base64url
/// characters.
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::session::DeviceHandle;
///
/// let handle: DeviceHandle = "AAECAwQFBgcICQoLDA0ODw".parse()?;
/// assert_eq!(handle.to_string(), "AAECAwQFBgcICQoLDA0ODw");
/// assert!("not a handle".parse::<DeviceHandle>().is_err());
/// # Ok::<(), tower_cookie_sessions::session::DeviceHandleError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct DeviceHandle(pub(crate) [u8; HANDLE_LEN]);

impl fmt::Display for DeviceHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = [0u8; HANDLE_TEXT_LEN];
        let written = URL_SAFE_NO_PAD
            .encode_slice(self.0, &mut text)
            .map_err(|_| fmt::Error)?;
        f.write_str(std::str::from_utf8(&text[..written]).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for DeviceHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DeviceHandle({self})")
    }
}

/// Text that is not a [`DeviceHandle`].
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::session::DeviceHandle;
///
/// let error = "x".parse::<DeviceHandle>().unwrap_err();
/// assert_eq!(error.to_string(), "not a device handle (22 base64url characters)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceHandleError;

impl fmt::Display for DeviceHandleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a device handle (22 base64url characters)")
    }
}

impl std::error::Error for DeviceHandleError {}

impl FromStr for DeviceHandle {
    type Err = DeviceHandleError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.len() != HANDLE_TEXT_LEN {
            return Err(DeviceHandleError);
        }
        let mut bytes = [0u8; HANDLE_LEN];
        match URL_SAFE_NO_PAD.decode_slice(text, &mut bytes) {
            Ok(HANDLE_LEN) => Ok(Self(bytes)),
            _ => Err(DeviceHandleError),
        }
    }
}

impl serde::Serialize for DeviceHandle {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for DeviceHandle {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// One of an owner's live sessions, as
/// [`SessionLayer::devices`](crate::SessionLayer::devices) lists them.
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::session::Device;
///
/// fn describe(device: &Device) -> String {
///     format!(
///         "{} (since {:?}, last seen {:?})",
///         device.label().unwrap_or("unknown device"),
///         device.created(),
///         device.last_seen(),
///     )
/// }
/// # let _ = describe;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub(crate) handle: DeviceHandle,
    pub(crate) label: Option<String>,
    pub(crate) created: SystemTime,
    pub(crate) last_seen: SystemTime,
    pub(crate) expires: SystemTime,
}

impl Device {
    /// The session's public handle; compare it with
    /// [`Session::device`](crate::Session::device) to mark "this device".
    ///
    /// # Examples
    ///
    /// ```
    /// # use tower_cookie_sessions::session::Device;
    /// # use tower_cookie_sessions::Session;
    /// fn is_current(device: &Device, session: &Session<u64>) -> bool {
    ///     session.device() == Some(device.handle())
    /// }
    /// # let _ = is_current;
    /// ```
    #[must_use]
    pub fn handle(&self) -> DeviceHandle {
        self.handle
    }

    /// The label the application gave the session
    /// ([`Session::set_device_label`](crate::Session::set_device_label)),
    /// such as "Firefox on Linux".
    ///
    /// # Examples
    ///
    /// ```
    /// # use tower_cookie_sessions::session::Device;
    /// fn label(device: &Device) -> &str {
    ///     device.label().unwrap_or("unknown device")
    /// }
    /// # let _ = label;
    /// ```
    #[must_use]
    pub fn label(&self) -> Option<&str> {
        self.label.as_deref()
    }

    /// When the session was first stored (a renewal keeps it), to the
    /// second.
    ///
    /// # Examples
    ///
    /// ```
    /// # use tower_cookie_sessions::session::Device;
    /// fn age(device: &Device) -> std::time::Duration {
    ///     device.created().elapsed().unwrap_or_default()
    /// }
    /// # let _ = age;
    /// ```
    #[must_use]
    pub fn created(&self) -> SystemTime {
        self.created
    }

    /// When the session was last written, or its inactivity deadline last
    /// moved (a rolling refresh): reads alone write nothing, so this lags
    /// the last request by up to the refresh interval.
    ///
    /// # Examples
    ///
    /// ```
    /// # use tower_cookie_sessions::session::Device;
    /// fn seen_today(device: &Device) -> bool {
    ///     device.last_seen().elapsed().is_ok_and(|since| since.as_secs() < 86_400)
    /// }
    /// # let _ = seen_today;
    /// ```
    #[must_use]
    pub fn last_seen(&self) -> SystemTime {
        self.last_seen
    }

    /// When the session expires unless it is used again.
    ///
    /// # Examples
    ///
    /// ```
    /// # use tower_cookie_sessions::session::Device;
    /// fn expires(device: &Device) -> std::time::SystemTime {
    ///     device.expires()
    /// }
    /// # let _ = expires;
    /// ```
    #[must_use]
    pub fn expires(&self) -> SystemTime {
        self.expires
    }
}

/// A stored session's handle and when it was first stored: what a
/// renewal carries over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Origin {
    pub(crate) handle: DeviceHandle,
    pub(crate) created: u64,
}

impl Origin {
    /// A new device, first stored at `now`.
    pub(crate) fn fresh(now: u64) -> Result<Self, getrandom::Error> {
        Ok(Self {
            handle: DeviceHandle(ids::fresh_id()?),
            created: now,
        })
    }
}

/// A decoded device block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Meta {
    pub(crate) origin: Origin,
    /// When the record was last written.
    pub(crate) written: u64,
    pub(crate) label: Option<String>,
}

/// Appends the device block for a record written at `now`.
pub(crate) fn encode_into(origin: &Origin, now: u64, label: Option<&str>, out: &mut Vec<u8>) {
    out.extend_from_slice(&origin.handle.0);
    let mut numbers = [0u8; 30];
    let mut len = write_varint(&mut numbers, origin.created);
    len += write_varint(&mut numbers[len..], now);
    let label_len = label.map_or(0, |label| label.len() as u64 + 1);
    len += write_varint(&mut numbers[len..], label_len);
    out.extend_from_slice(&numbers[..len]);
    if let Some(label) = label {
        out.extend_from_slice(label.as_bytes());
    }
}

/// The device block at the start of a record's plaintext and the session
/// plaintext after it; `None` when it is malformed.
pub(crate) fn decode(bytes: &[u8]) -> Option<(Meta, &[u8])> {
    let (handle, mut rest) = bytes.split_first_chunk::<HANDLE_LEN>()?;
    let created = read_varint(&mut rest)?;
    let written = read_varint(&mut rest)?;
    let label_len = read_varint(&mut rest)?;
    let label = match usize::try_from(label_len).ok()?.checked_sub(1) {
        None => None,
        Some(len) => {
            let (label, after) = rest.split_at_checked(len)?;
            rest = after;
            Some(std::str::from_utf8(label).ok()?.to_owned())
        }
    };
    let origin = Origin {
        handle: DeviceHandle(*handle),
        created,
    };
    Some((
        Meta {
            origin,
            written,
            label,
        },
        rest,
    ))
}

impl Meta {
    /// The device as listed: last seen is the later of the last write and
    /// the last rolling refresh, which moved `expires_at` by `idle` without
    /// rewriting the record.
    pub(crate) fn device(self, expires_at: SystemTime, idle: Option<u64>) -> Device {
        let expires = crate::clock::unix_seconds(expires_at);
        let refreshed = idle.map_or(0, |idle| expires.saturating_sub(idle));
        Device {
            handle: self.origin.handle,
            label: self.label,
            created: from_unix_seconds(self.origin.created),
            last_seen: from_unix_seconds(self.written.max(refreshed)),
            expires: expires_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> Origin {
        Origin {
            handle: DeviceHandle([9; HANDLE_LEN]),
            created: 1_700_000_000,
        }
    }

    #[test]
    fn blocks_round_trip_with_and_without_a_label() {
        for label in [None, Some(""), Some("Firefox on Linux")] {
            let mut out = Vec::new();
            encode_into(&origin(), 1_700_000_500, label, &mut out);
            out.extend_from_slice(b"session");
            let (meta, rest) = decode(&out).expect("decodes");
            assert_eq!(meta.origin, origin());
            assert_eq!(meta.written, 1_700_000_500);
            assert_eq!(meta.label.as_deref(), label);
            assert_eq!(rest, b"session");
        }
    }

    #[test]
    fn truncated_or_malformed_blocks_are_refused() {
        let mut out = Vec::new();
        encode_into(&origin(), 1_700_000_500, Some("label"), &mut out);
        for len in 0..out.len() {
            assert!(decode(&out[..len]).is_none(), "{len}");
        }
        let mut not_utf8 = out.clone();
        let last = not_utf8.len() - 1;
        not_utf8[last] = 0xff;
        assert!(decode(&not_utf8).is_none());
    }

    #[test]
    fn handles_round_trip_as_text_and_refuse_other_text() {
        let handle = Origin::fresh(0).expect("randomness").handle;
        let text = handle.to_string();
        assert_eq!(text.len(), HANDLE_TEXT_LEN);
        assert_eq!(text.parse::<DeviceHandle>(), Ok(handle));
        for bad in [
            "",
            "short",
            "AAECAwQFBgcICQoLDA0OD",
            "AAECAwQFBgcICQoLDA0ODw=",
            "AAECAwQFBgcICQoLDA0OD+",
        ] {
            assert!(bad.parse::<DeviceHandle>().is_err(), "{bad}");
        }
    }

    #[test]
    fn last_seen_is_the_later_of_write_and_refresh() {
        let meta = Meta {
            origin: origin(),
            written: 1_000,
            label: None,
        };
        let expires = from_unix_seconds(5_000);
        assert_eq!(
            meta.clone().device(expires, None).last_seen,
            from_unix_seconds(1_000)
        );
        assert_eq!(
            meta.clone().device(expires, Some(3_000)).last_seen,
            from_unix_seconds(2_000)
        );
        assert_eq!(
            meta.device(expires, Some(4_500)).last_seen,
            from_unix_seconds(1_000)
        );
    }
}
