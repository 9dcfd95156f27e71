//! A server-side session's record data: bound to its record key, and
//! sealed unless the store is trusted.
//!
//! ```text
//! sealed:  0x01 | envelope(Purpose::StoreRecord, name = record key hex, plaintext)
//! trusted: 0x00 | record key (32 bytes) | plaintext
//! ```
//!
//! A store that mixes up keys (a bug, a cache, a restored backup) would
//! otherwise hand one visitor another's session; a store anyone else can
//! write to would let them forge any session. Binding the key into every
//! record refuses the first; sealing, the second. A trusted store's records
//! skip only the cryptography, never the key check.

use std::borrow::Cow;

use crate::envelope;
use crate::key::Purpose;
use crate::session::shared::config::SessionConfig;
use crate::store::RecordKey;

const SEALED: u8 = 0x01;
const TRUSTED: u8 = 0x00;

/// The record data under `key` for the plaintext `write` appends to the
/// buffer it is given: after the key in the same buffer for a trusted
/// store, sealed for any other.
pub(crate) fn seal<E>(
    config: &SessionConfig,
    trusted: bool,
    key: &RecordKey,
    write: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
) -> Result<Vec<u8>, E> {
    if trusted {
        let mut data = Vec::with_capacity(64);
        data.push(TRUSTED);
        data.extend_from_slice(key.as_bytes());
        write(&mut data)?;
        return Ok(data);
    }
    let mut plaintext = Vec::with_capacity(64);
    write(&mut plaintext)?;
    let mut data = Vec::with_capacity(1 + envelope::OVERHEAD + plaintext.len());
    data.push(SEALED);
    envelope::seal_raw_into(
        &config.keys,
        Purpose::StoreRecord,
        &key.to_hex(),
        &plaintext,
        &mut data,
    );
    Ok(data)
}

/// The plaintext of the record data stored under `key`, or why it was
/// refused. An unsealed record is accepted only from a trusted store: in
/// any other, it was written by someone without the key.
pub(crate) fn open<'a>(
    config: &SessionConfig,
    trusted: bool,
    key: &RecordKey,
    data: &'a [u8],
) -> Result<Cow<'a, [u8]>, &'static str> {
    match data.split_first() {
        Some((&TRUSTED, rest)) if trusted => match rest.split_at_checked(32) {
            Some((bound, plaintext)) if bound == key.as_bytes() => Ok(Cow::Borrowed(plaintext)),
            _ => Err("record belongs to another session id"),
        },
        Some((&TRUSTED, _)) => Err("unsealed record in a store that is not trusted"),
        Some((&SEALED, sealed)) => {
            let mut raw = sealed.to_vec();
            envelope::open_raw(
                &config.keys,
                Purpose::StoreRecord,
                &key.to_hex(),
                &mut raw,
                |plaintext, _| Cow::Owned(plaintext.to_vec()),
            )
            .map_err(|error| match error {
                envelope::OpenError::UnknownKey => "record sealed under a key not in the ring",
                _ => "record failed authentication (altered, or another session id's)",
            })
        }
        _ => Err("record has an unknown format"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::{Key, KeyRing};

    fn seal_bytes(
        config: &SessionConfig,
        trusted: bool,
        key: &RecordKey,
        plaintext: &[u8],
    ) -> Vec<u8> {
        seal(config, trusted, key, |out| {
            out.extend_from_slice(plaintext);
            Ok::<_, ()>(())
        })
        .expect("infallible")
    }

    fn config() -> SessionConfig {
        SessionConfig::new(KeyRing::from(Key::generate()))
    }

    #[test]
    fn both_forms_round_trip_under_their_own_key_only() {
        let config = config();
        let alice = RecordKey::for_session_id(b"alice");
        let bob = RecordKey::for_session_id(b"bob");
        for trusted in [false, true] {
            let data = seal_bytes(&config, trusted, &alice, b"plaintext");
            assert_eq!(
                open(&config, trusted, &alice, &data).as_deref(),
                Ok(&b"plaintext"[..])
            );
            assert!(open(&config, trusted, &bob, &data).is_err(), "{trusted}");
        }
    }

    #[test]
    fn sealed_records_hide_their_data_and_refuse_changes() {
        let config = config();
        let key = RecordKey::for_session_id(b"alice");
        let data = seal_bytes(&config, false, &key, b"secret token");
        assert!(!data.windows(6).any(|w| w == b"secret"));
        for index in [1, data.len() / 2, data.len() - 1] {
            let mut altered = data.clone();
            altered[index] ^= 1;
            assert!(open(&config, false, &key, &altered).is_err(), "{index}");
        }
        // A trusted store reads sealed records too (one that became
        // trusted keeps its old records).
        assert!(open(&config, true, &key, &data).is_ok());
    }

    #[test]
    fn an_untrusted_store_never_accepts_an_unsealed_record() {
        let config = config();
        let key = RecordKey::for_session_id(b"alice");
        let forged = seal_bytes(&config, true, &key, b"admin");
        assert!(open(&config, false, &key, &forged).is_err());
        assert!(open(&config, true, &key, b"").is_err());
        assert!(open(&config, true, &key, &[7, 1, 2]).is_err());
    }
}
