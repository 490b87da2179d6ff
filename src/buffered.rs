//! Big reads and big writes with buffers that exist only while they hold bytes.
//!
//! tungstenite reads at most its read buffer's size per call (ours is small, so that an idle
//! connection holds little) and writes its output buffer whenever it passes the write buffer
//! size; both buffers keep whatever capacity they once grew to. So a stream of large messages
//! costs a system call per few KiB each way, and larger tungstenite buffers would be held by
//! every connection for its whole life. This layer sits between tungstenite and the socket:
//! - reads: a read that fills the caller's buffer means more is probably waiting, so the next
//!   one fetches up to [`READ_AHEAD`] bytes at once into a read-ahead buffer and hands them out
//!   from there; the buffer is freed when the socket has nothing more to give;
//! - writes: bytes are gathered up to the coalescing limit and reach the socket on flush (or
//!   when the limit is reached); a write at least that large, with nothing gathered, goes
//!   straight through; the buffer is freed once its bytes are sent.

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
    /// Read ahead: `read[read_at..]` not yet handed out. Empty (unallocated) when idle.
    read: Vec<u8>,
    read_at: usize,
    /// The last read from the socket filled what it was given: use the read-ahead next time.
    streaming: bool,
    /// Gathered output: `write[written..]` not yet sent. Empty (unallocated) when idle.
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
            streaming: false,
            write: Vec::new(),
            written: 0,
            coalesce: coalesce.max(1),
        }
    }

    fn let_go_of_read_ahead(&mut self) {
        self.read = Vec::new();
        self.read_at = 0;
    }
}

impl<S: AsyncWrite + Unpin> Buffered<S> {
    /// Sends every gathered byte, then frees the buffer.
    fn poll_send(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.written < self.write.len() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.write[self.written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.written += n;
        }
        self.write = Vec::new();
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
        if this.read_at == this.read.len() {
            if !this.streaming || buf.len() >= READ_AHEAD {
                // Straight into the caller's buffer: no copy.
                let result = Pin::new(&mut this.inner).poll_read(cx, buf);
                this.streaming = matches!(result, Poll::Ready(Ok(n)) if n == buf.len() && n > 0);
                return result;
            }
            if this.read.is_empty() {
                this.read = vec![0; READ_AHEAD];
            }
            match Pin::new(&mut this.inner).poll_read(cx, &mut this.read) {
                Poll::Ready(Ok(n)) if n > 0 => {
                    this.streaming = n == this.read.len();
                    this.read.truncate(n);
                    this.read_at = 0;
                }
                other => {
                    // Nothing more for now (or EOF, or an error).
                    this.streaming = false;
                    this.let_go_of_read_ahead();
                    return other;
                }
            }
        }
        let n = buf.len().min(this.read.len() - this.read_at);
        buf[..n].copy_from_slice(&this.read[this.read_at..this.read_at + n]);
        this.read_at += n;
        // All handed out. While streaming the buffer is whole (its fill was full) and is kept
        // for the next fill; otherwise the socket has nothing more.
        if this.read_at == this.read.len() && !this.streaming {
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
            this.write.reserve_exact(this.coalesce);
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

    #[test]
    fn a_stream_of_bytes_is_read_ahead_in_big_reads_and_the_buffer_freed_after() {
        let input = pattern(1 << 20);
        let mut stream = Buffered::new(Wire::new(input.clone()), 64 * 1024);
        assert_eq!(read_all(&mut stream, input.len(), 4096), input);
        // One 4 KiB read that filled its buffer, then 16 read-aheads (the last one short: the
        // input ran out, so its buffer was let go once handed out).
        assert_eq!(stream.inner.reads, 1 + 16);
        assert_eq!(stream.read.capacity(), 0);
    }

    #[test]
    fn the_read_ahead_is_kept_while_reads_come_back_full_and_freed_when_the_socket_is_empty() {
        let input = pattern(4096 + 2 * READ_AHEAD);
        let mut stream = Buffered::new(Wire::new(input.clone()), 64 * 1024);
        assert_eq!(read_all(&mut stream, input.len(), 4096), input);
        assert_eq!(stream.inner.reads, 3);
        assert_eq!(stream.read.capacity(), READ_AHEAD);
        // The next read finds the socket empty: it waits, and the buffer is let go.
        let mut buf = [0; 4096];
        assert!(block_on(poll_once(stream.read(&mut buf))).is_none());
        assert_eq!(stream.read.capacity(), 0);
        assert_eq!(stream.inner.reads, 4);
    }

    #[test]
    fn short_reads_go_straight_to_the_caller_without_a_buffer() {
        let input = pattern(3000);
        let mut stream = Buffered::new(Wire::new(input.clone()), 64 * 1024);
        stream.inner.max_read = 100;
        let mut buf = [0; 4096];
        let n = block_on(stream.read(&mut buf)).expect("the wire does not fail");
        assert_eq!((n, &buf[..n]), (100, &input[..100]));
        assert_eq!(stream.read.capacity(), 0);
        assert_eq!(read_all(&mut stream, 2900, 4096), input[100..]);
        assert_eq!(stream.inner.reads, 30);
    }

    #[test]
    fn a_read_ahead_cut_short_by_the_socket_is_handed_out_whole() {
        let input = pattern(10_000);
        let mut stream = Buffered::new(Wire::new(input.clone()), 64 * 1024);
        stream.inner.max_read = 7000;
        // 4096 (full: streaming), then one read-ahead of 5904 handed out as 4096 + 1808.
        assert_eq!(read_all(&mut stream, input.len(), 4096), input);
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
