//! [`Stats`]: what a server has done, live, for the application embedding it.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::{Ending, Summary};

/// A snapshot of a server's counters, from [`StatsHandle::snapshot`].
///
/// `open` is live; the other counters are updated when a connection ends (or is refused).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Connections open now (accepted and not yet ended, refusals excluded).
    pub open: u64,
    /// Connections accepted and served, in all (refusals excluded).
    pub connections: u64,
    /// Connections refused: an HTTP error status (400, 403, 404, 426, 431, 503) or a failed or
    /// timed-out handshake.
    pub refused: u64,
    /// Data messages received.
    pub messages_in: u64,
    /// Data messages sent.
    pub messages_out: u64,
    /// Payload bytes received.
    pub bytes_in: u64,
    /// Payload bytes sent.
    pub bytes_out: u64,
    /// Connections that ended with a close handshake, by close code (whoever sent it first).
    pub closes: BTreeMap<u16, u64>,
    /// Connections that ended without one: EOF, reset, timeouts, other errors.
    pub without_close: u64,
}

/// A live view of a server's counters; cheap to clone and to keep.
#[derive(Clone, Debug, Default)]
pub struct StatsHandle(Arc<Counters>);

#[derive(Debug, Default)]
struct Counters {
    open: AtomicU64,
    connections: AtomicU64,
    refused: AtomicU64,
    messages_in: AtomicU64,
    messages_out: AtomicU64,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    without_close: AtomicU64,
    closes: Mutex<BTreeMap<u16, u64>>,
}

impl StatsHandle {
    /// The counters now.
    pub fn snapshot(&self) -> Stats {
        let c = &self.0;
        let get = |n: &AtomicU64| n.load(Ordering::Relaxed);
        Stats {
            open: get(&c.open),
            connections: get(&c.connections),
            refused: get(&c.refused),
            messages_in: get(&c.messages_in),
            messages_out: get(&c.messages_out),
            bytes_in: get(&c.bytes_in),
            bytes_out: get(&c.bytes_out),
            closes: c.closes.lock().map(|m| m.clone()).unwrap_or_default(),
            without_close: get(&c.without_close),
        }
    }

    pub(crate) fn opened(&self) {
        self.0.open.fetch_add(1, Ordering::Relaxed);
        self.0.connections.fetch_add(1, Ordering::Relaxed);
    }

    /// A connection that was opened ended without a WebSocket connection.
    pub(crate) fn refused_after_open(&self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
        self.0.connections.fetch_sub(1, Ordering::Relaxed);
        self.0.refused.fetch_add(1, Ordering::Relaxed);
    }

    /// A connection refused before it was opened (over the limit).
    pub(crate) fn refused(&self) {
        self.0.refused.fetch_add(1, Ordering::Relaxed);
    }

    /// A connection that was opened was dropped at the drain deadline.
    pub(crate) fn dropped(&self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
        self.0.without_close.fetch_add(1, Ordering::Relaxed);
    }

    /// A WebSocket connection ended.
    pub(crate) fn ended(&self, summary: &Summary) {
        let c = &self.0;
        c.open.fetch_sub(1, Ordering::Relaxed);
        c.messages_in
            .fetch_add(summary.messages_in, Ordering::Relaxed);
        c.messages_out
            .fetch_add(summary.messages_out, Ordering::Relaxed);
        c.bytes_in.fetch_add(summary.bytes_in, Ordering::Relaxed);
        c.bytes_out.fetch_add(summary.bytes_out, Ordering::Relaxed);
        let code = match &summary.ending {
            Ending::PeerClosed { code, .. } => Some(code.unwrap_or(1005)),
            Ending::ServerClosed { code, .. } => Some(*code),
            _ => None,
        };
        match (code, c.closes.lock()) {
            (Some(code), Ok(mut closes)) => *closes.entry(code).or_default() += 1,
            _ => {
                c.without_close.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}
