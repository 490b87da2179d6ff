//! [`Server`]: a listener that serves the echo endpoint under any compiled-in runtime, one task
//! per connection, with a connection limit, statistics and a graceful shutdown.
//!
//! The runtime supplies only what it owns ([`runtimes`](crate::runtimes)): its listener,
//! accepting, spawning and its timer. What is the same under every runtime is here: the accept
//! loop (`accept.rs`), the connection slots and the drain's account (`slots.rs`), the
//! counters (`stats.rs`).

mod accept;
mod slots;
mod stats;
mod task;

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use crate::config::Config;
use crate::handler::Handler;
use crate::running::Running;
use crate::runtimes::{Runtime, Task};
use crate::shutdown::Shutdown;
use crate::socket;

pub use stats::{Stats, StatsHandle};

/// A bound listener serving the echo endpoint on one of the compiled-in [`Runtime`]s.
///
/// ```no_run
/// # #[cfg(feature = "smol")]
/// # fn main() -> std::io::Result<()> {
/// use ws_echo::{runtimes::Runtime, Config, Echo, Server};
///
/// let server = Server::bind(Runtime::Smol, "127.0.0.1:8080", Config::default())?;
/// println!("serving ws://{}/ws", server.local_addr()?);
/// let report = smol::block_on(server.run(Echo))?;
/// println!("{report:?}");
/// # Ok(())
/// # }
/// # #[cfg(not(feature = "smol"))]
/// # fn main() {}
/// ```
///
/// Under tokio, [`Server::run`] is called from inside a tokio runtime (built with `enable_all`,
/// or `enable_io` and `enable_time`); under smol and async-std, from any thread.
#[derive(Debug)]
pub struct Server {
    listener: std::net::TcpListener,
    runtime: Runtime,
    config: Config,
    shutdown: Shutdown,
    stats: StatsHandle,
    max_connections: Option<usize>,
    max_per_address: Option<usize>,
    tcp_keepalive: Option<Duration>,
    drain_delay: Duration,
}

/// What [`Server::run`] returns once the server has shut down.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// Connections accepted over the server's life (refusals included).
    pub served: u64,
    /// Connections open at the shutdown that ended before the drain deadline.
    pub closed_cleanly: u64,
    /// Connections open at the shutdown that were dropped: their peer did not answer our
    /// Close 1001 in time, or they were still running at the drain deadline.
    pub dropped: u64,
}

impl Server {
    /// Binds a listener to the first of `addr`'s addresses that can be bound (port 0 picks a
    /// free port; see [`Server::local_addr`]), with a backlog of 1024. A host name is resolved
    /// here, blocking.
    /// Fails with `InvalidInput` when `config` does not pass [`Config::check`].
    pub fn bind(runtime: Runtime, addr: impl ToSocketAddrs, config: Config) -> io::Result<Server> {
        Server::bind_with(runtime, addr, config, false)
    }

    /// Like [`Server::bind`], with `SO_REUSEPORT`: several processes (each binding this way)
    /// share one address, and the kernel spreads new connections among them, so that one can
    /// be restarted while the others serve. Fails with `Unsupported` where the system has no
    /// `SO_REUSEPORT`.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ws_echo::{runtimes::Runtime, Config, Server};
    ///
    /// let one = Server::bind_reuse_port(Runtime::Smol, "127.0.0.1:0", Config::default()).unwrap();
    /// let addr = one.local_addr().unwrap();
    /// let two = Server::bind_reuse_port(Runtime::Smol, addr, Config::default()).unwrap();
    /// assert_eq!(two.local_addr().unwrap(), addr);
    /// # }
    /// ```
    pub fn bind_reuse_port(
        runtime: Runtime,
        addr: impl ToSocketAddrs,
        config: Config,
    ) -> io::Result<Server> {
        Server::bind_with(runtime, addr, config, true)
    }

    fn bind_with(
        runtime: Runtime,
        addr: impl ToSocketAddrs,
        config: Config,
        reuse_port: bool,
    ) -> io::Result<Server> {
        let invalid = |e| io::Error::new(io::ErrorKind::InvalidInput, e);
        config.check().map_err(invalid)?;
        let listener = socket::listen(addr, reuse_port)?;
        Ok(Server::from_listener(runtime, listener, config))
    }

    /// Serves on a listener the application bound itself (with socket options of its own, or
    /// handed over by a service manager).
    pub fn from_listener(
        runtime: Runtime,
        listener: std::net::TcpListener,
        config: Config,
    ) -> Server {
        let shutdown = config.shutdown.clone().unwrap_or_default();
        Server {
            listener,
            runtime,
            config,
            shutdown,
            stats: StatsHandle::default(),
            max_connections: Some(10_000),
            max_per_address: None,
            tcp_keepalive: Some(Duration::from_secs(30)),
            drain_delay: Duration::ZERO,
        }
    }

    /// After the shutdown signal, how long the server goes on serving as before (new
    /// connections too) while its health endpoint ([`Config::health`]) answers `503 draining`,
    /// so that a load balancer's checks take it out of rotation before its connections get
    /// Close 1001 and the drain starts. Set it to the balancer's check interval times the
    /// failed checks it needs. Default: 0.
    pub fn drain_delay(mut self, delay: Duration) -> Self {
        self.drain_delay = delay;
        self
    }

    /// Connections served at once; one more is answered HTTP 503 with `Retry-After: 1` and
    /// closed. `None` means no limit; `Some(0)` would refuse everyone, and [`Server::run`]
    /// fails with it. Default: 10,000 (about 40 MB at ~4 KiB per idle connection).
    pub fn max_connections(mut self, max: Option<usize>) -> Self {
        self.max_connections = max;
        self
    }

    /// Connections served at once from one client IP address; one more from it is answered
    /// HTTP 429 with `Retry-After: 1` and closed, while everyone else is served: a fair share
    /// of a public endpoint. Behind a proxy every client has the proxy's address: leave it off
    /// there. `None` means no limit; `Some(0)` would refuse everyone, and [`Server::run`] fails
    /// with it. Default: `None`.
    pub fn max_connections_per_ip(mut self, max: Option<usize>) -> Self {
        self.max_per_address = max;
        self
    }

    /// TCP keepalive on accepted sockets: probes start after `idle` without traffic, then go
    /// every 10 s, and 3 unanswered probes end the connection; a second line of defence under
    /// the heartbeat. `None` turns it off. Default: 30 s (Linux's own default is 2 hours).
    pub fn tcp_keepalive(mut self, idle: Option<Duration>) -> Self {
        self.tcp_keepalive = idle;
        self
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

    /// Accepts connections, each in its own task of the runtime with its own clone of
    /// `handler`, until the shutdown signal; then drains and returns what happened. Accept
    /// errors (out of file descriptors, ...) are logged once per burst and retried after a
    /// short pause; they never end the loop. Connections use the runtime's timer
    /// ([`Runtime::timer`]), whatever [`Config::timer`] said.
    pub async fn run<H>(self, handler: H) -> io::Result<ShutdownReport>
    where
        H: Handler + Clone + Send + 'static,
    {
        let runtime = self.runtime;
        self.serve(handler, move |task| runtime.spawn(task)).await
    }

    /// Like [`Server::run`] on [`Runtime::Smol`], but each connection's task runs on
    /// `executor`, which the caller drives. When the threads that run `executor` are the ones
    /// that wait on the reactor (`smol::block_on(executor.run(...))`, say one per core), a
    /// connection woken by its socket runs on the thread that saw the event; [`Server::run`]
    /// spawns onto smol's global executor, whose threads are woken by whichever thread polled
    /// the reactor.
    ///
    /// ```no_run
    /// # fn main() -> std::io::Result<()> {
    /// use ws_echo::{runtimes::Runtime, Config, Echo, Server};
    ///
    /// let executor = smol::Executor::new();
    /// let server = Server::bind(Runtime::Smol, "127.0.0.1:8080", Config::default())?;
    /// smol::block_on(executor.run(server.run_on(&executor, Echo)))?;
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "smol")]
    #[cfg_attr(docsrs, doc(cfg(feature = "smol")))]
    pub async fn run_on<H>(
        self,
        executor: &smol::Executor<'_>,
        handler: H,
    ) -> io::Result<ShutdownReport>
    where
        H: Handler + Clone + Send + 'static,
    {
        self.serve(handler, |task| executor.spawn(task).detach())
            .await
    }

    async fn serve<H>(self, handler: H, spawn: impl Fn(Task)) -> io::Result<ShutdownReport>
    where
        H: Handler + Clone + Send + 'static,
    {
        let Server {
            listener,
            runtime,
            config,
            stats,
            max_connections,
            max_per_address,
            tcp_keepalive,
            shutdown: signal,
            drain_delay,
        } = self;
        for (name, max) in [
            ("max_connections", max_connections),
            ("max_connections_per_ip", max_per_address),
        ] {
            if max == Some(0) {
                let zero = format!("{name} of 0 would refuse every connection");
                return Err(io::Error::new(io::ErrorKind::InvalidInput, zero));
            }
        }
        config
            .check()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        listener.set_nonblocking(true)?;
        if socket::INHERITED {
            socket::tune(&listener, tcp_keepalive)?;
        }
        let local = listener.local_addr()?;
        crate::metrics::describe();
        // The health check watches the application's signal; the connections close when the
        // accept loop says, after the drain delay. The settings stay as the user gave them.
        let closing = Shutdown::new();
        let running = Running {
            timer: runtime.timer(),
            shutdown: Some(closing.clone()),
            draining: Some(signal.clone()),
        };
        let accepting = accept::Accepting {
            listener: runtime.listener(listener)?,
            local,
            config: Arc::new(config),
            running: Arc::new(running),
            stats,
            max_connections,
            max_per_address,
            tcp_keepalive,
            signal,
            drain_delay,
            closing,
        };
        Ok(accepting.run(handler, spawn).await)
    }
}
