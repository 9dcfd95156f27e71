//! Properties of the sealed envelope, through the public API only: what
//! was sealed opens, nothing else does, and no input makes the opener or
//! the session layer panic.

use std::convert::Infallible;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use http::header::COOKIE;
use http::{HeaderValue, Request, Response};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use serde::{Deserialize, Serialize};
use tower::{service_fn, Layer, ServiceExt};
use tower_cookie_sessions::envelope::KeyId;
use tower_cookie_sessions::envelope::{self, OpenError, MAX_COOKIE_SIZE};
use tower_cookie_sessions::fuzzing::{self, Purpose};
use tower_cookie_sessions::{Key, KeyRing, Session, SessionLayer};

/// What a sealed envelope starts with once decoded: the format version.
/// Not public, so kept here; a format change must update it, which is the
/// point of the header-shaped inputs below.
const FORMAT_VERSION: u8 = 1;

fn purpose() -> impl Strategy<Value = Purpose> {
    prop_oneof![
        Just(Purpose::Session),
        Just(Purpose::PrivateCookie),
        Just(Purpose::SessionId),
        Just(Purpose::Flash),
        Just(Purpose::StoreRecord),
        Just(Purpose::Application("sign-in-link")),
        Just(Purpose::Application("csrf")),
    ]
}

/// RFC 9110 `token` characters: every name a cookie can have.
fn cookie_name() -> impl Strategy<Value = String> {
    "[!#$%&'*+.^_`|~0-9A-Za-z-]{1,40}"
}

/// Raw key bytes rather than `Key`, so a failing case prints the key
/// instead of `Key(REDACTED)`. All-equal bytes are refused by
/// `Key::from_bytes`.
fn key_bytes() -> impl Strategy<Value = [u8; 32]> {
    any::<[u8; 32]>().prop_filter("degenerate key", |bytes| {
        bytes.iter().any(|&byte| byte != bytes[0])
    })
}

fn key(bytes: &[u8; 32]) -> Key {
    Key::from_bytes(bytes).expect("filtered to valid keys")
}

/// A ring whose current key is 7 and which still opens key 3, so that
/// header-shaped garbage can name a key the ring really has.
fn two_key_ring() -> KeyRing {
    KeyRing::new(7, Key::generate())
        .with_old_key(3, Key::generate())
        .expect("distinct ids")
}

fn plausible_key_id() -> impl Strategy<Value = KeyId> {
    prop_oneof![Just(7), Just(3), any::<KeyId>()]
}

/// Names close to `name`, which a careless binding might confuse with it.
fn near_names(name: &str) -> Vec<String> {
    let mut names = vec![
        name.to_ascii_uppercase(),
        name.to_ascii_lowercase(),
        format!("{name}x"),
        format!("x{name}"),
        format!("{name}\0"),
    ];
    if name.len() > 1 {
        names.push(name[..name.len() - 1].to_owned());
        names.push(name[1..].to_owned());
    }
    names.retain(|other| other != name);
    names
}

proptest! {
    #[test]
    fn sealed_values_open_to_their_plaintext(
        plaintext in vec(any::<u8>(), 0..5000),
        name in cookie_name(),
        purpose in purpose(),
        key_id in any::<KeyId>(),
        key_bytes in key_bytes(),
    ) {
        let ring = KeyRing::new(key_id, key(&key_bytes));
        let sealed = fuzzing::seal_as(&ring, purpose, &name, &plaintext);
        prop_assert_eq!(sealed.len(), envelope::sealed_len(plaintext.len()));

        let opened = fuzzing::open_as(&ring, purpose, &name, &sealed);
        // `seal` does not refuse what `open` will: the size check is the
        // caller's, so past the limit the only right answer is `TooLarge`.
        if name.len() + sealed.len() > MAX_COOKIE_SIZE {
            prop_assert_eq!(opened, Err(OpenError::TooLarge));
        } else {
            let opened = opened.expect("a sealed value opens");
            prop_assert_eq!(opened.plaintext, plaintext);
            prop_assert_eq!(opened.key_id, key_id);
            prop_assert!(opened.is_current_key);
        }
    }

    #[test]
    fn values_sealed_under_a_rotated_key_still_open(
        plaintext in vec(any::<u8>(), 0..512),
        name in cookie_name(),
        purpose in purpose(),
        (old_id, new_id) in (any::<KeyId>(), any::<KeyId>())
            .prop_filter("distinct ids", |(old, new)| old != new),
        old_key in key_bytes(),
        new_key in key_bytes(),
    ) {
        let old = KeyRing::new(old_id, key(&old_key));
        let sealed = fuzzing::seal_as(&old, purpose, &name, &plaintext);
        let rotated = KeyRing::new(new_id, key(&new_key))
            .with_old_key(old_id, key(&old_key))
            .expect("distinct ids");

        let opened = fuzzing::open_as(&rotated, purpose, &name, &sealed).expect("old key opens");
        prop_assert_eq!(opened.plaintext, plaintext);
        prop_assert_eq!(opened.key_id, old_id);
        prop_assert!(!opened.is_current_key);
    }

    #[test]
    fn another_name_purpose_or_key_never_opens(
        plaintext in vec(any::<u8>(), 0..512),
        name in cookie_name(),
        other_name in cookie_name(),
        purpose in purpose(),
        other_purpose in purpose(),
        key_id in any::<KeyId>(),
        key_bytes in key_bytes(),
        other_key_bytes in key_bytes(),
    ) {
        let ring = KeyRing::new(key_id, key(&key_bytes));
        let sealed = fuzzing::seal_as(&ring, purpose, &name, &plaintext);

        let mut names = near_names(&name);
        if other_name != name {
            names.push(other_name);
        }
        for other in &names {
            prop_assert_eq!(
                fuzzing::open_as(&ring, purpose, other, &sealed),
                Err(OpenError::Unauthentic),
                "sealed as {:?}, opened as {:?}", name, other
            );
        }
        if other_purpose != purpose {
            prop_assert_eq!(
                fuzzing::open_as(&ring, other_purpose, &name, &sealed),
                Err(OpenError::Unauthentic)
            );
        }
        if other_key_bytes != key_bytes {
            // Same id, so the envelope's key id picks this key and only
            // authentication can tell them apart.
            let impostor = KeyRing::new(key_id, key(&other_key_bytes));
            prop_assert_eq!(
                fuzzing::open_as(&impostor, purpose, &name, &sealed),
                Err(OpenError::Unauthentic)
            );
        }
    }

    #[test]
    fn arbitrary_text_never_opens(
        name in any::<String>(),
        text in prop_oneof![
            any::<String>(),
            vec(any::<char>(), 0..1000).prop_map(String::from_iter),
            // The base64url alphabet, so most of these get past decoding.
            "[A-Za-z0-9_-]{0,4200}",
        ],
        purpose in purpose(),
    ) {
        prop_assert!(fuzzing::open_as(&two_key_ring(), purpose, &name, &text).is_err());
    }

    #[test]
    fn arbitrary_bytes_never_open(
        bytes in vec(any::<u8>(), 0..4200),
        name in cookie_name(),
        purpose in purpose(),
    ) {
        let ring = two_key_ring();
        let lossy = String::from_utf8_lossy(&bytes);
        prop_assert!(fuzzing::open_as(&ring, purpose, &name, &lossy).is_err());
        let encoded = URL_SAFE_NO_PAD.encode(&bytes);
        prop_assert!(fuzzing::open_as(&ring, purpose, &name, &encoded).is_err());
    }

    #[test]
    fn header_shaped_bytes_never_open(
        key_id in plausible_key_id(),
        rest in vec(any::<u8>(), 0..3000),
        name in cookie_name(),
        purpose in purpose(),
    ) {
        // A right version and a known key id reach the cipher itself.
        let mut raw = vec![FORMAT_VERSION, key_id];
        raw.extend_from_slice(&rest);
        let encoded = URL_SAFE_NO_PAD.encode(&raw);
        let result = fuzzing::open_as(&two_key_ring(), purpose, &name, &encoded);
        prop_assert!(result.is_err(), "{:?}", result);
    }

    #[test]
    fn any_flipped_bit_is_refused(
        plaintext in vec(any::<u8>(), 0..512),
        name in cookie_name(),
        purpose in purpose(),
        key_id in any::<KeyId>(),
        bit in any::<Index>(),
    ) {
        let ring = KeyRing::new(key_id, Key::generate());
        let sealed = fuzzing::seal_as(&ring, purpose, &name, &plaintext);
        let mut raw = URL_SAFE_NO_PAD.decode(&sealed).expect("seal writes base64url");
        let bit = bit.index(raw.len() * 8);
        raw[bit / 8] ^= 1 << (bit % 8);
        let tampered = URL_SAFE_NO_PAD.encode(&raw);
        let result = fuzzing::open_as(&ring, purpose, &name, &tampered);
        prop_assert!(result.is_err(), "bit {} flipped, yet {:?}", bit, result);
    }
}

/// The sampled flips above, made exhaustive for one envelope the size of a
/// small session.
#[test]
fn every_single_bit_flip_of_one_envelope_is_refused() {
    let ring = KeyRing::new(9, Key::generate());
    let sealed = fuzzing::seal_as(&ring, Purpose::Session, "id", &[0x5a; 40]);
    let mut raw = URL_SAFE_NO_PAD.decode(&sealed).expect("base64url");
    for bit in 0..raw.len() * 8 {
        raw[bit / 8] ^= 1 << (bit % 8);
        let tampered = URL_SAFE_NO_PAD.encode(&raw);
        assert!(
            fuzzing::open_as(&ring, Purpose::Session, "id", &tampered).is_err(),
            "bit {bit}"
        );
        raw[bit / 8] ^= 1 << (bit % 8);
    }
}

#[derive(Clone, Default, Debug, PartialEq, Serialize, Deserialize)]
struct Profile {
    user_id: u64,
    name: String,
}

/// Bytes a `HeaderValue` accepts: tab, visible ASCII, space and obs-text.
fn header_byte() -> impl Strategy<Value = u8> {
    prop_oneof![Just(b'\t'), 0x20u8..=0x7e, 0x80u8..=0xff]
}

/// Cookie headers: unstructured bytes, and pieces of real cookie syntax
/// (the session's name, separators, quotes, percent signs, envelope-shaped
/// base64) strung together so the parser and the opener get past their
/// first checks.
fn cookie_header() -> impl Strategy<Value = HeaderValue> {
    let piece = prop_oneof![
        Just(b"id=".to_vec()),
        Just(b"; ".to_vec()),
        Just(b";".to_vec()),
        Just(b"=".to_vec()),
        Just(b"\"".to_vec()),
        Just(b"%".to_vec()),
        vec(header_byte(), 0..24),
        "[A-Za-z0-9_-]{0,200}".prop_map(String::into_bytes),
        vec(any::<u8>(), 0..3000).prop_map(|rest| {
            let mut raw = vec![FORMAT_VERSION, 0];
            raw.extend_from_slice(&rest);
            URL_SAFE_NO_PAD.encode(raw).into_bytes()
        }),
    ];
    prop_oneof![
        vec(header_byte(), 0..6000),
        vec(piece, 0..12).prop_map(|pieces| pieces.concat()),
    ]
    .prop_map(|bytes| HeaderValue::from_bytes(&bytes).expect("only header bytes"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_cookie_header_gives_a_fresh_session(header in cookie_header()) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        // Key id 0, which the envelope-shaped pieces above name.
        let layer = SessionLayer::<Profile>::new(Key::generate()).expect("layer");
        let service = layer.layer(service_fn(|request: Request<String>| async move {
            let body = match Session::<Profile>::load(&request).await {
                Ok(session) => format!(
                    "new={} default={}",
                    session.is_new(),
                    session.cloned() == Profile::default()
                ),
                Err(error) => format!("error: {error}"),
            };
            Ok::<_, Infallible>(Response::new(body))
        }));
        let mut request = Request::new(String::new());
        request.headers_mut().insert(COOKIE, header);

        let response = runtime
            .block_on(service.oneshot(request))
            .expect("infallible");
        prop_assert_eq!(response.status(), 200);
        let body = runtime
            .block_on(http_body_util::BodyExt::collect(response.into_body()))
            .expect("body")
            .to_bytes();
        prop_assert_eq!(&body[..], b"new=true default=true");
    }
}
