//! The tokio adapter (feature `tokio`): tokio's TCP listener, one tokio task per connection,
//! and a dialer for the client. tokio's streams reach the core through tokio-util's `compat`
//! bridge. The server's timers (heartbeat, timeouts) are tokio's when the runtime has them
//! (`enable_time`, or `enable_all`); without them they come from async-io, which then runs
//! beside tokio on a helper thread of its own, and every new timer wakes that thread.

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, BorrowedFd};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_lite::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream, ToSocketAddrs};
use tokio_util::compat::{Compat, TokioAsyncReadCompatExt};

use crate::timer::Clock;
use crate::{Config, Handler, Report, Shutdown, StatsHandle};

/// A bound listener serving the echo endpoint. Call it from inside a tokio runtime, built with
/// `enable_all` (or `enable_io` and `enable_time`).
///
/// ```no_run
/// # fn main() -> std::io::Result<()> {
/// use ws_echo::runtimes::tokio::Server;
///
/// let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
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
    pub async fn bind(addr: impl ToSocketAddrs, mut config: Config) -> io::Result<Server> {
        let listener = TcpListener::bind(addr).await?;
        super::tune_listener(&listener, &config)?;
        config.clock = clock();
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

/// tokio's timers if the current runtime has them, else async-io's. tokio only answers the
/// question with a panic (which prints its message: timers are disabled), caught here.
fn clock() -> Clock {
    let probe = std::panic::catch_unwind(|| drop(tokio::time::sleep(Duration::ZERO)));
    if probe.is_ok() {
        return Clock::Tokio;
    }
    log::warn!(
        "the tokio runtime has no timers (enable_time): using async-io's, on a thread of \
         their own"
    );
    Clock::AsyncIo
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

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::time::Instant;

    use super::*;

    type Build = fn() -> io::Result<tokio::runtime::Runtime>;

    /// Serves one connection that never sends its request on a runtime built by `build`, and
    /// returns the clock the server chose and how long it took to drop that connection.
    fn silent_peer_on(
        build: fn() -> io::Result<tokio::runtime::Runtime>,
    ) -> io::Result<(Clock, Duration)> {
        let runtime = build()?;
        runtime.block_on(async {
            let config = Config::default().handshake_timeout(Duration::from_millis(50));
            let server = Server::bind("127.0.0.1:0", config).await?;
            let (clock, addr) = (server.config.clock, server.local_addr()?);
            let shutdown = server.shutdown_handle();
            let running = tokio::spawn(server.run(crate::Echo));
            let peer = tokio::task::spawn_blocking(move || -> io::Result<Duration> {
                let started = Instant::now();
                let mut stream = std::net::TcpStream::connect(addr)?;
                stream.set_read_timeout(Some(Duration::from_secs(5)))?;
                // The server gives up on the handshake and closes: EOF, nothing sent.
                let mut rest = Vec::new();
                stream.read_to_end(&mut rest)?;
                assert_eq!(rest, b"");
                Ok(started.elapsed())
            });
            let waited = peer.await.map_err(io::Error::other)??;
            shutdown.trigger();
            let report = running.await.map_err(io::Error::other)??;
            assert_eq!(report.served, 1);
            Ok((clock, waited))
        })
    }

    /// With tokio's timers the server uses them; without them (tokio says "timers are
    /// disabled" in a caught, printed panic) async-io's stand in. Either way the deadline holds.
    #[test]
    fn the_server_runs_on_tokios_timers_when_the_runtime_has_them() -> io::Result<()> {
        let cases: [(Build, Clock); 2] = [
            (
                || {
                    tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                },
                Clock::Tokio,
            ),
            (
                || {
                    tokio::runtime::Builder::new_current_thread()
                        .enable_io()
                        .build()
                },
                Clock::AsyncIo,
            ),
        ];
        for (build, expected) in cases {
            let (clock, waited) = silent_peer_on(build)?;
            assert_eq!(clock, expected);
            assert!(
                waited >= Duration::from_millis(50),
                "dropped after {waited:?}"
            );
        }
        Ok(())
    }
}
