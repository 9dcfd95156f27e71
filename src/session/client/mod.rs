//! Client-side sessions: the whole session sealed into the cookie, split
//! across several cookies when it outgrows one.

pub(crate) mod backend;
pub(crate) mod chunks;
