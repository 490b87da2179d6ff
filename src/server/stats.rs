//! [`Stats`]: what a server has done, live, for the application embedding it.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::summary::Summary;

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
    /// Plain `GET /` requests answered with [`Config::page`](crate::Config) (not refusals).
    pub pages: u64,
    /// Health checks answered ([`Config::health`](crate::Config)), 200 or 503 (not refusals).
    pub health_checks: u64,
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
///
/// ```
/// # #[cfg(feature = "smol")] {
/// use ws_echo::{runtimes::Runtime, Config, Server};
///
/// let server = Server::bind(Runtime::Smol, "127.0.0.1:0", Config::default()).unwrap();
/// let stats = server.stats(); // keep it: the server moves into `run`
/// assert_eq!(stats.snapshot().open, 0);
/// println!("{}", stats.snapshot()); // 0 connections (0 open, 0 refused, 0 pages); ...
/// # }
/// ```
#[derive(Clone, Debug, Default)]
pub struct StatsHandle(Arc<Counters>);

#[derive(Debug, Default)]
struct Counters {
    open: AtomicU64,
    connections: AtomicU64,
    refused: AtomicU64,
    pages: AtomicU64,
    health_checks: AtomicU64,
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
            pages: get(&c.pages),
            health_checks: get(&c.health_checks),
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

    /// A connection that was opened was a request for the page.
    pub(crate) fn page_served(&self) {
        self.answered();
        self.0.pages.fetch_add(1, Ordering::Relaxed);
    }

    /// A connection that was opened was a health check.
    pub(crate) fn health_checked(&self) {
        self.answered();
        self.0.health_checks.fetch_add(1, Ordering::Relaxed);
    }

    /// A connection that was opened was a plain HTTP request, answered: not a connection.
    pub(crate) fn answered(&self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
        self.0.connections.fetch_sub(1, Ordering::Relaxed);
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
        match (summary.ending.close_code(), c.closes.lock()) {
            (Some(code), Ok(mut closes)) => *closes.entry(code).or_default() += 1,
            _ => {
                c.without_close.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// In words: `3 connections (1 open, 2 refused, 1 page); in 6 messages / 66 B, out 6 messages
/// / 66 B; closes 1000: 2, 1001: 1; 0 without a close`. Health checks are counted after the
/// pages when there were any (`1 page, 12 health checks`).
///
/// ```
/// let stats = ws_echo::Stats::default();
/// assert_eq!(
///     stats.to_string(),
///     "0 connections (0 open, 0 refused, 0 pages); in 0 messages / 0 B, out 0 messages / 0 B; \
///      no closes; 0 without a close"
/// );
/// ```
impl std::fmt::Display for Stats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({} open, {} refused, {}{}); in {} / {} B, out {} / {} B; ",
            counted(self.connections, "connection"),
            self.open,
            self.refused,
            counted(self.pages, "page"),
            match self.health_checks {
                0 => String::new(),
                n => format!(", {}", counted(n, "health check")),
            },
            counted(self.messages_in, "message"),
            self.bytes_in,
            counted(self.messages_out, "message"),
            self.bytes_out,
        )?;
        if self.closes.is_empty() {
            write!(f, "no closes")?;
        } else {
            write!(f, "closes ")?;
            for (i, (code, n)) in self.closes.iter().enumerate() {
                write!(f, "{}{code}: {n}", if i > 0 { ", " } else { "" })?;
            }
        }
        write!(f, "; {} without a close", self.without_close)
    }
}

/// `1 connection`, `2 connections`.
pub(crate) fn counted(n: u64, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}
