//! The session type of the targets that decode session data.
//!
//! A plain serde struct, not [`SessionMap`](tower_cookie_sessions::SessionMap), whose
//! encoding is its own concern: every shape bincode reads is here once
//! (integers of both signs, text, bytes, `char`, options, sequences,
//! maps, enums with data, a recursive type for the depth limit). No
//! floats, so that equality after a round trip is plain `==`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct FuzzSession {
    pub(super) user: Option<u64>,
    pub(super) name: String,
    /// Flipped by the layer target's handler: a change that keeps the
    /// encoded size, so no handler action can make a session too large.
    pub(super) flag: bool,
    pub(super) delta: i32,
    pub(super) initial: char,
    pub(super) roles: Vec<Role>,
    pub(super) counters: BTreeMap<String, i64>,
    pub(super) token: Vec<u8>,
    pub(super) tree: Tree,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) enum Role {
    Guest,
    Member(u32),
    Admin { since: u64, note: Option<String> },
}

/// Nests as deep as the input says: the depth limit refuses what is too
/// deep before bincode's recursion overflows the stack.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(super) enum Tree {
    #[default]
    Leaf,
    Node(Vec<Tree>),
    Boxed(Box<Option<Tree>>),
}

impl FuzzSession {
    /// A session with every field set, for the seeds.
    pub(super) fn sample() -> Self {
        Self {
            user: Some(42),
            name: "Zoë".to_owned(),
            flag: true,
            delta: -7,
            initial: 'Z',
            roles: vec![
                Role::Guest,
                Role::Member(3),
                Role::Admin {
                    since: 1_600_000_000,
                    note: Some("root".to_owned()),
                },
            ],
            counters: BTreeMap::from([("visits".to_owned(), 3), ("cart".to_owned(), -1)]),
            token: vec![0, 1, 2, 0xff],
            tree: Tree::Node(vec![
                Tree::Leaf,
                Tree::Boxed(Box::new(Some(Tree::Node(vec![Tree::Leaf])))),
            ]),
        }
    }
}
