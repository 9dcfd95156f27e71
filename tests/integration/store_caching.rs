//! `CachingStore` never installs a copy that a concurrent write on the same
//! instance has already replaced or deleted.
//!
//! The backing store here can hold a `load` after it has read, or a `save`
//! before it writes, so each test plays one interleaving of a cache-miss
//! load against a write, deterministically.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::sync::oneshot;
use tower_cookie_sessions::store::{
    CachingStore, MemoryStore, OwnerIndex, Record, RecordKey, SessionStore, StoreError,
};

/// One held call: `reached` fires when the call gets to the hold, and the
/// call goes on once `resume` is sent (or dropped).
struct Hold {
    reached: oneshot::Receiver<()>,
    resume: oneshot::Sender<()>,
}

impl Hold {
    /// Waits until the held call is at its hold.
    async fn reached(&mut self) {
        (&mut self.reached)
            .await
            .expect("the held call reached its hold");
    }
}

/// The store's side of a [`Hold`].
struct Gate {
    reached: oneshot::Sender<()>,
    resume: oneshot::Receiver<()>,
}

impl Gate {
    fn new() -> (Gate, Hold) {
        let (reached_tx, reached_rx) = oneshot::channel();
        let (resume_tx, resume_rx) = oneshot::channel();
        let gate = Gate {
            reached: reached_tx,
            resume: resume_rx,
        };
        let hold = Hold {
            reached: reached_rx,
            resume: resume_tx,
        };
        (gate, hold)
    }

    async fn pass(self) {
        let _ = self.reached.send(());
        let _ = self.resume.await;
    }
}

#[derive(Default)]
struct Gates {
    load: Option<Gate>,
    save: Option<Gate>,
}

/// A `MemoryStore` whose next `load` (after reading) or next `save` (before
/// writing) can be held, and which counts the loads that reach it.
#[derive(Clone)]
struct GatedStore {
    inner: MemoryStore,
    gates: Arc<Mutex<Gates>>,
    loads: Arc<AtomicUsize>,
}

impl GatedStore {
    fn new() -> Self {
        Self {
            inner: MemoryStore::new(),
            gates: Arc::default(),
            loads: Arc::default(),
        }
    }

    /// Holds the next `load` once it has read the record.
    fn hold_next_load(&self) -> Hold {
        let (gate, hold) = Gate::new();
        self.gates.lock().expect("gates").load = Some(gate);
        hold
    }

    /// Holds the next `save` before it writes anything.
    fn hold_next_save(&self) -> Hold {
        let (gate, hold) = Gate::new();
        self.gates.lock().expect("gates").save = Some(gate);
        hold
    }

    fn loads(&self) -> usize {
        self.loads.load(Ordering::SeqCst)
    }
}

impl SessionStore for GatedStore {
    async fn create(&self, key: &RecordKey, record: &Record) -> Result<bool, StoreError> {
        self.inner.create(key, record).await
    }

    async fn load(&self, key: &RecordKey) -> Result<Option<Record>, StoreError> {
        self.loads.fetch_add(1, Ordering::SeqCst);
        let record = self.inner.load(key).await;
        let gate = self.gates.lock().expect("gates").load.take();
        if let Some(gate) = gate {
            gate.pass().await;
        }
        record
    }

    async fn save(
        &self,
        key: &RecordKey,
        record: &Record,
        expected_version: u64,
    ) -> Result<bool, StoreError> {
        let gate = self.gates.lock().expect("gates").save.take();
        if let Some(gate) = gate {
            gate.pass().await;
        }
        self.inner.save(key, record, expected_version).await
    }

    async fn delete(&self, key: &RecordKey) -> Result<(), StoreError> {
        self.inner.delete(key).await
    }

    async fn touch(&self, key: &RecordKey, expires_at: SystemTime) -> Result<bool, StoreError> {
        self.inner.touch(key, expires_at).await
    }
}

impl OwnerIndex for GatedStore {
    async fn delete_by_owner(&self, owner: &str) -> Result<u64, StoreError> {
        self.inner.delete_by_owner(owner).await
    }

    async fn list_by_owner(&self, owner: &str) -> Result<Vec<(RecordKey, Record)>, StoreError> {
        self.inner.list_by_owner(owner).await
    }
}

type Store = CachingStore<MemoryStore, GatedStore>;

/// A fixed expiry far ahead (2100-01-01), so records compare equal.
fn expiry() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(4_102_444_800)
}

fn first_version() -> Record {
    Record::new(b"first".to_vec(), expiry()).with_owner(Some("user-7".into()))
}

fn second_version() -> Record {
    Record::new(b"second".to_vec(), expiry())
        .with_owner(Some("user-7".into()))
        .with_version(2)
}

/// A caching store whose backing store already holds the first version
/// under the returned key, and whose cache is empty, so the next load
/// misses.
async fn seeded() -> (Store, GatedStore, RecordKey) {
    let backing = GatedStore::new();
    let key = RecordKey::for_session_id(b"session");
    assert!(backing.create(&key, &first_version()).await.expect("seed"));
    let store = CachingStore::new(MemoryStore::new(), backing.clone());
    (store, backing, key)
}

/// Starts a load on `store` and returns it once the backing store has read
/// the record and is held; the caller lets it finish with `finish`.
async fn held_load(store: &Store, backing: &GatedStore, key: RecordKey) -> HeldLoad {
    let mut hold = backing.hold_next_load();
    let store = store.clone();
    let task = tokio::spawn(async move { store.load(&key).await });
    hold.reached().await;
    HeldLoad { hold, task }
}

struct HeldLoad {
    hold: Hold,
    task: tokio::task::JoinHandle<Result<Option<Record>, StoreError>>,
}

impl HeldLoad {
    /// Lets the load fill the cache and returns what it read.
    async fn finish(self) -> Option<Record> {
        let _ = self.hold.resume.send(());
        self.task.await.expect("load task").expect("load")
    }
}

async fn load(store: &Store, key: &RecordKey) -> Option<Record> {
    store.load(key).await.expect("load")
}

#[tokio::test]
async fn a_load_that_read_before_a_save_does_not_install_the_old_version() {
    let (store, backing, key) = seeded().await;
    let held = held_load(&store, &backing, key).await;
    assert!(store.save(&key, &second_version(), 1).await.expect("save"));
    assert_eq!(held.finish().await.expect("read").version, 1);

    assert_eq!(load(&store, &key).await, Some(second_version()));
}

#[tokio::test]
async fn a_load_that_read_before_a_delete_does_not_bring_the_session_back() {
    let (store, backing, key) = seeded().await;
    let held = held_load(&store, &backing, key).await;
    store.delete(&key).await.expect("delete");
    assert!(held.finish().await.is_some());

    assert_eq!(load(&store, &key).await, None);
}

#[tokio::test]
async fn a_load_that_read_before_delete_by_owner_does_not_bring_the_session_back() {
    let (store, backing, key) = seeded().await;
    let held = held_load(&store, &backing, key).await;
    assert_eq!(store.delete_by_owner("user-7").await.expect("delete"), 1);
    assert!(held.finish().await.is_some());

    assert_eq!(load(&store, &key).await, None);
}

#[tokio::test]
async fn a_load_that_read_before_a_touch_does_not_install_the_old_expiry() {
    let (store, backing, key) = seeded().await;
    let later = expiry() + Duration::from_secs(3_600);
    let held = held_load(&store, &backing, key).await;
    assert!(store.touch(&key, later).await.expect("touch"));
    held.finish().await;

    assert_eq!(load(&store, &key).await.expect("record").expires_at, later);
}

/// The load starts while the save is already under way and reads the store
/// before the save's write lands; the save then finishes, refreshing the
/// cache, before the load fills it. A generation moved only when a write
/// begins would not see this one.
#[tokio::test]
async fn a_load_that_began_during_a_save_does_not_install_the_old_version() {
    let (store, backing, key) = seeded().await;
    let mut save_hold = backing.hold_next_save();
    let save = tokio::spawn({
        let store = store.clone();
        async move { store.save(&key, &second_version(), 1).await }
    });
    save_hold.reached().await;

    let held = held_load(&store, &backing, key).await;
    let _ = save_hold.resume.send(());
    assert!(save.await.expect("save task").expect("save"));
    assert_eq!(held.finish().await.expect("read").version, 1);

    assert_eq!(load(&store, &key).await, Some(second_version()));
}

#[tokio::test]
async fn clones_see_each_others_writes() {
    let (store, backing, key) = seeded().await;
    let other = store.clone();
    let held = held_load(&store, &backing, key).await;
    assert!(other.save(&key, &second_version(), 1).await.expect("save"));
    held.finish().await;

    assert_eq!(load(&store, &key).await, Some(second_version()));
    assert_eq!(load(&other, &key).await, Some(second_version()));
}

#[tokio::test]
async fn quiet_loads_and_saves_still_fill_the_cache() {
    let (store, backing, key) = seeded().await;
    assert_eq!(load(&store, &key).await, Some(first_version()));
    assert_eq!(load(&store, &key).await, Some(first_version()));
    assert_eq!(backing.loads(), 1, "the second load is a cache hit");

    assert!(store.save(&key, &second_version(), 1).await.expect("save"));
    assert_eq!(load(&store, &key).await, Some(second_version()));
    assert_eq!(backing.loads(), 1, "a save leaves its record in the cache");
}

#[tokio::test]
async fn debug_output_stays_short() {
    let store = CachingStore::new(MemoryStore::new(), MemoryStore::new());
    let debug = format!("{store:?}");
    assert!(debug.starts_with("CachingStore"), "{debug}");
    assert!(debug.len() < 400, "{debug}");
}
