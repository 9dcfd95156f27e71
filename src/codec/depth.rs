//! A nesting limit for decoding.
//!
//! bincode recurses once per nested value and has no depth limit of its
//! own, so a corrupt store record of a recursive type, a few hundred
//! kilobytes long, can nest deep enough to overflow the stack: that aborts
//! the whole process instead of failing one request. [`seed`] wraps the
//! deserializer, and everything it hands to a visitor, so that every
//! compound value spends one level of a budget and one too many is an
//! ordinary decode error.
//!
//! A level is spent where nesting really happens: when a visitor is handed
//! a sequence, a map, an enum, a `Some` or a newtype struct to walk. That
//! covers every `deserialize_*` hint that can nest, whichever hint the type
//! asked for. The budget travels by value: what is nested gets a copy one
//! level deeper, so leaving a value, decoded or failed, gives the level
//! back with no counter to restore.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor,
};

/// How deep the current value is, and how deep values may go.
#[derive(Debug, Clone, Copy)]
struct Budget {
    depth: usize,
    max: usize,
}

impl Budget {
    /// The budget inside one more compound value, or the error refusing it.
    fn enter<E: de::Error>(self) -> Result<Self, E> {
        if self.depth >= self.max {
            return Err(E::custom(format_args!(
                "nested deeper than {} levels",
                self.max
            )));
        }
        Ok(Self {
            depth: self.depth + 1,
            max: self.max,
        })
    }
}

/// A seed that deserializes a `T` nested at most `max_depth` levels deep.
/// A seed rather than a deserializer so that bincode keeps its own slice
/// decoder, and with it the count of bytes used.
pub(crate) fn seed<'de, T: de::Deserialize<'de>>(
    max_depth: usize,
) -> impl DeserializeSeed<'de, Value = T> {
    Seed {
        inner: PhantomData::<T>,
        budget: Budget {
            depth: 0,
            max: max_depth,
        },
    }
}

/// A deserializer whose visitors spend the budget.
struct Bounded<D> {
    inner: D,
    budget: Budget,
}

/// A visitor that spends a level on each nested access it is handed.
struct Nesting<V> {
    inner: V,
    budget: Budget,
}

/// A seed that deserializes through [`Bounded`]: sequences, maps and
/// variants hand one to their caller for each nested value.
struct Seed<S> {
    inner: S,
    budget: Budget,
}

// The accesses a visitor walks: each hands its elements a [`Seed`] at the
// level inside the container, so nothing nested escapes the budget.

/// A sequence's elements, or a struct's or tuple's fields.
struct Seq<A>(A, Budget);
/// A map's keys and values.
struct Map<A>(A, Budget);
/// An enum's tag, then its variant.
struct Enum<A>(A, Budget);
/// A variant's contents.
struct Variant<A>(A, Budget);

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Seed<S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<S::Value, D::Error> {
        self.inner.deserialize(Bounded {
            inner: deserializer,
            budget: self.budget,
        })
    }
}

/// Forwards `deserialize_*` methods, wrapping the visitor.
macro_rules! forward_deserialize {
    ($($method:ident($($arg:ident: $ty:ty),*);)*) => {$(
        fn $method<V: Visitor<'de>>(
            self,
            $($arg: $ty,)*
            visitor: V,
        ) -> Result<V::Value, D::Error> {
            self.inner.$method($($arg,)* Nesting {
                inner: visitor,
                budget: self.budget,
            })
        }
    )*};
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Bounded<D> {
    type Error = D::Error;

    forward_deserialize! {
        deserialize_any();
        deserialize_bool();
        deserialize_i8();
        deserialize_i16();
        deserialize_i32();
        deserialize_i64();
        deserialize_i128();
        deserialize_u8();
        deserialize_u16();
        deserialize_u32();
        deserialize_u64();
        deserialize_u128();
        deserialize_f32();
        deserialize_f64();
        deserialize_char();
        deserialize_str();
        deserialize_string();
        deserialize_bytes();
        deserialize_byte_buf();
        deserialize_option();
        deserialize_unit();
        deserialize_unit_struct(name: &'static str);
        deserialize_newtype_struct(name: &'static str);
        deserialize_seq();
        deserialize_tuple(len: usize);
        deserialize_tuple_struct(name: &'static str, len: usize);
        deserialize_map();
        deserialize_struct(name: &'static str, fields: &'static [&'static str]);
        deserialize_enum(name: &'static str, variants: &'static [&'static str]);
        deserialize_identifier();
        deserialize_ignored_any();
    }

    // Types such as `IpAddr` pick their format by this, so it must be the
    // inner deserializer's answer, not serde's default.
    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }
}

/// Forwards `visit_*` methods that carry a plain value, or none.
macro_rules! forward_visit {
    ($($method:ident($($arg:ident: $ty:ty)?);)*) => {$(
        fn $method<E: de::Error>(self $(, $arg: $ty)?) -> Result<V::Value, E> {
            self.inner.$method($($arg)?)
        }
    )*};
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Nesting<V> {
    type Value = V::Value;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.expecting(formatter)
    }

    forward_visit! {
        visit_bool(v: bool);
        visit_i8(v: i8);
        visit_i16(v: i16);
        visit_i32(v: i32);
        visit_i64(v: i64);
        visit_i128(v: i128);
        visit_u8(v: u8);
        visit_u16(v: u16);
        visit_u32(v: u32);
        visit_u64(v: u64);
        visit_u128(v: u128);
        visit_f32(v: f32);
        visit_f64(v: f64);
        visit_char(v: char);
        visit_str(v: &str);
        visit_borrowed_str(v: &'de str);
        visit_string(v: String);
        visit_bytes(v: &[u8]);
        visit_borrowed_bytes(v: &'de [u8]);
        visit_byte_buf(v: Vec<u8>);
        visit_none();
        visit_unit();
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<V::Value, D::Error> {
        let budget = self.budget.enter()?;
        self.inner.visit_some(Bounded {
            inner: deserializer,
            budget,
        })
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<V::Value, D::Error> {
        let budget = self.budget.enter()?;
        self.inner.visit_newtype_struct(Bounded {
            inner: deserializer,
            budget,
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        let budget = self.budget.enter()?;
        self.inner.visit_seq(Seq(seq, budget))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        let budget = self.budget.enter()?;
        self.inner.visit_map(Map(map, budget))
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<V::Value, A::Error> {
        let budget = self.budget.enter()?;
        self.inner.visit_enum(Enum(data, budget))
    }
}

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for Seq<A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        self.0.next_element_seed(Seed {
            inner: seed,
            budget: self.1,
        })
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Map<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        self.0.next_key_seed(Seed {
            inner: seed,
            budget: self.1,
        })
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, A::Error> {
        self.0.next_value_seed(Seed {
            inner: seed,
            budget: self.1,
        })
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

impl<'de, A: EnumAccess<'de>> EnumAccess<'de> for Enum<A> {
    type Error = A::Error;
    type Variant = Variant<A::Variant>;

    fn variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<(S::Value, Self::Variant), A::Error> {
        let budget = self.1;
        let (tag, variant) = self.0.variant_seed(Seed {
            inner: seed,
            budget,
        })?;
        Ok((tag, Variant(variant, budget)))
    }
}

// A tuple or struct variant hands its visitor a sequence of fields, which
// spends a level of its own, as a struct inside a newtype variant would.
impl<'de, A: VariantAccess<'de>> VariantAccess<'de> for Variant<A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), A::Error> {
        self.0.unit_variant()
    }

    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<S::Value, A::Error> {
        self.0.newtype_variant_seed(Seed {
            inner: seed,
            budget: self.1,
        })
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, A::Error> {
        self.0.tuple_variant(
            len,
            Nesting {
                inner: visitor,
                budget: self.1,
            },
        )
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        self.0.struct_variant(
            fields,
            Nesting {
                inner: visitor,
                budget: self.1,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::net::{IpAddr, Ipv6Addr};

    use serde::{Deserialize, Serialize};

    use crate::codec::{decode, decode_with_depth, encode, Codec, DEFAULT_MAX_DEPTH};

    /// One level per enum: `Node` is tag 1 and `Leaf` tag 0, one byte each.
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    enum Nested {
        Leaf,
        Node(Box<Nested>),
    }

    /// Two levels per node: the newtype and its sequence.
    #[derive(Serialize, Deserialize, Debug)]
    struct Tree(Vec<Tree>);

    /// Two levels per link: the newtype and the `Some`.
    #[derive(Serialize, Deserialize, Debug)]
    struct Chain(Option<Box<Chain>>);

    /// Two levels per branch: the newtype and its map.
    #[derive(Serialize, Deserialize, Debug)]
    struct Branches(BTreeMap<u8, Branches>);

    /// Two levels per node: the enum and the struct variant's fields.
    #[derive(Serialize, Deserialize, Debug)]
    enum Shape {
        Leaf,
        Node { child: Box<Shape> },
    }

    /// The bytes of a `Nested` (or `Tree`, `Chain`, `Shape`) that is
    /// `nodes` nodes deep: a varint `1` per node, a `0` to end.
    fn chain_of(nodes: usize) -> Vec<u8> {
        let mut bytes = vec![1; nodes];
        bytes.push(0);
        bytes
    }

    /// How many levels a decoded `Nested` has, walked without recursion.
    fn levels(mut value: &Nested) -> usize {
        let mut levels = 1;
        while let Nested::Node(inner) = value {
            levels += 1;
            value = inner;
        }
        levels
    }

    fn refusal<T: serde::de::DeserializeOwned + std::fmt::Debug>(
        bytes: &[u8],
        max_depth: usize,
    ) -> String {
        decode_with_depth::<T>(Codec::Bincode, bytes, max_depth)
            .expect_err("nested too deep")
            .to_string()
    }

    #[test]
    fn an_enum_exactly_at_the_limit_decodes() {
        let value: Nested =
            decode(Codec::Bincode, &chain_of(DEFAULT_MAX_DEPTH - 1)).expect("at the limit");
        assert_eq!(levels(&value), DEFAULT_MAX_DEPTH);
    }

    #[test]
    fn an_enum_one_level_over_the_limit_is_refused() {
        let error = decode::<Nested>(Codec::Bincode, &chain_of(DEFAULT_MAX_DEPTH))
            .expect_err("over the limit");
        assert_eq!(
            error.to_string(),
            "decode failed: nested deeper than 128 levels"
        );
    }

    #[test]
    fn a_hundred_thousand_levels_is_a_clean_error() {
        let bytes = chain_of(100_000);
        for message in [
            decode::<Nested>(Codec::Bincode, &bytes)
                .expect_err("nested")
                .to_string(),
            refusal::<Tree>(&bytes, DEFAULT_MAX_DEPTH),
            refusal::<Chain>(&bytes, DEFAULT_MAX_DEPTH),
            refusal::<Shape>(&bytes, DEFAULT_MAX_DEPTH),
        ] {
            assert!(
                message.contains("nested deeper than 128 levels"),
                "{message}"
            );
        }
        let branches: Vec<u8> = [1, 0].repeat(100_000).into_iter().chain([0]).collect();
        let message = refusal::<Branches>(&branches, DEFAULT_MAX_DEPTH);
        assert!(
            message.contains("nested deeper than 128 levels"),
            "{message}"
        );
    }

    #[test]
    fn nested_vectors_count_a_level_each() {
        let bytes = encode(Codec::Bincode, &vec![vec![vec![7_u8]]]).expect("encode");
        let back: Vec<Vec<Vec<u8>>> =
            decode_with_depth(Codec::Bincode, &bytes, 3).expect("three levels");
        assert_eq!(back, [[[7]]]);
        let message = refusal::<Vec<Vec<Vec<u8>>>>(&bytes, 2);
        assert!(message.contains("nested deeper than 2 levels"), "{message}");
    }

    #[test]
    fn a_recursive_vector_exactly_at_the_limit_decodes() {
        let nodes = DEFAULT_MAX_DEPTH / 2;
        decode::<Tree>(Codec::Bincode, &chain_of(nodes - 1)).expect("at the limit");
        assert!(decode::<Tree>(Codec::Bincode, &chain_of(nodes)).is_err());
    }

    #[test]
    fn options_maps_and_struct_variants_count_levels() {
        // Three links (Some, Some, None) are three newtypes and two `Some`s.
        decode_with_depth::<Chain>(Codec::Bincode, &chain_of(2), 5).expect("five levels");
        refusal::<Chain>(&chain_of(2), 4);
        // Two branches and the empty map that ends them.
        let branches = [1, 0, 1, 0, 0];
        decode_with_depth::<Branches>(Codec::Bincode, &branches, 6).expect("six levels");
        refusal::<Branches>(&branches, 5);
        // One node (enum and fields) around a leaf.
        decode_with_depth::<Shape>(Codec::Bincode, &chain_of(1), 3).expect("three levels");
        refusal::<Shape>(&chain_of(1), 2);
    }

    #[test]
    fn siblings_share_a_level_rather_than_adding_up() {
        let one = chain_of(DEFAULT_MAX_DEPTH - 2);
        let mut bytes = vec![3];
        for _ in 0..3 {
            bytes.extend_from_slice(&one);
        }
        let back: Vec<Nested> = decode(Codec::Bincode, &bytes).expect("each at the limit");
        assert_eq!(back.len(), 3);
        assert!(back
            .iter()
            .all(|value| levels(value) == DEFAULT_MAX_DEPTH - 1));
        let wide = encode(Codec::Bincode, &vec![(1_u8, 2_u8); 10_000]).expect("encode");
        assert_eq!(
            decode_with_depth::<Vec<(u8, u8)>>(Codec::Bincode, &wide, 2)
                .expect("two levels")
                .len(),
            10_000
        );
    }

    #[test]
    fn a_failure_deep_inside_gives_the_error_not_a_partial_value() {
        let mut bytes = chain_of(10);
        *bytes.last_mut().expect("end") = 9; // no such variant
        let message = decode::<Nested>(Codec::Bincode, &bytes)
            .expect_err("bad tag")
            .to_string();
        assert!(message.starts_with("decode failed:"), "{message}");
        assert!(!message.contains("nested"), "{message}");
    }

    #[test]
    fn the_format_stays_compact_through_the_wrapper() {
        // `IpAddr` picks its encoding by `is_human_readable`: a wrapper that
        // forgot to forward it would expect a string and fail.
        let address = IpAddr::V6(Ipv6Addr::LOCALHOST);
        let bytes = encode(Codec::Bincode, &address).expect("encode");
        assert_eq!(bytes.len(), 1 + 16);
        assert_eq!(
            decode::<IpAddr>(Codec::Bincode, &bytes).expect("decode"),
            address
        );
    }

    #[test]
    fn trailing_bytes_are_still_refused() {
        let mut bytes = chain_of(3);
        bytes.push(0);
        let message = decode::<Nested>(Codec::Bincode, &bytes)
            .expect_err("trailing")
            .to_string();
        assert_eq!(message, "decode failed: 1 trailing bytes");
    }
}
