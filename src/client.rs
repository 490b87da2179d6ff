//! The timed writer: dial, send a message every interval, match each echo to what was sent,
//! report round-trip times, close cleanly.
//!
//! The logic is here, independent of any runtime: [`run`] takes a `dial` function that opens
//! the TCP (or other) stream, and a `stop` future (Ctrl-C, in the example). The adapters supply
//! a dialer (for example `ws_echo::runtimes::smol::connect`).

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use async_io::Timer;
use async_tungstenite::tungstenite::client::IntoClientRequest;
use async_tungstenite::tungstenite::handshake::client::Request;
use async_tungstenite::tungstenite::http::HeaderValue;
use async_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use async_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use async_tungstenite::tungstenite::Message;
use async_tungstenite::WebSocketStream;
use futures_lite::{future, AsyncRead, AsyncWrite, StreamExt};
use futures_util::SinkExt;

use crate::liveness::{write_within, Activity, Beat, Heartbeat, Watched};
use crate::timer::Clock;
use crate::Error;

/// What the client sends, where, and how often.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ClientConfig {
    /// The `ws://` URL to dial. Default: `ws://127.0.0.1:8080/ws`.
    pub url: String,
    /// The `Origin` header sent with the upgrade request (servers built on Go's
    /// x/net/websocket refuse requests without one). Default: `http://localhost/`.
    pub origin: String,
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
    /// Heartbeat: when nothing has arrived from the server for this long, send a Ping.
    /// `None` turns it off. Default: 20 s.
    pub ping_interval: Option<Duration>,
    /// Heartbeat: when still nothing arrives this long after our Ping, the link is declared
    /// dead. Any byte from the server counts as life. Default: 20 s.
    pub pong_timeout: Duration,
    /// Dialing plus the upgrade must complete within this time. Default: 10 s.
    pub handshake_timeout: Duration,
    /// A write that makes no progress for this long declares the link dead. Default: 10 s.
    pub write_timeout: Duration,
    /// Reconnect when the link dies or the server closes, after a delay drawn at random
    /// between zero and a bound that starts at `backoff_initial` and doubles up to
    /// `backoff_max` (exponential backoff with full jitter). The first connection is not
    /// retried: failing to connect at all is an error. Default: `true`.
    pub reconnect: bool,
    /// The first reconnect delay bound. Default: 0.5 s.
    pub backoff_initial: Duration,
    /// The largest reconnect delay bound. Default: 30 s.
    pub backoff_max: Duration,
    /// For wss:// URLs: whom to trust. `None` means the system's roots
    /// ([`tls::client_config(None)`](crate::tls::client_config)). Default: `None`.
    #[cfg(feature = "tls")]
    pub tls: Option<Arc<crate::tls::ClientConfig>>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            url: "ws://127.0.0.1:8080/ws".to_owned(),
            origin: "http://localhost/".to_owned(),
            message: Message::text("Hello World"),
            interval: Duration::from_secs(2),
            count: None,
            close_timeout: Duration::from_secs(1),
            ping_interval: Some(Duration::from_secs(20)),
            pong_timeout: Duration::from_secs(20),
            handshake_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(10),
            reconnect: true,
            backoff_initial: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}

impl ClientConfig {
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
    pub fn tls(mut self, tls: Arc<crate::tls::ClientConfig>) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Sets [`ClientConfig::ping_interval`]; `None` turns the heartbeat off.
    pub fn ping_interval(mut self, interval: Option<Duration>) -> Self {
        self.ping_interval = interval;
        self
    }

    /// Sets [`ClientConfig::pong_timeout`].
    pub fn pong_timeout(mut self, timeout: Duration) -> Self {
        self.pong_timeout = timeout;
        self
    }

    /// Sets [`ClientConfig::handshake_timeout`].
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// Sets [`ClientConfig::write_timeout`].
    pub fn write_timeout(mut self, timeout: Duration) -> Self {
        self.write_timeout = timeout;
        self
    }

    /// Sets [`ClientConfig::reconnect`].
    pub fn reconnect(mut self, reconnect: bool) -> Self {
        self.reconnect = reconnect;
        self
    }

    /// Sets [`ClientConfig::backoff_initial`] and [`ClientConfig::backoff_max`].
    pub fn backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.backoff_initial = initial;
        self.backoff_max = max;
        self
    }

    /// The upgrade request and the `host:port` to dial, or why the URL is unusable.
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
            #[cfg(feature = "tls")]
            Some("wss") => 443,
            #[cfg(not(feature = "tls"))]
            Some("wss") => return Err(invalid("wss:// needs the `tls` feature")),
            _ => return Err(invalid("the scheme must be ws:// or wss://")),
        };
        let host = uri.host().ok_or_else(|| invalid("no host"))?;
        let address = format!("{host}:{}", uri.port_u16().unwrap_or(default_port));
        let origin = HeaderValue::from_str(&self.origin).map_err(|_| Error::InvalidUrl {
            url: self.origin.clone(),
            reason: "not a valid Origin header value".to_owned(),
        })?;
        request.headers_mut().insert("Origin", origin);
        Ok((request, address))
    }
}

/// Something the client saw, handed to the `on_event` callback of [`run`] as it happens.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The first upgrade succeeded.
    Connected {
        /// The address dialed.
        address: String,
    },
    /// An echo of message number `seq` (from 1) came back, equal to what was sent (same
    /// type, same bytes).
    Echo {
        /// Which message, counting from 1.
        seq: u64,
        /// From our (last) send to the echo's arrival.
        rtt: Duration,
        /// The echoed text, or "N bytes of binary".
        text: String,
    },
    /// A message arrived that is not the echo of the oldest message awaiting one.
    Unexpected {
        /// What arrived: its text, or "N bytes of binary".
        text: String,
    },
    /// The server sent Close.
    ServerClosed {
        /// Its close code, if it gave one.
        code: Option<u16>,
        /// Its close reason.
        reason: String,
    },
    /// The link was declared dead: heartbeat timeout, stalled write, EOF, reset, or a Close
    /// from the server; reconnecting follows unless turned off.
    LinkDown {
        /// Why, in a few words.
        reason: String,
    },
    /// A new connection is up after the link went down; unanswered messages are resent.
    Reconnected {
        /// The address dialed.
        address: String,
        /// How long the link was down.
        after: Duration,
        /// How many messages are being resent.
        resending: u64,
    },
}

/// What the client did, returned by [`run`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Report {
    /// Distinct messages sent (a resend does not count again).
    pub sent: u64,
    /// Messages whose echo came back intact.
    pub echoed: u64,
    /// Messages sent whose echo never came back: lost.
    pub missing: u64,
    /// Messages received that matched nothing we were waiting for.
    pub unexpected: u64,
    /// Sends repeated on a new connection because the echo had not come back on the old one.
    pub resent: u64,
    /// Connections made after the first.
    pub reconnects: u64,
    /// The server's Close, when it ended the run (reconnecting off): code and reason.
    pub server_close: Option<(Option<u16>, String)>,
}

/// Runs the timed writer: dials with `dial(host_port)`, upgrades with the configured `Origin`,
/// sends [`ClientConfig::message`] every [`ClientConfig::interval`] and matches echoes in order.
/// A heartbeat watches the link; when it dies (or the server closes) the client reconnects
/// with backoff, resends every message still awaiting its echo, and goes on.
///
/// It ends, returning its [`Report`], when `count` echoes arrived or `stop` completed (both:
/// Close 1000, then a short wait for the server's answer), or, with reconnecting off, when the
/// server sent Close. It fails with [`Error::ConnectionLost`] when the link dies and
/// reconnecting is off, and with [`Error::Io`], [`Error::InvalidUrl`], [`Error::HttpStatus`] or
/// [`Error::HandshakeTimeout`] when the first connection cannot be made.
///
/// Not cancel-safe: dropping the future drops the connection without a Close; pass a `stop`
/// future instead to end it cleanly.
pub async fn run<D, F, S>(
    config: &ClientConfig,
    mut dial: D,
    stop: impl Future<Output = ()>,
    mut on_event: impl FnMut(&Event),
) -> Result<Report, Error>
where
    D: FnMut(String) -> F,
    F: Future<Output = io::Result<S>>,
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (request, address) = config.request()?;
    let secure = secure(config, &request)?;
    let mut stop = pin!(stop);
    let mut link = connect(config, &mut dial, &request, &address, secure.as_ref()).await?;
    on_event(&Event::Connected {
        address: address.clone(),
    });
    let mut run = Run {
        config,
        report: Report::default(),
        pending: VecDeque::new(),
        on_event: &mut on_event,
    };
    loop {
        let reason = match run.session(&mut link, stop.as_mut()).await {
            SessionEnd::Finished => return Ok(run.finish()),
            SessionEnd::ServerClosed(code, reason) if !config.reconnect => {
                run.report.server_close = Some((code, reason));
                return Ok(run.finish());
            }
            SessionEnd::Lost(reason) if !config.reconnect => {
                return Err(Error::ConnectionLost(reason))
            }
            SessionEnd::ServerClosed(Some(code), reason) => {
                format!("the server closed with {code} {reason}")
            }
            SessionEnd::ServerClosed(None, _) => "the server closed".to_owned(),
            SessionEnd::Lost(reason) => reason,
        };
        (run.on_event)(&Event::LinkDown { reason });
        let down = Instant::now();
        let mut backoff = config.backoff_initial;
        link = loop {
            let delay = backoff.mul_f64(fastrand::f64());
            backoff = (backoff * 2).min(config.backoff_max);
            let stopped = future::or(
                async {
                    stop.as_mut().await;
                    true
                },
                async {
                    Timer::after(delay).await;
                    false
                },
            )
            .await;
            if stopped {
                return Ok(run.finish());
            }
            match connect(config, &mut dial, &request, &address, secure.as_ref()).await {
                Ok(link) => break link,
                Err(e) => log::debug!("reconnecting to {address} failed: {e}"),
            }
        };
        run.report.reconnects += 1;
        (run.on_event)(&Event::Reconnected {
            address: address.clone(),
            after: down.elapsed(),
            resending: run.pending.len() as u64,
        });
    }
}

/// One connection: the WebSocket and the record of when bytes last moved on it.
struct Link<S> {
    ws: WebSocketStream<Watched<Wire<S>>>,
    activity: Arc<Activity>,
}

/// What wss:// needs: whom to trust, and the name the certificate must carry.
#[cfg(feature = "tls")]
struct Secure {
    connector: futures_rustls::TlsConnector,
    name: futures_rustls::pki_types::ServerName<'static>,
}

/// Without the `tls` feature there is no wss:// (the URL is refused first).
#[cfg(not(feature = "tls"))]
enum Secure {}

/// The TLS setup for a wss:// request, or `None` for ws://.
#[cfg(feature = "tls")]
fn secure(config: &ClientConfig, request: &Request) -> Result<Option<Secure>, Error> {
    let uri = request.uri();
    if uri.scheme_str() != Some("wss") {
        return Ok(None);
    }
    let host = uri.host().unwrap_or_default();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let name = futures_rustls::pki_types::ServerName::try_from(host.to_owned())
        .map_err(|e| Error::Tls(format!("{host:?} is not a valid server name: {e}")))?;
    let tls = match &config.tls {
        Some(tls) => Arc::clone(tls),
        None => crate::tls::client_config(None)?,
    };
    let connector = futures_rustls::TlsConnector::from(tls);
    Ok(Some(Secure { connector, name }))
}

#[cfg(not(feature = "tls"))]
fn secure(_: &ClientConfig, _: &Request) -> Result<Option<Secure>, Error> {
    Ok(None)
}

/// The dialed stream, as it is (ws://) or inside TLS (wss://).
enum Wire<S> {
    Plain(S),
    #[cfg(feature = "tls")]
    Tls(Box<futures_rustls::client::TlsStream<S>>),
}

impl<S: AsyncRead + AsyncWrite + Unpin> Wire<S> {
    /// Wraps `stream` in TLS when `secure` says so.
    async fn new(stream: S, secure: Option<&Secure>) -> Result<Wire<S>, Error> {
        match secure {
            None => Ok(Wire::Plain(stream)),
            #[cfg(feature = "tls")]
            Some(secure) => secure
                .connector
                .connect(secure.name.clone(), stream)
                .await
                .map(|tls| Wire::Tls(Box::new(tls)))
                .map_err(|e| Error::Tls(e.to_string())),
            #[cfg(not(feature = "tls"))]
            Some(never) => match *never {},
        }
    }
}

/// Delegates a poll method to whichever stream a `Wire` holds.
macro_rules! wire {
    ($self:ident, $stream:ident => $call:expr) => {
        match $self.get_mut() {
            Wire::Plain($stream) => $call,
            #[cfg(feature = "tls")]
            Wire::Tls($stream) => $call,
        }
    };
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for Wire<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        wire!(self, stream => Pin::new(stream).poll_read(cx, buf))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Wire<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        wire!(self, stream => Pin::new(stream).poll_write(cx, buf))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<io::Result<()>> {
        wire!(self, stream => Pin::new(stream).poll_flush(cx))
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<io::Result<()>> {
        wire!(self, stream => Pin::new(stream).poll_close(cx))
    }
}

/// Dials and upgrades (TLS first for wss://), within the handshake timeout.
async fn connect<D, F, S>(
    config: &ClientConfig,
    dial: &mut D,
    request: &Request,
    address: &str,
    secure: Option<&Secure>,
) -> Result<Link<S>, Error>
where
    D: FnMut(String) -> F,
    F: Future<Output = io::Result<S>>,
    S: AsyncRead + AsyncWrite + Unpin,
{
    let connecting = async {
        let stream = dial(address.to_owned()).await?;
        let stream = Wire::new(stream, secure).await?;
        let activity = Activity::new();
        let stream = Watched::new(stream, Arc::clone(&activity));
        let ws_config = WebSocketConfig::default().read_buffer_size(4096);
        let (ws, _response) =
            async_tungstenite::client_async_with_config(request.clone(), stream, Some(ws_config))
                .await?;
        Ok(Link { ws, activity })
    };
    future::or(connecting, async {
        Timer::after(config.handshake_timeout).await;
        Err(Error::HandshakeTimeout)
    })
    .await
}

/// How a connection ended.
enum SessionEnd {
    /// Count reached or stopped: we closed with 1000.
    Finished,
    /// The server sent Close.
    ServerClosed(Option<u16>, String),
    /// The link died; why.
    Lost(String),
}

/// What a run keeps across connections.
struct Run<'a, E> {
    config: &'a ClientConfig,
    report: Report,
    /// Messages sent and not yet echoed, oldest first: (seq, last sent at, message).
    pending: VecDeque<(u64, Instant, Message)>,
    on_event: &'a mut E,
}

/// What woke a session up.
enum Step {
    Stop,
    Tick,
    Heartbeat,
    Received(Option<Result<Message, async_tungstenite::tungstenite::Error>>),
}

impl<E: FnMut(&Event)> Run<'_, E> {
    fn finish(mut self) -> Report {
        self.report.missing = self.pending.len() as u64;
        self.report
    }

    fn done(&self) -> bool {
        self.config.count.is_some_and(|n| self.report.echoed >= n)
    }

    /// Sends on `link` within the write timeout; `Err` carries why the link is dead.
    async fn write<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        link: &mut Link<S>,
        message: Message,
    ) -> Result<(), String> {
        match write_within(
            Clock::AsyncIo,
            &link.activity,
            self.config.write_timeout,
            link.ws.send(message),
        )
        .await
        {
            Some(Ok(())) => Ok(()),
            Some(Err(e)) => Err(format!("write failed: {e}")),
            None => Err(format!(
                "no write progress for {:?}",
                self.config.write_timeout
            )),
        }
    }

    /// Runs one connection: resends what is unanswered, then the timed writes.
    async fn session<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        link: &mut Link<S>,
        mut stop: Pin<&mut impl Future<Output = ()>>,
    ) -> SessionEnd {
        let unanswered: Vec<Message> = self.pending.iter().map(|p| p.2.clone()).collect();
        for (i, message) in unanswered.into_iter().enumerate() {
            if let Err(reason) = self.write(link, message).await {
                return SessionEnd::Lost(reason);
            }
            self.pending[i].1 = Instant::now();
            self.report.resent += 1;
        }
        let mut heartbeat = Heartbeat::new(self.config.ping_interval, self.config.pong_timeout);
        let mut beat_timer = Timer::never();
        let mut ticks = Timer::interval_at(Instant::now(), self.config.interval);
        loop {
            match heartbeat.deadline(link.activity.last_read()) {
                Some(deadline) => beat_timer.set_at(deadline),
                None => beat_timer = Timer::never(),
            }
            let step = future::poll_fn(|cx| {
                if let Poll::Ready(()) = stop.as_mut().poll(cx) {
                    return Poll::Ready(Step::Stop);
                }
                if let Poll::Ready(item) = StreamExt::poll_next(&mut link.ws, cx) {
                    return Poll::Ready(Step::Received(item));
                }
                if StreamExt::poll_next(&mut beat_timer, cx).is_ready() {
                    return Poll::Ready(Step::Heartbeat);
                }
                match StreamExt::poll_next(&mut ticks, cx) {
                    Poll::Ready(_) => Poll::Ready(Step::Tick),
                    Poll::Pending => Poll::Pending,
                }
            })
            .await;
            match step {
                Step::Stop => break,
                Step::Tick => {
                    if self.config.count.is_some_and(|n| self.report.sent >= n) {
                        continue;
                    }
                    let message = self.config.message.clone();
                    if let Err(reason) = self.write(link, message.clone()).await {
                        return SessionEnd::Lost(reason);
                    }
                    self.report.sent += 1;
                    self.pending
                        .push_back((self.report.sent, Instant::now(), message));
                }
                Step::Heartbeat => match heartbeat.check(link.activity.last_read(), Instant::now())
                {
                    Beat::Dead(silent) => {
                        return SessionEnd::Lost(format!(
                            "no answer from the server for {:.3}s",
                            silent.as_secs_f64()
                        ))
                    }
                    Beat::Ping => {
                        if let Err(reason) =
                            self.write(link, Message::Ping(Default::default())).await
                        {
                            return SessionEnd::Lost(reason);
                        }
                    }
                    Beat::Wait => {}
                },
                Step::Received(None) => return SessionEnd::Lost("the connection ended".to_owned()),
                Step::Received(Some(Err(e))) => return SessionEnd::Lost(lost(e)),
                Step::Received(Some(Ok(message))) => {
                    if let Some((code, reason)) = self.receive(message) {
                        // tungstenite has queued our answer to the server's Close: send it.
                        let answer = SinkExt::flush(&mut link.ws);
                        if write_within(
                            Clock::AsyncIo,
                            &link.activity,
                            self.config.write_timeout,
                            answer,
                        )
                        .await
                        .is_none()
                        {
                            log::debug!("answering the server's Close timed out");
                        }
                        return SessionEnd::ServerClosed(code, reason);
                    }
                    if self.done() {
                        break;
                    }
                }
            }
        }
        // We end it: Close 1000, then count the echoes still arriving until the server answers.
        let bye = CloseFrame {
            code: CloseCode::Normal,
            reason: "".into(),
        };
        if self.write(link, Message::Close(Some(bye))).await.is_ok() {
            let close_timeout = self.config.close_timeout;
            let drain = async {
                while let Some(Ok(message)) = link.ws.next().await {
                    if message.is_close() {
                        break; // the server's answer to our Close
                    }
                    self.receive(message);
                }
            };
            future::or(drain, async {
                Timer::after(close_timeout).await;
            })
            .await;
        }
        SessionEnd::Finished
    }

    /// Accounts for one received message; returns the server's Close if it was one.
    fn receive(&mut self, message: Message) -> Option<(Option<u16>, String)> {
        match message {
            Message::Text(_) | Message::Binary(_) => {}
            Message::Close(frame) => {
                let (code, reason) = match frame {
                    Some(frame) => (Some(u16::from(frame.code)), frame.reason.to_string()),
                    None => (None, String::new()),
                };
                (self.on_event)(&Event::ServerClosed {
                    code,
                    reason: reason.clone(),
                });
                return Some((code, reason));
            }
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => return None,
        }
        let text = match &message {
            Message::Text(text) => text.to_string(),
            other => format!("{} bytes of binary", other.len()),
        };
        // Same type, same bytes.
        match self.pending.front() {
            Some((_, _, expected)) if *expected == message => {
                if let Some((seq, sent_at, _)) = self.pending.pop_front() {
                    self.report.echoed += 1;
                    (self.on_event)(&Event::Echo {
                        seq,
                        rtt: sent_at.elapsed(),
                        text,
                    });
                }
            }
            _ => {
                self.report.unexpected += 1;
                (self.on_event)(&Event::Unexpected { text });
            }
        }
        None
    }
}

fn lost(error: async_tungstenite::tungstenite::Error) -> String {
    use async_tungstenite::tungstenite::{error::ProtocolError, Error as E};
    match error {
        E::Protocol(ProtocolError::ResetWithoutClosingHandshake) => {
            "the server closed the connection without a Close".to_owned()
        }
        other => other.to_string(),
    }
}
