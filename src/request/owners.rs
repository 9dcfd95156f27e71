//! The layers that set a cookie of their own in a request, registered with
//! the request's state.
//!
//! The jar knows nothing of what such a layer does with its cookie: a
//! layer registers under its identity with the name of the cookie it sets,
//! and may keep one value of its own for the request (a session layer
//! keeps the session there once a handler opens it). The jar refuses a
//! second layer that would set a cookie of the same name, since the two
//! would overwrite each other in the browser: a name either layer
//! [sets](CookieOwner::sets), which for a session layer includes the
//! chunks of a session larger than one cookie.

use std::any::Any;
use std::sync::Arc;

use crate::flash::state::FlashState;
use crate::layer_id::LayerId;
use crate::session::shared::config::SessionConfig;

/// A layer that sets a cookie of its own, as the jar sees it.
pub(crate) trait CookieOwner: Any + Send + Sync {
    /// The name of the cookie this layer sets.
    fn cookie_name(&self) -> &str;

    /// Whether this layer sets a cookie called `name`: its own, and any
    /// other it may set beside it.
    fn sets(&self, name: &str) -> bool {
        name == self.cookie_name()
    }

    /// The configuration flash messages take their cookie's settings and
    /// keys from, for a layer that carries them (a session layer).
    fn flash_config(&self) -> Option<&Arc<SessionConfig>> {
        None
    }
}

/// What a value kept by a layer for one request is, to the jar.
pub(crate) type Kept = Arc<dyn Any + Send + Sync>;

/// One layer's place in a request's state.
pub(crate) struct Registration {
    pub(crate) id: LayerId,
    /// The layer's shared part: its configuration, borrowed where it is.
    pub(crate) owner: Arc<dyn CookieOwner>,
    /// What the layer keeps for this request, if anything yet.
    pub(crate) kept: Option<Kept>,
    /// The request's flash messages, once a handler asked for them.
    pub(crate) flash: Option<Arc<FlashState>>,
}

impl Registration {
    pub(crate) fn new(id: LayerId, owner: Arc<dyn CookieOwner>) -> Self {
        Self {
            id,
            owner,
            kept: None,
            flash: None,
        }
    }
}

/// What [`Owners::register`] did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Registered {
    /// The layer is registered now, at this index, which stays valid for
    /// the request.
    New(usize),
    /// The same layer registered earlier (applied twice): it is one owner,
    /// and the earlier registration answers for it.
    Already,
    /// Another layer of this request sets a cookie of this name.
    NameTaken,
}

/// The registered layers, outermost first. Nearly every request has one,
/// so it is kept inline and only further layers take a `Vec`.
#[derive(Default)]
pub(crate) struct Owners {
    first: Option<Registration>,
    more: Vec<Registration>,
}

impl Owners {
    pub(crate) fn with_first(first: Option<Registration>) -> Self {
        Self {
            first,
            more: Vec::new(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        usize::from(self.first.is_some()) + self.more.len()
    }

    pub(crate) fn register(&mut self, registration: Registration) -> Registered {
        for known in self.iter() {
            if known.id == registration.id {
                return Registered::Already;
            }
            if known.owner.sets(registration.owner.cookie_name())
                || registration.owner.sets(known.owner.cookie_name())
            {
                return Registered::NameTaken;
            }
        }
        if self.first.is_none() {
            self.first = Some(registration);
            return Registered::New(0);
        }
        self.more.push(registration);
        Registered::New(self.more.len())
    }

    pub(crate) fn get_mut(&mut self, index: usize) -> Option<&mut Registration> {
        match index {
            0 => self.first.as_mut(),
            _ => self.more.get_mut(index - 1),
        }
    }

    fn iter(&self) -> impl Iterator<Item = &Registration> {
        self.first.iter().chain(&self.more)
    }

    /// The first answer `find` gives, trying the innermost layer first.
    pub(crate) fn find_innermost<R>(
        &mut self,
        mut find: impl FnMut(&mut Registration) -> Option<R>,
    ) -> Option<R> {
        self.more
            .iter_mut()
            .rev()
            .chain(self.first.as_mut())
            .find_map(&mut find)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Named(&'static str);

    impl CookieOwner for Named {
        fn cookie_name(&self) -> &str {
            self.0
        }

        /// As a session layer: `NAME` and `NAME.` something.
        fn sets(&self, name: &str) -> bool {
            name.strip_prefix(self.0)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
        }
    }

    fn registration(id: LayerId, name: &'static str) -> Registration {
        Registration::new(id, Arc::new(Named(name)))
    }

    #[test]
    fn one_layer_twice_is_one_owner_and_a_taken_name_is_refused() {
        let (a, b, c) = (LayerId::mint(), LayerId::mint(), LayerId::mint());
        let mut owners = Owners::default();
        assert_eq!(owners.register(registration(a, "id")), Registered::New(0));
        assert_eq!(owners.register(registration(a, "id")), Registered::Already);
        assert_eq!(
            owners.register(registration(b, "id")),
            Registered::NameTaken
        );
        assert_eq!(
            owners.register(registration(c, "other")),
            Registered::New(1)
        );
        assert_eq!(owners.len(), 2);
        let innermost = owners.find_innermost(|r| Some(r.owner.cookie_name().to_owned()));
        assert_eq!(innermost.as_deref(), Some("other"));
        assert!(owners.get_mut(1).is_some() && owners.get_mut(2).is_none());
    }

    #[test]
    fn a_name_another_layer_also_sets_is_taken_whichever_comes_first() {
        let mut owners = Owners::default();
        assert_eq!(
            owners.register(registration(LayerId::mint(), "id")),
            Registered::New(0)
        );
        assert_eq!(
            owners.register(registration(LayerId::mint(), "id.3")),
            Registered::NameTaken
        );
        let mut owners = Owners::default();
        assert_eq!(
            owners.register(registration(LayerId::mint(), "id.3")),
            Registered::New(0)
        );
        assert_eq!(
            owners.register(registration(LayerId::mint(), "id")),
            Registered::NameTaken
        );
    }
}
