//! Interoperability with the program ws-echo descends from: the Go seed's client and server
//! (golang.org/x/net/websocket), rebuilt from ../shared/anchors/go-seed.

#![allow(deprecated)] // the async-std adapter is tested while it is supported

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use suite::*;
use ws_echo::client::ClientConfig;
use ws_echo::Config;

/// Kills the child (by its PID, through its handle) when the test ends, however it ends.
struct Reaped(std::process::Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_go_client_gets_echoes_from_our_server() {
    let seed = go_seed(Path::new(env!("CARGO_TARGET_TMPDIR")));
    for rt in runtimes() {
        let addr = start(rt, Config::default());
        let mut client = Reaped(
            Command::new(seed.join("seed-client"))
                .args(["-addr", &addr.to_string(), "-i", "20ms"])
                .stdout(Stdio::piped())
                .spawn()
                .unwrap(),
        );
        let stdout = client.0.stdout.take().unwrap();
        let lines: Vec<String> = BufReader::new(stdout)
            .lines()
            .take(3)
            .map(|l| l.unwrap())
            .collect();
        assert_eq!(lines.len(), 3, "{lines:?}");
        for line in &lines {
            // "15:04:05.000 received: Hello World"
            assert_eq!(
                line.split_once(' ').map(|(_, rest)| rest),
                Some("received: Hello World"),
                "{line:?}"
            );
        }
    }
}

#[test]
fn our_client_gets_echoes_from_the_go_server() {
    let seed = go_seed(Path::new(env!("CARGO_TARGET_TMPDIR")));
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let _server = Reaped(
        Command::new(seed.join("seed-server"))
            .args(["-a", &addr, "-q"])
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // Bounded wait until the Go server listens.
    let deadline = Instant::now() + IO_TIMEOUT;
    while TcpStream::connect(&addr).is_err() {
        assert!(
            Instant::now() < deadline,
            "the Go server did not start listening"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    for rt in runtimes() {
        // The Go server does not answer a Close; do not wait long for it.
        let config = ClientConfig::new(format!("ws://{addr}/ws"))
            .interval(Duration::from_millis(20))
            .count(3)
            .close_timeout(Duration::from_millis(100));
        let report = run_client(rt, &config, never(), |_| {}).unwrap();
        assert_eq!(
            (
                report.sent,
                report.echoed,
                report.missing,
                report.unexpected
            ),
            (3, 3, 0, 0)
        );
    }
}
