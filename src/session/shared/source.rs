//! What a session layer shares with every request it serves: its
//! identity, configuration and backend.

use std::any::Any;
use std::sync::Arc;

use crate::cookies::parse::suffix_of;
use crate::flash::state::FLASH_SUFFIX;
use crate::layer_id::LayerId;
use crate::request::owners::CookieOwner;
use crate::session::client::chunks::chunk_index;
use crate::session::shared::backend::ErasedBackend;
use crate::session::shared::config::SessionConfig;

/// A session layer as a request's state knows it: registered under `id`,
/// it owns the cookie its configuration names.
pub(crate) struct SessionSource<T> {
    pub(crate) id: LayerId,
    pub(crate) config: Arc<SessionConfig>,
    pub(crate) backend: Arc<dyn ErasedBackend<T>>,
}

impl<T: 'static> SessionSource<T> {
    /// The source of sessions of type `T` behind a registered owner, if
    /// that owner is one: borrowed where the jar keeps it.
    pub(crate) fn of(owner: &dyn CookieOwner) -> Option<&Self> {
        (owner as &dyn Any).downcast_ref()
    }
}

impl<T: 'static> CookieOwner for SessionSource<T> {
    fn cookie_name(&self) -> &str {
        &self.config.cookie_name
    }

    /// The session's cookie, the chunks `NAME.0 … NAME.49` of a session
    /// larger than one cookie, and the flash cookie `NAME-flash`.
    fn sets(&self, name: &str) -> bool {
        let own = &self.config.cookie_name;
        match suffix_of(name.as_bytes(), own) {
            Some(None) => true,
            Some(Some(index)) => chunk_index(index).is_some(),
            None => name.strip_prefix(own.as_str()) == Some(FLASH_SUFFIX),
        }
    }

    fn flash_config(&self) -> Option<&Arc<SessionConfig>> {
        Some(&self.config)
    }
}
