//! The apps the checks drive: plain tower services behind a store layer,
//! each a closure that matches the path by hand, so the suite pulls in no
//! web framework.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Method, Request, Response, StatusCode};
use tokio::sync::Barrier;
use tower_layer::Layer;
use tower_service::Service;

use super::client::App;
use super::setup::MapLayer;
use crate::session::shared::error_response::default_error_response;
use crate::session::StoreBackend;
use crate::store::SessionStore;
use crate::{Session, SessionError, SessionLayer, SessionMap};

type BoxFuture<O> = Pin<Box<dyn Future<Output = O> + Send>>;

/// A handler's answer: its body text, or the error its session gave.
type Handled = BoxFuture<Result<String, SessionError>>;

/// The `SessionMap` app behind `layer`: `/set?key&value[&owner][&label]`,
/// `/get?key`, `/read`, `/device` (the session's device handle, or
/// `none`), `/renew`, `POST /logout`, and `/race?key&value`, which loads,
/// waits at `barrier`, then sets.
pub(super) fn map_app<S: SessionStore + Clone>(
    layer: &MapLayer<S>,
    barrier: Arc<Barrier>,
) -> impl App {
    layer.layer(Routes(move |request: &Request<String>| {
        let route = match (request.method(), request.uri().path()) {
            (&Method::GET, path @ ("/set" | "/get" | "/read" | "/device" | "/renew" | "/race"))
            | (&Method::POST, path @ "/logout") => path.to_owned(),
            _ => return None,
        };
        let query = Query::of(request);
        let session = Session::<SessionMap>::load(request);
        let barrier = Arc::clone(&barrier);
        Some(Box::pin(async move {
            let session = session.await?;
            let body = match route.as_str() {
                "/set" => {
                    session
                        .update(|map| map.insert(query.key, &query.value))
                        .expect("insert");
                    if query.owner.is_some() {
                        session.set_owner(query.owner);
                    }
                    if query.label.is_some() {
                        session.set_device_label(query.label);
                    }
                    "set".to_owned()
                }
                "/get" => session
                    .read(|map| map.get::<String>(&query.key))
                    .expect("typed get")
                    .unwrap_or_else(|| "none".into()),
                "/read" => session.read(SessionMap::len).to_string(),
                "/device" => session
                    .device()
                    .map_or_else(|| "none".to_owned(), |handle| handle.to_string()),
                "/renew" => {
                    session.renew();
                    "renewed".to_owned()
                }
                "/logout" => {
                    session.destroy();
                    "bye".to_owned()
                }
                _ => {
                    barrier.wait().await;
                    session
                        .update(|map| map.insert(query.key, &query.value))
                        .expect("insert");
                    "set".to_owned()
                }
            };
            Ok(body)
        }) as Handled)
    }))
}

/// [`map_app`] whose `/race` does not wait.
pub(super) fn plain_map_app<S: SessionStore + Clone>(layer: &MapLayer<S>) -> impl App {
    map_app(layer, Arc::new(Barrier::new(1)))
}

/// A `u64` app behind `layer`: `/set` sets 7; `/look` calls `update`
/// without changing anything, waits at `barrier`, and answers with what it
/// saw.
pub(super) fn number_app<S: SessionStore + Clone>(
    layer: &SessionLayer<u64, StoreBackend<S>>,
    barrier: Arc<Barrier>,
) -> impl App {
    layer.layer(Routes(move |request: &Request<String>| {
        let look = match request.uri().path() {
            "/set" => false,
            "/look" => true,
            _ => return None,
        };
        let session = Session::<u64>::load(request);
        let barrier = Arc::clone(&barrier);
        Some(Box::pin(async move {
            let session = session.await?;
            if !look {
                session.set(7);
                return Ok("set".to_owned());
            }
            let seen = session.update(|n| *n);
            barrier.wait().await;
            Ok(seen.to_string())
        }) as Handled)
    }))
}

/// A service of one closure, which answers a request it serves (`None`:
/// a 404). A session that cannot be loaded answers as the layer's default
/// `on_error` does, which the suite's layers keep.
#[derive(Clone)]
struct Routes<F>(F);

impl<F> Service<Request<String>> for Routes<F>
where
    F: FnMut(&Request<String>) -> Option<Handled>,
{
    type Response = Response<String>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Response<String>, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<String>) -> Self::Future {
        let handled = (self.0)(&request);
        Box::pin(async move {
            let Some(handled) = handled else {
                let mut response = Response::new("not found".to_owned());
                *response.status_mut() = StatusCode::NOT_FOUND;
                return Ok(response);
            };
            Ok(match handled.await {
                Ok(body) => Response::new(body),
                Err(error) => default_error_response(&error),
            })
        })
    }
}

/// The parts of a suite query: `key`, `value`, `owner` and `label`.
#[derive(Default)]
struct Query {
    key: String,
    value: String,
    owner: Option<String>,
    label: Option<String>,
}

impl Query {
    fn of(request: &Request<String>) -> Self {
        let mut query = Query::default();
        for pair in request.uri().query().unwrap_or_default().split('&') {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = percent_encoding::percent_decode_str(value)
                .decode_utf8()
                .expect("utf-8 query")
                .into_owned();
            match name {
                "key" => query.key = value,
                "value" => query.value = value,
                "owner" => query.owner = Some(value),
                "label" => query.label = Some(value),
                _ => {}
            }
        }
        query
    }
}
