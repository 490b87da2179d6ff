//! What a connection opens with after the 101, as the handler's
//! [`on_open`](crate::Handler::on_open) answered: greetings, then perhaps an end.

use std::ops::ControlFlow::{self, Break, Continue};

use async_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use async_tungstenite::tungstenite::Message;
use futures_lite::{AsyncRead, AsyncWrite};

use super::closing::close_frame;
use super::Conn;
use crate::handler::Then;
use crate::handshake::extension::Deflate;
use crate::handshake::Refusal;
use crate::open::{Open, Push};
use crate::summary::Ending;

/// The greetings and the end that a connection opens with.
#[derive(Debug, Default)]
pub(crate) struct Prelude {
    /// Sent before any echo, in order.
    pub(crate) greetings: Vec<Message>,
    /// What follows them: the connection goes on, or ends at once.
    pub(crate) then: Then,
    /// permessage-deflate, when the upgrade agreed it.
    pub(crate) deflate: Option<Deflate>,
    /// Headers for the 101 besides the upgrade's own ([`Open::Header`]).
    pub(crate) headers: Vec<(String, String)>,
    /// The subprotocol the handler chose, if the client offered it ([`Open::Protocol`]).
    pub(crate) protocol: Option<String>,
    /// Messages the server sends on its own schedule ([`Open::Push`]).
    pub(crate) pushes: Vec<Push>,
    /// The client's pings go unanswered ([`Open::NoPong`]).
    pub(crate) no_pong: bool,
}

impl Prelude {
    /// The prelude of what the handler answered, or the refusal to answer instead of the 101.
    pub(crate) fn of(open: Open) -> Result<Prelude, Refusal> {
        let mut prelude = Prelude::default();
        prelude.add(open)?;
        Ok(prelude)
    }

    fn add(&mut self, open: Open) -> Result<(), Refusal> {
        if !matches!(self.then, Then::Continue) {
            // What follows an end is not sent; a refusal still refuses.
            return match open {
                Open::Refuse(refusal) => Err(refusal),
                _ => Ok(()),
            };
        }
        match open {
            Open::Accept => {}
            Open::Greet(Message::Close(frame)) => {
                self.then =
                    Then::Close(frame.unwrap_or_else(|| close_frame(CloseCode::Normal, "")));
            }
            Open::Greet(message) => self.greetings.push(message),
            Open::Header(name, value) => self.headers.push((name, value)),
            Open::Protocol(name) => self.protocol = Some(name),
            Open::Push(push) => self.pushes.push(push),
            Open::NoPong => self.no_pong = true,
            Open::Close(frame) => self.then = Then::Close(frame),
            Open::Abort => self.then = Then::Abort,
            Open::Refuse(refusal) => return Err(refusal),
            Open::Sequence(steps) => {
                for step in steps {
                    self.add(step)?;
                }
            }
        }
        Ok(())
    }

    /// Nothing to send before the echoes.
    pub(crate) fn is_empty(&self) -> bool {
        self.greetings.is_empty() && matches!(self.then, Then::Continue)
    }
}

impl<S> Conn<'_, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// Sends what the connection opens with: the greetings, then the end if there is one.
    pub(super) async fn open(&mut self, prelude: Prelude) -> ControlFlow<Ending> {
        let greeted = !prelude.greetings.is_empty();
        for message in prelude.greetings {
            let len = message.len() as u64;
            self.feed_aside(message).await?;
            self.counts.sent(len);
        }
        if !matches!(prelude.then, Then::Continue) {
            return Break(self.end(prelude.then).await);
        }
        if greeted {
            self.flush().await?;
        }
        Continue(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CloseFrame;

    #[test]
    fn a_sequence_greets_in_order_and_stops_at_its_end() {
        let bye = CloseFrame {
            code: CloseCode::Library(4000),
            reason: "bye".into(),
        };
        let prelude = Prelude::of(Open::Sequence(vec![
            Open::Greet(Message::text("one")),
            Open::Sequence(vec![Open::Accept, Open::Greet(Message::text("two"))]),
            Open::Close(bye.clone()),
            Open::Greet(Message::text("never")),
        ]))
        .unwrap();
        assert_eq!(
            prelude.greetings,
            [Message::text("one"), Message::text("two")]
        );
        assert_eq!(prelude.then, Then::Close(bye));
        assert!(Prelude::of(Open::Accept).unwrap().is_empty());
        let refused = Prelude::of(Open::Sequence(vec![
            Open::Abort,
            Open::Refuse(Refusal::of(401, "no")),
        ]));
        assert_eq!(refused.unwrap_err().status(), 401);
    }
}
