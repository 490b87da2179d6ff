//! [`Handler`], the plug-in point, and [`Echo`], its default implementation.

use crate::Message;

/// What a connection does with each complete data message it receives.
///
/// The connection loop does everything else: the handshake, fragments, pings, limits, the close
/// handshake, errors. A handler sees only whole [`Message::Text`] and [`Message::Binary`]
/// messages, in order, one at a time, and answers each with at most one message.
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
pub trait Handler {
    /// Called for each complete text or binary message. Return the message to send back, or
    /// `None` to send nothing. Returning a [`Message::Close`] sends that Close and ends the
    /// connection once the peer answers it.
    fn on_message(&mut self, message: Message) -> Option<Message>;
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
    fn on_message(&mut self, message: Message) -> Option<Message> {
        (**self).on_message(message)
    }
}

impl<H: Handler + ?Sized> Handler for Box<H> {
    fn on_message(&mut self, message: Message) -> Option<Message> {
        (**self).on_message(message)
    }
}
