//! `MemoryStore` runs the store conformance suite, plus its own limits.

mod common;

use tower_cookie_sessions::store::{CachingStore, MemoryStore};

store_conformance!(async { Some(MemoryStore::new()) });

mod caching {
    use super::*;

    store_conformance!(async { Some(CachingStore::new(MemoryStore::new(), MemoryStore::new())) });
}
