//! Redis for the tests: the machine's server (`REDIS_URL`), private
//! `redis-server` processes to kill and restart, and a three-node cluster.
//!
//! Without `REDIS_URL` or the `redis-server` binary the tests that need
//! them are skipped with a message, except under `CI=true`, where they
//! fail.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Once, OnceLock};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionLike, ConnectionManager};
use redis::cluster_async::ClusterConnection;
use tower_cookie_sessions::store::RedisStore;

use super::map_app::SuiteStore;

/// Whether this run is CI's, where a missing server fails the run.
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| value == "true")
}

/// A key prefix no other test uses.
pub fn unique_prefix() -> String {
    format!("tcs-test:{:016x}:", rand::random::<u64>())
}

/// A store on the machine's Redis (`REDIS_URL`) under a prefix of its own;
/// `None`, with a notice, when `REDIS_URL` is not set outside CI.
///
/// # Panics
///
/// Under `CI=true` without `REDIS_URL`, and when the server it names
/// cannot be reached.
pub async fn redis_store_for_test() -> Option<RedisStore> {
    let Some(url) = std::env::var("REDIS_URL")
        .ok()
        .filter(|url| !url.is_empty())
    else {
        assert!(!under_ci(), "REDIS_URL must be set under CI");
        static NOTICE: Once = Once::new();
        NOTICE.call_once(|| super::note("skipping Redis tests: REDIS_URL is not set"));
        return None;
    };
    let store = RedisStore::connect(&url)
        .await
        .unwrap_or_else(|error| panic!("REDIS_URL is set but Redis cannot be used: {error}"));
    Some(store.with_prefix(unique_prefix()))
}

/// `prefix` as a glob pattern matching itself only, then `*`.
fn prefix_pattern(prefix: &str) -> String {
    let mut pattern = String::with_capacity(prefix.len() + 1);
    for c in prefix.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('*');
    pattern
}

/// Every key under the store's prefix, by `SCAN` on a single server.
pub async fn keys_under_prefix(store: &RedisStore) -> Vec<String> {
    let mut connection = store.connection().clone();
    let pattern = prefix_pattern(store.prefix());
    let mut keys = Vec::new();
    let mut cursor = 0u64;
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut connection)
            .await
            .expect("SCAN");
        keys.extend(batch);
        if next == 0 {
            break;
        }
        cursor = next;
    }
    keys.sort();
    keys.dedup();
    keys
}

/// Every key under the store's prefix on every primary of the cluster:
/// the client sends `KEYS` to each primary and joins the answers.
pub async fn cluster_keys_under_prefix(store: &RedisStore<ClusterConnection>) -> Vec<String> {
    let mut connection = store.connection().clone();
    let mut keys: Vec<String> = redis::cmd("KEYS")
        .arg(prefix_pattern(store.prefix()))
        .query_async(&mut connection)
        .await
        .expect("KEYS");
    keys.sort();
    keys
}

/// Deletes `keys`, one command per key so no command spans two cluster
/// slots.
async fn delete_keys<C: ConnectionLike + Clone>(connection: &C, keys: &[String]) {
    let mut connection = connection.clone();
    for key in keys {
        redis::cmd("DEL")
            .arg(key)
            .query_async::<i64>(&mut connection)
            .await
            .expect("DEL");
    }
}

impl SuiteStore for RedisStore<ConnectionManager> {
    async fn tear_down(&self) {
        let keys = keys_under_prefix(self).await;
        delete_keys(self.connection(), &keys).await;
        let left = keys_under_prefix(self).await;
        assert!(left.is_empty(), "keys left behind: {left:?}");
    }
}

impl SuiteStore for RedisStore<ClusterConnection> {
    async fn tear_down(&self) {
        let keys = cluster_keys_under_prefix(self).await;
        delete_keys(self.connection(), &keys).await;
        let left = cluster_keys_under_prefix(self).await;
        assert!(left.is_empty(), "keys left behind: {left:?}");
    }
}

/// Whether `redis-server` can be run; outside CI, prints why a test is
/// skipped when it cannot.
fn redis_server_available(test: &str) -> bool {
    static FOUND: OnceLock<bool> = OnceLock::new();
    let found = *FOUND.get_or_init(|| {
        Command::new("redis-server")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    });
    if !found {
        assert!(
            !under_ci(),
            "the redis-server binary must be on PATH under CI"
        );
        super::note(&format!(
            "skipping {test}: the redis-server binary is not on PATH"
        ));
    }
    found
}

/// A loopback port outside the ephemeral range (32768 and up on Linux),
/// so no outgoing connection takes it while a test's server is down.
fn free_port() -> u16 {
    loop {
        let port = 20_000 + (rand::random::<u16>() % 12_000);
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// A directory of its own under the system's temporary directory.
fn temp_dir(label: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "tcs-{label}-{}-{:016x}",
        std::process::id(),
        rand::random::<u64>()
    ));
    std::fs::create_dir_all(&dir).expect("temporary directory");
    dir
}

/// Sends one command to the server on `port`, with short timeouts.
fn command<T: redis::FromRedisValue>(
    port: u16,
    name: &str,
    args: &[&str],
) -> redis::RedisResult<T> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}"))?;
    let mut connection = client.get_connection_with_timeout(Duration::from_millis(200))?;
    connection.set_read_timeout(Some(Duration::from_millis(500)))?;
    let mut command = redis::cmd(name);
    for arg in args {
        command.arg(*arg);
    }
    command.query(&mut connection)
}

/// A private `redis-server` on a loopback port, keeping nothing on disk
/// unless started [durable](RedisServer::start_durable). Killed when
/// dropped.
pub struct RedisServer {
    port: u16,
    dir: PathBuf,
    extra: Vec<String>,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts a server and waits until it answers `PING`; `None`, with a
    /// notice, when the binary is missing outside CI.
    pub fn start(test: &str) -> Option<Self> {
        Self::start_with(test, &[])
    }

    /// A server that writes every change to its append-only file before
    /// answering (`appendfsync always`), so a restart after `SIGKILL`
    /// keeps every write it acknowledged.
    pub fn start_durable(test: &str) -> Option<Self> {
        // Later arguments override the defaults `spawn` passes first.
        Self::start_with(test, &["--appendonly", "yes", "--appendfsync", "always"])
    }

    fn start_with(test: &str, extra: &[&str]) -> Option<Self> {
        if !redis_server_available(test) {
            return None;
        }
        let mut server = Self {
            port: free_port(),
            dir: temp_dir("redis"),
            extra: extra.iter().map(|arg| (*arg).to_owned()).collect(),
            child: None,
        };
        // Another process may take the port between the check and the
        // bind: then try another.
        for _ in 0..5 {
            if server.spawn() {
                return Some(server);
            }
            server.port = free_port();
        }
        panic!("redis-server did not start:\n{}", server.log());
    }

    /// Starts the process on `self.port`; whether it answered `PING`.
    fn spawn(&mut self) -> bool {
        let port = self.port.to_string();
        let log = std::fs::File::create(self.dir.join(format!("redis-{port}.log"))).expect("log");
        let child = Command::new("redis-server")
            .args(["--port", &port, "--bind", "127.0.0.1", "--save", ""])
            .args([
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--protected-mode",
                "no",
            ])
            .arg("--dir")
            .arg(&self.dir)
            .args(&self.extra)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn redis-server");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if command::<String>(self.port, "PING", &[]).is_ok_and(|pong| pong == "PONG") {
                return true;
            }
            let exited = self
                .child
                .as_mut()
                .and_then(|child| child.try_wait().ok().flatten());
            if exited.is_some() {
                self.child = None;
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.kill();
        false
    }

    /// What the server wrote on its last start, for failure messages.
    fn log(&self) -> String {
        let path = self.dir.join(format!("redis-{}.log", self.port));
        std::fs::read_to_string(path).unwrap_or_default()
    }

    /// The server's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A `redis://` URL for the server.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server (`SIGKILL`) and waits for it to exit.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SIGKILL ends a paused process too.
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port, empty unless it is
    /// durable, and waits until it answers `PING`.
    pub fn restart(&mut self) {
        self.kill();
        // The old socket is gone once the process is reaped; a listener on
        // the port may still take a moment to be free.
        for _ in 0..50 {
            if self.spawn() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "redis-server did not restart on port {}:\n{}",
            self.port,
            self.log()
        );
    }

    /// Stops the process (`SIGSTOP`): connections stay open, nothing is
    /// answered.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Lets a paused process go on (`SIGCONT`).
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let child = self.child.as_ref().expect("a running server");
        let status = Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success(), "kill {signal} failed");
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Three `redis-server --cluster-enabled yes` primaries on loopback ports,
/// formed into one cluster by `redis-cli --cluster create`.
pub struct RedisCluster {
    nodes: Vec<RedisServer>,
    /// Outlives this process on purpose; see [`RedisCluster::shared`].
    watchdog: Option<Child>,
}

impl RedisCluster {
    /// Starts the nodes, forms the cluster, and waits until every node says
    /// `cluster_state:ok`; `None`, with a notice, without the binaries
    /// outside CI.
    pub fn start(test: &str) -> Option<Self> {
        let mut nodes = Vec::new();
        for _ in 0..3 {
            let node = RedisServer::start_with(
                test,
                &[
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    "nodes.conf",
                    "--cluster-node-timeout",
                    "5000",
                ],
            )?;
            nodes.push(node);
        }
        let addresses: Vec<String> = nodes
            .iter()
            .map(|node| format!("127.0.0.1:{}", node.port()))
            .collect();
        let output = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&addresses)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .expect("run redis-cli --cluster create");
        assert!(
            output.status.success(),
            "redis-cli --cluster create failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let cluster = Self {
            nodes,
            watchdog: None,
        };
        cluster.wait_until_ok();
        Some(cluster)
    }

    fn wait_until_ok(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        for node in &self.nodes {
            loop {
                let info = command::<String>(node.port(), "CLUSTER", &["INFO"]).unwrap_or_default();
                if info.contains("cluster_state:ok") {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "cluster not ok on port {}: {info}",
                    node.port()
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }

    /// `redis://` URLs of the nodes.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(RedisServer::url).collect()
    }

    /// The nodes' ports.
    pub fn ports(&self) -> Vec<u16> {
        self.nodes.iter().map(RedisServer::port).collect()
    }

    /// How many keys under `prefix` each node holds.
    pub fn keys_per_node(&self, prefix: &str) -> Vec<usize> {
        self.nodes
            .iter()
            .map(|node| {
                command::<Vec<String>>(node.port(), "KEYS", &[&prefix_pattern(prefix)])
                    .expect("KEYS")
                    .len()
            })
            .collect()
    }

    /// One cluster for the whole test binary, started by the first test
    /// that asks. A static is never dropped, so a watchdog process shuts
    /// the nodes down once this process is gone, however it ends.
    pub fn shared(test: &str) -> Option<&'static Self> {
        static CLUSTER: OnceLock<Option<RedisCluster>> = OnceLock::new();
        let cluster = CLUSTER.get_or_init(|| {
            let mut cluster = Self::start(test)?;
            cluster.watchdog = Some(cluster.watch_this_process());
            Some(cluster)
        });
        if cluster.is_none() {
            super::note(&format!("skipping {test}: no cluster"));
        }
        cluster.as_ref()
    }

    /// Starts `sh` polling this process; when it is gone, the shell shuts
    /// each node down by its port (never by a process id, which the system
    /// may have given to another process by then) and removes the nodes'
    /// directories.
    fn watch_this_process(&self) -> Child {
        let script = r#"
watched=$1; shift
while kill -0 "$watched" 2>/dev/null; do sleep 0.5; done
for port in "$@"; do redis-cli -h 127.0.0.1 -p "$port" shutdown nosave >/dev/null 2>&1; done
for dir in $TCS_DIRS; do rm -rf -- "$dir"; done
"#;
        let dirs: Vec<&str> = self
            .nodes
            .iter()
            .map(|node| node.dir.to_str().expect("UTF-8 temporary path"))
            .collect();
        assert!(dirs.iter().all(|dir| !dir.contains(char::is_whitespace)));
        Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg("tcs-cluster-watchdog")
            .arg(std::process::id().to_string())
            .args(self.ports().iter().map(u16::to_string))
            .env("TCS_DIRS", dirs.join(" "))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn the cluster watchdog")
    }
}
