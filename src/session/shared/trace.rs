//! The request's `session` span: one per request that opened a session,
//! at `debug`, saying what became of it.
//!
//! Fields: `session.cookie` (the cookie's name), `session.outcome` (`none`,
//! `loaded`, `fresh (REASON)`, `saved`, `renewed`, `destroyed`,
//! `conflict` or `error`) and, for store sessions, `session.id`: the short
//! keyed tag the store's log lines use, never the id. When `debug` is off
//! there is no span and none of this is worked out.

use tracing::field::Empty;
use tracing::Span;

use crate::session::shared::backend::SetCookie;
use crate::session::shared::config::SessionConfig;
use crate::session::shared::error::SessionError;
use crate::session::shared::state::{Shared, State};
use crate::session::store::log_tag::LogTag;
use crate::session::SessionData;
use crate::store::RecordKey;

/// The span of one request's session of `config`'s layer, unless no
/// subscriber wants it.
pub(crate) fn span(config: &SessionConfig) -> Option<Span> {
    // Checked first: with `tracing`'s `log` feature on, the macro records a
    // disabled span's fields for the `log` crate, and dropping one logs.
    if !tracing::level_enabled!(tracing::Level::DEBUG) {
        return None;
    }
    let span = tracing::debug_span!(
        "session",
        session.cookie = config.cookie_name.as_str(),
        session.outcome = Empty,
        session.id = Empty,
    );
    (!span.is_disabled()).then_some(span)
}

/// Runs `f` inside `span`, if there is one.
pub(crate) fn in_scope<R>(span: Option<&Span>, f: impl FnOnce() -> R) -> R {
    match span {
        Some(span) => span.in_scope(f),
        None => f(),
    }
}

/// What the session was just before its commit, which resets it.
pub(crate) struct BeforeCommit {
    destroyed: bool,
    renewed: bool,
    dirty: bool,
    existed: bool,
    refused: Option<&'static str>,
}

/// The session as the span needs it, and its store id's tag; nothing when
/// the span is off.
pub(crate) fn before_commit<T: SessionData>(session: &Shared<T>) -> Option<BeforeCommit> {
    let span = session.span()?;
    let state = session.lock();
    record_id(Some(span), session.config(), &state);
    Some(BeforeCommit {
        destroyed: state.status.destroyed,
        renewed: state.status.renewed,
        dirty: state.status.is_dirty(),
        existed: state.status.existed,
        refused: state.status.refused,
    })
}

/// Records the tag of `state`'s store id, when it has one.
pub(crate) fn record_id<T>(span: Option<&Span>, config: &SessionConfig, state: &State<T>) {
    let Some(span) = span else {
        return;
    };
    if let Some(id) = state.record.as_ref().and_then(|record| record.id) {
        let key = RecordKey::for_session_id(&id);
        span.record(
            "session.id",
            tracing::field::display(LogTag::of(config, &key)),
        );
    }
}

/// Records the outcome, once the commit is done.
pub(crate) fn record_outcome(
    span: &Span,
    before: &BeforeCommit,
    result: Result<&SetCookie, &SessionError>,
) {
    let outcome = match result {
        Err(SessionError::Conflict) => "conflict".to_owned(),
        Err(_) => "error".to_owned(),
        Ok(_) if before.destroyed => "destroyed".to_owned(),
        Ok(_) if before.renewed => "renewed".to_owned(),
        Ok(_) if before.dirty => "saved".to_owned(),
        // Sent again only to slide its inactivity deadline.
        Ok(set_cookie) if before.existed && !set_cookie.is_empty() => "saved".to_owned(),
        Ok(_) if before.existed => "loaded".to_owned(),
        Ok(_) => match before.refused {
            Some(reason) => format!("fresh ({reason})"),
            None => "none".to_owned(),
        },
    };
    span.record("session.outcome", outcome.as_str());
}
