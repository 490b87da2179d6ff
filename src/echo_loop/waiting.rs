//! Answers kept for later ([`Handler::delivery`](crate::Handler::delivery) gave them a delay, a
//! frame size or an end): they wait in order, each at or after its time, under a bound of
//! their own ([`Config::max_waiting_answers`](crate::Config)); past it the loop stops reading.
//! An answer whose time has come is fed whole or in frames, and what its delivery says follows
//! it.

use std::collections::VecDeque;
use std::future::Future;
use std::ops::ControlFlow::{self, Break, Continue};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use async_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use async_tungstenite::tungstenite::protocol::frame::Frame;
use async_tungstenite::tungstenite::{Bytes, Message};
use futures_lite::{AsyncRead, AsyncWrite};

use super::decide::{Batch, BATCH};
use super::Conn;
use crate::handler::{Delivery, Then};
use crate::summary::Ending;
use crate::timer::{later, Sleep, Timer};

/// What a waiting answer costs besides its payload, for the bound.
const ENTRY: usize = 64;

/// One answer waiting for its time.
struct Waiting {
    due: Instant,
    answer: Message,
    frame_size: Option<usize>,
    then: Then,
}

/// Answers that go out later than at once, in the order given, each at or after its time.
pub(super) struct WaitingAnswers {
    queue: VecDeque<Waiting>,
    /// Payload bytes waiting, and [`ENTRY`] for each answer.
    bytes: usize,
    /// The most `bytes` may reach before the loop stops reading.
    limit: usize,
    sleep: Sleep,
    /// The deadline `sleep` is set to.
    armed: Option<Instant>,
}

impl WaitingAnswers {
    pub(super) fn new(timer: Timer, limit: usize) -> Box<WaitingAnswers> {
        Box::new(WaitingAnswers {
            queue: VecDeque::new(),
            bytes: 0,
            limit,
            sleep: timer.never(),
            armed: None,
        })
    }

    pub(super) fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// They hold as much as the bound allows.
    pub(super) fn is_full(&self) -> bool {
        self.bytes >= self.limit
    }

    /// Waits `answer` as `delivery` says, and after the answer before it.
    pub(super) fn push(&mut self, now: Instant, answer: Message, delivery: Delivery) {
        let due = later(now, delivery.delay);
        let due = self.queue.back().map_or(due, |last| due.max(last.due));
        self.bytes += answer.len() + ENTRY;
        self.queue.push_back(Waiting {
            due,
            answer,
            frame_size: delivery.frame_size,
            then: delivery.then,
        });
    }

    /// The first answer, if its time has come.
    fn pop_due(&mut self, now: Instant) -> Option<Waiting> {
        if self.queue.front().is_none_or(|first| first.due > now) {
            return None;
        }
        let waiting = self.queue.pop_front()?;
        self.bytes -= waiting.answer.len() + ENTRY;
        Some(waiting)
    }

    /// Ready when the first answer's time has come.
    pub(super) fn poll_due(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(due) = self.queue.front().map(|first| first.due) else {
            return Poll::Pending;
        };
        if self.armed != Some(due) {
            self.sleep.set_at(due);
            self.armed = Some(due);
        }
        let fired = Pin::new(&mut self.sleep).poll(cx);
        if fired.is_ready() {
            self.armed = None;
        }
        fired
    }
}

/// An answer as it goes out: whole, or as the frames of a fragmented message.
pub(super) enum Outgoing {
    Whole(Message),
    Frames(Frames),
}

impl Outgoing {
    /// `message` whole, or in frames of at most `frame_size` payload bytes when it is longer.
    pub(super) fn of(message: Message, frame_size: Option<usize>) -> Outgoing {
        let Some(size) = frame_size.map(|size| size.max(1)) else {
            return Outgoing::Whole(message);
        };
        let (data, payload) = match message {
            Message::Text(text) if text.len() > size => (Data::Text, Bytes::from(text)),
            Message::Binary(bytes) if bytes.len() > size => (Data::Binary, bytes),
            other => return Outgoing::Whole(other),
        };
        Outgoing::Frames(Frames {
            data,
            payload,
            size,
            sent: 0,
        })
    }
}

/// The frames of one fragmented answer, made one at a time (frames of 1 byte of a mebibyte are a
/// million): the first carries the type, the rest are continuations, the last is final.
pub(super) struct Frames {
    data: Data,
    payload: Bytes,
    size: usize,
    /// Bytes of the payload in frames so far.
    sent: usize,
}

impl Iterator for Frames {
    type Item = Message;

    fn next(&mut self) -> Option<Message> {
        if self.sent >= self.payload.len() {
            return None;
        }
        let opcode = match self.sent {
            0 => OpCode::Data(self.data),
            _ => OpCode::Data(Data::Continue),
        };
        let end = (self.sent + self.size).min(self.payload.len());
        let frame = Frame::message(
            self.payload.slice(self.sent..end),
            opcode,
            end == self.payload.len(),
        );
        self.sent = end;
        Some(Message::Frame(frame))
    }
}

impl<S> Conn<'_, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// Keeps an answer that does not take the plain echo's way, behind the answers already
    /// waiting; the next wait finds it due (at once, when it has no delay) and
    /// [`send_due`](Self::send_due) delivers it. Kept out of line: the echo's path only tests
    /// whether to call it.
    #[inline(never)]
    pub(super) fn keep(&mut self, answer: Message, delivery: Delivery) {
        let (timer, limit) = (self.running.timer, self.config.limits.max_waiting_answers);
        let waiting = (self.waiting).get_or_insert_with(|| WaitingAnswers::new(timer, limit));
        waiting.push(Instant::now(), answer, delivery);
    }

    /// Sends every waiting answer whose time has come.
    pub(super) async fn send_due(&mut self, batch: &mut Batch) -> ControlFlow<Ending> {
        let now = Instant::now();
        while let Some(due) = (self.waiting.as_mut()).and_then(|waiting| waiting.pop_due(now)) {
            self.deliver(due, batch).await?;
        }
        Continue(())
    }

    /// Feeds one answer, whole or in frames, counts it, and ends the connection if its
    /// delivery says so.
    async fn deliver(&mut self, due: Waiting, batch: &mut Batch) -> ControlFlow<Ending> {
        let len = due.answer.len() as u64;
        match Outgoing::of(due.answer, due.frame_size) {
            Outgoing::Whole(answer) => self.feed_aside(answer).await?,
            Outgoing::Frames(frames) => {
                // Frames of one byte make a frame of every byte: let the others run between
                // batches of them, as between batches of echoes.
                for (n, frame) in frames.enumerate() {
                    self.feed_aside(frame).await?;
                    if n % BATCH as usize == BATCH as usize - 1 {
                        self.running.timer.yield_now().await;
                    }
                }
            }
        }
        self.counts.sent(len);
        batch.add(len);
        match due.then {
            Then::Continue => Continue(()),
            end => Break(self.end(end).await),
        }
    }

    /// Whether answers are waiting for their time.
    pub(super) fn answers_waiting(&self) -> bool {
        (self.waiting.as_ref()).is_some_and(|waiting| !waiting.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn shapes(outgoing: Outgoing) -> Vec<(OpCode, bool, Vec<u8>)> {
        let Outgoing::Frames(frames) = outgoing else {
            panic!("not in frames");
        };
        frames
            .map(|m| match m {
                Message::Frame(f) => (f.header().opcode, f.header().is_final, f.payload().to_vec()),
                other => panic!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn frames_are_at_most_the_size_and_only_the_first_has_the_type() {
        assert_eq!(
            shapes(Outgoing::of(Message::text("0123456789"), Some(4))),
            [
                (OpCode::Data(Data::Text), false, b"0123".to_vec()),
                (OpCode::Data(Data::Continue), false, b"4567".to_vec()),
                (OpCode::Data(Data::Continue), true, b"89".to_vec()),
            ]
        );
        let short = Outgoing::of(Message::binary(vec![1, 2, 3, 4]), Some(4));
        assert!(matches!(short, Outgoing::Whole(m) if m == Message::binary(vec![1, 2, 3, 4])));
    }

    #[test]
    fn answers_keep_their_order_and_count_against_the_bound() {
        let mut waiting = WaitingAnswers::new(Timer::AsyncIo, 200);
        let now = Instant::now();
        waiting.push(
            now,
            Message::text("late"),
            Delivery::after(Duration::from_secs(1)),
        );
        waiting.push(now, Message::text("now"), Delivery::now());
        assert_eq!(waiting.bytes, 4 + 3 + 2 * ENTRY);
        assert!(!waiting.is_full());
        // The second had no delay, but waits behind the first.
        assert!(waiting.pop_due(now).is_none());
        let first = waiting
            .pop_due(now + Duration::from_secs(1))
            .map(|w| w.answer);
        assert_eq!(first, Some(Message::text("late")));
        let second = waiting
            .pop_due(now + Duration::from_secs(1))
            .map(|w| w.answer);
        assert_eq!(second, Some(Message::text("now")));
        assert_eq!((waiting.bytes, waiting.is_empty()), (0, true));
        waiting.push(now, Message::binary(vec![0; 136]), Delivery::now());
        assert!(waiting.is_full());
    }
}
