//! The loop sleeps only with a wake-up armed for the input, and asks the socket for input no
//! more often than it must: once for each message that comes and once before each sleep.
//!
//! The stream here is scripted and the connection is polled by hand, so that the order of
//! arrivals, writes and wake-ups is exact.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};
use std::task::{Context, Poll, Wake, Waker};

use ws_echo::{serve, Config, Echo, Error, Served};

/// What the peer and the network have done so far.
#[derive(Default)]
struct Script {
    /// Bytes that have arrived and not been read.
    input: VecDeque<u8>,
    /// Everything written.
    output: Vec<u8>,
    /// Writes wait (a full socket) while this is set.
    writes_blocked: bool,
    read_waker: Option<Waker>,
    write_waker: Option<Waker>,
    /// Reads asked of the stream, and how many of them found nothing.
    reads: usize,
    empty_reads: usize,
}

impl Script {
    /// Bytes arrive: wakes whoever waits to read.
    fn arrive(&mut self, bytes: &[u8]) {
        self.input.extend(bytes);
        if let Some(waker) = self.read_waker.take() {
            waker.wake();
        }
    }

    /// The socket takes writes again: wakes whoever waits to write.
    fn unblock_writes(&mut self) {
        self.writes_blocked = false;
        if let Some(waker) = self.write_waker.take() {
            waker.wake();
        }
    }
}

struct Scripted(Rc<RefCell<Script>>);

impl futures_lite::AsyncRead for Scripted {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut script = self.0.borrow_mut();
        script.reads += 1;
        if script.input.is_empty() {
            script.empty_reads += 1;
            script.read_waker = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let n = buf.len().min(script.input.len());
        for (slot, byte) in buf.iter_mut().zip(script.input.drain(..n)) {
            *slot = byte;
        }
        Poll::Ready(Ok(n))
    }
}

impl futures_lite::AsyncWrite for Scripted {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let mut script = self.0.borrow_mut();
        if script.writes_blocked {
            script.write_waker = Some(cx.waker().clone());
            return Poll::Pending;
        }
        script.output.extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Counts its wake-ups.
#[derive(Default)]
struct Wakes(AtomicUsize);

impl Wake for Wakes {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

const UPGRADE: &[u8] =
    b"GET /ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
        Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";

/// A masked text frame of one byte (a zero mask: the payload goes as it is).
fn frame(byte: u8) -> [u8; 7] {
    [0x81, 0x81, 0, 0, 0, 0, byte]
}

/// Its echo.
fn echo(byte: u8) -> [u8; 3] {
    [0x81, 0x01, byte]
}

/// A connection served on a [`Scripted`] stream, polled by hand, past its upgrade.
struct Connection {
    serving: Pin<Box<dyn Future<Output = Result<Served, Error>>>>,
    script: Rc<RefCell<Script>>,
    wakes: Arc<Wakes>,
    waker: Waker,
}

/// No heartbeat: no timer of its own wakes the connection.
static CONFIG: LazyLock<Config> = LazyLock::new(|| Config::default().ping_interval(None));

impl Connection {
    fn new() -> Connection {
        let script = Rc::new(RefCell::new(Script::default()));
        let wakes = Arc::new(Wakes::default());
        let mut connection = Connection {
            serving: Box::pin(serve(Scripted(Rc::clone(&script)), &CONFIG, Echo)),
            script,
            waker: Waker::from(Arc::clone(&wakes)),
            wakes,
        };
        connection.script.borrow_mut().arrive(UPGRADE);
        connection.poll();
        let answer = connection.take_output();
        assert!(answer.starts_with(b"HTTP/1.1 101 "), "{answer:?}");
        connection
    }

    /// Polls the connection, which must not end.
    fn poll(&mut self) {
        let mut cx = Context::from_waker(&self.waker);
        assert!(self.serving.as_mut().poll(&mut cx).is_pending());
    }

    fn take_output(&self) -> Vec<u8> {
        std::mem::take(&mut self.script.borrow_mut().output)
    }
}

/// The echo's write has to wait, and while it waits the next message arrives (its wake-up
/// taken by a poll that could only find the write still waiting): once the write completes,
/// the loop must still read that message rather than sleep on a wake-up already spent.
#[test]
fn a_message_that_arrives_while_an_echo_waits_to_be_written_is_echoed() {
    let mut connection = Connection::new();
    let script = Rc::clone(&connection.script);

    // Message A arrives; its echo cannot be written yet.
    script.borrow_mut().writes_blocked = true;
    script.borrow_mut().arrive(&frame(b'a'));
    connection.poll();
    assert!(script.borrow().output.is_empty());
    assert!(
        script.borrow().read_waker.is_some(),
        "the loop waits for input too"
    );

    // B arrives and wakes the task, which finds the write still waiting.
    script.borrow_mut().arrive(&frame(b'b'));
    connection.poll();
    assert!(script.borrow().output.is_empty());

    // The socket drains: A's echo goes, and B is read and echoed in the same poll.
    script.borrow_mut().unblock_writes();
    connection.poll();
    let expected: Vec<u8> = [echo(b'a'), echo(b'b')].concat();
    assert_eq!(connection.take_output(), expected);
    assert!(script.borrow().input.is_empty());
    assert!(
        script.borrow().read_waker.is_some(),
        "asleep without a wake-up armed for the input"
    );
}

/// One message at a time, as a client that waits for each echo sends them: each costs one
/// read that finds it and one that finds nothing before the loop sleeps; the write goes at
/// once, so asking the socket again before sleeping could find nothing new.
#[test]
fn each_message_of_a_conversation_costs_two_reads() {
    let mut connection = Connection::new();
    let script = Rc::clone(&connection.script);
    let (reads, empty) = (script.borrow().reads, script.borrow().empty_reads);

    const MESSAGES: u8 = 20;
    for byte in 0..MESSAGES {
        let woken = connection.wakes.0.load(Ordering::SeqCst);
        script.borrow_mut().arrive(&frame(byte));
        // (async-tungstenite's waker for its reads wakes the task once for each direction)
        assert!(
            connection.wakes.0.load(Ordering::SeqCst) > woken,
            "no wake-up for input"
        );
        connection.poll();
        assert_eq!(connection.take_output(), echo(byte));
    }
    let messages = usize::from(MESSAGES);
    assert_eq!(script.borrow().reads - reads, 2 * messages);
    assert_eq!(script.borrow().empty_reads - empty, messages);
}
