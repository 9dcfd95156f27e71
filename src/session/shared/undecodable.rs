//! The warning for authentic sessions whose data does not decode.
//!
//! Such a session is replaced by a fresh one, which is right for a cookie
//! sealed before the session type changed, and wrong, silently, for a
//! type the codec cannot carry: every request would start over. So it is
//! logged at `warn`, with what to do, but at most once a minute per layer,
//! since a deploy that changes the type makes every returning visitor
//! hit it at once.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::codec::{Codec, CodecError};

/// How long after one warning the next may be logged, in seconds.
const QUIET_SECONDS: u64 = 60;

/// When this layer last warned, shared by its clones.
#[derive(Debug, Default)]
pub(crate) struct Undecodable {
    /// The Unix second of the last warning plus one; zero when there was
    /// none yet.
    last: AtomicU64,
}

impl Undecodable {
    /// Reports that a `T` written with `codec` did not decode at `now`.
    ///
    /// The decoder's message is logged at `debug` only: serde's messages
    /// quote the values they met, and session data is the application's.
    pub(crate) fn report<T>(&self, codec: Codec, now: u64, error: &CodecError) {
        let last = self.last.load(Ordering::Relaxed);
        let quiet = last != 0 && now.saturating_add(1) < last.saturating_add(QUIET_SECONDS);
        if quiet
            || self
                .last
                .compare_exchange(
                    last,
                    now.saturating_add(1),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_err()
        {
            tracing::debug!(reason = %error, "session data does not decode; starting a fresh session");
            return;
        }
        tracing::warn!(
            session_type = std::any::type_name::<T>(),
            codec = codec.name(),
            "an authentic session's data does not decode as the session type; starting a fresh \
             session. If the type changed on purpose, raise `schema_version`; if it uses serde \
             attributes bincode cannot carry (skip_serializing_if, flatten, internally tagged or \
             untagged enums), build the layer with `.codec(Codec::Cbor)`. Logged at most once a \
             minute"
        );
        tracing::debug!(reason = %error, "session data does not decode");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warns_at_most_once_a_minute() {
        let undecodable = Undecodable::default();
        let error = CodecError("decode failed".to_owned());
        undecodable.report::<u8>(Codec::Bincode, 1_000, &error);
        assert_eq!(undecodable.last.load(Ordering::Relaxed), 1_001);
        undecodable.report::<u8>(Codec::Bincode, 1_059, &error);
        assert_eq!(undecodable.last.load(Ordering::Relaxed), 1_001);
        undecodable.report::<u8>(Codec::Bincode, 1_060, &error);
        assert_eq!(undecodable.last.load(Ordering::Relaxed), 1_061);
    }
}
