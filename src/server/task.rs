//! One accepted connection's task: admitted to a slot or refused at once, served, logged, and
//! counted in the statistics and the drain's account.

use std::net::SocketAddr;
use std::sync::Arc;

use futures_lite::future;

use std::future::Future;
use std::time::Duration;

use futures_util::FutureExt;

use super::slots::{AddressSlot, DrainCounts, Outcome, Slot};
use super::stats::StatsHandle;
use crate::config::Config;
use crate::error::Error;
use crate::handler::Handler;
use crate::handshake::Refusal;
use crate::linger;
use crate::running::Running;
use crate::runtimes::TcpStream;
use crate::shutdown::Shutdown;
use crate::socket;
use crate::summary::Served;

/// Whether an accepted connection is served: in a slot (and in its address's place, under a
/// limit per address), or refused with this answer, sent without reading its request, and why.
pub(super) enum Admission {
    Served(Slot, Option<AddressSlot>),
    Refused(Refusal, &'static str),
}

/// What every connection's task shares.
pub(super) struct Shared {
    pub(super) config: Arc<Config>,
    pub(super) running: Arc<Running>,
    pub(super) stats: StatsHandle,
    pub(super) local: SocketAddr,
    pub(super) tcp_keepalive: Option<Duration>,
    /// Fired at the drain deadline: every connection still running is dropped.
    pub(super) deadline: Shutdown,
    pub(super) drained: DrainCounts,
}

/// `work`'s output, or `None` if `stop` completes first. Mapped rather than awaited in an
/// `async` block, which would hold `work` (a whole connection) twice: as what it captured and
/// as what it awaits.
pub(super) fn until<T>(
    stop: impl Future<Output = ()>,
    work: impl Future<Output = T>,
) -> impl Future<Output = Option<T>> {
    future::or(work.map(Some), stop.map(|()| None))
}

/// Who an accepted connection is.
pub(super) struct Accepted {
    /// Its number, counted from 1, for the log.
    pub(super) id: u64,
    pub(super) peer: SocketAddr,
    /// Accepted after the connections were told to close (a health check during the drain).
    pub(super) late: bool,
}

/// One accepted connection's task: served in its slot, or answered 503 without one; dropped at
/// the drain deadline either way.
pub(super) async fn task<H: Handler>(
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
    // Logged at info once upgraded (see `Identity::logged`): a health or metrics probe is a
    // debug line, start and end.
    log::debug!("#{id} accepted {peer} -> {local}");
    let identity = crate::connection::Identity {
        id,
        peer: Some(peer),
        local: Some(local),
        logged: true,
    };
    let (config, running) = (&shared.config, &shared.running);
    let served = crate::connection::serve_as(stream, identity, config, running, handler).await;
    log_served(id, peer, served)
}

/// The log line for how a connection was served, and its outcome for the statistics.
fn log_served(id: u64, peer: SocketAddr, served: Result<Served, Error>) -> Outcome {
    match served {
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
