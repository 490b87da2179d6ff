//! [`Served`], [`Summary`] and [`Ending`]: how one connection went.

use std::fmt;
use std::time::Duration;

/// What [`serve`](crate::serve) did with a connection that it answered.
///
/// ```
/// # let served = ws_echo::Served::Page;
/// match served {
///     ws_echo::Served::WebSocket(summary) => println!("{summary}"),
///     ws_echo::Served::Page => println!("served the page"),
///     _ => {}
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Served {
    /// A WebSocket connection, and how it went.
    WebSocket(Summary),
    /// A plain `GET /` that is not an upgrade, answered with [`Config::page`](crate::Config).
    Page,
    /// A health check ([`Config::health`](crate::Config)), answered `503 draining` if
    /// `draining`, `200 ok` otherwise.
    Health {
        /// Whether the answer was 503: the shutdown signal had fired.
        draining: bool,
    },
    /// A plain `GET` of the metrics endpoint ([`Config::metrics`](crate::Config)), answered.
    Metrics,
}

impl Served {
    /// The WebSocket connection's summary, if it was one.
    pub fn summary(&self) -> Option<&Summary> {
        match self {
            Served::WebSocket(summary) => Some(summary),
            Served::Page | Served::Health { .. } | Served::Metrics => None,
        }
    }
}

impl fmt::Display for Served {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Served::WebSocket(summary) => summary.fmt(f),
            Served::Page => write!(f, "served the page"),
            Served::Health { draining: false } => write!(f, "answered the health check: 200 ok"),
            Served::Health { draining: true } => {
                write!(f, "answered the health check: 503 draining")
            }
            Served::Metrics => write!(f, "served the metrics"),
        }
    }
}

/// How a connection ended.
///
/// ```
/// use ws_echo::{Ending, Timeout};
///
/// fn was_clean(ending: &Ending) -> bool {
///     match ending {
///         Ending::PeerClosed { .. } => true,
///         Ending::ServerClosed { dropped, .. } => !dropped,
///         Ending::TimedOut(Timeout::Unresponsive { .. }) => false, // a pulled cable, say
///         _ => false,
///     }
/// }
/// assert!(was_clean(&Ending::PeerClosed { code: Some(1000), reason: String::new() }));
/// assert!(!was_clean(&Ending::Reset));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Ending {
    /// The peer sent Close; we answered with the same code and reason, after every echo that
    /// was due. `code` is `None` when the peer's Close carried no code.
    PeerClosed {
        /// The peer's close code.
        code: Option<u16>,
        /// The peer's close reason.
        reason: String,
    },
    /// We sent Close: 1001 on shutdown or idle timeout, 1002 for a protocol error, 1007 for
    /// invalid UTF-8, 1009 for a message over the limit, 1011 when the handler panicked, or
    /// whatever the handler chose.
    ServerClosed {
        /// The code we sent.
        code: u16,
        /// The reason we sent.
        reason: String,
        /// Whether we gave up waiting for the peer to end the connection (with its Close, or
        /// by closing it) and dropped it at the close or drain timeout.
        dropped: bool,
    },
    /// The peer closed the TCP connection without a Close frame.
    Eof,
    /// The connection was reset (or the pipe broken) by the peer or the network.
    Reset,
    /// We dropped the connection because the peer stopped responding.
    TimedOut(Timeout),
    /// Another I/O error ended the connection.
    Failed(String),
    /// We dropped the connection without a Close, as the handler asked
    /// ([`Then::Abort`](crate::Then), [`Open::Abort`](crate::Open)).
    Aborted,
}

impl Ending {
    /// The code of the close handshake that ended the connection, whoever sent it first
    /// (1005 for a peer's Close without a code); `None` when it ended without one.
    ///
    /// ```
    /// use ws_echo::Ending;
    ///
    /// assert_eq!(Ending::PeerClosed { code: None, reason: String::new() }.close_code(), Some(1005));
    /// assert_eq!(Ending::Eof.close_code(), None);
    /// ```
    pub fn close_code(&self) -> Option<u16> {
        match self {
            Ending::PeerClosed { code, .. } => Some(code.unwrap_or(1005)),
            Ending::ServerClosed { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// Which timeout ended a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Timeout {
    /// The heartbeat found the peer silent for `silent` (at least ping interval plus pong
    /// timeout): unresponsive, a pulled cable or a crashed host.
    Unresponsive {
        /// How long nothing had arrived from the peer.
        silent: Duration,
    },
    /// A write made no progress for the write timeout: the peer stopped reading.
    WriteStalled,
}

impl fmt::Display for Ending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ending::PeerClosed {
                code: Some(code),
                reason,
            } => write!(f, "peer closed with {code} {reason:?}"),
            Ending::PeerClosed { code: None, .. } => write!(f, "peer closed without a code"),
            Ending::ServerClosed {
                code,
                reason,
                dropped,
            } => {
                write!(f, "we closed with {code} {reason:?}")?;
                if *dropped {
                    write!(f, " (no answer in time: dropped)")?;
                }
                Ok(())
            }
            Ending::Eof => write!(f, "EOF without Close"),
            Ending::Reset => write!(f, "connection reset"),
            Ending::TimedOut(Timeout::Unresponsive { silent }) => write!(
                f,
                "timed out: unresponsive, silent for {:.3}s",
                silent.as_secs_f64()
            ),
            Ending::TimedOut(Timeout::WriteStalled) => write!(f, "timed out: writes stalled"),
            Ending::Failed(error) => write!(f, "failed: {error}"),
            Ending::Aborted => write!(f, "aborted without Close, as asked"),
        }
    }
}

/// What happened on one connection: returned by [`serve`](crate::serve) and
/// [`serve_upgraded`](crate::serve_upgraded), and logged by a [`Server`](crate::Server) when a connection ends.
///
/// Messages are whole data messages (text or binary); bytes are their payload bytes. Pings,
/// pongs and the close handshake are not counted. It prints as one log line:
///
/// ```
/// # use ws_echo::{serve, Config, Echo, Served};
/// # use futures_lite::{future, io::Cursor};
/// # let mut input = b"GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
/// #     Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n".to_vec();
/// # input.extend_from_slice(&[0x81, 0x82, 1, 2, 3, 4, b'H' ^ 1, b'i' ^ 2, 0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8]);
/// # struct Duplex(Cursor<Vec<u8>>);
/// # impl futures_lite::AsyncRead for Duplex {
/// #     fn poll_read(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>, buf: &mut [u8]) -> std::task::Poll<std::io::Result<usize>> { std::pin::Pin::new(&mut self.0).poll_read(cx, buf) }
/// # }
/// # impl futures_lite::AsyncWrite for Duplex {
/// #     fn poll_write(self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>, buf: &[u8]) -> std::task::Poll<std::io::Result<usize>> { std::task::Poll::Ready(Ok(buf.len())) }
/// #     fn poll_flush(self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>) -> std::task::Poll<std::io::Result<()>> { std::task::Poll::Ready(Ok(())) }
/// #     fn poll_close(self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>) -> std::task::Poll<std::io::Result<()>> { std::task::Poll::Ready(Ok(())) }
/// # }
/// # let served = future::block_on(serve(Duplex(Cursor::new(input)), &Config::default(), Echo)).unwrap();
/// // `served` is what `serve` returned for a client that sent "Hi" and closed with 1000.
/// let Served::WebSocket(summary) = served else { panic!("not a WebSocket connection") };
/// assert_eq!((summary.messages_in, summary.bytes_in), (1, 2));
/// assert!(summary.to_string().starts_with("peer closed with 1000 \"\" after "));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Summary {
    /// Data messages received.
    pub messages_in: u64,
    /// Data messages sent.
    pub messages_out: u64,
    /// Payload bytes received.
    pub bytes_in: u64,
    /// Payload bytes sent.
    pub bytes_out: u64,
    /// From the start of the handshake (or of the loop, for an upgraded stream) to the end.
    pub duration: Duration,
    /// How it ended.
    pub ending: Ending,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} after {:.3}s; in {} msgs / {} B, out {} msgs / {} B",
            self.ending,
            self.duration.as_secs_f64(),
            self.messages_in,
            self.bytes_in,
            self.messages_out,
            self.bytes_out
        )
    }
}
