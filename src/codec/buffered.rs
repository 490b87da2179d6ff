//! The buffering layer: big reads and big writes with buffers that exist only while they hold
//! bytes.
//!
//! tungstenite reads at most its read buffer's size per call (ours is small, so that an idle
//! connection holds little) and writes its output buffer whenever it passes the write buffer
//! size; both buffers keep whatever capacity they once grew to. So a stream of large messages
//! costs a system call per few KiB each way, and larger tungstenite buffers would be held by
//! every connection for its whole life. This layer sits between tungstenite and the socket:
//! - reads: each read from the socket fetches up to [`READ_AHEAD`] bytes into a read-ahead
//!   buffer, handed out from there, so that everything that has arrived comes in one system
//!   call however little tungstenite asks for;
//! - writes: bytes are gathered up to the coalescing limit and reach the socket on flush (or
//!   when the limit is reached); a write at least that large, with nothing gathered, goes
//!   straight through.
//!
//! A connection holds these buffers only while they hold bytes: once handed out or sent, they
//! go back to a spare of its thread (one of each), which the next busy connection borrows. An
//! idle connection holds none, and a busy one neither allocates nor zero-fills one per batch.
//!
//! tungstenite's own buffers are set to match ([`framing`](super::framing)): a small read
//! buffer, and a write buffer of 0, so that every frame comes straight down to this layer.

use std::cell::Cell;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_lite::{AsyncRead, AsyncWrite};

/// The most one read from the socket fetches ahead of what tungstenite asked for.
pub(crate) const READ_AHEAD: usize = 64 * 1024;

/// A stream with transient read-ahead and write-coalescing buffers.
#[derive(Debug)]
pub(crate) struct Buffered<S> {
    inner: S,
    /// Read ahead: `read[read_at..read_end]` not yet handed out. Unallocated when it holds
    /// nothing.
    read: Vec<u8>,
    read_at: usize,
    read_end: usize,
    /// Gathered output: `write[written..]` not yet sent. Unallocated when it holds nothing.
    write: Vec<u8>,
    written: usize,
    /// Gather at most this much before writing.
    coalesce: usize,
}

impl<S> Buffered<S> {
    pub(crate) fn new(inner: S, coalesce: usize) -> Self {
        Buffered {
            inner,
            read: Vec::new(),
            read_at: 0,
            read_end: 0,
            write: Vec::new(),
            written: 0,
            coalesce: coalesce.max(1),
        }
    }

    /// Whether gathered output waits to be sent.
    pub(crate) fn holds_output(&self) -> bool {
        self.written < self.write.len()
    }

    /// Gives the read-ahead buffer back to the thread's spare.
    fn let_go_of_read_ahead(&mut self) {
        spare::give_back(&spare::READ, std::mem::take(&mut self.read));
        (self.read_at, self.read_end) = (0, 0);
    }
}

/// The spare buffers of each thread, lent to connections while they hold bytes.
mod spare {
    use std::thread::LocalKey;

    use super::*;

    thread_local! {
        /// A read-ahead buffer: [`READ_AHEAD`] bytes, zero-filled once when made.
        pub(super) static READ: Cell<Option<Vec<u8>>> = const { Cell::new(None) };
        /// A gathering buffer, empty, with the capacity it grew to.
        pub(super) static WRITE: Cell<Option<Vec<u8>>> = const { Cell::new(None) };
    }

    /// The thread's read-ahead buffer, or a new one.
    pub(super) fn read_buffer() -> Vec<u8> {
        READ.try_with(Cell::take)
            .ok()
            .flatten()
            .unwrap_or_else(|| vec![0; READ_AHEAD])
    }

    /// The thread's gathering buffer (emptied), or a new one, with room for `capacity`.
    pub(super) fn write_buffer(capacity: usize) -> Vec<u8> {
        let mut buffer = WRITE
            .try_with(Cell::take)
            .ok()
            .flatten()
            .unwrap_or_default();
        buffer.reserve_exact(capacity);
        buffer
    }

    /// Keeps `buffer` as the thread's spare of its kind (when it has one to keep).
    pub(super) fn give_back(slot: &'static LocalKey<Cell<Option<Vec<u8>>>>, buffer: Vec<u8>) {
        if buffer.capacity() > 0 {
            // During the thread's exit the slot is gone; the buffer is then simply freed.
            let _ = slot.try_with(|slot| slot.set(Some(buffer)));
        }
    }
}

impl<S: AsyncWrite + Unpin> Buffered<S> {
    /// Sends every gathered byte, then gives the buffer back to the thread's spare.
    fn poll_send(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.written < self.write.len() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.write[self.written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.written += n;
        }
        let mut sent = std::mem::take(&mut self.write);
        sent.clear();
        spare::give_back(&spare::WRITE, sent);
        self.written = 0;
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Buffered<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.read_at == this.read_end {
            if buf.len() >= READ_AHEAD {
                // Straight into the caller's buffer: no copy.
                return Pin::new(&mut this.inner).poll_read(cx, buf);
            }
            if this.read.is_empty() {
                this.read = spare::read_buffer();
            }
            match Pin::new(&mut this.inner).poll_read(cx, &mut this.read) {
                Poll::Ready(Ok(n)) if n > 0 => (this.read_at, this.read_end) = (0, n),
                other => {
                    // Nothing more for now (or EOF, or an error).
                    this.let_go_of_read_ahead();
                    return other;
                }
            }
        }
        let n = buf.len().min(this.read_end - this.read_at);
        buf[..n].copy_from_slice(&this.read[this.read_at..this.read_at + n]);
        this.read_at += n;
        if this.read_at == this.read_end {
            this.let_go_of_read_ahead();
        }
        Poll::Ready(Ok(n))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Buffered<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.write.len() - this.written + buf.len() > this.coalesce {
            ready!(this.poll_send(cx))?;
        }
        if buf.len() >= this.coalesce {
            return Pin::new(&mut this.inner).poll_write(cx, buf);
        }
        if this.write.capacity() == 0 {
            this.write = spare::write_buffer(this.coalesce);
        }
        this.write.extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_send(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_send(cx))?;
        Pin::new(&mut self.inner).poll_close(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_lite::future::{block_on, poll_once};
    use futures_lite::{AsyncReadExt, AsyncWriteExt};

    /// A socket stand-in: hands out `input` at most `max_read` bytes a call (then
    /// `Pending` once it is empty), takes at most `max_write` bytes a call, counts calls.
    struct Wire {
        input: Vec<u8>,
        at: usize,
        max_read: usize,
        reads: usize,
        output: Vec<u8>,
        max_write: usize,
        writes: Vec<usize>,
    }

    impl Wire {
        fn new(input: Vec<u8>) -> Self {
            Wire {
                input,
                at: 0,
                max_read: usize::MAX,
                reads: 0,
                output: Vec::new(),
                max_write: usize::MAX,
                writes: Vec::new(),
            }
        }
    }

    impl AsyncRead for Wire {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &mut [u8],
        ) -> Poll<io::Result<usize>> {
            self.reads += 1;
            let n = buf.len().min(self.max_read).min(self.input.len() - self.at);
            if n == 0 && !buf.is_empty() {
                return Poll::Pending;
            }
            buf[..n].copy_from_slice(&self.input[self.at..self.at + n]);
            self.at += n;
            Poll::Ready(Ok(n))
        }
    }

    impl AsyncWrite for Wire {
        fn poll_write(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            let n = buf.len().min(self.max_write);
            self.output.extend_from_slice(&buf[..n]);
            self.writes.push(n);
            Poll::Ready(Ok(n))
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i % 251) as u8).collect()
    }

    /// Reads `len` bytes in calls of `chunk` bytes, as tungstenite does.
    fn read_all(stream: &mut Buffered<Wire>, len: usize, chunk: usize) -> Vec<u8> {
        let mut got = Vec::new();
        let mut buf = vec![0; chunk];
        while got.len() < len {
            let n = block_on(stream.read(&mut buf)).expect("the wire does not fail");
            got.extend_from_slice(&buf[..n]);
        }
        got
    }

    /// The address of the thread's spare read-ahead buffer, if it has one.
    fn spare_read_buffer() -> Option<*const u8> {
        spare::READ.with(|slot| {
            let buffer = slot.take();
            let at = buffer.as_ref().map(|buffer| buffer.as_ptr());
            slot.set(buffer);
            at
        })
    }

    #[test]
    fn a_stream_of_bytes_is_read_in_read_ahead_sized_reads() {
        let input = pattern(1 << 20);
        let mut stream = Buffered::new(Wire::new(input.clone()), 64 * 1024);
        assert_eq!(read_all(&mut stream, input.len(), 4096), input);
        assert_eq!(stream.inner.reads, (1 << 20) / READ_AHEAD);
        // Everything handed out: the connection holds no buffer.
        assert_eq!(stream.read.capacity(), 0);
    }

    #[test]
    fn everything_that_arrived_comes_in_one_read_however_little_is_asked_for() {
        // 16 small frames' worth, asked for 1 KiB at a time (tungstenite's read size here).
        let input = pattern(16 * 1030);
        let mut stream = Buffered::new(Wire::new(input.clone()), 64 * 1024);
        assert_eq!(read_all(&mut stream, input.len(), 1024), input);
        assert_eq!(stream.inner.reads, 1);
        // The socket is empty: the next read waits, holding nothing.
        let mut buf = [0; 1024];
        assert!(block_on(poll_once(stream.read(&mut buf))).is_none());
        assert_eq!((stream.inner.reads, stream.read.capacity()), (2, 0));
    }

    #[test]
    fn the_read_ahead_buffer_is_lent_by_the_thread_and_goes_back_once_handed_out() {
        let input = pattern(3 * 4096);
        let mut stream = Buffered::new(Wire::new(input.clone()), 64 * 1024);
        stream.inner.max_read = 2 * 4096;
        let mut buf = [0; 4096];
        assert_eq!(block_on(stream.read(&mut buf)).ok(), Some(4096));
        // Half handed out: the connection holds the buffer, and the thread has no spare.
        let held = stream.read.as_ptr();
        assert_eq!(stream.read.len(), READ_AHEAD);
        assert_eq!(spare_read_buffer(), None);
        assert_eq!(block_on(stream.read(&mut buf)).ok(), Some(4096));
        // All handed out: back to the thread, and borrowed again (no new buffer) next time.
        assert_eq!(stream.read.capacity(), 0);
        assert_eq!(spare_read_buffer(), Some(held));
        assert_eq!(block_on(stream.read(&mut buf)).ok(), Some(4096));
        assert_eq!(buf[..], input[2 * 4096..]);
        assert_eq!(spare_read_buffer(), Some(held));
        assert_eq!(stream.inner.reads, 2);
    }

    #[test]
    fn a_big_read_goes_straight_into_the_callers_buffer() {
        let input = pattern(3 * READ_AHEAD);
        let mut stream = Buffered::new(Wire::new(input.clone()), 64 * 1024);
        assert_eq!(read_all(&mut stream, input.len(), 2 * READ_AHEAD), input);
        assert_eq!(stream.inner.reads, 2);
        assert_eq!(stream.read.capacity(), 0);
    }

    #[test]
    fn small_writes_are_gathered_and_leave_in_one_write_at_flush() {
        let mut stream = Buffered::new(Wire::new(Vec::new()), 64 * 1024);
        for i in 0..100u8 {
            block_on(stream.write_all(&[i; 20])).expect("the wire does not fail");
        }
        assert!(stream.inner.writes.is_empty());
        block_on(stream.flush()).expect("the wire does not fail");
        assert_eq!(stream.inner.writes, [2000]);
        let expected: Vec<u8> = (0..100u8).flat_map(|i| [i; 20]).collect();
        assert_eq!(stream.inner.output, expected);
        assert_eq!(stream.write.capacity(), 0);
    }

    #[test]
    fn past_the_limit_the_gathered_bytes_go_first_and_a_big_write_goes_straight_through() {
        let mut stream = Buffered::new(Wire::new(Vec::new()), 1000);
        block_on(stream.write_all(&pattern(600))).expect("the wire does not fail");
        block_on(stream.write_all(&pattern(600))).expect("the wire does not fail");
        assert_eq!(stream.inner.writes, [600]);
        block_on(stream.write_all(&pattern(5000))).expect("the wire does not fail");
        assert_eq!(stream.inner.writes, [600, 600, 5000]);
        block_on(stream.flush()).expect("the wire does not fail");
        assert_eq!(stream.inner.writes, [600, 600, 5000]);
        let expected = [pattern(600), pattern(600), pattern(5000)].concat();
        assert_eq!(stream.inner.output, expected);
    }

    #[test]
    fn partial_writes_by_the_socket_lose_nothing() {
        let mut stream = Buffered::new(Wire::new(Vec::new()), 64 * 1024);
        stream.inner.max_write = 300;
        let data = pattern(50_000);
        for piece in data.chunks(1234) {
            block_on(stream.write_all(piece)).expect("the wire does not fail");
        }
        block_on(stream.close()).expect("the wire does not fail");
        assert_eq!(stream.inner.output, data);
        assert!(stream
            .inner
            .writes
            .iter()
            .all(|&n| n == 300 || n == 50_000 % 300));
    }
}
