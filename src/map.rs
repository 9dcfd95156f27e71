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
mod value_bytes {
    use std::fmt;

    use serde::de::{SeqAccess, Visitor};
    use serde::{Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(bytes)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<u8>, D::Error> {
        deserializer.deserialize_byte_buf(BytesVisitor)
    }

    struct BytesVisitor;

    impl<'de> Visitor<'de> for BytesVisitor {
        type Value = Vec<u8>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a byte string")
        }

        fn visit_bytes<E>(self, bytes: &[u8]) -> Result<Vec<u8>, E> {
            Ok(bytes.to_vec())
        }

        fn visit_byte_buf<E>(self, bytes: Vec<u8>) -> Result<Vec<u8>, E> {
            Ok(bytes)
        }

        // Formats without a byte string type write a sequence of numbers.
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
            let mut bytes = Vec::new();
            while let Some(byte) = seq.next_element()? {
                bytes.push(byte);
            }
            Ok(bytes)
        }
    }
}

/// The values' encoding: CBOR, through the crate's one CBOR module.
mod value {
    use serde::de::DeserializeOwned;
    use serde::Serialize;

    use super::SessionMapError;
    use crate::codec::cbor::{self, CborError};
    use crate::codec::DEFAULT_MAX_DEPTH;

    /// The map's error for the value under `key`, read as `expected`.
    pub(super) fn error_for_key(
        error: CborError,
        key: &str,
        expected: &'static str,
    ) -> SessionMapError {
        let key = key.to_owned();
        match error {
            CborError::Shape(reason) => SessionMapError::TypeMismatch {
                key,
                expected,
                reason,
            },
            CborError::Bytes(reason) => SessionMapError::Decode {
                key,
                expected,
                reason,
            },
        }
    }

    pub(super) fn encode<V: Serialize + ?Sized>(value: &V) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        cbor::encode_into(value, &mut out)?;
        Ok(out)
    }

    /// Decodes one value that takes every byte of `bytes`.
    pub(super) fn decode<V: DeserializeOwned>(bytes: &[u8]) -> Result<V, CborError> {
        cbor::decode(bytes, DEFAULT_MAX_DEPTH)
    }
}

/// Why a [`SessionMap`] value could not be read or stored.
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::{SessionMap, SessionMapError};
///
/// # fn main() -> Result<(), SessionMapError> {
/// let mut session = SessionMap::new();
/// session.insert("cart", &7_u32)?;
///
/// match session.get::<Vec<u32>>("cart") {
///     Err(SessionMapError::TypeMismatch { key, reason, .. }) => {
///         assert_eq!(key, "cart");
///         assert_eq!(reason, "invalid type: integer `7`, expected array");
///     }
///     other => panic!("expected a type mismatch, got {other:?}"),
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionMapError {
    /// The value under `key` does not have the shape of the type asked
    /// for: a string read as a number, a number too large for the integer
    /// type, a struct read as a list, a struct missing a field that has no
    /// default.
    #[non_exhaustive]
    TypeMismatch {
        /// The key asked for.
        key: String,
        /// The name of the type asked for, as [`std::any::type_name`] gives
        /// it: for messages only.
        expected: &'static str,
        /// What did not fit, as serde reports it.
        reason: String,
    },
    /// The bytes under `key` are not a value at all: not valid CBOR, or
    /// nested deeper than 128 levels. Only a bug or a corrupted record can
    /// store such bytes; sessions are authenticated.
    #[non_exhaustive]
    Decode {
        /// The key asked for.
        key: String,
        /// The name of the type asked for.
        expected: &'static str,
        /// What the decoder reported.
        reason: String,
    },
    /// A value could not be encoded for storage under `key`.
    #[non_exhaustive]
    Encode {
        /// The key the value was to be stored under.
        key: String,
        /// What the encoder reported.
        reason: String,
    },
}

impl fmt::Display for SessionMapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TypeMismatch {
                key,
                expected,
                reason,
            } => write!(f, "session value `{key}` is not a `{expected}`: {reason}"),
            Self::Decode {
                key,
                expected,
                reason,
            } => write!(
                f,
                "session value `{key}` is not a valid `{expected}`: {reason}"
            ),
            Self::Encode { key, reason } => {
                write!(f, "session value `{key}` cannot be stored: {reason}")
            }
        }
    }
}

impl std::error::Error for SessionMapError {}

/// A [`SessionMap`] whose changes cannot be replayed onto the session as
/// another request saved it. Returned by [`SessionMap::merge_onto`].
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::SessionMap;
///
/// let mut mine = SessionMap::new();
/// mine.clear();
/// let conflict = mine.merge_onto(&SessionMap::new()).unwrap_err();
/// assert_eq!(conflict.key(), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeConflict {
    key: Option<String>,
}

impl MergeConflict {
    /// The key both requests wrote, or `None` when this request cleared the
    /// whole session.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::SessionMap;
    ///
    /// # fn main() -> Result<(), tower_cookie_sessions::SessionMapError> {
    /// let mut mine = SessionMap::new();
    /// mine.insert("cart", &vec![1_u32])?;
    /// let mut theirs = SessionMap::new();
    /// theirs.insert("cart", &vec![2_u32])?;
    ///
    /// let conflict = mine.merge_onto(&theirs).unwrap_err();
    /// assert_eq!(conflict.key(), Some("cart"));
    /// assert_eq!(conflict.to_string(), "session value `cart` was also changed by another request");
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }
}

impl fmt::Display for MergeConflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.key {
            Some(key) => write!(
                f,
                "session value `{key}` was also changed by another request"
            ),
            None => f.write_str("the session was cleared while another request changed it"),
        }
    }
}

impl std::error::Error for MergeConflict {}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use crate::codec::{self, Codec};
    use serde::{Deserialize, Serialize, Serializer};

    use super::*;

    #[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
    struct Profile {
        id: u64,
        name: String,
        roles: Vec<String>,
    }

    /// The map as a later request loads it from the cookie or the store.
    fn loaded(map: &SessionMap) -> SessionMap {
        codec::decode(
            Codec::Bincode,
            &codec::encode(Codec::Bincode, map).expect("encode"),
        )
        .expect("decode")
    }

    fn map_of(pairs: &[(&str, u32)]) -> SessionMap {
        let mut map = SessionMap::new();
        for (key, value) in pairs {
            map.insert(*key, value).expect("insert");
        }
        loaded(&map)
    }

    fn changed(map: &SessionMap) -> Vec<&str> {
        map.changed_keys().collect()
    }

    fn removed(map: &SessionMap) -> Vec<&str> {
        map.removed_keys().collect()
    }

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
        let expected =
            hex::decode("a362696401646e616d6561616572 6f6c657380".replace(' ', "")).unwrap();
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
}
