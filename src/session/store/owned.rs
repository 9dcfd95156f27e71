//! An owner's sessions, opened for a "your devices" page: listed through
//! the store's owner index and ended one by one by their public handles.
//!
//! Only the records the owner index gives for that owner are ever opened
//! or deleted, so a handle of another owner's session ends nothing. The
//! store given is the layer's guarded one: its timeout and its breaker.

use std::time::SystemTime;

use crate::clock::unix_seconds;
use crate::session::shared::config::SessionConfig;
use crate::session::shared::plaintext;
use crate::session::store::device::{self, Device, DeviceHandle};
use crate::session::store::log_tag::LogTag;
use crate::session::store::record;
use crate::store::{OwnerIndex, RecordKey, StoreError};

/// `owner`'s live sessions with their record keys, most recently seen
/// first. A record that does not open under the layer's keys, or whose
/// session has ended by its sealed deadlines or the revocation cutoff, is
/// left out: the layer would refuse it too.
pub(crate) async fn list<S: OwnerIndex>(
    config: &SessionConfig,
    store: &S,
    owner: &str,
) -> Result<Vec<(RecordKey, Device)>, StoreError> {
    let records = store.list_by_owner(owner).await?;
    let now = config.clock.now();
    let idle = config.idle_timeout().map(|idle| idle.as_secs());
    let mut devices: Vec<_> = records
        .into_iter()
        .filter(|(_, record)| record.owner.as_deref() == Some(owner) && !record.is_expired(now))
        .filter_map(|(key, record)| {
            let device = open(config, store.is_trusted(), &key, &record.data, now)?;
            Some((key, device.device(record.expires_at, idle)))
        })
        .collect();
    devices.sort_by_key(|(_, device)| std::cmp::Reverse(device.last_seen));
    Ok(devices)
}

/// Ends `owner`'s session named `handle`; `false` when `owner` has no
/// live session of that name.
pub(crate) async fn end<S: OwnerIndex>(
    config: &SessionConfig,
    store: &S,
    owner: &str,
    handle: DeviceHandle,
) -> Result<bool, StoreError> {
    let devices = list(config, store, owner).await?;
    let Some((key, _)) = devices.iter().find(|(_, device)| device.handle == handle) else {
        return Ok(false);
    };
    store.delete(key).await?;
    Ok(true)
}

/// The device block of a record that the layer would load, without
/// decoding the session data itself.
fn open(
    config: &SessionConfig,
    trusted: bool,
    key: &RecordKey,
    data: &[u8],
    now: SystemTime,
) -> Option<device::Meta> {
    let plaintext = record::open(config, trusted, key, data)
        .map_err(|reason| {
            let tag = LogTag::of(config, key);
            tracing::debug!(session = %tag, reason, "owner's session record refused; not listed");
        })
        .ok()?;
    let (meta, session) = device::decode(&plaintext)?;
    let header = plaintext::decode(session, config.codec)?;
    let deadlines = header.deadlines;
    let ended = deadlines.absolute <= unix_seconds(now)
        || header.schema != config.schema_version
        || config.revocation.refuses(deadlines.issued);
    (!ended).then_some(meta)
}
