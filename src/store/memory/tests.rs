use std::cmp::Reverse;
use std::collections::{HashMap, HashSet};
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, UNIX_EPOCH};

use super::slots::*;
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
