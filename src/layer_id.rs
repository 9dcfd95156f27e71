//! Who owns what in a request: each session layer has an identity.
//!
//! A request's sessions are kept by the layer that opened them, so two
//! layers of one session type (each with its own key and cookie) never
//! share one, and one layer applied twice (once on a router, once on a
//! route) is one session. The identity is a token minted when the layer is
//! built and changed by every builder method that changes what the layer
//! does; `Clone` copies it. It is neither the layer's address, which moves,
//! nor per service: axum's `Router::layer` calls `Layer::layer` once per
//! route, and all those services are the same layer.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// A layer's identity; see the module docs.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct LayerId(u64);

impl LayerId {
    /// A token no other layer of this process has.
    pub(crate) fn mint() -> Self {
        // Minted when a layer is built, never on a request's path. Only
        // uniqueness matters, so the counter needs no ordering with other
        // memory.
        static NEXT: AtomicU64 = AtomicU64::new(1);
        LayerId(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

impl fmt::Debug for LayerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LayerId({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mint_is_new_and_copies_are_equal() {
        let a = LayerId::mint();
        let b = LayerId::mint();
        assert_ne!(a, b);
        let copy = a;
        assert_eq!(copy, a);
    }
}
