//! The accept loop: one task per connection, each in a slot (or answered 503 when none is
//! free), until the shutdown signal; then the drain.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_lite::future;

use super::slots::{DrainCounts, PerAddress, Slots};
use super::task::{task, until, Accepted, Admission, Shared};
use super::ShutdownReport;
use crate::config::Config;
use crate::handler::Handler;
use crate::handshake::Refusal;
use crate::running::Running;
use crate::runtimes::{Listener, Task};
use crate::server::StatsHandle;
use crate::shutdown::Shutdown;

/// How long the accept loop pauses after an accept error (out of file descriptors, ...), so
/// that it does not spin while the condition lasts.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// The answer to a connection over the limit, sent without reading its request.
const BUSY: Refusal = Refusal::of(503, "too many connections, retry later");

/// The answer to a connection over the limit for its client's address, sent the same way.
const TOO_MANY: Refusal = Refusal::of(429, "too many connections from your address, retry later");

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
        let (level, local) = (self.log_level(), self.local);
        if !self.drain_delay.is_zero() {
            log::log!(
                level,
                listener:% = local, event = "drain_delay";
                "shutting down {local}: the health check answers 503; serving on for {:?} \
                 before closing connections",
                self.drain_delay
            );
            accept
                .until(self.running.timer.after(self.drain_delay))
                .await;
        }
        self.closing.trigger();
        if self.config.routes.has_probes() {
            future::or(self.drain(&slots, &shared), accept.until(future::pending())).await;
        } else {
            self.drain(&slots, &shared).await;
        }
        self.report(accept.served, &shared)
    }

    /// The shutdown's report, logged.
    fn report(&self, served: u64, shared: &Shared) -> ShutdownReport {
        let (closed_cleanly, dropped) = shared.drained.totals();
        let local = self.local;
        log::log!(
            self.log_level(),
            listener:% = local, event = "shut_down", served = served,
            closed_cleanly = closed_cleanly, dropped = dropped;
            "shut down {local}: served {}; of those open at the shutdown, {closed_cleanly} closed \
             cleanly and {dropped} were dropped",
            super::stats::counted(served, "connection")
        );
        ShutdownReport {
            served,
            closed_cleanly,
            dropped,
        }
    }

    /// The level of the listener's shutdown lines: info for a WebSocket listener, debug for
    /// one that only answers probes (`/health`, `/metrics`), whose lines would say the same
    /// event again.
    fn log_level(&self) -> log::Level {
        match self.config.routes.websocket {
            true => log::Level::Info,
            false => log::Level::Debug,
        }
    }

    /// Waits for the open connections to end, up to the drain timeout; then drops the rest.
    async fn drain(&self, slots: &Slots, shared: &Shared) {
        let drain = self.config.timeouts.drain;
        // No count here: connections that saw the signal first may be ending meanwhile, on
        // other threads; the report counts each one open at the signal once it has ended.
        let (level, local) = (self.log_level(), self.local);
        let accepting = match self.config.routes.has_probes() {
            true => "new connections get 503",
            false => "no longer accepting",
        };
        log::log!(
            level,
            listener:% = local, event = "draining", timeout_ms = drain.as_millis() as u64;
            "shutting down {local}: closing connections, up to {drain:?} ({accepting})"
        );
        let drained = until(self.running.timer.after(drain), slots.wait_empty()).await;
        if drained.is_none() {
            let open = slots.open();
            log::log!(
                level,
                listener:% = local, event = "drain_deadline", dropping = open as u64;
                "drain deadline {local}: dropping {open} connections"
            );
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
                id: crate::connection::next_id(),
                peer,
                late,
            };
            (self.spawn)(Box::pin(task(
                connection, stream, admission, shared, handler,
            )));
        }
    }
}
