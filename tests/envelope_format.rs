//! The envelope's bytes, checked against an implementation written here
//! from the format's description alone, with RustCrypto's
//! `chacha20poly1305` as the cipher: whichever AEAD path the crate was
//! built with (with or without `ring`), it must read and write exactly these
//! bytes.
//!
//! ```text
//! base64url-no-pad( version | key id | 24-byte nonce | ciphertext | 16-byte tag )
//! subkey = HKDF-SHA256(salt: none, ikm: master key,
//!                      info: "tower-cookie-sessions" | version | purpose label)
//! application subkey = HKDF-SHA256(salt: none, ikm: the subkey of label
//!                      "application", info: the application's label)
//! aad    = version | key id | purpose index | cookie name
//! ```

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chacha20poly1305::aead::{AeadInOut as _, KeyInit as _};
use chacha20poly1305::{Tag, XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use proptest::collection::vec;
use proptest::prelude::*;
use sha2::Sha256;
use tower_cookie_sessions::envelope::KeyId;
use tower_cookie_sessions::envelope::{self, OpenError};
use tower_cookie_sessions::fuzzing::{self, Purpose};
use tower_cookie_sessions::{Key, KeyRing};

const VERSION: u8 = 1;

const PURPOSES: [(Purpose, u8, &str); 7] = [
    (Purpose::Session, 0, "session"),
    (Purpose::PrivateCookie, 1, "private-cookie"),
    (Purpose::SessionId, 2, "session-id"),
    (Purpose::Flash, 3, "flash"),
    (Purpose::StoreRecord, 4, "store-record"),
    (Purpose::Application("sign-in-link"), 5, "application"),
    (Purpose::Application("session"), 5, "application"),
];

fn subkey(master: &[u8; 32], purpose: Purpose, label: &str) -> [u8; 32] {
    let mut info = b"tower-cookie-sessions".to_vec();
    info.push(VERSION);
    info.extend_from_slice(label.as_bytes());
    let mut out = [0u8; 32];
    Hkdf::<Sha256>::new(None, master)
        .expand(&info, &mut out)
        .expect("32 bytes");
    if let Purpose::Application(own) = purpose {
        let root = out;
        Hkdf::<Sha256>::new(None, &root)
            .expand(own.as_bytes(), &mut out)
            .expect("32 bytes");
    }
    out
}

fn aad(key_id: KeyId, index: u8, name: &str) -> Vec<u8> {
    let mut aad = vec![VERSION, key_id, index];
    aad.extend_from_slice(name.as_bytes());
    aad
}

/// The envelope for these inputs, written without the crate.
fn reference_seal(
    master: &[u8; 32],
    key_id: KeyId,
    (purpose, index, label): (Purpose, u8, &str),
    name: &str,
    nonce: [u8; 24],
    plaintext: &[u8],
) -> String {
    let mut ciphertext = plaintext.to_vec();
    let tag = XChaCha20Poly1305::new(&subkey(master, purpose, label).into())
        .encrypt_inout_detached(
            &XNonce::from(nonce),
            &aad(key_id, index, name),
            ciphertext.as_mut_slice().into(),
        )
        .expect("seals");
    let mut raw = vec![VERSION, key_id];
    raw.extend_from_slice(&nonce);
    raw.extend_from_slice(&ciphertext);
    raw.extend_from_slice(&tag);
    URL_SAFE_NO_PAD.encode(raw)
}

/// The plaintext of `sealed`, opened without the crate.
fn reference_open(
    master: &[u8; 32],
    (purpose, index, label): (Purpose, u8, &str),
    name: &str,
    sealed: &str,
) -> Option<(KeyId, Vec<u8>)> {
    let raw = URL_SAFE_NO_PAD.decode(sealed).ok()?;
    if raw.len() < 2 + 24 + 16 || raw[0] != VERSION {
        return None;
    }
    let key_id = raw[1];
    let nonce = XNonce::try_from(&raw[2..26]).ok()?;
    let (ciphertext, tag) = raw[26..].split_at(raw.len() - 26 - 16);
    let mut plaintext = ciphertext.to_vec();
    XChaCha20Poly1305::new(&subkey(master, purpose, label).into())
        .decrypt_inout_detached(
            &nonce,
            &aad(key_id, index, name),
            plaintext.as_mut_slice().into(),
            &Tag::try_from(tag).ok()?,
        )
        .ok()?;
    Some((key_id, plaintext))
}

const MASTER: [u8; 32] = [
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
    0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
];

/// A session cookie sealed by version 0.1.0 of the format: key id 5, name
/// `id`, nonce `0x40..0x58`, plaintext `hello, envelope`. It must open as
/// long as format version 1 exists.
const FROZEN: &str = "AQVAQUJDREVGR0hJSktMTU5PUFFSU1RVVlfr588byFsyCfaTo70shrhrf0fVKGn4ON8pp-ND3toB";

fn frozen_nonce() -> [u8; 24] {
    std::array::from_fn(|i| 0x40 + i as u8)
}

#[test]
fn a_frozen_envelope_still_opens() {
    assert_eq!(
        reference_seal(
            &MASTER,
            5,
            PURPOSES[0],
            "id",
            frozen_nonce(),
            b"hello, envelope"
        ),
        FROZEN,
        "the reference implementation here changed"
    );
    let ring = KeyRing::new(5, Key::from_bytes(&MASTER).expect("key"));
    let opened = fuzzing::open_as(&ring, Purpose::Session, "id", FROZEN).expect("opens");
    assert_eq!(opened.plaintext, b"hello, envelope");
    assert_eq!(opened.key_id, 5);
    assert_eq!(
        fuzzing::open_as(&ring, Purpose::Session, "other", FROZEN),
        Err(OpenError::Unauthentic)
    );
}

#[test]
fn names_longer_than_the_inline_buffer_are_bound_too() {
    let ring = KeyRing::new(5, Key::from_bytes(&MASTER).expect("key"));
    for len in [63, 64, 65, 200] {
        let name = "n".repeat(len);
        let sealed = reference_seal(&MASTER, 5, PURPOSES[1], &name, frozen_nonce(), b"v");
        let opened =
            fuzzing::open_as(&ring, Purpose::PrivateCookie, &name, &sealed).expect("opens");
        assert_eq!(opened.plaintext, b"v", "name of {len} bytes");
        let longer = format!("{name}n");
        assert_eq!(
            fuzzing::open_as(&ring, Purpose::PrivateCookie, &longer, &sealed),
            Err(OpenError::Unauthentic),
            "name of {len} bytes"
        );
    }
}

fn purpose() -> impl Strategy<Value = (Purpose, u8, &'static str)> {
    prop::sample::select(PURPOSES.to_vec())
}

fn master_key() -> impl Strategy<Value = [u8; 32]> {
    any::<[u8; 32]>().prop_filter("degenerate key", |bytes| {
        bytes.iter().any(|&byte| byte != bytes[0])
    })
}

proptest! {
    #[test]
    fn the_crate_opens_what_the_reference_seals(
        master in master_key(),
        key_id in any::<KeyId>(),
        purpose in purpose(),
        name in "[!#$%&'*+.^_`|~0-9A-Za-z-]{1,80}",
        nonce in any::<[u8; 24]>(),
        plaintext in vec(any::<u8>(), 0..700),
    ) {
        let ring = KeyRing::new(key_id, Key::from_bytes(&master).expect("filtered"));
        let sealed = reference_seal(&master, key_id, purpose, &name, nonce, &plaintext);
        let opened = fuzzing::open_as(&ring, purpose.0, &name, &sealed).expect("opens");
        prop_assert_eq!(opened.plaintext, plaintext);
        prop_assert_eq!(opened.key_id, key_id);
    }

    #[test]
    fn the_reference_opens_what_the_crate_seals(
        master in master_key(),
        key_id in any::<KeyId>(),
        purpose in purpose(),
        name in "[!#$%&'*+.^_`|~0-9A-Za-z-]{1,80}",
        plaintext in vec(any::<u8>(), 0..700),
    ) {
        let ring = KeyRing::new(key_id, Key::from_bytes(&master).expect("filtered"));
        let sealed = fuzzing::seal_as(&ring, purpose.0, &name, &plaintext);
        prop_assert_eq!(sealed.len(), envelope::sealed_len(plaintext.len()));
        prop_assert_eq!(
            reference_open(&master, purpose, &name, &sealed),
            Some((key_id, plaintext))
        );
    }
}

#[test]
fn an_application_purpose_is_its_own_and_never_the_crates() {
    use tower_cookie_sessions::envelope::AppPurpose;
    let ring = KeyRing::new(5, Key::from_bytes(&MASTER).expect("key"));
    for (app, label) in [("sign-in-link", PURPOSES[5]), ("session", PURPOSES[6])] {
        let sealed = envelope::seal(&ring, AppPurpose::new(app), "id", b"v");
        assert_eq!(
            reference_open(&MASTER, label, "id", &sealed),
            Some((5, b"v".to_vec())),
            "`{app}` is sealed as documented"
        );
        // An application label that spells a crate purpose is still the
        // application's: it never opens as a session, nor a session as it.
        for (purpose, _, _) in &PURPOSES[..5] {
            assert_eq!(
                fuzzing::open_as(&ring, *purpose, "id", &sealed),
                Err(OpenError::Unauthentic),
                "`{app}` opened as {purpose:?}"
            );
            let theirs = fuzzing::seal_as(&ring, *purpose, "id", b"v");
            assert_eq!(
                envelope::open(&ring, AppPurpose::new(app), "id", &theirs),
                Err(OpenError::Unauthentic),
                "{purpose:?} opened as `{app}`"
            );
        }
    }
    let csrf = envelope::seal(&ring, AppPurpose::new("csrf"), "id", b"v");
    assert_eq!(
        envelope::open(&ring, AppPurpose::new("sign-in-link"), "id", &csrf),
        Err(OpenError::Unauthentic)
    );
}
