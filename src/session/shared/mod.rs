//! What both kinds of session share: the configuration, the request's
//! session state and its handle, the sealed plaintext with its deadlines,
//! the revocation check, and the errors.

pub(crate) mod backend;
pub(crate) mod config;
pub(crate) mod error;
pub(crate) mod error_response;
pub(crate) mod handle;
pub(crate) mod map_access;
pub(crate) mod open;
pub(crate) mod plaintext;
pub(crate) mod revocation;
pub(crate) mod set_cookie;
pub(crate) mod source;
pub(crate) mod state;
pub(crate) mod trace;
pub(crate) mod undecodable;
