//! Adapters: what a runtime owns (a listener, one task per connection, dialing), each behind
//! its feature. The connection handling itself is the runtime-agnostic core; the accept loop
//! below is shared by the adapters, which supply only accepting and spawning.
#![cfg_attr(not(any(feature = "smol", feature = "async-std")), allow(dead_code))]

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_lite::{future, AsyncRead, AsyncWrite};

use crate::{Config, Error, Handler};

#[cfg(feature = "async-std")]
#[deprecated(note = "async-std is deprecated upstream in favour of smol: use `runtimes::smol`")]
pub mod async_std;
#[cfg(feature = "smol")]
pub mod smol;

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

/// Accepts connections for ever and spawns one task per connection, each with its own clone of
/// `handler`. Accept errors are logged and retried after a pause; they never end the loop.
async fn accept_loop<S, H, A, F>(
    config: Arc<Config>,
    handler: H,
    mut accept: A,
    spawn: impl Fn(Task),
) -> io::Result<()>
where
    S: TcpStream,
    H: Handler + Clone + Send + 'static,
    A: FnMut() -> F,
    F: Future<Output = io::Result<(S, SocketAddr)>>,
{
    let mut next_id: u64 = 0;
    let open = Arc::new(AtomicUsize::new(0));
    // Consecutive accept failures: the first of a burst is logged, the rest only counted.
    let mut failures: u64 = 0;
    loop {
        let (stream, peer) = match accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                if failures == 0 {
                    log::warn!(
                        "accept failed: {e}; retrying every {ACCEPT_BACKOFF:?} \
                         (further failures are not logged until one succeeds)"
                    );
                }
                failures += 1;
                async_io::Timer::after(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        if failures > 0 {
            log::info!("accepting again after {failures} failed attempts");
            failures = 0;
        }
        next_id += 1;
        let id = next_id;
        let config = Arc::clone(&config);
        let slot = Slot::take(&open, config.max_connections);
        let handler = handler.clone();
        spawn(Box::pin(async move {
            match slot {
                Some(_slot) => connection(id, stream, peer, &config, handler).await,
                None => busy(id, stream, peer, &config).await,
            }
        }));
    }
}

/// A place among the open connections, given back when dropped.
struct Slot(Arc<AtomicUsize>);

impl Slot {
    /// Takes a place if fewer than `max` are taken.
    fn take(open: &Arc<AtomicUsize>, max: Option<usize>) -> Option<Slot> {
        let max = max.unwrap_or(usize::MAX);
        open.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
            (n < max).then_some(n + 1)
        })
        .ok()
        .map(|_| Slot(Arc::clone(open)))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Answers a connection over the limit with 503 and `Retry-After`, without reading its request.
async fn busy<S: TcpStream>(id: u64, mut stream: S, peer: SocketAddr, config: &Config) {
    log::info!("#{id} {peer} refused with HTTP 503: over the connection limit");
    let answer = async {
        if crate::handshake::refuse(&mut stream, 503, BUSY)
            .await
            .is_ok()
        {
            crate::connection::linger(&mut stream, config.close_timeout).await;
        }
    };
    let deadline = async {
        async_io::Timer::after(config.close_timeout).await;
    };
    future::or(answer, deadline).await;
}

/// The reason sent with a 503.
const BUSY: &str = "too many connections, retry later";

/// One accepted connection, from first byte to last, with its log lines.
async fn connection<S, H>(id: u64, stream: S, peer: SocketAddr, config: &Config, handler: H)
where
    S: TcpStream,
    H: Handler,
{
    let local = match stream.local_addr() {
        Ok(local) => local,
        Err(e) => return log::info!("#{id} {peer} gone before it started: {e}"),
    };
    if let Err(e) = tune_socket(&stream, config.tcp_keepalive) {
        log::debug!("#{id} setting TCP_NODELAY and keepalive failed: {e}");
    }
    log::info!("#{id} new connection {peer} -> {local}");
    match crate::serve(stream, config, handler).await {
        Ok(summary) => log::info!("#{id} {peer} ended: {summary}"),
        Err(Error::Refused { status, reason }) => {
            log::info!("#{id} {peer} refused with HTTP {status}: {reason}")
        }
        Err(e) => log::info!("#{id} {peer} handshake failed: {e}"),
    }
}
