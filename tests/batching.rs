//! Echoes of everything that has already arrived leave in one write, not one per message,
//! and a peer whose input never pauses still gets a write every BATCH (64) messages.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_lite::future::block_on;
use ws_echo::{serve, Config, Echo, Ending};

/// An in-memory stream: all of the peer's bytes are already there; every write is recorded.
struct Recorded {
    input: io::Cursor<Vec<u8>>,
    writes: Vec<Vec<u8>>,
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
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Serves an upgrade request followed by `messages` masked one-byte text frames and a Close
/// 1000; returns the writes after the 101 answer.
fn echo_writes(messages: usize) -> Vec<Vec<u8>> {
    let mut input = b"GET /ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
        Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
        .to_vec();
    for _ in 0..messages {
        input.extend_from_slice(&[0x81, 0x81, 0, 0, 0, 0, b'x']);
    }
    input.extend_from_slice(&[0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8]);
    let mut stream = Recorded {
        input: io::Cursor::new(input),
        writes: Vec::new(),
    };
    let summary = block_on(serve(&mut stream, &Config::default(), Echo)).unwrap();
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
