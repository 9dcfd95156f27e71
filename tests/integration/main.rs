//! The integration tests, built as one binary: each file is a module,
//! and they share the helpers in `tests/common/`. Tests that need a binary
//! of their own stay beside this folder: `allocations` (its own global
//! allocator), `decode_depth` (run in release mode too), `envelope_format`
//! (run without default features) and `fuzz_corpus` (the fuzz corpus
//! replay, feature `fuzzing`).

#[path = "../common/mod.rs"]
mod common;

mod cookie_names;
mod cookies;
// The example's store runs the conformance suite here: `cargo test`
// builds the examples but runs no test of theirs. Its `main` is unused.
#[path = "../../examples/custom_store.rs"]
#[allow(dead_code)]
mod custom_store;
mod debug_output;
mod devices;
mod envelope_properties;
mod flash;
mod fuzz_findings;
// The login example's handler tests, likewise.
#[path = "../../examples/login/main.rs"]
#[allow(dead_code)]
mod login_example;
mod request_layers;
mod request_state;
mod session_bad_input;
mod session_chunks;
mod session_codec;
mod session_config;
mod session_expiry;
mod session_lifecycle;
mod session_map;
mod session_panics;
mod session_reentrancy;
mod session_responses;
mod session_revocation;
mod session_tracing;
mod store_any;
mod store_caching;
mod store_faults;
mod store_features;
mod store_memory;
#[cfg(feature = "mysql")]
mod store_mysql;
#[cfg(feature = "postgres")]
mod store_postgres;
#[cfg(feature = "postgres")]
mod store_postgres_faults;
#[cfg(feature = "redis")]
mod store_redis;
#[cfg(feature = "redis")]
mod store_redis_cluster;
#[cfg(feature = "redis")]
mod store_redis_faults;
#[cfg(feature = "sqlite")]
mod store_sqlite;
mod store_suite_failures;
mod testing_helpers;
