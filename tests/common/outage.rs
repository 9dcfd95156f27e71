//! A store outage under load: visitors, each with a session of its own,
//! count their visits through a store layer while the test takes the
//! store away and brings it back; then what every response said is
//! checked against what a browser may rely on.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;

use super::{body_text, cookie_pair, get_with, note, set_cookies};

/// A 503 this fast (or faster) is an answer that did not wait for the
/// store.
pub const FAST: Duration = Duration::from_millis(50);

/// How soon after the store is back every visitor must be served again.
pub const RECOVERY: Duration = Duration::from_secs(1);

/// One answer a visitor got.
#[derive(Debug, Clone)]
struct Sample {
    /// When the request was sent.
    sent: Instant,
    took: Duration,
    status: u16,
    /// The count a `200` answered with.
    visits: Option<u64>,
    set_cookies: Vec<String>,
    body: String,
}

/// Visitors running against an app of [`counter_app`](super::counter_app).
pub struct Visitors {
    app: Router,
    cookies: Vec<String>,
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<Vec<Sample>>>,
}

impl Visitors {
    /// `count` visitors on `app`, each with a new session (one visit), all
    /// visiting in a loop from now on.
    pub async fn start(app: &Router, count: usize) -> Self {
        let mut cookies = Vec::new();
        for _ in 0..count {
            let response = get_with(app, "/", None).await;
            assert_eq!(response.status(), 200, "a first visit");
            cookies.push(cookie_pair(&response, "id").expect("a new session's cookie"));
        }
        let stop = Arc::new(AtomicBool::new(false));
        let tasks = cookies
            .iter()
            .map(|cookie| {
                let (app, cookie, stop) = (app.clone(), cookie.clone(), Arc::clone(&stop));
                tokio::spawn(async move {
                    let mut samples = Vec::new();
                    while !stop.load(Ordering::SeqCst) {
                        samples.push(visit(&app, &cookie).await);
                        // A browser does not retry in a hot loop either.
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                    samples
                })
            })
            .collect();
        Self {
            app: app.clone(),
            cookies,
            stop,
            tasks,
        }
    }

    /// Stops the visitors and checks what they got: `down` is when the
    /// store went away, `back` when it answered again.
    pub async fn finish(self, test: &str, down: Instant, back: Instant) -> Report {
        self.stop.store(true, Ordering::SeqCst);
        let mut report = Report::default();
        for (visitor, task) in self.tasks.into_iter().enumerate() {
            let samples = task.await.expect("a visitor's task");
            report.check_visitor(visitor, &samples, down, back);
            let last = samples
                .iter()
                .rev()
                .find_map(|sample| sample.visits)
                .expect("served at least once");
            // Every answered visit is in the store, none lost to the outage.
            let read =
                body_text(get_with(&self.app, "/read", Some(&self.cookies[visitor])).await).await;
            assert_eq!(read, format!("visits: {last}"), "visitor {visitor}");
        }
        report.print(test);
        report
    }
}

async fn visit(app: &Router, cookie: &str) -> Sample {
    let sent = Instant::now();
    let response = get_with(app, "/", Some(cookie)).await;
    let took = sent.elapsed();
    let status = response.status().as_u16();
    let set_cookies = set_cookies(&response);
    let body = body_text(response).await;
    let visits = (status == 200).then(|| {
        body.strip_prefix("visits: ")
            .and_then(|count| count.parse().ok())
            .unwrap_or_else(|| panic!("a count, not {body:?}"))
    });
    Sample {
        sent,
        took,
        status,
        visits,
        set_cookies,
        body,
    }
}

/// What the visitors saw, in numbers.
#[derive(Debug, Default)]
pub struct Report {
    pub requests: usize,
    /// Each 503 answered while the store was down: when it was sent, how
    /// long it took.
    unavailable: Vec<(Instant, Duration)>,
    /// How long after the store was back each visitor's first `200` came.
    pub recovered: Vec<Duration>,
}

impl Report {
    fn check_visitor(&mut self, visitor: usize, samples: &[Sample], down: Instant, back: Instant) {
        self.requests += samples.len();
        // The first visit, which created the session, was 1.
        let mut acknowledged = 1;
        let mut unacknowledged = 0;
        let mut recovered = None;
        for sample in samples {
            let context = format!("visitor {visitor}, {sample:?}");
            assert!(
                sample.set_cookies.is_empty(),
                "no cookie replaced: {context}"
            );
            match (sample.status, sample.visits) {
                (200, Some(visits)) => {
                    // Each visit adds one; a visit answered 503 may have
                    // been saved all the same, but nothing answered 200 is
                    // ever lost, and the session is never a new one.
                    assert!(
                        visits > acknowledged && visits <= acknowledged + 1 + unacknowledged,
                        "after {acknowledged} acknowledged visits: {context}"
                    );
                    acknowledged = visits;
                    unacknowledged = 0;
                    if sample.sent >= back && recovered.is_none() {
                        recovered = Some(sample.sent + sample.took - back);
                    }
                }
                (503, None) => {
                    assert_eq!(sample.body, "session store unavailable\n", "{context}");
                    unacknowledged += 1;
                    if sample.sent >= down && sample.sent + sample.took <= back {
                        self.unavailable.push((sample.sent, sample.took));
                    }
                }
                _ => panic!("neither 200 nor 503: {context}"),
            }
        }
        self.recovered
            .push(recovered.expect("served again after the store was back"));
    }

    /// How long each 503 answered while the store was down took, of those
    /// sent once the first fast one was answered: the calls before wait
    /// until the breaker opens. Slowest last.
    pub fn after_open(&self) -> Vec<Duration> {
        let opened = self
            .unavailable
            .iter()
            .filter(|(_, took)| *took < FAST)
            .map(|(sent, took)| *sent + *took)
            .min();
        let mut after: Vec<Duration> = self
            .unavailable
            .iter()
            .filter(|(sent, _)| opened.is_some_and(|opened| *sent >= opened))
            .map(|(_, took)| *took)
            .collect();
        after.sort();
        after
    }

    /// What an outage of `down_for` promises: at least 100 503s answered
    /// once the breaker opened, none as slow as [`FAST`] but the probes
    /// (one at a time, one every 200 ms), and every visitor served again
    /// within [`RECOVERY`] of the store's return.
    pub fn assert_fast_while_down_and_back_in_time(&self, down_for: Duration) {
        let answered = self.after_open();
        assert!(
            answered.len() >= 100,
            "503s answered at once while the store was down: {answered:?}"
        );
        let slow = answered.iter().filter(|took| **took >= FAST).count();
        let probes = usize::try_from(down_for.as_millis() / 200).expect("small") + 2;
        assert!(
            slow <= probes,
            "{slow} of {} 503s took {FAST:?} or more: {answered:?}",
            answered.len()
        );
        let slowest = self.recovered.iter().max().expect("visitors");
        assert!(
            *slowest < RECOVERY,
            "served again {slowest:?} after the store was back"
        );
    }

    fn print(&self, test: &str) {
        let fast = self.after_open();
        let at = |q: f64| {
            fast.get(((fast.len() as f64 - 1.0) * q).round() as usize)
                .copied()
                .unwrap_or_default()
        };
        note(&format!(
            "{test}: {} requests, {} answered 503 while the store was down, {} of them once the first fast one was (median {:?}, p90 {:?}, p99 {:?}, max {:?}), served again {:?} after the store was back (slowest visitor)",
            self.requests,
            self.unavailable.len(),
            fast.len(),
            at(0.5),
            at(0.9),
            at(0.99),
            fast.last().copied().unwrap_or_default(),
            self.recovered.iter().max().copied().unwrap_or_default(),
        ));
    }
}
