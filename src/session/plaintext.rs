//! The plaintext sealed into a client-side session cookie.
//!
//! ```text
//! format (1) | flags (1) | schema | issued | absolute deadline | [idle deadline] | bincode(T)
//! ```
//!
//! Numbers are LEB128 varints; times are whole seconds since the Unix epoch.
//! The header is hand-written rather than bincode so that the deadlines can
//! be read, and the cookie refused, without decoding `T`.

use serde::Serialize;

use crate::codec::{self, CodecError};
use crate::session::config::{SessionConfig, CLOCK_SKEW_SECONDS};
use crate::session::SessionData;

const FORMAT: u8 = 1;
const FLAG_PERSISTENT: u8 = 0b01;
const FLAG_IDLE: u8 = 0b10;

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

/// Encodes the header and `data`.
pub(crate) fn encode<T: Serialize>(
    deadlines: &Deadlines,
    schema: u32,
    data: &T,
) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::with_capacity(64);
    let mut flags = 0;
    if deadlines.persistent {
        flags |= FLAG_PERSISTENT;
    }
    if deadlines.idle.is_some() {
        flags |= FLAG_IDLE;
    }
    out.extend_from_slice(&[FORMAT, flags]);
    write_varint(&mut out, u64::from(schema));
    write_varint(&mut out, deadlines.issued);
    write_varint(&mut out, deadlines.absolute);
    if let Some(idle) = deadlines.idle {
        write_varint(&mut out, idle);
    }
    codec::encode_into(data, &mut out)?;
    Ok(out)
}

/// Decodes the header; `None` for anything this version did not write.
pub(crate) fn decode(bytes: &[u8]) -> Option<Decoded<'_>> {
    let (&format, rest) = bytes.split_first()?;
    let (&flags, mut rest) = rest.split_first()?;
    if format != FORMAT || flags & !(FLAG_PERSISTENT | FLAG_IDLE) != 0 {
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

    fn ended(reason: &'static str) -> Self {
        Self {
            reason,
            unreadable: false,
        }
    }
}

/// Checks an authentic plaintext's schema and deadlines at `now`, then
/// decodes its data.
pub(crate) fn decode_session<T: SessionData>(
    config: &SessionConfig,
    bytes: &[u8],
    now: u64,
) -> Result<(T, Deadlines), Refusal> {
    let decoded = decode(bytes).ok_or(Refusal::unreadable("unreadable session header"))?;
    let deadlines = decoded.deadlines;
    if decoded.schema != config.schema_version {
        return Err(Refusal::unreadable("schema version changed"));
    }
    if deadlines.issued > now.saturating_add(CLOCK_SKEW_SECONDS) {
        return Err(Refusal::ended("issued in the future"));
    }
    if now >= deadlines.absolute {
        return Err(Refusal::ended("absolute deadline passed"));
    }
    if deadlines.idle.is_some_and(|idle| now >= idle) {
        return Err(Refusal::ended("inactivity deadline passed"));
    }
    let data = codec::decode(decoded.payload)
        .map_err(|_| Refusal::unreadable("session data does not decode"))?;
    Ok((data, deadlines))
}

fn write_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn read_varint(input: &mut &[u8]) -> Option<u64> {
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
        let bytes = encode(&deadlines, 3, &(7u64, "x".to_owned())).expect("encode");
        let decoded = decode(&bytes).expect("decode");
        assert_eq!(decoded.deadlines, deadlines);
        assert_eq!(decoded.schema, 3);
        let data: (u64, String) = codec::decode(decoded.payload).expect("payload");
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
        let mut bytes = encode(&deadlines, 0, &0u8).expect("encode");
        bytes[1] |= 0b100;
        assert!(decode(&bytes).is_none());
        bytes[1] = 0;
        bytes[0] = 2;
        assert!(decode(&bytes).is_none());
    }

    proptest! {
        #[test]
        fn varints_round_trip(value: u64) {
            let mut out = Vec::new();
            write_varint(&mut out, value);
            let mut input = out.as_slice();
            prop_assert_eq!(read_varint(&mut input), Some(value));
            prop_assert!(input.is_empty());
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode(&bytes);
        }
    }
}
