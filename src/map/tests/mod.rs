//! The map's tests: its encoding, the changes it records, and merging
//! them onto a newer copy.

use proptest::prelude::*;

use crate::codec::{self, Codec};
use serde::{Deserialize, Serialize, Serializer};

use super::*;

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
struct Profile {
    id: u64,
    name: String,
    roles: Vec<String>,
}

/// The map as a later request loads it from the cookie or the store.
fn loaded(map: &SessionMap) -> SessionMap {
    codec::decode(
        Codec::Bincode,
        &codec::encode(Codec::Bincode, map).expect("encode"),
    )
    .expect("decode")
}

fn map_of(pairs: &[(&str, u32)]) -> SessionMap {
    let mut map = SessionMap::new();
    for (key, value) in pairs {
        map.insert(*key, value).expect("insert");
    }
    loaded(&map)
}

fn changed(map: &SessionMap) -> Vec<&str> {
    map.changed_keys().collect()
}

fn removed(map: &SessionMap) -> Vec<&str> {
    map.removed_keys().collect()
}

mod changes;
mod encoding;
mod merge;
