//! [`Routes`]: what is served where.

use std::sync::Arc;

use crate::metrics::MetricsEndpoint;

/// What is served where: the WebSocket path and who may use it, and the plain GETs answered
/// beside it (the page, the health check, the metrics).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Routes {
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
    /// Subprotocols the server speaks (`Sec-WebSocket-Protocol`): of a client's offer, the
    /// first that is listed here is selected and named in the 101
    /// ([`Upgrade::protocol`](crate::Upgrade::protocol)).
    /// An offer with none of them is still served, without the header (RFC 6455, 4.2.2); the
    /// echo is the same whichever is selected. Default: empty.
    pub protocols: Vec<String>,
    /// Whether upgrades are served. `false`: every request other than the page, health and
    /// metrics gets 404, for an address that answers only those. Default: `true`.
    pub websocket: bool,
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
    /// A liveness endpoint: a plain `GET` of this path is answered `200 ok` whatever the
    /// server is doing, through the drain too, for an orchestrator's liveness probe (which
    /// must not restart a process that is draining, as [`Routes::health`] then says 503).
    /// `None`: none. Default: `None`.
    pub live: Option<String>,
    /// A metrics endpoint: a plain `GET` of its path is answered 200 with what it renders, in
    /// the Prometheus text format ([`metrics::CONTENT_TYPE`](crate::metrics::CONTENT_TYPE)).
    /// Set it with [`Config::metrics`](super::Config::metrics). Default: `None`.
    pub metrics: Option<MetricsEndpoint>,
}

impl Routes {
    /// Whether a health or liveness path is served: a draining server goes on accepting, to
    /// answer them (and 503 to anything else).
    #[cfg(any(feature = "smol", feature = "async-std", feature = "tokio"))]
    pub(crate) fn has_probes(&self) -> bool {
        self.health.is_some() || self.live.is_some()
    }
}

impl Default for Routes {
    fn default() -> Self {
        Routes {
            path: "/ws".to_owned(),
            allowed_origins: Vec::new(),
            protocols: Vec::new(),
            websocket: true,
            page: None,
            health: None,
            live: None,
            metrics: None,
        }
    }
}

impl Routes {
    /// Whether `path` (without its query) is upgraded: [`Routes::path`] itself, or under it
    /// when it ends with `/`.
    pub(crate) fn serves_path(&self, path: &str) -> bool {
        path == self.path || (self.path.ends_with('/') && path.starts_with(&self.path))
    }

    /// Whether a request with this `Origin` header value may connect.
    pub(crate) fn origin_allowed(&self, origin: Option<&[u8]>) -> bool {
        self.allowed_origins.is_empty()
            || origin.is_some_and(|o| self.allowed_origins.iter().any(|a| a.as_bytes() == o))
    }
}
