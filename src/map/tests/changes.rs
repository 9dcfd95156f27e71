//! The changes a map records.

use super::*;

#[test]
fn insert_records_the_key_as_changed() {
    let mut map = map_of(&[("a", 1)]);
    map.insert("b", &2_u32).unwrap();
    map.insert("a", &3_u32).unwrap();
    assert_eq!(changed(&map), ["a", "b"]);
    assert_eq!(removed(&map), Vec::<&str>::new());
    assert!(map.has_changes());
    assert!(!map.was_cleared());
}

#[test]
fn remove_of_a_loaded_key_records_it_as_removed() {
    let mut map = map_of(&[("a", 1), ("b", 2)]);
    assert!(map.remove("a"));
    assert!(!map.remove("a"));
    assert_eq!(removed(&map), ["a"]);
    assert_eq!(changed(&map), Vec::<&str>::new());
    assert_eq!(map.len(), 1);
    assert!(map.has_changes());
}

#[test]
fn remove_of_a_missing_key_records_nothing() {
    let mut map = map_of(&[("a", 1)]);
    assert!(!map.remove("zzz"));
    assert!(!map.has_changes());
}

#[test]
fn insert_after_remove_moves_the_key_to_changed() {
    let mut map = map_of(&[("a", 1)]);
    map.remove("a");
    map.insert("a", &1_u32).unwrap();
    assert_eq!(changed(&map), ["a"]);
    assert_eq!(removed(&map), Vec::<&str>::new());
    // The original is still the loaded value, not the removal.
    assert_eq!(
        map.originals["a"],
        map_of(&[("a", 1)]).entries.get("a").cloned()
    );
}

#[test]
fn remove_after_insert_of_a_loaded_key_moves_it_to_removed() {
    let mut map = map_of(&[("a", 1)]);
    map.insert("a", &2_u32).unwrap();
    map.remove("a");
    assert_eq!(changed(&map), Vec::<&str>::new());
    assert_eq!(removed(&map), ["a"]);
}

#[test]
fn inserting_and_removing_a_new_key_leaves_no_change() {
    let mut map = map_of(&[("a", 1)]);
    map.insert("new", &2_u32).unwrap();
    assert!(map.remove("new"));
    assert!(!map.has_changes());
    assert!(map.originals.is_empty());
}

#[test]
fn clear_records_loaded_keys_as_removed_and_the_map_as_cleared() {
    let mut map = map_of(&[("a", 1), ("b", 2)]);
    map.insert("new", &3_u32).unwrap();
    map.clear();
    assert!(map.is_empty());
    assert!(map.was_cleared());
    assert_eq!(removed(&map), ["a", "b"]);
    assert_eq!(changed(&map), Vec::<&str>::new());

    map.insert("b", &4_u32).unwrap();
    assert_eq!(removed(&map), ["a"]);
    assert_eq!(changed(&map), ["b"]);
    assert!(map.was_cleared());
}

#[test]
fn clear_of_an_empty_map_is_still_a_change() {
    let mut map = SessionMap::new();
    map.clear();
    assert!(map.has_changes());
}

#[test]
fn equality_ignores_recorded_changes() {
    let base = map_of(&[("a", 1)]);
    let mut rewritten = base.clone();
    rewritten.insert("a", &1_u32).unwrap();
    assert_eq!(base, rewritten);
    // The same number is the same value, whatever its Rust type.
    rewritten.insert("a", &1_u64).unwrap();
    assert_eq!(base, rewritten);
    rewritten.insert("a", &2_u32).unwrap();
    assert_ne!(base, rewritten);
}
