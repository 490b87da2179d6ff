//! Echoes of everything that has already arrived leave in one write, not one per message,
//! and a peer whose input never pauses still gets a write every BATCH (64) messages, or every
//! MiB of echoes, after which the connection lets other tasks run.

use std::cell::Cell;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use futures_lite::future::block_on;
use ws_echo::{serve, Config, Echo, Ending, Served};

/// An in-memory stream: all of the peer's bytes are already there; every write is recorded.
struct Recorded {
    input: io::Cursor<Vec<u8>>,
    writes: Vec<Vec<u8>>,
    /// Bytes written so far, readable while the stream is lent out.
    written: Rc<Cell<usize>>,
}

impl futures_lite::AsyncRead for Recorded {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(io::Read::read(&mut self.input, buf))
    }
}

impl futures_lite::AsyncWrite for Recorded {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.writes.push(buf.to_vec());
        self.written.set(self.written.get() + buf.len());
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

const UPGRADE: &[u8] =
    b"GET /ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
        Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";

/// Serves an upgrade request followed by `messages` masked one-byte text frames and a Close
/// 1000; returns the writes after the 101 answer.
fn echo_writes(messages: usize) -> Vec<Vec<u8>> {
    let mut input = UPGRADE.to_vec();
    for _ in 0..messages {
        input.extend_from_slice(&[0x81, 0x81, 0, 0, 0, 0, b'x']);
    }
    input.extend_from_slice(&[0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8]);
    let mut stream = Recorded {
        input: io::Cursor::new(input),
        writes: Vec::new(),
        written: Rc::default(),
    };
    let Ok(Served::WebSocket(summary)) = block_on(serve(&mut stream, &Config::default(), Echo))
    else {
        panic!("not a WebSocket connection");
    };
    assert_eq!(summary.messages_out, messages as u64);
    assert_eq!(
        summary.ending,
        Ending::PeerClosed {
            code: Some(1000),
            reason: String::new()
        }
    );
    let mut writes = stream.writes;
    assert!(writes.remove(0).starts_with(b"HTTP/1.1 101 "));
    writes
}

const ECHO: [u8; 3] = [0x81, 0x01, b'x'];
const CLOSE_1000: [u8; 4] = [0x88, 0x02, 0x03, 0xe8];

#[test]
fn ten_waiting_messages_are_echoed_in_a_single_write() {
    let expected: Vec<u8> = ECHO.repeat(10).into_iter().chain(CLOSE_1000).collect();
    assert_eq!(echo_writes(10), vec![expected]);
}

#[test]
fn a_long_burst_is_written_every_64_messages() {
    let writes = echo_writes(100);
    assert_eq!(
        writes.len(),
        2,
        "{:?}",
        writes.iter().map(Vec::len).collect::<Vec<_>>()
    );
    assert_eq!(writes[0], ECHO.repeat(64));
    assert_eq!(
        writes[1],
        ECHO.repeat(36)
            .into_iter()
            .chain(CLOSE_1000)
            .collect::<Vec<u8>>()
    );
}

/// A peer that sends 40 binary messages of 64 KiB at once, then Close 1000: the loop stops to
/// flush and let other tasks run after every MiB of echoes (16 of these messages), not after
/// 64 messages (4 MiB).
#[test]
fn a_burst_of_large_messages_lets_other_tasks_run_every_mib() {
    const SIZE: usize = 64 * 1024;
    let payload: Vec<u8> = (0..SIZE).map(|i| (i % 251) as u8).collect();
    let mut input = UPGRADE.to_vec();
    for _ in 0..40 {
        // FIN + binary, masked, 64-bit length, a zero mask (the payload goes as it is).
        input.extend_from_slice(&[0x82, 0xff, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
        input.extend_from_slice(&payload);
    }
    input.extend_from_slice(&[0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8]);
    let written = Rc::new(Cell::new(0));
    let mut stream = Recorded {
        input: io::Cursor::new(input),
        writes: Vec::new(),
        written: Rc::clone(&written),
    };
    let echo_len = 10 + SIZE; // 0x82, 127, the 64-bit length, the payload
    let config = Config::default();
    // The stream is always ready: the future returns Pending only when the loop yields.
    let mut paused_after = Vec::new();
    let summary = {
        let mut serving = std::pin::pin!(serve(&mut stream, &config, Echo));
        let mut cx = Context::from_waker(std::task::Waker::noop());
        loop {
            match serving.as_mut().poll(&mut cx) {
                Poll::Ready(summary) => break summary,
                Poll::Pending => paused_after.push(written.get()),
            }
            assert!(paused_after.len() < 10, "the loop does not end");
        }
    };
    let Ok(Served::WebSocket(summary)) = summary else {
        panic!("the upgrade is valid");
    };
    assert_eq!(summary.messages_out, 40);
    let mut writes = stream.writes;
    let answer = writes.remove(0);
    assert!(answer.starts_with(b"HTTP/1.1 101 "));
    // Each pause came right after a flush of 16 more echoes.
    let after = |echoes: usize| answer.len() + echoes * echo_len;
    assert_eq!(paused_after, [after(16), after(32)]);
    let mut echoed: Vec<u8> = writes.concat();
    assert_eq!(echoed.split_off(40 * echo_len), CLOSE_1000);
    let one_echo: Vec<u8> = [&[0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0][..], &payload].concat();
    assert_eq!(echoed, one_echo.repeat(40));
}
