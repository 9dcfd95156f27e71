//! Every call into CBOR (RFC 8949, through `ciborium`) lives here: the
//! self-describing codec a session type may opt into, and the values of a
//! `SessionMap`.

use ciborium::de::Error;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Why CBOR bytes did not read as the type asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CborError {
    /// Valid CBOR of another shape than the type's.
    Shape(String),
    /// Not valid CBOR, nested too deeply, or with bytes after the value.
    Bytes(String),
}

impl CborError {
    pub(crate) fn reason(&self) -> &str {
        match self {
            CborError::Shape(reason) | CborError::Bytes(reason) => reason,
        }
    }
}

/// Appends the CBOR of `value` to `out`.
pub(crate) fn encode_into<V: Serialize + ?Sized>(
    value: &V,
    out: &mut Vec<u8>,
) -> Result<(), String> {
    ciborium::into_writer(value, out).map_err(|error| error.to_string())
}

/// Decodes one value that takes every byte of `bytes`, nested at most
/// `max_depth` levels (ciborium counts each array, map and tag).
pub(crate) fn decode<V: DeserializeOwned>(bytes: &[u8], max_depth: usize) -> Result<V, CborError> {
    let mut rest = bytes;
    let value =
        ciborium::de::from_reader_with_recursion_limit(&mut rest, max_depth).map_err(|error| {
            match error {
                Error::Semantic(_, reason) => CborError::Shape(reason),
                Error::RecursionLimitExceeded => {
                    CborError::Bytes(format!("nested deeper than {max_depth} levels"))
                }
                Error::Syntax(offset) => CborError::Bytes(format!("invalid CBOR at byte {offset}")),
                Error::Io(error) => CborError::Bytes(format!("truncated CBOR: {error}")),
            }
        })?;
    if !rest.is_empty() {
        return Err(CborError::Bytes(format!(
            "{} bytes after the value",
            rest.len()
        )));
    }
    Ok(value)
}
