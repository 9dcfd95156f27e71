//! Merging recorded changes onto a newer copy of the map.

use super::*;

#[test]
fn changes_to_different_keys_merge() {
    let base = map_of(&[("a", 1), ("b", 2), ("c", 3)]);
    let mut mine = base.clone();
    mine.insert("a", &10_u32).unwrap();
    mine.insert("new", &11_u32).unwrap();
    mine.remove("c");
    let mut theirs = base.clone();
    theirs.insert("b", &20_u32).unwrap();
    theirs.insert("other", &21_u32).unwrap();
    let latest = loaded(&theirs);

    let merged = mine.merge_onto(&latest).expect("merge");
    assert_eq!(merged.get::<u32>("a").unwrap(), Some(10));
    assert_eq!(merged.get::<u32>("b").unwrap(), Some(20));
    assert_eq!(merged.get::<u32>("c").unwrap(), None);
    assert_eq!(merged.get::<u32>("new").unwrap(), Some(11));
    assert_eq!(merged.get::<u32>("other").unwrap(), Some(21));
    assert_eq!(changed(&merged), ["a", "new"]);
    assert_eq!(removed(&merged), ["c"]);
}

#[test]
fn merge_onto_an_unchanged_store_gives_this_map() {
    let base = map_of(&[("a", 1), ("b", 2)]);
    let mut mine = base.clone();
    mine.insert("a", &10_u32).unwrap();
    mine.remove("b");
    let merged = mine.merge_onto(&base).expect("merge");
    assert_eq!(merged, mine);
    assert_eq!(changed(&merged), changed(&mine));
    assert_eq!(removed(&merged), removed(&mine));
}

#[test]
fn same_key_changed_by_both_is_a_conflict() {
    let base = map_of(&[("a", 1)]);
    let mut mine = base.clone();
    mine.insert("a", &2_u32).unwrap();
    let mut theirs = base.clone();
    theirs.insert("a", &3_u32).unwrap();

    let conflict = mine.merge_onto(&loaded(&theirs)).unwrap_err();
    assert_eq!(conflict.key(), Some("a"));
    assert_eq!(
        conflict.to_string(),
        "session value `a` was also changed by another request"
    );
}

#[test]
fn same_value_written_by_both_is_still_a_conflict() {
    // Two increments from 1 both write 2: merging would lose one.
    let base = map_of(&[("visits", 1)]);
    let mut mine = base.clone();
    mine.insert("visits", &2_u32).unwrap();
    let mut theirs = base.clone();
    theirs.insert("visits", &2_u32).unwrap();
    assert!(mine.merge_onto(&loaded(&theirs)).is_err());
}

#[test]
fn same_new_key_added_by_both_is_a_conflict() {
    let base = map_of(&[]);
    let mut mine = base.clone();
    mine.insert("a", &1_u32).unwrap();
    let mut theirs = base.clone();
    theirs.insert("a", &2_u32).unwrap();
    assert_eq!(
        mine.merge_onto(&loaded(&theirs)).unwrap_err().key(),
        Some("a")
    );
}

#[test]
fn key_removed_here_and_unchanged_there_is_removed() {
    let base = map_of(&[("a", 1), ("b", 2)]);
    let mut mine = base.clone();
    mine.remove("a");
    let mut theirs = base.clone();
    theirs.insert("b", &20_u32).unwrap();

    let merged = mine.merge_onto(&loaded(&theirs)).expect("merge");
    assert!(!merged.contains_key("a"));
    assert_eq!(merged.get::<u32>("b").unwrap(), Some(20));
    assert_eq!(removed(&merged), ["a"]);
}

#[test]
fn key_changed_here_and_removed_there_is_a_conflict() {
    let base = map_of(&[("a", 1)]);
    let mut mine = base.clone();
    mine.insert("a", &2_u32).unwrap();
    let mut theirs = base.clone();
    theirs.remove("a");
    assert_eq!(
        mine.merge_onto(&loaded(&theirs)).unwrap_err().key(),
        Some("a")
    );
}

#[test]
fn key_removed_here_and_changed_there_is_a_conflict() {
    let base = map_of(&[("a", 1)]);
    let mut mine = base.clone();
    mine.remove("a");
    let mut theirs = base.clone();
    theirs.insert("a", &2_u32).unwrap();
    assert!(mine.merge_onto(&loaded(&theirs)).is_err());
}

#[test]
fn key_removed_by_both_is_a_conflict() {
    // Both requests consumed the same one-time value.
    let base = map_of(&[("flash", 1)]);
    let mut mine = base.clone();
    mine.remove("flash");
    let mut theirs = base.clone();
    theirs.remove("flash");
    assert!(mine.merge_onto(&loaded(&theirs)).is_err());
}

#[test]
fn key_retyped_there_is_a_conflict() {
    let base = map_of(&[("a", 1)]);
    let mut mine = base.clone();
    mine.insert("a", &2_u32).unwrap();
    let mut theirs = base.clone();
    theirs.insert("a", "1").unwrap();
    assert!(mine.merge_onto(&loaded(&theirs)).is_err());
}

#[test]
fn key_rewritten_there_with_an_equal_value_merges() {
    let base = map_of(&[("a", 1)]);
    let mut mine = base.clone();
    mine.insert("a", &2_u32).unwrap();
    let mut theirs = base.clone();
    theirs.insert("a", &1_u64).unwrap();
    let merged = mine.merge_onto(&loaded(&theirs)).expect("no change there");
    assert_eq!(merged.get::<u32>("a").unwrap(), Some(2));
}

#[test]
fn clear_is_a_conflict() {
    let base = map_of(&[("a", 1)]);
    let mut mine = base.clone();
    mine.clear();
    let conflict = mine.merge_onto(&base).unwrap_err();
    assert_eq!(conflict.key(), None);
    assert_eq!(
        conflict.to_string(),
        "the session was cleared while another request changed it"
    );
}

#[test]
fn merged_map_merges_again_onto_a_newer_store() {
    let base = map_of(&[("a", 1), ("b", 2), ("c", 3)]);
    let mut mine = base.clone();
    mine.insert("a", &10_u32).unwrap();
    mine.remove("c");

    let mut theirs = base.clone();
    theirs.insert("b", &20_u32).unwrap();
    let first_latest = loaded(&theirs);
    let attempt = mine.merge_onto(&first_latest).expect("first merge");

    // Before `attempt` is saved, a third request changes another key...
    let mut third = first_latest.clone();
    third.insert("d", &40_u32).unwrap();
    let second_latest = loaded(&third);
    let merged = attempt.merge_onto(&second_latest).expect("second merge");
    assert_eq!(merged.get::<u32>("a").unwrap(), Some(10));
    assert_eq!(merged.get::<u32>("b").unwrap(), Some(20));
    assert_eq!(merged.get::<u32>("c").unwrap(), None);
    assert_eq!(merged.get::<u32>("d").unwrap(), Some(40));

    // ...or one of ours, which still conflicts.
    let mut fourth = first_latest.clone();
    fourth.insert("a", &50_u32).unwrap();
    assert_eq!(
        attempt.merge_onto(&loaded(&fourth)).unwrap_err().key(),
        Some("a")
    );
}

#[test]
fn recorded_changes_of_latest_are_ignored() {
    let base = map_of(&[("a", 1)]);
    let mut mine = base.clone();
    mine.insert("b", &2_u32).unwrap();
    let mut latest = base.clone();
    latest.insert("c", &3_u32).unwrap();
    latest.clear();

    let merged = mine.merge_onto(&latest).expect("merge");
    assert!(!merged.was_cleared());
    assert_eq!(changed(&merged), ["b"]);
    assert_eq!(merged.keys().collect::<Vec<_>>(), ["b"]);
}

#[derive(Debug, Clone)]
enum Op {
    Insert(usize, u8),
    Remove(usize),
}

fn apply(map: &mut SessionMap, keys: &[&str], ops: &[Op]) {
    for op in ops {
        match *op {
            Op::Insert(k, v) => map.insert(keys[k % keys.len()], &v).unwrap(),
            Op::Remove(k) => {
                map.remove(keys[k % keys.len()]);
            }
        }
    }
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    proptest::collection::vec(
        prop_oneof![
            (0..8_usize, any::<u8>()).prop_map(|(k, v)| Op::Insert(k, v)),
            (0..8_usize).prop_map(Op::Remove),
        ],
        0..12,
    )
}

/// Whatever decodes reads without panicking and survives a round trip.
fn check_decoded(map: &SessionMap) -> Result<(), TestCaseError> {
    prop_assert!(!map.has_changes());
    prop_assert_eq!(&loaded(map), map);
    for key in map.keys() {
        let _ = map.get::<u32>(key);
        let _ = map.get::<String>(key);
    }
    Ok(())
}

const MINE: [&str; 4] = ["a", "b", "c", "d"];
const THEIRS: [&str; 4] = ["e", "f", "g", "h"];
const ALL: [&str; 8] = ["a", "b", "c", "d", "e", "f", "g", "h"];

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        if let Ok(map) = codec::decode::<SessionMap>(Codec::Bincode, &bytes) {
            check_decoded(&map)?;
        }
    }

    // Random bytes rarely get past the first length; corrupting a real
    // encoding reaches the entries.
    #[test]
    fn corrupted_encodings_never_panic(
        values in proptest::collection::btree_map(".{0,4}", any::<u32>(), 1..4),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        truncate in any::<bool>(),
    ) {
        let mut map = SessionMap::new();
        for (key, value) in &values {
            map.insert(key.as_str(), value).unwrap();
        }
        let mut bytes = codec::encode(Codec::Bincode, &map).unwrap();
        let at = at.index(bytes.len());
        if truncate {
            bytes.truncate(at);
        } else {
            bytes[at] = byte;
        }
        if let Ok(map) = codec::decode::<SessionMap>(Codec::Bincode, &bytes) {
            check_decoded(&map)?;
        }
    }

    #[test]
    fn arbitrary_maps_round_trip(
        values in proptest::collection::btree_map(".{0,8}", any::<(u64, String)>(), 0..8),
    ) {
        let mut map = SessionMap::new();
        for (key, value) in &values {
            map.insert(key.as_str(), value).unwrap();
        }
        let back = loaded(&map);
        prop_assert_eq!(&back, &map);
        for (key, value) in &values {
            prop_assert_eq!(back.get::<(u64, String)>(key).unwrap(), Some(value.clone()));
        }
    }

    #[test]
    fn merge_onto_unchanged_store_is_this_map(base_ops in ops(), my_ops in ops()) {
        let mut base = SessionMap::new();
        apply(&mut base, &ALL, &base_ops);
        let base = loaded(&base);
        let mut mine = base.clone();
        apply(&mut mine, &ALL, &my_ops);

        let merged = mine.merge_onto(&base).unwrap();
        prop_assert_eq!(&merged, &mine);
        prop_assert_eq!(changed(&merged), changed(&mine));
        prop_assert_eq!(removed(&merged), removed(&mine));
    }

    #[test]
    fn changes_to_disjoint_keys_always_merge(
        base_ops in ops(),
        my_ops in ops(),
        their_ops in ops(),
    ) {
        let mut base = SessionMap::new();
        apply(&mut base, &ALL, &base_ops);
        let base = loaded(&base);
        let mut mine = base.clone();
        apply(&mut mine, &MINE, &my_ops);
        let mut theirs = base.clone();
        apply(&mut theirs, &THEIRS, &their_ops);

        let merged = mine.merge_onto(&loaded(&theirs)).unwrap();
        for key in MINE {
            prop_assert_eq!(merged.entries.get(key), mine.entries.get(key));
        }
        for key in THEIRS {
            prop_assert_eq!(merged.entries.get(key), theirs.entries.get(key));
        }
        // Recorded changes are never more than what differs from the base.
        for key in merged.changed_keys().chain(merged.removed_keys()) {
            prop_assert!(MINE.contains(&key));
        }
    }
}
