use serde::de::DeserializeOwned;
use serde::Serialize;

use super::SessionMapError;
use crate::codec::cbor::{self, CborError};
use crate::codec::DEFAULT_MAX_DEPTH;

/// The map's error for the value under `key`, read as `expected`.
pub(super) fn error_for_key(
    error: CborError,
    key: &str,
    expected: &'static str,
) -> SessionMapError {
    let key = key.to_owned();
    match error {
        CborError::Shape(reason) => SessionMapError::TypeMismatch {
            key,
            expected,
            reason,
        },
        CborError::Bytes(reason) => SessionMapError::Decode {
            key,
            expected,
            reason,
        },
    }
}

pub(super) fn encode<V: Serialize + ?Sized>(value: &V) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    cbor::encode_into(value, &mut out)?;
    Ok(out)
}

/// Decodes one value that takes every byte of `bytes`.
pub(super) fn decode<V: DeserializeOwned>(bytes: &[u8]) -> Result<V, CborError> {
    cbor::decode(bytes, DEFAULT_MAX_DEPTH)
}
