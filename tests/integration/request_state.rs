//! How a request carries its jar and sessions: in its own extensions, each
//! session owned by the layer that registered it. Sub-requests, spawned
//! tasks, `Buffer`, stacked layers and other middleware all follow from
//! that one rule.

use std::convert::Infallible;
use std::future::Future;
use std::task::{Context, Poll};
use std::time::SystemTime;

use crate::common::{body_text, cookie_pair, set_cookie_for, set_cookies};
use axum::extract::Extension;
use axum::middleware::{from_fn, Next};
use axum::routing::get;
use axum::Router;
use http::header::COOKIE;
use http::{Request, Response, StatusCode};
use tower::buffer::BufferLayer;
use tower::{service_fn, Layer, Service, ServiceBuilder, ServiceExt};
use tower_cookie_sessions::store::{
    MemoryStore, OwnerIndex, Record, RecordKey, SessionStore, StoreError,
};
use tower_cookie_sessions::{
    Cookie, CookieLayer, Cookies, Key, Session, SessionError, SessionLayer,
};

pub(crate) fn cookie_request(cookie: &str) -> Request<String> {
    Request::builder()
        .header(COOKIE, cookie)
        .body(String::new())
        .expect("valid request")
}

pub(crate) fn axum_request(path: &str, cookie: Option<&str>) -> Request<axum::body::Body> {
    crate::common::request("GET", path, cookie)
}

/// The `Cookie` header of a visitor whose session of `layer` holds `value`.
pub(crate) async fn session_holding(layer: &SessionLayer<u64>, value: u64) -> String {
    let header = layer.test_request().session(value).cookie_header().await;
    let header = header.expect("minted").expect("a session cookie");
    header.to_str().expect("ascii").to_owned()
}

/// A service behind `layer` that reads the visitor's session, adds one and
/// answers the value it read.
pub(crate) fn incrementing(
    layer: &SessionLayer<u64>,
) -> impl Service<
    Request<String>,
    Response = Response<tower_cookie_sessions::session::SessionBody<String>>,
    Error = SessionError,
    Future: Send,
> + Clone
       + Send
       + 'static {
    layer
        .clone()
        .layer(service_fn(|request: Request<String>| async move {
            let session = Session::<u64>::load(&request).await?;
            let seen = session.update(|n| {
                let seen = *n;
                *n += 1;
                seen
            });
            Ok::<_, SessionError>(Response::new(seen.to_string()))
        }))
}

// --- Sub-requests ---------------------------------------------------------

/// The outer request opens its session (100) before it sends a new request
/// with bob's cookie (2) to another service behind the same layer.
#[tokio::test]
async fn a_sub_request_sees_its_own_visitors_session_not_the_outer_one() {
    let layer = SessionLayer::<u64>::new(Key::generate()).expect("layer");
    let alice = session_holding(&layer, 100).await;
    let bob = session_holding(&layer, 2).await;
    let sub_service = incrementing(&layer);

    let outer = layer
        .clone()
        .layer(service_fn(move |request: Request<String>| {
            let (sub_service, bob) = (sub_service.clone(), bob.clone());
            async move {
                let session = Session::<u64>::load(&request).await?;
                assert_eq!(session.cloned(), 100, "the outer visitor's own session");
                let answer = sub_service.oneshot(cookie_request(&bob)).await?;
                let sub_cookie = cookie_pair(&answer, "id").expect("bob's saved session");
                let seen = body_text(answer).await;
                assert_eq!(
                    session.cloned(),
                    100,
                    "the sub-request changed nothing here"
                );
                session.set(101);
                Ok::<_, SessionError>(Response::new(format!("{seen} {sub_cookie}")))
            }
        }));
    let response = outer.oneshot(cookie_request(&alice)).await.expect("ok");
    let lines = set_cookies(&response);
    assert_eq!(lines.len(), 1, "only the outer session's cookie: {lines:?}");
    let alice_next = layer.test_response(&response).await.expect("read");
    assert_eq!(alice_next.session(), Some(&101), "alice's own change");
    let text = body_text(response).await;
    let (seen, bob_next) = text.split_once(' ').expect("two parts");
    assert_eq!(seen, "2", "the sub-request saw bob's session");
    let bob_after = incrementing(&layer).oneshot(cookie_request(bob_next)).await;
    assert_eq!(
        body_text(bob_after.expect("ok")).await,
        "3",
        "bob's own change"
    );
}

/// The other way round: the sub-request runs before the outer request has
/// opened its session, under a layer with its own key and cookie name; the
/// outer session then opens with the outer layer's key and settings.
#[tokio::test]
async fn a_sub_request_sent_first_does_not_open_the_outer_session() {
    let outer_layer = SessionLayer::<u64>::builder(Key::generate())
        .cookie_name("outer")
        .build()
        .expect("layer");
    let sub_layer = SessionLayer::<u64>::builder(Key::generate())
        .cookie_name("sub")
        .build()
        .expect("layer");
    let alice = session_holding(&outer_layer, 100).await;
    let bob = session_holding(&sub_layer, 2).await;
    let sub_service = incrementing(&sub_layer);

    let outer = outer_layer
        .clone()
        .layer(service_fn(move |request: Request<String>| {
            let (sub_service, bob) = (sub_service.clone(), bob.clone());
            async move {
                let answer = sub_service.oneshot(cookie_request(&bob)).await?;
                assert!(
                    set_cookie_for(&answer, "sub").is_some(),
                    "the sub-request's cookie is on its own response"
                );
                let seen = body_text(answer).await;
                let session = Session::<u64>::load(&request).await?;
                let mine = session.update(|n| {
                    *n += 1;
                    *n
                });
                Ok::<_, SessionError>(Response::new(format!("{seen} {mine}")))
            }
        }));
    let response = outer.oneshot(cookie_request(&alice)).await.expect("ok");
    let lines = set_cookies(&response);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].starts_with("outer="), "{lines:?}");
    assert_eq!(body_text(response).await, "2 101");
}

/// A sub-request given the outer request's extensions is part of the outer
/// request: it sees the outer session, and its changes go out on the outer
/// response.
#[tokio::test]
async fn a_sub_request_sharing_the_outer_extensions_joins_the_outer_request() {
    let layer = SessionLayer::<u64>::new(Key::generate()).expect("layer");
    let alice = session_holding(&layer, 100).await;
    let sub_service = incrementing(&layer);

    let outer = layer
        .clone()
        .layer(service_fn(move |request: Request<String>| {
            let sub_service = sub_service.clone();
            async move {
                let mut sub_request = Request::new(String::new());
                *sub_request.extensions_mut() = request.extensions().clone();
                let answer = sub_service.oneshot(sub_request).await?;
                assert!(
                    set_cookies(&answer).is_empty(),
                    "the joined request's cookie goes out with the outer response"
                );
                let seen = body_text(answer).await;
                let now = Session::<u64>::load(&request).await?.cloned();
                Ok::<_, SessionError>(Response::new(format!("{seen} {now}")))
            }
        }));
    let response = outer.oneshot(cookie_request(&alice)).await.expect("ok");
    assert_eq!(set_cookies(&response).len(), 1);
    let next = layer.test_response(&response).await.expect("read");
    assert_eq!(next.session(), Some(&101));
    assert_eq!(body_text(response).await, "100 101");
}

/// Cookies of a sub-request built fresh stay on its own response, sent from
/// its own task or not.
#[tokio::test]
async fn a_sub_request_sent_from_a_spawned_task_has_its_own_jar() {
    let inner = CookieLayer::new().layer(service_fn(|request: Request<String>| async move {
        let cookies = Cookies::from_request(&request).expect("jar");
        let who = cookies.get("who").map(|c| c.value().to_owned());
        cookies
            .add(Cookie::new("inner", "1"))
            .expect("a valid cookie");
        Ok::<_, Infallible>(Response::new(who.unwrap_or_default()))
    }));
    let outer = CookieLayer::new().layer(service_fn(move |request: Request<String>| {
        let inner = inner.clone();
        async move {
            let answer = tokio::spawn(inner.oneshot(cookie_request("who=bob")))
                .await
                .expect("task ran")
                .expect("infallible");
            assert_eq!(set_cookies(&answer), ["inner=1"]);
            let mine = Cookies::from_request(&request).expect("jar");
            assert_eq!(mine.get("who").expect("cookie").value(), "alice");
            assert!(mine.get("inner").is_none());
            Ok::<_, Infallible>(Response::new(answer.into_body()))
        }
    }));
    let response = outer
        .oneshot(cookie_request("who=alice"))
        .await
        .expect("ok");
    assert!(
        set_cookies(&response).is_empty(),
        "the sub-request's cookie stays on its own response"
    );
    assert_eq!(response.into_body(), "bob");
}

/// A request a handler builds for itself carries nothing of the request it
/// is handling: no jar, no session.
#[tokio::test]
async fn a_request_built_in_a_handler_has_no_layer() {
    let service = SessionLayer::<u64>::new(Key::generate())
        .expect("layer")
        .layer(service_fn(|request: Request<String>| async move {
            assert!(Cookies::from_request(&request).is_some());
            assert!(Cookies::from_request(&Request::new(())).is_none());
            let error = Session::<u64>::load(&Request::new(()))
                .await
                .expect_err("a fresh request");
            assert!(matches!(error, SessionError::MissingLayer { .. }));
            Session::<u64>::load(&request).await?.set(1);
            Ok::<_, SessionError>(Response::new(String::new()))
        }));
    let response = service
        .oneshot(Request::new(String::new()))
        .await
        .expect("ok");
    assert!(set_cookie_for(&response, "id").is_some());
}

// --- Other tasks ----------------------------------------------------------

/// Middleware that runs the rest of the stack in its own task, for
/// cancellation safety.
async fn spawning(request: axum::extract::Request, next: Next) -> axum::response::Response {
    tokio::spawn(next.run(request))
        .await
        .expect("the rest of the stack ran")
}

#[tokio::test]
async fn middleware_that_spawns_the_rest_of_the_stack_keeps_the_session() {
    let layer = SessionLayer::<u64>::new(Key::generate()).expect("layer");
    let app = Router::new()
        .route(
            "/",
            get(|session: Session<u64>| async move {
                session.update(|n| {
                    *n += 1;
                    n.to_string()
                })
            }),
        )
        .layer(from_fn(spawning))
        .layer(layer);
    let first = crate::common::send(&app, axum_request("/", None)).await;
    assert_eq!(first.status(), StatusCode::OK);
    let cookie = cookie_pair(&first, "id").expect("the session was sent");
    assert_eq!(body_text(first).await, "1");
    let second = crate::common::send(&app, axum_request("/", Some(&cookie))).await;
    assert_eq!(body_text(second).await, "2");
}

#[tokio::test]
async fn handles_moved_into_a_spawned_task_reach_the_request() {
    let service = ServiceBuilder::new()
        .layer(SessionLayer::<u64>::new(Key::generate()).expect("layer"))
        .service_fn(|request: Request<String>| async move {
            let session = Session::<u64>::load(&request).await?;
            let cookies = Cookies::from_request(&request).expect("jar");
            tokio::spawn(async move {
                session.set(41);
                cookies
                    .add(Cookie::new("task", "done"))
                    .expect("a valid cookie");
            })
            .await
            .expect("task ran");
            Ok::<_, SessionError>(Response::new(String::new()))
        });
    let response = service
        .oneshot(Request::new(String::new()))
        .await
        .expect("ok");
    let lines = set_cookies(&response);
    assert!(lines.contains(&"task=done".to_owned()), "{lines:?}");
    assert!(lines.iter().any(|c| c.starts_with("id=")), "{lines:?}");
}

/// A service that starts loading its session in `call`, before its future
/// is polled; behind `Buffer`, `call` runs on the buffer's worker task.
#[derive(Clone)]
struct OpensInCall;

impl Service<Request<String>> for OpensInCall {
    type Response = Response<String>;
    type Error = SessionError;
    type Future =
        std::pin::Pin<Box<dyn Future<Output = Result<Response<String>, SessionError>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), SessionError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<String>) -> Self::Future {
        let loading = Session::<u64>::from_extensions(request.extensions());
        Box::pin(async move {
            let value = loading.await?.update(|n| {
                *n += 1;
                *n
            });
            Ok(Response::new(value.to_string()))
        })
    }
}

#[tokio::test]
async fn behind_buffer_a_session_opens_in_call_or_in_the_future() {
    let layer = SessionLayer::<u64>::new(Key::generate()).expect("layer");
    let in_call = ServiceBuilder::new()
        .layer(layer.clone())
        .layer(BufferLayer::new(8))
        .service(OpensInCall);
    let first = in_call
        .clone()
        .oneshot(Request::new(String::new()))
        .await
        .expect("ok");
    let cookie = cookie_pair(&first, "id").expect("cookie");
    assert_eq!(body_text(first).await, "1");

    let in_future = ServiceBuilder::new()
        .layer(layer)
        .layer(BufferLayer::new(8))
        .service_fn(|request: Request<String>| async move {
            tokio::task::yield_now().await;
            let value = Session::<u64>::load(&request).await?.update(|n| {
                *n += 1;
                *n
            });
            Ok::<_, SessionError>(Response::new(value.to_string()))
        });
    let second = in_future
        .oneshot(cookie_request(&cookie))
        .await
        .expect("ok");
    assert_eq!(body_text(second).await, "2");
}

// --- Extractors and extensions ----------------------------------------------

#[tokio::test]
async fn the_jar_is_an_extension() {
    let app = Router::new()
        .route(
            "/",
            get(|Extension(cookies): Extension<Cookies>| async move {
                cookies
                    .add(Cookie::new("seen", "1"))
                    .expect("a valid cookie");
                cookies
                    .get("who")
                    .map(|c| c.value().to_owned())
                    .unwrap_or_default()
            }),
        )
        .layer(CookieLayer::new());
    let response = crate::common::send(&app, axum_request("/", Some("who=ada"))).await;
    assert_eq!(set_cookies(&response), ["seen=1"]);
    assert_eq!(body_text(response).await, "ada");

    let service = SessionLayer::<u64>::new(Key::generate())
        .expect("layer")
        .layer(service_fn(|request: Request<String>| async move {
            let cookies = request.extensions().get::<Cookies>().expect("the jar");
            cookies
                .add(Cookie::new("plain", "yes"))
                .expect("a valid cookie");
            Ok::<_, Infallible>(Response::new(String::new()))
        }));
    let response = service
        .oneshot(Request::new(String::new()))
        .await
        .expect("ok");
    assert_eq!(set_cookies(&response), ["plain=yes"]);
}

#[tokio::test]
async fn optional_extractors_say_whether_a_layer_is_there() {
    let routes = || {
        Router::new().route(
            "/",
            get(
                |session: Option<Session<u64>>, cookies: Option<Cookies>| async move {
                    let session = match session {
                        Some(session) => session.update(|n| {
                            *n += 1;
                            n.to_string()
                        }),
                        None => "none".to_owned(),
                    };
                    format!("{session} {}", cookies.is_some())
                },
            ),
        )
    };
    let bare = routes();
    let response = crate::common::send(&bare, axum_request("/", None)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body_text(response).await, "none false");

    let layered = routes().layer(SessionLayer::<u64>::new(Key::generate()).expect("layer"));
    let response = crate::common::send(&layered, axum_request("/", None)).await;
    assert!(cookie_pair(&response, "id").is_some());
    assert_eq!(body_text(response).await, "1 true");
}

// --- Concurrency -------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_requests_each_get_their_own_session() {
    const VISITORS: u64 = 1_000;
    let layer = SessionLayer::<u64>::new(Key::generate()).expect("layer");
    let service = layer.layer(service_fn(|request: Request<String>| async move {
        let visitor: u64 = request
            .headers()
            .get("x-visitor")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .expect("visitor header");
        let session = Session::<u64>::load(&request).await?;
        tokio::task::yield_now().await;
        let seen = session.cloned();
        if seen == 0 {
            session.set(visitor);
        }
        tokio::task::yield_now().await;
        Ok::<_, SessionError>(Response::new(seen.to_string()))
    }));
    let send = |visitor: u64, cookie: Option<String>| {
        let service = service.clone();
        tokio::spawn(async move {
            let mut request = Request::builder().header("x-visitor", visitor.to_string());
            if let Some(cookie) = cookie {
                request = request.header(COOKIE, cookie);
            }
            let request = request.body(String::new()).expect("request");
            service.oneshot(request).await.expect("ok")
        })
    };

    let created: Vec<_> = (1..=VISITORS).map(|v| send(v, None)).collect();
    let mut cookies = Vec::new();
    for (visitor, task) in (1..=VISITORS).zip(created) {
        let response = task.await.expect("task");
        let cookie = cookie_pair(&response, "id").expect("a new session");
        assert_eq!(body_text(response).await, "0", "visitor {visitor}");
        cookies.push(cookie);
    }
    let reads: Vec<_> = (1..=VISITORS)
        .zip(cookies)
        .map(|(v, cookie)| send(v, Some(cookie)))
        .collect();
    for (visitor, task) in (1..=VISITORS).zip(reads) {
        let response = task.await.expect("task");
        assert_eq!(
            body_text(response).await,
            visitor.to_string(),
            "visitor {visitor}'s cookie opens their own session"
        );
    }
}

/// A memory store that makes every operation wait once, as a networked
/// store does.
#[derive(Clone, Default)]
struct WaitingStore(MemoryStore);

impl SessionStore for WaitingStore {
    fn create(
        &self,
        key: &RecordKey,
        record: &Record,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        let (key, record) = (*key, record.clone());
        async move {
            tokio::task::yield_now().await;
            self.0.create(&key, &record).await
        }
    }
    fn load(
        &self,
        key: &RecordKey,
    ) -> impl Future<Output = Result<Option<Record>, StoreError>> + Send {
        let key = *key;
        async move {
            tokio::task::yield_now().await;
            self.0.load(&key).await
        }
    }
    fn save(
        &self,
        key: &RecordKey,
        record: &Record,
        expected: u64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        let (key, record) = (*key, record.clone());
        async move {
            tokio::task::yield_now().await;
            self.0.save(&key, &record, expected).await
        }
    }
    fn delete(&self, key: &RecordKey) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.0.delete(key)
    }
    fn touch(
        &self,
        key: &RecordKey,
        expires_at: SystemTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        self.0.touch(key, expires_at)
    }
}

impl OwnerIndex for WaitingStore {
    fn delete_by_owner(&self, owner: &str) -> impl Future<Output = Result<u64, StoreError>> + Send {
        self.0.delete_by_owner(owner)
    }

    fn list_by_owner(
        &self,
        owner: &str,
    ) -> impl Future<Output = Result<Vec<(RecordKey, Record)>, StoreError>> + Send {
        self.0.list_by_owner(owner)
    }
}

#[tokio::test]
async fn loads_in_flight_together_share_one_session() {
    let service = ServiceBuilder::new()
        .layer(
            SessionLayer::<u64>::store_builder(Key::generate(), WaitingStore::default())
                .build()
                .expect("layer"),
        )
        .service_fn(|request: Request<String>| async move {
            let (a, b) = tokio::join!(
                Session::<u64>::load(&request),
                Session::<u64>::load(&request)
            );
            let (a, b) = (a?, b?);
            let before = a.cloned();
            a.set(before + 1);
            assert_eq!(b.cloned(), before + 1, "both loads share one session");
            Ok::<_, SessionError>(Response::new(before.to_string()))
        });
    let first = service
        .clone()
        .oneshot(Request::new(String::new()))
        .await
        .expect("ok");
    let pair = cookie_pair(&first, "id").expect("a session cookie");
    assert_eq!(body_text(first).await, "0");
    let second = service
        .clone()
        .oneshot(cookie_request(&pair))
        .await
        .expect("ok");
    assert_eq!(body_text(second).await, "1");
    let third = service.oneshot(cookie_request(&pair)).await.expect("ok");
    assert_eq!(body_text(third).await, "2", "saved once, with the change");
}

#[tokio::test]
async fn a_session_layer_writes_its_jar_whether_or_not_the_session_opens() {
    let service = ServiceBuilder::new()
        .layer(SessionLayer::<u64>::new(Key::generate()).expect("layer"))
        .service_fn(|request: Request<String>| async move {
            let cookies = Cookies::from_request(&request).expect("jar");
            cookies
                .add(Cookie::new("theme", "dark"))
                .expect("a valid cookie");
            if request.uri().path() == "/session" {
                let _ = Session::<u64>::load(&request).await?.cloned();
            }
            Ok::<_, SessionError>(Response::new(String::new()))
        });
    let plain = service
        .clone()
        .oneshot(Request::new(String::new()))
        .await
        .expect("ok");
    assert_eq!(set_cookies(&plain), ["theme=dark"]);
    assert!(!plain.headers().contains_key("vary"));

    let request = Request::builder()
        .uri("/session")
        .body(String::new())
        .expect("request");
    let with_session = service.oneshot(request).await.expect("ok");
    assert_eq!(set_cookies(&with_session), ["theme=dark"]);
    assert_eq!(with_session.headers()["vary"], "Cookie");
}
