//! [`Config`]: what a server accepts and how much each connection may cost, grouped by meaning:
//! [`Routes`] (what is served where), [`Limits`] (what a connection may cost), [`Timeouts`]
//! (how long each step may take) and [`Heartbeat`] (how a dead peer is found, shared with the
//! client). Each is read, never written, once handed over; [`Config::check`] says whether they
//! can work.

mod check;
mod heartbeat;
mod limits;
mod routes;
mod timeouts;

use std::sync::Arc;
use std::time::Duration;

pub use self::heartbeat::Heartbeat;
pub use self::limits::Limits;
pub use self::routes::Routes;
pub use self::timeouts::Timeouts;
use crate::shutdown::Shutdown;
use crate::timer::Timer;

/// How the handler answers upgrades and runs connections.
///
/// Build it from [`Config::default`] and the chainable setters, or set a group's fields; every
/// default is documented on its field.
///
/// # Dead peers
///
/// A pulled cable does not close a TCP connection: writes keep "succeeding" into the kernel's
/// buffer and, on a quiet connection, nothing is ever noticed (Linux's own keepalive starts
/// after two hours). So every wait has a bound: the [`Heartbeat`] (a ping after
/// [`Heartbeat::ping_interval`], then [`Heartbeat::pong_timeout`]; any byte from the peer
/// counts as life; and the write timeout: no progress at all, a slow reader is not cut), the
/// handshake and close timeouts, and TCP keepalive on a [`Server`](crate::Server)'s sockets.
/// With a 1 s interval and timeout on both sides, a pulled cable is noticed in about 2 s
/// (`scripts/pulled-cable.sh` measures it between network namespaces).
///
/// ```
/// let config = ws_echo::Config::default()
///     .path("/echo")
///     .allow_origin("https://example.com")
///     .max_message_size(64 * 1024);
/// assert_eq!(config.routes.path, "/echo");
/// assert_eq!(config.limits.max_message_size, 64 * 1024);
/// ```
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Config {
    /// What is served where: the WebSocket path, origins, subprotocols, the page, health and
    /// metrics.
    pub routes: Routes,
    /// What one connection may cost.
    pub limits: Limits,
    /// How long each step of a connection may take.
    pub timeouts: Timeouts,
    /// How a dead peer is found (the same settings as the client's).
    pub heartbeat: Heartbeat,
    /// permessage-deflate (RFC 7692): when on, a client's offer is accepted and messages are
    /// compressed both ways, each on its own (no context takeover either way, so that no
    /// compression state is held between messages). Off, offers are declined. Default: off.
    pub deflate: bool,
    /// When triggered, connections end gracefully: what has already arrived is echoed, then
    /// Close 1001 "going away" is sent, and the peer has [`Timeouts::drain`] to answer.
    /// A [`Server`](crate::Server) also stops accepting. Default: `None` (a server creates one;
    /// see [`Server::shutdown_handle`](crate::Server::shutdown_handle)).
    pub shutdown: Option<Shutdown>,
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
}

impl Config {
    /// Sets [`Routes::path`].
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.routes.path = path.into();
        self
    }

    /// Adds one origin to [`Routes::allowed_origins`].
    pub fn allow_origin(mut self, origin: impl Into<String>) -> Self {
        self.routes.allowed_origins.push(origin.into());
        self
    }

    /// Sets [`Limits::max_message_size`]; the frame limit follows it unless set on its own.
    ///
    /// ```
    /// let config = ws_echo::Config::default().max_message_size(16 << 20);
    /// assert_eq!(config.limits.frame_limit(), 16 << 20);
    /// assert_eq!(config.max_frame_size(64 * 1024).limits.frame_limit(), 64 * 1024);
    /// ```
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.limits.max_message_size = bytes;
        self
    }

    /// Sets [`Limits::max_frame_size`]: frames above `bytes` get Close 1009 even when the
    /// message would fit.
    pub fn max_frame_size(mut self, bytes: usize) -> Self {
        self.limits.max_frame_size = Some(bytes);
        self
    }

    /// Sets [`Limits::max_request_head`].
    pub fn max_request_head(mut self, bytes: usize) -> Self {
        self.limits.max_request_head = bytes;
        self
    }

    /// Sets [`Limits::read_buffer_size`].
    pub fn read_buffer_size(mut self, bytes: usize) -> Self {
        self.limits.read_buffer_size = bytes;
        self
    }

    /// Sets [`Limits::write_buffer_size`].
    pub fn write_buffer_size(mut self, bytes: usize) -> Self {
        self.limits.write_buffer_size = bytes;
        self
    }

    /// Sets [`Timeouts::close`].
    pub fn close_timeout(mut self, timeout: Duration) -> Self {
        self.timeouts.close = timeout;
        self
    }

    /// Sets [`Heartbeat::ping_interval`]; `None` turns the heartbeat off.
    pub fn ping_interval(mut self, interval: Option<Duration>) -> Self {
        self.heartbeat.ping_interval = interval;
        self
    }

    /// Sets [`Heartbeat::pong_timeout`].
    pub fn pong_timeout(mut self, timeout: Duration) -> Self {
        self.heartbeat.pong_timeout = timeout;
        self
    }

    /// Sets [`Timeouts::handshake`].
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.timeouts.handshake = timeout;
        self
    }

    /// Sets [`Heartbeat::write_timeout`].
    pub fn write_timeout(mut self, timeout: Duration) -> Self {
        self.heartbeat.write_timeout = timeout;
        self
    }

    /// Sets [`Timeouts::idle`]; `None` turns it off.
    pub fn idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeouts.idle = timeout;
        self
    }

    /// Sets [`Config::deflate`].
    pub fn deflate(mut self, on: bool) -> Self {
        self.deflate = on;
        self
    }

    /// Sets [`Config::heartbeat`] whole.
    pub fn heartbeat(mut self, heartbeat: Heartbeat) -> Self {
        self.heartbeat = heartbeat;
        self
    }

    /// Sets [`Config::shutdown`]: connections served with this config watch `signal`.
    pub fn shutdown(mut self, signal: Shutdown) -> Self {
        self.shutdown = Some(signal);
        self
    }

    /// Sets [`Timeouts::drain`].
    pub fn drain_timeout(mut self, timeout: Duration) -> Self {
        self.timeouts.drain = timeout;
        self
    }

    /// Sets [`Routes::page`] to ws-echo's own page: type messages, see their echoes and round
    /// trip times, the connection's state; it reconnects when the server comes back. No build
    /// step, no external assets. It talks to [`Routes::path`] as set when this is called: set
    /// that first.
    ///
    /// ```
    /// let config = ws_echo::Config::default().path("/echo").bundled_page();
    /// let page = config.routes.page.as_deref().unwrap_or_default();
    /// assert!(page.contains("\"/echo\""));
    /// ```
    pub fn bundled_page(self) -> Self {
        let page = crate::page::render(&self.routes.path, false);
        self.page(page)
    }

    /// Sets [`Routes::page`], served for `GET /`.
    pub fn page(mut self, html: impl Into<Arc<str>>) -> Self {
        self.routes.page = Some(html.into());
        self
    }

    /// Sets [`Routes::health`]: `GET path` answers `200 ok`, or `503 draining` once the
    /// shutdown signal has fired.
    ///
    /// ```
    /// let config = ws_echo::Config::default().health("/health");
    /// assert_eq!(config.routes.health.as_deref(), Some("/health"));
    /// ```
    pub fn health(mut self, path: impl Into<String>) -> Self {
        self.routes.health = Some(path.into());
        self
    }

    /// Sets [`Routes::live`]: `GET path` answers `200 ok`, through the drain too.
    ///
    /// ```
    /// let config = ws_echo::Config::default().health("/health").live("/live");
    /// assert_eq!(config.routes.live.as_deref(), Some("/live"));
    /// ```
    pub fn live(mut self, path: impl Into<String>) -> Self {
        self.routes.live = Some(path.into());
        self
    }

    /// Sets [`Routes::metrics`]: `GET path` is answered with `render()`, the application's
    /// recorder rendered (with `metrics-exporter-prometheus`, its handle's `render`). What
    /// ws-echo records is listed in [`metrics`](crate::metrics).
    ///
    /// ```
    /// let config = ws_echo::Config::default().metrics("/metrics", || "up 1\n".to_owned());
    /// assert_eq!(config.routes.metrics.map(|m| m.render()), Some("up 1\n".to_owned()));
    /// ```
    pub fn metrics(
        mut self,
        path: impl Into<String>,
        render: impl Fn() -> String + Send + Sync + 'static,
    ) -> Self {
        self.routes.metrics = Some(crate::metrics::MetricsEndpoint::new(path.into(), render));
        self
    }

    /// Adds one subprotocol to [`Routes::protocols`].
    pub fn protocol(mut self, name: impl Into<String>) -> Self {
        self.routes.protocols.push(name.into());
        self
    }

    /// Sets [`Routes::websocket`] to `false`: no upgrades, for an address that answers only
    /// health checks and metrics.
    pub fn without_websocket(mut self) -> Self {
        self.routes.websocket = false;
        self
    }

    /// Sets [`Config::tls`].
    #[cfg(feature = "tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
    pub fn tls(mut self, tls: Arc<crate::tls::ServerConfig>) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Sets [`Limits::max_waiting_answers`].
    pub fn max_waiting_answers(mut self, bytes: usize) -> Self {
        self.limits.max_waiting_answers = bytes;
        self
    }

    /// Sets [`Config::timer`].
    pub fn timer(mut self, timer: Timer) -> Self {
        self.timer = timer;
        self
    }
}
