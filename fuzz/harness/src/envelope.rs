//! The envelope opener: cookie values, binary envelopes, store records.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use tower_cookie_sessions::envelope::{self, OpenError, MAX_COOKIE_SIZE};
use tower_cookie_sessions::fuzzing::{self, Purpose};
use tower_cookie_sessions::store::RecordKey;

use super::fuzz_key_ring;
use super::input::Reader;

const PURPOSES: [Purpose; 5] = [
    Purpose::Session,
    Purpose::PrivateCookie,
    Purpose::SessionId,
    Purpose::Flash,
    Purpose::StoreRecord,
];

/// Cookie names: the usual, another, the empty one, and one too long for
/// the associated data's inline buffer.
const NAMES: [&str; 4] = [
    "id",
    "theme",
    "",
    "a-cookie-name-longer-than-the-sixty-four-bytes-kept-inline-by-the-aad",
];

/// The session id whose record key the record form is opened under.
pub(super) const RECORD_SESSION_ID: [u8; 16] = [7; 16];

/// Opens the rest of `data` as a sealed value under [`fuzz_key_ring`].
///
/// The first byte chooses the form (bits 0–1: a cookie value as text, a
/// cookie value as raw header bytes, a binary envelope, a store record's
/// data), the purpose (bits 2–4) and the cookie name (bits 5–6); for a
/// record, bit 7 says whether the store is trusted.
///
/// Asserts that the text and byte forms of a value agree; that a value
/// that opens is within the size limit, is the one base64 text of its
/// bytes (no second spelling opens), opens the same as a binary envelope,
/// and that its plaintext sealed again opens to the same plaintext under
/// the current key. A record that opens is sealed again and must open to
/// the same plaintext; an untrusted store never accepts an unsealed one.
///
/// # Panics
///
/// When one of those does not hold: a finding.
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::fuzzing::{self, Purpose};
///
/// let sealed = fuzzing::seal_as(fuzz_harness::fuzz_key_ring(), Purpose::Session, "id", b"hello");
/// // Form 0 (text), purpose 0 (session), name 0 (`id`).
/// let input = [&[0u8][..], sealed.as_bytes()].concat();
/// fuzz_harness::envelope_open(&input);
/// ```
pub fn envelope_open(data: &[u8]) {
    let mut input = Reader::new(data);
    let choice = input.byte();
    let purpose = PURPOSES[usize::from(choice >> 2 & 0b111) % PURPOSES.len()];
    let name = NAMES[usize::from(choice >> 5 & 0b11)];
    let value = input.rest();
    match choice & 0b11 {
        0 | 1 => cookie_value(purpose, name, value),
        2 => binary(purpose, name, value),
        _ => store_record(choice & 0x80 != 0, value),
    }
}

fn cookie_value(purpose: Purpose, name: &str, value: &[u8]) {
    let ring = fuzz_key_ring();
    let from_bytes = fuzzing::open_within(ring, purpose, name, value, MAX_COOKIE_SIZE);
    if let Ok(text) = std::str::from_utf8(value) {
        assert_eq!(
            fuzzing::open_as(ring, purpose, name, text),
            from_bytes,
            "text and bytes disagree"
        );
    }
    let Ok(opened) = from_bytes else {
        return;
    };
    assert!(name.len() + value.len() <= MAX_COOKIE_SIZE);
    assert_eq!(value.len(), envelope::sealed_len(opened.plaintext.len()));
    assert!(ring.ids().any(|id| id == opened.key_id));
    assert_eq!(opened.is_current_key, opened.key_id == ring.current_id());

    let raw = URL_SAFE_NO_PAD
        .decode(value)
        .expect("it opened, so it decodes");
    assert_eq!(
        URL_SAFE_NO_PAD.encode(&raw).as_bytes(),
        value,
        "a second base64 spelling of a sealed value opened"
    );
    let binary = fuzzing::open_raw(ring, purpose, name, &raw);
    assert_eq!(binary.as_ref(), Ok(&opened));

    let resealed = fuzzing::seal_as(ring, purpose, name, &opened.plaintext);
    let reopened = fuzzing::open_as(ring, purpose, name, &resealed).expect("resealed value opens");
    assert_eq!(reopened.plaintext, opened.plaintext);
    assert!(reopened.is_current_key);
}

fn binary(purpose: Purpose, name: &str, value: &[u8]) {
    let ring = fuzz_key_ring();
    let opened = fuzzing::open_raw(ring, purpose, name, value);
    // The same bytes as base64 text open the same way, unless the text
    // would be too long for a cookie.
    let text = URL_SAFE_NO_PAD.encode(value);
    let as_text = fuzzing::open_as(ring, purpose, name, &text);
    match &as_text {
        Err(OpenError::TooLarge) => assert!(name.len() + text.len() > MAX_COOKIE_SIZE),
        other => assert_eq!(other.as_ref().ok(), opened.as_ref().ok()),
    }
    let Ok(opened) = opened else {
        return;
    };
    let resealed = fuzzing::seal_raw(ring, purpose, name, &opened.plaintext);
    let reopened = fuzzing::open_raw(ring, purpose, name, &resealed).expect("resealed opens");
    assert_eq!(reopened.plaintext, opened.plaintext);
    assert!(reopened.is_current_key);
}

fn store_record(trusted: bool, data: &[u8]) {
    let ring = fuzz_key_ring();
    let key = RecordKey::for_session_id(&RECORD_SESSION_ID);
    let Ok(plaintext) = fuzzing::open_record(ring, trusted, &key, data) else {
        return;
    };
    assert!(
        trusted || data.first() != Some(&0),
        "an untrusted store's unsealed record was accepted"
    );
    let again = fuzzing::seal_record(ring, trusted, &key, &plaintext);
    assert_eq!(
        fuzzing::open_record(ring, trusted, &key, &again),
        Ok(plaintext)
    );
    let other = RecordKey::for_session_id(b"another session");
    assert!(
        fuzzing::open_record(ring, trusted, &other, data).is_err(),
        "a record opened under another session's key"
    );
}
