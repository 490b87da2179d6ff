//! [`Handler`], the plug-in point, and [`Echo`], its default implementation.

use std::time::Duration;

use crate::{Connection, Message, Open};

/// What a connection does when it opens and with each complete data message it receives.
///
/// The connection loop does everything else: the handshake, fragments, pings, limits, the close
/// handshake, errors. A handler sees the upgrade request once ([`on_open`](Handler::on_open)),
/// then only whole [`Message::Text`] and [`Message::Binary`] messages, in order, one at a time,
/// and answers each with at most one message, at once or [later](Handler::delay).
///
/// Each connection gets its own handler value (a [`Server`](crate::Server) clones the one it is given), so
/// `&mut self` can hold per-connection state. A panic inside `on_message` is caught: that
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
/// answers a second later:
///
/// ```
/// use std::time::Duration;
/// use ws_echo::{CloseCode, CloseFrame, Connection, Handler, Message, Open, Refusal};
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
///     fn delay(&mut self, _answer: &Message) -> Duration {
///         Duration::from_secs(1)
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

    /// How long `answer` (what [`on_message`](Handler::on_message) just returned) waits before
    /// it goes out; zero, the default, sends it at once. The connection does not wait with it:
    /// pings are answered meanwhile and later messages are read and handled, but answers go
    /// out in the order they were given, each no earlier than its delay. What waits counts
    /// against the connection's bound ([`Config::max_message_size`](crate::Config)): past it, no
    /// more is read until answers have gone. A shutdown sends its Close 1001 after every
    /// waiting answer has gone (within [`Config::drain_timeout`](crate::Config)); a Close from
    /// the peer, or one the handler returns, ends the connection after what has gone already
    /// (the peer closed before the rest was due).
    fn delay(&mut self, answer: &Message) -> Duration {
        let _ = answer;
        Duration::ZERO
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
    fn delay(&mut self, answer: &Message) -> Duration {
        (**self).delay(answer)
    }
}

impl<H: Handler + ?Sized> Handler for Box<H> {
    fn on_open(&mut self, connection: &Connection<'_>) -> Open {
        (**self).on_open(connection)
    }
    fn on_message(&mut self, message: Message) -> Option<Message> {
        (**self).on_message(message)
    }
    fn delay(&mut self, answer: &Message) -> Duration {
        (**self).delay(answer)
    }
}
