//! Sign-in on axum, to copy from: a login form, a typed `User` session
//! renewed at login, flash messages, a protected page, logout, and "sign
//! out my other devices".
//!
//! ```text
//! SESSION_KEY=$(openssl rand -hex 32) cargo run --example login
//! SESSION_STORE=memory cargo run --example login    # or any URL counter takes
//! ```
//!
//! Then open <http://localhost:3000/> in Chromium or Firefox and sign in as
//! `alice` or `bob`, password `correct horse`. The session cookie is
//! `__Host-id`, so it is `Secure`: browsers accept that from
//! `http://localhost` only; anywhere else, serve this behind TLS. Open a
//! second browser profile, sign in there as the same user, press "sign
//! out everywhere else" in the first: the second is signed out on its next
//! request. `PORT`, `SESSION_KEY`, `SESSION_STORE` and `RUST_LOG` work as
//! in `examples/counter.rs`.
//!
//! The two users and their plain-text passwords are a demo: a real app
//! keeps password hashes (argon2, scrypt) in its database. The comparison
//! is constant-time all the same, over SHA-256 digests so that a
//! password's length does not show either.
//!
//! CSRF: the cookie is `SameSite=Lax` (the crate's default), so browsers
//! do not send it with a POST from another site. That leaves pages of the
//! same site on another origin (a sibling port or subdomain), and browsers
//! without `SameSite`: every POST whose `Origin` header is present and is
//! not this app's own origin (the scheme and the `Host` header) is refused
//! with `403`. A POST without `Origin` passes: browsers send one with every
//! cross-origin POST, so its absence means a same-origin request from an old
//! browser or a non-browser client, which has no cookie to abuse. `GET`s
//! change nothing but flash messages. Every name and message a page shows
//! is HTML-escaped.
//!
//! "Your devices" (`/devices`, with a store): the user's sessions, labelled
//! from the `User-Agent` at sign-in, each other one with a button that
//! signs it out; see `devices.rs`.
//!
//! "Sign out everywhere else": with a store, the session's owner is the
//! user, and `delete_by_owner` ends every session of that user; this
//! browser's session is then renewed so that it lives on. Cookie sessions
//! cannot be deleted, so each user has a generation number, kept in this
//! process's memory (a real app keeps it in its user table); a session
//! carries the generation it signed in with, and the layer's `on_load`
//! hook refuses sessions of an older one.

use std::collections::HashMap;
use std::error::Error;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::header::{HOST, ORIGIN, USER_AGENT};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tower_cookie_sessions::flash::{Flash, FlashError};
use tower_cookie_sessions::session::StoreBackend;
use tower_cookie_sessions::store::{self, AnyStore, OwnerIndex};
use tower_cookie_sessions::{ConfigError, Key, Session, SessionLayer};
use tracing_subscriber::EnvFilter;

/// The demo's users and their passwords, in plain text: a demo only.
const DEMO_USERS: [(&str, &str); 2] = [("alice", "correct horse"), ("bob", "correct horse")];

/// A signed-in user, as the session keeps it: the session is a
/// `Session<Option<User>>`, whose default, `None`, is signed out.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct User {
    name: String,
    /// The user's sign-out generation when this session signed in (cookie
    /// sessions only; see [`Generations`]).
    generation: u64,
}

/// Each user's sign-out generation, for cookie sessions: bumping it signs
/// out every session that signed in before. In process memory for the
/// demo; a real app keeps it beside the user, so every instance sees it.
#[derive(Clone, Default)]
struct Generations(Arc<Mutex<HashMap<String, u64>>>);

impl Generations {
    fn current(&self, user: &str) -> u64 {
        let map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        map.get(user).copied().unwrap_or(0)
    }

    fn bump(&self, user: &str) -> u64 {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let generation = map.entry(user.to_owned()).or_insert(0);
        *generation += 1;
        *generation
    }
}

/// How "sign out everywhere else" reaches the other sessions: the one
/// thing that differs between cookie and store sessions. With a store, the
/// layer also lists and ends a user's sessions ("your devices").
#[derive(Clone)]
enum SignOut {
    Generations(Generations),
    Store(StoreLayer),
}

type StoreLayer = SessionLayer<Option<User>, StoreBackend<AnyStore>>;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,tower_cookie_sessions=debug")),
        )
        .init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn Error>> {
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".to_owned());
    let port: u16 = port
        .parse()
        .map_err(|_| format!("PORT is not a port number: {port:?}"))?;
    let key = session_key()?;
    let store = std::env::var("SESSION_STORE").unwrap_or_default();
    let app = match store.as_str() {
        "" | "cookie" => app_with_cookies(key)?,
        url => {
            let store = store::connect(url).await?;
            if !store.has_owner_index() {
                return Err(format!("{url}: this store cannot find a user's sessions").into());
            }
            // SQL stores do not expire rows on their own.
            tokio::spawn(store.cleanup_task(Duration::from_secs(60)));
            app_with_store(key, store)?
        }
    };
    tracing::info!(
        "sessions: {}",
        if store.is_empty() { "cookie" } else { &store }
    );

    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    tracing::info!(
        "listening on http://localhost:{}",
        listener.local_addr()?.port()
    );
    let shutdown = async { tokio::signal::ctrl_c().await.expect("Ctrl-C handler") };
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}

fn session_key() -> Result<Key, Box<dyn Error>> {
    match std::env::var("SESSION_KEY") {
        Ok(hex) => Ok(Key::from_hex(&hex)
            .map_err(|error| format!("SESSION_KEY must be 64 hex characters: {error}"))?),
        Err(std::env::VarError::NotPresent) => {
            tracing::warn!(
                "SESSION_KEY is not set: using a random key, so sessions will not survive a \
                 restart (make one with `openssl rand -hex 32`)"
            );
            Ok(Key::generate())
        }
        Err(error) => Err(format!("SESSION_KEY: {error}").into()),
    }
}

/// The app with client-side sessions.
fn app_with_cookies(key: Key) -> Result<Router, ConfigError> {
    let generations = Generations::default();
    let layer = cookie_layer(key, generations.clone())?;
    Ok(routes(SignOut::Generations(generations)).layer(layer))
}

/// The app with sessions in `store`.
fn app_with_store(key: Key, store: AnyStore) -> Result<Router, ConfigError> {
    let layer = store_layer(key, store)?;
    Ok(routes(SignOut::Store(layer.clone())).layer(layer))
}

/// `__Host-`: browsers then insist on `Secure`, `Path=/` and no `Domain`,
/// so a sibling subdomain cannot plant a session cookie of its own here.
const COOKIE_NAME: &str = "__Host-id";

fn cookie_layer(
    key: Key,
    generations: Generations,
) -> Result<SessionLayer<Option<User>>, ConfigError> {
    SessionLayer::<Option<User>>::builder(key)
        .cookie_name(COOKIE_NAME)
        .on_load(move |signed_in: &Option<User>, _issued| {
            // Copied out here: the hook's future cannot borrow the session.
            let keep = signed_in
                .as_ref()
                .is_none_or(|user| user.generation == generations.current(&user.name));
            async move { Ok(keep) }
        })
        .build()
}

fn store_layer(key: Key, store: AnyStore) -> Result<StoreLayer, ConfigError> {
    SessionLayer::<Option<User>>::store_builder(key, store)
        .cookie_name(COOKIE_NAME)
        .build()
}

/// Every route, without the session layer (which the caller adds: its
/// type differs between cookie and store sessions).
fn routes(sign_out: SignOut) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_form).post(login))
        .route("/private", get(private))
        .route("/logout", post(logout))
        .route("/logout-everywhere", post(logout_everywhere))
        .route("/devices", get(devices::devices))
        .route("/devices/end", post(devices::end_device))
        .layer(middleware::from_fn(same_origin_posts))
        .with_state(sign_out)
}

/// Refuses a POST sent from a page of another origin (see the top of this
/// file for what this defends).
async fn same_origin_posts(request: Request, next: Next) -> Response {
    if request.method() == Method::POST {
        let headers = request.headers();
        if let Some(origin) = headers.get(ORIGIN) {
            let host = headers.get(HOST).and_then(|host| host.to_str().ok());
            let ours = host.is_some_and(|host| {
                // Behind TLS the origin is https; over plain HTTP, only
                // on localhost (the cookie is `Secure`), it is http.
                [format!("https://{host}"), format!("http://{host}")]
                    .iter()
                    .any(|own| origin.as_bytes() == own.as_bytes())
            });
            if !ours {
                return (StatusCode::FORBIDDEN, "cross-origin POST refused").into_response();
            }
        }
    }
    next.run(request).await
}

async fn home(
    State(sign_out): State<SignOut>,
    session: Session<Option<User>>,
    flash: Flash,
) -> Html<String> {
    let devices = match sign_out {
        SignOut::Store(_) => "<p><a href=\"/devices\">your devices</a></p>",
        SignOut::Generations(_) => "",
    };
    let body = match session.cloned() {
        Some(user) => format!(
            "<p>signed in as {name}</p>\
             <p><a href=\"/private\">private page</a></p>{devices}\
             <form method=\"post\" action=\"/logout\"><button id=\"logout\">sign out</button></form>\
             <form method=\"post\" action=\"/logout-everywhere\">\
             <button id=\"logout-everywhere\">sign out everywhere else</button></form>",
            name = escape(&user.name),
        ),
        None => "<p>not signed in</p><p><a href=\"/login\">sign in</a></p>".to_owned(),
    };
    page("home", &flash, &body)
}

async fn login_form(flash: Flash) -> Html<String> {
    let form = "<form method=\"post\" action=\"/login\">\
                <label>user <input name=\"username\" autocomplete=\"username\"></label>\
                <label>password <input name=\"password\" type=\"password\" \
                autocomplete=\"current-password\"></label>\
                <button id=\"sign-in\">sign in</button></form>\
                <p>demo users: alice and bob, password <code>correct horse</code></p>";
    page("sign in", &flash, form)
}

#[derive(Deserialize)]
struct Credentials {
    username: String,
    password: String,
}

async fn login(
    State(sign_out): State<SignOut>,
    session: Session<Option<User>>,
    flash: Flash,
    headers: HeaderMap,
    Form(credentials): Form<Credentials>,
) -> Result<Redirect, FlashError> {
    let Some(name) = check_password(&credentials.username, &credentials.password) else {
        flash.error("wrong username or password")?;
        return Ok(Redirect::to("/login"));
    };
    // A new session for the new privileges: an id (or cookie) planted
    // before the login is worth nothing after it.
    session.renew();
    let generation = match &sign_out {
        SignOut::Generations(generations) => generations.current(name),
        SignOut::Store(_) => 0,
    };
    session.set(Some(User {
        name: name.to_owned(),
        generation,
    }));
    // For `delete_by_owner` and "your devices"; cookie sessions ignore
    // both.
    session.set_owner(Some(name.to_owned()));
    let user_agent = headers
        .get(USER_AGENT)
        .and_then(|agent| agent.to_str().ok());
    session.set_device_label(Some(devices::label(user_agent)));
    flash.success(format!("welcome, {name}"))?;
    Ok(Redirect::to("/private"))
}

/// The demo user these credentials sign in, checked in constant time:
/// every user is compared, name and password, whatever matches.
fn check_password(username: &str, password: &str) -> Option<&'static str> {
    let digest = |text: &str| Sha256::digest(text.as_bytes());
    let (username, password) = (digest(username), digest(password));
    let mut found = None;
    for (name, expected) in DEMO_USERS {
        let matches = username.ct_eq(&digest(name)) & password.ct_eq(&digest(expected));
        if bool::from(matches) {
            found = Some(name);
        }
    }
    found
}

async fn private(session: Session<Option<User>>, flash: Flash) -> Result<Response, FlashError> {
    let Some(user) = session.cloned() else {
        flash.info("please sign in")?;
        return Ok(Redirect::to("/login").into_response());
    };
    let body = format!(
        "<p>private page of {name}</p><p><a href=\"/\">home</a></p>",
        name = escape(&user.name)
    );
    Ok(page("private", &flash, &body).into_response())
}

async fn logout(session: Session<Option<User>>, flash: Flash) -> Result<Redirect, FlashError> {
    session.destroy();
    flash.info("signed out")?;
    Ok(Redirect::to("/"))
}

/// Signs this user out on every other browser; this one stays signed in.
async fn logout_everywhere(
    State(sign_out): State<SignOut>,
    session: Session<Option<User>>,
    flash: Flash,
) -> Result<Response, FlashError> {
    let Some(mut user) = session.cloned() else {
        flash.info("please sign in")?;
        return Ok(Redirect::to("/login").into_response());
    };
    match sign_out {
        SignOut::Generations(generations) => {
            // Every session of the older generation is refused from now on,
            // this one too unless it moves to the new generation.
            user.generation = generations.bump(&user.name);
            session.set(Some(user));
        }
        SignOut::Store(layer) => {
            if let Err(error) = layer.store().delete_by_owner(&user.name).await {
                tracing::error!(%error, "could not sign out the other sessions");
                return Ok((StatusCode::SERVICE_UNAVAILABLE, "try again later").into_response());
            }
            // This browser's record went with the others: a new id, saved
            // as a new record with the same data and owner.
            session.renew();
        }
    }
    flash.success("signed out everywhere else")?;
    Ok(Redirect::to("/").into_response())
}

/// A whole page: its pending flash messages, shown once, then `body`
/// (already escaped).
fn page(title: &str, flash: &Flash, body: &str) -> Html<String> {
    let messages: String = flash
        .take()
        .iter()
        .map(|message| {
            format!(
                "<p class=\"flash\" data-level=\"{}\">{}</p>",
                message.level(),
                escape(message.text())
            )
        })
        .collect();
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>{title}</title></head><body>{messages}{body}</body></html>",
        title = escape(title),
    ))
}

/// Text made safe for HTML element content and quoted attribute values.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

mod devices;

// The handlers through the layer, with the crate's test helpers (feature
// `test-util`). `cargo test` runs these through tests/integration, which
// includes this file.
#[cfg(test)]
mod tests;
