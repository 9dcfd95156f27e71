//! Sending a layered app a request and reading the whole answer, which is
//! all a check needs of a client.

use std::convert::Infallible;
use std::future::{poll_fn, Future};

use http::header::{COOKIE, SET_COOKIE};
use http::{Method, Request, Response, StatusCode};
use http_body_util::BodyExt as _;
use tower_service::Service;

use crate::session::SessionBody;

/// What a request came back with, body read whole.
#[derive(Debug)]
pub(super) struct Answer {
    pub(super) status: StatusCode,
    /// Every `Set-Cookie` line, in order.
    pub(super) set_cookies: Vec<String>,
    pub(super) body: String,
}

impl Answer {
    /// The `Set-Cookie` line for cookie `name`, if any.
    pub(super) fn set_cookie_for(&self, name: &str) -> Option<&str> {
        let prefix = format!("{name}=");
        self.set_cookies
            .iter()
            .map(String::as_str)
            .find(|line| line.starts_with(&prefix))
    }

    /// `name=value` of the `Set-Cookie` for `name`, ready for a `Cookie`
    /// header.
    pub(super) fn cookie_pair(&self, name: &str) -> Option<String> {
        self.set_cookie_for(name)
            .map(|line| line.split(';').next().unwrap_or_default().to_owned())
    }

    /// [`cookie_pair`](Answer::cookie_pair) of the session's `id` cookie,
    /// which the check needs.
    pub(super) fn id_cookie(&self) -> String {
        self.cookie_pair("id").expect("an id cookie")
    }
}

/// A layered app the checks send requests to.
pub(super) trait App:
    Service<
        Request<String>,
        Response = Response<SessionBody<String>>,
        Error = Infallible,
        Future: Send,
    > + Clone
    + Send
    + 'static
{
}

impl<A> App for A where
    A: Service<
            Request<String>,
            Response = Response<SessionBody<String>>,
            Error = Infallible,
            Future: Send,
        > + Clone
        + Send
        + 'static
{
}

/// Sends `method path` with the `Cookie` header `cookie`, if any, and
/// reads the answer. Owns its arguments, so it can run as a task of its
/// own.
pub(super) fn send<A: App>(
    app: &A,
    method: Method,
    path: &str,
    cookie: Option<&str>,
) -> impl Future<Output = Answer> + Send + 'static {
    let mut builder = Request::builder().method(method).uri(path);
    if let Some(cookie) = cookie {
        builder = builder.header(COOKIE, cookie);
    }
    let request = builder.body(String::new()).expect("a valid request");
    let mut app = app.clone();
    async move {
        let Ok(()) = poll_fn(|cx| app.poll_ready(cx)).await;
        let Ok(response) = app.call(request).await;
        let status = response.status();
        let set_cookies = response
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .map(|value| value.to_str().expect("ascii set-cookie").to_owned())
            .collect();
        let Ok(body) = response.into_body().collect().await;
        let body = String::from_utf8(body.to_bytes().to_vec()).expect("utf-8 body");
        Answer {
            status,
            set_cookies,
            body,
        }
    }
}

/// A GET of `path`.
pub(super) fn get<A: App>(
    app: &A,
    path: &str,
    cookie: Option<&str>,
) -> impl Future<Output = Answer> + Send + 'static {
    send(app, Method::GET, path, cookie)
}

/// `/set?{query}`.
pub(super) async fn set<A: App>(app: &A, cookie: Option<&str>, query: &str) -> Answer {
    get(app, &format!("/set?{query}"), cookie).await
}

/// The value `/get` answers for `key`: `none` when the session has none.
pub(super) async fn value<A: App>(app: &A, cookie: &str, key: &str) -> String {
    get(app, &format!("/get?key={key}"), Some(cookie))
        .await
        .body
}
