//! [`Config`]: what a server accepts and how much each connection may cost.

use std::sync::Arc;
use std::time::Duration;

use crate::{Error, Shutdown, Timer};

/// How the handler answers upgrades and runs connections.
///
/// Build it from [`Config::default`] and the chainable setters; every default is documented on
/// its field.
///
/// # Dead peers
///
/// A pulled cable does not close a TCP connection: writes keep "succeeding" into the kernel's
/// buffer and, on a quiet connection, nothing is ever noticed (Linux's own keepalive starts
/// after two hours). So every wait has a bound: the heartbeat ([`Config::ping_interval`], then
/// [`Config::pong_timeout`]; any byte from the peer counts as life), the write timeout (no
/// progress at all, a slow reader is not cut), the handshake and close timeouts, and TCP
/// keepalive on a [`Server`](crate::Server)'s sockets. With a 1 s interval and timeout on both
/// sides, a pulled cable is noticed in about 2 s (`scripts/pulled-cable.sh` measures it between
/// network namespaces).
///
/// ```
/// let config = ws_echo::Config::default()
///     .path("/echo")
///     .allow_origin("https://example.com")
///     .max_message_size(64 * 1024);
/// assert_eq!(config.path, "/echo");
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Config {
    /// The request path that is upgraded; any other path gets HTTP 404. Default: `/ws`.
    /// The query string is not part of the comparison. A path that ends with `/` upgrades
    /// every path under it (`/rooms/` takes `/rooms/tea`), for a handler that routes by path
    /// in [`Handler::on_open`](crate::Handler::on_open).
    pub path: String,
    /// Origins allowed to connect, compared exactly (scheme, host and port, as the browser sends
    /// them). Empty means any origin, and requests without an `Origin` header, are accepted.
    /// When not empty, a request whose origin is missing or not listed gets HTTP 403.
    /// Default: empty.
    pub allowed_origins: Vec<String>,
    /// The largest message (after reassembly of fragments) we accept, in bytes. A larger one
    /// ends the connection with Close 1009. Default: 1 MiB.
    pub max_message_size: usize,
    /// The largest single frame payload we accept, in bytes, when it is to be below
    /// [`Config::max_message_size`]. A larger one ends the connection with Close 1009. `None`:
    /// a frame may be as large as a message. Default: `None`.
    pub max_frame_size: Option<usize>,
    /// The largest HTTP request head (request line and headers) we read before answering
    /// HTTP 431. Default: 8 KiB.
    pub max_request_head: usize,
    /// Size of tungstenite's per-connection read buffer, held for the connection's life (it
    /// grows to fit a large frame). tungstenite's own default is 128 KiB, which 10,000 idle
    /// connections turn into more than a gigabyte. Small costs no speed: the socket is read
    /// 64 KiB at a time into a read-ahead buffer that tungstenite's reads are served from, and
    /// that a connection holds only while it holds bytes. Default: 1 KiB.
    pub read_buffer_size: usize,
    /// Outgoing bytes gathered before they are written to the socket; a flush writes them
    /// whenever no more input is waiting. The buffer exists only while it holds bytes: an
    /// idle connection has none. Default: 64 KiB.
    pub write_buffer_size: usize,
    /// How long we keep reading after we sent a Close, waiting for the peer's Close or its EOF,
    /// before we drop the connection. Default: 2 s.
    pub close_timeout: Duration,
    /// Heartbeat: when nothing has arrived from the peer for this long, we send a Ping.
    /// `None` turns the heartbeat off. Default: 20 s, under the 30-120 s idle limits of common
    /// proxies, so that a heartbeat also keeps idle connections through them alive.
    pub ping_interval: Option<Duration>,
    /// Heartbeat: when still nothing has arrived this long after our Ping, the peer is dead:
    /// the connection is dropped and its summary says it timed out. Any byte from the peer
    /// counts as life, not only a Pong. Default: 20 s.
    ///
    /// The heartbeat's and the idle timeout's deadlines are rounded up onto a grid shared by
    /// every connection of the process (a grain of at most 1/16 of the shortest of these waits,
    /// and at most about 1 s), so that the timers of thousands of connections fire together in
    /// one wake-up rather than one each: a peer is declared dead at most that much later.
    pub pong_timeout: Duration,
    /// A connection that has not completed the HTTP upgrade within this time is dropped.
    /// Default: 10 s.
    pub handshake_timeout: Duration,
    /// When a write makes no progress for this long (a peer that stopped reading, a dead path
    /// with full buffers), the connection is dropped. A slow reader that keeps taking bytes is
    /// not cut. Default: 10 s.
    pub write_timeout: Duration,
    /// When no data message has arrived for this long, we close with 1001 "idle timeout".
    /// Pings and pongs do not count. `None` turns it off. Default: `None`.
    pub idle_timeout: Option<Duration>,
    /// When triggered, connections end gracefully: what has already arrived is echoed, then
    /// Close 1001 "going away" is sent, and the peer has [`Config::drain_timeout`] to answer.
    /// A [`Server`](crate::Server) also stops accepting. Default: `None` (a server creates one;
    /// see [`Server::shutdown_handle`](crate::Server::shutdown_handle)).
    pub shutdown: Option<Shutdown>,
    /// How long connections get to complete the close handshake after a shutdown; a
    /// [`Server`](crate::Server) drops what is left then. Default: 10 s.
    pub drain_timeout: Duration,
    /// A web page answered (200, `text/html`) to a plain `GET /` that is not an upgrade, so
    /// that a browser pointed at the server finds something to talk to it with. `None`: such
    /// a request gets 404 like any other path. Default: `None`.
    pub page: Option<Arc<str>>,
    /// A health endpoint for load balancers and probes: a plain `GET` of this path (not an
    /// upgrade) is answered `200 ok` while the server serves and `503 draining` from the moment
    /// the shutdown signal fires, so that a balancer stops sending new connections to an
    /// instance that is going away (a [`Server`](crate::Server) keeps answering it through
    /// the drain; see [`Server::drain_delay`](crate::Server::drain_delay)). `None`: no health
    /// endpoint. Default: `None`.
    pub health: Option<String>,
    /// A metrics endpoint: a plain `GET` of its path is answered 200 with what it renders, in
    /// the Prometheus text format ([`metrics::CONTENT_TYPE`](crate::metrics::CONTENT_TYPE)).
    /// Set it with [`Config::metrics`]. Default: `None`.
    pub metrics: Option<crate::metrics::MetricsEndpoint>,
    /// Subprotocols the server speaks (`Sec-WebSocket-Protocol`): of a client's offer, the
    /// first that is listed here is selected and named in the 101 ([`Upgrade::protocol`](crate::Upgrade::protocol)).
    /// An offer with none of them is still served, without the header (RFC 6455, 4.2.2); the
    /// echo is the same whichever is selected. Default: empty.
    pub protocols: Vec<String>,
    /// Whether upgrades are served. `false`: every request other than the page, health and
    /// metrics gets 404, for an address that answers only those. Default: `true`.
    pub websocket: bool,
    /// TLS: when set, every connection does the TLS handshake first (counted in
    /// [`Config::handshake_timeout`]), then the upgrade over TLS: wss://. Build it with
    /// [`tls::server_config`](crate::tls::server_config). Default: `None`.
    #[cfg(feature = "tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
    pub tls: Option<Arc<crate::tls::ServerConfig>>,
    /// Whose timers connections use, and how they yield to the executor: [`Timer::AsyncIo`]
    /// works under any executor; an application on tokio sets [`Timer::Tokio`](Timer). The
    /// server sets its runtime's. Default: [`Timer::AsyncIo`].
    pub timer: Timer,
    /// The most that answers waiting for their time ([`Handler::delivery`](crate::Handler))
    /// may hold on one connection, in payload bytes (each answer also counts 64): past it,
    /// nothing more is read until some have gone. Default: 1 MiB.
    pub max_waiting_answers: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            path: "/ws".to_owned(),
            allowed_origins: Vec::new(),
            max_message_size: 1 << 20,
            max_frame_size: None,
            max_request_head: 8 * 1024,
            read_buffer_size: 1024,
            write_buffer_size: 64 * 1024,
            close_timeout: Duration::from_secs(2),
            ping_interval: Some(Duration::from_secs(20)),
            pong_timeout: Duration::from_secs(20),
            handshake_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(10),
            idle_timeout: None,
            shutdown: None,
            page: None,
            health: None,
            metrics: None,
            protocols: Vec::new(),
            websocket: true,
            #[cfg(feature = "tls")]
            tls: None,
            drain_timeout: Duration::from_secs(10),
            timer: Timer::AsyncIo,
            max_waiting_answers: 1 << 20,
        }
    }
}

impl Config {
    /// Sets [`Config::path`].
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// Adds one origin to [`Config::allowed_origins`].
    pub fn allow_origin(mut self, origin: impl Into<String>) -> Self {
        self.allowed_origins.push(origin.into());
        self
    }

    /// Sets [`Config::max_message_size`]; the frame limit follows it unless set on its own.
    ///
    /// ```
    /// let config = ws_echo::Config::default().max_message_size(16 << 20);
    /// assert_eq!(config.frame_limit(), 16 << 20);
    /// assert_eq!(config.max_frame_size(64 * 1024).frame_limit(), 64 * 1024);
    /// ```
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes;
        self
    }

    /// Sets [`Config::max_frame_size`]: frames above `bytes` get Close 1009 even when the
    /// message would fit.
    pub fn max_frame_size(mut self, bytes: usize) -> Self {
        self.max_frame_size = Some(bytes);
        self
    }

    /// The largest frame payload accepted: [`Config::max_frame_size`] if set, never above
    /// [`Config::max_message_size`].
    pub fn frame_limit(&self) -> usize {
        (self.max_frame_size.unwrap_or(usize::MAX)).min(self.max_message_size)
    }

    /// Sets [`Config::max_request_head`].
    pub fn max_request_head(mut self, bytes: usize) -> Self {
        self.max_request_head = bytes;
        self
    }

    /// Sets [`Config::read_buffer_size`].
    pub fn read_buffer_size(mut self, bytes: usize) -> Self {
        self.read_buffer_size = bytes;
        self
    }

    /// Sets [`Config::write_buffer_size`].
    pub fn write_buffer_size(mut self, bytes: usize) -> Self {
        self.write_buffer_size = bytes;
        self
    }

    /// Sets [`Config::close_timeout`].
    pub fn close_timeout(mut self, timeout: Duration) -> Self {
        self.close_timeout = timeout;
        self
    }

    /// Sets [`Config::ping_interval`]; `None` turns the heartbeat off.
    pub fn ping_interval(mut self, interval: Option<Duration>) -> Self {
        self.ping_interval = interval;
        self
    }

    /// Sets [`Config::pong_timeout`].
    pub fn pong_timeout(mut self, timeout: Duration) -> Self {
        self.pong_timeout = timeout;
        self
    }

    /// Sets [`Config::handshake_timeout`].
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// Sets [`Config::write_timeout`].
    pub fn write_timeout(mut self, timeout: Duration) -> Self {
        self.write_timeout = timeout;
        self
    }

    /// Sets [`Config::idle_timeout`]; `None` turns it off.
    pub fn idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Sets [`Config::shutdown`]: connections served with this config watch `signal`.
    pub fn shutdown(mut self, signal: Shutdown) -> Self {
        self.shutdown = Some(signal);
        self
    }

    /// Sets [`Config::drain_timeout`].
    pub fn drain_timeout(mut self, timeout: Duration) -> Self {
        self.drain_timeout = timeout;
        self
    }

    /// Sets [`Config::page`] to ws-echo's own page: type messages, see their echoes and round
    /// trip times, the connection's state; it reconnects when the server comes back. No build
    /// step, no external assets. It talks to [`Config::path`] as set when this is called: set
    /// that first.
    ///
    /// ```
    /// let config = ws_echo::Config::default().path("/echo").bundled_page();
    /// let page = config.page.as_deref().unwrap_or_default();
    /// assert!(page.contains("\"/echo\""));
    /// ```
    pub fn bundled_page(self) -> Self {
        let page = crate::page::render(&self.path, false);
        self.page(page)
    }

    /// Sets [`Config::page`], served for `GET /`.
    pub fn page(mut self, html: impl Into<Arc<str>>) -> Self {
        self.page = Some(html.into());
        self
    }

    /// Sets [`Config::health`]: `GET path` answers `200 ok`, or `503 draining` once the
    /// shutdown signal has fired.
    ///
    /// ```
    /// let config = ws_echo::Config::default().health("/health");
    /// assert_eq!(config.health.as_deref(), Some("/health"));
    /// ```
    pub fn health(mut self, path: impl Into<String>) -> Self {
        self.health = Some(path.into());
        self
    }

    /// Sets [`Config::metrics`]: `GET path` is answered with `render()`, the application's
    /// recorder rendered (with `metrics-exporter-prometheus`, its handle's `render`). What
    /// ws-echo records is listed in [`metrics`](crate::metrics).
    ///
    /// ```
    /// let config = ws_echo::Config::default().metrics("/metrics", || "up 1\n".to_owned());
    /// assert_eq!(config.metrics.map(|m| m.render()), Some("up 1\n".to_owned()));
    /// ```
    pub fn metrics(
        mut self,
        path: impl Into<String>,
        render: impl Fn() -> String + Send + Sync + 'static,
    ) -> Self {
        self.metrics = Some(crate::metrics::MetricsEndpoint::new(path.into(), render));
        self
    }

    /// Adds one subprotocol to [`Config::protocols`].
    pub fn protocol(mut self, name: impl Into<String>) -> Self {
        self.protocols.push(name.into());
        self
    }

    /// Sets [`Config::websocket`] to `false`: no upgrades, for an address that answers only
    /// health checks and metrics.
    pub fn without_websocket(mut self) -> Self {
        self.websocket = false;
        self
    }

    /// Sets [`Config::tls`].
    #[cfg(feature = "tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
    pub fn tls(mut self, tls: Arc<crate::tls::ServerConfig>) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Sets [`Config::max_waiting_answers`].
    pub fn max_waiting_answers(mut self, bytes: usize) -> Self {
        self.max_waiting_answers = bytes;
        self
    }

    /// Whether `path` (without its query) is upgraded: [`Config::path`] itself, or under it
    /// when it ends with `/`.
    pub(crate) fn serves_path(&self, path: &str) -> bool {
        path == self.path || (self.path.ends_with('/') && path.starts_with(&self.path))
    }

    /// Sets [`Config::timer`].
    pub fn timer(mut self, timer: Timer) -> Self {
        self.timer = timer;
        self
    }

    /// Whether the settings can work: the path starts with `/` (and holds no query or space),
    /// and the size limits are above 0. [`Server::bind`](crate::Server::bind) and
    /// [`serve`](crate::serve) check it; an application may check its config once, up front.
    ///
    /// ```
    /// assert!(ws_echo::Config::default().check().is_ok());
    /// let wrong = ws_echo::Config::default().path("ws");
    /// assert_eq!(
    ///     wrong.check().unwrap_err().to_string(),
    ///     "invalid setting: the path \"ws\" must start with /"
    /// );
    /// ```
    pub fn check(&self) -> Result<(), Error> {
        let invalid = |what: String| Err(Error::InvalidConfig(what));
        let metrics = self.metrics.as_ref().map(|m| &m.path);
        for path in std::iter::once(&self.path)
            .chain(&self.health)
            .chain(metrics)
        {
            if !path.starts_with('/') {
                return invalid(format!("the path {path:?} must start with /"));
            }
            if path.contains(['?', '#', ' ']) {
                return invalid(format!("the path {path:?} must be a path alone"));
            }
        }
        if self.health.as_ref() == Some(&self.path) {
            return invalid(format!(
                "the health path {:?} is the WebSocket path",
                self.path
            ));
        }
        if metrics == Some(&self.path) || (metrics.is_some() && metrics == self.health.as_ref()) {
            return invalid(format!(
                "the metrics path {:?} is taken",
                metrics.map_or("", |p| p.as_str())
            ));
        }
        let token = |p: &String| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b))
        };
        if let Some(bad) = self.protocols.iter().find(|p| !token(p)) {
            return invalid(format!("the protocol {bad:?} is not an HTTP token"));
        }
        let sizes = [
            ("max_message_size", self.max_message_size),
            ("max_frame_size", self.max_frame_size.unwrap_or(1)),
            ("max_request_head", self.max_request_head),
            ("read_buffer_size", self.read_buffer_size),
            ("write_buffer_size", self.write_buffer_size),
            ("max_waiting_answers", self.max_waiting_answers),
        ];
        if let Some((name, _)) = sizes.iter().find(|(_, size)| *size == 0) {
            return invalid(format!("{name} must be above 0"));
        }
        Ok(())
    }

    /// Whether a request with this `Origin` header value may connect.
    pub(crate) fn origin_allowed(&self, origin: Option<&[u8]>) -> bool {
        self.allowed_origins.is_empty()
            || origin.is_some_and(|o| self.allowed_origins.iter().any(|a| a.as_bytes() == o))
    }
}
