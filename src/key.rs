//! Master keys, key rings and per-purpose subkeys.
//!
//! A [`Key`] is 32 bytes of secret. It is never used directly: each
//! [`Purpose`] seals with its own subkey, derived with HKDF-SHA256 whose
//! `info` names this crate, the envelope format version and the purpose, so
//! a value sealed for one purpose never opens as another.
//!
//! A [`KeyRing`] holds the key that seals new values and any number of older
//! keys that still open values sealed before a rotation. Every key has a
//! one-byte id that travels in the envelope, so opening picks the right key
//! directly instead of trying each one.
//!
//! # Examples
//!
//! Rotating keys without logging anybody out:
//!
//! ```
//! use tower_cookie_sessions::{Key, KeyRing};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let old = Key::from_hex("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")?;
//! let new = Key::generate();
//!
//! // Cookies sealed under key 1 still open; new ones are sealed under key 2.
//! let ring = KeyRing::new(2, new).with_old_key(1, old)?;
//! assert_eq!(ring.current_id(), 2);
//! # Ok(())
//! # }
//! ```

use std::borrow::Cow;
use std::fmt;

use base64::Engine as _;
use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::envelope::FORMAT_VERSION;
use crate::syntax::hex_byte;

/// Length in bytes of a [`Key`].
pub(crate) const KEY_LEN: usize = 32;

/// A 32-byte master key.
///
/// Built from bytes, hex or base64 text, or generated from the operating
/// system's random number generator. It prints as `Key(REDACTED)` and its
/// bytes are zeroized when it is dropped.
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::Key;
///
/// let key = Key::generate();
/// assert_eq!(format!("{key:?}"), "Key(REDACTED)");
/// ```
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Key([u8; KEY_LEN]);

impl Key {
    /// Generates a fresh key from the operating system's random number
    /// generator.
    ///
    /// A generated key is lost when the process exits, and with it every
    /// session sealed under it: load production keys from configuration.
    ///
    /// # Panics
    ///
    /// Panics only if the operating system cannot provide randomness, in
    /// which case no secure key can exist.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::Key;
    ///
    /// let key = Key::generate();
    /// # let _ = key;
    /// ```
    #[must_use]
    pub fn generate() -> Self {
        let mut bytes = [0u8; KEY_LEN];
        getrandom::fill(&mut bytes).expect("the operating system has no random number generator");
        Self(bytes)
    }

    /// Builds a key from exactly 32 bytes.
    ///
    /// # Errors
    ///
    /// [`KeyError::WrongLength`] unless `bytes` is 32 bytes long, and
    /// [`KeyError::Degenerate`] when every byte is the same (an all-zero
    /// placeholder, say).
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::{Key, KeyError};
    ///
    /// let bytes: Vec<u8> = (0u8..32).collect();
    /// assert!(Key::from_bytes(&bytes).is_ok());
    /// assert_eq!(Key::from_bytes(&[7; 16]).unwrap_err(), KeyError::WrongLength(16));
    /// assert_eq!(Key::from_bytes(&[0; 32]).unwrap_err(), KeyError::Degenerate);
    /// ```
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        let array: [u8; KEY_LEN] = bytes
            .try_into()
            .map_err(|_| KeyError::WrongLength(bytes.len()))?;
        if array.iter().all(|&b| b == array[0]) {
            return Err(KeyError::Degenerate);
        }
        Ok(Self(array))
    }

    /// Builds a key from 64 hexadecimal characters (either case; leading
    /// and trailing white space is ignored).
    ///
    /// # Errors
    ///
    /// [`KeyError::Encoding`] if the text is not hexadecimal, and the errors
    /// of [`Key::from_bytes`].
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::Key;
    ///
    /// let key = Key::from_hex("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
    /// assert!(key.is_ok());
    /// assert!(Key::from_hex("not hex").is_err());
    /// ```
    pub fn from_hex(text: &str) -> Result<Self, KeyError> {
        let text = text.trim().as_bytes();
        if !text.len().is_multiple_of(2) {
            return Err(KeyError::Encoding);
        }
        let mut bytes = zeroize::Zeroizing::new(Vec::with_capacity(text.len() / 2));
        for pair in text.chunks_exact(2) {
            bytes.push(hex_byte(pair[0], pair[1]).ok_or(KeyError::Encoding)?);
        }
        Self::from_bytes(&bytes)
    }

    /// Builds a key from base64 text: standard or URL-safe alphabet, with or
    /// without padding (surrounding white space is ignored).
    ///
    /// # Errors
    ///
    /// [`KeyError::Encoding`] if the text is not base64, and the errors of
    /// [`Key::from_bytes`].
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::Key;
    ///
    /// let key = Key::from_base64("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
    /// assert!(key.is_ok());
    /// ```
    pub fn from_base64(text: &str) -> Result<Self, KeyError> {
        use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
        let text = text.trim().trim_end_matches('=');
        let decoded = STANDARD_NO_PAD
            .decode(text)
            .or_else(|_| URL_SAFE_NO_PAD.decode(text))
            .map_err(|_| KeyError::Encoding)?;
        let decoded = zeroize::Zeroizing::new(decoded);
        Self::from_bytes(&decoded)
    }

    /// Derives this key's subkey for one purpose.
    pub(crate) fn subkey(&self, purpose: Purpose) -> Subkey {
        let hkdf = Hkdf::<Sha256>::new(None, &self.0);
        let mut out = [0u8; KEY_LEN];
        let info = [
            b"tower-cookie-sessions".as_slice(),
            &[FORMAT_VERSION],
            purpose.label().as_bytes(),
        ];
        // 32 bytes is far below HKDF-SHA256's 8160-byte output limit.
        hkdf.expand_multi_info(&info, &mut out)
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        Subkey(out)
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key(REDACTED)")
    }
}

/// A derived per-purpose key; zeroized on drop, never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub(crate) struct Subkey(pub(crate) [u8; KEY_LEN]);

impl fmt::Debug for Subkey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Subkey(REDACTED)")
    }
}

/// What a sealed value is for.
///
/// Each purpose seals with its own subkey and is bound into the associated
/// data, so a value sealed for one purpose never opens as another: a private
/// cookie cannot be replayed as a session. The crate's own purposes are not
/// reachable from outside it (only through the `fuzzing` bridge, for the
/// crate's tests); applications seal under
/// [`AppPurpose`](crate::envelope::AppPurpose), which is
/// [`Purpose::Application`].
#[doc(hidden)]
#[allow(unreachable_pub)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Purpose {
    /// A client-side session cookie.
    Session,
    /// A cookie sealed through [`crate::PrivateCookies`].
    PrivateCookie,
    /// The session id of a server-side session.
    SessionId,
    /// A flash message.
    Flash,
    /// A server-side session's record, bound to its record key.
    StoreRecord,
    /// A value of the application's own, under its label.
    Application(&'static str),
}

impl Purpose {
    /// The crate's own purposes, each with a subkey slot, in the order of
    /// [`Purpose::index`]; the last slot is the root of the application
    /// purposes' subkeys.
    pub(crate) const BUILT_IN: [Purpose; 5] = [
        Purpose::Session,
        Purpose::PrivateCookie,
        Purpose::SessionId,
        Purpose::Flash,
        Purpose::StoreRecord,
    ];

    /// The label in the HKDF `info`; changing one invalidates every value
    /// sealed for that purpose. Every application label is derived under
    /// `application`, which no built-in label is.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Purpose::Session => "session",
            Purpose::PrivateCookie => "private-cookie",
            Purpose::SessionId => "session-id",
            Purpose::Flash => "flash",
            Purpose::StoreRecord => "store-record",
            Purpose::Application(_) => "application",
        }
    }

    /// The byte bound into the associated data, and the subkey slot.
    pub(crate) fn index(self) -> u8 {
        match self {
            Purpose::Session => 0,
            Purpose::PrivateCookie => 1,
            Purpose::SessionId => 2,
            Purpose::Flash => 3,
            Purpose::StoreRecord => 4,
            Purpose::Application(_) => 5,
        }
    }
}

/// The id of a key in a [`KeyRing`], carried in every envelope.
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::envelope::KeyId;
/// use tower_cookie_sessions::{Key, KeyRing};
///
/// let id: KeyId = 7;
/// assert_eq!(KeyRing::new(id, Key::generate()).current_id(), 7);
/// ```
pub type KeyId = u8;

/// One master key's derived subkeys, one per purpose.
#[derive(Clone)]
pub(crate) struct RingEntry {
    pub(crate) id: KeyId,
    /// One per built-in purpose, then the application purposes' root.
    subkeys: [Subkey; Purpose::BUILT_IN.len() + 1],
}

impl RingEntry {
    fn new(id: KeyId, key: &Key) -> Self {
        Self {
            id,
            subkeys: std::array::from_fn(|slot| match Purpose::BUILT_IN.get(slot) {
                Some(&purpose) => key.subkey(purpose),
                None => key.subkey(Purpose::Application("")),
            }),
        }
    }

    /// The subkey for `purpose`. An application purpose's is derived from
    /// the application root under its label, on each call: applications
    /// seal rarely (a sign-in link, a CSRF token), and the ring keeps no
    /// list of their labels.
    pub(crate) fn subkey(&self, purpose: Purpose) -> Cow<'_, Subkey> {
        let slot = &self.subkeys[usize::from(purpose.index())];
        match purpose {
            Purpose::Application(label) => {
                let mut out = [0u8; KEY_LEN];
                Hkdf::<Sha256>::new(None, &slot.0)
                    .expand(label.as_bytes(), &mut out)
                    .expect("32 bytes is a valid HKDF-SHA256 output length");
                Cow::Owned(Subkey(out))
            }
            _ => Cow::Borrowed(slot),
        }
    }
}

/// The key that seals, plus older keys that still open.
///
/// Values are always sealed with the current key; a value sealed under an
/// older key still opens, and the session layer re-seals it under the current
/// key on its way out. Keys are chosen by the id in the envelope, never by
/// trial decryption. Debug output shows the ids only.
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::{Key, KeyRing};
///
/// # fn main() -> Result<(), tower_cookie_sessions::KeyError> {
/// let ring = KeyRing::new(3, Key::generate())
///     .with_old_key(2, Key::generate())?
///     .with_old_key(1, Key::generate())?;
/// assert_eq!(ring.ids().collect::<Vec<_>>(), [3, 2, 1]);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct KeyRing {
    // The current key is first; the rest are opening-only.
    entries: Vec<RingEntry>,
}

impl KeyRing {
    /// A ring whose sealing key is `key`, known by `id`.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::{Key, KeyRing};
    ///
    /// let ring = KeyRing::new(1, Key::generate());
    /// assert_eq!(ring.current_id(), 1);
    /// ```
    #[must_use]
    pub fn new(id: KeyId, key: Key) -> Self {
        Self {
            entries: vec![RingEntry::new(id, &key)],
        }
    }

    /// Adds a key that opens values sealed before a rotation but never
    /// seals new ones.
    ///
    /// # Errors
    ///
    /// [`KeyError::DuplicateId`] if a key with this id is already in the
    /// ring.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::{Key, KeyError, KeyRing};
    ///
    /// let ring = KeyRing::new(2, Key::generate());
    /// let ring = ring.with_old_key(1, Key::generate()).unwrap();
    /// assert_eq!(
    ///     ring.with_old_key(2, Key::generate()).unwrap_err(),
    ///     KeyError::DuplicateId(2)
    /// );
    /// ```
    pub fn with_old_key(mut self, id: KeyId, key: Key) -> Result<Self, KeyError> {
        if self.entries.iter().any(|entry| entry.id == id) {
            return Err(KeyError::DuplicateId(id));
        }
        self.entries.push(RingEntry::new(id, &key));
        Ok(self)
    }

    /// The id of the key that seals.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::{Key, KeyRing};
    ///
    /// assert_eq!(KeyRing::from(Key::generate()).current_id(), 0);
    /// ```
    #[must_use]
    pub fn current_id(&self) -> KeyId {
        self.entries[0].id
    }

    /// The ids of every key in the ring, the sealing key first.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::{Key, KeyRing};
    ///
    /// let ring = KeyRing::new(5, Key::generate());
    /// assert_eq!(ring.ids().collect::<Vec<_>>(), [5]);
    /// ```
    pub fn ids(&self) -> impl Iterator<Item = KeyId> + '_ {
        self.entries.iter().map(|entry| entry.id)
    }

    pub(crate) fn current(&self) -> &RingEntry {
        &self.entries[0]
    }

    pub(crate) fn find(&self, id: KeyId) -> Option<&RingEntry> {
        self.entries.iter().find(|entry| entry.id == id)
    }
}

impl From<Key> for KeyRing {
    /// A ring holding only `key`, with id 0.
    fn from(key: Key) -> Self {
        Self::new(0, key)
    }
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("current", &self.current_id())
            .field("ids", &self.ids().collect::<Vec<_>>())
            .finish()
    }
}

/// Why a key or key ring was refused.
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::{Key, KeyError};
///
/// let err = Key::from_bytes(b"short").unwrap_err();
/// assert_eq!(err.to_string(), "a key must be 32 bytes, got 5");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyError {
    /// The key material was not 32 bytes long.
    WrongLength(usize),
    /// Every byte of the key is the same: a placeholder, not a secret.
    Degenerate,
    /// The text was not valid hex or base64.
    Encoding,
    /// Two keys in one ring share an id.
    DuplicateId(KeyId),
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::WrongLength(len) => write!(f, "a key must be {KEY_LEN} bytes, got {len}"),
            KeyError::Degenerate => f.write_str("every byte of the key is the same"),
            KeyError::Encoding => f.write_str("the key text is not valid hex or base64"),
            KeyError::DuplicateId(id) => write!(f, "key id {id} is already in the key ring"),
        }
    }
}

impl std::error::Error for KeyError {}

impl PartialEq for Key {
    /// Constant-time comparison, so equality checks leak no key bytes.
    fn eq(&self, other: &Self) -> bool {
        self.0
            .iter()
            .zip(other.0.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }
}

impl Eq for Key {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subkeys_differ_per_purpose_and_key() {
        let key = Key::from_bytes(&[1; 31].iter().chain(&[2]).copied().collect::<Vec<_>>())
            .expect("valid key");
        let session = key.subkey(Purpose::Session);
        let private = key.subkey(Purpose::PrivateCookie);
        assert_ne!(session.0, private.0);
        assert_ne!(session.0, key.0);
        let other = Key::generate();
        assert_ne!(other.subkey(Purpose::Session).0, session.0);
    }

    #[test]
    fn hex_and_base64_give_the_same_key() {
        let hex = Key::from_hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
            .expect("hex");
        let b64 = Key::from_base64("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8").expect("b64");
        assert_eq!(hex.0, b64.0);
        assert_eq!(Key::from_hex("0g"), Err(KeyError::Encoding));
        assert_eq!(Key::from_hex("abc"), Err(KeyError::Encoding));
    }

    #[test]
    fn debug_never_shows_key_bytes() {
        let key = Key::from_bytes(&(100u8..132).collect::<Vec<_>>()).expect("key");
        let ring = KeyRing::new(9, key.clone());
        assert_eq!(format!("{key:?}"), "Key(REDACTED)");
        let printed = format!("{ring:?}");
        assert!(!printed.contains("100"), "{printed}");
        assert_eq!(printed, "KeyRing { current: 9, ids: [9] }");
    }
}
