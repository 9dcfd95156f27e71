//! Guides for applications moving over from another crate, with the
//! equivalent code side by side. This crate's side of each is compiled
//! and run as a doc test.
//!
//! - [`from_tower_sessions`]: from tower-sessions' `SessionManagerLayer`
//!   and string-keyed `Session`.
//! - [`from_axum_extra`]: from axum-extra's `PrivateCookieJar`.
//!
//! The same pages are `docs/migrating-from-tower-sessions.md` and
//! `docs/migrating-from-axum-extra.md` in the repository.

#[doc = include_str!("../docs/migrating-from-tower-sessions.md")]
pub mod from_tower_sessions {}

#[doc = include_str!("../docs/migrating-from-axum-extra.md")]
pub mod from_axum_extra {}
