//! The plaintext sealed into a client-side session cookie.
//!
//! ```text
//! format (1) | flags (1) | schema | issued | absolute deadline | [idle deadline] | T
//! ```
//!
//! Numbers are LEB128 varints; times are whole seconds since the Unix epoch.
//! The format byte names the codec `T` is written in (1 bincode, 2 CBOR),
//! so a layer never decodes one codec's bytes as the other's. The header
//! is hand-written rather than encoded so that the deadlines can be read,
//! and the cookie refused, without decoding `T`.

use crate::codec::{self, Codec, CodecError};
use crate::session::shared::config::{SessionConfig, CLOCK_SKEW_SECONDS, MAX_COOKIE_LIFETIME};
use crate::session::SessionData;

/// The format byte of a plaintext whose data `codec` wrote.
fn format(codec: Codec) -> u8 {
    match codec {
        Codec::Bincode => 1,
        Codec::Cbor => 2,
    }
}
const FLAG_PERSISTENT: u8 = 0b01;
const FLAG_IDLE: u8 = 0b10;
/// The longest header: format, flags, and four varints of at most ten
/// bytes.
const HEADER_MAX: usize = 2 + 4 * 10;

/// When a session was issued and when it ends, in Unix seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Deadlines {
    pub(crate) issued: u64,
    pub(crate) absolute: u64,
    pub(crate) idle: Option<u64>,
    pub(crate) persistent: bool,
}

impl Deadlines {
    /// The earlier of the two deadlines.
    pub(crate) fn expires(&self) -> u64 {
        self.idle
            .map_or(self.absolute, |idle| idle.min(self.absolute))
    }
}

/// A decoded header and the still-encoded session data.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Decoded<'a> {
    pub(crate) deadlines: Deadlines,
    pub(crate) schema: u32,
    pub(crate) payload: &'a [u8],
}

/// How a plaintext is written: the layer's schema version and codec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Format {
    pub(crate) schema: u32,
    pub(crate) codec: Codec,
}

impl Format {
    pub(crate) fn of(config: &SessionConfig) -> Self {
        Self {
            schema: config.schema_version,
            codec: config.codec,
        }
    }
}

/// Encodes the header and `data`.
pub(crate) fn encode<T: SessionData>(
    deadlines: &Deadlines,
    format: Format,
    data: &T,
) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::with_capacity(64);
    encode_into(deadlines, format, data, &mut out)?;
    Ok(out)
}

/// [`encode`], appending to `out`: a trusted store's record writes its
/// key first and the plaintext right after it, in one buffer.
pub(crate) fn encode_into<T: SessionData>(
    deadlines: &Deadlines,
    format: Format,
    data: &T,
    out: &mut Vec<u8>,
) -> Result<(), CodecError> {
    let (head, len) = header(deadlines, format);
    out.extend_from_slice(&head[..len]);
    codec::encode_into(format.codec, data, out)?;
    debug_check_round_trip(format.codec, data);
    Ok(())
}

/// [`encode`] into `buffer` when it fits, giving the length written;
/// `None` when it does not (or the data cannot be encoded: [`encode`]
/// then says why). A cookie session's plaintext is only sealed, so it can
/// live on the caller's stack.
pub(crate) fn encode_to_slice<T: SessionData>(
    deadlines: &Deadlines,
    format: Format,
    data: &T,
    buffer: &mut [u8],
) -> Option<usize> {
    let (head, len) = header(deadlines, format);
    buffer.get_mut(..len)?.copy_from_slice(&head[..len]);
    let written = codec::encode_into_slice(format.codec, data, &mut buffer[len..])?;
    debug_check_round_trip(format.codec, data);
    Some(len + written)
}

/// In debug builds, a value bincode writes but cannot read back (a serde
/// shape that needs field names or tags, reached only by some values) is a
/// panic that says what to do, on the write that would have lost the
/// session. Release builds pay nothing; there an authentic session that
/// fails to decode is logged at `warn` (see [`decode_session`]).
#[cfg(debug_assertions)]
fn debug_check_round_trip<T: SessionData>(codec: Codec, data: &T) {
    if codec != Codec::Bincode {
        return;
    }
    if let Some(problem) = codec::round_trip_problem(codec, data) {
        panic!(
            "session type `{}` does not round-trip through bincode ({problem}): every later \
             request would get a fresh session. Build the layer with `.codec(Codec::Cbor)` for \
             serde attributes that need field names or tags (skip_serializing_if, flatten, \
             internally tagged or untagged enums)",
            std::any::type_name::<T>()
        );
    }
}

#[cfg(not(debug_assertions))]
fn debug_check_round_trip<T: SessionData>(_: Codec, _: &T) {}

/// The header's bytes, in a buffer of the longest header, and its length.
fn header(deadlines: &Deadlines, format: Format) -> ([u8; HEADER_MAX], usize) {
    let mut flags = 0;
    if deadlines.persistent {
        flags |= FLAG_PERSISTENT;
    }
    if deadlines.idle.is_some() {
        flags |= FLAG_IDLE;
    }
    let mut head = [0u8; HEADER_MAX];
    head[0] = self::format(format.codec);
    head[1] = flags;
    let mut len = 2;
    len += write_varint(&mut head[len..], u64::from(format.schema));
    len += write_varint(&mut head[len..], deadlines.issued);
    len += write_varint(&mut head[len..], deadlines.absolute);
    if let Some(idle) = deadlines.idle {
        len += write_varint(&mut head[len..], idle);
    }
    (head, len)
}

/// Decodes the header of a plaintext whose data `codec` wrote; `None` for
/// anything else (another codec's, or what this version did not write).
pub(crate) fn decode(bytes: &[u8], codec: Codec) -> Option<Decoded<'_>> {
    let (&written_as, rest) = bytes.split_first()?;
    let (&flags, mut rest) = rest.split_first()?;
    if written_as != format(codec) || flags & !(FLAG_PERSISTENT | FLAG_IDLE) != 0 {
        return None;
    }
    let schema = u32::try_from(read_varint(&mut rest)?).ok()?;
    let issued = read_varint(&mut rest)?;
    let absolute = read_varint(&mut rest)?;
    let idle = if flags & FLAG_IDLE != 0 {
        Some(read_varint(&mut rest)?)
    } else {
        None
    };
    Some(Decoded {
        deadlines: Deadlines {
            issued,
            absolute,
            idle,
            persistent: flags & FLAG_PERSISTENT != 0,
        },
        schema,
        payload: rest,
    })
}

/// Why an authentic session was not used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub(crate) reason: &'static str,
    /// The bytes are not a session this configuration can read (as opposed
    /// to a valid session that has ended): a store should replace them.
    pub(crate) unreadable: bool,
}

impl Refusal {
    fn unreadable(reason: &'static str) -> Self {
        Self {
            reason,
            unreadable: true,
        }
    }

    pub(crate) fn ended(reason: &'static str) -> Self {
        Self {
            reason,
            unreadable: false,
        }
    }
}

/// Checks an authentic plaintext's schema and deadlines at `now`, then
/// decodes its data.
///
/// `record_expiry` is a store record's own expiry: a store session's idle
/// deadline lives there, where a refresh moves it with a `touch` that
/// leaves the record's data (and version) alone, so it replaces the idle
/// deadline sealed into the data.
pub(crate) fn decode_session<T: SessionData>(
    config: &SessionConfig,
    bytes: &[u8],
    now: u64,
    record_expiry: Option<u64>,
) -> Result<(T, Deadlines), Refusal> {
    let decoded = decode(bytes, config.codec).ok_or(Refusal::unreadable(
        "unreadable session header (written by another codec or version)",
    ))?;
    let mut deadlines = decoded.deadlines;
    if let (Some(_), Some(expiry)) = (deadlines.idle, record_expiry) {
        deadlines.idle = Some(expiry);
    }
    if decoded.schema != config.schema_version {
        return Err(Refusal::unreadable("schema version changed"));
    }
    if deadlines.issued > now.saturating_add(CLOCK_SKEW_SECONDS) {
        return Err(Refusal::ended("issued in the future"));
    }
    // Every deadline is sealed at most 400 days after the moment it was
    // sealed, which is before now: one further out was not written by a
    // layer of this version.
    let furthest = now
        .saturating_add(MAX_COOKIE_LIFETIME.as_secs())
        .saturating_add(CLOCK_SKEW_SECONDS);
    if deadlines.absolute > furthest || deadlines.idle.is_some_and(|idle| idle > furthest) {
        return Err(Refusal::ended("deadline beyond what a layer seals"));
    }
    if now >= deadlines.absolute {
        return Err(Refusal::ended("absolute deadline passed"));
    }
    if deadlines.idle.is_some_and(|idle| now >= idle) {
        return Err(Refusal::ended("inactivity deadline passed"));
    }
    let data = codec::decode_with_depth(config.codec, decoded.payload, config.max_decode_depth)
        .map_err(|error| {
            config.undecodable.report::<T>(config.codec, now, &error);
            Refusal::unreadable("session data does not decode")
        })?;
    Ok((data, deadlines))
}

/// Writes `value` as a LEB128 varint at the start of `out` (which has room
/// for ten bytes, the longest a `u64` takes) and gives its length.
pub(crate) fn write_varint(out: &mut [u8], mut value: u64) -> usize {
    let mut len = 0;
    while value >= 0x80 {
        out[len] = (value as u8) | 0x80;
        value >>= 7;
        len += 1;
    }
    out[len] = value as u8;
    len + 1
}

pub(crate) fn read_varint(input: &mut &[u8]) -> Option<u64> {
    let mut value: u64 = 0;
    for (i, &byte) in input.iter().enumerate().take(10) {
        let bits = u64::from(byte & 0x7f);
        let shift = 7 * i as u32;
        // The tenth byte may only carry u64's last bit.
        if shift == 63 && bits > 1 {
            return None;
        }
        value |= bits << shift;
        if byte & 0x80 == 0 {
            *input = &input[i + 1..];
            return Some(value);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn header_round_trips() {
        let deadlines = Deadlines {
            issued: 1_700_000_000,
            absolute: 1_700_086_400,
            idle: Some(1_700_001_800),
            persistent: true,
        };
        let format = Format {
            schema: 3,
            codec: Codec::Bincode,
        };
        let bytes = encode(&deadlines, format, &(7u64, "x".to_owned())).expect("encode");
        let decoded = decode(&bytes, Codec::Bincode).expect("decode");
        assert_eq!(decoded.deadlines, deadlines);
        assert_eq!(decoded.schema, 3);
        let data: (u64, String) = codec::decode(Codec::Bincode, decoded.payload).expect("payload");
        assert_eq!(data, (7, "x".to_owned()));
    }

    #[test]
    fn unknown_format_or_flags_are_refused() {
        let deadlines = Deadlines {
            issued: 1,
            absolute: 2,
            idle: None,
            persistent: false,
        };
        let format = Format {
            schema: 0,
            codec: Codec::Bincode,
        };
        let mut bytes = encode(&deadlines, format, &0u8).expect("encode");
        bytes[1] |= 0b100;
        assert!(decode(&bytes, Codec::Bincode).is_none());
        bytes[1] = 0;
        bytes[0] = 3;
        assert!(decode(&bytes, Codec::Bincode).is_none());
    }

    #[test]
    fn one_codecs_plaintext_is_refused_by_the_other() {
        let deadlines = Deadlines {
            issued: 1,
            absolute: 2,
            idle: None,
            persistent: false,
        };
        for (written, read) in [(Codec::Bincode, Codec::Cbor), (Codec::Cbor, Codec::Bincode)] {
            let format = Format {
                schema: 0,
                codec: written,
            };
            let bytes = encode(&deadlines, format, &7u8).expect("encode");
            assert!(decode(&bytes, written).is_some());
            assert!(
                decode(&bytes, read).is_none(),
                "{written:?} read as {read:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn varints_round_trip(value: u64) {
            let mut out = [0u8; 10];
            let len = write_varint(&mut out, value);
            let mut input = &out[..len];
            prop_assert_eq!(read_varint(&mut input), Some(value));
            prop_assert!(input.is_empty());
        }

        #[test]
        fn encoding_on_the_stack_matches_the_heap(
            issued: u64,
            absolute: u64,
            idle: Option<u64>,
            persistent: bool,
            schema: u32,
            data in proptest::collection::vec(any::<u8>(), 0..300),
        ) {
            let deadlines = Deadlines { issued, absolute, idle, persistent };
            let format = Format { schema, codec: Codec::Bincode };
            let heap = encode(&deadlines, format, &data).expect("encodes");
            let mut buffer = [0u8; 256];
            match encode_to_slice(&deadlines, format, &data, &mut buffer) {
                Some(len) => prop_assert_eq!(&buffer[..len], heap.as_slice()),
                None => prop_assert!(heap.len() > buffer.len()),
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode(&bytes, Codec::Bincode);
            let _ = decode(&bytes, Codec::Cbor);
        }
    }
}
