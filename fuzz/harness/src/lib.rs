//! The fuzz targets of `tower-cookie-sessions`, as plain functions over
//! bytes.
//!
//! Each function feeds arbitrary bytes to one parser of the crate and
//! asserts what must hold for every input: it never panics, and where a
//! parse succeeds, what it read survives a round trip. A failed assertion
//! is a panic, which is how libFuzzer, and the corpus replay test, see a
//! finding.
//!
//! | function | what it reads |
//! |---|---|
//! | [`cookie_header`] | a `Cookie` request header field |
//! | [`envelope_open`] | a sealed cookie value, a binary envelope, a store record's data |
//! | [`session_plaintext`] | an opened session's plaintext: header, deadlines, bincode data |
//! | [`chunks`] | a session's chunk cookies, cut as the layer cuts them, then edited, among other cookies |
//! | [`layer`] | a whole request through `SessionLayer`: `Cookie` headers and the bytes a store returns |
//!
//! `fuzz/fuzz_targets/<name>.rs` calls the function of the same name, and
//! the crate's `tests/fuzz_corpus.rs` replays `fuzz/corpus/<name>/` and
//! `fuzz/regressions/<name>/` through it on every `cargo test
//! --all-features`, so CI runs the corpus without cargo-fuzz. [`TARGETS`]
//! lists them all; a new target is a function here, an entry there, a file
//! in `fuzz/fuzz_targets/` and a corpus directory.
//!
//! What the targets reach beyond the crate's public API (its own sealing
//! purposes, the parsers, chunks, plaintexts and records) they reach
//! through the crate's hidden `tower_cookie_sessions::fuzzing` bridge
//! (feature `fuzzing`). Everything sealed here uses [`fuzz_key_ring`], a
//! fixed ring that the seed corpus ([`seeds`]) was sealed with too, and
//! the layer runs on a fixed clock ([`FUZZ_NOW`]), so sealed seeds open,
//! and keep opening, in every run. The keys are public: nothing here is
//! for applications, and the crate is not published.
//!
//! # Examples
//!
//! ```
//! // Any bytes at all: a target returns, or panics with what went wrong.
//! for target in fuzz_harness::TARGETS {
//!     (target.run)(b"id=1; theme=dark");
//!     (target.run)(&[0xff, 0x00, 0x7f]);
//! }
//! ```

#![forbid(unsafe_code)]
#![warn(
    missing_docs,
    unreachable_pub,
    missing_debug_implementations,
    rust_2018_idioms
)]

mod chunks;
mod cookie_header;
mod envelope;
mod input;
mod layer;
mod plaintext;
mod seeds;
mod session_type;

use std::sync::LazyLock;

use tower_cookie_sessions::{Key, KeyRing};

pub use self::chunks::chunks;
pub use self::cookie_header::cookie_header;
pub use self::envelope::envelope_open;
pub use self::layer::layer;
pub use self::plaintext::session_plaintext;
pub use self::seeds::{seeds, Seed};

/// One fuzz target: its name (that of its file in `fuzz/fuzz_targets/`
/// and of its corpus directory) and its function.
///
/// # Examples
///
/// ```
/// use fuzz_harness::TARGETS;
///
/// let target = TARGETS.iter().find(|target| target.name == "cookie_header").unwrap();
/// (target.run)(b"a=1; b=2");
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// The target's name.
    pub name: &'static str,
    /// Runs one input, panicking on a finding.
    pub run: fn(&[u8]),
}

/// Every fuzz target, by name.
///
/// # Examples
///
/// ```
/// use fuzz_harness::TARGETS;
///
/// assert!(TARGETS.iter().any(|target| target.name == "layer"));
/// ```
pub const TARGETS: &[Target] = &[
    Target {
        name: "cookie_header",
        run: cookie_header,
    },
    Target {
        name: "envelope_open",
        run: envelope_open,
    },
    Target {
        name: "session_plaintext",
        run: session_plaintext,
    },
    Target {
        name: "chunks",
        run: chunks,
    },
    Target {
        name: "layer",
        run: layer,
    },
];

/// The time every target's layer runs at, in Unix seconds
/// (2023-11-14T22:13:20Z): sealed seeds carry deadlines around it.
///
/// # Examples
///
/// ```
/// assert_eq!(fuzz_harness::FUZZ_NOW, 1_700_000_000);
/// ```
pub const FUZZ_NOW: u64 = 1_700_000_000;

/// The id of the ring's sealing key.
const CURRENT_KEY_ID: u8 = 1;
/// The id of the ring's older key, which only opens.
const OLD_KEY_ID: u8 = 0;

/// The fixed key ring of every target: key 1 seals, key 0 only opens
/// (a rotation), both made of public bytes.
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::fuzzing::{self, Purpose};
///
/// let ring = fuzz_harness::fuzz_key_ring();
/// assert_eq!(ring.ids().collect::<Vec<_>>(), [1, 0]);
/// let sealed = fuzzing::seal_as(ring, Purpose::Session, "id", b"x");
/// assert!(fuzzing::open_as(ring, Purpose::Session, "id", &sealed).is_ok());
/// ```
#[must_use]
pub fn fuzz_key_ring() -> &'static KeyRing {
    static RING: LazyLock<KeyRing> = LazyLock::new(|| {
        KeyRing::new(CURRENT_KEY_ID, fixed_key(1))
            .with_old_key(OLD_KEY_ID, fixed_key(101))
            .expect("distinct key ids")
    });
    &RING
}

/// The ring that sealed before the rotation: the old key as the sealing
/// one, so its values open under [`fuzz_key_ring`] as "sealed with an
/// older key".
fn old_key_ring() -> &'static KeyRing {
    static RING: LazyLock<KeyRing> = LazyLock::new(|| KeyRing::new(OLD_KEY_ID, fixed_key(101)));
    &RING
}

fn fixed_key(first: u8) -> Key {
    let bytes: Vec<u8> = (first..first + 32).collect();
    Key::from_bytes(&bytes).expect("32 distinct bytes")
}
