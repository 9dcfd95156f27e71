//! The session plaintext: its hand-written header, then bincode data.

use tower_cookie_sessions::fuzzing::{
    self, decode_header, decode_session, encode_plaintext, DecodedHeader, PlaintextFormat,
    CLOCK_SKEW_SECONDS,
};
use tower_cookie_sessions::Codec;

use super::input::Reader;
use super::session_type::FuzzSession;
use super::FUZZ_NOW;

/// Decodes the rest of `data` as an opened session's plaintext, as the
/// layer does once a cookie or record has authenticated.
///
/// The first byte chooses the reading: bit 0, a record expiry (as a store
/// session has, which replaces the idle deadline); bit 1, a decode depth
/// limit of 8 levels instead of the default 128; bits 2–3, the schema
/// version expected (0–3).
///
/// Asserts that a header that decodes, encoded again, decodes to the same
/// header and payload; and that a session that decodes is within its
/// deadlines at [`FUZZ_NOW`] and, encoded again (on the
/// heap and on the stack alike), decodes to the same data and deadlines.
///
/// # Panics
///
/// When one of those does not hold: a finding.
///
/// # Examples
///
/// ```
/// // Expected schema 0; format 1, no flags, schema 0, issued at 1,
/// // ending at 2 (long past): refused, not a panic.
/// let input = [0, 1, 0, 0, 1, 2, 0xff];
/// fuzz_harness::session_plaintext(&input);
/// ```
pub fn session_plaintext(data: &[u8]) {
    let mut input = Reader::new(data);
    let choice = input.byte();
    let bytes = input.rest();
    let record_expiry = (choice & 0b1 != 0).then_some(FUZZ_NOW + 3600);
    let mut format = PlaintextFormat::default();
    if choice & 0b10 != 0 {
        format.max_decode_depth = 8;
    }
    format.schema = u32::from(choice >> 2 & 0b11);
    if choice & 0b1_0000 != 0 {
        format.codec = Codec::Cbor;
    }

    if let Some(decoded) = decode_header(bytes, format.codec) {
        header_round_trips(format.codec, &decoded);
    }

    let Ok((data, deadlines)) =
        decode_session::<FuzzSession>(format, bytes, FUZZ_NOW, record_expiry)
    else {
        return;
    };
    assert!(deadlines.issued <= FUZZ_NOW + CLOCK_SKEW_SECONDS);
    assert!(deadlines.absolute > FUZZ_NOW);
    assert!(deadlines.idle.is_none_or(|idle| idle > FUZZ_NOW));
    if let (Some(idle), Some(expiry)) = (deadlines.idle, record_expiry) {
        assert_eq!(idle, expiry, "a store's expiry replaces the idle deadline");
    }

    let encoded = encode_plaintext(&deadlines, format, &data).expect("encodes");
    let mut stack = [0u8; 256];
    match fuzzing::encode_plaintext_to_slice(&deadlines, format, &data, &mut stack) {
        Some(len) => assert_eq!(&stack[..len], &encoded[..]),
        None => assert!(encoded.len() > stack.len()),
    }
    let again = decode_session::<FuzzSession>(format, &encoded, FUZZ_NOW, record_expiry)
        .expect("a decoded session encoded again decodes");
    assert_eq!(again, (data, deadlines));
}

fn header_round_trips(codec: Codec, decoded: &DecodedHeader<'_>) {
    // Encoding a byte string adds a length: write the header alone by
    // encoding the unit value and cutting its encoding off again.
    let format = PlaintextFormat {
        schema: decoded.schema,
        codec,
        ..PlaintextFormat::default()
    };
    let mut bytes = encode_plaintext(&decoded.deadlines, format, &()).expect("encodes");
    let unit = fuzzing::codec_encode(codec, &()).expect("encodes").len();
    bytes.truncate(bytes.len() - unit);
    bytes.extend_from_slice(decoded.payload);
    assert_eq!(decode_header(&bytes, codec).as_ref(), Some(decoded));
}
