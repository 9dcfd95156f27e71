//! The hand-made seed inputs of every target: real headers, values sealed
//! with the targets' fixed key, valid plaintexts, and edge cases, so the
//! fuzzer starts from inputs that reach past the first refusal.

use tower_cookie_sessions::fuzzing::{
    codec_encode, encode_plaintext, seal_as, seal_raw, seal_record, Deadlines, PlaintextFormat,
    Purpose,
};
use tower_cookie_sessions::store::RecordKey;
use tower_cookie_sessions::Codec;

use super::envelope::RECORD_SESSION_ID;
use super::input::Writer;
use super::session_type::{FuzzSession, Tree};
use super::{fuzz_key_ring, old_key_ring, FUZZ_NOW};

/// One seed input: the target it is for, a name for its file, its bytes.
///
/// # Examples
///
/// ```
/// use fuzz_harness::{seeds, TARGETS};
///
/// for seed in seeds() {
///     let target = TARGETS.iter().find(|target| target.name == seed.target).unwrap();
///     (target.run)(&seed.data);
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Seed {
    /// The name of the target (and of its corpus directory).
    pub target: &'static str,
    /// What the seed is, as a file name: `seed-<name>`.
    pub name: String,
    /// The input.
    pub data: Vec<u8>,
}

/// Every target's seeds. Sealed seeds carry a fresh random nonce, so two
/// calls give different bytes that behave the same.
///
/// # Examples
///
/// ```
/// let seeds = fuzz_harness::seeds();
/// assert!(seeds.iter().any(|seed| seed.target == "layer"));
/// ```
#[must_use]
pub fn seeds() -> Vec<Seed> {
    let mut seeds = Vec::new();
    let mut add = |target: &'static str, name: &str, data: Vec<u8>| {
        seeds.push(Seed {
            target,
            name: format!("seed-{name}"),
            data,
        });
    };
    for (name, data) in cookie_header_seeds() {
        add("cookie_header", name, data);
    }
    for (name, data) in envelope_seeds() {
        add("envelope_open", name, data);
    }
    for (name, data) in plaintext_seeds() {
        add("session_plaintext", name, data);
    }
    for (name, data) in chunk_seeds() {
        add("chunks", name, data);
    }
    for (name, data) in layer_seeds() {
        add("layer", &name, data);
    }
    seeds
}

/// A live session's deadlines: issued a minute ago, idle for 30 minutes,
/// ending in a day.
fn live() -> Deadlines {
    Deadlines {
        issued: FUZZ_NOW - 60,
        absolute: FUZZ_NOW + 24 * 3600,
        idle: Some(FUZZ_NOW + 1800),
        persistent: true,
    }
}

fn session_plaintext_of(deadlines: &Deadlines, data: &FuzzSession) -> Vec<u8> {
    let format = PlaintextFormat {
        schema: 0,
        codec: Codec::Bincode,
        ..PlaintextFormat::default()
    };
    encode_plaintext(deadlines, format, data).expect("the sample encodes")
}

fn sample_plaintext() -> Vec<u8> {
    session_plaintext_of(&live(), &FuzzSession::sample())
}

fn sealed_session() -> String {
    seal_as(fuzz_key_ring(), Purpose::Session, "id", &sample_plaintext())
}

fn cookie_header_seeds() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("empty", Vec::new()),
        ("pairs", b"id=abc; theme=dark; lang=en".to_vec()),
        (
            "session",
            format!("theme=dark; id={}; _ga=GA1.2.3", sealed_session()).into_bytes(),
        ),
        (
            "percent",
            b"caf%C3%A9=a%3Bb%20c; raw=caf\xc3\xa9; bad=%FF; odd=%zz; nl=x%0Ay".to_vec(),
        ),
        ("separators", b";;  ; =v; =; flag; a==b=; a=1".to_vec()),
        ("quotes", br#"a="b c"; b=""; c="unterminated"#.to_vec()),
        (
            "whitespace",
            b" \ta = 1 ;\tb=\t2\t; c=\t ; d = e f ".to_vec(),
        ),
        (
            "controls",
            b"a=x\x01y; b=2; c\x7f=3; d=x\ty; \x00=0; e=5".to_vec(),
        ),
        (
            "word-boundaries",
            b"abcdefg=1234567;abcdefgh=%41234567;a=12345678;%69d=x".to_vec(),
        ),
        ("non-utf8", b"a=\xff; \xfe=1; c=%C3; d=\xc3\xa9".to_vec()),
        // Names that decode or fold to `__Host-id` are other cookies.
        (
            "look-alike-names",
            b"__Host%2Did=a; %5F%5FHost-id=b; __HOST-id=c; __Host-id=d; __Host-id%2E1=e; \
              __Host%2did.0=f; a b = g; %FF=h"
                .to_vec(),
        ),
    ]
}

/// `envelope_open`'s choice byte: form, purpose index, name index.
fn envelope_choice(form: u8, purpose: u8, name: u8) -> u8 {
    form | purpose << 2 | name << 5
}

fn envelope_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let ring = fuzz_key_ring();
    let plaintext = sample_plaintext();
    let long_name = "a-cookie-name-longer-than-the-sixty-four-bytes-kept-inline-by-the-aad";
    let with = |choice: u8, value: &[u8]| [&[choice][..], value].concat();
    let key = RecordKey::for_session_id(&RECORD_SESSION_ID);
    let trusted_record = seal_record(ring, true, &key, &plaintext);
    let sealed_record = seal_record(ring, false, &key, &plaintext);
    let sealed = seal_as(ring, Purpose::Session, "id", &plaintext);
    let mut truncated = sealed.clone();
    truncated.truncate(sealed.len() - 3);
    vec![
        (
            "session-cookie",
            with(envelope_choice(0, 0, 0), sealed.as_bytes()),
        ),
        (
            "session-cookie-bytes",
            with(envelope_choice(1, 0, 0), sealed.as_bytes()),
        ),
        (
            "old-key",
            with(
                envelope_choice(0, 0, 0),
                seal_as(old_key_ring(), Purpose::Session, "id", b"old").as_bytes(),
            ),
        ),
        (
            "private-cookie",
            with(
                envelope_choice(0, 1, 1),
                seal_as(ring, Purpose::PrivateCookie, "theme", b"dark").as_bytes(),
            ),
        ),
        (
            "session-id",
            with(
                envelope_choice(0, 2, 0),
                seal_as(ring, Purpose::SessionId, "id", &RECORD_SESSION_ID).as_bytes(),
            ),
        ),
        (
            "empty-name-empty-plaintext",
            with(
                envelope_choice(0, 3, 2),
                seal_as(ring, Purpose::Flash, "", b"").as_bytes(),
            ),
        ),
        (
            "long-name",
            with(
                envelope_choice(0, 0, 3),
                seal_as(ring, Purpose::Session, long_name, b"x").as_bytes(),
            ),
        ),
        (
            "binary",
            with(
                envelope_choice(2, 4, 0),
                &seal_raw(ring, Purpose::StoreRecord, "id", &plaintext),
            ),
        ),
        ("trusted-record", with(0b11 | 0x80, &trusted_record)),
        ("unsealed-record-untrusted", with(0b11, &trusted_record)),
        ("sealed-record", with(0b11, &sealed_record)),
        ("sealed-record-trusted", with(0b11 | 0x80, &sealed_record)),
        (
            "truncated",
            with(envelope_choice(0, 0, 0), truncated.as_bytes()),
        ),
        (
            "not-base64",
            with(envelope_choice(0, 0, 0), b"!!not base64!!"),
        ),
        ("wrong-version", with(envelope_choice(2, 0, 0), &[2; 60])),
    ]
}

/// A tree nested `depth` levels deep.
fn nested(depth: usize) -> Tree {
    (0..depth).fold(Tree::Leaf, |tree, _| Tree::Node(vec![tree]))
}

fn plaintext_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let with = |choice: u8, value: &[u8]| [&[choice][..], value].concat();
    let sample = sample_plaintext();
    let browser = Deadlines {
        idle: None,
        persistent: false,
        ..live()
    };
    let deep = FuzzSession {
        tree: nested(12),
        ..FuzzSession::default()
    };
    let mut trailing = session_plaintext_of(&browser, &FuzzSession::default());
    trailing.push(0);
    vec![
        ("sample", with(0, &sample)),
        ("sample-record-expiry", with(1, &sample)),
        ("sample-schema-mismatch", with(0b0100, &sample)),
        (
            "default-browser-session",
            with(0, &session_plaintext_of(&browser, &FuzzSession::default())),
        ),
        ("deep-tree", with(0, &session_plaintext_of(&browser, &deep))),
        (
            "deep-tree-low-limit",
            with(0b10, &session_plaintext_of(&browser, &deep)),
        ),
        (
            "expired",
            with(
                0,
                &session_plaintext_of(
                    &Deadlines {
                        absolute: FUZZ_NOW,
                        ..browser
                    },
                    &FuzzSession::default(),
                ),
            ),
        ),
        (
            "issued-in-the-future",
            with(
                0,
                &session_plaintext_of(
                    &Deadlines {
                        issued: FUZZ_NOW + 3600,
                        ..live()
                    },
                    &FuzzSession::default(),
                ),
            ),
        ),
        (
            "far-deadlines",
            with(
                0,
                &session_plaintext_of(
                    &Deadlines {
                        issued: 0,
                        absolute: u64::MAX,
                        idle: Some(u64::MAX),
                        persistent: true,
                    },
                    &FuzzSession::sample(),
                ),
            ),
        ),
        ("trailing-byte", with(0, &trailing)),
        ("header-only", with(0, &[1, 3, 0, 1, 2, 3])),
        (
            "bare-data",
            with(
                0,
                &codec_encode(Codec::Bincode, &FuzzSession::sample()).expect("encodes"),
            ),
        ),
    ]
}

/// `chunks`' input: name and length, limit and layout, other cookies,
/// edits (op, arg pairs), plaintext.
fn chunks_input(shape: u8, setting: u8, others: &[u8], edits: &[u8]) -> Vec<u8> {
    Writer::default()
        .byte(shape)
        .byte(setting)
        .sized(others)
        .sized(edits)
        .rest(&sample_plaintext())
}

fn chunk_seeds() -> Vec<(&'static str, Vec<u8>)> {
    // Shape: name in bits 0-1, length 3072 + 256 × bits 2-7.
    let two = 4 << 2;
    let three = 20 << 2;
    let many = 63 << 2;
    vec![
        ("two-in-order", chunks_input(two, 0, b"", b"")),
        (
            "three-reversed",
            chunks_input(three, 0b0111, b"theme=dark", b""),
        ),
        ("many-long-name", chunks_input(many | 2, 0b1011, b"", b"")),
        (
            "prefixed-fields",
            chunks_input(three | 1, 0b1000, b"a=1\nb=2", b""),
        ),
        ("percent-dots", chunks_input(two, 0b1100, b"", b"")),
        ("one-byte-over", chunks_input(two, 1, b"", b"")),
        ("swapped", chunks_input(three, 0, b"", &[0, 0])),
        ("dropped-last", chunks_input(three, 0, b"", &[1, 2])),
        ("duplicated", chunks_input(three, 0, b"", &[2, 1])),
        ("renumbered", chunks_input(three, 0, b"", &[3, 4 << 2 | 1])),
        ("mixed-sealings", chunks_input(three, 0, b"", &[4, 1])),
        ("count-lowered", chunks_input(three, 0, b"", &[5, 2])),
        ("count-raised", chunks_input(two, 0, b"", &[5, 3])),
        ("boundary-moved", chunks_input(three, 0, b"", &[6, 0x70])),
        ("bit-flipped", chunks_input(two, 0, b"", &[7, 9])),
        ("stale-above", chunks_input(two, 0, b"", &[8, 0x10])),
        ("truncated", chunks_input(two, 0, b"", &[9, 1])),
        ("leading-zero", chunks_input(two, 0, b"", &[10, 1])),
        ("emptied", chunks_input(two, 0, b"", &[11, 1])),
        (
            "repeated-in-others",
            chunks_input(two, 0b10000, b"id.1=x; id.0=2.y", b""),
        ),
        (
            "plain-beside",
            chunks_input(two, 0, b"id=abc; id.=x; id.1x=y", b""),
        ),
        (
            "look-alikes-beside",
            chunks_input(two, 0, b"id%2E1=x; i%64.0=y; ID.1=z; %69d.1=w", b""),
        ),
    ]
}

/// `layer`'s first byte: backend, framing, flag, action.
fn layer_choice(backend: u8, framing: u8, flag: bool, action: u8) -> u8 {
    backend | framing << 2 | u8::from(flag) << 4 | action << 5
}

fn layer_seeds() -> Vec<(String, Vec<u8>)> {
    let sample = sample_plaintext();
    let header = format!("theme=dark; id={}", sealed_session());
    // An authentic session under names that decode or fold to `id`, and
    // look-alikes of its chunks: none is the session.
    let look_alikes = format!(
        "%69d={sealed}; ID={sealed}\ni%64.0=1.{sealed}; id%2E0=1.{sealed}; id%2e1=x",
        sealed = sealed_session()
    );
    let input = |choice: u8, setting: u8, header: &[u8], payload: &[u8]| {
        Writer::default()
            .byte(choice)
            .byte(setting)
            .sized(header)
            .rest(payload)
    };
    let key = RecordKey::for_session_id(&RECORD_SESSION_ID);
    let bound = seal_record(fuzz_key_ring(), true, &key, &sample);
    let mut seeds: Vec<(String, Vec<u8>)> = [
        (
            "no-cookie",
            input(layer_choice(0, 0, false, 1), 0, b"", b""),
        ),
        (
            "bad-cookies",
            input(
                layer_choice(0, 0, false, 1),
                1,
                b"id=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA; id=x\nid=%41",
                b"",
            ),
        ),
        (
            "session-in-header",
            input(layer_choice(0, 0, false, 1), 1, header.as_bytes(), b""),
        ),
        (
            "session-under-look-alike-names",
            input(layer_choice(0, 0, false, 1), 1, look_alikes.as_bytes(), b""),
        ),
        (
            "look-alikes-before-the-session",
            input(
                layer_choice(0, 1, true, 1),
                1,
                look_alikes.as_bytes(),
                &sample,
            ),
        ),
        (
            "store-look-alikes",
            input(
                layer_choice(1, 1, false, 1),
                0,
                look_alikes.as_bytes(),
                &sample,
            ),
        ),
        (
            "private-cookie",
            input(layer_choice(0, 3, false, 0), 0, b"theme=dark", b"dark"),
        ),
        (
            "old-key-first",
            input(layer_choice(0, 2, true, 0), 1, b"id=stale", &sample),
        ),
        (
            "store-unsealed-untrusted",
            input(layer_choice(2, 1, false, 1), 0, b"", &sample),
        ),
        (
            "store-raw-bound-trusted",
            input(layer_choice(1, 0, false, 1), 0, b"", &bound),
        ),
        (
            "store-no-record",
            input(layer_choice(1, 1, false, 1), 0x10, b"", &sample),
        ),
        (
            "store-without-id",
            input(layer_choice(2, 2, true, 1), 0, b"id=forged", &sample),
        ),
        (
            "store-far-expiry",
            input(layer_choice(1, 1, false, 1), 0b1101, b"", &sample),
        ),
    ]
    .into_iter()
    .map(|(name, data)| (name.to_owned(), data))
    .collect();
    let far = session_plaintext_of(
        &Deadlines {
            issued: 0,
            absolute: u64::MAX,
            idle: None,
            persistent: true,
        },
        &FuzzSession::sample(),
    );
    for (backend_name, backend, framing) in [("cookie", 0, 1), ("trusted-store", 1, 1)] {
        for (setting, setting_name) in [(0, "browser"), (1, "inactivity"), (2, "max-age")] {
            seeds.push((
                format!("{backend_name}-far-deadlines-{setting_name}"),
                input(layer_choice(backend, framing, false, 1), setting, b"", &far),
            ));
        }
    }
    seeds.extend(chunked_layer_seeds());
    // Every handler action on a live session, in each backend.
    const ACTIONS: [&str; 8] = [
        "read",
        "update",
        "clear",
        "renew",
        "destroy",
        "persist",
        "expire-in",
        "owner",
    ];
    const BACKENDS: [(&str, u8, u8); 4] = [
        ("cookie", 0, 1),
        ("trusted-store", 1, 1),
        ("untrusted-store", 2, 2),
        ("untrusted-store-old-key", 2, 3),
    ];
    for &(backend_name, backend, framing) in &BACKENDS {
        for (action, action_name) in (0u8..).zip(ACTIONS) {
            seeds.push((
                format!("{backend_name}-{action_name}"),
                input(
                    layer_choice(backend, framing, false, action),
                    action % 4,
                    b"theme=dark",
                    &sample,
                ),
            ));
        }
    }
    seeds
}

/// A live session whose token makes its plaintext about `len` bytes.
fn large_plaintext(len: usize, delta: i32) -> Vec<u8> {
    let data = FuzzSession {
        token: (0..len).map(|i| i as u8).collect(),
        delta,
        ..FuzzSession::sample()
    };
    session_plaintext_of(&live(), &data)
}

/// `layer`'s second byte for the cookie backend: expiry, `max_cookie_size`
/// (8 KB, 4 KB, 16 KB, 50 cookies), revoked, hooked, extra chunks.
fn cookie_setting(expiry: u8, limit: u8, revoked: bool, hooked: bool, extra: u8) -> u8 {
    expiry | limit << 2 | u8::from(revoked) << 4 | u8::from(hooked) << 5 | extra << 6
}

/// Sessions over one cookie, cut as the layer cuts them or into more
/// chunks, read under each limit, tampered with, revoked and refused.
fn chunked_layer_seeds() -> Vec<(String, Vec<u8>)> {
    let input = |choice: u8, setting: u8, header: &[u8], payload: &[u8]| {
        Writer::default()
            .byte(choice)
            .byte(setting)
            .sized(header)
            .rest(payload)
    };
    // Two chunks under the default 8 KB, three needing 16 KB.
    let two = large_plaintext(4000, 1);
    let three = large_plaintext(7000, 1);
    let small = sample_plaintext();
    let mut seeds = Vec::new();
    let mut add = |name: String, data: Vec<u8>| seeds.push((name, data));
    const ACTIONS: [&str; 8] = [
        "read",
        "update",
        "clear",
        "renew",
        "destroy",
        "persist",
        "expire-in",
        "owner",
    ];
    for (action, action_name) in (0u8..).zip(ACTIONS) {
        add(
            format!("chunked-{action_name}"),
            input(
                layer_choice(0, 1, false, action),
                cookie_setting(action % 4, 0, false, false, 0),
                b"theme=dark",
                &two,
            ),
        );
    }
    for (limit, limit_name) in [(0, "8k"), (1, "4k"), (2, "16k"), (3, "most")] {
        add(
            format!("chunked-three-limit-{limit_name}"),
            input(
                layer_choice(0, 1, false, 1),
                cookie_setting(1, limit, false, false, 0),
                b"",
                &three,
            ),
        );
    }
    for extra in 0..4 {
        add(
            format!("forced-chunks-{}", 2 + extra),
            input(
                layer_choice(3, 1, extra % 2 == 1, 1),
                cookie_setting(1, 0, false, false, extra),
                b"theme=dark",
                &small,
            ),
        );
    }
    add(
        "forced-chunks-old-key".to_owned(),
        input(
            layer_choice(3, 2, false, 0),
            cookie_setting(1, 0, false, false, 1),
            b"",
            &small,
        ),
    );
    let tampered: [(&str, &[u8]); 6] = [
        ("repeated-chunk", b"id.1=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        ("repeated-first", b"id.0=2.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        ("stale-above", b"id.2=stale; id.7=stale"),
        (
            "plain-beside",
            b"id=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        ),
        ("not-chunks", b"id.07=x; id.50=y; id.=z; id.1x=w"),
        ("count-lowered", b"id.0=1.x"),
    ];
    for (name, header) in tampered {
        for (action, action_name) in [(0, "read"), (1, "update")] {
            add(
                format!("chunked-{name}-{action_name}"),
                input(
                    layer_choice(0, 1, false, action),
                    cookie_setting(1, 0, false, false, 0),
                    header,
                    &two,
                ),
            );
        }
    }
    for (backend, payload, payload_name) in [(0, &two, "chunked"), (0, &small, "one-cookie")] {
        add(
            format!("{payload_name}-revoked"),
            input(
                layer_choice(backend, 1, false, 0),
                cookie_setting(1, 0, true, false, 0),
                b"id.3=stale",
                payload,
            ),
        );
        add(
            format!("{payload_name}-revoked-update"),
            input(
                layer_choice(backend, 1, false, 1),
                cookie_setting(1, 0, true, false, 0),
                b"",
                payload,
            ),
        );
    }
    // The sample's `delta` is negative: the hook refuses it.
    add(
        "hook-refuses".to_owned(),
        input(
            layer_choice(3, 1, false, 0),
            cookie_setting(1, 0, false, true, 1),
            b"",
            &small,
        ),
    );
    add(
        "hook-keeps-chunked".to_owned(),
        input(
            layer_choice(0, 1, false, 1),
            cookie_setting(1, 0, false, true, 0),
            b"",
            &two,
        ),
    );
    add(
        "hook-refuses-destroy".to_owned(),
        input(
            layer_choice(0, 1, false, 4),
            cookie_setting(1, 2, false, true, 0),
            b"",
            &large_plaintext(7000, -1),
        ),
    );
    seeds
}
