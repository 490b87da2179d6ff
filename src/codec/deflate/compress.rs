//! Outgoing: an answer compressed as one frame with RSV1 set.

use async_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use async_tungstenite::tungstenite::protocol::frame::Frame;
use async_tungstenite::tungstenite::{Bytes, Message};
use flate2::FlushCompress;

use super::{spare, TAIL};

/// `message` compressed as one frame with RSV1 set, with a window of `window_bits` (9 to 15);
/// control frames, frames already made and messages that would not shrink go as they are.
pub(crate) fn compress(message: Message, window_bits: u8) -> Message {
    let (data, payload) = match &message {
        Message::Text(text) => (Data::Text, text.as_bytes()),
        Message::Binary(bytes) => (Data::Binary, &bytes[..]),
        _ => return message,
    };
    let (bits, mut compressor) = spare::compressor(window_bits);
    // Compressed output can exceed its input (stored blocks): room for that, and the tail.
    let mut out = Vec::with_capacity(payload.len() + payload.len() / 1024 + 64);
    let mut input = payload;
    let compressed = loop {
        let before = compressor.total_in();
        let done = compressor.compress_vec(input, &mut out, FlushCompress::Sync);
        input = &input[(compressor.total_in() - before) as usize..];
        let room_left = out.len() < out.capacity();
        match done {
            Ok(_) if input.is_empty() && room_left => break true,
            Ok(_) => out.reserve(out.capacity().max(64)),
            // Not expected of a compressor fed from memory: the message goes as it is.
            Err(_) => break false,
        }
    };
    spare::give_back_compressor(bits, compressor);
    if out.ends_with(&TAIL) {
        out.truncate(out.len() - TAIL.len());
    }
    if !compressed || out.len() >= payload.len() {
        // Incompressible: a message may go uncompressed (RFC 7692, 6).
        return message;
    }
    let mut frame = Frame::message(Bytes::from(out), OpCode::Data(data), true);
    frame.header_mut().rsv1 = true;
    Message::Frame(frame)
}
