//! Metrics, recorded through the [`metrics`] facade: install a recorder in the application
//! (`metrics-exporter-prometheus`, or one that feeds a registry of its own) and ws-echo's land
//! beside its own. Without a recorder every call is a no-op.
//!
//! | name | kind | labels | what |
//! |---|---|---|---|
//! | `ws_echo_connections_open` | gauge | | WebSocket connections open now |
//! | `ws_echo_connections_total` | counter | | WebSocket connections established |
//! | `ws_echo_refused_total` | counter | `status` | upgrades answered with an HTTP error |
//! | `ws_echo_messages_total` | counter | `direction` (`received`, `sent`) | data messages |
//! | `ws_echo_bytes_total` | counter | `direction` | their payload bytes |
//! | `ws_echo_closes_total` | counter | `code` | connections ended by a close handshake |
//! | `ws_echo_ended_without_close_total` | counter | | ended by EOF, reset, a timeout, an error |
//! | `ws_echo_handshake_duration_seconds` | histogram | | from the first byte to the 101 |
//! | `ws_echo_connection_duration_seconds` | histogram | | from the first byte to the end |
//! | `ws_echo_health_checks_total` | counter | `status` (`200`, `503`) | [`Config::health`](crate::Config) answers |
//! | `ws_echo_pages_total` | counter | | [`Config::page`](crate::Config) answers |
//! | `ws_echo_build_info` | gauge (1) | `version` | set by [`describe`] |
//!
//! Messages and bytes are counted as each batch of echoes is flushed, so a long connection's
//! traffic shows while it runs. Nothing is recorded until [`describe`] is called: a
//! [`Server`](crate::Server) calls it when it starts, an application that calls
//! [`serve`](crate::serve) itself calls it once, after installing its recorder.
//!
//! ```
//! // In the application: install a recorder first, then describe ws-echo's metrics to it.
//! ws_echo::metrics::describe();
//! let config = ws_echo::Config::default().metrics("/metrics", || "# rendered\n".to_owned());
//! assert_eq!(config.routes.metrics.as_ref().map(|m| m.path.as_str()), Some("/metrics"));
//! ```

use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use metrics::{Counter, Gauge, Histogram, Unit};

use crate::summary::Summary;

const OPEN: &str = "ws_echo_connections_open";
const CONNECTIONS: &str = "ws_echo_connections_total";
const REFUSED: &str = "ws_echo_refused_total";
const MESSAGES: &str = "ws_echo_messages_total";
const BYTES: &str = "ws_echo_bytes_total";
const CLOSES: &str = "ws_echo_closes_total";
const WITHOUT_CLOSE: &str = "ws_echo_ended_without_close_total";
const HANDSHAKE: &str = "ws_echo_handshake_duration_seconds";
const DURATION: &str = "ws_echo_connection_duration_seconds";
const HEALTH: &str = "ws_echo_health_checks_total";
const PAGES: &str = "ws_echo_pages_total";
const BUILD: &str = "ws_echo_build_info";
/// The content type of the Prometheus text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Describes ws-echo's metrics (help text, units) to the installed recorder, sets
/// `ws_echo_build_info{version}` to 1, and starts recording: until it is first called, ws-echo
/// records nothing (and costs nothing). Call it after installing the recorder; calling it again
/// registers with the recorder installed then.
pub fn describe() {
    describe_gauge!(OPEN, Unit::Count, "WebSocket connections open now");
    describe_counter!(
        CONNECTIONS,
        Unit::Count,
        "WebSocket connections established"
    );
    describe_counter!(
        REFUSED,
        Unit::Count,
        "Upgrades answered with an HTTP error, by status"
    );
    describe_counter!(MESSAGES, Unit::Count, "Data messages, by direction");
    describe_counter!(
        BYTES,
        Unit::Bytes,
        "Payload bytes of data messages, by direction"
    );
    describe_counter!(
        CLOSES,
        Unit::Count,
        "Connections ended by a close handshake, by code"
    );
    describe_counter!(
        WITHOUT_CLOSE,
        Unit::Count,
        "Connections ended without a close handshake: EOF, reset, a timeout, an error"
    );
    describe_histogram!(HANDSHAKE, Unit::Seconds, "From the first byte to the 101");
    describe_histogram!(
        DURATION,
        Unit::Seconds,
        "WebSocket connections, first byte to end"
    );
    describe_counter!(HEALTH, Unit::Count, "Health checks answered, by status");
    describe_counter!(PAGES, Unit::Count, "Requests for the page answered");
    describe_gauge!(BUILD, "ws-echo's version");
    gauge!(BUILD, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    let handles = Handles {
        connections: counter!(CONNECTIONS),
        open: gauge!(OPEN),
        traffic: [
            counter!(MESSAGES, "direction" => "received"),
            counter!(MESSAGES, "direction" => "sent"),
            counter!(BYTES, "direction" => "received"),
            counter!(BYTES, "direction" => "sent"),
        ],
        without_close: counter!(WITHOUT_CLOSE),
        handshake: histogram!(HANDSHAKE),
        duration: histogram!(DURATION),
        pages: counter!(PAGES),
        health: [
            counter!(HEALTH, "status" => "200"),
            counter!(HEALTH, "status" => "503"),
        ],
    };
    if let Ok(mut current) = HANDLES.write() {
        *current = Some(Arc::new(handles));
    }
}

/// The metrics without a label that varies, registered once by [`describe`]: recording one is
/// then an atomic add, not a lookup.
struct Handles {
    connections: Counter,
    open: Gauge,
    /// Messages received, sent; bytes received, sent.
    traffic: [Counter; 4],
    without_close: Counter,
    handshake: Histogram,
    duration: Histogram,
    pages: Counter,
    /// 200, 503.
    health: [Counter; 2],
}

/// What [`describe`] registered; `None` until then.
static HANDLES: RwLock<Option<Arc<Handles>>> = RwLock::new(None);

fn handles() -> Option<Arc<Handles>> {
    HANDLES.read().ok()?.clone()
}

/// The bucket bounds, in seconds, that suit `ws_echo_handshake_duration_seconds` and
/// `ws_echo_connection_duration_seconds`: from a loopback handshake (100 µs) to a day-long
/// connection. For an exporter's histogram settings.
pub const DURATION_BUCKETS: &[f64] = &[
    0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0, 60.0, 300.0, 3600.0,
    86400.0,
];

/// A metrics endpoint: a plain `GET` of `path` is answered 200 with what `render` returns, as
/// [`CONTENT_TYPE`]. See [`Config::metrics`](crate::Config::metrics).
#[derive(Clone)]
pub struct MetricsEndpoint {
    /// The path answered.
    pub path: String,
    render: Arc<dyn Fn() -> String + Send + Sync>,
}

/// The same endpoint: the same path, rendered by the same function.
impl PartialEq for MetricsEndpoint {
    fn eq(&self, other: &Self) -> bool {
        self.path == other.path && Arc::ptr_eq(&self.render, &other.render)
    }
}

impl MetricsEndpoint {
    pub(crate) fn new(
        path: String,
        render: impl Fn() -> String + Send + Sync + 'static,
    ) -> MetricsEndpoint {
        MetricsEndpoint {
            path,
            render: Arc::new(render),
        }
    }

    /// The metrics, rendered now.
    pub fn render(&self) -> String {
        (self.render)()
    }
}

impl fmt::Debug for MetricsEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetricsEndpoint")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

pub(crate) fn refused(status: u16) {
    if handles().is_some() {
        counter!(REFUSED, "status" => status.to_string()).increment(1);
    }
}

/// Whether ws-echo records metrics: [`describe`] was called. A handler that records metrics of
/// its own can follow the same rule.
pub fn recording() -> bool {
    handles().is_some()
}

pub(crate) fn health_check(draining: bool) {
    if let Some(handles) = handles() {
        handles.health[usize::from(draining)].increment(1);
    }
}

pub(crate) fn page() {
    if let Some(handles) = handles() {
        handles.pages.increment(1);
    }
}

pub(crate) fn handshake(took: Duration) {
    if let Some(handles) = handles() {
        handles.handshake.record(took.as_secs_f64());
    }
}

/// One WebSocket connection's metrics: counted open while it lives, its traffic added as it
/// goes, and how it ended when it ends.
pub(crate) struct Live {
    handles: Arc<Handles>,
    /// What the counters have been given so far: messages in, out, bytes in, out.
    reported: [u64; 4],
    /// Whether [`Live::ended`] said how it ended.
    ended: bool,
}

impl Live {
    /// A connection has opened; `None` when nothing is recorded.
    pub(crate) fn open() -> Option<Live> {
        let handles = handles()?;
        handles.connections.increment(1);
        handles.open.increment(1.0);
        Some(Live {
            handles,
            reported: [0; 4],
            ended: false,
        })
    }

    /// Adds what the connection has done since the last report.
    pub(crate) fn report(&mut self, now: [u64; 4]) {
        let counters = self.handles.traffic.iter();
        for ((counter, reported), now) in counters.zip(&mut self.reported).zip(now) {
            if now > *reported {
                counter.increment(now - *reported);
                *reported = now;
            }
        }
    }

    /// The connection has ended as `summary` says.
    pub(crate) fn ended(mut self, summary: &Summary) {
        self.report([
            summary.messages_in,
            summary.messages_out,
            summary.bytes_in,
            summary.bytes_out,
        ]);
        self.handles.duration.record(summary.duration.as_secs_f64());
        match summary.ending.close_code() {
            Some(code) => counter!(CLOSES, "code" => code.to_string()).increment(1),
            None => self.handles.without_close.increment(1),
        }
        self.ended = true;
    }
}

/// The open gauge goes down however the connection ends; one dropped part-way (at a server's
/// drain deadline) ended without a close.
impl Drop for Live {
    fn drop(&mut self) {
        self.handles.open.decrement(1.0);
        if !self.ended {
            self.handles.without_close.increment(1);
        }
    }
}
