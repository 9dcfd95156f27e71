//! The records of a [`MemoryStore`](super::MemoryStore): a slab of slots
//! on the two lists of a segmented LRU and on their owners' lists, with a
//! heap of expiries.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;
use std::time::SystemTime;

use super::{DEFAULT_CAPACITY, DEFAULT_PROTECTED_PER_OWNER};
use crate::clock::{Clock, SystemClock};
use crate::store::{Record, RecordKey};

/// The records in a slab of slots, each threaded on the doubly linked
/// list of its segment in order of use: marking a use, promoting and
/// evicting are O(1), and freed slots are reused, so once the slab has
/// grown nothing here allocates per record.
pub(super) struct Inner {
    /// The store's, not a handle's: every clone judges by the same two.
    pub(super) capacity: usize,
    pub(super) clock: Arc<dyn Clock>,
    /// Where each record's slot is.
    pub(super) records: HashMap<RecordKey, usize, BuildHasherDefault<RecordKeyHasher>>,
    /// Occupied slots, and free ones chained from `free` through `older`;
    /// a free slot is reused before the slab grows, so it never holds more
    /// slots than the store has held records at once.
    pub(super) slots: Vec<Slot>,
    pub(super) free: usize,
    /// Each segment's list, indexed by [`Segment`].
    pub(super) lists: [List; 2],
    /// Soonest expiry first: `(expires_at, stamp, slot)`. An entry whose
    /// stamp is not its slot's any more is stale and skipped (the record
    /// was removed or its expiry moved); see [`Inner::compact_expiries`].
    pub(super) expiries: BinaryHeap<Reverse<(SystemTime, u64, usize)>>,
    /// How many protected records one owner may hold; see
    /// [`MemoryStore::with_protected_per_owner`].
    pub(super) protected_per_owner: usize,
    /// Where each owner's lists are in `owner_lists`.
    pub(super) owners: HashMap<String, usize>,
    /// Each owner's records in each segment, in order of use, threaded
    /// through `Slot::by_owner`: the owner's least recently used protected
    /// record is found in O(1), and so are all of an owner's records.
    /// Entries of owners with no records left are reused.
    pub(super) owner_lists: Vec<OwnerLists>,
    pub(super) free_owners: Vec<usize>,
    /// The last stamp given out; never reused, so stale entries never match.
    pub(super) stamp: u64,
}

/// One owner's records, by segment.
pub(super) struct OwnerLists {
    pub(super) name: String,
    pub(super) lists: [List; 2],
}

/// The two segments of the LRU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Segment {
    /// Created and not used since: evicted first.
    Probation = 0,
    /// Used at least twice.
    Protected = 1,
}

/// A list of slots, most and least recently used at either end: a
/// segment's records, or one owner's records in a segment.
#[derive(Clone, Copy)]
pub(super) struct List {
    pub(super) newest: usize,
    pub(super) oldest: usize,
    pub(super) len: usize,
}

/// A slot's neighbours in one list, `NIL` at either end.
#[derive(Clone, Copy)]
pub(super) struct Links {
    pub(super) newer: usize,
    pub(super) older: usize,
}

/// Which of a slot's links thread a kind of list.
pub(super) type Thread = fn(&mut Slot) -> &mut Links;

pub(super) fn by_use(slot: &mut Slot) -> &mut Links {
    &mut slot.by_use
}

pub(super) fn by_owner(slot: &mut Slot) -> &mut Links {
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
    pub(super) fn unlink(&mut self, slots: &mut [Slot], index: usize, thread: Thread) {
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
    pub(super) fn push_newest(&mut self, slots: &mut [Slot], index: usize, thread: Thread) {
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
pub(super) const NIL: usize = usize::MAX;

/// The expiry heap is compacted when it holds more than twice as many
/// entries as there are records plus this, so small stores do not compact
/// on every write.
pub(super) const HEAP_SLACK: usize = 64;

/// How many records the protected segment holds at most in a store of
/// `capacity`: 80%, so at least a fifth of the store is probation, where
/// new sessions wait for their second use. A store of one record is all
/// probation.
pub(super) fn protected_capacity(capacity: usize) -> usize {
    capacity - capacity.div_ceil(5)
}

pub(super) struct Slot {
    pub(super) key: RecordKey,
    /// `None` while the slot is free.
    pub(super) record: Option<Record>,
    /// The stamp of this record's current entry in `Inner::expiries`.
    pub(super) stamp: u64,
    pub(super) segment: Segment,
    /// The neighbours in order of use within the segment; a free slot's
    /// `older` is the next free one.
    pub(super) by_use: Links,
    /// The neighbours within the owner's list of the segment.
    pub(super) by_owner: Links,
    /// The owner's entry in `Inner::owner_lists`, `NIL` without one.
    pub(super) owner: usize,
}

/// Hashes a record key by its first eight bytes. A record key is already
/// the SHA-256 of a session id that this crate generated or authenticated,
/// so its bits are uniform and cannot be chosen by a client; SipHash's
/// protection against chosen keys would cost every lookup some 500
/// instructions for nothing.
#[derive(Default)]
pub(super) struct RecordKeyHasher(u64);

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
    pub(super) fn live(&mut self, key: &RecordKey, now: SystemTime) -> Option<usize> {
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
    pub(super) fn protect(&mut self, index: usize) {
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
    pub(super) fn demote(&mut self, index: usize) {
        self.unlink(index);
        self.link_newest(index, Segment::Probation);
    }

    /// The slot of the live record under `key`, without marking a use; an
    /// expired record there is removed.
    pub(super) fn find(&mut self, key: &RecordKey, now: SystemTime) -> Option<usize> {
        let index = *self.records.get(key)?;
        if self.record(index)?.is_expired(now) {
            self.remove_at(index);
            return None;
        }
        Some(index)
    }

    pub(super) fn record(&self, index: usize) -> Option<&Record> {
        self.slots[index].record.as_ref()
    }

    /// Inserts a record under a key that holds none.
    pub(super) fn insert(&mut self, key: RecordKey, record: Record) {
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
    pub(super) fn overwrite(&mut self, index: usize, new: &Record) {
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
    pub(super) fn change_owner(&mut self, index: usize, owner: Option<&str>) {
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

    pub(super) fn set_expiry(&mut self, index: usize, expires_at: SystemTime) {
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
    pub(super) fn schedule(&mut self, index: usize, expires_at: SystemTime) {
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
    pub(super) fn compact_expiries(&mut self) {
        if self.expiries.len() > 2 * self.records.len() + HEAP_SLACK {
            let slots = &self.slots;
            self.expiries
                .retain(|&Reverse((_, stamp, index))| is_current(slots, stamp, index));
        }
    }

    pub(super) fn remove(&mut self, key: &RecordKey) -> Option<Record> {
        let index = *self.records.get(key)?;
        self.remove_at(index)
    }

    pub(super) fn remove_at(&mut self, index: usize) -> Option<Record> {
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

    /// The slots of `owner`'s records, in both segments.
    fn owned_slots(&self, owner: &str) -> Vec<usize> {
        let Some(&entry) = self.owners.get(owner) else {
            return Vec::new();
        };
        let mut indexes = Vec::new();
        for list in self.owner_lists[entry].lists {
            let mut index = list.oldest;
            while index != NIL {
                indexes.push(index);
                index = self.slots[index].by_owner.newer;
            }
        }
        indexes
    }

    /// `owner`'s records live at `now`, with their keys. Listing them is
    /// not a use: it moves none of them in the LRU.
    pub(super) fn owned_by(&self, owner: &str, now: SystemTime) -> Vec<(RecordKey, Record)> {
        self.owned_slots(owner)
            .into_iter()
            .filter_map(|index| {
                let slot = &self.slots[index];
                let record = slot.record.as_ref()?;
                (!record.is_expired(now)).then(|| (slot.key, record.clone()))
            })
            .collect()
    }

    /// Removes every record of `owner`; returns how many.
    pub(super) fn remove_owned_by(&mut self, owner: &str) -> u64 {
        let indexes = self.owned_slots(owner);
        let mut removed = 0;
        for index in indexes {
            if self.remove_at(index).is_some() {
                removed += 1;
            }
        }
        removed
    }

    /// The entry of `owner`'s lists, made (or reused) for its first record.
    pub(super) fn owner_entry(&mut self, owner: &str) -> usize {
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

    pub(super) fn release_owner_if_unused(&mut self, entry: usize) {
        let lists = &mut self.owner_lists[entry];
        if lists.lists.iter().all(|list| list.len == 0) {
            let name = std::mem::take(&mut lists.name);
            self.owners.remove(&name);
            self.free_owners.push(entry);
        }
    }

    /// Takes slot `index` out of its segment's list and its owner's.
    pub(super) fn unlink(&mut self, index: usize) {
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
    pub(super) fn link_newest(&mut self, index: usize, segment: Segment) {
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
    pub(super) fn sweep(&mut self, now: SystemTime) -> u64 {
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
    pub(super) fn evict(&mut self) -> bool {
        let probation = self.lists[Segment::Probation as usize].oldest;
        let victim = match probation {
            NIL => self.lists[Segment::Protected as usize].oldest,
            oldest => oldest,
        };
        victim != NIL && self.remove_at(victim).is_some()
    }
}

/// Whether an expiry entry is its slot's current one.
pub(super) fn is_current(slots: &[Slot], stamp: u64, index: usize) -> bool {
    let slot = &slots[index];
    slot.record.is_some() && slot.stamp == stamp
}
