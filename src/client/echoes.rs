//! Echo matching: the messages sent and not yet echoed, oldest first. An echo must be the
//! oldest one, same type and same bytes; anything else is unexpected.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use async_tungstenite::tungstenite::Message;

/// The messages awaiting their echo.
#[derive(Debug, Default)]
pub(super) struct Echoes {
    /// (seq, last sent at, message), oldest first.
    pending: VecDeque<(u64, Instant, Message)>,
}

/// What a received data message was.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Matched {
    /// The echo of message `seq`, `rtt` after its last send.
    Echo { seq: u64, rtt: Duration },
    /// Not the echo of the oldest message awaiting one.
    Unexpected,
}

impl Echoes {
    /// Message `seq` went out now.
    pub(super) fn sent(&mut self, seq: u64, message: Message) {
        self.pending.push_back((seq, Instant::now(), message));
    }

    /// How long ago the oldest awaiting its echo was (last) sent.
    pub(super) fn oldest_age(&self) -> Option<Duration> {
        self.pending
            .front()
            .map(|(_, sent_at, _)| sent_at.elapsed())
    }

    /// How many await their echo.
    pub(super) fn len(&self) -> usize {
        self.pending.len()
    }

    /// The message at `index` (oldest first), to send again on a new connection.
    pub(super) fn get(&self, index: usize) -> Option<Message> {
        self.pending
            .get(index)
            .map(|(_, _, message)| message.clone())
    }

    /// The message at `index` was sent again now: its round trip counts from here.
    pub(super) fn resent(&mut self, index: usize) {
        if let Some(entry) = self.pending.get_mut(index) {
            entry.1 = Instant::now();
        }
    }

    /// The oldest awaiting its echo will not get one (the server refused it): it is awaited no
    /// more. `false` when none was awaited.
    pub(super) fn refuse_oldest(&mut self) -> bool {
        self.pending.pop_front().is_some()
    }

    /// Matches a received data message against the oldest awaiting its echo.
    pub(super) fn received(&mut self, message: &Message) -> Matched {
        match self.pending.front() {
            Some((_, _, expected)) if expected == message => match self.pending.pop_front() {
                Some((seq, sent_at, _)) => Matched::Echo {
                    seq,
                    rtt: sent_at.elapsed(),
                },
                None => Matched::Unexpected,
            },
            _ => Matched::Unexpected,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echoes_match_in_order_by_type_and_bytes() {
        let mut echoes = Echoes::default();
        echoes.sent(1, Message::text("a"));
        echoes.sent(2, Message::binary(b"a".to_vec()));
        // Same bytes, other type: not the echo of message 1.
        assert_eq!(
            echoes.received(&Message::binary(b"a".to_vec())),
            Matched::Unexpected
        );
        assert!(matches!(
            echoes.received(&Message::text("a")),
            Matched::Echo { seq: 1, .. }
        ));
        assert!(matches!(
            echoes.received(&Message::binary(b"a".to_vec())),
            Matched::Echo { seq: 2, .. }
        ));
        assert_eq!(echoes.len(), 0);
        assert_eq!(echoes.received(&Message::text("a")), Matched::Unexpected);
    }

    #[test]
    fn what_awaits_its_echo_can_be_sent_again() {
        let mut echoes = Echoes::default();
        echoes.sent(1, Message::text("one"));
        echoes.sent(2, Message::text("two"));
        assert_eq!(echoes.get(1), Some(Message::text("two")));
        assert_eq!(echoes.get(2), None);
        echoes.resent(0);
        assert_eq!(echoes.len(), 2);
    }
}
