//! How a map is written and read back.

use super::*;

#[test]
fn values_of_several_types_round_trip() {
    let profile = Profile {
        id: 9,
        name: "ada".into(),
        roles: vec!["admin".into()],
    };
    let mut map = SessionMap::new();
    map.insert("u32", &7_u32).unwrap();
    map.insert("i64", &-3_i64).unwrap();
    map.insert("bool", &true).unwrap();
    map.insert("unit", &()).unwrap();
    map.insert("string", &"text".to_owned()).unwrap();
    map.insert("option", &Some((1_u8, 'x'))).unwrap();
    map.insert("vec", &vec![1_u16, 2, 3]).unwrap();
    map.insert("profile", &profile).unwrap();

    let back = loaded(&map);
    assert_eq!(back, map);
    assert_eq!(back.get::<u32>("u32").unwrap(), Some(7));
    assert_eq!(back.get::<i64>("i64").unwrap(), Some(-3));
    assert_eq!(back.get::<bool>("bool").unwrap(), Some(true));
    assert_eq!(back.get::<()>("unit").unwrap(), Some(()));
    assert_eq!(
        back.get::<String>("string").unwrap().as_deref(),
        Some("text")
    );
    assert_eq!(
        back.get::<Option<(u8, char)>>("option").unwrap(),
        Some(Some((1, 'x')))
    );
    assert_eq!(back.get::<Vec<u16>>("vec").unwrap(), Some(vec![1, 2, 3]));
    assert_eq!(back.get::<Profile>("profile").unwrap(), Some(profile));
}

#[test]
fn empty_map_encodes_to_its_format_and_no_entries() {
    assert_eq!(
        codec::encode(Codec::Bincode, &SessionMap::new()).unwrap(),
        [FORMAT, 0]
    );
    codec::check_round_trip::<SessionMap>(Codec::Bincode).expect("round trip");
}

#[test]
fn values_are_cbor_without_type_names() {
    let mut map = SessionMap::new();
    map.insert(
        "p",
        &Profile {
            id: 1,
            name: "a".into(),
            roles: vec![],
        },
    )
    .unwrap();
    // A map of three fields: "id": 1, "name": "a", "roles": [].
    let expected = hex::decode("a362696401646e616d6561616572 6f6c657380".replace(' ', "")).unwrap();
    assert_eq!(map.entries["p"].value, expected);
}

#[test]
fn encoding_does_not_depend_on_insertion_order() {
    let mut forward = SessionMap::new();
    forward.insert("a", &1_u8).unwrap();
    forward.insert("b", "two").unwrap();
    let mut backward = SessionMap::new();
    backward.insert("b", "two").unwrap();
    backward.insert("a", &1_u8).unwrap();
    assert_eq!(
        codec::encode(Codec::Bincode, &forward).unwrap(),
        codec::encode(Codec::Bincode, &backward).unwrap()
    );
}

#[test]
fn decoded_map_has_no_changes() {
    let mut map = SessionMap::new();
    map.insert("a", &1_u8).unwrap();
    map.insert("b", &2_u8).unwrap();
    map.remove("b");
    map.clear();
    map.insert("c", &3_u8).unwrap();
    assert!(map.has_changes());

    let back = loaded(&map);
    assert!(!back.has_changes());
    assert!(!back.was_cleared());
    assert_eq!(changed(&back), Vec::<&str>::new());
    assert_eq!(removed(&back), Vec::<&str>::new());
    assert!(back.originals.is_empty());
    assert_eq!(back.keys().collect::<Vec<_>>(), ["c"]);
}

#[test]
fn value_read_as_another_shape_is_a_mismatch() {
    #[derive(Deserialize, Debug)]
    struct NeedsRoles {
        #[allow(dead_code)]
        roles: Vec<String>,
    }

    let mut map = SessionMap::new();
    map.insert("n", &5_u32).unwrap();
    map.insert("name", "ada").unwrap();
    map.insert("list", &[1_u8, 2]).unwrap();
    map.insert("point", &(1_u8, 2_u8)).unwrap();
    map.insert("negative", &-1_i32).unwrap();
    map.insert("big", &300_u64).unwrap();
    map.insert(
        "profile",
        &Profile {
            id: 1,
            name: "ada".into(),
            roles: vec![],
        },
    )
    .unwrap();
    #[derive(Serialize)]
    struct OnlyId {
        id: u64,
    }
    map.insert("only_id", &OnlyId { id: 3 }).unwrap();
    let map = loaded(&map);

    let err = map.get::<u64>("name").unwrap_err();
    assert_eq!(
        err,
        SessionMapError::TypeMismatch {
            key: "name".into(),
            expected: "u64",
            reason: "invalid type: string, expected integer".into(),
        }
    );
    assert_eq!(
        err.to_string(),
        "session value `name` is not a `u64`: invalid type: string, expected integer"
    );
    let mismatch = |key: &str, result: Result<(), SessionMapError>| match result {
        Err(SessionMapError::TypeMismatch { key: k, .. }) => assert_eq!(k, key),
        other => panic!("{key}: expected a mismatch, got {other:?}"),
    };
    mismatch("n", map.get::<String>("n").map(drop));
    mismatch("profile", map.get::<Vec<u8>>("profile").map(drop));
    mismatch("only_id", map.get::<NeedsRoles>("only_id").map(drop));
    mismatch("only_id", map.get::<Profile>("only_id").map(drop));
    mismatch("negative", map.get::<u64>("negative").map(drop));
    mismatch("big", map.get::<u8>("big").map(drop));
    mismatch("list", map.get::<String>("list").map(drop));
    mismatch("point", map.get::<(u8, u8, u8)>("point").map(drop));
}

#[test]
fn numbers_read_as_any_integer_type_that_holds_them() {
    let mut map = SessionMap::new();
    map.insert("n", &5_u32).unwrap();
    map.insert("negative", &-3_i8).unwrap();
    map.insert("big", &300_u64).unwrap();
    let map = loaded(&map);
    assert_eq!(map.get::<u8>("n").unwrap(), Some(5));
    assert_eq!(map.get::<i64>("n").unwrap(), Some(5));
    assert_eq!(map.get::<u128>("n").unwrap(), Some(5));
    assert_eq!(map.get::<i64>("negative").unwrap(), Some(-3));
    assert_eq!(map.get::<i16>("big").unwrap(), Some(300));
    assert_eq!(map.get::<u16>("big").unwrap(), Some(300));
}

#[test]
fn a_struct_reads_back_as_a_renamed_copy_with_a_defaulted_field() {
    mod before {
        #[derive(serde::Serialize)]
        pub(super) struct CartLine {
            pub(super) sku: String,
            pub(super) quantity: u32,
        }
    }
    mod after {
        #[derive(serde::Deserialize, Debug, PartialEq)]
        pub(super) struct LineItem {
            pub(super) quantity: u64,
            pub(super) sku: String,
            #[serde(default)]
            pub(super) gift: bool,
        }
    }
    let mut map = SessionMap::new();
    let line = before::CartLine {
        sku: "tea".into(),
        quantity: 2,
    };
    map.insert("line", &line).unwrap();
    assert_eq!(
        loaded(&map).get::<after::LineItem>("line").unwrap(),
        Some(after::LineItem {
            quantity: 2,
            sku: "tea".into(),
            gift: false,
        })
    );
}

#[test]
fn bytes_that_are_not_a_value_are_a_decode_error() {
    let decode_error = |value: Vec<u8>| {
        let mut map = SessionMap::new();
        map.entries.insert("n".into(), Entry { value });
        match loaded(&map).get::<u8>("n") {
            Err(SessionMapError::Decode {
                key,
                expected,
                reason,
            }) => {
                assert_eq!((key.as_str(), expected), ("n", "u8"));
                reason
            }
            other => panic!("expected a decode error, got {other:?}"),
        }
    };
    // A reserved initial byte, a two-byte integer cut short, a value
    // with bytes after it, and a value nested 200 levels deep.
    assert_eq!(decode_error(vec![0x1c]), "invalid CBOR at byte 0");
    assert!(decode_error(vec![0x19, 0x01]).starts_with("truncated CBOR"));
    assert_eq!(decode_error(vec![0x01, 0x02]), "1 bytes after the value");
    // Only a type that nests reads that deep: a list of lists here.
    let mut deep = vec![0x81; 200];
    deep.push(0x01);
    let mut map = SessionMap::new();
    map.entries.insert("deep".into(), Entry { value: deep });
    assert!(matches!(
        loaded(&map).get::<ciborium::Value>("deep"),
        Err(SessionMapError::Decode { reason, .. }) if reason == "nested deeper than 128 levels"
    ));
    let err = {
        let mut map = SessionMap::new();
        map.entries.insert("n".into(), Entry { value: vec![0x1c] });
        map.get::<u8>("n").unwrap_err()
    };
    assert_eq!(
        err.to_string(),
        "session value `n` is not a valid `u8`: invalid CBOR at byte 0"
    );
}

#[test]
fn maps_of_the_first_format_are_refused() {
    // The first format, rebuilt from its definition: the number of
    // entries, then each key and an entry of an eight-byte FNV-1a tag
    // of the type's name and the value's bincode bytes.
    #[derive(Serialize)]
    struct TaggedEntry {
        tag: [u8; 8],
        value: Vec<u8>,
    }
    let u32_tag = hex::decode("d126853e19df2b4d").unwrap();
    let old = vec![(
        "n",
        TaggedEntry {
            tag: u32_tag.try_into().unwrap(),
            value: codec::encode(Codec::Bincode, &5_u32).unwrap(),
        },
    )];
    let bytes = codec::encode(Codec::Bincode, &old).unwrap();
    assert_eq!(hex::encode(&bytes), "01016ed126853e19df2b4d0105");
    let err = codec::decode::<SessionMap>(Codec::Bincode, &bytes).unwrap_err();
    assert!(
        err.to_string()
            .contains("not a session map of this version"),
        "{err}"
    );
    // The empty map of the first format, too.
    assert!(codec::decode::<SessionMap>(Codec::Bincode, &[0]).is_err());
}

#[test]
fn value_that_cannot_be_encoded_leaves_the_map_unchanged() {
    struct Refuses;
    impl Serialize for Refuses {
        fn serialize<S: Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            Err(serde::ser::Error::custom("refused"))
        }
    }

    let mut map = map_of(&[("k", 1)]);
    let err = map.insert("k", &Refuses).unwrap_err();
    assert!(matches!(&err, SessionMapError::Encode { key, .. } if key == "k"));
    assert!(err
        .to_string()
        .starts_with("session value `k` cannot be stored: "));
    assert!(err.to_string().contains("refused"));
    assert_eq!(map.get::<u32>("k").unwrap(), Some(1));
    assert!(!map.has_changes());
    assert!(map.originals.is_empty());
}

#[test]
fn unsized_and_borrowed_values_read_back_as_owned() {
    let mut map = SessionMap::new();
    map.insert("str", "text").unwrap();
    map.insert("slice", &[1_u32, 2][..]).unwrap();
    map.insert("nested", &[[1_u8, 2], [3, 4]][..]).unwrap();
    map.insert("ref", &&&7_u32).unwrap();
    map.insert("mut", &&mut 8_u32).unwrap();
    map.insert("array", &[1_u32, 2]).unwrap();
    let map = loaded(&map);

    assert_eq!(map.get::<String>("str").unwrap().as_deref(), Some("text"));
    assert_eq!(map.get::<Vec<u32>>("slice").unwrap(), Some(vec![1, 2]));
    assert_eq!(
        map.get::<Vec<[u8; 2]>>("nested").unwrap(),
        Some(vec![[1, 2], [3, 4]])
    );
    assert_eq!(map.get::<u32>("ref").unwrap(), Some(7));
    assert_eq!(map.get::<u32>("mut").unwrap(), Some(8));
    // An array is a list of two, as is a `Vec` of two.
    assert_eq!(map.get::<[u32; 2]>("array").unwrap(), Some([1, 2]));
    assert_eq!(map.get::<Vec<u32>>("array").unwrap(), Some(vec![1, 2]));
}

#[test]
fn out_of_order_or_repeated_keys_are_refused() {
    let entry = Entry { value: vec![1] };
    // bincode writes a tuple as its elements and a map exactly as a
    // sequence of pairs.
    let unordered = (FORMAT, vec![("b", entry.clone()), ("a", entry.clone())]);
    let repeated = (FORMAT, vec![("a", entry.clone()), ("a", entry.clone())]);
    let ordered = (FORMAT, vec![("a", entry.clone()), ("b", entry)]);
    assert!(codec::decode::<SessionMap>(
        Codec::Bincode,
        &codec::encode(Codec::Bincode, &unordered).unwrap()
    )
    .is_err());
    assert!(codec::decode::<SessionMap>(
        Codec::Bincode,
        &codec::encode(Codec::Bincode, &repeated).unwrap()
    )
    .is_err());
    let map = codec::decode::<SessionMap>(
        Codec::Bincode,
        &codec::encode(Codec::Bincode, &ordered).unwrap(),
    )
    .unwrap();
    assert_eq!(map.get::<u8>("b").unwrap(), Some(1));
}

#[test]
fn debug_shows_keys_but_not_values() {
    let mut map = SessionMap::new();
    map.insert("token", "hunter2").unwrap();
    let debug = format!("{map:?}");
    assert!(debug.contains("\"token\""), "{debug}");
    assert!(!debug.contains("hunter2"), "{debug}");
}
