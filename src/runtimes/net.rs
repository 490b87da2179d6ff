//! The runtimes' sockets behind one type each: [`Listener`] (the server's) and [`TcpStream`]
//! (accepted or dialed), and the runtime's own spawn and dial.
#![allow(deprecated)] // Runtime::AsyncStd, which we still support

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, BorrowedFd};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_lite::{AsyncRead, AsyncWrite};

#[cfg(any(feature = "smol", feature = "async-std"))]
use super::async_io_tcp;
#[cfg(feature = "tokio")]
use super::tokio;
use super::Runtime;
use crate::socket;

/// A connection's task, as handed to a runtime's spawn.
pub(crate) type Task = Pin<Box<dyn Future<Output = ()> + Send>>;

impl Runtime {
    /// Dials `address` (`host:port`) over TCP, with TCP_NODELAY on and keepalive probes after
    /// 30 s idle (then every 10 s, 3 unanswered end it): the client's dialer. Under tokio, call
    /// it from inside a tokio runtime.
    ///
    /// ```no_run
    /// # #[cfg(feature = "smol")]
    /// # fn main() -> std::io::Result<()> {
    /// use ws_echo::runtimes::Runtime;
    ///
    /// smol::block_on(async {
    ///     let stream = Runtime::Smol.connect("127.0.0.1:8080".to_owned()).await?;
    ///     println!("connected from {}", stream.local_addr()?);
    ///     Ok(())
    /// })
    /// # }
    /// # #[cfg(not(feature = "smol"))]
    /// # fn main() {}
    /// ```
    pub async fn connect(self, address: String) -> io::Result<TcpStream> {
        let stream = match self {
            #[cfg(feature = "smol")]
            Runtime::Smol => {
                let stream = ::smol::net::TcpStream::connect(address.as_str()).await?;
                Inner::AsyncIo(async_io_tcp::Tcp::new(stream.into()))
            }
            #[cfg(feature = "async-std")]
            Runtime::AsyncStd => {
                let stream = ::async_std::net::TcpStream::connect(address.as_str()).await?;
                let stream = async_io::Async::new(std::net::TcpStream::try_from(stream)?)?;
                Inner::AsyncIo(async_io_tcp::Tcp::new(std::sync::Arc::new(stream)))
            }
            #[cfg(feature = "tokio")]
            Runtime::Tokio => Inner::Tokio(tokio::connect(&address).await?),
        };
        let stream = TcpStream(stream);
        socket::tune(&stream, Some(socket::CLIENT_KEEPALIVE))?;
        Ok(stream)
    }

    /// Runs `task` in a task of its own.
    pub(crate) fn spawn(self, task: Task) {
        match self {
            #[cfg(feature = "smol")]
            Runtime::Smol => ::smol::spawn(task).detach(),
            #[cfg(feature = "async-std")]
            Runtime::AsyncStd => drop(::async_std::task::spawn(task)),
            #[cfg(feature = "tokio")]
            Runtime::Tokio => drop(::tokio::spawn(task)),
        }
    }

    /// The runtime's listener on a bound, listening, non-blocking socket. Under tokio, call it
    /// from inside the runtime.
    pub(crate) fn listener(self, listener: std::net::TcpListener) -> io::Result<Listener> {
        Ok(match self {
            #[cfg(feature = "smol")]
            Runtime::Smol => Listener::AsyncIo(async_io::Async::new(listener)?),
            #[cfg(feature = "async-std")]
            Runtime::AsyncStd => Listener::AsyncIo(async_io::Async::new(listener)?),
            #[cfg(feature = "tokio")]
            Runtime::Tokio => Listener::Tokio(::tokio::net::TcpListener::from_std(listener)?),
        })
    }
}

/// A runtime's TCP listener.
#[derive(Debug)]
pub(crate) enum Listener {
    #[cfg(any(feature = "smol", feature = "async-std"))]
    AsyncIo(async_io::Async<std::net::TcpListener>),
    #[cfg(feature = "tokio")]
    Tokio(::tokio::net::TcpListener),
}

impl Listener {
    /// The next connection and its peer's address.
    pub(crate) async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (stream, peer) = match self {
            #[cfg(any(feature = "smol", feature = "async-std"))]
            Listener::AsyncIo(listener) => {
                let (stream, peer) = accept_when_readable(listener).await?;
                let stream = async_io::Async::new(stream)?;
                (Inner::AsyncIo(async_io_tcp::Tcp::new(stream.into())), peer)
            }
            #[cfg(feature = "tokio")]
            Listener::Tokio(listener) => {
                let (stream, peer) = listener.accept().await?;
                (Inner::Tokio(tokio::compat(stream)), peer)
            }
        };
        Ok((TcpStream(stream), peer))
    }
}

/// The next connection on an async-io listener, calling `accept4` again only after the
/// reactor has reported the listener readable. async-io's own `accept` retries on every poll
/// after its first (it takes being polled as being woken by the socket), so a task polled for
/// other reasons, such as a `block_on(executor.run(...))` future polled whenever its executor
/// turns, called it hundreds of times a second, each one `EAGAIN`.
#[cfg(any(feature = "smol", feature = "async-std"))]
async fn accept_when_readable(
    listener: &async_io::Async<std::net::TcpListener>,
) -> io::Result<(std::net::TcpStream, SocketAddr)> {
    loop {
        match listener.get_ref().accept() {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => listener.readable().await?,
            accepted => return accepted,
        }
    }
}

/// A TCP connection of one of the runtimes, seen through the futures-io traits that
/// [`serve`](crate::serve) and the client take; `close` shuts down our sending side.
#[derive(Debug)]
pub struct TcpStream(Inner);

#[derive(Debug)]
enum Inner {
    /// smol's and async-std's: a socket on async-io's reactor.
    #[cfg(any(feature = "smol", feature = "async-std"))]
    AsyncIo(async_io_tcp::Tcp),
    /// tokio's, through tokio-util's compat bridge.
    #[cfg(feature = "tokio")]
    Tokio(tokio::Stream),
}

/// Delegates to whichever runtime's stream a [`TcpStream`] holds.
macro_rules! each {
    ($inner:expr, $stream:ident => $call:expr) => {
        match $inner {
            #[cfg(any(feature = "smol", feature = "async-std"))]
            Inner::AsyncIo($stream) => $call,
            #[cfg(feature = "tokio")]
            Inner::Tokio($stream) => $call,
        }
    };
}

impl TcpStream {
    /// The local address of the connection.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        each!(&self.0, stream => stream.get_ref().local_addr())
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        each!(&self.0, stream => stream.get_ref().peer_addr())
    }
}

impl AsFd for TcpStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        each!(&self.0, stream => stream.get_ref().as_fd())
    }
}

impl AsyncRead for TcpStream {
    #[inline]
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        each!(&mut self.get_mut().0, stream => Pin::new(stream).poll_read(cx, buf))
    }
}

impl AsyncWrite for TcpStream {
    #[inline]
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        each!(&mut self.get_mut().0, stream => Pin::new(stream).poll_write(cx, buf))
    }

    #[inline]
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each!(&mut self.get_mut().0, stream => Pin::new(stream).poll_flush(cx))
    }

    #[inline]
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each!(&mut self.get_mut().0, stream => Pin::new(stream).poll_close(cx))
    }
}
