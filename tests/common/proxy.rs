//! A TCP proxy a test can cut and mend: a server made unreachable without
//! touching the server.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// Forwards every connection on a loopback port to `target`.
pub struct Proxy {
    port: u16,
    target: SocketAddr,
    accepting: Option<JoinHandle<()>>,
}

impl Proxy {
    /// A proxy on a free loopback port.
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.expect("bind");
        let port = listener.local_addr().expect("address").port();
        Self {
            port,
            target,
            accepting: Some(serve(listener, target)),
        }
    }

    /// The port clients connect to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Closes every connection through the proxy and refuses new ones.
    pub fn cut(&mut self) {
        // The listener and the connections' tasks go with the task.
        if let Some(accepting) = self.accepting.take() {
            accepting.abort();
        }
    }

    /// Accepts connections again, on the same port.
    pub async fn mend(&mut self) {
        for _ in 0..100 {
            // The aborted task may not have dropped its listener yet.
            if let Ok(listener) = TcpListener::bind(("127.0.0.1", self.port)).await {
                self.accepting = Some(serve(listener, self.target));
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("port {} not free again", self.port);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.cut();
    }
}

fn serve(listener: TcpListener, target: SocketAddr) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut connections = JoinSet::new();
        while let Ok((mut inbound, _)) = listener.accept().await {
            connections.spawn(async move {
                let mut outbound = TcpStream::connect(target).await?;
                tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await
            });
            // Reap the finished ones as we go.
            while connections.try_join_next().is_some() {}
        }
    })
}
