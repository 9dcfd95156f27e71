//! How session data becomes bytes: bincode by default, CBOR on request.
//!
//! Every call into bincode lives in this file, and every call into CBOR in
//! [`cbor`]. bincode 2.x is unmaintained and 3.0.0 is a compile error, so
//! keeping the format behind these few functions means a future change of
//! encoder touches one file. bincode's standard configuration
//! (little-endian, variable-length integers) writes no field names: compact
//! enough for a cookie, but unable to carry serde attributes that depend on
//! them. CBOR writes field names and type tags, so every serde shape
//! round-trips, at a few bytes per field.
//!
//! Decoding is bounded twice: in bytes claimed ([`DECODE_LIMIT`]) and in
//! nesting depth ([`DEFAULT_MAX_DEPTH`], see [`depth`]), since bincode
//! itself would recurse until the stack overflows.

pub(crate) mod cbor;
mod depth;

use std::fmt;

use bincode::config::{self, Config};
use bincode::error::DecodeError;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// How a layer serializes its session type.
///
/// bincode, the default, is compact: no field names, so more fits in a
/// cookie. It cannot carry serde attributes that rely on field names or
/// type tags: `skip_serializing_if`, `flatten`, internally tagged
/// (`#[serde(tag = "...")]`) and untagged enums, and `Option`s of them. A
/// layer refuses a type whose default value does not survive bincode, and
/// in debug builds every write checks that the value reads back. CBOR is
/// self-describing: every serde shape round-trips, at the cost of its
/// field names in every cookie or record.
///
/// The codec is sealed into every session: after switching, sessions
/// written with the other codec are fresh sessions, never decoded as
/// other data.
///
/// # Examples
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use tower_cookie_sessions::{Codec, Key, SessionLayer};
///
/// #[derive(Clone, Default, Serialize, Deserialize)]
/// struct Account {
///     #[serde(skip_serializing_if = "Option::is_none")]
///     user: Option<u64>,
/// }
///
/// // bincode cannot carry `skip_serializing_if`...
/// assert!(SessionLayer::<Account>::new(Key::generate()).is_err());
/// // ...CBOR can.
/// let layer = SessionLayer::<Account>::builder(Key::generate())
///     .codec(Codec::Cbor)
///     .build();
/// assert!(layer.is_ok());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Codec {
    /// bincode 2 in its standard configuration: compact, no field names.
    #[default]
    Bincode,
    /// CBOR (RFC 8949), self-describing: field names and enum tags
    /// included.
    Cbor,
}

impl Codec {
    /// How the codec is named in messages.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Codec::Bincode => "bincode",
            Codec::Cbor => "CBOR",
        }
    }
}

/// The most a decode may claim, in bytes. Values arrive authenticated, so
/// this guards against a corrupt store record or a leaked key asking for a
/// huge allocation, not against ordinary clients.
pub(crate) const DECODE_LIMIT: usize = 16 * 1024 * 1024;

/// How deeply a decoded value may nest, counting each struct, tuple,
/// sequence, map, enum, `Some` and newtype struct on the way down as one
/// level. Far beyond any session type written by hand, and far below what
/// overflows a thread's stack.
pub(crate) const DEFAULT_MAX_DEPTH: usize = 128;

fn configuration() -> impl Config {
    config::standard().with_limit::<DECODE_LIMIT>()
}

/// Why a value could not be encoded or decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CodecError(pub(crate) String);

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Appends the encoding of `value` to `out`.
pub(crate) fn encode_into<T: Serialize + ?Sized>(
    codec: Codec,
    value: &T,
    out: &mut Vec<u8>,
) -> Result<(), CodecError> {
    match codec {
        Codec::Bincode => bincode::serde::encode_into_std_write(value, out, configuration())
            .map(|_| ())
            .map_err(|err| CodecError(format!("encode failed: {err}"))),
        Codec::Cbor => {
            cbor::encode_into(value, out).map_err(|err| CodecError(format!("encode failed: {err}")))
        }
    }
}

/// Writes the encoding of `value` at the start of `out` and gives its
/// length; `None` when it does not fit (or cannot be encoded:
/// [`encode_into`] then says why). Writing to a slice directly is cheaper
/// than through `std::io::Write`.
pub(crate) fn encode_into_slice<T: Serialize + ?Sized>(
    codec: Codec,
    value: &T,
    out: &mut [u8],
) -> Option<usize> {
    match codec {
        Codec::Bincode => bincode::serde::encode_into_slice(value, out, configuration()).ok(),
        Codec::Cbor => {
            let capacity = out.len();
            let mut writer = &mut out[..];
            ciborium::into_writer(value, &mut writer).ok()?;
            Some(capacity - writer.len())
        }
    }
}

/// The encoding of `value`.
pub(crate) fn encode<T: Serialize + ?Sized>(
    codec: Codec,
    value: &T,
) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::new();
    encode_into(codec, value, &mut out)?;
    Ok(out)
}

/// Whether `a` and `b` encode to the same bytes: what a save would write is
/// what is already stored. Values that fit are compared in stack buffers,
/// so the usual small session allocates nothing here; one that cannot be
/// encoded compares unequal (its save then reports why).
pub(crate) fn same_encoding<T: Serialize + ?Sized>(codec: Codec, a: &T, b: &T) -> bool {
    const STACK: usize = 512;
    let (mut left, mut right) = ([0u8; STACK], [0u8; STACK]);
    match (
        encode_into_slice(codec, a, &mut left),
        encode_into_slice(codec, b, &mut right),
    ) {
        (Some(l), Some(r)) => left[..l] == right[..r],
        _ => match (encode(codec, a), encode(codec, b)) {
            (Ok(l), Ok(r)) => l == r,
            _ => false,
        },
    }
}

/// Decodes a `T` that must take every byte of `bytes`: trailing bytes mean
/// the value was written as another type. Nesting deeper than
/// [`DEFAULT_MAX_DEPTH`] is refused.
#[cfg(test)]
pub(crate) fn decode<T: DeserializeOwned>(codec: Codec, bytes: &[u8]) -> Result<T, CodecError> {
    decode_with_depth(codec, bytes, DEFAULT_MAX_DEPTH)
}

/// [`decode`], refusing values nested deeper than `max_depth` levels.
pub(crate) fn decode_with_depth<T: DeserializeOwned>(
    codec: Codec,
    bytes: &[u8],
    max_depth: usize,
) -> Result<T, CodecError> {
    if codec == Codec::Cbor {
        return cbor::decode(bytes, max_depth)
            .map_err(|err| CodecError(format!("decode failed: {}", err.reason())));
    }
    let (value, used) =
        bincode::serde::seed_decode_from_slice(depth::seed::<T>(max_depth), bytes, configuration())
            .map_err(|err| CodecError(format!("decode failed: {}", describe(err))))?;
    if used != bytes.len() {
        return Err(CodecError(format!(
            "decode failed: {} trailing bytes",
            bytes.len() - used
        )));
    }
    Ok(value)
}

/// bincode's `Display` is its `Debug`; a message from serde (the depth
/// limit's among them) reads better without the variant around it.
fn describe(err: DecodeError) -> String {
    match err {
        DecodeError::OtherString(message) => message,
        other => other.to_string(),
    }
}

/// Why `value` does not come back from `codec` as it went in: decoded and
/// encoded again, its bytes differ, or they do not decode. `None` when it
/// round-trips.
pub(crate) fn round_trip_problem<T: Serialize + DeserializeOwned>(
    codec: Codec,
    value: &T,
) -> Option<String> {
    let bytes = match encode(codec, value) {
        Ok(bytes) => bytes,
        Err(error) => return Some(error.to_string()),
    };
    // The value is the application's own, already built: its depth is not
    // an attacker's, so the check does not bound it.
    let back: T = match decode_with_depth(codec, &bytes, usize::MAX) {
        Ok(back) => back,
        Err(error) => return Some(error.to_string()),
    };
    match encode(codec, &back) {
        Ok(again) if again == bytes => None,
        Ok(_) => Some("the value changed when decoded and encoded again".into()),
        Err(error) => Some(error.to_string()),
    }
}

/// Encodes `T::default()` and decodes it back, to catch serde attributes
/// the codec cannot carry (for bincode: `skip_serializing_if`, `flatten`,
/// untagged or internally tagged enums) when the layer is built rather
/// than on the first request.
pub(crate) fn check_round_trip<T: Serialize + DeserializeOwned + Default>(
    codec: Codec,
) -> Result<(), CodecError> {
    match round_trip_problem(codec, &T::default()) {
        None => Ok(()),
        Some(problem) => Err(CodecError(problem)),
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    use super::*;

    #[derive(Serialize, Deserialize, Default, PartialEq, Debug)]
    struct Plain {
        id: u64,
        name: String,
    }

    #[derive(Serialize, Deserialize, Default)]
    struct Skips {
        #[serde(skip_serializing_if = "Option::is_none")]
        maybe: Option<u32>,
        after: u32,
    }

    #[derive(Serialize, Deserialize, Default)]
    struct Flattens {
        #[serde(flatten)]
        inner: Plain,
    }

    #[test]
    fn plain_structs_round_trip() {
        check_round_trip::<Plain>(Codec::Bincode).expect("plain");
        let bytes = encode(
            Codec::Bincode,
            &Plain {
                id: 5,
                name: "x".into(),
            },
        )
        .expect("encode");
        assert_eq!(bytes.len(), 3);
        assert_eq!(
            decode::<Plain>(Codec::Bincode, &bytes).expect("decode").id,
            5
        );
    }

    #[test]
    fn lossy_attributes_are_caught() {
        assert!(check_round_trip::<Skips>(Codec::Bincode).is_err());
        assert!(check_round_trip::<Flattens>(Codec::Bincode).is_err());
    }

    #[test]
    fn cbor_carries_what_bincode_cannot() {
        check_round_trip::<Skips>(Codec::Cbor).expect("skips");
        check_round_trip::<Flattens>(Codec::Cbor).expect("flattens");
        // `None` round-trips through bincode, so only some values fail.
        #[derive(Serialize, Deserialize, Default)]
        #[serde(tag = "kind")]
        enum Role {
            #[default]
            Guest,
        }
        let value = Some(Role::Guest);
        assert_eq!(round_trip_problem(Codec::Bincode, &None::<Role>), None);
        assert!(round_trip_problem(Codec::Bincode, &value).is_some());
        assert_eq!(round_trip_problem(Codec::Cbor, &value), None);
    }

    #[test]
    fn a_slice_encoding_matches_the_heap_one_or_does_not_fit() {
        for codec in [Codec::Bincode, Codec::Cbor] {
            let value = Plain {
                id: 300,
                name: "ada".into(),
            };
            let heap = encode(codec, &value).expect("encode");
            let mut buffer = [0u8; 64];
            let len = encode_into_slice(codec, &value, &mut buffer).expect("fits");
            assert_eq!(&buffer[..len], heap.as_slice());
            let mut small = [0u8; 4];
            assert_eq!(encode_into_slice(codec, &value, &mut small), None);
        }
    }

    #[test]
    fn trailing_bytes_are_refused() {
        let mut bytes = encode(Codec::Bincode, &Plain::default()).expect("encode");
        bytes.push(0);
        assert!(decode::<Plain>(Codec::Bincode, &bytes).is_err());
        let mut bytes = encode(Codec::Cbor, &Plain::default()).expect("encode");
        bytes.push(0);
        assert!(decode::<Plain>(Codec::Cbor, &bytes).is_err());
    }
}
