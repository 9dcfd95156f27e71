//! What every browser test needs: the built examples started on free
//! ports, chromedriver, fresh Chromium profiles, and a plain HTTP client
//! for asking the server what a browser would be sent.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener as StdListener};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Once;
use std::time::{Duration, Instant, SystemTime};

use fantoccini::cookies::Cookie;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Where sessions live in the app under test: its `SESSION_STORE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Cookie,
    Memory,
}

impl Mode {
    pub const ALL: [Mode; 2] = [Mode::Cookie, Mode::Memory];

    fn session_store(self) -> &'static str {
        match self {
            Mode::Cookie => "cookie",
            Mode::Memory => "memory",
        }
    }
}

/// Fixed, so that a failing run can be replayed by hand.
const SESSION_KEY: &str = "6b1e0c3f5a7d9e2b4c6a8f0e1d3b5a7c9e2f4a6c8e0b2d4f6a8c0e2b4d6f8a0c";

/// How long a server or page may take before a test gives up on it.
const PATIENCE: Duration = Duration::from_secs(15);

/// The browser, its driver and the built examples; `None` (after saying
/// why) when one is missing outside CI, where the suite is optional.
pub struct Kit {
    chromium: PathBuf,
    chromedriver: PathBuf,
    examples: PathBuf,
}

/// The kit for test `test`, or `None` when it is skipped. Under
/// `CI=true` a missing piece fails the test instead: CI installs them all.
pub fn kit(test: &str) -> Option<Kit> {
    let chromium = from_env("CHROMIUM", "/usr/bin/chromium");
    let chromedriver = from_env("CHROMEDRIVER", "/usr/bin/chromedriver");
    let examples = examples_dir();
    let mut missing = Vec::new();
    for (what, path) in [("chromium", &chromium), ("chromedriver", &chromedriver)] {
        if !path.is_file() {
            missing.push(format!(
                "{what} at {} (apt-get install chromium chromium-driver)",
                path.display()
            ));
        }
    }
    for example in ["counter", "login"] {
        if let Some(problem) = example_problem(&examples, example) {
            missing.push(problem);
        }
    }
    if missing.is_empty() {
        return Some(Kit {
            chromium,
            chromedriver,
            examples,
        });
    }
    let why = missing.join("; ");
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("browser test {test} cannot run under CI=true: missing {why}");
    }
    // Past the test harness's capture, which would hide it in a passing
    // test; once per process, not once per test.
    static SAID: Once = Once::new();
    SAID.call_once(|| {
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED the browser tests (CI=true makes this a failure): missing {why}"
        );
    });
    None
}

fn from_env(variable: &str, default: &str) -> PathBuf {
    std::env::var_os(variable).map_or_else(|| PathBuf::from(default), PathBuf::from)
}

/// `target/<profile>/examples`, beside this test's own `deps/` folder:
/// wherever `CARGO_TARGET_DIR`, `--target` or `--release` put it.
fn examples_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test binary sits in <target>/<profile>/deps");
    profile.join("examples")
}

/// Why `example` cannot be used: not built, or older than its source
/// (`cargo test --test browser` builds no example).
fn example_problem(examples: &Path, example: &str) -> Option<String> {
    let built = examples.join(example);
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("examples/{example}.rs"));
    let modified = |path: &Path| path.metadata().and_then(|meta| meta.modified()).ok();
    let build = "cargo build --examples --all-features";
    match (modified(&built), modified(&source)) {
        (None, _) => Some(format!("{} ({build})", built.display())),
        (Some(built_at), Some(written_at)) if built_at < written_at => Some(format!(
            "an up-to-date {} (older than its source: {build})",
            built.display()
        )),
        _ => None,
    }
}

impl Kit {
    /// Starts the example `name` in `mode` on a free port.
    pub async fn app(&self, name: &str, mode: Mode) -> App {
        let port = free_port();
        let logs = TempDir::new().expect("a temporary folder");
        let log = logs.path().join("log");
        let child = Command::new(self.examples.join(name))
            .env("PORT", port.to_string())
            .env("SESSION_KEY", SESSION_KEY)
            .env("SESSION_STORE", mode.session_store())
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("a log file"))
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start example {name}: {error}"));
        let mut app = App {
            child,
            port,
            log,
            _logs: logs,
        };
        if !wait_for_port(port, &mut app.child).await {
            panic!("example {name} did not listen on {port}: {}", app.log());
        }
        app
    }

    /// Starts chromedriver on a free port.
    pub async fn driver(&self) -> Driver {
        let port = free_port();
        let mut child = Command::new(&self.chromedriver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group, so that the Chromiums it starts end
            // with it even when a failing test never closes them.
            .process_group(0)
            .spawn()
            .expect("cannot start chromedriver");
        if !wait_for_port(port, &mut child).await {
            panic!("chromedriver did not listen on {port}");
        }
        Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
            chromium: self.chromium.clone(),
        }
    }
}

fn free_port() -> u16 {
    let listener = StdListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("a free port");
    listener.local_addr().expect("its address").port()
}

/// Waits until something listens on `port`; `false` if `child` exits or
/// time runs out first.
async fn wait_for_port(port: u16, child: &mut Child) -> bool {
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        if TcpStream::connect((Ipv4Addr::LOCALHOST, port))
            .await
            .is_ok()
        {
            return true;
        }
        if child.try_wait().ok().flatten().is_some() {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    false
}

/// A running example; stopped when dropped.
pub struct App {
    child: Child,
    port: u16,
    log: PathBuf,
    _logs: TempDir,
}

impl App {
    /// The URL of `path` on this app, on `localhost`: the host whose
    /// plain-HTTP pages Chromium lets set `Secure` cookies.
    pub fn url(&self, path: &str) -> String {
        format!("http://localhost:{}{path}", self.port)
    }

    /// What the app wrote to stderr so far.
    pub fn log(&self) -> String {
        let mut text = String::new();
        if let Ok(mut file) = std::fs::File::open(&self.log) {
            let _ = file.read_to_string(&mut text);
        }
        text
    }

    /// A `GET` with `cookies`, outside any browser: what the server would
    /// send a browser holding them, without changing that browser.
    pub async fn get(&self, path: &str, cookies: &[Cookie<'static>]) -> Raw {
        let header: Vec<String> = cookies
            .iter()
            .map(|cookie| format!("{}={}", cookie.name(), cookie.value()))
            .collect();
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: localhost:{}\r\nCookie: {}\r\nConnection: close\r\n\r\n",
            self.port,
            header.join("; ")
        );
        let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, self.port))
            .await
            .expect("the app answers");
        stream.write_all(request.as_bytes()).await.expect("sent");
        let mut response = String::new();
        stream.read_to_string(&mut response).await.expect("read");
        Raw::parse(&response)
    }
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A response read off the wire: status and `Set-Cookie` lines.
pub struct Raw {
    pub status: u16,
    pub set_cookies: Vec<Cookie<'static>>,
}

impl Raw {
    fn parse(response: &str) -> Raw {
        let head = response.split("\r\n\r\n").next().unwrap_or_default();
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|line| line.split(' ').nth(1))
            .and_then(|code| code.parse().ok())
            .expect("a status line");
        let set_cookies = lines
            .filter_map(|line| line.split_once(':'))
            .filter(|(name, _)| name.eq_ignore_ascii_case("set-cookie"))
            .map(|(_, value)| Cookie::parse(value.trim().to_owned()).expect("a cookie"))
            .collect();
        Raw {
            status,
            set_cookies,
        }
    }

    /// The cookies this response keeps or sets, without the removals.
    pub fn kept(&self) -> impl Iterator<Item = &Cookie<'static>> {
        self.set_cookies.iter().filter(|cookie| !removes(cookie))
    }

    /// The names of the cookies it removes.
    pub fn removed(&self) -> impl Iterator<Item = &str> {
        self.set_cookies
            .iter()
            .filter(|cookie| removes(cookie))
            .map(Cookie::name)
    }
}

fn removes(cookie: &Cookie<'_>) -> bool {
    let past = cookie
        .expires_datetime()
        .is_some_and(|expires| SystemTime::from(expires) <= SystemTime::now());
    past || cookie.max_age().is_some_and(|age| age.is_zero())
}

/// chromedriver; it and every Chromium it started end when dropped.
pub struct Driver {
    child: Child,
    url: String,
    chromium: PathBuf,
}

impl Driver {
    /// A Chromium of its own, with a fresh profile: no cookies, no cache.
    pub async fn profile(&self) -> Profile {
        let dir = TempDir::new().expect("a temporary folder");
        let args = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            &format!("--user-data-dir={}", dir.path().display()),
        ];
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": self.chromium, "args": args },
        });
        let serde_json::Value::Object(capabilities) = capabilities else {
            unreachable!("an object literal")
        };
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .expect("chromedriver starts Chromium");
        Profile { client, _dir: dir }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The whole group, by its id: chromedriver and its Chromiums.
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let _ = self.child.wait();
    }
}

/// One browser profile: its own cookie store.
pub struct Profile {
    pub client: Client,
    _dir: TempDir,
}

impl Profile {
    /// Loads `url` and waits for the page.
    pub async fn open(&self, url: &str) {
        self.client.goto(url).await.expect("the page loads");
    }

    /// The page's text, as a visitor reads it.
    pub async fn text(&self) -> String {
        let body = self
            .client
            .find(Locator::Css("body"))
            .await
            .expect("a body");
        body.text().await.expect("its text")
    }

    /// The path of the page shown now.
    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("a URL");
        url.path().to_owned()
    }

    /// The cookies the browser keeps for the page shown now, from its own
    /// cookie store (`HttpOnly` ones included).
    pub async fn cookies(&self) -> Vec<Cookie<'static>> {
        let mut cookies = self.client.get_all_cookies().await.expect("the cookies");
        cookies.sort_by(|a, b| a.name().cmp(b.name()));
        cookies
    }

    /// The names of the cookies the browser keeps, sorted.
    pub async fn cookie_names(&self) -> Vec<String> {
        let cookies = self.cookies().await;
        cookies
            .iter()
            .map(|cookie| cookie.name().to_owned())
            .collect()
    }

    /// The flash messages on the page: `(data-level, text)`.
    pub async fn flashes(&self) -> Vec<(String, String)> {
        let found = self.client.find_all(Locator::Css(".flash")).await;
        let mut flashes = Vec::new();
        for element in found.expect("a query") {
            let level = element.attr("data-level").await.expect("an attribute");
            let text = element.text().await.expect("its text");
            flashes.push((level.unwrap_or_default(), text));
        }
        flashes
    }

    /// Clicks the element `css` and waits until a new page at `path` is
    /// shown (a form's redirects followed).
    pub async fn click_to(&self, css: &str, path: &str) {
        // Marks this document, so that the wait below cannot mistake it for
        // the next one when both are at `path`.
        let mark = "window.clickedAway = true";
        self.client.execute(mark, Vec::new()).await.expect("marked");
        let element = self
            .client
            .find(Locator::Css(css))
            .await
            .expect("the element");
        element.click().await.expect("a click");
        self.wait_for_new_page(path).await;
    }

    /// Types `text` into the input named `name`.
    pub async fn fill(&self, name: &str, text: &str) {
        let css = format!("input[name={name}]");
        let input = self
            .client
            .find(Locator::Css(&css))
            .await
            .expect("the input");
        input.clear().await.expect("cleared");
        input.send_keys(text).await.expect("typed");
    }

    async fn wait_for_new_page(&self, path: &str) {
        let deadline = Instant::now() + PATIENCE;
        let loaded = "return !window.clickedAway && document.readyState === 'complete'";
        loop {
            let new = self.client.execute(loaded, Vec::new()).await;
            // A script may fail while the next document is being committed.
            if new.is_ok_and(|new| new == true) && self.path().await == path {
                return;
            }
            let at = self.path().await;
            assert!(Instant::now() < deadline, "never reached {path}: at {at}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Sends `POST path` from the page shown now with `fetch`, as a script
    /// of that page would (with its cookies); the response's status.
    pub async fn post(&self, path: &str) -> u64 {
        let script = "return fetch(arguments[0], { method: 'POST', credentials: 'include' })\
                      .then(response => response.status)";
        let status = self
            .client
            .execute(script, vec![json!(path)])
            .await
            .expect("the script runs");
        status.as_u64().expect("a status")
    }

    /// Sends `POST url` to another origin from the page shown now, as a
    /// form or script of an attacker's page would: `no-cors`, so the
    /// browser sends it (with the cookies `SameSite` allows) and hides the
    /// answer; the status is then 0.
    pub async fn post_no_cors(&self, url: &str) -> u64 {
        let script = "return fetch(arguments[0], \
                      { method: 'POST', mode: 'no-cors', credentials: 'include' })\
                      .then(response => response.status)";
        let status = self
            .client
            .execute(script, vec![json!(url)])
            .await
            .expect("the script runs");
        status.as_u64().expect("a status")
    }

    /// Ends this browser.
    pub async fn close(self) {
        self.client.close().await.expect("the browser closes");
    }
}
