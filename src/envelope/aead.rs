//! XChaCha20-Poly1305, behind one small seam with two implementations.
//!
//! XChaCha20-Poly1305 is by definition HChaCha20 of the key and the first
//! 16 nonce bytes, giving a one-message subkey, followed by the IETF
//! ChaCha20-Poly1305 AEAD under that subkey with the 12-byte nonce
//! `0u32 | nonce[16..24]` (draft-irtf-cfrg-xchacha, section 2.3). Both
//! implementations below produce the same bytes:
//!
//! - [`Ring`] (feature `ring`, the default): HChaCha20 from the `chacha20`
//!   crate, then ring's `CHACHA20_POLY1305`. In a default build it is
//!   several times faster than the pure-Rust path for cookie-sized messages,
//!   whose cost is dominated by Poly1305 set-up.
//! - [`RustCrypto`]: `chacha20poly1305::XChaCha20Poly1305`, for builds
//!   without `ring` (targets where ring does not build), and the tests'
//!   oracle.
//!
//! [`Selected`] is the one the envelope uses: ring whenever it is compiled
//! in, so no feature another crate of the graph enables can slow this one
//! down. Both are compiled whenever their dependencies are, so the one not
//! selected still builds and is tested against the other.

use chacha20poly1305::aead::{AeadInOut as _, KeyInit as _};
use chacha20poly1305::{Tag, XChaCha20Poly1305, XNonce};

use crate::key::KEY_LEN;

/// Nonce length in bytes.
pub(crate) const NONCE_LEN: usize = 24;
/// Tag length in bytes.
pub(crate) const TAG_LEN: usize = 16;

/// The implementation the envelope seals and opens with.
#[cfg(feature = "ring")]
pub(crate) type Selected = Ring;
/// The implementation the envelope seals and opens with.
#[cfg(not(feature = "ring"))]
pub(crate) type Selected = RustCrypto;

/// The tag did not match: the message, nonce, associated data or key
/// differ from those it was sealed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Unauthentic;

/// XChaCha20-Poly1305 with a detached tag, encrypting in place.
pub(crate) trait Aead {
    /// Encrypts `buffer` in place and returns the tag.
    fn seal_in_place(
        key: &[u8; KEY_LEN],
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        buffer: &mut [u8],
    ) -> [u8; TAG_LEN];

    /// Checks `tag` and decrypts `buffer` in place.
    ///
    /// On failure the contents of `buffer` are unspecified (ring zeroes
    /// them; RustCrypto checks the tag before decrypting).
    fn open_in_place(
        key: &[u8; KEY_LEN],
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        buffer: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> Result<(), Unauthentic>;
}

/// HChaCha20 (`chacha20`), then ring's ChaCha20-Poly1305.
///
/// ring keeps the subkey in its own key schedule, which it does not
/// zeroize; the subkey bytes this side of ring are zeroized.
#[cfg(feature = "ring")]
#[derive(Debug)]
pub(crate) enum Ring {}

#[cfg(feature = "ring")]
impl Ring {
    /// The one-message ChaCha20-Poly1305 key and 12-byte nonce for
    /// XChaCha20-Poly1305's `key` and `nonce`.
    fn ietf(
        key: &[u8; KEY_LEN],
        nonce: &[u8; NONCE_LEN],
    ) -> (ring::aead::LessSafeKey, ring::aead::Nonce) {
        use chacha20::{hchacha, R20};
        use zeroize::Zeroize as _;

        let (prefix, suffix) = nonce.split_at(16);
        let prefix: &[u8; 16] = prefix.try_into().expect("16 of 24 bytes");
        let mut subkey = hchacha::<R20>(key.into(), prefix.into());
        let unbound = ring::aead::UnboundKey::new(&ring::aead::CHACHA20_POLY1305, &subkey);
        // Before anything can panic.
        subkey.as_mut_slice().zeroize();
        let key = ring::aead::LessSafeKey::new(
            unbound.expect("a 32-byte key is a ChaCha20-Poly1305 key"),
        );

        let mut ietf_nonce = [0u8; ring::aead::NONCE_LEN];
        ietf_nonce[4..].copy_from_slice(suffix);
        (key, ring::aead::Nonce::assume_unique_for_key(ietf_nonce))
    }
}

#[cfg(feature = "ring")]
impl Aead for Ring {
    fn seal_in_place(
        key: &[u8; KEY_LEN],
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        buffer: &mut [u8],
    ) -> [u8; TAG_LEN] {
        let (key, nonce) = Self::ietf(key, nonce);
        let tag = key
            .seal_in_place_separate_tag(nonce, ring::aead::Aad::from(aad), buffer)
            // Only messages over 256 GiB fail, far beyond any cookie or record.
            .expect("ChaCha20-Poly1305 seals any message under 256 GiB");
        tag.as_ref()
            .try_into()
            .expect("a ChaCha20-Poly1305 tag is 16 bytes")
    }

    fn open_in_place(
        key: &[u8; KEY_LEN],
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        buffer: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> Result<(), Unauthentic> {
        let (key, nonce) = Self::ietf(key, nonce);
        key.open_in_place_separate_tag(
            nonce,
            ring::aead::Aad::from(aad),
            ring::aead::Tag::from(*tag),
            buffer,
            0..,
        )
        .map(|_| ())
        .map_err(|_| Unauthentic)
    }
}

/// RustCrypto's `chacha20poly1305::XChaCha20Poly1305`, which zeroizes its
/// key state on drop.
#[cfg_attr(feature = "ring", allow(dead_code))]
#[derive(Debug)]
pub(crate) enum RustCrypto {}

impl Aead for RustCrypto {
    fn seal_in_place(
        key: &[u8; KEY_LEN],
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        buffer: &mut [u8],
    ) -> [u8; TAG_LEN] {
        XChaCha20Poly1305::new(key.into())
            .encrypt_inout_detached(&XNonce::from(*nonce), aad, buffer.into())
            // Only messages over 256 GiB fail, far beyond any cookie or record.
            .expect("XChaCha20-Poly1305 seals any message under 256 GiB")
            .into()
    }

    fn open_in_place(
        key: &[u8; KEY_LEN],
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        buffer: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> Result<(), Unauthentic> {
        XChaCha20Poly1305::new(key.into())
            .decrypt_inout_detached(&XNonce::from(*nonce), aad, buffer.into(), &Tag::from(*tag))
            .map_err(|_| Unauthentic)
    }
}

#[cfg(test)]
mod tests {
    //! Known answers from draft-irtf-cfrg-xchacha-03 on every compiled
    //! implementation, and, with the `ring` feature, the two implementations
    //! against each other on random inputs.

    use super::*;

    fn hex(text: &str) -> Vec<u8> {
        let text: String = text.split_whitespace().collect();
        ::hex::decode(text).expect("valid hex")
    }

    fn array<const N: usize>(text: &str) -> [u8; N] {
        hex(text).try_into().expect("right length")
    }

    /// draft-irtf-cfrg-xchacha-03, appendix A.3.1.
    struct Vector {
        plaintext: &'static [u8],
        aad: &'static str,
        key: &'static str,
        nonce: &'static str,
        ciphertext: &'static str,
        tag: &'static str,
    }

    const A_3_1: Vector = Vector {
        plaintext: b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
        aad: "50515253c0c1c2c3c4c5c6c7",
        key: "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f",
        nonce: "404142434445464748494a4b4c4d4e4f5051525354555657",
        ciphertext: "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb
                     731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452
                     2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9
                     21f9664c97637da9768812f615c68b13b52e",
        tag: "c0875924c1c7987947deafd8780acf49",
    };

    fn seals_and_opens_the_draft_vector<A: Aead>() {
        let v = A_3_1;
        let key = array::<KEY_LEN>(v.key);
        let nonce = array::<NONCE_LEN>(v.nonce);
        let aad = hex(v.aad);
        let ciphertext = hex(v.ciphertext);

        let mut buffer = v.plaintext.to_vec();
        let tag = A::seal_in_place(&key, &nonce, &aad, &mut buffer);
        assert_eq!(buffer, ciphertext);
        assert_eq!(tag, array::<TAG_LEN>(v.tag));

        assert_eq!(
            A::open_in_place(&key, &nonce, &aad, &mut buffer, &tag),
            Ok(())
        );
        assert_eq!(buffer, v.plaintext);

        let mut flipped = tag;
        flipped[0] ^= 1;
        let mut buffer = ciphertext.clone();
        assert_eq!(
            A::open_in_place(&key, &nonce, &aad, &mut buffer, &flipped),
            Err(Unauthentic)
        );
        let mut buffer = ciphertext;
        assert_eq!(
            A::open_in_place(&key, &nonce, b"other", &mut buffer, &tag),
            Err(Unauthentic)
        );
    }

    #[test]
    fn rust_crypto_passes_the_draft_vector() {
        seals_and_opens_the_draft_vector::<RustCrypto>();
    }

    #[cfg(feature = "ring")]
    #[test]
    fn ring_passes_the_draft_vector() {
        seals_and_opens_the_draft_vector::<Ring>();
    }

    #[test]
    fn selected_passes_the_draft_vector() {
        seals_and_opens_the_draft_vector::<Selected>();
    }

    /// Features add up across a dependency graph: with ring compiled in,
    /// whatever else is enabled, the fast path seals.
    #[test]
    fn ring_is_selected_whenever_it_is_compiled_in() {
        let selected = std::any::type_name::<Selected>();
        if cfg!(feature = "ring") {
            assert!(selected.ends_with("::Ring"), "{selected}");
        } else {
            assert!(selected.ends_with("::RustCrypto"), "{selected}");
        }
    }

    /// draft-irtf-cfrg-xchacha-03, section 2.2.1: the HChaCha20 that the
    /// ring path runs before ring.
    #[cfg(feature = "ring")]
    #[test]
    fn hchacha20_passes_the_draft_vector() {
        let key = array::<32>("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
        let input = array::<16>("000000090000004a0000000031415927");
        let subkey = chacha20::hchacha::<chacha20::R20>((&key).into(), (&input).into());
        assert_eq!(
            subkey.as_slice(),
            hex("82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc")
        );
    }

    #[cfg(feature = "ring")]
    mod ring_against_rust_crypto {
        use proptest::collection::vec;
        use proptest::prelude::*;

        use super::super::*;

        proptest! {
            #[test]
            fn both_seal_the_same_bytes_and_open_each_other(
                key in any::<[u8; KEY_LEN]>(),
                nonce in any::<[u8; NONCE_LEN]>(),
                aad in vec(any::<u8>(), 0..100),
                plaintext in vec(any::<u8>(), 0..600),
            ) {
                let mut by_ring = plaintext.clone();
                let ring_tag = Ring::seal_in_place(&key, &nonce, &aad, &mut by_ring);
                let mut by_rust = plaintext.clone();
                let rust_tag = RustCrypto::seal_in_place(&key, &nonce, &aad, &mut by_rust);
                prop_assert_eq!(&by_ring, &by_rust);
                prop_assert_eq!(ring_tag, rust_tag);

                let mut opened = by_ring.clone();
                prop_assert_eq!(
                    RustCrypto::open_in_place(&key, &nonce, &aad, &mut opened, &ring_tag),
                    Ok(())
                );
                prop_assert_eq!(&opened, &plaintext);
                let mut opened = by_rust;
                prop_assert_eq!(
                    Ring::open_in_place(&key, &nonce, &aad, &mut opened, &rust_tag),
                    Ok(())
                );
                prop_assert_eq!(&opened, &plaintext);
            }

            #[test]
            fn both_refuse_the_same_tampering(
                key in any::<[u8; KEY_LEN]>(),
                nonce in any::<[u8; NONCE_LEN]>(),
                plaintext in vec(any::<u8>(), 1..200),
                flip in any::<prop::sample::Index>(),
                bit in 0u8..8,
            ) {
                let mut sealed = plaintext.clone();
                let tag = RustCrypto::seal_in_place(&key, &nonce, b"aad", &mut sealed);
                // Flip one bit anywhere in ciphertext or tag.
                let mut bytes = sealed;
                bytes.extend_from_slice(&tag);
                let at = flip.index(bytes.len());
                bytes[at] ^= 1 << bit;
                let (ciphertext, tag) = bytes.split_at(plaintext.len());
                let tag: [u8; TAG_LEN] = tag.try_into().expect("16 bytes");

                let mut buffer = ciphertext.to_vec();
                prop_assert_eq!(
                    Ring::open_in_place(&key, &nonce, b"aad", &mut buffer, &tag),
                    Err(Unauthentic)
                );
                let mut buffer = ciphertext.to_vec();
                prop_assert_eq!(
                    RustCrypto::open_in_place(&key, &nonce, b"aad", &mut buffer, &tag),
                    Err(Unauthentic)
                );
            }
        }
    }
}
