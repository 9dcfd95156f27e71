//! The task that deletes a store's expired records now and then.

use std::future::Future;
use std::time::Duration;

use crate::store::SessionStore;

/// Deletes `store`'s expired records every `interval`, forever: the SQL
/// stores' `cleanup_task`, and [`AnyStore::cleanup_task`](crate::store::AnyStore::cleanup_task).
pub(crate) fn cleanup_task<S: SessionStore>(
    store: S,
    interval: Duration,
    name: &'static str,
) -> impl Future<Output = ()> + Send + 'static {
    // Asserted here rather than in the future, where the panic would only
    // show up as a dead task.
    assert!(!interval.is_zero(), "cleanup interval must be non-zero");
    async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match store.delete_expired().await {
                Ok(0) => {}
                Ok(deleted) => tracing::debug!(store = name, deleted, "expired sessions deleted"),
                Err(error) => tracing::warn!(
                    store = name,
                    %error,
                    "deleting expired sessions failed; trying again next interval"
                ),
            }
        }
    }
}
