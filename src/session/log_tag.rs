//! How log events name a server-side session: a short keyed hash of its
//! record key, so an operator can follow one session through the log
//! while the log reveals no id or record key, and nobody without the
//! layer's key can tell which tag belongs to which session.

use std::fmt;

use sha2::{Digest, Sha256};

use crate::key::Purpose;
use crate::session::config::SessionConfig;
use crate::store::RecordKey;

/// Eight hex digits naming one session in `tracing` events.
#[derive(Clone, Copy)]
pub(crate) struct LogTag([u8; 4]);

impl LogTag {
    /// The tag of the session stored under `key`, keyed by the current
    /// key's record subkey (tags change when the key rotates).
    pub(crate) fn of(config: &SessionConfig, key: &RecordKey) -> Self {
        let subkey = config.keys.current().subkey(Purpose::StoreRecord);
        let digest = Sha256::new()
            .chain_update(b"tower-cookie-sessions log tag")
            .chain_update(subkey.0)
            .chain_update(key.as_bytes())
            .finalize();
        let mut tag = [0; 4];
        tag.copy_from_slice(&digest[..4]);
        Self(tag)
    }
}

impl fmt::Display for LogTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::{Key, KeyRing};

    #[test]
    fn tags_are_short_stable_and_keyed() {
        let key = RecordKey::for_session_id(b"alice");
        let config = SessionConfig::new(KeyRing::from(Key::generate()));
        let tag = LogTag::of(&config, &key).to_string();
        assert_eq!(tag.len(), 8);
        assert_eq!(tag, LogTag::of(&config, &key).to_string());
        assert!(
            !key.to_hex().contains(&tag),
            "not a piece of the record key"
        );
        let other = SessionConfig::new(KeyRing::from(Key::generate()));
        assert_ne!(tag, LogTag::of(&other, &key).to_string());
        let bob = RecordKey::for_session_id(b"bob");
        assert_ne!(tag, LogTag::of(&config, &bob).to_string());
    }
}
