//! Sessions in a store: the cookie carries a sealed random id, the store
//! a record bound to it, saved by compare-and-set.

pub(crate) mod backend;
pub(crate) mod conflict;
pub(crate) mod device;
pub(crate) mod guarded;
pub(crate) mod ids;
pub(crate) mod log_tag;
pub(crate) mod owned;
pub(crate) mod record;
