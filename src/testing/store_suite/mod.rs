//! The conformance suite every session store runs (feature `test-util`):
//! the crate's own stores pass it, and a store of your own runs all of it
//! with one call.
//!
//! Each check gets a fresh store and drives it the way the layer will: a
//! `SessionLayer` around a small tower service, with real `Cookie` and
//! `Set-Cookie` headers (round trips, expiry, rolling refresh, renew,
//! destroy, forged and swapped records, the size cap, racing requests under
//! each [`ConflictPolicy`](crate::ConflictPolicy)), and the store trait
//! itself (`create` only inserts, `save` is compare-and-set, `touch` moves
//! only the expiry, expired records are gone). It needs no web framework:
//! only tower and a tokio runtime, since checks race requests in tasks of
//! their own.
//!
//! - [`run_all`] runs every check in turn and fails naming each check that
//!   failed.
//! - [`store_conformance!`](crate::store_conformance) writes one
//!   `#[tokio::test]` per check, so each passes or fails, and runs in
//!   parallel, on its own; it needs tokio with the `macros` and
//!   `rt-multi-thread` features among your dev-dependencies.
//! - [`CHECKS`] and [`run_check`] run them one by one.
//!
//! A store that leaves something behind (a table, keys under a prefix) is
//! given a teardown closure, which gets the store after its check, passed
//! or failed. It is a closure rather than a trait to implement so that a
//! test crate can run the suite on a store type it does not own.
//!
//! ```toml
//! [dev-dependencies]
//! tower-cookie-sessions = { version = "0.1", features = ["test-util"] }
//! tokio = { version = "1", features = ["macros", "rt-multi-thread"] }
//! ```
//!
//! # Examples
//!
//! `MemoryStore` stands in for your store:
//!
//! ```
//! use tower_cookie_sessions::store::MemoryStore;
//! use tower_cookie_sessions::testing::store_suite;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! store_suite::run_all(|| async { MemoryStore::new() }).await;
//! # }
//! ```

mod app;
mod client;
mod counting;
mod devices;
mod integrity;
mod lifecycle;
mod races;
mod setup;
mod store_calls;

use std::any::Any;
use std::future::Future;
use std::pin::Pin;

use devices::*;
use integrity::*;
use lifecycle::*;
use races::*;
use store_calls::*;

use crate::store::{OwnerIndex, SessionStore};

/// The name of every check, in the order [`run_all`] runs them; each is a
/// name [`run_check`] takes, and the name of the test
/// [`store_conformance!`](crate::store_conformance) writes for it.
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::testing::store_suite::CHECKS;
///
/// assert!(CHECKS.contains(&"save_is_compare_and_set"));
/// ```
pub const CHECKS: &[&str] = crate::store_conformance!(@list @names);

/// The checks of a store's [`OwnerIndex`], for stores that have one: each
/// a name [`run_owner_index_check`] takes, and the name of a test
/// [`store_conformance!`](crate::store_conformance) writes with its
/// `owner_index` option. They cover ending all of an owner's sessions and
/// the "your devices" page
/// ([`SessionLayer::devices`](crate::SessionLayer::devices)).
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::testing::store_suite::OWNER_INDEX_CHECKS;
///
/// assert!(OWNER_INDEX_CHECKS.contains(&"ending_a_device_needs_its_owner"));
/// ```
pub const OWNER_INDEX_CHECKS: &[&str] = crate::store_conformance!(@owner_list @names);

type Check = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The check named `name`, on `store`; `None` if there is none.
fn check<S: SessionStore + Clone>(name: &str, store: S) -> Option<Check> {
    crate::store_conformance!(@list @dispatch (name) (store))
}

/// The owner index check named `name`, on `store`; `None` if there is
/// none.
fn owner_index_check<S: OwnerIndex + Clone>(name: &str, store: S) -> Option<Check> {
    crate::store_conformance!(@owner_list @dispatch (name) (store))
}

/// Runs every check, each on a fresh store from `make`, one after the
/// other. Needs a tokio runtime (any flavour).
///
/// For a store that needs a teardown, run each of [`CHECKS`] with
/// [`run_check`], or use [`store_conformance!`](crate::store_conformance).
///
/// # Panics
///
/// After the last check, if any failed: the message names each failed
/// check and why it failed (its own panic is printed as it happens).
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::store::MemoryStore;
/// use tower_cookie_sessions::testing::store_suite;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// // A capacity far above what any check writes.
/// store_suite::run_all(|| async { MemoryStore::new().with_capacity(1_000) }).await;
/// # }
/// ```
pub async fn run_all<S, F, Fut>(mut make: F)
where
    S: SessionStore + Clone,
    F: FnMut() -> Fut,
    Fut: Future<Output = S>,
{
    let mut failed = Vec::new();
    for name in CHECKS {
        if let Err(reason) = run_one(name, make().await, |_| async {}).await {
            failed.push(format!("`{name}`: {reason}"));
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} store conformance checks failed: {}",
        failed.len(),
        CHECKS.len(),
        failed.join("; ")
    );
}

/// Runs the check named `name` on `store`, then hands the store to
/// `tear_down`, whether the check passed or not. Needs a tokio runtime
/// (any flavour).
///
/// # Panics
///
/// If the check fails, with a message that names it; and if no check is
/// named `name`.
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::store::MemoryStore;
/// use tower_cookie_sessions::testing::store_suite;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// store_suite::run_check("round_trip", MemoryStore::new(), |store| async move {
///     // Where a store would drop its table; this one only shows the
///     // check's session is in it.
///     assert!(!store.is_empty());
/// })
/// .await;
/// # }
/// ```
pub async fn run_check<S, T, Fut>(name: &str, store: S, tear_down: T)
where
    S: SessionStore + Clone,
    T: FnOnce(S) -> Fut,
    Fut: Future<Output = ()>,
{
    if let Err(reason) = run_one(name, store, tear_down).await {
        panic!("store conformance check `{name}` failed: {reason}");
    }
}

/// Runs the [`OwnerIndex`] check named `name` (one of
/// [`OWNER_INDEX_CHECKS`]) on `store`, then hands the store to
/// `tear_down`, whether the check passed or not. The macro's
/// `owner_index` option writes a test for each.
///
/// # Panics
///
/// If the check fails, with a message that names it; and if no owner
/// index check is named `name`.
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::store::MemoryStore;
/// use tower_cookie_sessions::testing::store_suite::{run_owner_index_check, OWNER_INDEX_CHECKS};
///
/// # #[tokio::main]
/// # async fn main() {
/// for name in OWNER_INDEX_CHECKS {
///     run_owner_index_check(name, MemoryStore::new(), |_store| async {}).await;
/// }
/// # }
/// ```
pub async fn run_owner_index_check<S, T, Fut>(name: &str, store: S, tear_down: T)
where
    S: OwnerIndex + Clone,
    T: FnOnce(S) -> Fut,
    Fut: Future<Output = ()>,
{
    let Some(check) = owner_index_check(name, store.clone()) else {
        panic!("no owner index check is named `{name}`; the checks are {OWNER_INDEX_CHECKS:?}");
    };
    if let Err(reason) = finish(check, store, tear_down).await {
        panic!("store conformance check `{name}` failed: {reason}");
    }
}

/// Runs one check as a task, so a failing check still lets the store be
/// torn down; `Err` says why it failed.
async fn run_one<S, T, Fut>(name: &str, store: S, tear_down: T) -> Result<(), String>
where
    S: SessionStore + Clone,
    T: FnOnce(S) -> Fut,
    Fut: Future<Output = ()>,
{
    let Some(check) = check(name, store.clone()) else {
        panic!("no store conformance check is named `{name}`; the checks are {CHECKS:?}");
    };
    finish(check, store, tear_down).await
}

/// Runs `check` as a task, then `tear_down`.
async fn finish<S, T, Fut>(check: Check, store: S, tear_down: T) -> Result<(), String>
where
    T: FnOnce(S) -> Fut,
    Fut: Future<Output = ()>,
{
    let outcome = tokio::spawn(check).await;
    tear_down(store).await;
    outcome.map_err(|error| match error.try_into_panic() {
        Ok(panic) => panic_message(panic.as_ref()),
        Err(error) => error.to_string(),
    })
}

fn panic_message(panic: &(dyn Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|text| (*text).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic that is not text".to_owned())
}

/// Writes one `#[tokio::test]` per store conformance check, in a module
/// `conformance`, each on a fresh store.
///
/// `$make` is an expression evaluated once per test (so each test gets
/// its own store: its own table or key prefix) to a future of
/// `Option<S>`: `None` when the store's server is not configured, and the
/// test then prints that it was skipped and passes. The module sees the
/// items of the module the macro is called in, so `$make` may name them.
/// With `tear_down = closure`, the closure gets each test's store after
/// its check, passed or failed (see [`run_check`](crate::testing::store_suite::run_check)).
///
/// With `owner_index` after `$make` (a store that implements
/// [`OwnerIndex`](crate::store::OwnerIndex)), a module
/// `owner_index_conformance` checks that capability too, one test per
/// name in [`OWNER_INDEX_CHECKS`](crate::testing::store_suite::OWNER_INDEX_CHECKS)
/// (ending an owner's sessions, listing them, "your devices").
///
/// Your crate needs tokio with the `macros` and `rt-multi-thread`
/// features, as a dev-dependency. The arms starting with `@` are the
/// macro's own.
///
/// # Examples
///
/// In a test file, `tests/my_store.rs`, with `MemoryStore` standing in
/// for your store:
///
/// ```
/// use tower_cookie_sessions::store::MemoryStore;
///
/// tower_cookie_sessions::store_conformance!(async { Some(MemoryStore::new()) });
///
/// mod with_tear_down {
///     use tower_cookie_sessions::store::MemoryStore;
///
///     // A store on a server would drop its table here.
///     tower_cookie_sessions::store_conformance!(
///         async { Some(MemoryStore::new()) },
///         owner_index,
///         tear_down = |store: MemoryStore| async move { drop(store) },
///     );
/// }
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! store_conformance {
    ($make:expr $(,)?) => {
        $crate::store_conformance!($make, tear_down = |_store| async {});
    };
    ($make:expr, owner_index $(,)?) => {
        $crate::store_conformance!($make, owner_index, tear_down = |_store| async {});
    };
    ($make:expr, owner_index, tear_down = $tear_down:expr $(,)?) => {
        $crate::store_conformance!($make, tear_down = $tear_down);

        mod owner_index_conformance {
            #[allow(unused_imports)]
            use super::*;

            $crate::store_conformance!(@owner_list @owner_tests ($make) ($tear_down));
        }
    };
    ($make:expr, tear_down = $tear_down:expr $(,)?) => {
        mod conformance {
            // `$make` may name what the calling module defines.
            #[allow(unused_imports)]
            use super::*;

            $crate::store_conformance!(@list @tests ($make) ($tear_down));
        }
    };
    // The one list of checks, handed to the arm `$then`.
    (@list $then:tt $($args:tt)*) => {
        // Braces: the call stands for items in a module and for an
        // expression in the crate.
        $crate::store_conformance! { $then $($args)*;
            round_trip,
            untouched_request_makes_no_store_call,
            expired_record_is_refused,
            touch_moves_only_the_expiry,
            rolling_refresh_touches_the_record,
            renew_changes_the_id_and_keeps_the_data,
            destroy_deletes_the_record,
            destroy_in_flight_is_not_undone,
            unknown_id_is_never_adopted,
            forged_cookie_makes_no_store_call,
            session_map_merges_different_keys,
            same_key_conflicts,
            error_policy_answers_409,
            keep_latest_drops_this_requests_changes,
            updates_that_change_nothing_never_conflict,
            reads_keep_an_idle_session_alive_beside_a_writer,
            corrupt_record_is_replaced,
            create_refuses_an_existing_record,
            save_is_compare_and_set,
            delete_expired_leaves_live_records,
            record_served_for_another_id_is_refused,
            altered_record_is_refused,
            records_hold_no_readable_session_data,
            oversized_record_is_refused_before_the_store,
        }
    };
    // The one list of owner index checks.
    (@owner_list $then:tt $($args:tt)*) => {
        $crate::store_conformance! { $then $($args)*;
            delete_by_owner_ends_only_that_owners_sessions,
            list_by_owner_lists_only_that_owners_live_records,
            devices_list_each_session_with_its_label_and_times,
            device_handle_survives_renew_and_logout_ends_it,
            ending_a_device_needs_its_owner,
            last_seen_moves_on_writes_and_refreshes_not_reads,
        }
    };
    (@owner_tests ($make:expr) ($tear_down:expr); $($check:ident),+ $(,)?) => {
        $(
            $crate::store_conformance!(@skippable ($make) $check |store| {
                $crate::testing::store_suite::run_owner_index_check(
                    ::std::stringify!($check),
                    store,
                    $tear_down,
                )
                .await;
            });
        )+
    };
    (@tests ($make:expr) ($tear_down:expr); $($check:ident),+ $(,)?) => {
        $(
            $crate::store_conformance!(@skippable ($make) $check |store| {
                $crate::testing::store_suite::run_check(
                    ::std::stringify!($check),
                    store,
                    $tear_down,
                )
                .await;
            });
        )+
    };
    // One test, `$check`, running `$body` with `$store` bound, or skipped.
    (@skippable ($make:expr) $check:ident |$store:ident| $body:block) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $check() {
            let Some($store) = $make.await else {
                // The real stderr: libtest captures what a passing
                // test prints, and a skipped test must be seen.
                let _ = ::std::io::Write::write_fmt(
                    &mut ::std::io::stderr(),
                    ::std::format_args!(
                        "skipped {}: no server configured\n",
                        ::std::stringify!($check)
                    ),
                );
                return;
            };
            $body
        }
    };
    (@names; $($check:ident),+ $(,)?) => {
        &[$(::std::stringify!($check)),+]
    };
    (@dispatch ($name:expr) ($store:expr); $($check:ident),+ $(,)?) => {
        match $name {
            $(::std::stringify!($check) => ::std::option::Option::Some(
                ::std::boxed::Box::pin($check($store)) as Check
            ),)+
            _ => ::std::option::Option::None,
        }
    };
}
