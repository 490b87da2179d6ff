//! The timed writer: dial, send a message every interval, match each echo to what was sent,
//! report round-trip times, close cleanly.
//!
//! The logic is here, independent of any runtime: [`run`] takes a `dial` function that opens
//! the TCP (or other) stream, and a `stop` future (Ctrl-C, in the example). The adapters supply
//! a dialer (for example `ws_echo::runtimes::smol::connect`).

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::pin::pin;
use std::task::Poll;
use std::time::{Duration, Instant};

use async_io::Timer;
use async_tungstenite::tungstenite::client::IntoClientRequest;
use async_tungstenite::tungstenite::handshake::client::Request;
use async_tungstenite::tungstenite::http::HeaderValue;
use async_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use async_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use async_tungstenite::tungstenite::Message;
use futures_lite::{future, AsyncRead, AsyncWrite, StreamExt};

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
    /// The text sent every interval. Default: `Hello World`.
    pub message: String,
    /// Time between two sends; the first goes out as soon as the connection is up.
    /// Default: 2 s.
    pub interval: Duration,
    /// Stop after this many echoes, closing with 1000. Default: `None` (run until stopped).
    pub count: Option<u64>,
    /// How long to wait for the server's answer to our Close. Default: 1 s.
    pub close_timeout: Duration,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            url: "ws://127.0.0.1:8080/ws".to_owned(),
            origin: "http://localhost/".to_owned(),
            message: "Hello World".to_owned(),
            interval: Duration::from_secs(2),
            count: None,
            close_timeout: Duration::from_secs(1),
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

    /// Sets [`ClientConfig::message`].
    pub fn message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
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
        match uri.scheme_str() {
            Some("ws") => {}
            Some("wss") => return Err(invalid("wss:// is not supported yet")),
            _ => return Err(invalid("the scheme must be ws://")),
        }
        let host = uri.host().ok_or_else(|| invalid("no host"))?;
        let address = format!("{host}:{}", uri.port_u16().unwrap_or(80));
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
    /// The upgrade succeeded.
    Connected {
        /// The address dialed.
        address: String,
    },
    /// An echo of message number `seq` (from 1) came back, equal to what was sent.
    Echo {
        /// Which message, counting from 1.
        seq: u64,
        /// From our send to the echo's arrival.
        rtt: Duration,
        /// The echoed text.
        text: String,
    },
    /// A message arrived that is not the echo of the oldest message awaiting one.
    Unexpected {
        /// What arrived (binary shown lossily as text).
        text: String,
    },
    /// The server sent Close.
    ServerClosed {
        /// Its close code, if it gave one.
        code: Option<u16>,
        /// Its close reason.
        reason: String,
    },
}

/// What the client did, returned by [`run`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Report {
    /// Messages sent.
    pub sent: u64,
    /// Messages whose echo came back intact.
    pub echoed: u64,
    /// Messages sent whose echo never came back.
    pub missing: u64,
    /// Messages received that matched nothing we were waiting for.
    pub unexpected: u64,
    /// The server's Close, if the server ended the connection: code and reason.
    pub server_close: Option<(Option<u16>, String)>,
}

/// Runs the timed writer: dials with `dial(host_port)`, upgrades with the configured `Origin`,
/// sends [`ClientConfig::message`] every [`ClientConfig::interval`] and matches echoes in order.
///
/// It ends, returning its [`Report`], when `count` echoes arrived or `stop` completed (both:
/// Close 1000, then a short wait for the server's answer), or when the server sent Close. It
/// fails with [`Error::ConnectionLost`] when the connection ends without a Close, and with
/// [`Error::Io`], [`Error::InvalidUrl`] or [`Error::HttpStatus`] when it cannot connect.
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
    let stream = dial(address.clone()).await?;
    let ws_config = WebSocketConfig::default().read_buffer_size(4096);
    let (mut ws, _response) =
        async_tungstenite::client_async_with_config(request, stream, Some(ws_config)).await?;
    on_event(&Event::Connected { address });

    let mut report = Report::default();
    let mut pending = Pending::default();
    let mut ticks = Timer::interval_at(Instant::now(), config.interval);
    let mut stop = pin!(stop);
    let done = |report: &Report| config.count.is_some_and(|n| report.echoed >= n);
    loop {
        let step = future::poll_fn(|cx| {
            if let Poll::Ready(()) = stop.as_mut().poll(cx) {
                return Poll::Ready(Step::Stop);
            }
            if let Poll::Ready(item) = StreamExt::poll_next(&mut ws, cx) {
                return Poll::Ready(Step::Received(item));
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
                if config.count.is_some_and(|n| report.sent >= n) {
                    continue;
                }
                ws.send(Message::text(config.message.as_str())).await?;
                report.sent += 1;
                pending.sent(report.sent, config.message.clone());
            }
            Step::Received(None) => {
                return Err(Error::ConnectionLost(
                    "the server closed the connection".into(),
                ))
            }
            Step::Received(Some(Err(e))) => return Err(lost(e)),
            Step::Received(Some(Ok(message))) => {
                if let Some(end) = receive(message, &mut pending, &mut report, &mut on_event) {
                    report.server_close = Some(end);
                    report.missing = pending.len();
                    return Ok(report);
                }
                if done(&report) {
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
    if ws.send(Message::Close(Some(bye))).await.is_ok() {
        let drain = async {
            while let Some(Ok(message)) = ws.next().await {
                if message.is_close() {
                    break; // the server's answer to our Close
                }
                receive(message, &mut pending, &mut report, &mut on_event);
            }
        };
        future::or(drain, async {
            Timer::after(config.close_timeout).await;
        })
        .await;
    }
    report.missing = pending.len();
    Ok(report)
}

enum Step {
    Stop,
    Tick,
    Received(Option<Result<Message, async_tungstenite::tungstenite::Error>>),
}

/// Messages sent and not yet echoed, oldest first.
#[derive(Default)]
struct Pending(VecDeque<(u64, Instant, String)>);

impl Pending {
    fn sent(&mut self, seq: u64, text: String) {
        self.0.push_back((seq, Instant::now(), text));
    }

    fn len(&self) -> u64 {
        self.0.len() as u64
    }
}

/// Accounts for one received message; returns the server's Close if it was one.
fn receive(
    message: Message,
    pending: &mut Pending,
    report: &mut Report,
    on_event: &mut impl FnMut(&Event),
) -> Option<(Option<u16>, String)> {
    let text = match message {
        Message::Text(text) => text.to_string(),
        Message::Binary(data) => String::from_utf8_lossy(&data).into_owned(),
        Message::Close(frame) => {
            let (code, reason) = match frame {
                Some(frame) => (Some(u16::from(frame.code)), frame.reason.to_string()),
                None => (None, String::new()),
            };
            on_event(&Event::ServerClosed {
                code,
                reason: reason.clone(),
            });
            return Some((code, reason));
        }
        Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => return None,
    };
    match pending.0.front() {
        Some((_, _, expected)) if *expected == text => {
            if let Some((seq, sent_at, _)) = pending.0.pop_front() {
                report.echoed += 1;
                on_event(&Event::Echo {
                    seq,
                    rtt: sent_at.elapsed(),
                    text,
                });
            }
        }
        _ => {
            report.unexpected += 1;
            on_event(&Event::Unexpected { text });
        }
    }
    None
}

fn lost(error: async_tungstenite::tungstenite::Error) -> Error {
    use async_tungstenite::tungstenite::{error::ProtocolError, Error as E};
    match error {
        E::Protocol(ProtocolError::ResetWithoutClosingHandshake) => {
            Error::ConnectionLost("the server closed the connection without a Close".to_owned())
        }
        other => Error::from(other),
    }
}
