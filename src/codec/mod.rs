//! Every call into bincode lives here.
//!
//! bincode 2.x is unmaintained and 3.0.0 is a compile error, so keeping the
//! format behind these few functions means a future change of encoder
//! touches one file. The encoding is bincode's standard configuration
//! (little-endian, variable-length integers), with no field names: compact
//! enough for a cookie.
//!
//! Decoding is bounded twice: in bytes claimed ([`DECODE_LIMIT`]) and in
//! nesting depth ([`DEFAULT_MAX_DEPTH`], see [`depth`]), since bincode
//! itself would recurse until the stack overflows.

mod depth;

use std::fmt;

use bincode::config::{self, Config};
use bincode::error::DecodeError;
use serde::de::DeserializeOwned;
use serde::Serialize;

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
pub(crate) struct CodecError(String);

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Appends the encoding of `value` to `out`.
pub(crate) fn encode_into<T: Serialize + ?Sized>(
    value: &T,
    out: &mut Vec<u8>,
) -> Result<(), CodecError> {
    bincode::serde::encode_into_std_write(value, out, configuration())
        .map(|_| ())
        .map_err(|err| CodecError(format!("encode failed: {err}")))
}

/// Writes the encoding of `value` at the start of `out` and gives its
/// length; `None` when it does not fit (or cannot be encoded:
/// [`encode_into`] then says why). Writing to a slice directly is cheaper
/// than through `std::io::Write`.
pub(crate) fn encode_into_slice<T: Serialize + ?Sized>(value: &T, out: &mut [u8]) -> Option<usize> {
    bincode::serde::encode_into_slice(value, out, configuration()).ok()
}

/// The encoding of `value`.
pub(crate) fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::new();
    encode_into(value, &mut out)?;
    Ok(out)
}

/// Whether `a` and `b` encode to the same bytes: what a save would write is
/// what is already stored. Values that fit are compared in stack buffers,
/// so the usual small session allocates nothing here; one that cannot be
/// encoded compares unequal (its save then reports why).
pub(crate) fn same_encoding<T: Serialize + ?Sized>(a: &T, b: &T) -> bool {
    const STACK: usize = 512;
    let (mut left, mut right) = ([0u8; STACK], [0u8; STACK]);
    match (
        encode_into_slice(a, &mut left),
        encode_into_slice(b, &mut right),
    ) {
        (Some(l), Some(r)) => left[..l] == right[..r],
        _ => match (encode(a), encode(b)) {
            (Ok(l), Ok(r)) => l == r,
            _ => false,
        },
    }
}

/// Decodes a `T` that must take every byte of `bytes`: trailing bytes mean
/// the value was written as another type. Nesting deeper than
/// [`DEFAULT_MAX_DEPTH`] is refused.
pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    decode_with_depth(bytes, DEFAULT_MAX_DEPTH)
}

/// [`decode`], refusing values nested deeper than `max_depth` levels.
pub(crate) fn decode_with_depth<T: DeserializeOwned>(
    bytes: &[u8],
    max_depth: usize,
) -> Result<T, CodecError> {
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

/// Encodes `T::default()` and decodes it back, to catch serde attributes
/// bincode cannot carry (`skip_serializing_if`, `flatten`, untagged or
/// internally tagged enums) when the layer is built rather than on the
/// first request.
pub(crate) fn check_round_trip<T: Serialize + DeserializeOwned + Default>() -> Result<(), CodecError>
{
    let bytes = encode(&T::default())?;
    let back: T = decode(&bytes)?;
    let again = encode(&back)?;
    if again != bytes {
        return Err(CodecError(
            "the default value changed when decoded and encoded again".into(),
        ));
    }
    Ok(())
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
        check_round_trip::<Plain>().expect("plain");
        let bytes = encode(&Plain {
            id: 5,
            name: "x".into(),
        })
        .expect("encode");
        assert_eq!(bytes.len(), 3);
        assert_eq!(decode::<Plain>(&bytes).expect("decode").id, 5);
    }

    #[test]
    fn lossy_attributes_are_caught() {
        assert!(check_round_trip::<Skips>().is_err());
        assert!(check_round_trip::<Flattens>().is_err());
    }

    #[test]
    fn trailing_bytes_are_refused() {
        let mut bytes = encode(&Plain::default()).expect("encode");
        bytes.push(0);
        assert!(decode::<Plain>(&bytes).is_err());
    }
}
