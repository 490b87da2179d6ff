//! Adapters: what a runtime owns (a listener, one task per connection, dialing), each behind
//! its feature. The connection handling itself is the runtime-agnostic core; the accept loop
//! below is shared by the adapters, which supply only accepting and spawning.
#![cfg_attr(
    not(any(feature = "smol", feature = "async-std", feature = "tokio")),
    allow(dead_code)
)]

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_lite::{future, AsyncRead, AsyncWrite};

use event_listener::Event;

use crate::{Config, Ending, Error, Handler, Report, Shutdown, StatsHandle, Summary};

#[cfg(any(feature = "smol", feature = "async-std"))]
mod async_io_tcp;
#[cfg(feature = "async-std")]
#[deprecated(note = "async-std is deprecated upstream in favour of smol: use `runtimes::smol`")]
pub mod async_std;
#[cfg(feature = "smol")]
pub mod smol;
#[cfg(feature = "tokio")]
pub mod tokio;

/// How long the accept loop pauses after an accept error (out of file descriptors, ...), so
/// that it does not spin while the condition lasts.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// A connection's task, as handed to a runtime's spawn.
type Task = Pin<Box<dyn Future<Output = ()> + Send>>;

/// TCP keepalive probes, once they start, go this often...
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(10);
/// ...and this many unanswered ones end the connection.
const KEEPALIVE_RETRIES: u32 = 3;
/// The keepalive idle time on the client's dialed sockets.
const CLIENT_KEEPALIVE: Duration = Duration::from_secs(30);

/// What the accept loop needs of a runtime's TCP stream.
trait TcpStream: AsyncRead + AsyncWrite + AsFd + Unpin + Send + 'static {
    fn local_addr(&self) -> io::Result<SocketAddr>;
}

/// TCP_NODELAY on (echoes are small and latency matters), and keepalive probes after `idle`.
fn tune_socket(socket: &impl AsFd, keepalive: Option<Duration>) -> io::Result<()> {
    let socket = socket2::SockRef::from(socket);
    socket.set_tcp_nodelay(true)?;
    if let Some(idle) = keepalive {
        let keepalive = socket2::TcpKeepalive::new()
            .with_time(idle)
            .with_interval(KEEPALIVE_INTERVAL)
            .with_retries(KEEPALIVE_RETRIES);
        socket.set_tcp_keepalive(&keepalive)?;
    }
    Ok(())
}

/// Whether accepted sockets inherit the listener's TCP_NODELAY and keepalive settings, so that
/// [`tune_listener`] saves five system calls per connection (Linux copies them; the test below
/// checks it). Elsewhere each accepted socket is tuned.
const INHERITED: bool = cfg!(target_os = "linux");

/// Tunes the listener like the sockets it will accept, where they inherit it (see
/// [`INHERITED`]).
fn tune_listener(listener: &impl AsFd, config: &Config) -> io::Result<()> {
    if INHERITED {
        tune_socket(listener, config.tcp_keepalive)?;
    }
    Ok(())
}

/// Accepts connections and spawns one task per connection, each with its own clone of
/// `handler`, until the config's shutdown signal is triggered; then drains (see
/// [`Config::drain_timeout`]) and returns the [`Report`]. Accept errors are logged once per
/// burst and retried after a pause; they never end the loop.
async fn accept_loop<S, H, A, F>(
    config: Arc<Config>,
    stats: StatsHandle,
    local: SocketAddr,
    handler: H,
    mut accept: A,
    spawn: impl Fn(Task),
) -> io::Result<Report>
where
    S: TcpStream,
    H: Handler + Clone + Send + 'static,
    A: FnMut() -> F,
    F: Future<Output = io::Result<(S, SocketAddr)>>,
{
    let shutdown = config.shutdown.clone().unwrap_or_default();
    let open = Arc::new(Open::default());
    // Fired at the drain deadline: every connection still running is dropped.
    let deadline = Shutdown::new();
    let outcome = Arc::new(DrainCounts::default());
    let mut served: u64 = 0;
    // Consecutive accept failures: the first of a burst is logged, the rest only counted.
    let mut failures: u64 = 0;
    loop {
        let accepted = future::or(async { Some(accept().await) }, async {
            shutdown.triggered().await;
            None
        })
        .await;
        let (stream, peer) = match accepted {
            None => break,
            Some(Ok(accepted)) => accepted,
            Some(Err(e)) => {
                if failures == 0 {
                    log::warn!(
                        "accept failed: {e}; retrying every {ACCEPT_BACKOFF:?} \
                         (further failures are not logged until one succeeds)"
                    );
                }
                failures += 1;
                config.clock.after(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        if failures > 0 {
            log::info!("accepting again after {failures} failed attempts");
            failures = 0;
        }
        served += 1;
        let id = served;
        let slot = Slot::take(&open, config.max_connections);
        let (config, stats, handler) = (Arc::clone(&config), stats.clone(), handler.clone());
        let (shutdown, deadline, outcome) =
            (shutdown.clone(), deadline.clone(), Arc::clone(&outcome));
        // Boxed: a runtime's stream can be large (smol's is 120 bytes), and every async layer
        // it passes through keeps a slot of its size for the connection's life.
        let stream = Box::new(stream);
        spawn(Box::pin(async move {
            let Some(_slot) = slot else {
                stats.refused();
                return future::or(busy(id, stream, peer, &config), deadline.triggered()).await;
            };
            stats.opened();
            let served = future::or(
                async { Some(connection(id, stream, peer, local, &config, handler).await) },
                async {
                    deadline.triggered().await;
                    None
                },
            )
            .await;
            match &served {
                Some(Some(summary)) => stats.ended(Some(summary)),
                Some(None) => stats.refused_after_open(),
                None => {
                    log::info!("#{id} {peer} dropped at the drain deadline");
                    stats.ended(None);
                }
            }
            if shutdown.is_triggered() {
                outcome.count(served.as_ref().map(Option::as_ref));
            }
        }));
    }

    let drain = config.drain_timeout;
    log::info!(
        "shutting down: stopped accepting; draining {} open connections for up to {drain:?}",
        open.count()
    );
    let drained = future::or(
        async {
            open.wait_empty().await;
            true
        },
        async {
            config.clock.after(drain).await;
            false
        },
    )
    .await;
    if !drained {
        log::info!("drain deadline: dropping {} connections", open.count());
    }
    deadline.trigger();
    open.wait_empty().await;
    let report = Report {
        served,
        closed_cleanly: outcome.clean.load(Ordering::Relaxed),
        dropped: outcome.dropped.load(Ordering::Relaxed),
    };
    log::info!(
        "shut down: {} connections served, {} closed cleanly at the shutdown, {} dropped",
        report.served,
        report.closed_cleanly,
        report.dropped
    );
    Ok(report)
}

/// How the connections open at a shutdown ended.
#[derive(Default)]
struct DrainCounts {
    clean: AtomicU64,
    dropped: AtomicU64,
}

impl DrainCounts {
    /// Counts one connection that ended after the shutdown: `None` when it was dropped at the
    /// deadline, `Some(None)` when it never upgraded.
    fn count(&self, served: Option<Option<&Summary>>) {
        let dropped = match served {
            None => true,
            Some(Some(summary)) => {
                matches!(summary.ending, Ending::ServerClosed { dropped: true, .. })
            }
            Some(None) => false,
        };
        let counter = if dropped { &self.dropped } else { &self.clean };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// The open connections, and a way to wait for there to be none.
#[derive(Default)]
struct Open {
    count: AtomicUsize,
    changed: Event,
}

impl Open {
    fn count(&self) -> usize {
        self.count.load(Ordering::Acquire)
    }

    async fn wait_empty(&self) {
        loop {
            if self.count() == 0 {
                return;
            }
            let listener = self.changed.listen();
            if self.count() == 0 {
                return;
            }
            listener.await;
        }
    }
}

/// A place among the open connections, given back when dropped.
struct Slot(Arc<Open>);

impl Slot {
    /// Takes a place if fewer than `max` are taken.
    fn take(open: &Arc<Open>, max: Option<usize>) -> Option<Slot> {
        let max = max.unwrap_or(usize::MAX);
        open.count
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()
            .map(|_| Slot(Arc::clone(open)))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.count.fetch_sub(1, Ordering::AcqRel);
        self.0.changed.notify(usize::MAX);
    }
}

/// Answers a connection over the limit with 503 and `Retry-After`, without reading its request.
async fn busy<S: TcpStream>(id: u64, mut stream: Box<S>, peer: SocketAddr, config: &Config) {
    log::info!("#{id} {peer} refused with HTTP 503: over the connection limit");
    let answer = async {
        if crate::handshake::refuse(&mut stream, 503, BUSY)
            .await
            .is_ok()
        {
            crate::connection::linger(&mut stream, config).await;
        }
    };
    let deadline = async {
        config.clock.after(config.close_timeout).await;
    };
    future::or(answer, deadline).await;
}

/// The reason sent with a 503.
const BUSY: &str = "too many connections, retry later";

/// One accepted connection, from first byte to last, with its log lines. `None` when no
/// WebSocket connection was established.
async fn connection<S, H>(
    id: u64,
    stream: Box<S>,
    peer: SocketAddr,
    listening: SocketAddr,
    config: &Config,
    handler: H,
) -> Option<Summary>
where
    S: TcpStream,
    H: Handler,
{
    // The listener's own address, unless it listens on every address: one system call less.
    let local = if listening.ip().is_unspecified() {
        match stream.local_addr() {
            Ok(local) => local,
            Err(e) => {
                log::info!("#{id} {peer} gone before it started: {e}");
                return None;
            }
        }
    } else {
        listening
    };
    if !INHERITED {
        if let Err(e) = tune_socket(&*stream, config.tcp_keepalive) {
            log::debug!("#{id} setting TCP_NODELAY and keepalive failed: {e}");
        }
    }
    log::info!("#{id} new connection {peer} -> {local}");
    match crate::serve(stream, config, handler).await {
        Ok(summary) => {
            log::info!("#{id} {peer} ended: {summary}");
            Some(summary)
        }
        Err(Error::Refused { status, reason }) => {
            log::info!("#{id} {peer} refused with HTTP {status}: {reason}");
            None
        }
        Err(Error::PageServed) => {
            log::info!("#{id} {peer} served the page");
            None
        }
        Err(e) => {
            log::info!("#{id} {peer} handshake failed: {e}");
            None
        }
    }
}

/// Makes sure `config` carries a shutdown signal, and returns it.
fn with_shutdown(mut config: Config) -> (Arc<Config>, Shutdown) {
    let shutdown = config.shutdown.get_or_insert_with(Shutdown::new).clone();
    (Arc::new(config), shutdown)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What [`INHERITED`] relies on: a socket accepted from a tuned listener comes out tuned.
    #[test]
    #[cfg(target_os = "linux")]
    fn accepted_sockets_inherit_the_listeners_tuning() -> io::Result<()> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        tune_listener(&listener, &Config::default())?;
        let _client = std::net::TcpStream::connect(listener.local_addr()?)?;
        let (accepted, _) = listener.accept()?;
        let socket = socket2::SockRef::from(&accepted);
        assert!(socket.tcp_nodelay()?);
        assert!(socket.keepalive()?);
        assert_eq!(socket.tcp_keepalive_time()?, Duration::from_secs(30));
        assert_eq!(socket.tcp_keepalive_interval()?, KEEPALIVE_INTERVAL);
        assert_eq!(socket.tcp_keepalive_retries()?, KEEPALIVE_RETRIES);
        Ok(())
    }
}
