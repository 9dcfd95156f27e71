//! The payload and the handlers the comparison's cases share: the
//! criterion binary (`benches/compare.rs`) and `one_case`, which runs one
//! of them alone for a profiler.

use std::convert::Infallible;
use std::hint::black_box;

use http::{Request, Response};
use serde::{Deserialize, Serialize};
use tower_cookie_sessions::{Session, SessionError};

/// The session: a signed-in user, as in the crate's own benches.
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Profile {
    pub user_id: u64,
    pub name: String,
}

/// The signed-in user's id, which a read returns as the body.
pub const USER_ID: u64 = 1_234_567;
/// The user's name: 16 characters.
pub const NAME: &str = "Ada L. Lovelace!";
const _: () = assert!(NAME.len() == 16);
/// Every cookie in every case has this name (also each library's default).
pub const COOKIE_NAME: &str = "id";
/// tower-sessions keeps a map: the profile is stored under this key.
pub const PROFILE_KEY: &str = "profile";

/// The session every writing case sets.
pub fn profile() -> Profile {
    Profile {
        user_id: USER_ID,
        name: NAME.to_owned(),
    }
}

// Handlers over `tower::service_fn`.

/// Never asks for a session or a cookie: `bare/*`, `*/untouched`.
pub async fn untouched(_request: Request<String>) -> Result<Response<String>, Infallible> {
    Ok(Response::new(String::from("ok")))
}

/// This crate: open the session, read one field.
pub async fn this_read(request: Request<String>) -> Result<Response<String>, SessionError> {
    let session = Session::<Profile>::load(&request).await?;
    let user_id = session.read(|profile| profile.user_id);
    Ok(Response::new(black_box(user_id).to_string()))
}

/// This crate: a new session is set, sealed and sent.
pub async fn this_write(request: Request<String>) -> Result<Response<String>, SessionError> {
    Session::<Profile>::load(&request).await?.set(profile());
    Ok(Response::new(String::from("ok")))
}

fn ts_session(request: &Request<String>) -> tower_sessions::Session {
    request
        .extensions()
        .get::<tower_sessions::Session>()
        .cloned()
        .expect("SessionManagerLayer is added")
}

/// tower-sessions: load the record, read one field.
pub async fn ts_read(request: Request<String>) -> Result<Response<String>, Infallible> {
    let session = ts_session(&request);
    let profile: Option<Profile> = session.get(PROFILE_KEY).await.expect("store");
    let user_id = profile.map_or(0, |profile| profile.user_id);
    Ok(Response::new(black_box(user_id).to_string()))
}

/// tower-sessions: a new session gets the profile, is saved and sent.
pub async fn ts_insert(request: Request<String>) -> Result<Response<String>, Infallible> {
    let session = ts_session(&request);
    session.insert(PROFILE_KEY, profile()).await.expect("store");
    Ok(Response::new(String::from("ok")))
}
