//! How handlers find their request's jar and session: the layers make them
//! current while they run the wrapped service, and never beyond it.

mod common;

use std::convert::Infallible;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::SystemTime;

use common::{cookie_pair, set_cookies};
use http::header::COOKIE;
use http::{Request, Response};
use tower::{service_fn, Layer, Service, ServiceBuilder, ServiceExt};
use tower_cookie_sessions::store::{
    MemoryStore, Record, RecordKey, Result as StoreResult, SessionStore,
};
use tower_cookie_sessions::{Cookie, CookieLayer, Cookies, Key, Session, SessionLayer};

fn cookie_request(cookie: &str) -> Request<String> {
    Request::builder()
        .header(COOKIE, cookie)
        .body(String::new())
        .expect("valid request")
}

/// Whether a jar is current here, asked with a request of our own.
fn jar_is_current() -> bool {
    Cookies::from_request(&Request::new(())).is_some()
}

#[tokio::test]
async fn no_jar_is_current_outside_or_after_a_request() {
    assert!(!jar_is_current());
    let service = CookieLayer::new().layer(service_fn(|request: Request<String>| async move {
        let cookies = Cookies::from_request(&request).expect("inside the layer");
        cookies.add(Cookie::new("seen", "1"));
        Ok::<_, Infallible>(Response::new(String::new()))
    }));
    let response = service.oneshot(cookie_request("a=1")).await.expect("ok");
    assert_eq!(set_cookies(&response), ["seen=1"]);
    assert!(
        !jar_is_current(),
        "the jar must not outlive its request on this thread"
    );
    let error = Session::<u64>::load(&Request::new(()))
        .await
        .expect_err("no layer here");
    assert!(error.to_string().contains("SessionLayer"), "{error}");
}

#[tokio::test]
async fn interleaved_requests_on_one_thread_each_see_their_own_jar() {
    let service = CookieLayer::new().layer(service_fn(|request: Request<String>| async move {
        let before = Cookies::from_request(&request)
            .expect("jar")
            .get("who")
            .expect("cookie");
        // Let the other request run between the two reads.
        tokio::task::yield_now().await;
        let after = Cookies::from_request(&request)
            .expect("jar")
            .get("who")
            .expect("cookie");
        assert_eq!(before.value(), after.value());
        Ok::<_, Infallible>(Response::new(after.value().to_owned()))
    }));
    let (a, b) = tokio::join!(
        service.clone().oneshot(cookie_request("who=alice")),
        service.clone().oneshot(cookie_request("who=bob")),
    );
    assert_eq!(a.expect("ok").body(), "alice");
    assert_eq!(b.expect("ok").body(), "bob");
    assert!(!jar_is_current());
}

#[tokio::test]
async fn the_jar_is_current_while_the_inner_service_is_called() {
    // A service that reads the jar in `call` itself, before any future runs.
    #[derive(Clone)]
    struct ReadsInCall;

    impl Service<Request<String>> for ReadsInCall {
        type Response = Response<String>;
        type Error = Infallible;
        type Future = std::future::Ready<Result<Response<String>, Infallible>>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, request: Request<String>) -> Self::Future {
            let cookies = Cookies::from_request(&request).expect("current during call");
            cookies.add(Cookie::new("from_call", "yes"));
            std::future::ready(Ok(Response::new(String::new())))
        }
    }

    let response = CookieLayer::new()
        .layer(ReadsInCall)
        .oneshot(Request::new(String::new()))
        .await
        .expect("ok");
    assert_eq!(set_cookies(&response), ["from_call=yes"]);
}

#[tokio::test]
async fn a_spawned_task_uses_handles_taken_before_the_spawn() {
    let service = ServiceBuilder::new()
        .layer(SessionLayer::<u64>::new(Key::generate()).expect("layer"))
        .service_fn(|request: Request<String>| async move {
            let session = Session::<u64>::load(&request).await?;
            let cookies = Cookies::from_request(&request).expect("jar");
            let seen_in_task = tokio::spawn(async move {
                // Another task: nothing is current there...
                let current = jar_is_current();
                // ...but the handles moved in still reach this request.
                session.set(41);
                cookies.add(Cookie::new("task", "done"));
                current
            })
            .await
            .expect("task ran");
            Ok::<_, tower_cookie_sessions::SessionError>(Response::new(seen_in_task.to_string()))
        });
    let response = service
        .oneshot(Request::new(String::new()))
        .await
        .expect("ok");
    assert_eq!(response.body(), "false");
    let set_cookies = set_cookies(&response);
    assert!(
        set_cookies.contains(&"task=done".to_owned()),
        "{set_cookies:?}"
    );
    assert!(
        set_cookies.iter().any(|c| c.starts_with("id=")),
        "the session set in the task is sent: {set_cookies:?}"
    );
}

#[test]
fn a_panicking_handler_does_not_leave_its_jar_current() {
    let mut service = CookieLayer::new().layer(service_fn(|_: Request<String>| async {
        assert!(jar_is_current());
        if true {
            panic!("handler bug");
        }
        Ok::<_, Infallible>(Response::new(String::new()))
    }));
    let mut future = pin!(service.call(Request::new(String::new())));
    let mut cx = Context::from_waker(Waker::noop());
    let panicked = catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(&mut cx)));
    assert!(panicked.is_err());
    assert!(
        !jar_is_current(),
        "the next request on this thread must not see the panicked one's jar"
    );
}

#[tokio::test]
async fn a_session_layer_writes_its_jar_whether_or_not_the_session_opens() {
    let service = ServiceBuilder::new()
        .layer(SessionLayer::<u64>::new(Key::generate()).expect("layer"))
        .service_fn(|request: Request<String>| async move {
            let cookies = Cookies::from_request(&request).expect("jar");
            cookies.add(Cookie::new("theme", "dark"));
            if request.uri().path() == "/session" {
                let session = Session::<u64>::load(&request).await?;
                let _ = session.get();
            }
            Ok::<_, tower_cookie_sessions::SessionError>(Response::new(String::new()))
        });

    let plain = service
        .clone()
        .oneshot(Request::new(String::new()))
        .await
        .expect("ok");
    assert_eq!(set_cookies(&plain), ["theme=dark"]);
    assert!(
        !plain.headers().contains_key("vary"),
        "no session, no private cookie"
    );

    let request = Request::builder()
        .uri("/session")
        .body(String::new())
        .expect("request");
    let with_session = service.oneshot(request).await.expect("ok");
    assert_eq!(
        set_cookies(&with_session),
        ["theme=dark"],
        "an unchanged new session sends no cookie"
    );
    assert_eq!(with_session.headers()["vary"], "Cookie");
}

#[tokio::test]
async fn a_sub_request_sent_from_a_spawned_task_has_its_own_jar() {
    let inner = CookieLayer::new().layer(service_fn(|request: Request<String>| async move {
        let cookies = Cookies::from_request(&request).expect("jar");
        let who = cookies.get("who").map(|c| c.value().to_owned());
        cookies.add(Cookie::new("inner", "1"));
        Ok::<_, Infallible>(Response::new(who.unwrap_or_default()))
    }));
    let outer = CookieLayer::new().layer(service_fn(move |_: Request<String>| {
        let inner = inner.clone();
        async move {
            // A new request to another layered service, sent from its own
            // task: nothing of this request is current there.
            let sub_request = cookie_request("who=bob");
            let answer = tokio::spawn(inner.oneshot(sub_request))
                .await
                .expect("task ran")
                .expect("infallible");
            assert_eq!(set_cookies(&answer), ["inner=1"]);
            Ok::<_, Infallible>(Response::new(answer.into_body()))
        }
    }));
    let response = outer
        .oneshot(cookie_request("who=alice"))
        .await
        .expect("ok");
    assert_eq!(response.body(), "bob");
    assert!(
        set_cookies(&response).is_empty(),
        "the sub-request's cookie stays on its own response"
    );
}

#[tokio::test]
async fn a_session_opened_before_the_jar_moves_into_it() {
    let service = ServiceBuilder::new()
        .layer(SessionLayer::<u64>::new(Key::generate()).expect("layer"))
        .service_fn(|request: Request<String>| async move {
            if request.uri().path() == "/read" {
                let session = Session::<u64>::load(&request).await?;
                return Ok(Response::new(session.get().to_string()));
            }
            // The session first, with no jar built yet; then the jar.
            Session::<u64>::load(&request).await?.set(7);
            let cookies = Cookies::from_request(&request).expect("jar");
            cookies.add(Cookie::new("theme", "dark"));
            let again = Session::<u64>::load(&request).await?;
            assert_eq!(
                again.get(),
                7,
                "the jar carries the session opened before it"
            );
            Ok::<_, tower_cookie_sessions::SessionError>(Response::new(String::new()))
        });

    let response = service
        .clone()
        .oneshot(Request::new(String::new()))
        .await
        .expect("ok");
    let cookies = set_cookies(&response);
    assert_eq!(
        cookies.len(),
        2,
        "the jar's cookie and the session's: {cookies:?}"
    );
    assert_eq!(cookies[0], "theme=dark");
    let session_pair = cookies[1].split(';').next().expect("a pair").to_owned();
    assert!(session_pair.starts_with("id="), "{session_pair}");

    let read = Request::builder()
        .uri("/read")
        .header(COOKIE, session_pair)
        .body(String::new())
        .expect("request");
    assert_eq!(service.oneshot(read).await.expect("ok").body(), "7");
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
    ) -> impl Future<Output = StoreResult<bool>> + Send {
        let (key, record) = (*key, record.clone());
        async move {
            tokio::task::yield_now().await;
            self.0.create(&key, &record).await
        }
    }
    fn load(&self, key: &RecordKey) -> impl Future<Output = StoreResult<Option<Record>>> + Send {
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
    ) -> impl Future<Output = StoreResult<bool>> + Send {
        let (key, record) = (*key, record.clone());
        async move {
            tokio::task::yield_now().await;
            self.0.save(&key, &record, expected).await
        }
    }
    fn delete(&self, key: &RecordKey) -> impl Future<Output = StoreResult<()>> + Send {
        self.0.delete(key)
    }
    fn touch(
        &self,
        key: &RecordKey,
        expires_at: SystemTime,
    ) -> impl Future<Output = StoreResult<bool>> + Send {
        self.0.touch(key, expires_at)
    }
    fn delete_by_owner(&self, owner: &str) -> impl Future<Output = StoreResult<u64>> + Send {
        self.0.delete_by_owner(owner)
    }
}

#[tokio::test]
async fn loads_in_flight_together_share_one_session() {
    let store = WaitingStore::default();
    let service = ServiceBuilder::new()
        .layer(
            SessionLayer::<u64>::new(Key::generate())
                .expect("layer")
                .with_store(store.clone()),
        )
        .service_fn(|request: Request<String>| async move {
            // Both loads wait on the store at the same time.
            let (a, b) = tokio::join!(
                Session::<u64>::load(&request),
                Session::<u64>::load(&request)
            );
            let (a, b) = (a?, b?);
            let before = a.get();
            a.set(before + 1);
            assert_eq!(b.get(), before + 1, "both loads share one session");
            Ok::<_, tower_cookie_sessions::SessionError>(Response::new(before.to_string()))
        });

    let first = service
        .clone()
        .oneshot(Request::new(String::new()))
        .await
        .expect("ok");
    assert_eq!(first.body(), "0");
    let pair = cookie_pair(&first, "id").expect("a session cookie");
    let second = service
        .clone()
        .oneshot(cookie_request(&pair))
        .await
        .expect("ok");
    assert_eq!(second.body(), "1", "the stored session was loaded by both");
    let third = service.oneshot(cookie_request(&pair)).await.expect("ok");
    assert_eq!(third.body(), "2", "and saved once, with the change");
}
