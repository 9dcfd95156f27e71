//! How log events name a server-side session: a short keyed hash of its
//! record key, so an operator can follow one session through the log
//! while the log reveals no id or record key, and nobody without the
//! layer's key can tell which tag belongs to which session.

use std::fmt;

use sha2::{Digest, Sha256};

use crate::key::Purpose;
use crate::session::shared::config::SessionConfig;
use crate::store::RecordKey;

/// Eight hex digits naming one session in `tracing` events. The hash is
/// computed only when an event is written: a SHA-256 costs more than a
/// memory store's whole load, and most events are filtered out.
#[derive(Clone, Copy)]
pub(crate) struct LogTag<'a> {
    config: &'a SessionConfig,
    key: &'a RecordKey,
}

impl<'a> LogTag<'a> {
    /// The tag of the session stored under `key`, keyed by the current
    /// key's record subkey (tags change when the key rotates).
    pub(crate) fn of(config: &'a SessionConfig, key: &'a RecordKey) -> Self {
        Self { config, key }
    }
}

impl fmt::Display for LogTag<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let subkey = self.config.keys.current().subkey(Purpose::StoreRecord);
        let digest = Sha256::new()
            .chain_update(b"tower-cookie-sessions log tag")
            .chain_update(subkey.0)
            .chain_update(self.key.as_bytes())
            .finalize();
        for byte in &digest[..4] {
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
