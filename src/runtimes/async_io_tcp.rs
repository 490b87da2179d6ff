//! The TCP stream of smol and async-std that the server hands to the core: a socket on
//! async-io's reactor (which both runtimes use), read the way tokio reads.

use std::io::{self, Read};
use std::net::Shutdown;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use async_io::{Async, ReadableOwned};
use futures_lite::{AsyncRead, AsyncWrite, Future};

/// An accepted TCP stream. A read that returns fewer bytes than it asked for has emptied the
/// socket, so the next one waits for the reactor's word before it tries, instead of trying
/// first and failing with EAGAIN (as async-io's own streams do): one system call less each
/// time the connection waits for input. When more arrived in between, the reactor says so at
/// once (waiting re-arms its interest, which is level-triggered), so nothing waits longer than
/// it should.
#[derive(Debug)]
pub(super) struct Tcp {
    socket: Arc<Async<std::net::TcpStream>>,
    /// The last read came back short (or would have blocked): wait before reading again.
    drained: bool,
    /// The wait for readiness in progress.
    readable: Option<ReadableOwned<std::net::TcpStream>>,
}

impl Tcp {
    pub(super) fn new(socket: Arc<Async<std::net::TcpStream>>) -> Tcp {
        Tcp {
            socket,
            drained: false,
            readable: None,
        }
    }

    /// The socket itself.
    pub(super) fn get_ref(&self) -> &std::net::TcpStream {
        self.socket.get_ref()
    }
}

impl AsyncRead for Tcp {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        loop {
            if this.drained {
                let socket = &this.socket;
                let readable = this
                    .readable
                    .get_or_insert_with(|| Arc::clone(socket).readable_owned());
                let ready = ready!(Pin::new(readable).poll(cx));
                this.readable = None;
                this.drained = false;
                ready?;
            }
            match this.socket.get_ref().read(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => this.drained = true,
                Ok(n) => {
                    this.drained = 0 < n && n < buf.len();
                    return Poll::Ready(Ok(n));
                }
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl AsyncWrite for Tcp {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut &*self.socket).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut &*self.socket).poll_flush(cx)
    }

    /// Shuts down our sending side (the peer reads EOF after what we sent).
    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.socket.get_ref().shutdown(Shutdown::Write))
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::net::TcpListener;
    use std::time::Duration;

    use futures_lite::future::{self, block_on};
    use futures_lite::AsyncReadExt;

    use super::*;

    /// Our side of a loopback connection, and the peer's.
    fn pair() -> io::Result<(Tcp, std::net::TcpStream)> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let peer = std::net::TcpStream::connect(listener.local_addr()?)?;
        let (ours, _) = listener.accept()?;
        Ok((Tcp::new(Arc::new(Async::new(ours)?)), peer))
    }

    /// Reads once, failing if nothing comes within a second.
    fn read_some(tcp: &mut Tcp, buf: &mut [u8]) -> io::Result<usize> {
        block_on(future::or(tcp.read(buf), async {
            async_io::Timer::after(Duration::from_secs(1)).await;
            Err(io::Error::other("nothing read within 1 s"))
        }))
    }

    #[test]
    fn after_a_short_read_the_next_read_waits_for_readiness_and_loses_nothing() -> io::Result<()> {
        let (mut tcp, mut peer) = pair()?;
        let mut buf = [0u8; 64];
        peer.write_all(b"first")?;
        assert_eq!(read_some(&mut tcp, &mut buf)?, 5);
        assert_eq!(&buf[..5], b"first");
        assert!(tcp.drained, "a short read empties the socket");

        // Nothing there: the read waits on the reactor without trying the socket.
        assert!(block_on(future::poll_once(tcp.read(&mut buf))).is_none());
        assert!(tcp.drained && tcp.readable.is_some());

        // Bytes that come while it waits, and bytes that came before it waited (loopback
        // delivers them within the peer's write), are read.
        peer.write_all(b"second")?;
        assert_eq!(read_some(&mut tcp, &mut buf)?, 6);
        assert_eq!(&buf[..6], b"second");
        peer.write_all(b"third")?;
        assert_eq!(read_some(&mut tcp, &mut buf)?, 5);
        assert_eq!(&buf[..5], b"third");

        // A full read says nothing about what is left: the next read tries at once.
        peer.write_all(&[7u8; 100])?;
        assert_eq!(read_some(&mut tcp, &mut buf)?, 64);
        assert!(!tcp.drained);
        assert_eq!(read_some(&mut tcp, &mut buf)?, 36);
        assert_eq!(buf[..36], [7u8; 36]);

        // EOF after the peer shuts down.
        peer.shutdown(Shutdown::Write)?;
        assert_eq!(read_some(&mut tcp, &mut buf)?, 0);
        Ok(())
    }
}
