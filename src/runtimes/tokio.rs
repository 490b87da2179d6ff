//! The tokio adapter (feature `tokio`): tokio's TCP listener, one tokio task per connection,
//! and a dialer for the client. tokio's streams reach the core through tokio-util's `compat`
//! bridge; the core's own timers (heartbeat, timeouts) come from async-io, which runs beside
//! tokio on a helper thread of its own.

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, BorrowedFd};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_lite::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream, ToSocketAddrs};
use tokio_util::compat::{Compat, TokioAsyncReadCompatExt};

use crate::{Config, Handler, Report, Shutdown, StatsHandle};

/// A bound listener serving the echo endpoint. Call it from inside a tokio runtime.
///
/// ```no_run
/// # fn main() -> std::io::Result<()> {
/// use ws_echo::runtimes::tokio::Server;
///
/// let runtime = tokio::runtime::Builder::new_current_thread().enable_io().build()?;
/// runtime.block_on(async {
///     let server = Server::bind("127.0.0.1:8080", ws_echo::Config::default()).await?;
///     println!("serving ws://{}/ws", server.local_addr()?);
///     let report = server.run(ws_echo::Echo).await?;
///     println!("{report:?}");
///     Ok(())
/// })
/// # }
/// ```
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    config: Arc<Config>,
    shutdown: Shutdown,
    stats: StatsHandle,
}

impl Server {
    /// Binds the listener (port 0 picks a free port; see [`Server::local_addr`]).
    pub async fn bind(addr: impl ToSocketAddrs, config: Config) -> io::Result<Server> {
        let listener = TcpListener::bind(addr).await?;
        super::tune_listener(&listener, &config)?;
        let (config, shutdown) = super::with_shutdown(config);
        Ok(Server {
            listener,
            config,
            shutdown,
            stats: StatsHandle::default(),
        })
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The signal that shuts this server down; see the smol adapter's `shutdown_handle`.
    pub fn shutdown_handle(&self) -> Shutdown {
        self.shutdown.clone()
    }

    /// The server's counters, live.
    pub fn stats(&self) -> StatsHandle {
        self.stats.clone()
    }

    /// Accepts connections, each in its own tokio task with its own clone of `handler`, until
    /// the shutdown signal; then drains and returns what happened.
    pub async fn run<H>(self, handler: H) -> io::Result<Report>
    where
        H: Handler + Clone + Send + 'static,
    {
        let listener = &self.listener;
        let accept = || async {
            let (stream, peer) = listener.accept().await?;
            Ok((Tcp(stream.compat()), peer))
        };
        super::accept_loop(
            self.config,
            self.stats,
            self.listener.local_addr()?,
            handler,
            accept,
            |task| drop(tokio::spawn(task)),
        )
        .await
    }
}

/// A tokio TCP stream seen through the futures-io traits; `close` shuts down writing.
#[derive(Debug)]
struct Tcp(Compat<TcpStream>);

impl super::TcpStream for Tcp {
    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.get_ref().local_addr()
    }
}

impl AsFd for Tcp {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.get_ref().as_fd()
    }
}

impl AsyncRead for Tcp {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Tcp {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_close(cx)
    }
}

/// Dials `address` (`host:port`) over TCP, with TCP_NODELAY and keepalive as the other
/// adapters' `connect`: the client's dialer. Call it from inside a tokio runtime.
pub async fn connect(address: String) -> io::Result<Compat<TcpStream>> {
    let stream = TcpStream::connect(address.as_str()).await?;
    super::tune_socket(&stream, Some(super::CLIENT_KEEPALIVE))?;
    Ok(stream.compat())
}
