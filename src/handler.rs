//! [`Handler`], the plug-in point, [`Delivery`] (how an answer goes out) and [`Echo`], the
//! default handler.

use std::time::Duration;

use async_tungstenite::tungstenite::protocol::CloseFrame;
use async_tungstenite::tungstenite::Message;

use crate::open::{Connection, Open};

/// What a connection does when it opens and with each complete data message it receives.
///
/// The connection loop does everything else: the handshake, fragments, pings, limits, the close
/// handshake, errors. A handler sees the upgrade request once ([`on_open`](Handler::on_open)),
/// then only whole [`Message::Text`] and [`Message::Binary`] messages, in order, one at a time,
/// and answers each with at most one message; [`delivery`](Handler::delivery) says how that
/// answer goes out: at once or later, whole or in frames, and whether the connection ends after
/// it (a Close, or an abort without one).
///
/// Each connection gets its own handler value (a [`Server`](crate::Server) clones the one it is given), so
/// `&mut self` can hold per-connection state. A panic inside `on_message` or `delivery` is caught: that
/// connection is closed with code 1011 and no other connection is affected.
///
/// ```
/// use ws_echo::{Handler, Message};
///
/// /// Echoes text in upper case, and binary as it came.
/// #[derive(Clone)]
/// struct Shout;
///
/// impl Handler for Shout {
///     fn on_message(&mut self, message: Message) -> Option<Message> {
///         match message {
///             Message::Text(text) => Some(Message::text(text.to_uppercase())),
///             other => Some(other),
///         }
///     }
/// }
///
/// assert_eq!(Shout.on_message(Message::text("hi")), Some(Message::text("HI")));
/// ```
///
/// A handler that routes by path and refuses by a header, greeting who it lets in, and
/// answers a second later, in frames of at most 1,024 bytes:
///
/// ```
/// use std::time::Duration;
/// use ws_echo::{CloseCode, CloseFrame, Connection, Delivery, Handler, Message, Open, Refusal};
///
/// #[derive(Clone, Default)]
/// struct Rooms {
///     room: String,
/// }
///
/// impl Handler for Rooms {
///     fn on_open(&mut self, connection: &Connection<'_>) -> Open {
///         let room = connection.path().strip_prefix("/rooms/").filter(|r| !r.is_empty());
///         let Some(room) = room else {
///             return Open::Refuse(Refusal::new(404, "no such room").unwrap());
///         };
///         if connection.header("x-banned").is_some() {
///             let reason = "banned".into();
///             return Open::Close(CloseFrame { code: CloseCode::Policy, reason });
///         }
///         self.room = room.to_owned();
///         Open::Greet(Message::text(format!("welcome to {room}")))
///     }
///
///     fn on_message(&mut self, message: Message) -> Option<Message> {
///         Some(message)
///     }
///
///     fn delivery(&mut self, _answer: &Message) -> Delivery {
///         Delivery::after(Duration::from_secs(1)).in_frames_of(1024)
///     }
/// }
///
/// let mut rooms = Rooms::default();
/// let open = rooms.on_open(&Connection::new("GET", "/rooms/tea", &[]));
/// assert_eq!(open, Open::Greet(Message::text("welcome to tea")));
/// let elsewhere = Rooms::default().on_open(&Connection::new("GET", "/lobby", &[]));
/// assert_eq!(elsewhere, Open::Refuse(Refusal::new(404, "no such room").unwrap()));
/// let banned: &[(&str, &[u8])] = &[("X-Banned", b"1")];
/// let closed = Rooms::default().on_open(&Connection::new("GET", "/rooms/tea", banned));
/// assert!(matches!(closed, Open::Close(CloseFrame { code: CloseCode::Policy, .. })));
/// ```
///
/// Served with [`Config::path`](crate::Config::path) set to `/rooms/`, which upgrades every path
/// under it, the handler routes by the rest (suite/tests/opening.rs runs this one).
///
/// A handler that closes the connection after its third answer, with a code of its own:
///
/// ```
/// use ws_echo::{CloseCode, CloseFrame, Delivery, Handler, Message, Then};
///
/// #[derive(Clone, Default)]
/// struct ThreeAndOut {
///     answered: u32,
/// }
///
/// impl Handler for ThreeAndOut {
///     fn on_message(&mut self, message: Message) -> Option<Message> {
///         // Nothing more once the third answer is on its way.
///         (self.answered < 3).then_some(message)
///     }
///
///     fn delivery(&mut self, _answer: &Message) -> Delivery {
///         self.answered += 1;
///         match self.answered {
///             3 => Delivery::now().then_close(CloseFrame {
///                 code: CloseCode::Library(4000),
///                 reason: "three is enough".into(),
///             }),
///             _ => Delivery::now(),
///         }
///     }
/// }
///
/// let mut handler = ThreeAndOut::default();
/// assert_eq!(handler.delivery(&Message::text("1")).then, Then::Continue);
/// assert_eq!(handler.delivery(&Message::text("2")).then, Then::Continue);
/// assert!(matches!(handler.delivery(&Message::text("3")).then, Then::Close(_)));
/// ```
pub trait Handler {
    /// Called once, when the upgrade request has been checked and before the 101 goes out,
    /// with what it carried: answer [`Open::Accept`] (the default), a first message
    /// ([`Open::Greet`]), a Close ([`Open::Close`]) or an HTTP refusal ([`Open::Refuse`]).
    /// A panic here refuses the connection with HTTP 500.
    fn on_open(&mut self, connection: &Connection<'_>) -> Open {
        let _ = connection;
        Open::Accept
    }

    /// Called for each complete text or binary message. Return the message to send back, or
    /// `None` to send nothing. Returning a [`Message::Close`] sends that Close and ends the
    /// connection once the peer answers it.
    fn on_message(&mut self, message: Message) -> Option<Message>;

    /// How `answer` (what [`on_message`](Handler::on_message) just returned) goes out: when,
    /// in what frames, and what follows it. The default, [`Delivery::now`], sends it at once,
    /// whole, and goes on.
    ///
    /// A delayed answer does not hold the connection up: pings are answered meanwhile and later
    /// messages are read and handled, but answers go out in the order they were given, each no
    /// earlier than its delay. What waits counts against
    /// [`Config::max_waiting_answers`](crate::Config): past it, no more is read until answers
    /// have gone. A shutdown sends its Close 1001 after every waiting answer has gone (within
    /// [`Config::drain_timeout`](crate::Config)); a Close from the peer, or one the handler
    /// returns, ends the connection after what has gone already (the peer closed before the
    /// rest was due), and so does an answer's [`Then::Close`] or [`Then::Abort`].
    fn delivery(&mut self, answer: &Message) -> Delivery {
        let _ = answer;
        Delivery::now()
    }
}

/// How an answer goes out ([`Handler::delivery`]): when, in frames of what size, and what
/// follows it.
///
/// ```
/// use std::time::Duration;
/// use ws_echo::{Delivery, Then};
///
/// let late = Delivery::after(Duration::from_millis(200)).in_frames_of(1024).then_abort();
/// assert_eq!(late.delay, Duration::from_millis(200));
/// assert_eq!(late.frame_size, Some(1024));
/// assert_eq!(late.then, Then::Abort);
/// assert_eq!(Delivery::now(), Delivery::default());
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct Delivery {
    /// How long the answer waits before it goes out, after the answers before it. Default:
    /// zero, at once.
    pub delay: Duration,
    /// Frames of at most this many payload bytes: the first carries the message's type, the
    /// rest are continuations, the last is final. A message that fits goes as one frame.
    /// `None`: one frame. Default: `None`.
    pub frame_size: Option<usize>,
    /// What follows once the answer has gone. Default: [`Then::Continue`].
    pub then: Then,
}

/// What follows an answer ([`Delivery::then`]), or a connection's opening
/// ([`Open::Close`], [`Open::Abort`]).
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub enum Then {
    /// The connection goes on.
    #[default]
    Continue,
    /// A Close with this code and reason, after everything sent before it; the connection ends
    /// once the peer answers (or the close timeout passes).
    Close(CloseFrame),
    /// The TCP connection is shut down without a Close, once everything sent before has gone:
    /// what a test of a client's reconnect logic needs ([`Ending::Aborted`](crate::Ending)).
    Abort,
}

impl Delivery {
    /// At once, whole, and the connection goes on.
    pub fn now() -> Delivery {
        Delivery::default()
    }

    /// After `delay` (and after the answer before it).
    pub fn after(delay: Duration) -> Delivery {
        Delivery {
            delay,
            ..Delivery::default()
        }
    }

    /// In frames of at most `bytes` payload bytes (at least 1).
    pub fn in_frames_of(mut self, bytes: usize) -> Delivery {
        self.frame_size = Some(bytes.max(1));
        self
    }

    /// Then a Close with this code and reason.
    pub fn then_close(mut self, frame: CloseFrame) -> Delivery {
        self.then = Then::Close(frame);
        self
    }

    /// Then the TCP connection shut down without a Close.
    pub fn then_abort(mut self) -> Delivery {
        self.then = Then::Abort;
        self
    }

    /// At once, whole, going on: what the echo's own path sends without queueing.
    #[inline]
    pub(crate) fn is_plain(&self) -> bool {
        self.delay.is_zero() && self.frame_size.is_none() && matches!(self.then, Then::Continue)
    }
}

/// The echo: every message goes back unchanged, text as text and binary as binary, byte for
/// byte. It never copies the payload.
///
/// ```
/// use ws_echo::{Echo, Handler, Message};
///
/// let binary = Message::binary(vec![0, 159, 146, 150]);
/// assert_eq!(Echo.on_message(binary.clone()), Some(binary));
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Echo;

impl Handler for Echo {
    fn on_message(&mut self, message: Message) -> Option<Message> {
        Some(message)
    }
}

impl<H: Handler + ?Sized> Handler for &mut H {
    fn on_open(&mut self, connection: &Connection<'_>) -> Open {
        (**self).on_open(connection)
    }
    fn on_message(&mut self, message: Message) -> Option<Message> {
        (**self).on_message(message)
    }
    fn delivery(&mut self, answer: &Message) -> Delivery {
        (**self).delivery(answer)
    }
}

impl<H: Handler + ?Sized> Handler for Box<H> {
    fn on_open(&mut self, connection: &Connection<'_>) -> Open {
        (**self).on_open(connection)
    }
    fn on_message(&mut self, message: Message) -> Option<Message> {
        (**self).on_message(message)
    }
    fn delivery(&mut self, answer: &Message) -> Delivery {
        (**self).delivery(answer)
    }
}
