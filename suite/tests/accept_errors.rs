//! Accept errors (here: out of file descriptors) make the accept loop back off and log once
//! per burst, not once per attempt; the server serves again once descriptors are free.
//! This test lowers the process's descriptor limit, so it lives alone in its own binary.

use std::net::TcpStream;
use std::sync::Mutex;
use std::time::Duration;

use async_tungstenite::tungstenite::Message;
use suite::*;
use ws_echo::Config;

/// Keeps the library's log lines for the test to read.
struct Captured;

static LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());

impl log::Log for Captured {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.target().starts_with("ws_echo")
    }
    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            LINES
                .lock()
                .unwrap()
                .push(format!("{} {}", record.level(), record.args()));
        }
    }
    fn flush(&self) {}
}

fn lines_containing(text: &str) -> Vec<String> {
    LINES
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.contains(text))
        .cloned()
        .collect()
}

#[test]
fn running_out_of_descriptors_is_logged_once_per_burst_and_survived() {
    log::set_logger(&Captured).unwrap();
    log::set_max_level(log::LevelFilter::Info);
    let (soft, hard) = rlimit::Resource::NOFILE.get().unwrap();
    for rt in runtimes() {
        LINES.lock().unwrap().clear();
        let addr = start(rt, Config::default());
        let mut ws = connect(addr);
        assert_eq!(
            round_trip(&mut ws, Message::text("warm")),
            Message::text("warm")
        );

        // Leave room for a few more descriptors only, then use them up: each connection costs
        // one here (the client end) and one in the server (the accepted end).
        let open = open_fds();
        rlimit::Resource::NOFILE.set(open as u64 + 8, hard).unwrap();
        let mut clients = Vec::new();
        while let Ok(stream) = TcpStream::connect(addr) {
            clients.push(stream);
            assert!(clients.len() < 100, "the limit did not bite");
        }
        // The server now fails to accept what is waiting in its backlog, again and again.
        let deadline = std::time::Instant::now() + IO_TIMEOUT;
        while lines_containing("accept failed").is_empty() {
            assert!(
                std::time::Instant::now() < deadline,
                "no accept error was logged"
            );
            std::thread::yield_now();
        }
        std::thread::sleep(Duration::from_millis(1000)); // the burst: several backed-off retries
        clients.truncate(clients.len().saturating_sub(4));
        rlimit::Resource::NOFILE.set(soft, hard).unwrap();

        let mut fresh = connect(addr);
        assert_eq!(
            round_trip(&mut fresh, Message::text("again")),
            Message::text("again")
        );
        let failed = lines_containing("accept failed");
        assert_eq!(failed.len(), 1, "{rt:?}: {failed:?}");
        assert!(
            failed[0].starts_with("WARN accept failed: "),
            "{}",
            failed[0]
        );
        let again = lines_containing("accepting again after");
        assert_eq!(again.len(), 1, "{rt:?}: {again:?}");
        let attempts: u64 = again[0]
            .split_whitespace()
            .find_map(|w| w.parse().ok())
            .unwrap();
        assert!(
            attempts >= 2,
            "{rt:?}: only {attempts} attempts in 1 s of backing off (every 100 ms)"
        );
        assert!(
            attempts <= 50,
            "{rt:?}: {attempts} attempts in 1 s: spinning, not backing off"
        );
        // Every server end closes before the next runtime counts descriptors: one closing
        // during its burst would let an accept through and start a second burst.
        drop((clients, fresh, ws));
        let base = open - 2; // less the warm connection's two ends
        eventually("every server end closed", || open_fds() <= base);
    }
}
