//! Abrupt disconnects (a reset mid-handshake, mid-frame, mid-message, with answers waiting for
//! their time, or a plain close there; the test target's abort) leak nothing: the open file
//! descriptors and the connection tasks return to their baseline.
#![cfg(feature = "test-target")]

use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_tungstenite::tungstenite::Message;
use suite::*;
use ws_echo::test_target::TestTarget;
use ws_echo::{Config, Handler};

/// The echo, counting how many copies of it are alive: the adapter keeps one, and each
/// connection task holds its own until the task ends.
struct Counted(Arc<AtomicUsize>);

impl Clone for Counted {
    fn clone(&self) -> Self {
        self.0.fetch_add(1, Ordering::SeqCst);
        Counted(Arc::clone(&self.0))
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Handler for Counted {
    fn on_message(&mut self, message: Message) -> Option<Message> {
        Some(message)
    }
}

/// Closes `stream` with a reset (SO_LINGER 0) instead of a FIN.
fn reset(stream: TcpStream) {
    socket2::SockRef::from(&stream)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(stream);
}

/// Waits (bounded) until `done` holds; returns whether it did.
fn eventually(mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + IO_TIMEOUT;
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::yield_now();
    }
    done()
}

#[test]
fn abrupt_disconnects_leave_no_descriptor_or_task_behind() {
    for rt in runtimes() {
        let alive = Arc::new(AtomicUsize::new(1));
        let handler = TestTarget::new(Counted(Arc::clone(&alive)));
        let addr = start_with(rt, Config::default(), handler);
        // Warm up: the runtime's own descriptors and threads exist from here on.
        let mut ws = connect(addr);
        assert_eq!(
            round_trip(&mut ws, Message::text("warm")),
            Message::text("warm")
        );
        ws.close(None).unwrap();
        while ws.read().is_ok() {}
        drop(ws);
        assert!(
            eventually(|| alive.load(Ordering::SeqCst) == 1),
            "{rt:?}: warm-up task left"
        );
        let baseline = open_fds();

        for round in 0..20 {
            // With answers waiting a minute (the test target's delay), and with the test
            // target's abort: each connection goes when its peer does, not when its answers
            // are due.
            let mut waiting = Raw::upgrade_with(addr, &upgrade_request("/ws?delay=1m", ""));
            waiting.send(true, TEXT, b"due in a minute");
            let mut aborted = Raw::upgrade_with(addr, &upgrade_request("/ws?abort&after=1", ""));
            aborted.send(true, TEXT, b"one");
            assert_eq!(aborted.read().payload, b"one");
            aborted.assert_eof();
            // Mid-handshake: half a request.
            let mut half = TcpStream::connect(addr).unwrap();
            half.write_all(b"GET /ws HTTP/1.1\r\nHost: x\r\nSec-WebSocket-")
                .unwrap();
            // Mid-frame: a header promising 1000 bytes, then 10 of them.
            let mut mid_frame = Raw::upgrade(addr);
            mid_frame.send_raw(&frame(true, BINARY, &[7; 1000], true)[..20]);
            // Mid-message: the first of several fragments.
            let mut mid_message = Raw::upgrade(addr);
            mid_message.send(false, TEXT, b"to be continued");
            if round % 2 == 0 {
                reset(waiting.stream);
                reset(half);
                reset(mid_frame.stream);
                reset(mid_message.stream);
            } // else: a plain close, when they go out of scope
        }
        let settled = eventually(|| alive.load(Ordering::SeqCst) == 1 && open_fds() == baseline);
        assert!(
            settled,
            "{rt:?}: {} tasks and {} descriptors left over (baseline {baseline})",
            alive.load(Ordering::SeqCst) - 1,
            open_fds()
        );
        // And the server still serves.
        let mut ws = connect(addr);
        assert_eq!(
            round_trip(&mut ws, Message::text("after")),
            Message::text("after")
        );
        // Closed, and its task gone, before the next runtime counts its baseline: its socket
        // closing meanwhile would put the next count below that baseline.
        ws.close(None).unwrap();
        while ws.read().is_ok() {}
        drop(ws);
        assert!(
            eventually(|| alive.load(Ordering::SeqCst) == 1),
            "{rt:?}: the last task left"
        );
    }
}
