//! A ready-made session type: string keys to typed values.
//!
//! This module is private; [`SessionMap`]'s own documentation is what users
//! read, so the explanation and the complete example live there.
//!
//! The change record (`changed`, `removed`, `cleared`, `originals`) exists
//! for [`SessionMap::merge_onto`]: a store that finds a session saved by
//! another request since this one loaded it re-loads it, merges, and
//! retries the save.

use std::any::type_name;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::de::{self, DeserializeOwned, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::ser::SerializeTuple;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// String keys to typed values: a ready-made `T` for
/// [`Session<T>`](crate::Session).
///
/// It lets an application keep a session the way Flask does, without
/// declaring a struct for it: `Session<SessionMap>` and then
/// [`get`](SessionMap::get), [`insert`](SessionMap::insert) and
/// [`remove`](SessionMap::remove) by key.
///
/// Each value is stored in CBOR (RFC 8949, through `ciborium`), a compact
/// self-describing encoding: numbers, strings, lists and maps say what
/// they are, and a struct is a map from its field names to its values. No
/// type name is stored. So a value reads back as any type of the same
/// shape: after its type is renamed or moved to another module, after a
/// compiler upgrade, as another integer type that holds the number, or as
/// a struct that gained a field with `#[serde(default)]`. A value read as
/// a type of another shape (a string as a number, a struct as a list, a
/// struct missing a field that has no default) is a
/// [`SessionMapError::TypeMismatch`], never a wrong value.
///
/// The map also records what this request changed: the keys it inserted,
/// the keys it removed and whether it was cleared. That record is never part
/// of the encoding (a map just decoded has no changes), and it is what lets
/// [`SessionMap::merge_onto`] replay one request's changes onto a session
/// another request saved in the meantime.
///
/// Through a [`Session<SessionMap>`](crate::Session) the same calls read
/// and write the request's session directly:
///
/// | Flask | tower-sessions | this crate |
/// |---|---|---|
/// | `session["user_id"] = 42` | `session.insert("user_id", 42).await?` | `session.insert("user_id", &42)?` |
/// | `session.get("user_id")` | `session.get::<u64>("user_id").await?` | `session.get::<u64>("user_id")?` |
/// | `session.pop("user_id", None)` | `session.remove::<u64>("user_id").await?` | `session.remove("user_id")` |
/// | `"user_id" in session` | | `session.contains("user_id")` |
/// | `session.keys()` | | `session.keys()` |
/// | `session.clear()` | `session.clear().await` | `session.clear()` |
///
/// Treat a [`SessionMapError`] on read like a missing value (overwrite the
/// key, or remove it), never as a reason to fail the request.
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::{SessionMap, SessionMapError};
///
/// # fn main() -> Result<(), SessionMapError> {
/// let mut session = SessionMap::new();
/// session.insert("user_id", &42_u64)?;
/// session.insert("name", "ada")?;
/// session.insert("cart", &vec![3_u32, 5, 8])?;
///
/// assert_eq!(session.get::<u64>("user_id")?, Some(42));
/// assert_eq!(session.get::<String>("name")?.as_deref(), Some("ada"));
/// assert_eq!(session.get::<Vec<u32>>("cart")?, Some(vec![3, 5, 8]));
/// assert_eq!(session.get::<u64>("missing")?, None);
///
/// // A number reads as any integer type that holds it...
/// assert_eq!(session.get::<u8>("user_id")?, Some(42));
/// // ...and a value read as another shape is an error, not a wrong value.
/// let err = session.get::<u64>("name").unwrap_err();
/// assert!(matches!(err, SessionMapError::TypeMismatch { .. }));
/// assert_eq!(
///     err.to_string(),
///     "session value `name` is not a `u64`: invalid type: string, expected integer",
/// );
///
/// // What this request changed is recorded for the layer and the stores.
/// assert!(session.remove("cart"));
/// assert_eq!(session.changed_keys().collect::<Vec<_>>(), ["name", "user_id"]);
/// assert!(session.has_changes());
/// # Ok(())
/// # }
/// ```
///
/// # Encoding
///
/// A format byte, then the entries in key order, each value as its CBOR
/// bytes, so equal maps always encode to the same bytes. The record of
/// changes is not encoded: a decoded map has no changes. For the same
/// reason, `==` compares the entries only.
///
/// The format byte is `0xFF` for this format (the second). The first, with
/// a type tag beside each value, had no format byte: it began with the
/// number of entries as a bincode varint, which never starts with `0xFF`.
/// A session written in the first format therefore fails to decode, and
/// the layer starts a fresh one, as for any session of an old schema.
///
/// `Debug` shows keys and value sizes, not values: session values often
/// hold tokens, and `Debug` output tends to end up in logs.
#[derive(Clone, Default)]
pub struct SessionMap {
    entries: BTreeMap<String, Entry>,
    changed: BTreeSet<String>,
    removed: BTreeSet<String>,
    cleared: bool,
    /// The entry each key in `changed` or `removed` had when the map was
    /// loaded (`None`: absent). A key not in here still has its loaded
    /// entry, which is what lets a merge tell whether another request
    /// touched the same key.
    originals: BTreeMap<String, Option<Entry>>,
}

/// One stored value: its CBOR encoding.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
struct Entry {
    #[serde(with = "value_bytes")]
    value: Vec<u8>,
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entry")
            .field("len", &self.value.len())
            .finish()
    }
}

/// The first byte of an encoded map: this is the map's second format, see
/// [`SessionMap`]'s "Encoding".
const FORMAT: u8 = 0xFF;

impl SessionMap {
    /// An empty map with no changes recorded.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::SessionMap;
    ///
    /// let session = SessionMap::new();
    /// assert!(session.is_empty());
    /// assert!(!session.has_changes());
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The value stored under `key` read as a `V`, or `None` when there is
    /// none.
    ///
    /// Any type of the stored value's shape reads it: see [`SessionMap`].
    ///
    /// # Errors
    ///
    /// [`SessionMapError::TypeMismatch`] when the stored value does not
    /// have `V`'s shape, and [`SessionMapError::Decode`] when its bytes are
    /// not valid CBOR or nest deeper than 128 levels.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::{SessionMap, SessionMapError};
    ///
    /// # fn main() -> Result<(), SessionMapError> {
    /// let mut session = SessionMap::new();
    /// session.insert("cart", &vec![1_u32, 2])?;
    ///
    /// assert_eq!(session.get::<Vec<u32>>("cart")?, Some(vec![1, 2]));
    /// assert_eq!(session.get::<Vec<u8>>("cart")?, Some(vec![1, 2]));
    /// assert_eq!(session.get::<Vec<u32>>("wishlist")?, None);
    /// assert!(matches!(
    ///     session.get::<String>("cart"),
    ///     Err(SessionMapError::TypeMismatch { .. }),
    /// ));
    /// # Ok(())
    /// # }
    /// ```
    pub fn get<V: DeserializeOwned>(&self, key: &str) -> Result<Option<V>, SessionMapError> {
        let Some(entry) = self.entries.get(key) else {
            return Ok(None);
        };
        value::decode(&entry.value)
            .map(Some)
            .map_err(|error| value::error_for_key(error, key, type_name::<V>()))
    }

    /// Stores `value` under `key`, replacing any value there (of any type),
    /// and records `key` as changed.
    ///
    /// `value` may be unsized: `insert("name", "ada")` stores a value that
    /// reads back with `get::<String>`, and a slice `&[T]` one that reads
    /// back with `get::<Vec<T>>`.
    ///
    /// # Errors
    ///
    /// [`SessionMapError::Encode`] when `value`'s `Serialize`
    /// implementation fails. The map is then left unchanged.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::SessionMap;
    ///
    /// # fn main() -> Result<(), tower_cookie_sessions::SessionMapError> {
    /// let mut session = SessionMap::new();
    /// session.insert("theme", "dark")?;
    /// session.insert("ids", &[4_u16, 2][..])?;
    ///
    /// assert_eq!(session.get::<String>("theme")?.as_deref(), Some("dark"));
    /// assert_eq!(session.get::<Vec<u16>>("ids")?, Some(vec![4, 2]));
    /// # Ok(())
    /// # }
    /// ```
    pub fn insert<V: Serialize + ?Sized>(
        &mut self,
        key: impl Into<String>,
        value: &V,
    ) -> Result<(), SessionMapError> {
        let key = key.into();
        let value = match value::encode(value) {
            Ok(value) => value,
            Err(reason) => return Err(SessionMapError::Encode { key, reason }),
        };
        let entry = Entry { value };
        if !self.originals.contains_key(&key) {
            self.originals
                .insert(key.clone(), self.entries.get(&key).cloned());
        }
        self.removed.remove(&key);
        self.changed.insert(key.clone());
        self.entries.insert(key, entry);
        Ok(())
    }

    /// Removes the value under `key`, if any, and records `key` as removed.
    ///
    /// Returns whether there was a value. Removing a key this request
    /// inserted and that was absent when the map was loaded leaves no change
    /// recorded for it: the store never saw it.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::SessionMap;
    ///
    /// # fn main() -> Result<(), tower_cookie_sessions::SessionMapError> {
    /// let mut session = SessionMap::new();
    /// session.insert("flash", "saved")?;
    ///
    /// assert!(session.remove("flash"));
    /// assert!(!session.remove("flash"));
    /// assert!(!session.contains_key("flash"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn remove(&mut self, key: &str) -> bool {
        match self.entries.remove_entry(key) {
            Some((key, entry)) => {
                self.record_removal(key, entry);
                true
            }
            None => false,
        }
    }

    fn record_removal(&mut self, key: String, entry: Entry) {
        self.changed.remove(&key);
        match self.originals.get(&key) {
            // Absent when loaded and absent again: nothing for the store to
            // learn, and nothing for a merge to conflict over.
            Some(None) => {
                self.originals.remove(&key);
            }
            Some(Some(_)) => {
                self.removed.insert(key);
            }
            // Untouched until now, so `entry` is what was loaded.
            None => {
                self.originals.insert(key.clone(), Some(entry));
                self.removed.insert(key);
            }
        }
    }

    /// Whether a value is stored under `key`, of any type.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::SessionMap;
    ///
    /// # fn main() -> Result<(), tower_cookie_sessions::SessionMapError> {
    /// let mut session = SessionMap::new();
    /// session.insert("user_id", &7_u64)?;
    /// assert!(session.contains_key("user_id"));
    /// assert!(!session.contains_key("admin"));
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn contains_key(&self, key: &str) -> bool {
        self.entries.contains_key(key)
    }

    /// The number of stored values.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::SessionMap;
    ///
    /// # fn main() -> Result<(), tower_cookie_sessions::SessionMapError> {
    /// let mut session = SessionMap::new();
    /// session.insert("a", &1_u8)?;
    /// session.insert("b", &2_u8)?;
    /// assert_eq!(session.len(), 2);
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no values are stored.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::SessionMap;
    ///
    /// assert!(SessionMap::new().is_empty());
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The keys of the stored values, in ascending order.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::SessionMap;
    ///
    /// # fn main() -> Result<(), tower_cookie_sessions::SessionMapError> {
    /// let mut session = SessionMap::new();
    /// session.insert("b", &2_u8)?;
    /// session.insert("a", &1_u8)?;
    /// assert_eq!(session.keys().collect::<Vec<_>>(), ["a", "b"]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }

    /// Removes every value, recording each key as removed and the map as
    /// [cleared](Self::was_cleared).
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::SessionMap;
    ///
    /// # fn main() -> Result<(), tower_cookie_sessions::SessionMapError> {
    /// let mut session = SessionMap::new();
    /// session.insert("user_id", &7_u64)?;
    /// session.clear();
    /// assert!(session.is_empty());
    /// assert!(session.was_cleared());
    /// # Ok(())
    /// # }
    /// ```
    pub fn clear(&mut self) {
        self.cleared = true;
        for (key, entry) in std::mem::take(&mut self.entries) {
            self.record_removal(key, entry);
        }
    }

    /// The keys inserted since the map was loaded (or created) and still
    /// present, in ascending order.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::SessionMap;
    ///
    /// # fn main() -> Result<(), tower_cookie_sessions::SessionMapError> {
    /// let mut session = SessionMap::new();
    /// session.insert("b", &2_u8)?;
    /// session.insert("a", &1_u8)?;
    /// assert_eq!(session.changed_keys().collect::<Vec<_>>(), ["a", "b"]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn changed_keys(&self) -> impl Iterator<Item = &str> {
        self.changed.iter().map(String::as_str)
    }

    /// The keys that had a value when the map was loaded and have none now,
    /// in ascending order.
    ///
    /// Inserting a removed key again moves it back to the
    /// [changed keys](Self::changed_keys). A key inserted by this request
    /// and removed again is in neither list: the loaded session never had
    /// it, so there is nothing to remove from the store.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::SessionMap;
    ///
    /// # fn main() -> Result<(), tower_cookie_sessions::SessionMapError> {
    /// let mut session = SessionMap::new();
    /// session.insert("flash", "saved")?;
    /// session.remove("flash");
    /// assert_eq!(session.removed_keys().count(), 0);
    /// assert!(!session.has_changes());
    /// # Ok(())
    /// # }
    /// ```
    pub fn removed_keys(&self) -> impl Iterator<Item = &str> {
        self.removed.iter().map(String::as_str)
    }

    /// Whether [`clear`](Self::clear) was called since the map was loaded.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::SessionMap;
    ///
    /// let mut session = SessionMap::new();
    /// assert!(!session.was_cleared());
    /// session.clear();
    /// assert!(session.was_cleared());
    /// ```
    #[must_use]
    pub fn was_cleared(&self) -> bool {
        self.cleared
    }

    /// Whether anything was inserted, removed or cleared since the map was
    /// loaded.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::SessionMap;
    ///
    /// # fn main() -> Result<(), tower_cookie_sessions::SessionMapError> {
    /// let mut session = SessionMap::new();
    /// assert!(!session.has_changes());
    /// session.insert("user_id", &7_u64)?;
    /// assert!(session.has_changes());
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn has_changes(&self) -> bool {
        self.cleared || !self.changed.is_empty() || !self.removed.is_empty()
    }

    /// Replays this map's changes onto `latest`, the same session as it is
    /// now in the store, saved by another request since this one loaded it.
    ///
    /// The result is `latest` with this map's changed keys set to this
    /// map's values and its removed keys removed. It still records those
    /// changes, with `latest` as the state they were made against, so if the
    /// store moved on again before the result could be saved, the result
    /// can be merged onto the next version the same way. `latest` is taken
    /// as freshly loaded: changes it records itself are ignored.
    ///
    /// Only written keys are checked. A request that read `a` and wrote `b`
    /// merges with one that changed `a`, since the map cannot know that `b`
    /// was computed from `a`.
    ///
    /// # Errors
    ///
    /// [`MergeConflict`] when this map was [cleared](Self::clear) (a clear
    /// would also wipe keys it never saw), or when a key this map changed or
    /// removed no longer holds, in `latest`, the value it held when this map
    /// was loaded: both requests wrote it, and either order would lose one
    /// of the writes. That includes both requests removing the same key, as
    /// when two requests both consume the same one-time value.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::SessionMap;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// // Two requests load the same (new, empty) session.
    /// let loaded = SessionMap::new();
    ///
    /// // They change different keys.
    /// let mut first = loaded.clone();
    /// first.insert("theme", "dark")?;
    /// let mut second = loaded.clone();
    /// second.insert("visits", &1_u32)?;
    ///
    /// // `second` is saved first; `first` finds the store has moved on.
    /// let merged = first.merge_onto(&second)?;
    /// assert_eq!(merged.get::<String>("theme")?.as_deref(), Some("dark"));
    /// assert_eq!(merged.get::<u32>("visits")?, Some(1));
    ///
    /// // Both changing the same key is a conflict.
    /// let mut third = loaded.clone();
    /// third.insert("visits", &7_u32)?;
    /// assert!(third.merge_onto(&second).is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub fn merge_onto(&self, latest: &SessionMap) -> Result<SessionMap, MergeConflict> {
        if self.cleared {
            return Err(MergeConflict { key: None });
        }
        for (key, original) in &self.originals {
            if latest.entries.get(key) != original.as_ref() {
                return Err(MergeConflict {
                    key: Some(key.clone()),
                });
            }
        }

        let mut entries = latest.entries.clone();
        for key in &self.changed {
            if let Some(entry) = self.entries.get(key) {
                entries.insert(key.clone(), entry.clone());
            }
        }
        for key in &self.removed {
            entries.remove(key);
        }
        // The check above made `latest` agree with our originals on every
        // touched key, so they carry over as the base of the next attempt.
        Ok(SessionMap {
            entries,
            changed: self.changed.clone(),
            removed: self.removed.clone(),
            cleared: false,
            originals: self.originals.clone(),
        })
    }
}

impl PartialEq for SessionMap {
    fn eq(&self, other: &Self) -> bool {
        self.entries == other.entries
    }
}

impl Eq for SessionMap {}

impl fmt::Debug for SessionMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionMap")
            .field("entries", &self.entries)
            .field("changed", &self.changed)
            .field("removed", &self.removed)
            .field("cleared", &self.cleared)
            .finish()
    }
}

impl Serialize for SessionMap {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // bincode writes a tuple as its elements, one after the other.
        let mut tuple = serializer.serialize_tuple(2)?;
        tuple.serialize_element(&FORMAT)?;
        // A `BTreeMap` serializes as a map in key order.
        tuple.serialize_element(&self.entries)?;
        tuple.end()
    }
}

impl<'de> Deserialize<'de> for SessionMap {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_tuple(2, MapVisitor)
    }
}

/// The format byte, then the entries.
struct MapVisitor;

impl<'de> Visitor<'de> for MapVisitor {
    type Value = SessionMap;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a session map")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<SessionMap, A::Error> {
        let format: u8 = seq
            .next_element()?
            .ok_or_else(|| de::Error::invalid_length(0, &self))?;
        if format != FORMAT {
            return Err(de::Error::custom(
                "not a session map of this version (an older map format, or another type)",
            ));
        }
        let entries = seq
            .next_element_seed(EntriesVisitor)?
            .ok_or_else(|| de::Error::invalid_length(1, &self))?;
        Ok(SessionMap {
            entries,
            ..SessionMap::default()
        })
    }
}

/// The entries, whose keys must ascend.
struct EntriesVisitor;

impl<'de> DeserializeSeed<'de> for EntriesVisitor {
    type Value = BTreeMap<String, Entry>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for EntriesVisitor {
    type Value = BTreeMap<String, Entry>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("session map entries")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
        let mut entries = BTreeMap::new();
        while let Some((key, entry)) = access.next_entry::<String, Entry>()? {
            // Only ascending keys, as `serialize` writes them: a duplicate
            // key cannot silently shadow an earlier one, and a map that
            // decodes encodes back in the same order.
            if entries
                .last_key_value()
                .is_some_and(|(last, _): (&String, _)| *last >= key)
            {
                return Err(de::Error::custom(format_args!(
                    "session map key `{key}` is out of order or repeated"
                )));
            }
            entries.insert(key, entry);
        }
        Ok(entries)
    }
}

/// Writes a value's bytes with `serialize_bytes`, so bincode copies them as
/// one run instead of visiting each byte.
mod value_bytes;

/// The values' encoding: CBOR, through the crate's one CBOR module.
mod value;

mod error;

pub use self::error::{MergeConflict, SessionMapError};

#[cfg(test)]
mod tests;
