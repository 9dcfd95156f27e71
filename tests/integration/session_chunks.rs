//! Client-side sessions larger than one cookie: split across `id.0 … id.k`,
//! joined on the way in, stale chunks removed, tampering refused.

use axum::Router;
use http::{StatusCode, Uri};
use tower_cookie_sessions::session::ConfigProblem;

/// The default limit on a session's cookies, as documented: 8 KB.
const DEFAULT_MAX_COOKIE_SIZE: usize = 8 * 1024;
/// The most chunks a session is split across, as documented.
const MAX_COOKIE_CHUNKS: usize = 50;
use tower_cookie_sessions::testing::TestClient;
use tower_cookie_sessions::{Key, SessionLayer};

use crate::common::{
    body_text, cookie_header_of, counter_app, get_with, removed_names, send, set_cookie_bytes,
    set_cookies, set_names, Counter, Logs, Visit,
};

fn names(expected: &[&str]) -> Vec<String> {
    expected.iter().map(|name| (*name).to_owned()).collect()
}

/// The counter app whose sessions may take `limit` bytes of cookies.
fn app_with_limit(key: Key, limit: usize) -> Router {
    let layer = SessionLayer::<Counter>::builder(key)
        .max_cookie_size(limit)
        .build()
        .expect("layer");
    counter_app(layer)
}

/// Room for three chunks.
const THREE_CHUNKS: usize = 3 * 4096;

/// A client holding a session of `bytes` of blob and one visit.
async fn client_with(app: &Router, bytes: usize) -> TestClient<Router> {
    let mut client = TestClient::new(app.clone());
    let response = client.get("/").await;
    assert_eq!(body_text(response).await, "visits: 1");
    let response = client.get(&format!("/resize?bytes={bytes}")).await;
    assert_eq!(response.status(), StatusCode::OK);
    client
}

/// What `/read` answers to `cookie`, and the `Set-Cookie` lines it sends.
async fn read_with(app: &Router, cookie: &str) -> (String, Vec<String>) {
    let response = get_with(app, "/read", Some(cookie)).await;
    let lines = set_cookies(&response);
    (body_text(response).await, lines)
}

#[tokio::test]
async fn a_session_moves_from_one_cookie_to_three_to_one_to_none() {
    let app = app_with_limit(Key::generate(), THREE_CHUNKS);
    let mut client = client_with(&app, 100).await;
    assert_eq!(client.cookie_names(), names(&["id"]));

    // One cookie to three: the chunks are set and `id` removed.
    let response = client.get("/resize?bytes=9000").await;
    assert_eq!(set_names(&response), names(&["id.0", "id.1", "id.2"]));
    assert_eq!(removed_names(&response), names(&["id"]));
    assert_eq!(body_text(response).await, "was: 100");
    assert_eq!(client.cookie_names(), names(&["id.0", "id.1", "id.2"]));
    assert!(client.cookie("id.0").expect("chunk 0").starts_with("3."));

    // The chunks are one session: read back whole, changed, sent again.
    let response = client.get("/").await;
    assert_eq!(set_names(&response), names(&["id.0", "id.1", "id.2"]));
    assert_eq!(body_text(response).await, "visits: 2");

    // Three to one: the chunks are removed.
    let response = client.get("/resize?bytes=10").await;
    assert_eq!(set_names(&response), names(&["id"]));
    assert_eq!(removed_names(&response), names(&["id.0", "id.1", "id.2"]));
    assert_eq!(body_text(response).await, "was: 9000");
    assert_eq!(client.cookie_names(), names(&["id"]));
    let response = client.get("/read").await;
    assert_eq!(body_text(response).await, "visits: 2");

    // One to none.
    let response = client.visit("POST", "/logout").await;
    assert!(set_names(&response).is_empty());
    assert!(
        client.cookie_names().is_empty(),
        "{:?}",
        client.cookie_names()
    );
}

#[tokio::test]
async fn a_session_shrinking_by_chunks_removes_only_the_ones_above() {
    let app = app_with_limit(Key::generate(), THREE_CHUNKS);
    let mut client = client_with(&app, 9000).await;
    assert_eq!(client.cookie_names(), names(&["id.0", "id.1", "id.2"]));
    let response = client.get("/resize?bytes=5000").await;
    assert_eq!(set_names(&response), names(&["id.0", "id.1"]));
    assert_eq!(removed_names(&response), names(&["id", "id.2"]));
    assert_eq!(client.cookie_names(), names(&["id.0", "id.1"]));
    let response = client.get("/resize?bytes=0").await;
    assert_eq!(body_text(response).await, "was: 5000");
}

#[tokio::test]
async fn logging_out_of_a_chunked_session_removes_every_chunk() {
    let app = app_with_limit(Key::generate(), THREE_CHUNKS);
    let mut client = client_with(&app, 9000).await;
    let response = client.visit("POST", "/logout").await;
    assert_eq!(
        removed_names(&response),
        names(&["id", "id.0", "id.1", "id.2"])
    );
    assert!(client.cookie_names().is_empty());
}

#[tokio::test]
async fn logging_out_without_cookies_removes_the_first_chunk_too() {
    // A request may carry none of the cookies the browser holds (a
    // cross-site form post under `SameSite=Lax`): without `id.0`, no chunk
    // left behind is a session.
    let app = app_with_limit(Key::generate(), THREE_CHUNKS);
    let mut client = client_with(&app, 9000).await;
    let response = send(&app, crate::common::request("POST", "/logout", None)).await;
    assert_eq!(removed_names(&response), names(&["id", "id.0"]));
    for line in set_cookies(&response) {
        client.add_cookie(&line, Uri::from_static("/logout"));
    }
    let response = client.get("/read").await;
    assert_eq!(
        body_text(response).await,
        "visits: 0",
        "the rest is no session"
    );
}

#[tokio::test]
async fn growing_past_one_cookie_keeps_working_up_to_the_limit() {
    let logs = Logs::capture();
    let app = counter_app(SessionLayer::<Counter>::new(Key::generate()).expect("layer"));
    let mut client = TestClient::new(app);
    let response = client.get("/grow?bytes=3000").await;
    assert_eq!(body_text(response).await, "size: 3000");
    assert_eq!(client.cookie_names(), names(&["id"]));

    // Past 4 KB: two cookies, the same session.
    let response = client.get("/grow?bytes=2000").await;
    assert_eq!(body_text(response).await, "size: 5000");
    assert_eq!(client.cookie_names(), names(&["id.0", "id.1"]));
    let response = client.get("/").await;
    assert_eq!(body_text(response).await, "visits: 1");

    // Past the 8 KB total: the size error, and the browser keeps what it had.
    let before = cookie_header_of(&client);
    let response = client.get("/grow?bytes=2000").await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(set_cookies(&response).is_empty());
    assert_eq!(body_text(response).await, "session too large\n");
    assert_eq!(cookie_header_of(&client), before);
    assert!(logs.text().contains("> 8192 bytes"), "{}", logs.text());
    let response = client.get("/").await;
    assert_eq!(body_text(response).await, "visits: 2");
}

#[tokio::test]
async fn eight_kilobytes_of_cookies_fit_and_one_byte_more_does_not() {
    let app = counter_app(SessionLayer::<Counter>::new(Key::generate()).expect("layer"));
    let status_and_size = |bytes: usize| {
        let app = app.clone();
        async move {
            let response = get_with(&app, &format!("/resize?bytes={bytes}"), None).await;
            (response.status(), set_cookie_bytes(&response))
        }
    };
    // The largest blob that fits, found by bisection: sizes only grow with it.
    let (mut fits, mut over) = (4096, 8192);
    while over - fits > 1 {
        let middle = (fits + over) / 2;
        if status_and_size(middle).await.0 == StatusCode::OK {
            fits = middle;
        } else {
            over = middle;
        }
    }
    let (status, size) = status_and_size(fits).await;
    assert_eq!(status, StatusCode::OK);
    // `id.0` and `id.1`, the count `2.`, and 8182 characters of envelope
    // (which base64 can make): exactly the limit.
    assert_eq!(size, DEFAULT_MAX_COOKIE_SIZE);
    let (status, size) = status_and_size(fits + 1).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(size, 0, "no cookie");
}

#[tokio::test]
async fn the_limit_takes_one_to_fifty_cookies() {
    let key = Key::generate();
    let layer = SessionLayer::<Counter>::new(key.clone()).expect("layer");
    assert_eq!(layer.cookie_size_limit(), DEFAULT_MAX_COOKIE_SIZE);
    let with_limit = |limit| {
        SessionLayer::<Counter>::builder(key.clone())
            .max_cookie_size(limit)
            .build()
    };
    for wrong in [0, 4095, MAX_COOKIE_CHUNKS * 4096 + 1] {
        let error = with_limit(wrong).map(|_| ()).expect_err("out of range");
        assert_eq!(
            error.problems(),
            [ConfigProblem::CookieSizeOutOfRange(wrong)]
        );
    }
    let most = MAX_COOKIE_CHUNKS * 4096;
    let app = counter_app(with_limit(most).expect("fifty cookies"));
    let mut client = TestClient::new(app);
    let response = client.get("/resize?bytes=140000").await;
    assert_eq!(response.status(), StatusCode::OK);
    let count = client.cookie_names().len();
    assert!((40..=MAX_COOKIE_CHUNKS).contains(&count), "{count} chunks");
    let response = client.get("/resize?bytes=1").await;
    assert_eq!(body_text(response).await, "was: 140000");
    assert_eq!(client.cookie_names(), names(&["id"]));

    let one_cookie = SessionLayer::<Counter>::builder(Key::generate())
        .max_cookie_size(4096)
        .build()
        .expect("layer");
    let app = counter_app(one_cookie);
    let response = get_with(&app, "/resize?bytes=3100", None).await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
}

/// A three-chunk session's cookies, `(name, value)` in index order, and
/// the app that made them; the session has one visit.
async fn three_chunks() -> (Router, Vec<(String, String)>) {
    let app = app_with_limit(Key::generate(), THREE_CHUNKS);
    let chunks = chunks_of(&client_with(&app, 9000).await);
    assert_eq!(chunks.len(), 3);
    (app, chunks)
}

fn chunks_of(client: &TestClient<Router>) -> Vec<(String, String)> {
    ["id.0", "id.1", "id.2"]
        .iter()
        .filter_map(|name| Some(((*name).to_owned(), client.cookie(name)?)))
        .collect()
}

fn header(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Why joined chunks that are not the envelope's text are refused: its
/// tag, or before it the base64 decoder, whose last character must be the
/// one an encoder writes.
const NOT_THE_ENVELOPE: &[&str] = &["failed authentication", "not base64url"];

/// `/read` with `cookie` sees a fresh session and leaves the cookies alone,
/// and the log says one of `reasons`.
async fn assert_refused(app: &Router, cookie: &str, reasons: &[&str]) {
    let logs = Logs::capture();
    let (body, lines) = read_with(app, cookie).await;
    assert_eq!(body, "visits: 0", "a fresh session");
    assert!(
        lines.is_empty(),
        "cookies that did not open stay: {lines:?}"
    );
    let text = logs.text();
    assert!(
        reasons.iter().any(|reason| text.contains(reason)),
        "{reasons:?}: {text}"
    );
}

#[tokio::test]
async fn the_chunks_as_sent_open() {
    let (app, chunks) = three_chunks().await;
    let pairs: Vec<(&str, &str)> = chunks
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let (body, lines) = read_with(&app, &header(&pairs)).await;
    assert_eq!(body, "visits: 1");
    assert!(lines.is_empty());
    // In any order in the header: the names say where each goes.
    let reversed: Vec<(&str, &str)> = pairs.iter().rev().copied().collect();
    let (body, _) = read_with(&app, &header(&reversed)).await;
    assert_eq!(body, "visits: 1");
}

#[tokio::test]
async fn reordered_chunks_are_refused() {
    let (app, chunks) = three_chunks().await;
    let value = |i: usize| chunks[i].1.as_str();
    let swapped = header(&[("id.0", value(0)), ("id.1", value(2)), ("id.2", value(1))]);
    assert_refused(&app, &swapped, NOT_THE_ENVELOPE).await;
}

#[tokio::test]
async fn dropped_chunks_are_refused() {
    let (app, chunks) = three_chunks().await;
    let value = |i: usize| chunks[i].1.as_str();
    let no_middle = header(&[("id.0", value(0)), ("id.2", value(2))]);
    assert_refused(&app, &no_middle, &["a session chunk is missing"]).await;
    let no_last = header(&[("id.0", value(0)), ("id.1", value(1))]);
    assert_refused(&app, &no_last, &["a session chunk is missing"]).await;
    let no_first = header(&[("id.1", value(1)), ("id.2", value(2))]);
    let (body, lines) = read_with(&app, &no_first).await;
    assert_eq!((body.as_str(), lines.len()), ("visits: 0", 0));
    // A count changed to leave the last chunk out: the tag catches it.
    let recounted = format!("2.{}", value(0).strip_prefix("3.").expect("count"));
    let fewer = header(&[("id.0", &recounted), ("id.1", value(1))]);
    assert_refused(&app, &fewer, NOT_THE_ENVELOPE).await;
}

#[tokio::test]
async fn duplicated_chunks_are_refused() {
    let (app, chunks) = three_chunks().await;
    let value = |i: usize| chunks[i].1.as_str();
    // One chunk's value in another's place.
    let copied = header(&[("id.0", value(0)), ("id.1", value(1)), ("id.2", value(1))]);
    assert_refused(&app, &copied, NOT_THE_ENVELOPE).await;
}

#[tokio::test]
async fn a_chunk_name_seen_twice_is_refused_without_trying_combinations() {
    let (app, chunks) = three_chunks().await;
    let value = |i: usize| chunks[i].1.as_str();
    // Even when both copies are the right one: no copy is chosen.
    let twice = header(&[
        ("id.0", value(0)),
        ("id.1", value(1)),
        ("id.1", value(1)),
        ("id.2", value(2)),
    ]);
    assert_refused(&app, &twice, &["a session chunk name came twice"]).await;
    let other = header(&[
        ("id.0", value(0)),
        ("id.0", "3.AAAA"),
        ("id.1", value(1)),
        ("id.2", value(2)),
    ]);
    assert_refused(&app, &other, &["a session chunk name came twice"]).await;
}

#[tokio::test]
async fn chunks_of_two_sessions_mixed_are_refused() {
    let (app, mine) = three_chunks().await;
    let theirs = chunks_of(&client_with(&app, 9000).await);
    let mixed = header(&[
        ("id.0", &mine[0].1),
        ("id.1", &theirs[1].1),
        ("id.2", &mine[2].1),
    ]);
    assert_refused(&app, &mixed, NOT_THE_ENVELOPE).await;
    let their_first = header(&[
        ("id.0", &theirs[0].1),
        ("id.1", &mine[1].1),
        ("id.2", &mine[2].1),
    ]);
    assert_refused(&app, &their_first, NOT_THE_ENVELOPE).await;
}

#[tokio::test]
async fn chunks_beside_a_cookie_that_opens_are_stale_and_removed() {
    // The browser kept a chunked session while a request that carried no
    // cookies started a new one in `id`: `id` is the newer.
    let (app, chunks) = three_chunks().await;
    let response = get_with(&app, "/resize?bytes=7", None).await;
    let (_, fresh) = crate::common::cookie_pair(&response, "id")
        .expect("a new session")
        .split_once('=')
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .expect("pair");
    let mut pairs = vec![("id", fresh.as_str())];
    pairs.extend(chunks.iter().map(|(n, v)| (n.as_str(), v.as_str())));
    let response = get_with(&app, "/resize?bytes=0", Some(&header(&pairs))).await;
    assert_eq!(removed_names(&response), names(&["id.0", "id.1", "id.2"]));
    assert_eq!(body_text(response).await, "was: 7");
    // Even a response that only reads removes them.
    let response = get_with(&app, "/read", Some(&header(&pairs))).await;
    assert_eq!(removed_names(&response), names(&["id.0", "id.1", "id.2"]));
    assert!(set_names(&response).is_empty());
}

#[tokio::test]
async fn a_chunk_above_the_count_is_ignored_and_removed() {
    let app = app_with_limit(Key::generate(), THREE_CHUNKS);
    let mut client = client_with(&app, 5000).await;
    assert_eq!(client.cookie_names(), names(&["id.0", "id.1"]));
    // Left by a larger session whose removal never arrived.
    client.add_cookie("id.2=AAAA; Path=/", Uri::from_static("/"));
    let response = client.get("/read").await;
    assert_eq!(removed_names(&response), names(&["id.2"]));
    assert_eq!(body_text(response).await, "visits: 1");
    assert_eq!(client.cookie_names(), names(&["id.0", "id.1"]));
}

#[tokio::test]
async fn a_new_session_over_chunks_that_do_not_open_removes_them() {
    let (app, chunks) = three_chunks().await;
    let other_app = app_with_limit(Key::generate(), THREE_CHUNKS);
    let pairs: Vec<(&str, &str)> = chunks
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    // Another key: nothing opens, so a read leaves them alone...
    let (body, lines) = read_with(&other_app, &header(&pairs)).await;
    assert_eq!((body.as_str(), lines.len()), ("visits: 0", 0));
    // ...and a new session replaces them.
    let response = get_with(&other_app, "/", Some(&header(&pairs))).await;
    assert_eq!(set_names(&response), names(&["id"]));
    assert_eq!(removed_names(&response), names(&["id.0", "id.1", "id.2"]));
    drop(app);
}

#[tokio::test]
async fn an_expired_chunked_session_removes_its_chunks() {
    let clock = crate::common::TestClock::new();
    let layer = SessionLayer::<Counter>::builder(Key::generate())
        .max_cookie_size(THREE_CHUNKS)
        .clock(clock.source())
        .build()
        .expect("layer");
    let app = counter_app(layer);
    let mut client = client_with(&app, 9000).await;
    clock.advance(15 * 24 * 60 * 60);
    let response = client.get("/read").await;
    assert_eq!(removed_names(&response), names(&["id.0", "id.1", "id.2"]));
    assert_eq!(body_text(response).await, "visits: 0");
    assert!(client.cookie_names().is_empty());
}

#[tokio::test]
async fn a_layer_named_like_another_layers_chunk_is_refused() {
    use axum::routing::get;
    let outer = SessionLayer::<Counter>::new(Key::generate()).expect("layer");
    let inner = SessionLayer::<u64>::builder(Key::generate())
        .cookie_name("id.1")
        .build()
        .expect("layer");
    let app = Router::new()
        .route("/", get(|| async { "unreachable" }))
        .layer(inner)
        .layer(outer);
    let response = get_with(&app, "/", None).await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body_text(response).await, "session not available\n");
}
