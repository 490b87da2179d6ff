//! The accept loop: one task per connection, each in a slot (or answered 503 when none is
//! free), until the shutdown signal; then the drain.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_lite::future;
use futures_util::FutureExt;

use super::slots::{AddressSlot, DrainCounts, Outcome, PerAddress, Slot, Slots};
use super::ShutdownReport;
use crate::handshake::Refusal;
use crate::running::Running;
use crate::runtimes::{Listener, Task, TcpStream};
use crate::{linger, socket, Config, Error, Handler, Served, Shutdown, StatsHandle};

/// How long the accept loop pauses after an accept error (out of file descriptors, ...), so
/// that it does not spin while the condition lasts.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// The answer to a connection over the limit, sent without reading its request.
const BUSY: Refusal = Refusal::of(503, "too many connections, retry later");

/// The answer to a connection over the limit for its client's address, sent the same way.
const TOO_MANY: Refusal = Refusal::of(429, "too many connections from your address, retry later");

/// Whether an accepted connection is served: in a slot (and in its address's place, under a
/// limit per address), or refused with this answer, sent without reading its request, and why.
enum Admission {
    Served(Slot, Option<AddressSlot>),
    Refused(Refusal, &'static str),
}

/// Every slot is taken: 503.
const OVER_LIMIT: Admission = Admission::Refused(BUSY, "over the connection limit");
/// Its address has its limit open: 429.
const OVER_ADDRESS_LIMIT: Admission =
    Admission::Refused(TOO_MANY, "over the limit per client address");

/// A listener about to serve.
pub(super) struct Accepting {
    pub(super) listener: Listener,
    pub(super) local: SocketAddr,
    /// The connections' settings, as the user gave them.
    pub(super) config: Arc<Config>,
    /// What the server owns: its runtime's timer, `closing` and `signal`.
    pub(super) running: Arc<Running>,
    pub(super) stats: StatsHandle,
    pub(super) max_connections: Option<usize>,
    /// Open connections allowed per client address; `None`: no limit.
    pub(super) max_per_address: Option<usize>,
    pub(super) tcp_keepalive: Option<Duration>,
    /// The application's shutdown signal: the health check answers 503 from then on.
    pub(super) signal: Shutdown,
    /// How long the server serves on after `signal` before `closing`.
    pub(super) drain_delay: Duration,
    /// Fired `drain_delay` after `signal`: connections get Close 1001, upgrades 503.
    pub(super) closing: Shutdown,
}

/// What every connection's task shares.
struct Shared {
    config: Arc<Config>,
    running: Arc<Running>,
    stats: StatsHandle,
    local: SocketAddr,
    tcp_keepalive: Option<Duration>,
    /// Fired at the drain deadline: every connection still running is dropped.
    deadline: Shutdown,
    drained: DrainCounts,
}

impl Accepting {
    /// Accepts and spawns until the shutdown signal and the drain delay after it, then drains
    /// (see [`Config::drain_timeout`]) and reports. With a health endpoint, it accepts through
    /// the drain too, so that a balancer's health check gets `503 draining` rather than a
    /// refused connection.
    pub(super) async fn run<H>(self, handler: H, spawn: impl Fn(Task)) -> ShutdownReport
    where
        H: Handler + Clone + Send + 'static,
    {
        let slots = Slots::new(self.max_connections);
        let per_address = self.max_per_address.map(PerAddress::new);
        let shared = Arc::new(Shared {
            config: Arc::clone(&self.config),
            running: Arc::clone(&self.running),
            stats: self.stats.clone(),
            local: self.local,
            tcp_keepalive: self.tcp_keepalive,
            deadline: Shutdown::new(),
            drained: DrainCounts::default(),
        });
        let mut accept = Acceptor {
            accepting: &self,
            slots: &slots,
            per_address: per_address.as_ref(),
            shared: &shared,
            handler,
            spawn,
            served: 0,
            failures: 0,
            warned_full: false,
        };
        accept.until(self.signal.triggered()).await;
        if !self.drain_delay.is_zero() {
            log::info!(
                "shutting down: the health check answers 503; serving on for {:?} before \
                 closing connections",
                self.drain_delay
            );
            accept
                .until(self.running.timer.after(self.drain_delay))
                .await;
        }
        self.closing.trigger();
        if self.config.routes.health.is_some() {
            future::or(self.drain(&slots, &shared), accept.until(future::pending())).await;
        } else {
            self.drain(&slots, &shared).await;
        }
        let served = accept.served;
        let (closed_cleanly, dropped) = shared.drained.totals();
        let report = ShutdownReport {
            served,
            closed_cleanly,
            dropped,
        };
        log::info!(
            event = "shut_down", served = served, closed_cleanly = closed_cleanly,
            dropped = dropped;
            "shut down: served {}; of those open at the shutdown, {closed_cleanly} closed \
             cleanly and {dropped} were dropped",
            super::stats::counted(served, "connection")
        );
        report
    }

    /// Waits for the open connections to end, up to the drain timeout; then drops the rest.
    async fn drain(&self, slots: &Slots, shared: &Shared) {
        let drain = self.config.timeouts.drain;
        // No count here: connections that saw the signal first may be ending meanwhile, on
        // other threads; the report counts each one open at the signal once it has ended.
        if self.config.routes.health.is_some() {
            log::info!(
                "shutting down: closing connections; draining for up to {drain:?} (new \
                 connections get 503)"
            );
        } else {
            log::info!("shutting down: stopped accepting; draining for up to {drain:?}");
        }
        let drained = until(self.running.timer.after(drain), slots.wait_empty()).await;
        if drained.is_none() {
            log::info!("drain deadline: dropping {} connections", slots.open());
        }
        shared.deadline.trigger();
        slots.wait_empty().await;
    }
}

/// The accept loop's state across its phases (serving, the drain delay, the drain).
struct Acceptor<'a, H, F> {
    accepting: &'a Accepting,
    slots: &'a Arc<Slots>,
    per_address: Option<&'a Arc<PerAddress>>,
    shared: &'a Arc<Shared>,
    handler: H,
    spawn: F,
    /// Connections accepted so far.
    served: u64,
    /// Consecutive accept failures: the first of a burst is logged, the rest only counted.
    failures: u64,
    /// Whether the connection limit has been reached once: said once, as a warning.
    warned_full: bool,
}

impl<H, F> Acceptor<'_, H, F>
where
    H: Handler + Clone + Send + 'static,
    F: Fn(Task),
{
    /// Accepts and spawns until `stop` completes.
    async fn until(&mut self, stop: impl Future<Output = ()>) {
        let mut stop = std::pin::pin!(stop);
        let listener = &self.accepting.listener;
        while let Some(accepted) = until(stop.as_mut(), listener.accept()).await {
            let (stream, peer) = match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    if self.failures == 0 {
                        log::warn!(
                            "accept failed: {e}; retrying every {ACCEPT_BACKOFF:?} \
                             (further failures are not logged until one succeeds)"
                        );
                    }
                    self.failures += 1;
                    self.accepting.running.timer.after(ACCEPT_BACKOFF).await;
                    continue;
                }
            };
            if self.failures > 0 {
                log::info!("accepting again after {} failed attempts", self.failures);
                self.failures = 0;
            }
            self.served += 1;
            let admission = match (self.slots.take(), self.per_address) {
                (None, _) => {
                    if !self.warned_full {
                        self.warned_full = true;
                        log::warn!(
                            "the connection limit ({}) is reached: connections past it get \
                             HTTP 503 until a place frees (raise it with \
                             Server::max_connections)",
                            self.accepting.max_connections.unwrap_or(usize::MAX)
                        );
                    }
                    OVER_LIMIT
                }
                (Some(slot), None) => Admission::Served(slot, None),
                (Some(slot), Some(per)) => match per.take(peer.ip()) {
                    Some(address) => Admission::Served(slot, Some(address)),
                    None => OVER_ADDRESS_LIMIT,
                },
            };
            let late = self.accepting.closing.is_triggered();
            let (shared, handler) = (Arc::clone(self.shared), self.handler.clone());
            // Boxed: a runtime's stream can be large, and every async layer it passes through
            // keeps a slot of its size for the connection's life.
            let stream = Box::new(stream);
            let connection = Accepted {
                id: self.served,
                peer,
                late,
            };
            (self.spawn)(Box::pin(task(
                connection, stream, admission, shared, handler,
            )));
        }
    }
}

/// `work`'s output, or `None` if `stop` completes first. Mapped rather than awaited in an
/// `async` block, which would hold `work` (a whole connection) twice: as what it captured and
/// as what it awaits.
fn until<T>(
    stop: impl Future<Output = ()>,
    work: impl Future<Output = T>,
) -> impl Future<Output = Option<T>> {
    future::or(work.map(Some), stop.map(|()| None))
}

/// Who an accepted connection is.
struct Accepted {
    /// Its number, counted from 1, for the log.
    id: u64,
    peer: SocketAddr,
    /// Accepted after the connections were told to close (a health check during the drain).
    late: bool,
}

/// One accepted connection's task: served in its slot, or answered 503 without one; dropped at
/// the drain deadline either way.
async fn task<H: Handler>(
    accepted: Accepted,
    mut stream: Box<TcpStream>,
    admission: Admission,
    shared: Arc<Shared>,
    handler: H,
) {
    let Accepted { id, peer, late } = accepted;
    let (config, timer) = (&*shared.config, shared.running.timer);
    let (_slot, _address) = match admission {
        Admission::Served(slot, address) => (slot, address),
        Admission::Refused(refusal, why) => {
            shared.stats.refused();
            crate::metrics::refused(refusal.status());
            log::info!(
                conn = id, peer:% = peer, event = "refused", status = refusal.status();
                "#{id} {peer} refused with HTTP {}: {why}", refusal.status()
            );
            let answer = crate::handshake::response::refusal(&refusal);
            let answer = linger::answer_and_linger(
                &mut stream,
                answer.as_bytes(),
                timer,
                config.timeouts.close,
            );
            // The whole answer, lingering included, within the close timeout.
            let bounded = until(timer.after(config.timeouts.close), answer);
            until(shared.deadline.triggered(), bounded).await;
            return;
        }
    };
    shared.stats.opened();
    // The connection's future is made inside the `async` block and so held once (a block that
    // awaited a future it captured would hold it twice).
    let serving = async { connection(id, stream, peer, &shared, handler).await };
    let outcome = future::or(serving, async {
        shared.deadline.triggered().await;
        Outcome::Dropped
    })
    .await;
    match &outcome {
        Outcome::Served(summary) => shared.stats.ended(summary),
        Outcome::NotUpgraded => shared.stats.refused_after_open(),
        Outcome::Page => shared.stats.page_served(),
        Outcome::Health => shared.stats.health_checked(),
        Outcome::Metrics => shared.stats.answered(),
        Outcome::Dropped => {
            log::info!(
                conn = id, peer:% = peer, event = "dropped";
                "#{id} {peer} dropped at the drain deadline"
            );
            shared.stats.dropped();
        }
    }
    // Connections open at the shutdown, not those accepted during the drain.
    if !late && shared.running.is_shutting_down() {
        shared.drained.count(&outcome);
    }
}

/// One connection, from first byte to last, with its log lines.
async fn connection<H: Handler>(
    id: u64,
    stream: Box<TcpStream>,
    peer: SocketAddr,
    shared: &Shared,
    handler: H,
) -> Outcome {
    // The listener's own address, unless it listens on every address: one system call less.
    let local = if shared.local.ip().is_unspecified() {
        match stream.local_addr() {
            Ok(local) => local,
            Err(e) => {
                log::info!(
                    conn = id, peer:% = peer, event = "gone", error:% = e;
                    "#{id} {peer} gone before it started: {e}"
                );
                return Outcome::NotUpgraded;
            }
        }
    } else {
        shared.local
    };
    if !socket::INHERITED {
        if let Err(e) = socket::tune(&*stream, shared.tcp_keepalive) {
            log::debug!("#{id} setting TCP_NODELAY and keepalive failed: {e}");
        }
    }
    log::info!(
        conn = id, peer:% = peer, local:% = local, event = "open";
        "#{id} new connection {peer} -> {local}"
    );
    let identity = crate::connection::Identity {
        id,
        peer: Some(peer),
        local: Some(local),
    };
    let (config, running) = (&shared.config, &shared.running);
    match crate::connection::serve_as(stream, identity, config, running, handler).await {
        Ok(Served::WebSocket(summary)) => {
            log::info!(
                conn = id, peer:% = peer, event = "ended",
                messages_in = summary.messages_in, messages_out = summary.messages_out,
                bytes_in = summary.bytes_in, bytes_out = summary.bytes_out,
                duration_ms = summary.duration.as_millis() as u64,
                close_code = summary.ending.close_code();
                "#{id} {peer} ended: {summary}"
            );
            Outcome::Served(summary)
        }
        Ok(Served::Health { draining }) => {
            let answer = if draining { "503 draining" } else { "200 ok" };
            log::debug!(
                conn = id, peer:% = peer, event = "health", answer = answer;
                "#{id} {peer} health check: {answer}"
            );
            Outcome::Health
        }
        Ok(Served::Metrics) => {
            log::debug!(
                conn = id, peer:% = peer, event = "metrics";
                "#{id} {peer} served the metrics"
            );
            Outcome::Metrics
        }
        Ok(_) => {
            log::info!(
                conn = id, peer:% = peer, event = "page";
                "#{id} {peer} served the page"
            );
            Outcome::Page
        }
        Err(Error::Refused { status, reason }) => {
            log::info!(
                conn = id, peer:% = peer, event = "refused", status = status, reason = reason;
                "#{id} {peer} refused with HTTP {status}: {reason}"
            );
            Outcome::NotUpgraded
        }
        Err(e) => {
            log::info!(
                conn = id, peer:% = peer, event = "handshake_failed", error:% = e;
                "#{id} {peer} handshake failed: {e}"
            );
            Outcome::NotUpgraded
        }
    }
}
