//! The test suite's harness, shared by every file of `tests/`: servers under each compiled-in
//! runtime, a raw frame-level client for exact bytes, a tungstenite client for whole messages,
//! and the Go seed's binaries.
//!
//! The suite is a package of its own so that its dependencies (proptest, rcgen, ...) are not
//! built for ws-echo's examples: Cargo builds every dev-dependency of a package for each of its
//! examples. `cargo test` at the repository's root runs it (a default member of the workspace).
#![allow(deprecated)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

use async_tungstenite::tungstenite;
use ws_echo::{Config, Echo, Handler};

pub use frames::*;

pub mod frames;
pub mod relay;
pub mod stoppable;

/// A guard against hangs only: no test waits on it to synchronise.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// Waits until `done` holds, looking every millisecond; fails naming `what` after
/// [`IO_TIMEOUT`].
pub fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + IO_TIMEOUT;
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "never happened: {what}"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// The file descriptors this process has open now.
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// The examples' runtime helper: `block_on`, and `block_on_threads` with `run_server` for a
/// server on several executor threads as the server example runs one.
#[path = "../../src/bin/ws-echo/runtime.rs"]
pub mod runtime;

pub use ws_echo::runtimes::Runtime as Rt;

/// The runtimes this test binary was built with.
pub fn runtimes() -> Vec<Rt> {
    assert!(
        !Rt::COMPILED.is_empty(),
        "tests need --features smol, async-std and/or tokio"
    );
    Rt::COMPILED.to_vec()
}

/// Runs `future` to completion on `rt`, on the calling thread.
pub fn block_on<T>(rt: Rt, future: impl std::future::Future<Output = T>) -> T {
    runtime::block_on(rt, future).expect("the runtime starts")
}

/// A server running on its own thread under one runtime.
pub struct Running {
    pub addr: SocketAddr,
    pub shutdown: ws_echo::Shutdown,
    pub stats: ws_echo::StatsHandle,
    /// What `run` returns once the server has shut down.
    pub report: mpsc::Receiver<ws_echo::ShutdownReport>,
}

/// Starts an echo server on 127.0.0.1:0 under `rt`; it runs until the test process ends.
pub fn start(rt: Rt, config: Config) -> SocketAddr {
    start_with(rt, config, Echo)
}

/// Starts a server with `handler` on 127.0.0.1:0 under `rt`.
pub fn start_with<H: Handler + Clone + Send + 'static>(
    rt: Rt,
    config: Config,
    handler: H,
) -> SocketAddr {
    start_server(rt, config, handler).addr
}

/// Starts a server with `handler` on 127.0.0.1:0 under `rt`, with its controls.
pub fn start_server<H: Handler + Clone + Send + 'static>(
    rt: Rt,
    config: Config,
    handler: H,
) -> Running {
    let server = ws_echo::Server::bind(rt, "127.0.0.1:0", config).unwrap();
    start_bound(rt, server, handler)
}

/// Runs `server` (bound, with its settings) with `handler` on its own thread under `rt`.
pub fn start_bound<H: Handler + Clone + Send + 'static>(
    rt: Rt,
    server: ws_echo::Server,
    handler: H,
) -> Running {
    let (addr, shutdown, stats) = (
        server.local_addr().unwrap(),
        server.shutdown_handle(),
        server.stats(),
    );
    let (report_tx, report) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = report_tx.send(block_on(rt, server.run(handler)).unwrap());
    });
    Running {
        addr,
        shutdown,
        stats,
        report,
    }
}

/// Runs the timed-writer client under `rt` with that runtime's dialer and timer.
pub fn run_client(
    rt: Rt,
    config: &ws_echo::client::ClientConfig,
    stop: impl std::future::Future<Output = ()>,
    on_event: impl FnMut(&ws_echo::client::Event),
) -> Result<ws_echo::client::ClientReport, ws_echo::Error> {
    block_on(rt, async {
        let config = config.clone().timer(rt.timer());
        ws_echo::client::run(&config, |addr| rt.connect(addr), stop, on_event).await
    })
}

/// A `stop` future that never completes.
pub fn never() -> impl std::future::Future<Output = ()> {
    futures_lite::future::pending()
}

/// Connects, sends `request` as is, and reads the answer up to the end of its head.
pub fn answer_head(addr: SocketAddr, request: &str) -> (TcpStream, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(
            stream.read(&mut byte).unwrap(),
            1,
            "EOF in the answer's head"
        );
        head.push(byte[0]);
    }
    (stream, String::from_utf8(head).unwrap())
}

pub type Ws = tungstenite::WebSocket<TcpStream>;

/// A whole-message client (tungstenite's blocking one) connected to `ws://addr/ws`.
pub fn connect(addr: SocketAddr) -> Ws {
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    let (ws, response) = tungstenite::client(format!("ws://{addr}/ws"), stream).unwrap();
    assert_eq!(response.status(), 101);
    ws
}

/// Sends `message` and returns the next message received.
pub fn round_trip(ws: &mut Ws, message: tungstenite::Message) -> tungstenite::Message {
    ws.send(message).unwrap();
    loop {
        match ws.read().unwrap() {
            tungstenite::Message::Ping(_) | tungstenite::Message::Pong(_) => continue,
            other => return other,
        }
    }
}

/// A valid upgrade request for `path` with the given extra header lines.
pub fn upgrade_request(path: &str, extra: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    )
}

/// Sends `request` as is and returns everything the server answers until it closes.
pub fn http(addr: SocketAddr, request: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    String::from_utf8(answer).unwrap()
}

/// A frame-level client: writes exactly the frames a test wants, reads frames as they come.
pub struct Raw {
    pub stream: TcpStream,
}

/// One frame as read: FIN bit, opcode, payload.
#[derive(Debug, PartialEq, Eq)]
pub struct Frame {
    pub fin: bool,
    pub opcode: u8,
    pub payload: Vec<u8>,
}

impl Raw {
    /// Connects and completes the upgrade of `/ws`, asserting the exact 101 answer.
    pub fn upgrade(addr: SocketAddr) -> Raw {
        Raw::upgrade_with(addr, &upgrade_request("/ws", ""))
    }

    /// Connects, sends `request` (made by [`upgrade_request`]) and asserts the exact 101 answer.
    pub fn upgrade_with(addr: SocketAddr, request: &str) -> Raw {
        let (stream, head) = answer_head(addr, request);
        assert_eq!(
            head,
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
        );
        Raw { stream }
    }

    /// Writes one masked frame.
    pub fn send(&mut self, fin: bool, opcode: u8, payload: &[u8]) {
        self.stream
            .write_all(&frame(fin, opcode, payload, true))
            .unwrap();
    }

    /// Writes bytes as they are.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    /// Reads one frame; the server must not mask it.
    pub fn read(&mut self) -> Frame {
        let mut head = [0u8; 2];
        self.stream.read_exact(&mut head).unwrap();
        assert_eq!(head[1] & 0x80, 0, "server frames are never masked");
        assert_eq!(head[0] & 0x70, 0, "no reserved bits");
        let len = match head[1] & 0x7f {
            126 => {
                let mut ext = [0u8; 2];
                self.stream.read_exact(&mut ext).unwrap();
                u16::from_be_bytes(ext) as usize
            }
            127 => {
                let mut ext = [0u8; 8];
                self.stream.read_exact(&mut ext).unwrap();
                u64::from_be_bytes(ext) as usize
            }
            n => n as usize,
        };
        let mut payload = vec![0u8; len];
        self.stream.read_exact(&mut payload).unwrap();
        Frame {
            fin: head[0] & 0x80 != 0,
            opcode: head[0] & 0x0f,
            payload,
        }
    }

    /// Reads one frame and asserts it is a Close; returns its code and reason.
    pub fn read_close(&mut self) -> (u16, String) {
        let frame = self.read();
        assert_eq!(frame.opcode, CLOSE, "expected a Close, got {frame:?}");
        assert!(frame.payload.len() >= 2, "Close without a code: {frame:?}");
        let code = u16::from_be_bytes([frame.payload[0], frame.payload[1]]);
        (
            code,
            String::from_utf8(frame.payload[2..].to_vec()).unwrap(),
        )
    }

    /// Asserts that the server closed the TCP connection (EOF, nothing more to read).
    pub fn assert_eof(&mut self) {
        let mut rest = Vec::new();
        self.stream.read_to_end(&mut rest).unwrap();
        assert_eq!(rest, b"", "bytes after the end");
    }
}

/// Builds the Go seed (../shared/anchors/go-seed beside the repository) once per test process,
/// in a folder under `tmp` (a test's `CARGO_TARGET_TMPDIR`), and returns the folder holding
/// `seed-server` and `seed-client`. Set WS_ECHO_GO_SEED to use another seed folder.
pub fn go_seed(tmp: &std::path::Path) -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let seed = std::env::var_os("WS_ECHO_GO_SEED")
                .map(PathBuf::from)
                .unwrap_or_else(|| {
                    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/anchors/go-seed")
                });
            assert!(
                seed.join("build.sh").is_file(),
                "the Go seed is not at {}: put shared/ beside the repository, or set \
                 WS_ECHO_GO_SEED to the go-seed folder",
                seed.display()
            );
            let out = tmp.join(format!("go-seed-{}", std::process::id()));
            let status = Command::new("sh")
                .arg(seed.join("build.sh"))
                .arg(&out)
                .status()
                .expect("cannot run sh");
            assert!(
                status.success(),
                "building the Go seed from {} failed: it needs Debian's golang-go and \
                 golang-golang-x-net-dev (scripts/test.sh installs them)",
                seed.display()
            );
            out
        })
        .clone()
}
