//! `MemoryStore`: sessions in this process's memory.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::fmt;
use std::future::Future;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use crate::clock::{Clock, SystemClock};
use crate::store::{Record, RecordKey, SessionStore, StoreError};

/// How many sessions a [`MemoryStore`] keeps by default.
pub(crate) const DEFAULT_CAPACITY: usize = 100_000;

/// How many protected sessions one owner keeps by default.
const DEFAULT_PROTECTED_PER_OWNER: usize = 10;

/// Sessions in this process's memory, lost on restart and not shared
/// between instances: for development, tests, and single-instance services
/// that can afford to log everybody out on a deploy.
///
/// Bounded, and hard to flood: past its capacity (default 100,000) it
/// evicts by a segmented LRU. A new session starts on *probation*; its
/// second use (a load, save or touch) promotes it to the *protected*
/// segment, which holds at most 80% of the capacity (past that, its least
/// recently used record goes back to probation). Eviction takes the least
/// recently used record on probation first. So a client that opens
/// sessions it never comes back to (a bot on a page that writes the
/// session) churns through probation only, and cannot push out visitors
/// who keep using theirs. A create is never refused: a login always gets
/// its record. A record created with an owner (a signed-in session, see
/// [`Session::set_owner`](crate::Session::set_owner)) starts protected, as
/// if already used twice: only the application's sign-in gives a session
/// an owner, so a flood between a login and the user's next request cannot
/// evict that login.
///
/// One owner holds at most ten protected records (see
/// [`with_protected_per_owner`](MemoryStore::with_protected_per_owner)),
/// however they got there: past that, the owner's least recently used one
/// goes back to probation, where it is evicted before anyone else's
/// protected session. So a script signing in to one account over and over,
/// or one user's many devices, cannot push other signed-in users out.
///
/// Expired sessions are swept whenever one is inserted, so there is no
/// background task; requests that never write allocate nothing here.
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::store::MemoryStore;
/// use tower_cookie_sessions::{Key, SessionLayer};
///
/// # fn main() -> Result<(), tower_cookie_sessions::ConfigError> {
/// let store = MemoryStore::new().with_capacity(10_000);
/// let layer = SessionLayer::<Vec<String>>::store_builder(Key::generate(), store.clone()).build()?;
/// # let _ = layer;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct MemoryStore {
    inner: Arc<Mutex<Inner>>,
}

/// The records in a slab of slots, each threaded on the doubly linked
/// list of its segment in order of use: marking a use, promoting and
/// evicting are O(1), and freed slots are reused, so once the slab has
/// grown nothing here allocates per record.
struct Inner {
    /// The store's, not a handle's: every clone judges by the same two.
    capacity: usize,
    clock: Arc<dyn Clock>,
    /// Where each record's slot is.
    records: HashMap<RecordKey, usize, BuildHasherDefault<RecordKeyHasher>>,
    /// Occupied slots, and free ones chained from `free` through `older`;
    /// a free slot is reused before the slab grows, so it never holds more
    /// slots than the store has held records at once.
    slots: Vec<Slot>,
    free: usize,
    /// Each segment's list, indexed by [`Segment`].
    lists: [List; 2],
    /// Soonest expiry first: `(expires_at, stamp, slot)`. An entry whose
    /// stamp is not its slot's any more is stale and skipped (the record
    /// was removed or its expiry moved); see [`Inner::compact_expiries`].
    expiries: BinaryHeap<Reverse<(SystemTime, u64, usize)>>,
    /// How many protected records one owner may hold; see
    /// [`MemoryStore::with_protected_per_owner`].
    protected_per_owner: usize,
    /// Where each owner's lists are in `owner_lists`.
    owners: HashMap<String, usize>,
    /// Each owner's records in each segment, in order of use, threaded
    /// through `Slot::by_owner`: the owner's least recently used protected
    /// record is found in O(1), and so are all of an owner's records.
    /// Entries of owners with no records left are reused.
    owner_lists: Vec<OwnerLists>,
    free_owners: Vec<usize>,
    /// The last stamp given out; never reused, so stale entries never match.
    stamp: u64,
}

/// One owner's records, by segment.
struct OwnerLists {
    name: String,
    lists: [List; 2],
}

/// The two segments of the LRU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Segment {
    /// Created and not used since: evicted first.
    Probation = 0,
    /// Used at least twice.
    Protected = 1,
}

/// A list of slots, most and least recently used at either end: a
/// segment's records, or one owner's records in a segment.
#[derive(Clone, Copy)]
struct List {
    newest: usize,
    oldest: usize,
    len: usize,
}

/// A slot's neighbours in one list, `NIL` at either end.
#[derive(Clone, Copy)]
struct Links {
    newer: usize,
    older: usize,
}

/// Which of a slot's links thread a kind of list.
type Thread = fn(&mut Slot) -> &mut Links;

fn by_use(slot: &mut Slot) -> &mut Links {
    &mut slot.by_use
}

fn by_owner(slot: &mut Slot) -> &mut Links {
    &mut slot.by_owner
}

impl Links {
    const NONE: Self = Self {
        newer: NIL,
        older: NIL,
    };
}

impl List {
    const EMPTY: Self = Self {
        newest: NIL,
        oldest: NIL,
        len: 0,
    };

    /// Takes slot `index` out of this list, threaded by `thread`.
    fn unlink(&mut self, slots: &mut [Slot], index: usize, thread: Thread) {
        let Links { newer, older } = *thread(&mut slots[index]);
        self.len -= 1;
        match newer {
            NIL => self.newest = older,
            newer => thread(&mut slots[newer]).older = older,
        }
        match older {
            NIL => self.oldest = newer,
            older => thread(&mut slots[older]).newer = newer,
        }
    }

    /// Puts slot `index`, in no list of this kind, at the most recent end.
    fn push_newest(&mut self, slots: &mut [Slot], index: usize, thread: Thread) {
        let previous = self.newest;
        *thread(&mut slots[index]) = Links {
            newer: NIL,
            older: previous,
        };
        self.newest = index;
        self.len += 1;
        match previous {
            NIL => self.oldest = index,
            newest => thread(&mut slots[newest]).newer = index,
        }
    }
}

/// The end of a list.
const NIL: usize = usize::MAX;

/// The expiry heap is compacted when it holds more than twice as many
/// entries as there are records plus this, so small stores do not compact
/// on every write.
const HEAP_SLACK: usize = 64;

/// How many records the protected segment holds at most in a store of
/// `capacity`: 80%, so at least a fifth of the store is probation, where
/// new sessions wait for their second use. A store of one record is all
/// probation.
fn protected_capacity(capacity: usize) -> usize {
    capacity - capacity.div_ceil(5)
}

struct Slot {
    key: RecordKey,
    /// `None` while the slot is free.
    record: Option<Record>,
    /// The stamp of this record's current entry in `Inner::expiries`.
    stamp: u64,
    segment: Segment,
    /// The neighbours in order of use within the segment; a free slot's
    /// `older` is the next free one.
    by_use: Links,
    /// The neighbours within the owner's list of the segment.
    by_owner: Links,
    /// The owner's entry in `Inner::owner_lists`, `NIL` without one.
    owner: usize,
}

/// Hashes a record key by its first eight bytes. A record key is already
/// the SHA-256 of a session id that this crate generated or authenticated,
/// so its bits are uniform and cannot be chosen by a client; SipHash's
/// protection against chosen keys would cost every lookup some 500
/// instructions for nothing.
#[derive(Default)]
struct RecordKeyHasher(u64);

impl Hasher for RecordKeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut word = [0u8; 8];
        let len = bytes.len().min(word.len());
        word[..len].copy_from_slice(&bytes[..len]);
        self.0 ^= u64::from_le_bytes(word);
    }

    // The slice's length prefix says nothing: every key is 32 bytes.
    fn write_usize(&mut self, _: usize) {}

    fn finish(&self) -> u64 {
        self.0
    }
}

impl MemoryStore {
    /// An empty store holding at most 100,000 sessions.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::store::MemoryStore;
    ///
    /// let store = MemoryStore::new();
    /// assert_eq!(store.len(), 0);
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self {
            inner: Arc::default(),
        }
    }

    /// Sets how many sessions the store keeps (at least one); the protected
    /// segment holds at most 80% of them (see [`MemoryStore`]). Clones share
    /// the store, its capacity included: setting it on one sets it for all,
    /// and a lower capacity is reached by the evictions of the next create.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::store::MemoryStore;
    ///
    /// let store = MemoryStore::new().with_capacity(2);
    /// # let _ = store;
    /// ```
    #[must_use]
    pub fn with_capacity(self, capacity: usize) -> Self {
        self.lock().capacity = capacity.max(1);
        self
    }

    /// Sets how many protected records one owner holds at most (at least
    /// one; ten by default), for the store and every clone of it. Past it,
    /// the owner's least recently used protected record goes back to
    /// probation; a lowered bound is reached at the owner's next sign-in or
    /// use. Set it to the number of devices a user may keep signed in
    /// through a flood.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::store::MemoryStore;
    ///
    /// let store = MemoryStore::new().with_protected_per_owner(3);
    /// # let _ = store;
    /// ```
    #[must_use]
    pub fn with_protected_per_owner(self, limit: usize) -> Self {
        self.lock().protected_per_owner = limit.max(1);
        self
    }

    /// Sets the clock expiry is judged by (default the system clock), for
    /// the store and every clone of it.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::SystemTime;
    /// use tower_cookie_sessions::store::MemoryStore;
    ///
    /// let store = MemoryStore::new().with_clock(SystemTime::now);
    /// # let _ = store;
    /// ```
    #[must_use]
    pub fn with_clock(self, clock: impl Clock) -> Self {
        self.lock().clock = Arc::new(clock);
        self
    }

    /// How many sessions the store holds now, expired ones not yet swept
    /// included.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::store::MemoryStore;
    ///
    /// assert!(MemoryStore::new().is_empty());
    /// ```
    #[must_use]
    pub fn len(&self) -> usize {
        self.lock().records.len()
    }

    /// Whether the store holds no session.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::store::MemoryStore;
    ///
    /// assert!(MemoryStore::new().is_empty());
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every change below keeps the indexes consistent before it can
        // panic (allocation failure aside), so a poisoned lock is usable.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn create_now(&self, key: &RecordKey, record: &Record) -> bool {
        let mut inner = self.lock();
        let now = inner.clock.now();
        // `find` also removes an expired record under `key`. A create that
        // collides is not a use of the record already there.
        if inner.find(key, now).is_some() {
            return false;
        }
        inner.sweep(now);
        while inner.records.len() >= inner.capacity {
            if !inner.evict() {
                break;
            }
        }
        inner.insert(*key, record.clone());
        true
    }

    fn save_now(&self, key: &RecordKey, record: &Record, expected: u64) -> bool {
        let mut inner = self.lock();
        let now = inner.clock.now();
        let Some(index) = inner.live(key, now) else {
            return false;
        };
        if inner.record(index).map(|current| current.version) != Some(expected) {
            return false;
        }
        inner.overwrite(index, record);
        true
    }

    fn touch_now(&self, key: &RecordKey, expires_at: SystemTime) -> bool {
        let mut inner = self.lock();
        let now = inner.clock.now();
        let Some(index) = inner.live(key, now) else {
            return false;
        };
        inner.set_expiry(index, expires_at);
        true
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.lock();
        f.debug_struct("MemoryStore")
            .field("len", &inner.records.len())
            .field("capacity", &inner.capacity)
            .field("protected_per_owner", &inner.protected_per_owner)
            .finish()
    }
}

impl Default for Inner {
    fn default() -> Self {
        Self {
            capacity: DEFAULT_CAPACITY,
            clock: Arc::new(SystemClock),
            records: HashMap::default(),
            slots: Vec::new(),
            free: NIL,
            lists: [List::EMPTY; 2],
            expiries: BinaryHeap::new(),
            protected_per_owner: DEFAULT_PROTECTED_PER_OWNER,
            owners: HashMap::new(),
            owner_lists: Vec::new(),
            free_owners: Vec::new(),
            stamp: 0,
        }
    }
}

impl Inner {
    /// The slot of the live record under `key`, marking it used: a record
    /// on probation is promoted.
    fn live(&mut self, key: &RecordKey, now: SystemTime) -> Option<usize> {
        let index = self.find(key, now)?;
        if self.slots[index].segment == Segment::Probation {
            self.unlink(index);
            self.protect(index);
        } else if self.lists[Segment::Protected as usize].newest != index {
            self.unlink(index);
            self.link_newest(index, Segment::Protected);
        }
        Some(index)
    }

    /// Puts slot `index`, in no list, at the most recent end of the
    /// protected segment, then keeps the segment within its bounds: past
    /// the owner's share, the owner's least recently used protected record
    /// goes back to probation, and past the segment's share of the
    /// capacity, the segment's least recently used one does.
    fn protect(&mut self, index: usize) {
        self.link_newest(index, Segment::Protected);
        let owner = self.slots[index].owner;
        if owner != NIL {
            while self.owner_lists[owner].lists[Segment::Protected as usize].len
                > self.protected_per_owner
            {
                let oldest = self.owner_lists[owner].lists[Segment::Protected as usize].oldest;
                self.demote(oldest);
            }
        }
        let protected = protected_capacity(self.capacity);
        while self.lists[Segment::Protected as usize].len > protected {
            let oldest = self.lists[Segment::Protected as usize].oldest;
            self.demote(oldest);
        }
    }

    /// Moves protected slot `index` to the most recent end of probation.
    fn demote(&mut self, index: usize) {
        self.unlink(index);
        self.link_newest(index, Segment::Probation);
    }

    /// The slot of the live record under `key`, without marking a use; an
    /// expired record there is removed.
    fn find(&mut self, key: &RecordKey, now: SystemTime) -> Option<usize> {
        let index = *self.records.get(key)?;
        if self.record(index)?.is_expired(now) {
            self.remove_at(index);
            return None;
        }
        Some(index)
    }

    fn record(&self, index: usize) -> Option<&Record> {
        self.slots[index].record.as_ref()
    }

    /// Inserts a record under a key that holds none.
    fn insert(&mut self, key: RecordKey, record: Record) {
        debug_assert!(!self.records.contains_key(&key));
        let owner = record
            .owner
            .as_deref()
            .map_or(NIL, |owner| self.owner_entry(owner));
        let expires_at = record.expires_at;
        let slot = Slot {
            key,
            record: Some(record),
            stamp: 0,
            segment: Segment::Probation,
            by_use: Links::NONE,
            by_owner: Links::NONE,
            owner,
        };
        let index = if self.free == NIL {
            self.slots.push(slot);
            self.slots.len() - 1
        } else {
            let index = self.free;
            self.free = self.slots[index].by_use.older;
            self.slots[index] = slot;
            index
        };
        // An owner is what a sign-in gives a session, and only the
        // application's own sign-in can give it: such a record starts
        // protected, so a flood between a login and the user's next request
        // cannot evict it. The owner's bound keeps one account's sign-ins
        // from pushing out everyone else's.
        if owner == NIL {
            self.link_newest(index, Segment::Probation);
        } else {
            self.protect(index);
        }
        self.records.insert(key, index);
        self.schedule(index, expires_at);
    }

    /// Replaces the record in slot `index` with a copy of `new`, reusing
    /// the old one's buffer.
    fn overwrite(&mut self, index: usize, new: &Record) {
        let Some(current) = self.slots[index].record.as_mut() else {
            return;
        };
        // Exhaustive, so a new field cannot be forgotten here.
        let Record {
            data,
            expires_at,
            version,
            owner,
        } = new;
        current.data.clone_from(data);
        current.version = *version;
        if current.owner != *owner {
            current.owner.clone_from(owner);
            self.change_owner(index, owner.as_deref());
        }
        self.set_expiry(index, *expires_at);
    }

    /// Moves slot `index` from its owner's lists to `owner`'s. The slot
    /// was just used, so it is the most recent of its segment, and so of
    /// its new owner's records there.
    fn change_owner(&mut self, index: usize, owner: Option<&str>) {
        let segment = self.slots[index].segment;
        let old = self.slots[index].owner;
        if old != NIL {
            self.owner_lists[old].lists[segment as usize].unlink(&mut self.slots, index, by_owner);
            self.release_owner_if_unused(old);
        }
        let new = owner.map_or(NIL, |owner| self.owner_entry(owner));
        self.slots[index].owner = new;
        if new != NIL {
            self.owner_lists[new].lists[segment as usize].push_newest(
                &mut self.slots,
                index,
                by_owner,
            );
            if segment == Segment::Protected {
                // Re-linking enforces both bounds, as a promotion does.
                self.unlink(index);
                self.protect(index);
            }
        }
    }

    fn set_expiry(&mut self, index: usize, expires_at: SystemTime) {
        let Some(current) = self.slots[index].record.as_mut() else {
            return;
        };
        if current.expires_at != expires_at {
            current.expires_at = expires_at;
            self.schedule(index, expires_at);
        }
    }

    /// Queues slot `index` to expire at `expires_at`, which makes its
    /// previous entry stale.
    fn schedule(&mut self, index: usize, expires_at: SystemTime) {
        self.stamp += 1;
        self.slots[index].stamp = self.stamp;
        self.expiries.push(Reverse((expires_at, self.stamp, index)));
        self.compact_expiries();
    }

    /// Stale expiry entries are dropped when they reach the top, or all at
    /// once here when they could outnumber the current ones. This keeps the
    /// heap within twice the records plus `HEAP_SLACK`, at O(1) amortized
    /// cost: after a compaction it takes at least (records + `HEAP_SLACK`)
    /// / 2 pushes or removals to trigger the next.
    fn compact_expiries(&mut self) {
        if self.expiries.len() > 2 * self.records.len() + HEAP_SLACK {
            let slots = &self.slots;
            self.expiries
                .retain(|&Reverse((_, stamp, index))| is_current(slots, stamp, index));
        }
    }

    fn remove(&mut self, key: &RecordKey) -> Option<Record> {
        let index = *self.records.get(key)?;
        self.remove_at(index)
    }

    fn remove_at(&mut self, index: usize) -> Option<Record> {
        let record = self.slots[index].record.take()?;
        let key = self.slots[index].key;
        self.records.remove(&key);
        self.unlink(index);
        let owner = std::mem::replace(&mut self.slots[index].owner, NIL);
        if owner != NIL {
            self.release_owner_if_unused(owner);
        }
        self.slots[index].by_use.older = self.free;
        self.free = index;
        self.compact_expiries();
        Some(record)
    }

    /// Removes every record of `owner`; returns how many.
    fn remove_owned_by(&mut self, owner: &str) -> u64 {
        let Some(&entry) = self.owners.get(owner) else {
            return 0;
        };
        let mut indexes = Vec::new();
        for list in self.owner_lists[entry].lists {
            let mut index = list.oldest;
            while index != NIL {
                indexes.push(index);
                index = self.slots[index].by_owner.newer;
            }
        }
        let mut removed = 0;
        for index in indexes {
            if self.remove_at(index).is_some() {
                removed += 1;
            }
        }
        removed
    }

    /// The entry of `owner`'s lists, made (or reused) for its first record.
    fn owner_entry(&mut self, owner: &str) -> usize {
        if let Some(&entry) = self.owners.get(owner) {
            return entry;
        }
        let lists = OwnerLists {
            name: owner.to_owned(),
            lists: [List::EMPTY; 2],
        };
        let entry = match self.free_owners.pop() {
            Some(entry) => {
                self.owner_lists[entry] = lists;
                entry
            }
            None => {
                self.owner_lists.push(lists);
                self.owner_lists.len() - 1
            }
        };
        self.owners.insert(owner.to_owned(), entry);
        entry
    }

    fn release_owner_if_unused(&mut self, entry: usize) {
        let lists = &mut self.owner_lists[entry];
        if lists.lists.iter().all(|list| list.len == 0) {
            let name = std::mem::take(&mut lists.name);
            self.owners.remove(&name);
            self.free_owners.push(entry);
        }
    }

    /// Takes slot `index` out of its segment's list and its owner's.
    fn unlink(&mut self, index: usize) {
        let Slot { segment, owner, .. } = self.slots[index];
        self.lists[segment as usize].unlink(&mut self.slots, index, by_use);
        if owner != NIL {
            self.owner_lists[owner].lists[segment as usize].unlink(
                &mut self.slots,
                index,
                by_owner,
            );
        }
    }

    /// Puts slot `index`, in no list, at the most recent end of `segment`
    /// and of its owner's list of `segment`.
    fn link_newest(&mut self, index: usize, segment: Segment) {
        self.slots[index].segment = segment;
        self.lists[segment as usize].push_newest(&mut self.slots, index, by_use);
        let owner = self.slots[index].owner;
        if owner != NIL {
            self.owner_lists[owner].lists[segment as usize].push_newest(
                &mut self.slots,
                index,
                by_owner,
            );
        }
    }

    /// Removes every record expired at `now`; returns how many.
    fn sweep(&mut self, now: SystemTime) -> u64 {
        let mut swept = 0;
        while let Some(&Reverse((expires_at, stamp, index))) = self.expiries.peek() {
            if expires_at > now {
                break;
            }
            self.expiries.pop();
            if is_current(&self.slots, stamp, index) && self.remove_at(index).is_some() {
                swept += 1;
            }
        }
        swept
    }

    /// Removes the least recently used record on probation, or, with
    /// none there, the least recently used protected one.
    fn evict(&mut self) -> bool {
        let probation = self.lists[Segment::Probation as usize].oldest;
        let victim = match probation {
            NIL => self.lists[Segment::Protected as usize].oldest,
            oldest => oldest,
        };
        victim != NIL && self.remove_at(victim).is_some()
    }
}

/// Whether an expiry entry is its slot's current one.
fn is_current(slots: &[Slot], stamp: u64, index: usize) -> bool {
    let slot = &slots[index];
    slot.record.is_some() && slot.stamp == stamp
}

impl SessionStore for MemoryStore {
    /// Records live in this process's memory, where nobody outside it can
    /// read or change them: sealing them would cost time and buy nothing.
    fn is_trusted(&self) -> bool {
        true
    }

    fn create(
        &self,
        key: &RecordKey,
        record: &Record,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        std::future::ready(Ok(self.create_now(key, record)))
    }

    fn load(
        &self,
        key: &RecordKey,
    ) -> impl Future<Output = Result<Option<Record>, StoreError>> + Send {
        let mut inner = self.lock();
        let now = inner.clock.now();
        let record = inner
            .live(key, now)
            .and_then(|index| inner.record(index).cloned());
        std::future::ready(Ok(record))
    }

    fn save(
        &self,
        key: &RecordKey,
        record: &Record,
        expected_version: u64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        std::future::ready(Ok(self.save_now(key, record, expected_version)))
    }

    fn delete(&self, key: &RecordKey) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.lock().remove(key);
        std::future::ready(Ok(()))
    }

    fn touch(
        &self,
        key: &RecordKey,
        expires_at: SystemTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        std::future::ready(Ok(self.touch_now(key, expires_at)))
    }

    fn delete_by_owner(&self, owner: &str) -> impl Future<Output = Result<u64, StoreError>> + Send {
        std::future::ready(Ok(self.lock().remove_owned_by(owner)))
    }

    fn delete_expired(&self) -> impl Future<Output = Result<u64, StoreError>> + Send {
        let mut inner = self.lock();
        let now = inner.clock.now();
        std::future::ready(Ok(inner.sweep(now)))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::pin::pin;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::task::{Context, Poll, Waker};
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    fn key(byte: u8) -> RecordKey {
        RecordKey::from_bytes([byte; 32])
    }

    fn record(seconds: u64) -> Record {
        Record::new(
            vec![1, 2, 3],
            SystemTime::now() + Duration::from_secs(seconds),
        )
    }

    /// The memory store's futures are ready at once.
    fn ready<F: Future>(future: F) -> F::Output {
        match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(output) => output,
            Poll::Pending => panic!("the memory store waited"),
        }
    }

    /// A clock that tests move by hand.
    #[derive(Clone)]
    struct Manual(Arc<AtomicU64>);

    impl Manual {
        fn new() -> Self {
            Self(Arc::new(AtomicU64::new(1_700_000_000)))
        }

        fn now(&self) -> SystemTime {
            UNIX_EPOCH + Duration::from_secs(self.0.load(Ordering::SeqCst))
        }

        fn in_seconds(&self, seconds: u64) -> SystemTime {
            self.now() + Duration::from_secs(seconds)
        }

        fn advance(&self, seconds: u64) {
            self.0.fetch_add(seconds, Ordering::SeqCst);
        }

        fn store(&self, capacity: usize) -> MemoryStore {
            let clock = self.clone();
            MemoryStore::new()
                .with_capacity(capacity)
                .with_clock(move || clock.now())
        }
    }

    /// The first byte of each key on probation and in the protected
    /// segment, least recently used first.
    fn recency(inner: &Inner) -> (Vec<u8>, Vec<u8>) {
        let segment = |segment: Segment| {
            let mut order = Vec::new();
            let mut index = inner.lists[segment as usize].oldest;
            while index != NIL {
                order.push(inner.slots[index].key.as_bytes()[0]);
                index = inner.slots[index].by_use.newer;
            }
            order
        };
        (segment(Segment::Probation), segment(Segment::Protected))
    }

    /// Checks every index against the records.
    fn assert_consistent(inner: &Inner) {
        // The two lists hold each record once, linked both ways, each
        // under the segment it says.
        let mut listed = 0;
        for segment in [Segment::Probation, Segment::Protected] {
            let list = &inner.lists[segment as usize];
            let (mut index, mut older, mut len) = (list.oldest, NIL, 0);
            while index != NIL {
                let slot = &inner.slots[index];
                assert_eq!(slot.by_use.older, older);
                assert_eq!(slot.segment, segment);
                assert!(slot.record.is_some());
                assert_eq!(inner.records.get(&slot.key), Some(&index));
                (older, index, len) = (index, slot.by_use.newer, len + 1);
            }
            assert_eq!(list.newest, older);
            assert_eq!(list.len, len);
            listed += len;
        }
        assert_eq!(listed, inner.records.len());

        // Every other slot is free.
        let (mut index, mut free) = (inner.free, 0);
        while index != NIL {
            assert!(inner.slots[index].record.is_none());
            (index, free) = (inner.slots[index].by_use.older, free + 1);
        }
        assert_eq!(free + listed, inner.slots.len());

        // One current expiry entry per record, with its expiry.
        let mut scheduled = HashSet::new();
        for &Reverse((expires_at, stamp, index)) in &inner.expiries {
            if is_current(&inner.slots, stamp, index) {
                assert!(scheduled.insert(index));
                let record = inner.record(index).expect("a record");
                assert_eq!(record.expires_at, expires_at);
            }
        }
        assert_eq!(scheduled.len(), inner.records.len());
        assert!(inner.expiries.len() <= 2 * inner.records.len() + HEAP_SLACK);

        // Each owner's lists hold exactly its records in each segment, in
        // the segment's order of use.
        let mut owned = 0;
        for (owner, &entry) in &inner.owners {
            let lists = &inner.owner_lists[entry];
            assert_eq!(&lists.name, owner);
            assert!(!inner.free_owners.contains(&entry));
            assert!(
                lists.lists.iter().any(|list| list.len > 0),
                "{owner} has no records"
            );
            for segment in [Segment::Probation, Segment::Protected] {
                let list = &lists.lists[segment as usize];
                let (mut index, mut older, mut order) = (list.oldest, NIL, Vec::new());
                while index != NIL {
                    let slot = &inner.slots[index];
                    assert_eq!(slot.by_owner.older, older);
                    assert_eq!(slot.owner, entry);
                    assert_eq!(slot.segment, segment);
                    let record = slot.record.as_ref().expect("a record");
                    assert_eq!(record.owner.as_ref(), Some(owner));
                    order.push(index);
                    (older, index) = (index, slot.by_owner.newer);
                }
                assert_eq!(list.newest, older);
                assert_eq!(list.len, order.len());
                // The owner's order is the segment's, restricted to it.
                let mut in_segment = Vec::new();
                let mut index = inner.lists[segment as usize].oldest;
                while index != NIL {
                    if inner.slots[index].owner == entry {
                        in_segment.push(index);
                    }
                    index = inner.slots[index].by_use.newer;
                }
                assert_eq!(order, in_segment);
                if segment == Segment::Protected {
                    assert!(list.len <= inner.protected_per_owner);
                }
                owned += order.len();
            }
        }
        let with_owner = inner.slots.iter().filter_map(|slot| slot.record.as_ref());
        assert_eq!(owned, with_owner.filter(|r| r.owner.is_some()).count());
        for slot in inner.slots.iter().filter(|slot| slot.record.is_some()) {
            let record = slot.record.as_ref().expect("a record");
            assert_eq!(slot.owner == NIL, record.owner.is_none());
        }
    }

    #[test]
    fn segments_take_a_fifth_and_the_rest_of_the_capacity() {
        assert_eq!(protected_capacity(1), 0);
        assert_eq!(protected_capacity(2), 1);
        assert_eq!(protected_capacity(5), 4);
        assert_eq!(protected_capacity(6), 4);
        assert_eq!(protected_capacity(DEFAULT_CAPACITY), 80_000);
    }

    #[test]
    fn a_used_record_outlives_newer_unused_ones() {
        let store = MemoryStore::new().with_capacity(2);
        assert!(store.create_now(&key(1), &record(60)));
        assert!(store.create_now(&key(2), &record(60)));
        // Using 1 promotes it; 2 stays on probation and goes first.
        assert!(ready(store.load(&key(1))).expect("load").is_some());
        assert!(store.create_now(&key(3), &record(60)));
        assert_eq!(recency(&store.lock()), (vec![3], vec![1]));
        assert!(ready(store.load(&key(2))).expect("load").is_none());
        assert_consistent(&store.lock());
    }

    #[test]
    fn an_owned_record_starts_protected() {
        let store = MemoryStore::new().with_capacity(5);
        let owned = |n: u8| record(60).with_owner(Some(format!("user-{n}")));
        for n in 1..=4 {
            assert!(store.create_now(&key(n), &owned(n)));
        }
        assert_eq!(recency(&store.lock()), (vec![], vec![1, 2, 3, 4]));
        // Anonymous creates churn through probation only.
        for n in 10..20 {
            assert!(store.create_now(&key(n), &record(60)));
        }
        assert_eq!(recency(&store.lock()), (vec![19], vec![1, 2, 3, 4]));
        // Past four protected records, the least recently used one goes
        // back to probation, as on a promotion.
        assert!(store.create_now(&key(5), &owned(5)));
        assert_eq!(recency(&store.lock()), (vec![1], vec![2, 3, 4, 5]));
        assert_consistent(&store.lock());
    }

    #[test]
    fn an_owner_keeps_at_most_its_share_protected() {
        let store = MemoryStore::new()
            .with_capacity(10)
            .with_protected_per_owner(2);
        let ada = || record(60).with_owner(Some("ada".into()));
        let bob = record(60).with_owner(Some("bob".into()));
        assert!(store.create_now(&key(1), &bob));
        for n in 2..=4 {
            assert!(store.create_now(&key(n), &ada()));
        }
        // Ada's third sign-in sends her oldest back to probation.
        assert_eq!(recency(&store.lock()), (vec![2], vec![1, 3, 4]));
        // A second use promotes it again, and demotes her next oldest.
        assert!(ready(store.load(&key(2))).expect("load").is_some());
        assert_eq!(recency(&store.lock()), (vec![3], vec![1, 4, 2]));
        // Anonymous records used twice still take the room left.
        for n in 5..=7 {
            assert!(store.create_now(&key(n), &record(60)));
            assert!(ready(store.load(&key(n))).expect("load").is_some());
        }
        assert_eq!(recency(&store.lock()), (vec![3], vec![1, 4, 2, 5, 6, 7]));
        // A save that gives a protected record to Ada counts against her.
        let given = record(60).with_owner(Some("ada".into())).with_version(2);
        assert!(store.save_now(&key(5), &given, 1));
        assert_eq!(recency(&store.lock()), (vec![3, 4], vec![1, 2, 6, 7, 5]));
        assert_eq!(ready(store.delete_by_owner("ada")).expect("delete"), 4);
        assert_eq!(recency(&store.lock()), (vec![], vec![1, 6, 7]));
        assert_consistent(&store.lock());
    }

    #[test]
    fn a_create_that_collides_is_not_a_use() {
        let store = MemoryStore::new().with_capacity(4);
        assert!(store.create_now(&key(1), &record(60)));
        assert!(!store.create_now(&key(1), &record(60)));
        assert_eq!(recency(&store.lock()), (vec![1], vec![]));
    }

    #[test]
    fn a_store_of_one_keeps_the_newest_record() {
        let store = MemoryStore::new().with_capacity(1);
        assert!(store.create_now(&key(1), &record(60)));
        assert!(ready(store.load(&key(1))).expect("load").is_some());
        assert_eq!(recency(&store.lock()), (vec![1], vec![]));
        assert!(store.create_now(&key(2), &record(60)));
        assert_eq!(recency(&store.lock()), (vec![2], vec![]));
        assert_consistent(&store.lock());
    }

    #[test]
    fn expired_records_are_swept_on_insert() {
        let store = MemoryStore::new();
        let expired = Record::new(vec![], SystemTime::now() - Duration::from_secs(1));
        store.lock().insert(key(1), expired);
        assert_eq!(store.len(), 1);
        assert!(store.create_now(&key(2), &record(60)));
        assert_eq!(store.len(), 1);
    }

    #[test]
    fn indexes_stay_consistent_through_every_operation() {
        let store = MemoryStore::new().with_capacity(3);
        for i in 0..10u8 {
            let owned = record(60).with_owner(Some(format!("user-{}", i % 2)));
            store.create_now(&key(i), &owned);
            store.touch_now(&key(i), SystemTime::now() + Duration::from_secs(120));
            store.save_now(&key(i), &owned.clone().with_version(2), 1);
        }
        let inner = store.lock();
        assert_eq!(inner.records.len(), 3);
        let owned: usize = inner
            .owner_lists
            .iter()
            .map(|lists| lists.lists.iter().map(|list| list.len).sum::<usize>())
            .sum();
        assert_eq!(owned, 3);
        assert_consistent(&inner);
    }

    #[test]
    fn loads_saves_and_touches_count_as_uses() {
        let clock = Manual::new();
        let store = clock.store(10);
        for i in 1..=4 {
            assert!(store.create_now(&key(i), &Record::new(vec![i], clock.in_seconds(60))));
        }
        assert_eq!(recency(&store.lock()), (vec![1, 2, 3, 4], vec![]));
        assert!(ready(store.load(&key(1))).expect("load").is_some());
        assert_eq!(recency(&store.lock()), (vec![2, 3, 4], vec![1]));
        let saved = Record::new(vec![9], clock.in_seconds(60)).with_version(2);
        assert!(store.save_now(&key(2), &saved, 1));
        assert_eq!(recency(&store.lock()), (vec![3, 4], vec![1, 2]));
        assert!(store.touch_now(&key(3), clock.in_seconds(90)));
        assert_eq!(recency(&store.lock()), (vec![4], vec![1, 2, 3]));
        // Using a protected record again moves it to the recent end;
        // using the most recent changes nothing; deleting unlinks.
        assert!(ready(store.load(&key(1))).expect("load").is_some());
        assert_eq!(recency(&store.lock()), (vec![4], vec![2, 3, 1]));
        assert!(ready(store.load(&key(1))).expect("load").is_some());
        ready(store.delete(&key(2))).expect("delete");
        assert_eq!(recency(&store.lock()), (vec![4], vec![3, 1]));
        assert_consistent(&store.lock());
    }

    #[test]
    fn probation_is_evicted_first_and_protected_overflow_is_demoted() {
        let clock = Manual::new();
        // Three records: two protected at most.
        let store = clock.store(3);
        for i in 1..=3 {
            assert!(store.create_now(&key(i), &Record::new(vec![i], clock.in_seconds(60))));
        }
        assert!(store.touch_now(&key(1), clock.in_seconds(120)));
        let saved = Record::new(vec![], clock.in_seconds(60)).with_version(2);
        assert!(store.save_now(&key(2), &saved, 1));
        assert!(store.create_now(&key(4), &record(60)));
        assert_eq!(recency(&store.lock()), (vec![4], vec![1, 2]));
        assert!(ready(store.load(&key(1))).expect("load").is_some());
        assert!(store.create_now(&key(5), &record(60)));
        assert_eq!(recency(&store.lock()), (vec![5], vec![2, 1]));
        // A third promotion sends the least recently used protected record
        // back to probation, where it is the next to go.
        assert!(ready(store.load(&key(5))).expect("load").is_some());
        assert_eq!(recency(&store.lock()), (vec![2], vec![1, 5]));
        assert!(store.create_now(&key(6), &record(60)));
        assert_eq!(recency(&store.lock()), (vec![6], vec![1, 5]));
        assert!(ready(store.load(&key(2))).expect("load").is_none());
        assert_consistent(&store.lock());
    }

    #[test]
    fn slots_are_reused_after_delete_and_eviction() {
        let store = MemoryStore::new().with_capacity(3);
        for i in 1..=3 {
            assert!(store.create_now(&key(i), &record(60)));
        }
        ready(store.delete(&key(2))).expect("delete");
        assert!(store.create_now(&key(4), &record(60)));
        assert_eq!(store.lock().slots.len(), 3);
        for i in 5..200 {
            assert!(store.create_now(&key(i), &record(60)));
        }
        let inner = store.lock();
        assert_eq!(inner.slots.len(), 3);
        assert_eq!(recency(&inner), (vec![197, 198, 199], vec![]));
        assert_consistent(&inner);
    }

    #[test]
    fn expiry_heap_stays_bounded_under_repeated_updates() {
        let clock = Manual::new();
        let store = clock.store(10);
        assert!(store.create_now(&key(1), &record(60)));
        assert!(store.create_now(&key(2), &record(60)));
        let mut version = 1;
        for i in 0..10_000u64 {
            let later = clock.in_seconds(100 + i);
            if i % 2 == 0 {
                assert!(store.touch_now(&key(1), later));
            } else {
                let next = Record::new(vec![], later).with_version(version + 1);
                assert!(store.save_now(&key(1), &next, version));
                version += 1;
            }
            assert!(store.lock().expiries.len() <= 2 * 2 + HEAP_SLACK);
        }
        assert_consistent(&store.lock());

        // Nor does it keep the stale entries of records since deleted.
        for i in 10..110 {
            assert!(store.create_now(&key(i), &record(60)));
            assert!(store.touch_now(&key(i), clock.in_seconds(90)));
        }
        for i in 10..110 {
            ready(store.delete(&key(i))).expect("delete");
            assert_consistent(&store.lock());
        }
        assert!(store.lock().expiries.len() <= 2 * 2 + HEAP_SLACK);
    }

    #[test]
    fn sweeping_skips_stale_expiry_entries() {
        let clock = Manual::new();
        let store = clock.store(10);
        // A record whose expiry was pushed back, and a slot reused by a
        // longer-lived record, outlive their first expiry.
        assert!(store.create_now(&key(1), &Record::new(vec![], clock.in_seconds(10))));
        assert!(store.touch_now(&key(1), clock.in_seconds(100)));
        assert!(store.create_now(&key(2), &Record::new(vec![], clock.in_seconds(10))));
        ready(store.delete(&key(2))).expect("delete");
        assert!(store.create_now(&key(3), &Record::new(vec![], clock.in_seconds(100))));
        assert!(store.create_now(&key(4), &Record::new(vec![], clock.in_seconds(20))));
        clock.advance(30);
        assert!(store.create_now(&key(5), &Record::new(vec![], clock.in_seconds(100))));
        assert_eq!(recency(&store.lock()), (vec![3, 5], vec![1]));
        clock.advance(100);
        assert_eq!(ready(store.delete_expired()).expect("sweep"), 3);
        assert!(store.is_empty());
        assert_consistent(&store.lock());
    }

    /// The store against the plain definition of its behaviour: a map of
    /// records, each stamped when last used and marked protected once used
    /// after its creation.
    struct Model {
        records: HashMap<u8, (Record, u64, Segment)>,
        tick: u64,
        protected: usize,
        per_owner: usize,
    }

    impl Model {
        fn new(capacity: usize, per_owner: usize) -> Self {
            Self {
                records: HashMap::new(),
                tick: 0,
                protected: protected_capacity(capacity),
                per_owner,
            }
        }

        fn tick(&mut self) -> u64 {
            self.tick += 1;
            self.tick
        }

        /// The least recently used record of `segment`.
        fn oldest(&self, segment: Segment) -> Option<u8> {
            let of_segment = self.records.iter().filter(|(_, r)| r.2 == segment);
            of_segment.min_by_key(|(_, r)| r.1).map(|(k, _)| *k)
        }

        /// `owner`'s protected records, least recently used first.
        fn protected_of(&self, owner: &str) -> Vec<u8> {
            let mut of_owner: Vec<_> = self
                .records
                .iter()
                .filter(|(_, r)| r.2 == Segment::Protected && r.0.owner.as_deref() == Some(owner))
                .collect();
            of_owner.sort_by_key(|(_, r)| r.1);
            of_owner.into_iter().map(|(k, _)| *k).collect()
        }

        fn demote(&mut self, key: u8) {
            let tick = self.tick();
            if let Some(entry) = self.records.get_mut(&key) {
                (entry.1, entry.2) = (tick, Segment::Probation);
            }
        }

        fn len_of(&self, segment: Segment) -> usize {
            self.records.values().filter(|r| r.2 == segment).count()
        }

        fn find(&mut self, key: u8, now: SystemTime) -> bool {
            match self.records.get(&key) {
                Some(entry) if entry.0.is_expired(now) => {
                    self.records.remove(&key);
                    false
                }
                found => found.is_some(),
            }
        }

        fn live(&mut self, key: u8, now: SystemTime) -> Option<&mut Record> {
            if !self.find(key, now) {
                return None;
            }
            self.protect(key);
            self.records.get_mut(&key).map(|entry| &mut entry.0)
        }

        /// Marks `key` the most recent protected record, then moves the
        /// least recently used protected records back to probation while
        /// there are too many: first its owner's, then anyone's.
        fn protect(&mut self, key: u8) {
            let tick = self.tick();
            let Some(entry) = self.records.get_mut(&key) else {
                return;
            };
            (entry.1, entry.2) = (tick, Segment::Protected);
            if let Some(owner) = entry.0.owner.clone() {
                loop {
                    let protected = self.protected_of(&owner);
                    if protected.len() <= self.per_owner {
                        break;
                    }
                    self.demote(protected[0]);
                }
            }
            while self.len_of(Segment::Protected) > self.protected {
                let Some(oldest) = self.oldest(Segment::Protected) else {
                    return;
                };
                self.demote(oldest);
            }
        }

        /// A save gave protected record `key` another owner: the new
        /// owner's bound applies, as on a promotion.
        fn owner_changed(&mut self, key: u8) {
            if self
                .records
                .get(&key)
                .is_some_and(|entry| entry.2 == Segment::Protected)
            {
                self.protect(key);
            }
        }

        fn sweep(&mut self, now: SystemTime) -> u64 {
            let before = self.records.len();
            self.records.retain(|_, entry| !entry.0.is_expired(now));
            (before - self.records.len()) as u64
        }

        fn create(&mut self, key: u8, record: &Record, now: SystemTime, capacity: usize) -> bool {
            if self.find(key, now) {
                return false;
            }
            self.sweep(now);
            while self.records.len() >= capacity {
                let victim = self.oldest(Segment::Probation);
                let victim = victim.or_else(|| self.oldest(Segment::Protected));
                self.records.remove(&victim.expect("a record"));
            }
            let tick = self.tick();
            self.records
                .insert(key, (record.clone(), tick, Segment::Probation));
            if record.owner.is_some() {
                self.protect(key);
            }
            true
        }

        /// Each segment's keys, least recently used first.
        fn recency(&self) -> (Vec<u8>, Vec<u8>) {
            let segment = |segment: Segment| {
                let mut keys: Vec<_> = self
                    .records
                    .iter()
                    .filter(|(_, r)| r.2 == segment)
                    .collect();
                keys.sort_by_key(|(_, r)| r.1);
                keys.into_iter().map(|(k, _)| *k).collect::<Vec<_>>()
            };
            (segment(Segment::Probation), segment(Segment::Protected))
        }
    }

    /// A small xorshift generator, so the sequence is the same every run.
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }
    }

    #[test]
    fn behaves_like_the_plain_model() {
        const CAPACITY: usize = 5;
        const PER_OWNER: usize = 2;
        let clock = Manual::new();
        let store = clock.store(CAPACITY).with_protected_per_owner(PER_OWNER);
        let mut model = Model::new(CAPACITY, PER_OWNER);
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let owners = [None, Some("ada"), Some("bob")];
        for _ in 0..20_000 {
            let k = rng.below(8) as u8;
            let now = clock.now();
            let expires_at = clock.in_seconds(rng.below(20));
            let owner = owners[rng.below(3) as usize].map(String::from);
            let version = 1 + rng.below(3);
            let record = Record::new(vec![k; rng.below(4) as usize], expires_at)
                .with_owner(owner.clone())
                .with_version(version);
            match rng.below(9) {
                0 | 1 => assert_eq!(
                    store.create_now(&key(k), &record),
                    model.create(k, &record, now, CAPACITY)
                ),
                2 => assert_eq!(
                    ready(store.load(&key(k))).expect("load"),
                    model.live(k, now).cloned()
                ),
                3 => {
                    let expected = 1 + rng.below(3);
                    let saved = match model.live(k, now) {
                        Some(current) if current.version == expected => {
                            let owner_changed = current.owner != record.owner;
                            *current = record.clone();
                            if owner_changed {
                                model.owner_changed(k);
                            }
                            true
                        }
                        _ => false,
                    };
                    assert_eq!(store.save_now(&key(k), &record, expected), saved);
                }
                4 => {
                    let touched = model.live(k, now).map(|current| {
                        current.expires_at = expires_at;
                    });
                    assert_eq!(store.touch_now(&key(k), expires_at), touched.is_some());
                }
                5 => {
                    ready(store.delete(&key(k))).expect("delete");
                    model.records.remove(&k);
                }
                6 => {
                    let owner = owner.unwrap_or_default();
                    let before = model.records.len();
                    model
                        .records
                        .retain(|_, entry| entry.0.owner.as_deref() != Some(&owner));
                    let deleted = (before - model.records.len()) as u64;
                    assert_eq!(
                        ready(store.delete_by_owner(&owner)).expect("delete"),
                        deleted
                    );
                }
                7 => assert_eq!(
                    ready(store.delete_expired()).expect("sweep"),
                    model.sweep(now)
                ),
                _ => clock.advance(rng.below(4)),
            }

            let inner = store.lock();
            assert_consistent(&inner);
            assert_eq!(recency(&inner), model.recency());
            for (k, (record, _, _)) in &model.records {
                assert_eq!(inner.record(inner.records[&key(*k)]), Some(record));
            }
        }
    }
}
