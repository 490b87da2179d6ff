//! [`ClientConfig`]: what the client sends, where, how often, and how it watches the link.

use std::time::Duration;

use async_tungstenite::tungstenite::client::IntoClientRequest;
use async_tungstenite::tungstenite::handshake::client::Request;
use async_tungstenite::tungstenite::http::HeaderValue;
use async_tungstenite::tungstenite::Message;

use super::wire;
use crate::config::Heartbeat;
use crate::error::Error;
use crate::timer::Timer;

/// The client's permessage-deflate offer.
const DEFLATE_OFFER: &str =
    "permessage-deflate; server_no_context_takeover; client_no_context_takeover";

/// What the client sends, where, and how often.
///
/// ```
/// use std::time::Duration;
///
/// let config = ws_echo::client::ClientConfig::new("ws://127.0.0.1:8080/ws")
///     .message("ping")
///     .interval(Duration::from_millis(500))
///     .count(10);
/// assert_eq!((config.count, config.interval), (Some(10), Duration::from_millis(500)));
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ClientConfig {
    /// The `ws://` URL to dial. Default: `ws://127.0.0.1:8080/ws`.
    pub url: String,
    /// The `Origin` header sent with the upgrade request (servers built on Go's
    /// x/net/websocket refuse requests without one). Default: `http://localhost/`.
    pub origin: String,
    /// Subprotocols offered in `Sec-WebSocket-Protocol`, in order of preference; the one the
    /// server selects is in [`Event::Connected`](crate::client::Event). When some are offered
    /// and the server selects none, the upgrade fails (tungstenite's rule). Default: none.
    pub protocols: Vec<String>,
    /// The message sent every interval: a text, or binary data. Default: the text
    /// `Hello World`.
    pub message: Message,
    /// Time between two sends; the first goes out as soon as the connection is up.
    /// Default: 2 s.
    pub interval: Duration,
    /// Stop after this many echoes, closing with 1000. Default: `None` (run until stopped).
    pub count: Option<u64>,
    /// How long to wait for the server's answer to our Close. Default: 1 s.
    pub close_timeout: Duration,
    /// With [`ClientConfig::count`]: once every message is sent, how long the oldest echo still
    /// awaited may take before the run ends anyway (closing with 1000), the echoes not back
    /// counted as missing. Checked at each interval. Default: 10 s.
    pub echo_timeout: Duration,
    /// How a dead link is found: a ping after silence, any sign of life within the pong
    /// timeout, writes that make progress within the write timeout; the same settings as the
    /// server's ([`Config::heartbeat`](crate::Config)). Default: [`Heartbeat::default`]
    /// (20 s, 20 s, 10 s).
    pub heartbeat: Heartbeat,
    /// Dialing plus the upgrade must complete within this time. Default: 10 s.
    pub handshake_timeout: Duration,
    /// Reconnect when the link dies or the server closes, after a delay drawn at random
    /// between half a bound and the bound. The bound starts at `backoff_initial` and doubles at
    /// every failed attempt and every session that ended within 5 s of its start (a server
    /// that accepts and closes at once, crash-looping), up to `backoff_max`; a session that
    /// lasted starts it again. A `Retry-After` (in seconds) on a refusal makes the wait at
    /// least that long, up to `backoff_max`. A Close 1009 (message too big) ends the run
    /// instead: the message is counted as refused ([`ClientReport::refused`](crate::client::ClientReport)).
    /// Default: `true`.
    pub reconnect: bool,
    /// Make the first connection once: any failure is the error of [`run`](crate::client::run).
    /// Otherwise (the default) a first connection that fails in a way that may pass (refused,
    /// reset, timed out, HTTP 408, 429 or 5xx) is retried with the same backoff, each failure
    /// an [`Event::ConnectFailed`](crate::client::Event), until it succeeds or the run is
    /// stopped; one that will not pass by itself (HTTP 403, a bad URL, TLS) is an error at
    /// once. Default: `false`.
    pub fail_fast: bool,
    /// The first delay bound. Default: 0.5 s.
    pub backoff_initial: Duration,
    /// The largest delay bound. Default: 30 s.
    pub backoff_max: Duration,
    /// Offer permessage-deflate (RFC 7692), asking the server to compress each message on its
    /// own (`server_no_context_takeover`, so that no inflater is held between messages) and
    /// promising the same; what the server agreed is in [`Event::Connected`](crate::client::Event).
    /// Default: `false`.
    pub deflate: bool,
    /// Whose timers the client uses (interval, heartbeat, timeouts, backoff): async-io's by
    /// default, which work under any executor; [`Timer::Tokio`](Timer) on tokio. Default:
    /// [`Timer::AsyncIo`].
    pub timer: Timer,
    /// For wss:// URLs: whom to trust. `None` means the system's roots
    /// ([`tls::client_config(None)`](crate::tls::client_config)). Default: `None`.
    #[cfg(feature = "tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
    pub tls: Option<std::sync::Arc<crate::tls::ClientConfig>>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            url: "ws://127.0.0.1:8080/ws".to_owned(),
            origin: "http://localhost/".to_owned(),
            protocols: Vec::new(),
            message: Message::text("Hello World"),
            interval: Duration::from_secs(2),
            count: None,
            close_timeout: Duration::from_secs(1),
            echo_timeout: Duration::from_secs(10),
            heartbeat: Heartbeat::default(),
            handshake_timeout: Duration::from_secs(10),
            reconnect: true,
            fail_fast: false,
            backoff_initial: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            timer: Timer::AsyncIo,
            deflate: false,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}

impl ClientConfig {
    /// Whether the URL asks a test target for its view of the request (`?info` in the query),
    /// which comes as the first message of each connection.
    #[cfg(feature = "test-target")]
    pub(crate) fn asks_info(&self) -> bool {
        let query = self.url.split_once('?').map_or("", |(_, q)| q);
        let query = query.split_once('#').map_or(query, |(q, _)| q);
        crate::test_target::asks_info(query)
    }

    /// Without the `test-target` feature, never: the first message is an echo like any other.
    #[cfg(not(feature = "test-target"))]
    pub(crate) fn asks_info(&self) -> bool {
        false
    }

    /// A config for `url` with every other setting at its default.
    pub fn new(url: impl Into<String>) -> Self {
        ClientConfig {
            url: url.into(),
            ..ClientConfig::default()
        }
    }

    /// Sets [`ClientConfig::origin`].
    pub fn origin(mut self, origin: impl Into<String>) -> Self {
        self.origin = origin.into();
        self
    }

    /// Adds one subprotocol to [`ClientConfig::protocols`].
    pub fn protocol(mut self, name: impl Into<String>) -> Self {
        self.protocols.push(name.into());
        self
    }

    /// Sets [`ClientConfig::message`] to a text.
    pub fn message(mut self, text: impl Into<String>) -> Self {
        self.message = Message::text(text.into());
        self
    }

    /// Sets [`ClientConfig::message`] to binary data.
    pub fn binary_message(mut self, data: impl Into<Vec<u8>>) -> Self {
        self.message = Message::binary(data.into());
        self
    }

    /// Sets [`ClientConfig::interval`].
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// Sets [`ClientConfig::count`].
    pub fn count(mut self, count: u64) -> Self {
        self.count = Some(count);
        self
    }

    /// Sets [`ClientConfig::close_timeout`].
    pub fn close_timeout(mut self, timeout: Duration) -> Self {
        self.close_timeout = timeout;
        self
    }

    /// Sets [`ClientConfig::tls`].
    #[cfg(feature = "tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
    pub fn tls(mut self, tls: std::sync::Arc<crate::tls::ClientConfig>) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Sets [`ClientConfig::echo_timeout`].
    pub fn echo_timeout(mut self, timeout: Duration) -> Self {
        self.echo_timeout = timeout;
        self
    }

    /// Sets [`ClientConfig::deflate`].
    pub fn deflate(mut self, offer: bool) -> Self {
        self.deflate = offer;
        self
    }

    /// Sets [`ClientConfig::heartbeat`] whole.
    pub fn heartbeat(mut self, heartbeat: Heartbeat) -> Self {
        self.heartbeat = heartbeat;
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

    /// Sets [`ClientConfig::handshake_timeout`].
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// Sets [`Heartbeat::write_timeout`].
    pub fn write_timeout(mut self, timeout: Duration) -> Self {
        self.heartbeat.write_timeout = timeout;
        self
    }

    /// Sets [`ClientConfig::reconnect`].
    pub fn reconnect(mut self, reconnect: bool) -> Self {
        self.reconnect = reconnect;
        self
    }

    /// Sets [`ClientConfig::fail_fast`].
    pub fn fail_fast(mut self, fail_fast: bool) -> Self {
        self.fail_fast = fail_fast;
        self
    }

    /// Sets [`ClientConfig::timer`].
    pub fn timer(mut self, timer: Timer) -> Self {
        self.timer = timer;
        self
    }

    /// Sets [`ClientConfig::backoff_initial`] and [`ClientConfig::backoff_max`].
    pub fn backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.backoff_initial = initial;
        self.backoff_max = max;
        self
    }

    /// The upgrade request and the `host:port` to dial, or why the URL is unusable.
    ///
    /// ```
    /// let config = ws_echo::client::ClientConfig::new("ws://example.com/ws");
    /// let (request, address) = config.request().unwrap();
    /// assert_eq!(address, "example.com:80");
    /// assert_eq!(request.headers()["Origin"], "http://localhost/");
    /// ```
    pub fn request(&self) -> Result<(Request, String), Error> {
        let invalid = |reason: &str| Error::InvalidUrl {
            url: self.url.clone(),
            reason: reason.to_owned(),
        };
        let mut request = self
            .url
            .as_str()
            .into_client_request()
            .map_err(|e| invalid(&e.to_string()))?;
        let uri = request.uri();
        let default_port = match uri.scheme_str() {
            Some("ws") => 80,
            Some("wss") => wire::WSS_PORT.map_err(invalid)?,
            _ => return Err(invalid("the scheme must be ws:// or wss://")),
        };
        let host = uri.host().ok_or_else(|| invalid("no host"))?;
        // The authority's port as written ("[::1]:8080" or "host:8080"), which `port_u16`
        // leaves out when it does not fit.
        let written = uri.authority().map(|a| a.as_str()).and_then(|authority| {
            let after_host = authority
                .rsplit_once(']')
                .map_or(authority, |(_, rest)| rest);
            after_host.rsplit_once(':').map(|(_, port)| port)
        });
        let port = match (uri.port_u16(), written) {
            (Some(0), _) => return Err(invalid("port 0 cannot be dialed")),
            (Some(port), _) => port,
            (None, None | Some("")) => default_port,
            (None, Some(port)) => {
                let reason = format!("port {port} is out of range (1 to 65535)");
                return Err(invalid(&reason));
            }
        };
        let address = format!("{host}:{port}");
        let origin = HeaderValue::from_str(&self.origin).map_err(|_| Error::InvalidUrl {
            url: self.origin.clone(),
            reason: "not a valid Origin header value".to_owned(),
        })?;
        request.headers_mut().insert("Origin", origin);
        if !self.protocols.is_empty() {
            let offer = self.protocols.join(", ");
            let offer = HeaderValue::from_str(&offer).map_err(|_| Error::InvalidUrl {
                url: offer.clone(),
                reason: "not a valid Sec-WebSocket-Protocol header value".to_owned(),
            })?;
            request
                .headers_mut()
                .insert("Sec-WebSocket-Protocol", offer);
        }
        if self.deflate {
            request.headers_mut().insert(
                "Sec-WebSocket-Extensions",
                HeaderValue::from_static(DEFLATE_OFFER),
            );
        }
        Ok((request, address))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(url: &str) -> String {
        match ClientConfig::new(url).request() {
            Err(Error::InvalidUrl { reason, .. }) => reason,
            other => panic!("{url}: expected an invalid URL, got {other:?}"),
        }
    }

    #[test]
    fn a_port_out_of_range_is_named_rather_than_replaced_by_the_default() {
        assert_eq!(
            reason("ws://127.0.0.1:99999/ws"),
            "port 99999 is out of range (1 to 65535)"
        );
        assert_eq!(reason("ws://127.0.0.1:0/ws"), "port 0 cannot be dialed");
        let address = |url: &str| ClientConfig::new(url).request().map(|(_, a)| a).ok();
        assert_eq!(
            address("ws://127.0.0.1:65535/ws").as_deref(),
            Some("127.0.0.1:65535")
        );
        assert_eq!(
            address("ws://example.com/ws").as_deref(),
            Some("example.com:80")
        );
        assert_eq!(address("ws://[::1]:8080/ws").as_deref(), Some("[::1]:8080"));
    }
}
