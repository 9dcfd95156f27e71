//! `Session<T>`: the handler's typed view of its session.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http::{Extensions, Request};

use crate::clock::{from_unix_seconds, unix_seconds};
use crate::session::shared::config::MAX_COOKIE_LIFETIME;
use crate::session::shared::error::SessionError;
use crate::session::shared::open::Opening;
use crate::session::shared::state::{fresh_deadlines, Locked, Shared, State};
use crate::session::store::device::DeviceHandle;
use crate::session::SessionData;

/// The session of one request, typed by the application's own `T`.
///
/// Obtained once per request, from the axum extractor or
/// [`Session::load`]; that is when the cookie is opened. After that every
/// accessor is synchronous. Clones share one session, so a clone moved into
/// a task sees and makes the same changes; the handle is safe to hold
/// across `.await` (no lock is held between calls).
///
/// Changes are sent when the response leaves the layer: the handle never
/// says whether it lives in a cookie or a store.
///
/// # Examples
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use tower_cookie_sessions::Session;
///
/// #[derive(Clone, Default, Serialize, Deserialize)]
/// struct Visits {
///     count: u64,
/// }
///
/// async fn handler(session: Session<Visits>) -> String {
///     let count = session.update(|visits| {
///         visits.count += 1;
///         visits.count
///     });
///     format!("visits: {count}")
/// }
/// # let _ = handler;
/// ```
pub struct Session<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Clone for Session<T> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<T: SessionData> Session<T> {
    pub(crate) fn from_shared(shared: Arc<Shared<T>>) -> Self {
        Self { shared }
    }

    /// Opens the session of `request`, for plain tower or hyper services
    /// (axum handlers take `Session<T>` as an extractor instead). The same
    /// as [`Session::from_extensions`] on the request's extensions.
    ///
    /// # Errors
    ///
    /// [`SessionError::MissingLayer`] if no `SessionLayer<T>` has seen the
    /// request; the store's errors for a server-side session. A missing,
    /// tampered or expired cookie is not an error: it gives a fresh, empty
    /// session.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::convert::Infallible;
    /// use http::{Request, Response};
    /// use tower::{ServiceBuilder, ServiceExt};
    /// use tower_cookie_sessions::{Key, Session, SessionLayer};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let service = ServiceBuilder::new()
    ///     .layer(SessionLayer::<u64>::new(Key::generate())?)
    ///     .service_fn(|request: Request<String>| async move {
    ///         let session = Session::<u64>::load(&request).await?;
    ///         let visits = session.update(|visits| {
    ///             *visits += 1;
    ///             *visits
    ///         });
    ///         Ok::<_, tower_cookie_sessions::SessionError>(Response::new(format!("visits: {visits}")))
    ///     });
    ///
    /// let response = service.oneshot(Request::new(String::new())).await?;
    /// assert!(response.headers().contains_key("set-cookie"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn load<B>(
        request: &Request<B>,
    ) -> impl Future<Output = Result<Self, SessionError>> + Send + 'static {
        Self::from_extensions(request.extensions())
    }

    /// Opens the session that the innermost `SessionLayer<T>` around this
    /// code put into these request extensions (a request's, or axum's
    /// `Parts`).
    ///
    /// The session travels with the request, so this works in any task
    /// that holds the request or its parts: behind `tower::buffer::Buffer`,
    /// in middleware that runs the rest of the stack in a task of its own,
    /// in a layer's `call` or its future. The returned future holds what
    /// it needs and may be awaited anywhere.
    ///
    /// Each session belongs to the layer that owns it: when several
    /// `SessionLayer<T>`s wrap the code, this is the innermost one's that
    /// has seen the request so far. A new request a handler builds (an
    /// in-process sub-request) carries no session until a layer sees it,
    /// and then one of its own, from its own cookies; one built with a copy
    /// of these extensions joins this request and shares its sessions.
    ///
    /// Nothing is decrypted or loaded until this is called, and later calls
    /// in the same request return the same session.
    ///
    /// # Errors
    ///
    /// [`SessionError::MissingLayer`] if no `SessionLayer<T>` has seen the
    /// request; the store's errors for a server-side session. A missing,
    /// tampered or expired cookie is not an error: it gives a fresh, empty
    /// session.
    ///
    /// # Examples
    ///
    /// ```
    /// use http::{Request, Response};
    /// use tower::{ServiceBuilder, ServiceExt};
    /// use tower_cookie_sessions::{Key, Session, SessionError, SessionLayer};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let service = ServiceBuilder::new()
    ///     .layer(SessionLayer::<u64>::new(Key::generate())?)
    ///     .service_fn(|request: Request<String>| async move {
    ///         // The request moves into a task of its own; its session goes with it.
    ///         let seen = tokio::spawn(async move {
    ///             let session = Session::<u64>::from_extensions(request.extensions()).await?;
    ///             session.set(1);
    ///             Ok::<_, SessionError>(session.cloned())
    ///         })
    ///         .await
    ///         .expect("the task ran")?;
    ///         Ok::<_, SessionError>(Response::new(seen.to_string()))
    ///     });
    ///
    /// let response = service.oneshot(Request::new(String::new())).await?;
    /// assert!(response.headers().contains_key("set-cookie"));
    ///
    /// // Extensions no layer has seen carry no session.
    /// let error = Session::<u64>::from_extensions(&http::Extensions::new()).await.unwrap_err();
    /// assert!(matches!(error, SessionError::MissingLayer { .. }));
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_extensions(
        extensions: &Extensions,
    ) -> impl Future<Output = Result<Self, SessionError>> + Send + 'static {
        let opening = Opening::<T>::from_extensions(extensions);
        async move { opening?.open().await }
    }

    /// Reads the session data without cloning it.
    ///
    /// The session is locked while `f` runs: using this session from
    /// inside `f` panics (see [`update`](Self::update)).
    ///
    /// # Examples
    ///
    /// ```
    /// # use tower_cookie_sessions::Session;
    /// # fn example(session: Session<Vec<String>>) {
    /// let items = session.read(|cart| cart.len());
    /// # let _ = items;
    /// # }
    /// ```
    pub fn read<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        f(&self.lock().data)
    }

    /// A clone of the session data.
    ///
    /// # Examples
    ///
    /// ```
    /// # use tower_cookie_sessions::Session;
    /// # fn example(session: Session<Vec<String>>) {
    /// let cart: Vec<String> = session.cloned();
    /// # let _ = cart;
    /// # }
    /// ```
    #[must_use]
    pub fn cloned(&self) -> T {
        self.lock().data.clone()
    }

    /// Changes the session data and marks the session modified, so the
    /// response sends it. Returns what `f` returns.
    ///
    /// The session is locked while `f` runs. Using this session (this
    /// handle or a clone of it) from inside `f` panics with a message that
    /// says so, rather than waiting for itself forever; another thread or
    /// task using it meanwhile just waits. If `f` panics, the session is poisoned: its
    /// data goes back to what the request loaded, and it is never saved,
    /// whatever the handler or a panic-catching layer answers afterwards.
    ///
    /// # Examples
    ///
    /// ```
    /// # use tower_cookie_sessions::Session;
    /// # fn example(session: Session<Vec<String>>) {
    /// let count = session.update(|cart| {
    ///     cart.push("apple".to_owned());
    ///     cart.len()
    /// });
    /// # let _ = count;
    /// # }
    /// ```
    pub fn update<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        let mut state = self.lock_for_write();
        if state.as_loaded.is_none() {
            state.as_loaded = Some(state.data.clone());
        }
        state.status.modified = true;
        let mut change = UndoOnPanic {
            state: &mut state,
            shared: &self.shared,
            finished: false,
        };
        let result = f(&mut change.state.data);
        change.finished = true;
        result
    }

    /// Replaces the session data and marks the session modified.
    ///
    /// # Examples
    ///
    /// ```
    /// # use tower_cookie_sessions::Session;
    /// # fn example(session: Session<Vec<String>>) {
    /// session.set(vec!["pear".to_owned()]);
    /// # }
    /// ```
    pub fn set(&self, data: T) {
        let mut state = self.lock_for_write();
        state.status.modified = true;
        state.status.replaced = true;
        let previous = std::mem::replace(&mut state.data, data);
        // The first change of the request keeps what was loaded, to tell
        // later whether anything changed at all.
        if state.as_loaded.is_none() {
            state.as_loaded = Some(previous);
        }
    }

    /// Puts the data back to `T::default()`, keeping the session itself
    /// (its deadlines and cookie).
    ///
    /// # Examples
    ///
    /// ```
    /// # use tower_cookie_sessions::Session;
    /// # fn example(session: Session<Vec<String>>) {
    /// session.clear();
    /// assert!(session.read(Vec::is_empty));
    /// # }
    /// ```
    pub fn clear(&self) {
        self.set(T::default());
    }

    /// Issues the session again, keeping its data: a new issue time and a
    /// new absolute deadline. Call it when privileges change, e.g. after
    /// login.
    ///
    /// With client-side sessions, copies of the earlier cookie stay valid
    /// until their own deadlines: a cookie cannot be revoked without
    /// rotating the key. Server-side stores give the session a new id.
    ///
    /// # Examples
    ///
    /// ```
    /// # use tower_cookie_sessions::Session;
    /// # fn example(session: Session<Option<u64>>) {
    /// session.renew();
    /// session.set(Some(42)); // the signed-in user's id
    /// # }
    /// ```
    pub fn renew(&self) {
        let now = self.now();
        let mut state = self.lock_for_write();
        let persistent = state.deadlines.persistent;
        state.deadlines = fresh_deadlines(self.shared.config(), now, persistent);
        state.status.renewed = true;
    }

    /// Ends the session: the data goes back to `T::default()` and the
    /// response removes the cookie.
    ///
    /// Changing the session after this starts a new, fresh session with
    /// just those changes (handy for a "you have logged out" message).
    ///
    /// # Examples
    ///
    /// ```
    /// # use tower_cookie_sessions::Session;
    /// # fn example(session: Session<Option<u64>>) {
    /// session.destroy();
    /// assert_eq!(session.cloned(), None);
    /// assert!(session.is_destroyed());
    /// # }
    /// ```
    pub fn destroy(&self) {
        let mut state = self.lock();
        state.data = T::default();
        state.owner = None;
        if let Some(record) = state.record.as_mut() {
            // Signing out ends the device too: a session started after
            // this is a new one on the "your devices" page.
            record.device = None;
            record.label = None;
        }
        state.status.destroyed = true;
        state.status.modified = false;
        state.status.expiry_changed = false;
    }

    /// Whether [`destroy`](Self::destroy) was called and nothing changed
    /// since.
    ///
    /// # Examples
    ///
    /// ```
    /// # use tower_cookie_sessions::Session;
    /// # fn example(session: Session<u8>) {
    /// assert!(!session.is_destroyed());
    /// # }
    /// ```
    #[must_use]
    pub fn is_destroyed(&self) -> bool {
        self.lock().status.destroyed
    }

    /// Whether this session was started by this request (no valid cookie
    /// came with it).
    ///
    /// # Examples
    ///
    /// ```
    /// # use tower_cookie_sessions::Session;
    /// # fn example(session: Session<u8>) {
    /// if session.is_new() {
    ///     // first visit, or the old cookie expired
    /// }
    /// # }
    /// ```
    #[must_use]
    pub fn is_new(&self) -> bool {
        !self.lock().status.existed
    }

    /// Whether the data was changed in this request.
    ///
    /// # Examples
    ///
    /// ```
    /// # use tower_cookie_sessions::Session;
    /// # fn example(session: Session<u8>) {
    /// session.set(1);
    /// assert!(session.is_modified());
    /// # }
    /// ```
    #[must_use]
    pub fn is_modified(&self) -> bool {
        self.lock().status.modified
    }

    /// When the session was issued (or last renewed).
    ///
    /// # Examples
    ///
    /// ```
    /// # use tower_cookie_sessions::Session;
    /// # fn example(session: Session<u8>) {
    /// assert!(session.issued_at() <= std::time::SystemTime::now());
    /// # }
    /// ```
    #[must_use]
    pub fn issued_at(&self) -> SystemTime {
        from_unix_seconds(self.lock().deadlines.issued)
    }

    /// When the session ends unless activity or a renewal extends it: the
    /// earlier of the inactivity and absolute deadlines.
    ///
    /// # Examples
    ///
    /// ```
    /// # use tower_cookie_sessions::Session;
    /// # fn example(session: Session<u8>) {
    /// assert!(session.expires_at() <= session.absolute_deadline());
    /// # }
    /// ```
    #[must_use]
    pub fn expires_at(&self) -> SystemTime {
        from_unix_seconds(self.lock().deadlines.expires())
    }

    /// The deadline no activity extends.
    ///
    /// # Examples
    ///
    /// ```
    /// # use tower_cookie_sessions::Session;
    /// # fn example(session: Session<u8>) {
    /// assert!(session.absolute_deadline() > session.issued_at());
    /// # }
    /// ```
    #[must_use]
    pub fn absolute_deadline(&self) -> SystemTime {
        from_unix_seconds(self.lock().deadlines.absolute)
    }

    /// The inactivity deadline, when the layer uses
    /// [`Expiry::Inactivity`](crate::session::Expiry::Inactivity).
    ///
    /// # Examples
    ///
    /// ```
    /// # use tower_cookie_sessions::Session;
    /// # fn example(session: Session<u8>) {
    /// if let Some(deadline) = session.idle_deadline() {
    ///     assert!(deadline <= session.absolute_deadline());
    /// }
    /// # }
    /// ```
    #[must_use]
    pub fn idle_deadline(&self) -> Option<SystemTime> {
        self.lock().deadlines.idle.map(from_unix_seconds)
    }

    /// Overrides, for this session only, when it ends: `duration` from now,
    /// at most [`MAX_COOKIE_LIFETIME`](crate::session::MAX_COOKIE_LIFETIME)
    /// (400 days, what browsers keep a cookie). The inactivity timeout, if
    /// any, still applies within it. A later [`renew`](Self::renew) goes
    /// back to the layer's settings.
    ///
    /// # Examples
    ///
    /// A "remember me" login that lasts 30 days:
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use tower_cookie_sessions::Session;
    /// # fn example(session: Session<u8>) {
    /// session.set_persistent(true);
    /// session.expire_in(Duration::from_secs(30 * 24 * 60 * 60));
    /// # }
    /// ```
    pub fn expire_in(&self, duration: Duration) {
        let now = self.now();
        let mut state = self.lock_for_write();
        // The layer refuses longer lifetimes when it is built; a duration
        // given here at run time is capped instead, so that neither the
        // sealed deadline nor `Max-Age` outlives what a browser keeps.
        let duration = duration.min(MAX_COOKIE_LIFETIME);
        let absolute = now.saturating_add(duration.as_secs());
        state.deadlines.absolute = absolute;
        state.deadlines.idle = state.deadlines.idle.map(|idle| idle.min(absolute));
        state.status.expiry_changed = true;
    }

    /// Tags the session with an owner, such as a user id, so that a
    /// server-side store can end all of that owner's sessions at once
    /// ([`OwnerIndex::delete_by_owner`](crate::store::OwnerIndex::delete_by_owner)).
    /// Client-side sessions ignore it. A `MemoryStore`
    /// keeps a new record with an owner in its protected segment, so set it
    /// in the request that signs in.
    ///
    /// # Examples
    ///
    /// ```
    /// # use tower_cookie_sessions::Session;
    /// # fn example(session: Session<u8>) {
    /// session.renew();
    /// session.set_owner(Some("user-42".to_owned()));
    /// assert_eq!(session.owner().as_deref(), Some("user-42"));
    /// # }
    /// ```
    pub fn set_owner(&self, owner: Option<String>) {
        let mut state = self.lock_for_write();
        if state.owner != owner {
            state.owner = owner;
            state.status.modified = true;
        }
    }

    /// The session's owner tag, if any.
    ///
    /// # Examples
    ///
    /// ```
    /// # use tower_cookie_sessions::Session;
    /// # fn example(session: Session<u8>) {
    /// let owner: Option<String> = session.owner();
    /// # let _ = owner;
    /// # }
    /// ```
    #[must_use]
    pub fn owner(&self) -> Option<String> {
        self.lock().owner.clone()
    }

    /// Labels the device this session is on, such as "Firefox on Linux",
    /// for the owner's "your devices" page
    /// ([`SessionLayer::devices`](crate::SessionLayer::devices)). The
    /// label is sealed with the record, like the session's data; set it
    /// in the request that signs in, from what the application knows of
    /// the browser. Client-side sessions ignore it.
    ///
    /// # Examples
    ///
    /// ```
    /// # use tower_cookie_sessions::Session;
    /// # fn example(session: Session<u8>, user_agent: &str) {
    /// session.renew();
    /// session.set_owner(Some("user-42".to_owned()));
    /// session.set_device_label(Some(user_agent.chars().take(80).collect()));
    /// # }
    /// ```
    pub fn set_device_label(&self, label: Option<String>) {
        if self.lock().record.is_none() {
            // A client-side session: nothing to label, nothing to restart.
            return;
        }
        let mut state = self.lock_for_write();
        let Some(record) = state.record.as_mut() else {
            return;
        };
        if record.label != label {
            record.label = label;
            state.status.modified = true;
        }
    }

    /// The device label set with
    /// [`set_device_label`](Self::set_device_label), or loaded with the
    /// record; always `None` for client-side sessions.
    ///
    /// # Examples
    ///
    /// ```
    /// # use tower_cookie_sessions::Session;
    /// # fn example(session: Session<u8>) {
    /// let label: Option<String> = session.device_label();
    /// # let _ = label;
    /// # }
    /// ```
    #[must_use]
    pub fn device_label(&self) -> Option<String> {
        self.lock().record.as_ref()?.label.clone()
    }

    /// This session's handle on its owner's "your devices" page, so the
    /// page can mark the device it is shown on: `None` for client-side
    /// sessions and for a session not stored yet (it gets one when first
    /// stored, and keeps it when [renewed](Self::renew)).
    ///
    /// # Examples
    ///
    /// ```
    /// # use tower_cookie_sessions::session::Device;
    /// # use tower_cookie_sessions::Session;
    /// # fn example(session: Session<u8>, devices: Vec<Device>) {
    /// for device in &devices {
    ///     let mark = if session.device() == Some(device.handle()) { " (this device)" } else { "" };
    ///     println!("{}{mark}", device.label().unwrap_or("unknown"));
    /// }
    /// # }
    /// ```
    #[must_use]
    pub fn device(&self) -> Option<DeviceHandle> {
        // `destroy` forgets the device, so a destroyed session has none.
        Some(self.lock().record.as_ref()?.device?.handle)
    }

    /// Whether the cookie is persistent (sent with `Max-Age`) rather than a
    /// browser-session cookie.
    ///
    /// # Examples
    ///
    /// ```
    /// # use tower_cookie_sessions::Session;
    /// # fn example(session: Session<u8>) {
    /// let remembered = session.is_persistent();
    /// # let _ = remembered;
    /// # }
    /// ```
    #[must_use]
    pub fn is_persistent(&self) -> bool {
        self.lock().deadlines.persistent
    }

    /// Flask's `session.permanent`: `true` sends a persistent cookie that
    /// outlives the browser, `false` a browser-session cookie. Either way the
    /// server enforces the session's deadlines.
    ///
    /// # Examples
    ///
    /// ```
    /// # use tower_cookie_sessions::Session;
    /// # fn example(session: Session<u8>) {
    /// session.set_persistent(true);
    /// assert!(session.is_persistent());
    /// # }
    /// ```
    pub fn set_persistent(&self, persistent: bool) {
        let mut state = self.lock_for_write();
        if state.deadlines.persistent != persistent {
            state.deadlines.persistent = persistent;
            state.status.expiry_changed = true;
        }
    }

    pub(crate) fn lock(&self) -> Locked<'_, T> {
        self.shared.lock()
    }
}

/// Undoes an `update` whose closure panicked: the half-changed data is
/// replaced by what the request loaded, and the session is poisoned so
/// nothing of it is saved.
struct UndoOnPanic<'a, T> {
    state: &'a mut State<T>,
    shared: &'a Shared<T>,
    finished: bool,
}

impl<T> Drop for UndoOnPanic<'_, T> {
    fn drop(&mut self) {
        if !self.finished {
            if let Some(loaded) = self.state.as_loaded.take() {
                self.state.data = loaded;
            }
            self.shared.poison();
        }
    }
}

impl<T: SessionData> Session<T> {
    /// Locks for a change; a change after `destroy` starts a new session.
    fn lock_for_write(&self) -> Locked<'_, T> {
        let mut state = self.lock();
        if state.status.destroyed {
            let now = self.now();
            let persistent = self.shared.config().persistent_by_default();
            state.deadlines = fresh_deadlines(self.shared.config(), now, persistent);
            state.status.destroyed = false;
            state.status.renewed = true;
        }
        state
    }

    fn now(&self) -> u64 {
        unix_seconds(self.shared.config().clock.now())
    }
}

/// Shows the session's state, never its data: session data holds user ids
/// and tokens, and `Debug` output ends up in logs.
impl<T> fmt::Debug for Session<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.shared.try_lock() {
            Some(state) => f
                .debug_struct("Session")
                .field("type", &std::any::type_name::<T>())
                .field("status", &state.status)
                .finish_non_exhaustive(),
            None => f.write_str("Session { <locked> }"),
        }
    }
}
