//! The sealed envelope: the one place that encrypts and authenticates.
//!
//! ```text
//! base64url-no-pad( version | key id | 24-byte nonce | ciphertext | 16-byte tag )
//! ```
//!
//! The cipher is XChaCha20-Poly1305 under the purpose's subkey of the key
//! named by the key id. The associated data binds the version, the key id,
//! the purpose and the cookie's name, so a value sealed as cookie `a` is
//! refused as cookie `b`, and a private cookie is refused as a session.
//! Nonces are 24 random bytes from a thread-local CSPRNG seeded by the
//! operating system, which makes collisions negligible without any state
//! shared between servers.
//!
//! Sessions, session ids, store records and private cookies are sealed by
//! the crate under purposes of its own, which this module does not hand
//! out: nothing outside the crate can mint a session cookie. [`seal`] and
//! [`open`] are for the application's own values (a sign-in link, a CSRF
//! token, an unsubscribe link) under an [`AppPurpose`], a label of the
//! application's own with a subkey of its own, with the same key ring and
//! the same rotation as the sessions.
//!
//! By default (feature `ring`) XChaCha20-Poly1305 runs as HChaCha20 from the
//! `chacha20` crate followed by ring's ChaCha20-Poly1305, which is its
//! definition; without `ring`, it is RustCrypto's
//! `chacha20poly1305`. Both write the same bytes, so either opens the other's
//! values.
//!
//! # Examples
//!
//! ```
//! use tower_cookie_sessions::envelope::{self, AppPurpose};
//! use tower_cookie_sessions::{Key, KeyRing};
//!
//! const SIGN_IN_LINK: AppPurpose = AppPurpose::new("sign-in-link");
//!
//! let ring = KeyRing::from(Key::generate());
//! let token = envelope::seal(&ring, SIGN_IN_LINK, "token", b"user=42");
//! let opened = envelope::open(&ring, SIGN_IN_LINK, "token", &token).unwrap();
//! assert_eq!(opened.plaintext, b"user=42");
//!
//! // Bound to its name and purpose:
//! assert!(envelope::open(&ring, SIGN_IN_LINK, "other", &token).is_err());
//! let csrf = AppPurpose::new("csrf");
//! assert!(envelope::open(&ring, csrf, "token", &token).is_err());
//! ```

mod aead;

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore as _;

use self::aead::{Aead as _, Selected, NONCE_LEN, TAG_LEN};
pub use crate::key::KeyId;
use crate::key::{KeyRing, Purpose};

/// The envelope format version, first byte of every envelope and part of
/// the subkey derivation.
pub(crate) const FORMAT_VERSION: u8 = 1;

const HEADER_LEN: usize = 2;
/// What the binary envelope adds to its plaintext.
pub(crate) const OVERHEAD: usize = HEADER_LEN + NONCE_LEN + TAG_LEN;
/// Where the ciphertext starts in a decoded envelope.
const CIPHERTEXT_START: usize = HEADER_LEN + NONCE_LEN;

/// Envelopes of up to this many bytes (a plaintext of up to 470) are built
/// on the stack before their base64 is written; larger ones in a `Vec`.
const STACK_ENVELOPE: usize = 512;

/// The most a cookie's name plus value may take, in bytes. Browsers keep at
/// most about this much per cookie; anything longer is refused before any
/// base64 or cryptographic work.
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::envelope::{self, MAX_COOKIE_SIZE};
///
/// // The largest plaintext whose sealed value fits in a cookie named `id`:
/// let fits = (0..MAX_COOKIE_SIZE).rev().find(|&n| 2 + envelope::sealed_len(n) <= MAX_COOKIE_SIZE);
/// assert_eq!(fits, Some(3028));
/// ```
pub const MAX_COOKIE_SIZE: usize = 4096;

/// A purpose of the application's own: values sealed under one label
/// never open under another, nor as anything the crate seals itself.
///
/// Each label gets its own subkey, derived with HKDF-SHA256 from the key
/// ring's keys under an `info` that no purpose of the crate uses. The
/// subkey is derived on every [`seal`] and [`open`], a few microseconds,
/// which suits values sealed now and then; a label is a constant of the
/// application, so changing it invalidates what was sealed under it.
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::envelope::{self, AppPurpose};
/// use tower_cookie_sessions::{Key, KeyRing};
///
/// let ring = KeyRing::from(Key::generate());
/// let link = envelope::seal(&ring, AppPurpose::new("sign-in-link"), "t", b"42");
/// assert!(envelope::open(&ring, AppPurpose::new("csrf"), "t", &link).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AppPurpose(&'static str);

impl AppPurpose {
    /// The purpose labelled `label`.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::envelope::AppPurpose;
    ///
    /// const CSRF: AppPurpose = AppPurpose::new("csrf");
    /// assert_eq!(CSRF.label(), "csrf");
    /// ```
    #[must_use]
    pub const fn new(label: &'static str) -> Self {
        Self(label)
    }

    /// The label it was made with.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::envelope::AppPurpose;
    ///
    /// assert_eq!(AppPurpose::new("unsubscribe").label(), "unsubscribe");
    /// ```
    #[must_use]
    pub const fn label(self) -> &'static str {
        self.0
    }
}

/// A value that opened: its plaintext, and which key opened it.
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::envelope::{self, AppPurpose};
/// use tower_cookie_sessions::{Key, KeyRing};
///
/// const PURPOSE: AppPurpose = AppPurpose::new("example");
///
/// let ring = KeyRing::new(4, Key::generate());
/// let sealed = envelope::seal(&ring, PURPOSE, "id", b"hi");
/// let opened = envelope::open(&ring, PURPOSE, "id", &sealed).unwrap();
/// assert_eq!(opened.key_id, 4);
/// assert!(opened.is_current_key);
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Opened {
    /// The authenticated plaintext.
    pub plaintext: Vec<u8>,
    /// The id of the key that opened it.
    pub key_id: KeyId,
    /// Whether that key is the ring's sealing key; when it is not, the
    /// value should be sealed again under the current key.
    pub is_current_key: bool,
}

/// The plaintext's length only: it is whatever was sealed, secrets
/// included.
impl fmt::Debug for Opened {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Opened")
            .field(
                "plaintext",
                &format_args!("<{} bytes>", self.plaintext.len()),
            )
            .field("key_id", &self.key_id)
            .field("is_current_key", &self.is_current_key)
            .finish()
    }
}

/// Why a value did not open. None of these carries key, value or plaintext
/// bytes, so they are safe to log.
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::envelope::{self, AppPurpose, OpenError};
/// use tower_cookie_sessions::{Key, KeyRing};
///
/// const PURPOSE: AppPurpose = AppPurpose::new("example");
///
/// let ring = KeyRing::from(Key::generate());
/// let err = envelope::open(&ring, PURPOSE, "id", "!!").unwrap_err();
/// assert_eq!(err, OpenError::Encoding);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OpenError {
    /// Name plus value exceed [`MAX_COOKIE_SIZE`].
    TooLarge,
    /// The value is not base64url without padding.
    Encoding,
    /// The value is shorter than an empty envelope.
    Truncated,
    /// The envelope was written by an unknown format version.
    UnknownVersion,
    /// No key in the ring has the envelope's key id.
    UnknownKey,
    /// Authentication failed: tampered, truncated, wrong key, wrong name or
    /// wrong purpose.
    Unauthentic,
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OpenError::TooLarge => "sealed value too large",
            OpenError::Encoding => "sealed value is not base64url",
            OpenError::Truncated => "sealed value is truncated",
            OpenError::UnknownVersion => "sealed value has an unknown format version",
            OpenError::UnknownKey => "sealed value names a key not in the key ring",
            OpenError::Unauthentic => "sealed value failed authentication",
        })
    }
}

impl std::error::Error for OpenError {}

/// The length of the cookie value that sealing `plaintext_len` bytes yields.
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::envelope;
///
/// assert_eq!(envelope::sealed_len(0), 56);
/// ```
#[must_use]
pub const fn sealed_len(plaintext_len: usize) -> usize {
    let bytes = OVERHEAD + plaintext_len;
    // base64 without padding: 4 characters per 3 bytes, rounded up.
    (bytes * 4).div_ceil(3)
}

/// Seals `plaintext` for `purpose` and the cookie `name` under the ring's
/// current key.
///
/// Sealing never fails, but [`open`] refuses anything whose name plus
/// value exceeds [`MAX_COOKIE_SIZE`]: check [`sealed_len`] first when the
/// plaintext may be large.
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::envelope::{self, AppPurpose};
/// use tower_cookie_sessions::{Key, KeyRing};
///
/// const PURPOSE: AppPurpose = AppPurpose::new("example");
///
/// let ring = KeyRing::from(Key::generate());
/// let a = envelope::seal(&ring, PURPOSE, "id", b"same");
/// let b = envelope::seal(&ring, PURPOSE, "id", b"same");
/// assert_ne!(a, b, "every seal draws a fresh nonce");
/// assert_eq!(a.len(), envelope::sealed_len(4));
/// ```
#[must_use]
pub fn seal(ring: &KeyRing, purpose: AppPurpose, name: &str, plaintext: &[u8]) -> String {
    seal_as(ring, Purpose::Application(purpose.0), name, plaintext)
}

/// [`seal`] under any purpose, the crate's own included.
pub(crate) fn seal_as(ring: &KeyRing, purpose: Purpose, name: &str, plaintext: &[u8]) -> String {
    let mut sealed = String::with_capacity(sealed_len(plaintext.len()));
    seal_with(ring, purpose, name, plaintext, |raw| {
        URL_SAFE_NO_PAD.encode_string(raw, &mut sealed);
    });
    sealed
}

/// [`seal`], appending the text to `out`: the session layer writes the
/// value straight into the bytes of its `Set-Cookie` line, which skips the
/// UTF-8 check a `String` would need.
pub(crate) fn seal_into(
    ring: &KeyRing,
    purpose: Purpose,
    name: &str,
    plaintext: &[u8],
    out: &mut Vec<u8>,
) {
    seal_with(ring, purpose, name, plaintext, |raw| {
        let start = out.len();
        out.resize(start + sealed_len(plaintext.len()), 0);
        let written = URL_SAFE_NO_PAD.encode_slice(raw, &mut out[start..]);
        // `sealed_len` is the exact length, so the slice always fits.
        debug_assert_eq!(written.ok(), Some(out.len() - start));
    });
}

/// Seals `plaintext` and hands the binary envelope to `write`, which
/// encodes it where its caller wants the text.
fn seal_with(
    ring: &KeyRing,
    purpose: Purpose,
    name: &str,
    plaintext: &[u8],
    write: impl FnOnce(&[u8]),
) {
    let entry = ring.current();
    let mut nonce = [0u8; NONCE_LEN];
    rand::rng().fill_bytes(&mut nonce);

    let len = OVERHEAD + plaintext.len();
    let mut stack = [0u8; STACK_ENVELOPE];
    let mut heap = Vec::new();
    let raw = if len <= STACK_ENVELOPE {
        &mut stack[..len]
    } else {
        heap.resize(len, 0);
        &mut heap[..]
    };
    let (header, rest) = raw.split_at_mut(CIPHERTEXT_START);
    let (ciphertext, tag) = rest.split_at_mut(plaintext.len());
    header[..HEADER_LEN].copy_from_slice(&[FORMAT_VERSION, entry.id]);
    header[HEADER_LEN..].copy_from_slice(&nonce);
    ciphertext.copy_from_slice(plaintext);
    let aad = AssociatedData::new(entry.id, purpose, name);
    tag.copy_from_slice(&Selected::seal_in_place(
        &entry.subkey(purpose).0,
        &nonce,
        aad.as_bytes(),
        ciphertext,
    ));

    write(raw);
}

/// Opens a value sealed by [`seal`] for the same purpose and name.
///
/// # Errors
///
/// An [`OpenError`] saying why the value was refused. Name plus value over
/// [`MAX_COOKIE_SIZE`] bytes is refused before any decoding.
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::envelope::{self, AppPurpose};
/// use tower_cookie_sessions::{Key, KeyRing};
///
/// const PURPOSE: AppPurpose = AppPurpose::new("example");
///
/// let old = KeyRing::new(1, Key::generate());
/// let sealed = envelope::seal(&old, PURPOSE, "id", b"data");
///
/// // After a rotation the old key still opens, and says it is not current.
/// # let old_key = Key::generate();
/// # let old = KeyRing::new(1, old_key.clone());
/// # let sealed = envelope::seal(&old, PURPOSE, "id", b"data");
/// let ring = KeyRing::new(2, Key::generate()).with_old_key(1, old_key).unwrap();
/// let opened = envelope::open(&ring, PURPOSE, "id", &sealed).unwrap();
/// assert!(!opened.is_current_key);
/// ```
pub fn open(
    ring: &KeyRing,
    purpose: AppPurpose,
    name: &str,
    value: &str,
) -> Result<Opened, OpenError> {
    open_as(ring, Purpose::Application(purpose.0), name, value)
}

/// [`open`] under any purpose, the crate's own included.
pub(crate) fn open_as(
    ring: &KeyRing,
    purpose: Purpose,
    name: &str,
    value: &str,
) -> Result<Opened, OpenError> {
    open_with(
        ring,
        purpose,
        name,
        value.as_bytes(),
        |plaintext, key_id| Opened {
            plaintext: plaintext.to_vec(),
            key_id,
            is_current_key: key_id == ring.current_id(),
        },
    )
}

/// Opens the value's raw bytes, as they come out of a `Cookie` header (the
/// base64url decoder refuses anything that is not its text), and hands the
/// plaintext, still in the decoding buffer, to `read`. Values of up to
/// [`STACK_ENVELOPE`] decoded bytes are decoded on the stack, so a caller
/// that only reads the plaintext (the session layer decoding its data)
/// allocates nothing here.
pub(crate) fn open_with<R>(
    ring: &KeyRing,
    purpose: Purpose,
    name: &str,
    value: &[u8],
    read: impl FnOnce(&[u8], KeyId) -> R,
) -> Result<R, OpenError> {
    open_within(ring, purpose, name, value, MAX_COOKIE_SIZE, read)
}

/// [`open_with`] for a value that may be larger than one cookie (a
/// session joined from several): name plus value up to `limit` bytes.
pub(crate) fn open_within<R>(
    ring: &KeyRing,
    purpose: Purpose,
    name: &str,
    value: &[u8],
    limit: usize,
    read: impl FnOnce(&[u8], KeyId) -> R,
) -> Result<R, OpenError> {
    if name.len() + value.len() > limit {
        return Err(OpenError::TooLarge);
    }
    // base64's bound on the decoded length, which `decode_slice` checks.
    let bound = value.len().div_ceil(4) * 3;
    let mut stack = [0u8; STACK_ENVELOPE];
    let mut heap = Vec::new();
    let buffer = if bound <= STACK_ENVELOPE {
        &mut stack[..]
    } else {
        heap.resize(bound, 0);
        &mut heap[..]
    };
    let len = URL_SAFE_NO_PAD
        .decode_slice(value, buffer)
        .map_err(|_| OpenError::Encoding)?;
    open_raw(ring, purpose, name, &mut buffer[..len], read)
}

/// Seals `plaintext` into the binary envelope, without base64 and with no
/// cookie size limit, appended to `out`: store records, which the store
/// keeps as bytes behind their own framing.
pub(crate) fn seal_raw_into(
    ring: &KeyRing,
    purpose: Purpose,
    name: &str,
    plaintext: &[u8],
    out: &mut Vec<u8>,
) {
    seal_with(ring, purpose, name, plaintext, |raw| {
        out.extend_from_slice(raw)
    });
}

/// [`seal_raw_into`] a new buffer.
#[cfg(feature = "fuzzing")]
pub(crate) fn seal_raw(ring: &KeyRing, purpose: Purpose, name: &str, plaintext: &[u8]) -> Vec<u8> {
    let mut sealed = Vec::with_capacity(OVERHEAD + plaintext.len());
    seal_raw_into(ring, purpose, name, plaintext, &mut sealed);
    sealed
}

/// Opens a binary envelope in place and hands the plaintext to `read`.
pub(crate) fn open_raw<R>(
    ring: &KeyRing,
    purpose: Purpose,
    name: &str,
    raw: &mut [u8],
    read: impl FnOnce(&[u8], KeyId) -> R,
) -> Result<R, OpenError> {
    if raw.len() < OVERHEAD {
        return Err(OpenError::Truncated);
    }
    if raw[0] != FORMAT_VERSION {
        return Err(OpenError::UnknownVersion);
    }
    let key_id = raw[1];
    let entry = ring.find(key_id).ok_or(OpenError::UnknownKey)?;

    let tag_start = raw.len() - TAG_LEN;
    let (head, tag) = raw.split_at_mut(tag_start);
    let tag: &[u8; TAG_LEN] = (&*tag).try_into().map_err(|_| OpenError::Truncated)?;
    let (header, ciphertext) = head.split_at_mut(CIPHERTEXT_START);
    let nonce: &[u8; NONCE_LEN] = header[HEADER_LEN..]
        .try_into()
        .map_err(|_| OpenError::Truncated)?;
    let aad = AssociatedData::new(key_id, purpose, name);
    Selected::open_in_place(
        &entry.subkey(purpose).0,
        nonce,
        aad.as_bytes(),
        ciphertext,
        tag,
    )
    .map_err(|_| OpenError::Unauthentic)?;
    Ok(read(ciphertext, key_id))
}

/// The associated data: `version | key id | purpose | name`. The name is
/// last and the rest is fixed-width, so no two inputs share an encoding.
/// Kept on the stack for names of up to [`AssociatedData::INLINE_NAME`]
/// bytes.
struct AssociatedData {
    inline: [u8; Self::PREFIX_LEN + Self::INLINE_NAME],
    len: usize,
    heap: Vec<u8>,
}

impl AssociatedData {
    const PREFIX_LEN: usize = 3;
    const INLINE_NAME: usize = 64;

    fn new(key_id: KeyId, purpose: Purpose, name: &str) -> Self {
        let prefix = [FORMAT_VERSION, key_id, purpose.index()];
        let len = Self::PREFIX_LEN + name.len();
        let mut aad = Self {
            inline: [0; Self::PREFIX_LEN + Self::INLINE_NAME],
            len,
            heap: Vec::new(),
        };
        if let Some(inline) = aad.inline.get_mut(..len) {
            inline[..Self::PREFIX_LEN].copy_from_slice(&prefix);
            inline[Self::PREFIX_LEN..].copy_from_slice(name.as_bytes());
        } else {
            aad.heap.reserve_exact(len);
            aad.heap.extend_from_slice(&prefix);
            aad.heap.extend_from_slice(name.as_bytes());
        }
        aad
    }

    fn as_bytes(&self) -> &[u8] {
        if self.heap.is_empty() {
            &self.inline[..self.len]
        } else {
            &self.heap
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::Key;

    fn ring() -> KeyRing {
        KeyRing::new(
            7,
            Key::from_bytes(&(1u8..=32).collect::<Vec<_>>()).expect("key"),
        )
    }

    #[test]
    fn round_trips_and_reports_the_key() {
        let ring = ring();
        let sealed = seal_as(&ring, Purpose::Session, "id", b"hello");
        let opened = open_as(&ring, Purpose::Session, "id", &sealed).expect("opens");
        assert_eq!(opened.plaintext, b"hello");
        assert_eq!(opened.key_id, 7);
        assert!(opened.is_current_key);
    }

    #[test]
    fn every_flipped_byte_is_refused() {
        let ring = ring();
        let sealed = seal_as(&ring, Purpose::Session, "id", b"payload");
        let mut raw = URL_SAFE_NO_PAD.decode(&sealed).expect("b64");
        for i in 0..raw.len() {
            raw[i] ^= 1;
            let tampered = URL_SAFE_NO_PAD.encode(&raw);
            assert!(
                open_as(&ring, Purpose::Session, "id", &tampered).is_err(),
                "byte {i}"
            );
            raw[i] ^= 1;
        }
    }

    #[test]
    fn truncation_and_unknown_keys_are_refused() {
        let ring = ring();
        let sealed = seal_as(&ring, Purpose::Session, "id", b"payload");
        let mut raw = URL_SAFE_NO_PAD.decode(&sealed).expect("b64");
        raw.truncate(raw.len() - 3);
        assert_eq!(
            open_as(&ring, Purpose::Session, "id", &URL_SAFE_NO_PAD.encode(&raw)),
            Err(OpenError::Unauthentic)
        );
        assert_eq!(
            open_as(&ring, Purpose::Session, "id", &sealed[..20]),
            Err(OpenError::Truncated)
        );
        let other = KeyRing::new(8, Key::generate());
        assert_eq!(
            open_as(&other, Purpose::Session, "id", &sealed),
            Err(OpenError::UnknownKey)
        );
        let same_id = KeyRing::new(7, Key::generate());
        assert_eq!(
            open_as(&same_id, Purpose::Session, "id", &sealed),
            Err(OpenError::Unauthentic)
        );
    }

    #[test]
    fn oversized_values_are_refused_before_decoding() {
        let ring = ring();
        let junk = "!".repeat(MAX_COOKIE_SIZE);
        assert_eq!(
            open_as(&ring, Purpose::Session, "id", &junk),
            Err(OpenError::TooLarge)
        );
    }
}
