//! Server-side sessions: the cookie holds a sealed id, a store holds the
//! session.

use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use crate::clock::{from_unix_seconds, unix_seconds};
use crate::cookies::parse::MAX_CANDIDATES;
use crate::cookies::Cookies;
use crate::envelope;
use crate::key::Purpose;
use crate::session::shared::backend::{Committed, ErasedBackend, Loading, MaybeReady, SetCookie};
use crate::session::shared::config::{LoadFailure, SessionConfig};
use crate::session::shared::error::SessionError;
use crate::session::shared::plaintext::{self, decode_session, Deadlines, Format};
use crate::session::shared::revocation::LoadHook;
use crate::session::shared::set_cookie;
use crate::session::shared::state::{
    record_activity, RecordState, SessionId, Shared, State, Status,
};
use crate::session::shared::trace;
use crate::session::store::conflict::ConflictPolicy;
use crate::session::store::device::{self, Origin};
use crate::session::store::guarded::Guarded;
use crate::session::store::ids;
use crate::session::store::log_tag::LogTag;
use crate::session::store::record;
use crate::session::SessionData;
use crate::store::{Record, RecordKey, SessionStore, StoreError};

/// The one `Set-Cookie` a store session's response may carry: its id
/// cookie or that cookie's removal.
type IdCookie = Option<http::HeaderValue>;

/// How many merges a save may try before it answers with a conflict.
const MAX_MERGES: usize = 3;

/// How many fresh ids a new session may try before giving up; with 128
/// random bits a single collision is already beyond belief, so reaching
/// the limit means the store answers `false` to everything.
const MAX_CREATE_ATTEMPTS: usize = 4;

/// Sessions kept in a [`SessionStore`]; the cookie carries only the sealed
/// session id. Made by [`SessionLayer::store_builder`](crate::SessionLayer::store_builder).
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::session::StoreBackend;
/// use tower_cookie_sessions::store::MemoryStore;
/// use tower_cookie_sessions::{Key, SessionLayer};
///
/// # fn main() -> Result<(), tower_cookie_sessions::ConfigError> {
/// let layer: SessionLayer<u64, StoreBackend<MemoryStore>> =
///     SessionLayer::store_builder(Key::generate(), MemoryStore::new()).build()?;
/// # let _ = layer;
/// # Ok(())
/// # }
/// ```
pub struct StoreBackend<S> {
    pub(crate) store: Arc<S>,
}

impl<S> Clone for StoreBackend<S> {
    fn clone(&self) -> Self {
        Self {
            store: Arc::clone(&self.store),
        }
    }
}

impl<S: fmt::Debug> fmt::Debug for StoreBackend<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreBackend")
            .field("store", &self.store)
            .finish()
    }
}

/// The object-safe loader and committer behind a store layer.
pub(crate) struct StoreSessions<S, T> {
    store: Arc<Guarded<S>>,
    conflict: ConflictPolicy<T>,
    /// The application's check of each loaded session.
    hook: Option<LoadHook<T>>,
}

impl<S: SessionStore, T> StoreSessions<S, T> {
    /// Calls on `store` each run under `timeout`, through its breaker.
    pub(crate) fn new(
        store: Arc<S>,
        timeout: Duration,
        conflict: ConflictPolicy<T>,
        hook: Option<LoadHook<T>>,
    ) -> Self {
        Self {
            store: Arc::new(Guarded::new(store, timeout)),
            conflict,
            hook,
        }
    }
}

impl<S: SessionStore, T: SessionData> ErasedBackend<T> for StoreSessions<S, T> {
    fn load(&self, config: &Arc<SessionConfig>, jar: &Cookies) -> Loading<T> {
        let now = unix_seconds(config.clock.now());
        // A forged or guessed id is refused here, before any store call.
        let Some((id, reseal)) = authentic_id(config, jar) else {
            let mut state = fresh(config, now);
            if jar.request().values(&config.cookie_name).next().is_some() {
                state.status.refused = Some("not authentic");
            }
            return MaybeReady::ready(Ok(state));
        };
        let store = Arc::clone(&self.store);
        let config = Arc::clone(config);
        let keep_original = matches!(self.conflict, ConflictPolicy::Merge { .. });
        let hook = self.hook.clone();
        MaybeReady::Pending(Box::pin(async move {
            let state = load_record(&*store, &config, id, reseal, keep_original, now).await?;
            let revoked = config.revocation.refuses(state.deadlines.issued);
            if !state.status.existed || (hook.is_none() && !revoked) {
                return Ok(state);
            }
            // Boxed: the hook's and the delete's futures would otherwise
            // make every load's future larger, and it is moved as a whole.
            Box::pin(refuse_revoked(&*store, &config, hook.as_ref(), id, state)).await
        }))
    }

    fn commit(&self, config: &Arc<SessionConfig>, session: &Arc<Shared<T>>) -> Committed {
        let Some(commit) = Commit::plan(config, session) else {
            // Nothing to save; a cookie whose session ended goes.
            let ended = session.lock().status.ended;
            return MaybeReady::ready(Ok(ended.then(|| set_cookie::removal(config)).into()));
        };
        if let Some(done) = commit.without_store(config) {
            return MaybeReady::ready(done.map(SetCookie::from));
        }
        let store = Arc::clone(&self.store);
        let config = Arc::clone(config);
        let conflict = self.conflict.clone();
        let session = Arc::clone(session);
        MaybeReady::Pending(Box::pin(async move {
            let (set_cookie, written) = commit.run(&*store, &config, &conflict).await?;
            if let Some(written) = written {
                written.write_back(&session);
            }
            Ok(set_cookie.into())
        }))
    }
}

/// A new, empty server-side session; it gets an id when first saved.
fn fresh<T: SessionData>(config: &SessionConfig, now: u64) -> State<T> {
    let mut state = State::fresh(config, now);
    state.record = Some(Box::new(RecordState::new()));
    state
}

/// The first request cookie that opens as a session id, and whether it was
/// sealed under an old key. At most [`MAX_CANDIDATES`] cookies with the
/// session's name are tried, in order; one that does not open is skipped,
/// and a debug-level event says why.
fn authentic_id(config: &SessionConfig, jar: &Cookies) -> Option<(SessionId, bool)> {
    let name = config.cookie_name.as_str();
    let id_of = |plaintext: &[u8], key_id| match SessionId::try_from(plaintext) {
        Ok(id) => Some((id, key_id != config.keys.current_id())),
        Err(_) => {
            tracing::debug!(cookie = name, "session id cookie has the wrong length");
            None
        }
    };
    jar.request()
        .values(name)
        .take(MAX_CANDIDATES)
        .find_map(|value| {
            envelope::open_with(&config.keys, Purpose::SessionId, name, &value, id_of)
                .unwrap_or_else(|error| {
                    tracing::debug!(cookie = name, reason = %error, "session id cookie refused");
                    None
                })
        })
}

/// Runs a store operation under the layer's timeout.
pub(crate) async fn timed<O>(
    timeout: Duration,
    operation: impl Future<Output = Result<O, StoreError>>,
) -> Result<O, StoreError> {
    let mut operation = pin!(operation);
    // A store that answers at once (memory, a cache hit) needs no timer:
    // poll it first and arm the timeout only if it has to wait.
    if let Poll::Ready(output) = poll_fn(|cx| Poll::Ready(operation.as_mut().poll(cx))).await {
        return output;
    }
    tokio::time::timeout(timeout, operation)
        .await
        .unwrap_or(Err(StoreError::Timeout))
}

fn save_error(error: StoreError) -> SessionError {
    SessionError::Save(Arc::new(error))
}

fn no_randomness(error: getrandom::Error) -> SessionError {
    save_error(StoreError::Corrupt(format!(
        "no randomness for a new session: {error}"
    )))
}

async fn load_record<S: SessionStore, T: SessionData>(
    store: &S,
    config: &SessionConfig,
    id: SessionId,
    reseal: bool,
    keep_original: bool,
    now: u64,
) -> Result<State<T>, SessionError> {
    let key = RecordKey::for_session_id(&id);
    let record = match store.load(&key).await {
        Ok(record) => record,
        Err(error) => {
            return match config.load_failure {
                LoadFailure::Fail => {
                    tracing::error!(%error, "session store unavailable; answering with an error");
                    Err(SessionError::Load(Arc::new(error)))
                }
                LoadFailure::ContinueEmpty => {
                    tracing::warn!(%error, "session store unavailable; carrying on with an empty session that will not be saved");
                    let mut state = fresh(config, now);
                    state.status.refused = Some("store unavailable");
                    if let Some(record) = state.record.as_mut() {
                        record.detached = true;
                    }
                    Ok(state)
                }
            };
        }
    };
    // An authentic id whose record is gone is never adopted: the visitor
    // gets a new id when the session is next saved.
    let tag = LogTag::of(config, &key);
    let Some(record) = record else {
        tracing::debug!(session = %tag, "no record for the session id; starting a fresh session");
        return Ok(ended(config, now, "no record"));
    };
    if record.is_expired(from_unix_seconds(now)) {
        tracing::debug!(session = %tag, "session record expired; starting a fresh session");
        return Ok(ended(config, now, "expired"));
    }
    let opened = record::open(config, store.is_trusted(), &key, &record.data);
    let plaintext = match opened {
        Ok(ref plaintext) => plaintext,
        Err(reason) => {
            tracing::warn!(
                session = %tag,
                reason,
                "session record refused; starting a fresh session that replaces it"
            );
            return Ok(replacing(config, id, record.version, now, reason));
        }
    };
    let Some((meta, session)) = device::decode(plaintext) else {
        tracing::warn!(session = %tag, "session record has no device block; starting a fresh session that replaces it");
        return Ok(replacing(
            config,
            id,
            record.version,
            now,
            "malformed device block",
        ));
    };
    let expiry = unix_seconds(record.expires_at);
    match decode_session::<T>(config, session, now, Some(expiry)) {
        Ok((data, deadlines)) => {
            let mut state = State::loaded(data, deadlines, now);
            state.status.reseal = reseal;
            state.owner = record.owner;
            state.record = Some(Box::new(RecordState {
                id: Some(id),
                version: record.version,
                original: keep_original.then(|| state.data.clone()),
                detached: false,
                replace: false,
                device: Some(meta.origin),
                label: meta.label,
            }));
            Ok(state)
        }
        Err(refusal) if refusal.unreadable => {
            // Data that does not decode was reported at `warn`, once a
            // minute; another codec's or schema's record is expected after
            // a change of either.
            tracing::debug!(
                session = %tag,
                reason = refusal.reason,
                "session record unreadable; starting a fresh session that replaces it"
            );
            Ok(replacing(config, id, record.version, now, refusal.reason))
        }
        Err(refusal) => {
            tracing::debug!(
                session = %tag,
                reason = refusal.reason,
                "session record refused; starting a fresh session"
            );
            Ok(ended(config, now, refusal.reason))
        }
    }
}

/// The loaded session, or a fresh one when the revocation cutoff or the
/// application's hook refuses it (its record is then deleted, and its
/// cookie removed); the error the hook failed with, or its timeout.
async fn refuse_revoked<S: SessionStore, T: SessionData>(
    store: &S,
    config: &SessionConfig,
    hook: Option<&LoadHook<T>>,
    id: SessionId,
    state: State<T>,
) -> Result<State<T>, SessionError> {
    if !state.status.existed {
        return Ok(state);
    }
    let issued = state.deadlines.issued;
    let refusal = if config.revocation.refuses(issued) {
        Some("issued before the revocation cutoff")
    } else if let Some(hook) = hook {
        let verdict = hook(&state.data, from_unix_seconds(issued));
        match timed(config.store_timeout, verdict).await {
            Ok(true) => None,
            Ok(false) => Some("refused by the load hook"),
            Err(error) => {
                tracing::error!(%error, "session load hook failed; answering with an error");
                return Err(SessionError::Load(Arc::new(error)));
            }
        }
    } else {
        None
    };
    let Some(reason) = refusal else {
        return Ok(state);
    };
    let key = RecordKey::for_session_id(&id);
    tracing::debug!(
        session = %LogTag::of(config, &key),
        reason,
        "session refused; deleting its record and starting a fresh session"
    );
    // The record would be refused on every later request too: it goes now
    // rather than waiting for its expiry. A failure only leaves it there.
    if let Err(error) = store.delete(&key).await {
        tracing::warn!(%error, "refused session's record not deleted; it expires on its own");
    }
    Ok(ended(config, state.opened_at, reason))
}

/// A fresh session in place of one whose cookie opened but whose session
/// has ended: unless the handler starts a new one, the response removes
/// the cookie.
fn ended<T: SessionData>(config: &SessionConfig, now: u64, reason: &'static str) -> State<T> {
    let mut state = fresh(config, now);
    state.status.ended = true;
    state.status.refused = Some(reason);
    state
}

/// A fresh session whose first save overwrites the record under `id`,
/// which could not be read.
fn replacing<T: SessionData>(
    config: &SessionConfig,
    id: SessionId,
    version: u64,
    now: u64,
    reason: &'static str,
) -> State<T> {
    let mut state = fresh(config, now);
    state.status.refused = Some(reason);
    state.record = Some(Box::new(RecordState {
        id: Some(id),
        version,
        original: None,
        detached: false,
        replace: true,
        device: None,
        label: None,
    }));
    state
}

/// What the handler left, taken from the session so no lock is held while
/// the store works.
struct Commit<T> {
    data: T,
    deadlines: Deadlines,
    owner: Option<String>,
    status: Status,
    record: RecordState<T>,
    refresh: bool,
    /// When the request opened the session: deadlines are judged by the
    /// same time as the load, so a request reads the clock once.
    now: u64,
}

impl<T: SessionData> Commit<T> {
    /// `None` when the request leaves nothing to do.
    fn plan(config: &SessionConfig, session: &Shared<T>) -> Option<Self> {
        let state = session.lock();
        let now = state.opened_at;
        let record = state.record.as_deref().cloned()?;
        let status = state.status;
        let refresh = state.refresh_due(config, now);
        let changed = status.modified || status.expiry_changed || status.renewed || record.replace;
        let idle = !(status.destroyed || changed || refresh || status.reseal);
        // A session nobody saved yet has nothing to refresh or re-seal.
        let unsaved = record.id.is_none() && !status.destroyed && !changed;
        if idle || unsaved {
            return None;
        }
        Some(Self {
            data: state.data.clone(),
            deadlines: state.deadlines,
            owner: state.owner.clone(),
            status,
            record,
            refresh,
            now,
        })
    }

    fn changed(&self) -> bool {
        self.status.modified || self.status.expiry_changed || self.record.replace
    }

    /// The answer when the store need not be asked.
    fn without_store(&self, config: &SessionConfig) -> Option<Result<IdCookie, SessionError>> {
        if self.record.detached {
            // The store is down: nothing of this session can be saved.
            let removal = self.status.destroyed.then(|| set_cookie::removal(config));
            return Some(Ok(removal));
        }
        if self.status.destroyed && self.record.id.is_none() {
            return Some(Ok(Some(set_cookie::removal(config))));
        }
        let only_reseal =
            !self.status.destroyed && !self.changed() && !self.status.renewed && !self.refresh;
        if only_reseal {
            let id = self.record.id?;
            return Some(Ok(Some(id_cookie(config, &id, &self.deadlines, self.now))));
        }
        None
    }

    async fn run<S: SessionStore>(
        mut self,
        store: &S,
        config: &SessionConfig,
        conflict: &ConflictPolicy<T>,
    ) -> Result<(IdCookie, Option<Written>), SessionError> {
        let now = self.now;
        let old_key = self.record.id.map(|id| RecordKey::for_session_id(&id));
        if self.status.destroyed {
            if let Some(key) = old_key {
                store.delete(&key).await.map_err(save_error)?;
            }
            return Ok((Some(set_cookie::removal(config)), None));
        }
        let Some(expires) = record_activity(config, &mut self.deadlines, now) else {
            // An override ended the session already.
            if let Some(key) = old_key {
                store.delete(&key).await.map_err(save_error)?;
            }
            return Ok((Some(set_cookie::removal(config)), None));
        };
        let expires_at = from_unix_seconds(expires);
        let origin = match self.record.device {
            Some(origin) => origin,
            None => Origin::fresh(now).map_err(no_randomness)?,
        };

        let kept_id = self.record.id.filter(|_| !self.status.renewed);
        let Some(id) = kept_id else {
            // New or renewed: a new id, created before the old record goes,
            // so a failure leaves the old session working.
            let id = create(store, |key| {
                self.record_for(
                    store.is_trusted(),
                    config,
                    key,
                    &self.data,
                    expires_at,
                    &origin,
                )
            })
            .await?;
            if let Some(old) = old_key {
                if let Err(error) = store.delete(&old).await {
                    tracing::warn!(%error, "renewed session's old record not deleted; it expires on its own");
                }
            }
            let written = self.written(id, 1, origin);
            return Ok((
                Some(id_cookie(config, &id, &self.deadlines, now)),
                Some(written),
            ));
        };
        let key = RecordKey::for_session_id(&id);

        let mut version = self.record.version;
        if self.changed() {
            let Some(saved) = self
                .save(store, config, conflict, &key, expires_at, &origin)
                .await?
            else {
                return Ok((None, None));
            };
            version = saved;
        } else if self.refresh && !store.touch(&key, expires_at).await.map_err(save_error)? {
            tracing::debug!(session = %LogTag::of(config, &key), "session record gone; not brought back");
            return Ok((None, None));
        }
        // The id is unchanged, so the cookie only needs sending again when
        // something it carries changed: the sealing key or its `Max-Age`.
        let resend = self.status.reseal || self.status.expiry_changed || self.deadlines.persistent;
        let set_cookie = resend.then(|| id_cookie(config, &id, &self.deadlines, now));
        Ok((set_cookie, Some(self.written(id, version, origin))))
    }

    /// What this commit left in the store, once it is there: `id` at
    /// `version`.
    fn written(&self, id: SessionId, version: u64, origin: Origin) -> Written {
        Written {
            id,
            version,
            deadlines: self.deadlines,
            origin,
        }
    }

    /// The record for `data` under `key`, naming the device `origin`:
    /// encoded, bound to the key and sealed unless the store is trusted,
    /// and refused when it would be larger than the layer allows.
    fn record_for(
        &self,
        trusted: bool,
        config: &SessionConfig,
        key: &RecordKey,
        data: &T,
        expires_at: std::time::SystemTime,
        origin: &Origin,
    ) -> Result<Record, SessionError> {
        let data = record::seal(config, trusted, key, |out| {
            device::encode_into(origin, self.now, self.record.label.as_deref(), out);
            plaintext::encode_into(&self.deadlines, Format::of(config), data, out)
        })
        .map_err(|error| SessionError::Encode(error.to_string()))?;
        if data.len() > config.max_record_size {
            return Err(SessionError::TooLarge {
                size: data.len(),
                limit: config.max_record_size,
            });
        }
        Ok(Record::new(data, expires_at).with_owner(self.owner.clone()))
    }

    /// Compare-and-set, merging on conflict as the policy says: the version
    /// written, or `None` when the record is gone (a destroyed session is
    /// not brought back).
    async fn save<S: SessionStore>(
        &self,
        store: &S,
        config: &SessionConfig,
        conflict: &ConflictPolicy<T>,
        key: &RecordKey,
        expires_at: std::time::SystemTime,
        origin: &Origin,
    ) -> Result<Option<u64>, SessionError> {
        let now = self.now;
        let mut expected = self.record.version;
        let mut mine = self.data.clone();
        let mut base = self.record.original.clone();
        for attempt in 0..=MAX_MERGES {
            let record = self
                .record_for(store.is_trusted(), config, key, &mine, expires_at, origin)?
                .with_version(expected + 1);
            if store
                .save(key, &record, expected)
                .await
                .map_err(save_error)?
            {
                return Ok(Some(record.version));
            }
            let latest = store.load(key).await.map_err(save_error)?;
            let Some(latest) = latest.filter(|record| !record.is_expired(from_unix_seconds(now)))
            else {
                tracing::debug!(session = %LogTag::of(config, key), "session record gone; not brought back");
                return Ok(None);
            };
            if matches!(conflict, ConflictPolicy::KeepLatest) {
                tracing::warn!(
                    session = %LogTag::of(config, key),
                    "session changed by another request; keeping its version and dropping this request's changes"
                );
                return Ok(Some(latest.version));
            }
            let ConflictPolicy::Merge {
                merge,
                replace_conflicts,
            } = conflict
            else {
                tracing::warn!(
                    session = %LogTag::of(config, key),
                    "session changed by another request; answering with a conflict"
                );
                return Err(SessionError::Conflict);
            };
            let theirs = record::open(config, store.is_trusted(), key, &latest.data)
                .ok()
                .and_then(|plaintext| {
                    let (_, session) = device::decode(&plaintext)?;
                    let expiry = unix_seconds(latest.expires_at);
                    decode_session::<T>(config, session, now, Some(expiry)).ok()
                })
                .map(|(data, _)| data);
            let merged = match (theirs, &base) {
                (Some(theirs), Some(loaded))
                    if attempt < MAX_MERGES && !(*replace_conflicts && self.status.replaced) =>
                {
                    merge(loaded, &mine, &theirs).map(|merged| (merged, theirs))
                }
                _ => None,
            };
            let Some((merged, theirs)) = merged else {
                tracing::warn!(
                    session = %LogTag::of(config, key),
                    "session changed by another request and the changes do not merge; answering with a conflict"
                );
                return Err(SessionError::Conflict);
            };
            mine = merged;
            base = Some(theirs);
            expected = latest.version;
        }
        Err(SessionError::Conflict)
    }
}

/// What a commit left in the store, written back into the request's
/// session so that committing it again saves nothing twice.
struct Written {
    id: SessionId,
    version: u64,
    deadlines: Deadlines,
    origin: Origin,
}

impl Written {
    fn write_back<T>(self, session: &Shared<T>) {
        let mut state = session.lock();
        state.deadlines = self.deadlines;
        state.status = Status::saved();
        if let Some(record) = state.record.as_mut() {
            record.id = Some(self.id);
            record.version = self.version;
            record.replace = false;
            record.device = Some(self.origin);
        }
        // A new or renewed session's id is known only now.
        trace::record_id(session.span(), session.config(), &state);
    }
}

/// Creates the record `record_for` makes for a fresh id (each record is
/// bound to its key), retrying on the (theoretical) collision with a live
/// record.
async fn create<S: SessionStore>(
    store: &S,
    record_for: impl Fn(&RecordKey) -> Result<Record, SessionError>,
) -> Result<SessionId, SessionError> {
    for _ in 0..MAX_CREATE_ATTEMPTS {
        let id = ids::fresh_id().map_err(no_randomness)?;
        let key = RecordKey::for_session_id(&id);
        let record = record_for(&key)?;
        if store.create(&key, &record).await.map_err(save_error)? {
            return Ok(id);
        }
    }
    Err(save_error(StoreError::Corrupt(
        "the store refused every new session id".into(),
    )))
}

/// The `Set-Cookie` carrying the sealed id.
fn id_cookie(
    config: &SessionConfig,
    id: &SessionId,
    deadlines: &Deadlines,
    now: u64,
) -> http::HeaderValue {
    let max_age = deadlines
        .persistent
        .then(|| deadlines.expires().saturating_sub(now));
    set_cookie::sealed_cookie(config, Purpose::SessionId, id, max_age)
}
