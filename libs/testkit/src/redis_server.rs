use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::TestCa;

/// A Redis server of the test's own, on a free port, for tests that stop Redis mid-run (the
/// shared server must keep running for everyone else) or need it to speak TLS. Needs
/// `redis-server` on the PATH (built with TLS for [`RedisProcess::start_tls`]).
#[derive(Debug)]
pub struct RedisProcess {
    child: Option<Child>,
    port: u16,
    scheme: &'static str,
    /// What it listens with, kept so a restart listens the same way.
    listen: Vec<String>,
}

impl RedisProcess {
    /// Starts `redis-server` on a free loopback port and waits until it answers.
    pub async fn start() -> RedisProcess {
        Self::spawn("redis", |port| vec!["--port".into(), port.to_string()]).await
    }

    /// Starts `redis-server` keeping every write in an append-only file in `dir` (fsync'd on
    /// each), as a production Redis with persistence does: a [`RedisProcess::restart`] keeps
    /// its keys, streams and consumer groups (not its ACL users: see
    /// [`crate::TestRedis::restore_users`]).
    pub async fn start_persistent(dir: &std::path::Path) -> RedisProcess {
        let dir = dir.display().to_string();
        Self::spawn("redis", move |port| {
            [
                "--port",
                &port.to_string(),
                "--dir",
                &dir,
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
            ]
            .map(String::from)
            .into()
        })
        .await
    }

    /// Starts `redis-server` speaking TLS only (`rediss://`), with a server certificate for
    /// `127.0.0.1` signed by `ca`; clients need no certificate.
    pub async fn start_tls(ca: &TestCa) -> RedisProcess {
        let cert = ca.server_cert("redis");
        let ca_file = ca.cert_file();
        let paths = [&cert.cert_file, &cert.key_file, &ca_file].map(|p| p.display().to_string());
        Self::spawn("rediss", |port| {
            let mut listen: Vec<String> = ["--port", "0", "--tls-port"].map(String::from).into();
            listen.push(port.to_string());
            for (flag, path) in ["--tls-cert-file", "--tls-key-file", "--tls-ca-cert-file"]
                .into_iter()
                .zip(&paths)
            {
                listen.extend([flag.to_owned(), path.clone()]);
            }
            listen.extend(["--tls-auth-clients".into(), "no".into()]);
            listen
        })
        .await
    }

    /// Starts the server on a free port. The port is only looked up, so another process can
    /// take it before the server binds it: then the server exits, and it is tried on another.
    async fn spawn(scheme: &'static str, listen: impl Fn(u16) -> Vec<String>) -> RedisProcess {
        for _ in 0..5 {
            let port = free_port();
            let mut server = RedisProcess {
                child: None,
                port,
                scheme,
                listen: listen(port),
            };
            if server.run().await {
                return server;
            }
        }
        panic!("redis-server found no free port in five tries");
    }

    /// Runs `redis-server` with this server's arguments and waits until its port answers;
    /// `false` if it exited first (its port was taken).
    async fn run(&mut self) -> bool {
        // The server's own arguments last: a later setting wins (`--appendonly yes`).
        let mut child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(&self.listen)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed for this test (Debian package redis-server)");
        for _ in 0..100 {
            if !matches!(child.try_wait(), Ok(None)) {
                return false;
            }
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                self.child = Some(child);
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let _ = child.kill();
        panic!("redis-server did not start on port {}", self.port);
    }

    /// Kills the server and starts an empty one on the same port, as a Redis restart without
    /// persistence does: every connection breaks, and keys, subscriptions and ACL users are gone
    /// (see [`crate::TestRedis::restore_users`]). Answers once the new server accepts
    /// connections.
    pub async fn restart(&mut self) {
        self.stop();
        assert!(
            self.run().await,
            "redis-server could not listen again on port {}: another process took it",
            self.port
        );
    }

    /// Its URL (`rediss://` when it speaks TLS).
    pub fn url(&self) -> String {
        format!("{}://127.0.0.1:{}", self.scheme, self.port)
    }

    /// Kills the server: every connection to it breaks.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for RedisProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}
