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
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::de::{self, DeserializeOwned, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::codec;

/// String keys to typed values: a ready-made `T` for
/// [`Session<T>`](crate::Session).
///
/// It lets an application keep a session the way Flask does, without
/// declaring a struct for it: `Session<SessionMap>` and then
/// [`get`](SessionMap::get), [`insert`](SessionMap::insert) and
/// [`remove`](SessionMap::remove) by key.
///
/// Each value is stored as its own bincode encoding together with a tag
/// naming its type. The session's encoding carries no field names or type
/// information, so without the tag a `u64` read back as an `i64` would
/// quietly yield a wrong value (`5` reads as `-3`); with it, reading a value
/// as another type is a [`SessionMapError::TypeMismatch`].
///
/// The map also records what this request changed: the keys it inserted,
/// the keys it removed and whether it was cleared. That record is never part
/// of the encoding (a map just decoded has no changes), and it is what lets
/// [`SessionMap::merge_onto`] replay one request's changes onto a session
/// another request saved in the meantime.
///
/// # Type tags
///
/// The tag is a 64-bit FNV-1a hash of [`std::any::type_name`] of the value's
/// type, so it is the same in every process and on every machine. A
/// reference is tagged as the type it points to, `str` as `String` and a
/// slice `[T]` as `Vec<T>`, because each serializes exactly like the owned
/// form and the owned form is the only one `get` can return.
///
/// The tag names the type, not its shape. Consequences worth knowing before
/// a deploy:
///
/// - renaming a type or moving it to another module changes its tag: values
///   stored before read as [`SessionMapError::TypeMismatch`];
/// - the text of `type_name` is not promised to stay the same across Rust
///   compiler versions, so a toolchain upgrade can, in principle, do the
///   same;
/// - adding, removing or reordering a struct's fields keeps the tag: old
///   values then usually fail with [`SessionMapError::Decode`], and may
///   decode as different values if the old bytes happen to fit the new
///   layout.
///
/// Treat either error like a missing value (overwrite it, or remove the
/// key), never as a reason to fail the request.
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
/// // A value read as another type is an error, not a wrong value.
/// let err = session.get::<i64>("user_id").unwrap_err();
/// assert!(matches!(err, SessionMapError::TypeMismatch { .. }));
/// assert_eq!(err.to_string(), "session value `user_id` is not a `i64`");
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
/// Only the entries are serialized, in key order, so equal maps always
/// encode to the same bytes. The record of changes is not: a decoded map
/// has no changes. For the same reason, `==` compares the entries only.
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

/// One stored value: its type tag and its encoding.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Entry {
    /// Little-endian bytes, not a `u64`: bincode's variable-length integers
    /// would spend nine bytes on a hash, and cookies are small.
    tag: [u8; 8],
    #[serde(with = "value_bytes")]
    value: Vec<u8>,
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entry")
            .field(
                "tag",
                &format_args!("{:016x}", u64::from_le_bytes(self.tag)),
            )
            .field("len", &self.value.len())
            .finish()
    }
}

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

    /// The value stored under `key`, or `None` when there is none.
    ///
    /// # Errors
    ///
    /// [`SessionMapError::TypeMismatch`] when the value was stored as
    /// another type than `V`, and [`SessionMapError::Decode`] when it was
    /// stored as a `V` but its bytes do not decode as one (the type's fields
    /// changed since it was stored, say).
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
    /// assert_eq!(session.get::<Vec<u32>>("wishlist")?, None);
    /// assert_eq!(
    ///     session.get::<String>("cart").unwrap_err().to_string(),
    ///     "session value `cart` is not a `alloc::string::String`",
    /// );
    /// # Ok(())
    /// # }
    /// ```
    pub fn get<V: DeserializeOwned>(&self, key: &str) -> Result<Option<V>, SessionMapError> {
        let Some(entry) = self.entries.get(key) else {
            return Ok(None);
        };
        if entry.tag != type_tag::<V>() {
            return Err(SessionMapError::TypeMismatch {
                key: key.to_owned(),
                expected: type_name::<V>(),
            });
        }
        codec::decode(&entry.value)
            .map(Some)
            .map_err(|err| SessionMapError::Decode {
                key: key.to_owned(),
                expected: type_name::<V>(),
                reason: err.to_string(),
            })
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
    /// [`SessionMapError::Encode`] when `value` cannot be encoded: its
    /// `Serialize` implementation failed, or it serializes a sequence or map
    /// without telling its length first. The map is then left unchanged.
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
        let value = match codec::encode(value) {
            Ok(value) => value,
            Err(err) => {
                return Err(SessionMapError::Encode {
                    key,
                    reason: err.to_string(),
                })
            }
        };
        let entry = Entry {
            tag: type_tag::<V>(),
            value,
        };
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
        serializer.collect_map(&self.entries)
    }
}

impl<'de> Deserialize<'de> for SessionMap {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(EntriesVisitor)
    }
}

struct EntriesVisitor;

impl<'de> Visitor<'de> for EntriesVisitor {
    type Value = SessionMap;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a session map")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<SessionMap, A::Error> {
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
        Ok(SessionMap {
            entries,
            ..SessionMap::default()
        })
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

/// The tag stored with a value of type `V`.
fn type_tag<V: ?Sized>() -> [u8; 8] {
    fnv1a(canonical_type_name(type_name::<V>()).as_bytes()).to_le_bytes()
}

/// `name` with the forms that serialize like another type, and that `get`
/// could never ask for, replaced by that type: `&T` by `T`, `str` by
/// `String` and `[T]` by `Vec<T>`. Without this, `insert("k", "text")` would
/// store a value no `get` can read.
fn canonical_type_name(mut name: &str) -> Cow<'_, str> {
    while let Some(rest) = name.strip_prefix('&') {
        name = rest.strip_prefix("mut ").unwrap_or(rest);
    }
    if name == type_name::<str>() {
        return Cow::Borrowed(type_name::<String>());
    }
    if let Some(element) = slice_element(name) {
        if let Some(vec) = type_name::<Vec<u8>>().strip_suffix("<u8>") {
            return Cow::Owned(format!("{vec}<{element}>"));
        }
    }
    Cow::Borrowed(name)
}

/// The `T` of a slice type's name `[T]`; `None` for anything else, arrays
/// `[T; N]` included, since those serialize without a length.
fn slice_element(name: &str) -> Option<&str> {
    let inner = name.strip_prefix('[')?.strip_suffix(']')?;
    let mut depth = 0_usize;
    for c in inner.chars() {
        match c {
            '[' | '<' | '(' => depth += 1,
            ']' | '>' | ')' => depth = depth.checked_sub(1)?,
            ';' if depth == 0 => return None,
            _ => {}
        }
    }
    (depth == 0).then_some(inner)
}

/// 64-bit FNV-1a: fixed, unlike `std`'s hashers, whose output may change
/// between Rust releases and which are seeded per process.
fn fnv1a(bytes: &[u8]) -> u64 {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes.iter().fold(OFFSET_BASIS, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(PRIME)
    })
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
///     Err(SessionMapError::TypeMismatch { key, expected, .. }) => {
///         assert_eq!(key, "cart");
///         assert_eq!(expected, "alloc::vec::Vec<u32>");
///     }
///     other => panic!("expected a type mismatch, got {other:?}"),
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionMapError {
    /// The value under `key` was stored as another type than the one asked
    /// for (or as a type since renamed or moved).
    #[non_exhaustive]
    TypeMismatch {
        /// The key asked for.
        key: String,
        /// The name of the type asked for.
        expected: &'static str,
    },
    /// The value under `key` was stored as the type asked for, but its bytes
    /// do not decode as one: most likely the type's fields changed since.
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
            Self::TypeMismatch { key, expected } => {
                write!(f, "session value `{key}` is not a `{expected}`")
            }
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
        codec::decode(&codec::encode(map).expect("encode")).expect("decode")
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
    fn empty_map_encodes_to_one_byte() {
        assert_eq!(codec::encode(&SessionMap::new()).unwrap(), [0]);
        codec::check_round_trip::<SessionMap>().expect("round trip");
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
            codec::encode(&forward).unwrap(),
            codec::encode(&backward).unwrap()
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
    fn value_read_as_another_type_is_a_mismatch() {
        let mut map = SessionMap::new();
        map.insert("n", &5_u32).unwrap();
        map.insert("big", &5_u64).unwrap();
        let map = loaded(&map);

        let err = map.get::<String>("n").unwrap_err();
        assert_eq!(
            err,
            SessionMapError::TypeMismatch {
                key: "n".into(),
                expected: "alloc::string::String",
            }
        );
        assert_eq!(
            err.to_string(),
            "session value `n` is not a `alloc::string::String`"
        );
        // Same bytes, and bincode would decode them: only the tag tells.
        assert!(matches!(
            map.get::<i64>("big"),
            Err(SessionMapError::TypeMismatch {
                expected: "i64",
                ..
            })
        ));
        assert!(matches!(
            map.get::<u32>("big"),
            Err(SessionMapError::TypeMismatch { .. })
        ));
    }

    #[test]
    fn bytes_that_do_not_decode_are_a_decode_error() {
        let mut map = SessionMap::new();
        // Tagged as a `u8` but holding a varint `u16` of three bytes.
        map.entries.insert(
            "n".into(),
            Entry {
                tag: type_tag::<u8>(),
                value: codec::encode(&300_u16).unwrap(),
            },
        );
        let map = loaded(&map);
        let err = map.get::<u8>("n").unwrap_err();
        assert!(
            matches!(&err, SessionMapError::Decode { key, expected: "u8", .. } if key == "n"),
            "{err:?}"
        );
        assert!(err
            .to_string()
            .starts_with("session value `n` is not a valid `u8`: "));
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
        // An array is written without a length, so it is not a `Vec`.
        assert_eq!(map.get::<[u32; 2]>("array").unwrap(), Some([1, 2]));
        assert!(map.get::<Vec<u32>>("array").is_err());
    }

    #[test]
    fn type_names_are_canonicalized_only_where_encodings_agree() {
        assert_eq!(canonical_type_name("&&mut str"), "alloc::string::String");
        assert_eq!(canonical_type_name("[u8]"), "alloc::vec::Vec<u8>");
        assert_eq!(
            canonical_type_name("[(u8, [u16; 2])]"),
            "alloc::vec::Vec<(u8, [u16; 2])>"
        );
        assert_eq!(canonical_type_name("[u8; 4]"), "[u8; 4]");
        assert_eq!(canonical_type_name("[u8]]"), "[u8]]");
        assert_eq!(canonical_type_name("my_crate::str"), "my_crate::str");
    }

    #[test]
    fn type_tags_are_fnv1a_of_the_type_name() {
        // Published FNV-1a 64 test vectors: the tags must never change.
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
        assert_eq!(type_tag::<u32>(), fnv1a(b"u32").to_le_bytes());
        assert_ne!(type_tag::<u64>(), type_tag::<i64>());
    }

    #[test]
    fn out_of_order_or_repeated_keys_are_refused() {
        let entry = Entry {
            tag: type_tag::<u8>(),
            value: vec![1],
        };
        // bincode writes a map exactly as a sequence of pairs.
        let unordered = vec![("b", entry.clone()), ("a", entry.clone())];
        let repeated = vec![("a", entry.clone()), ("a", entry.clone())];
        let ordered = vec![("a", entry.clone()), ("b", entry)];
        assert!(codec::decode::<SessionMap>(&codec::encode(&unordered).unwrap()).is_err());
        assert!(codec::decode::<SessionMap>(&codec::encode(&repeated).unwrap()).is_err());
        let map = codec::decode::<SessionMap>(&codec::encode(&ordered).unwrap()).unwrap();
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
        rewritten.insert("a", &1_u64).unwrap();
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
        theirs.insert("a", &1_u64).unwrap();
        assert!(mine.merge_onto(&loaded(&theirs)).is_err());
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
            if let Ok(map) = codec::decode::<SessionMap>(&bytes) {
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
            let mut bytes = codec::encode(&map).unwrap();
            let at = at.index(bytes.len());
            if truncate {
                bytes.truncate(at);
            } else {
                bytes[at] = byte;
            }
            if let Ok(map) = codec::decode::<SessionMap>(&bytes) {
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
