//! The smol adapter (feature `smol`), the one we recommend: a TCP listener whose connections
//! each run in their own task on smol's global executor, and a dialer for the client.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use smol::net::{AsyncToSocketAddrs, TcpListener, TcpStream};

use super::async_io_tcp::Tcp;

use crate::{Config, Handler, Report, Shutdown, StatsHandle};

/// A bound listener serving the echo endpoint.
///
/// ```no_run
/// # fn main() -> std::io::Result<()> {
/// use ws_echo::runtimes::smol::Server;
///
/// smol::block_on(async {
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
    pub async fn bind(addr: impl AsyncToSocketAddrs, config: Config) -> io::Result<Server> {
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
        self.serve(handler, |task| smol::spawn(task).detach()).await
    }

    /// Like [`Server::run`], but each connection's task runs on `executor`, which the caller
    /// drives. When the threads that run `executor` are the ones that wait on the reactor
    /// (`smol::block_on(executor.run(...))`, say one per core), a connection woken by its
    /// socket runs on the thread that saw the event; [`Server::run`] spawns onto smol's global
    /// executor, whose threads are woken by whichever thread polled the reactor.
    ///
    /// ```no_run
    /// # fn main() -> std::io::Result<()> {
    /// use ws_echo::runtimes::smol::Server;
    ///
    /// let executor = smol::Executor::new();
    /// smol::block_on(executor.run(async {
    ///     let server = Server::bind("127.0.0.1:8080", ws_echo::Config::default()).await?;
    ///     server.run_on(&executor, ws_echo::Echo).await
    /// }))?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn run_on<H>(self, executor: &smol::Executor<'_>, handler: H) -> io::Result<Report>
    where
        H: Handler + Clone + Send + 'static,
    {
        self.serve(handler, |task| executor.spawn(task).detach())
            .await
    }

    async fn serve<H>(self, handler: H, spawn: impl Fn(super::Task)) -> io::Result<Report>
    where
        H: Handler + Clone + Send + 'static,
    {
        let listener = &self.listener;
        let local = listener.local_addr()?;
        let accept = || async {
            let (stream, peer) = listener.accept().await?;
            Ok((Tcp::new(stream.into()), peer))
        };
        super::accept_loop(self.config, self.stats, local, handler, accept, spawn).await
    }
}

/// Dials `address` (`host:port`) over TCP, with TCP_NODELAY on and keepalive probes after
/// 30 s idle (then every 10 s, 3 unanswered end it): the client's dialer.
pub async fn connect(address: String) -> io::Result<TcpStream> {
    let stream = TcpStream::connect(address.as_str()).await?;
    super::tune_socket(&stream, Some(super::CLIENT_KEEPALIVE))?;
    Ok(stream)
}
