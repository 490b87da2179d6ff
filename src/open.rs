//! [`Connection`], what a connection's upgrade carried, as [`Handler::on_open`] sees it, and
//! [`Open`], the handler's answer to it.
//!
//! [`Handler::on_open`]: crate::Handler::on_open

use std::net::SocketAddr;
use std::time::Duration;

use async_tungstenite::tungstenite::protocol::CloseFrame;
use async_tungstenite::tungstenite::Message;

use crate::handshake::Refusal;

/// A connection about to open: the upgrade request as the server received it, the addresses
/// and the connection id. Borrowed from the request head, and only for the call to
/// [`Handler::on_open`](crate::Handler::on_open): a handler keeps what it needs.
///
/// ```
/// let headers: &[(&str, &[u8])] = &[("Host", b"example.com"), ("X-User", b"ada")];
/// let connection = ws_echo::Connection::new("GET", "/chat/room?lang=en", headers);
/// assert_eq!(connection.path(), "/chat/room");
/// assert_eq!(connection.query(), Some("lang=en"));
/// assert_eq!(connection.header("x-user"), Some(&b"ada"[..]));
/// assert_eq!(connection.peer(), None);
/// ```
#[derive(Clone, Debug)]
pub struct Connection<'r> {
    pub(crate) id: u64,
    pub(crate) peer: Option<SocketAddr>,
    pub(crate) local: Option<SocketAddr>,
    pub(crate) method: &'r str,
    pub(crate) target: &'r str,
    pub(crate) headers: &'r [(&'r str, &'r [u8])],
    pub(crate) protocol: Option<&'r str>,
    pub(crate) extensions: Option<&'r str>,
}

impl<'r> Connection<'r> {
    /// A connection with this request line and headers, id 0 and no addresses: for testing a
    /// handler's [`on_open`](crate::Handler::on_open) without a socket.
    pub fn new(method: &'r str, target: &'r str, headers: &'r [(&'r str, &'r [u8])]) -> Self {
        Connection {
            id: 0,
            peer: None,
            local: None,
            method,
            target,
            headers,
            protocol: None,
            extensions: None,
        }
    }

    /// The same with the peer's address.
    pub fn with_peer(mut self, peer: SocketAddr) -> Self {
        self.peer = Some(peer);
        self
    }

    /// The connection's number, as the log lines show it (`#7`): one count for the whole
    /// process, from 1, across its listeners and [`serve`](crate::serve) calls.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The peer's address, when the server knows it: a [`Server`](crate::Server) and
    /// [`serve_accepted`](crate::serve_accepted) do, [`serve`](crate::serve) on a bare stream
    /// does not.
    pub fn peer(&self) -> Option<SocketAddr> {
        self.peer
    }

    /// Our address on the connection, when the server knows it (as [`peer`](Self::peer)).
    pub fn local(&self) -> Option<SocketAddr> {
        self.local
    }

    /// The request's method: `GET` for an HTTP/1.1 upgrade, `CONNECT` for an extended CONNECT
    /// over HTTP/2 (RFC 8441, served through [`serve_upgraded`](crate::serve_upgraded)).
    pub fn method(&self) -> &'r str {
        self.method
    }

    /// The request target as sent: the path and, after a `?`, the query.
    pub fn target(&self) -> &'r str {
        self.target
    }

    /// The path, without the query.
    pub fn path(&self) -> &'r str {
        self.target
            .split_once('?')
            .map_or(self.target, |(path, _)| path)
    }

    /// The query, without its `?`; `None` when the target has none.
    pub fn query(&self) -> Option<&'r str> {
        self.target.split_once('?').map(|(_, query)| query)
    }

    /// The request's headers, in the order received, names as the client spelled them.
    pub fn headers(&self) -> impl Iterator<Item = (&'r str, &'r [u8])> + '_ {
        self.headers.iter().copied()
    }

    /// The first header of that name (in any case).
    pub fn header(&self, name: &str) -> Option<&'r [u8]> {
        self.headers()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, value)| value)
    }

    /// The subprotocol selected for the connection ([`Config::protocols`](crate::Config)).
    pub fn protocol(&self) -> Option<&'r str> {
        self.protocol
    }

    /// The extensions agreed for the connection, as the 101's `Sec-WebSocket-Extensions`
    /// names them (`permessage-deflate; server_no_context_takeover; ...`, when
    /// [`Config::deflate`](crate::Config::deflate) is on and the client offered it).
    pub fn extensions(&self) -> Option<&'r str> {
        self.extensions
    }
}

/// What [`Handler::on_open`](crate::Handler::on_open) answers: open the connection, open it
/// with a first message, close or abort it at once, or refuse it; or several of these in turn.
///
/// ```
/// use ws_echo::{CloseCode, CloseFrame, Message, Open};
///
/// // A greeting, then a Close: a client sees both before the connection ends.
/// let open = Open::Sequence(vec![
///     Open::Greet(Message::text("hello")),
///     Open::Close(CloseFrame { code: CloseCode::Normal, reason: "that was all".into() }),
/// ]);
/// # let _ = open;
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Open {
    /// Upgrade and serve.
    Accept,
    /// Upgrade and send this message first, before any echo.
    Greet(Message),
    /// Upgrade with this header in the 101 as well (name and value). A name that is not an
    /// HTTP token, a value with control characters, or a header the upgrade itself owns
    /// (`Upgrade`, `Connection`, `Sec-WebSocket-*`, `Content-Length`, `Transfer-Encoding`) is
    /// left out, with a warning in the log. Under [`serve_upgraded`](crate::serve_upgraded),
    /// whose 101 has already gone, it has no effect.
    Header(String, String),
    /// Upgrade with this subprotocol selected, if the client offered it; otherwise the
    /// server's own choice ([`Routes::protocols`](crate::Routes::protocols)) stands. No effect
    /// under [`serve_upgraded`](crate::serve_upgraded).
    Protocol(String),
    /// Upgrade, then close at once with this code and reason (the client learns why from the
    /// Close; a browser sees it in its `close` event, which an HTTP status would not give it).
    Close(CloseFrame),
    /// Upgrade, then shut the TCP connection down without a Close.
    Abort,
    /// Do not upgrade: answer with this HTTP status and one-line body. Under
    /// [`serve_upgraded`](crate::serve_upgraded), whose 101 has already gone, this is a Close
    /// 1008 with the refusal's reason.
    Refuse(Refusal),
    /// Upgrade, then send a message on the server's own schedule while echoing (see
    /// [`Push`]). A [`Message::Ping`] pings the client at that interval whatever the
    /// heartbeat.
    Push(Push),
    /// Upgrade, and leave the client's pings unanswered: no Pong is sent, against RFC 6455, so
    /// that a client's dead-peer detection can be tested. The connection is otherwise served
    /// as usual (echoes, our own heartbeat, the close handshake).
    NoPong,
    /// Each of these in turn: greetings in order, then a Close or an abort (what would follow
    /// those is not sent). A refusal anywhere refuses the connection.
    Sequence(Vec<Open>),
}

/// A message the server sends on its own, every interval from the upgrade, a number of times
/// or for the connection's life ([`Open::Push`]). Pushes go out whatever the echoes do, and
/// stop with the connection; one that falls behind (a peer that does not read) is not made up
/// for with a burst.
///
/// ```
/// use std::time::Duration;
/// use ws_echo::{Message, Open, Push};
///
/// // "tick" every second, five times.
/// let open = Open::Push(Push::every(Duration::from_secs(1), Message::text("tick")).times(5));
/// # let _ = open;
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Push {
    pub(crate) message: Message,
    pub(crate) every: Duration,
    pub(crate) times: Option<u64>,
}

impl Push {
    /// The shortest interval: a shorter one is taken as this (a push is not a busy loop).
    pub const MIN_INTERVAL: Duration = Duration::from_millis(1);

    /// `message` every `interval` (at least [`Push::MIN_INTERVAL`]), the first one interval
    /// after the upgrade, for the connection's life.
    pub fn every(interval: Duration, message: Message) -> Push {
        Push {
            message,
            every: interval.max(Self::MIN_INTERVAL),
            times: None,
        }
    }

    /// Only `n` times (0: never).
    pub fn times(mut self, n: u64) -> Push {
        self.times = Some(n);
        self
    }
}
