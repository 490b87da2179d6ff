//! A write-side frame filter that leaves out every Pong written through it, for a connection
//! whose client's pings must go unanswered ([`Open::NoPong`](crate::Open::NoPong)):
//! tungstenite queues a Pong for each ping it reads, and this is where it is kept from the
//! socket. It parses the frames written (headers only) and passes every other frame on byte
//! for byte; a header is held (at most 14 bytes) until it is whole and the frame is known.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_lite::AsyncWrite;

use super::deflate::Inflate;

/// The longest frame header: 2 bytes, an 8-byte length, a 4-byte mask key.
const MAX_HEADER: usize = 14;

/// The opcode of a Pong.
const PONG: u8 = 0xA;

/// Where the filter is in the stream of frames written.
#[derive(Debug, Default)]
pub(crate) struct DropPongs {
    /// The header being gathered, at a frame's start.
    header: [u8; MAX_HEADER],
    have: usize,
    /// Bytes of the current frame's payload still to come.
    payload_left: u64,
    /// The current frame is a Pong: its payload is left out too.
    dropping: bool,
    /// A header passed on, not yet taken by the layer below: `out[sent..len]`.
    out: [u8; MAX_HEADER],
    sent: usize,
    len: usize,
}

/// The length of a header whose first bytes are `head`, once it can be told (2 before).
fn header_len(head: &[u8]) -> usize {
    let [_, second, ..] = *head else {
        return 2;
    };
    let length = match second & 0x7F {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    let mask = if second & 0x80 != 0 { 4 } else { 0 };
    2 + length + mask
}

/// The payload length a whole header announces.
fn payload_len(header: &[u8]) -> u64 {
    match header[1] & 0x7F {
        126 => u64::from(u16::from_be_bytes([header[2], header[3]])),
        127 => header[2..10].iter().fold(0, |n, &b| n << 8 | u64::from(b)),
        n => u64::from(n),
    }
}

impl DropPongs {
    /// Writes `buf` to `inner`, less the Pongs in it: how many bytes of `buf` were taken
    /// (those of a left-out frame count as taken).
    pub(crate) fn poll_write<W: AsyncWrite + Unpin>(
        &mut self,
        inner: &mut W,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let mut taken = 0;
        loop {
            // What was taken is said even if the layer below then fails or waits: the next
            // call meets its error or its wait again.
            let done = |taken: usize, poll: Poll<io::Result<usize>>| match poll {
                _ if taken > 0 => Poll::Ready(Ok(taken)),
                other => other,
            };
            match self.poll_out(inner, cx) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(e)) => return done(taken, Poll::Ready(Err(e))),
                Poll::Pending => return done(taken, Poll::Pending),
            }
            let rest = &buf[taken..];
            if rest.is_empty() {
                return Poll::Ready(Ok(taken));
            }
            if self.payload_left > 0 {
                let n = rest
                    .len()
                    .min(usize::try_from(self.payload_left).unwrap_or(usize::MAX));
                let written = match self.dropping {
                    true => n,
                    false => match Pin::new(&mut *inner).poll_write(cx, &rest[..n]) {
                        Poll::Ready(Ok(written)) => written,
                        other => return done(taken, other),
                    },
                };
                taken += written;
                self.payload_left -= written as u64;
                if written < n {
                    return Poll::Ready(Ok(taken));
                }
                continue;
            }
            // A frame's start: gather its header.
            let need = header_len(&self.header[..self.have]);
            let n = rest.len().min(need - self.have);
            self.header[self.have..self.have + n].copy_from_slice(&rest[..n]);
            self.have += n;
            taken += n;
            if self.have < header_len(&self.header[..self.have]) {
                continue;
            }
            let header = &self.header[..self.have];
            self.payload_left = payload_len(header);
            self.dropping = header[0] & 0x0F == PONG;
            if !self.dropping {
                self.out[..header.len()].copy_from_slice(header);
                (self.sent, self.len) = (0, header.len());
            }
            self.have = 0;
        }
    }

    /// Passes on the header held, then flushes below.
    pub(crate) fn poll_flush<W: AsyncWrite + Unpin>(
        &mut self,
        inner: &mut W,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        futures_lite::ready!(self.poll_out(inner, cx))?;
        Pin::new(inner).poll_flush(cx)
    }

    /// Passes on the header held, then closes below.
    pub(crate) fn poll_close<W: AsyncWrite + Unpin>(
        &mut self,
        inner: &mut W,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        futures_lite::ready!(self.poll_out(inner, cx))?;
        Pin::new(inner).poll_close(cx)
    }

    /// Writes the header held, if any, to the layer below.
    fn poll_out<W: AsyncWrite + Unpin>(
        &mut self,
        inner: &mut W,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        while self.sent < self.len {
            let out = &self.out[self.sent..self.len];
            match futures_lite::ready!(Pin::new(&mut *inner).poll_write(cx, out))? {
                0 => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                n => self.sent += n,
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl<S> Inflate<S> {
    /// Leaves out every Pong written from now on ([`Open::NoPong`](crate::Open::NoPong)).
    pub(crate) fn drop_pongs(&mut self) {
        self.no_pong = Some(Box::default());
    }
}

/// The outermost layer's writes: they pass through, unless Pongs are left out
/// ([`Inflate::drop_pongs`]), the one frame transform on the way out.
impl<S: AsyncWrite + Unpin> AsyncWrite for Inflate<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match &mut this.no_pong {
            None => Pin::new(&mut this.inner).poll_write(cx, buf),
            Some(filter) => filter.poll_write(&mut this.inner, cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match &mut this.no_pong {
            None => Pin::new(&mut this.inner).poll_flush(cx),
            Some(filter) => filter.poll_flush(&mut this.inner, cx),
        }
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match &mut this.no_pong {
            None => Pin::new(&mut this.inner).poll_close(cx),
            Some(filter) => filter.poll_close(&mut this.inner, cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server's unmasked frame.
    fn frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
        let mut frame = vec![0x80 | opcode];
        match payload.len() {
            n @ 0..=125 => frame.push(n as u8),
            n @ 126..=65535 => {
                frame.push(126);
                frame.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                frame.push(127);
                frame.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        frame.extend_from_slice(payload);
        frame
    }

    /// Writes `bytes` through the filter in pieces of `chunk` to a sink that takes at most
    /// `take` bytes a call, and gives what reached the sink.
    fn through(bytes: &[u8], chunk: usize, take: usize) -> Vec<u8> {
        struct Stingy(Vec<u8>, usize);
        impl AsyncWrite for Stingy {
            fn poll_write(
                mut self: Pin<&mut Self>,
                _: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                let n = buf.len().min(self.1);
                self.0.extend_from_slice(&buf[..n]);
                Poll::Ready(Ok(n))
            }
            fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }
            fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }
        }
        let mut sink = Stingy(Vec::new(), take);
        let mut filter = DropPongs::default();
        let mut cx = Context::from_waker(std::task::Waker::noop());
        for piece in bytes.chunks(chunk) {
            let mut at = 0;
            while at < piece.len() {
                match filter.poll_write(&mut sink, &mut cx, &piece[at..]) {
                    Poll::Ready(Ok(n)) if n > 0 => at += n,
                    other => panic!("{other:?}"),
                }
            }
        }
        assert!(filter.poll_flush(&mut sink, &mut cx).is_ready());
        sink.0
    }

    #[test]
    fn pongs_are_left_out_and_every_other_frame_passes_byte_for_byte() {
        let long = vec![7u8; 300];
        let huge = vec![9u8; 70_000];
        let mut written = Vec::new();
        let mut expected = Vec::new();
        for (opcode, payload, kept) in [
            (0x1, &b"one"[..], true),
            (PONG, &b"pong"[..], false),
            (0x2, &long[..], true),
            (PONG, &long[..], false),
            (PONG, &b""[..], false),
            (0x9, &b"ping"[..], true),
            (0x2, &huge[..], true),
            (0x8, &[0x03, 0xe8][..], true),
        ] {
            let frame = frame(opcode, payload);
            written.extend_from_slice(&frame);
            if kept {
                expected.extend_from_slice(&frame);
            }
        }
        for (chunk, take) in [(usize::MAX, usize::MAX), (1, usize::MAX), (7, 3), (1000, 1)] {
            assert_eq!(through(&written, chunk, take), expected, "{chunk} {take}");
        }
    }

    #[test]
    fn a_masked_header_is_read_whole() {
        let masked = [0x8A, 0x82, 1, 2, 3, 4, 0xAA, 0xBB, 0x81, 0x01, b'x'];
        assert_eq!(through(&masked, 1, 1), [0x81, 0x01, b'x']);
    }
}
