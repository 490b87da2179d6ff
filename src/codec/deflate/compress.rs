//! Outgoing: an answer compressed as one frame with RSV1 set.

use async_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use async_tungstenite::tungstenite::protocol::frame::Frame;
use async_tungstenite::tungstenite::{Bytes, Message};
use flate2::{Compress, FlushCompress};

use super::{spare, TAIL};
use crate::timer::Timer;

/// How much input is compressed between two yields to the executor ([`compress_yielding`]):
/// a mebibyte takes milliseconds, which the other connections of the thread should not wait.
pub(crate) const STEP: usize = 64 * 1024;

/// `message` compressed as one frame with RSV1 set, with a window of `window_bits` (9 to 15);
/// control frames, frames already made and messages that would not shrink go as they are.
pub(crate) fn compress(message: Message, window_bits: u8) -> Message {
    let Some(mut compressing) = Compressing::of(&message, window_bits) else {
        return message;
    };
    while !compressing.step(&message, usize::MAX) {}
    compressing.finish(message)
}

/// [`compress`], letting the executor run other tasks after each [`STEP`] of input.
pub(crate) async fn compress_yielding(message: Message, window_bits: u8, timer: Timer) -> Message {
    let Some(mut compressing) = Compressing::of(&message, window_bits) else {
        return message;
    };
    while !compressing.step(&message, STEP) {
        timer.yield_now().await;
    }
    compressing.finish(message)
}

/// One message being compressed.
struct Compressing {
    data: Data,
    bits: u8,
    compressor: Option<Box<Compress>>,
    out: Vec<u8>,
    /// Input bytes taken so far.
    taken: usize,
    /// `None` while under way; whether it succeeded once done.
    done: Option<bool>,
}

impl Compressing {
    /// Ready to compress `message`, if it is a text or binary one.
    fn of(message: &Message, window_bits: u8) -> Option<Compressing> {
        let data = match message {
            Message::Text(_) => Data::Text,
            Message::Binary(_) => Data::Binary,
            _ => return None,
        };
        let len = message.len();
        let (bits, compressor) = spare::compressor(window_bits);
        Some(Compressing {
            data,
            bits,
            compressor: Some(compressor),
            // Compressed output can exceed its input (stored blocks): room for that, and the
            // tail.
            out: Vec::with_capacity(len + len / 1024 + 64),
            taken: 0,
            done: None,
        })
    }

    /// Compresses up to `most` more bytes of `message`'s payload; `true` once all is done.
    fn step(&mut self, message: &Message, most: usize) -> bool {
        let (Some(compressor), None) = (self.compressor.as_mut(), self.done) else {
            return true;
        };
        let payload = payload(message);
        let end = payload.len().min(self.taken.saturating_add(most));
        let last = end == payload.len();
        let flush = if last {
            FlushCompress::Sync
        } else {
            FlushCompress::None
        };
        loop {
            let before = compressor.total_in();
            let done = compressor.compress_vec(&payload[self.taken..end], &mut self.out, flush);
            self.taken += (compressor.total_in() - before) as usize;
            let room_left = self.out.len() < self.out.capacity();
            match done {
                Ok(_) if self.taken == end && room_left => break,
                Ok(_) => self.out.reserve(self.out.capacity().max(64)),
                // Not expected of a compressor fed from memory: the message goes as it is.
                Err(_) => {
                    self.done = Some(false);
                    return true;
                }
            }
        }
        if last {
            self.done = Some(true);
        }
        last
    }

    /// The frame to send: compressed, or `message` as it was when that did not shrink it.
    fn finish(mut self, message: Message) -> Message {
        if let Some(compressor) = self.compressor.take() {
            spare::give_back_compressor(self.bits, compressor);
        }
        let mut out = std::mem::take(&mut self.out);
        if out.ends_with(&TAIL) {
            out.truncate(out.len() - TAIL.len());
        }
        if self.done != Some(true) || out.len() >= message.len() {
            // Incompressible: a message may go uncompressed (RFC 7692, 6).
            return message;
        }
        let mut frame = Frame::message(Bytes::from(out), OpCode::Data(self.data), true);
        frame.header_mut().rsv1 = true;
        Message::Frame(frame)
    }
}

/// A text or binary message's payload.
fn payload(message: &Message) -> &[u8] {
    match message {
        Message::Text(text) => text.as_bytes(),
        Message::Binary(bytes) => bytes,
        _ => &[],
    }
}
