//! The async-std adapter (feature `async-std`). async-std is deprecated upstream in favour of
//! smol: prefer the `smol` adapter. A TCP listener whose connections
//! each run in their own async-std task, and a dialer for the client.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use async_std::net::{TcpListener, TcpStream, ToSocketAddrs};

use async_io::Async;

use super::async_io_tcp::Tcp;

use crate::{Config, Handler, Report, Shutdown, StatsHandle};

/// A bound listener serving the echo endpoint.
///
/// ```no_run
/// #![allow(deprecated)]
/// # fn main() -> std::io::Result<()> {
/// use ws_echo::runtimes::async_std::Server;
///
/// async_std::task::block_on(async {
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
    listener: Async<std::net::TcpListener>,
    config: Arc<Config>,
    shutdown: Shutdown,
    stats: StatsHandle,
}

impl Server {
    /// Binds the listener (port 0 picks a free port; see [`Server::local_addr`]).
    pub async fn bind(addr: impl ToSocketAddrs, config: Config) -> io::Result<Server> {
        // async-std's listener resolves the address; accepting is async-io's, the reactor
        // async-std runs on, so that the streams are ours (see `Tcp`).
        let listener = Async::new(std::net::TcpListener::try_from(
            TcpListener::bind(addr).await?,
        )?)?;
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
        self.listener.get_ref().local_addr()
    }

    /// The signal that shuts this server down (the config's, if it had one): stop accepting,
    /// close every connection with 1001 after echoing what it had received, wait up to
    /// [`Config::drain_timeout`] for their answers, drop the rest; then [`Server::run`] returns.
    pub fn shutdown_handle(&self) -> Shutdown {
        self.shutdown.clone()
    }

    /// The server's counters, live.
    pub fn stats(&self) -> StatsHandle {
        self.stats.clone()
    }

    /// Accepts connections, each in its own task with its own clone of `handler`, until the
    /// shutdown signal; then drains and returns what happened. Accept errors are logged once
    /// per burst and retried after a short pause; they never end the loop.
    pub async fn run<H>(self, handler: H) -> io::Result<Report>
    where
        H: Handler + Clone + Send + 'static,
    {
        let local = self.local_addr()?;
        let listener = &self.listener;
        let accept = || async {
            let (stream, peer) = listener.accept().await?;
            Ok((Tcp::new(Arc::new(stream)), peer))
        };
        super::accept_loop(self.config, self.stats, local, handler, accept, |task| {
            drop(async_std::task::spawn(task))
        })
        .await
    }
}

/// Dials `address` (`host:port`) over TCP, with TCP_NODELAY on and keepalive probes after
/// 30 s idle (then every 10 s, 3 unanswered end it): the client's dialer.
pub async fn connect(address: String) -> io::Result<TcpStream> {
    let stream = TcpStream::connect(address.as_str()).await?;
    super::tune_socket(&stream, Some(super::CLIENT_KEEPALIVE))?;
    Ok(stream)
}
