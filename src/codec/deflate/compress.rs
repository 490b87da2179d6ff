//! Outgoing: an answer compressed as one frame with RSV1 set.

use async_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use async_tungstenite::tungstenite::protocol::frame::Frame;
use async_tungstenite::tungstenite::{Bytes, Message};
use flate2::FlushCompress;

use super::{spare, TAIL};

/// `message` compressed as one frame with RSV1 set, with a window of `window_bits` (9 to 15);
/// control frames and frames already made pass as they are.
pub(crate) fn compress(message: Message, window_bits: u8) -> Message {
    let (data, payload) = match message {
        Message::Text(text) => (Data::Text, Bytes::from(text)),
        Message::Binary(bytes) => (Data::Binary, bytes),
        other => return other,
    };
    let (bits, mut compressor) = spare::compressor(window_bits);
    // Compressed output can exceed its input (stored blocks): room for that, and the tail.
    let mut out = Vec::with_capacity(payload.len() + payload.len() / 1024 + 64);
    let mut input = &payload[..];
    loop {
        let before = compressor.total_in();
        let done = compressor.compress_vec(input, &mut out, FlushCompress::Sync);
        input = &input[(compressor.total_in() - before) as usize..];
        let room_left = out.len() < out.capacity();
        match done {
            Ok(_) if input.is_empty() && room_left => break,
            Ok(_) => out.reserve(out.capacity().max(64)),
            // Not expected of a compressor fed from memory: send the message uncompressed.
            Err(_) => {
                spare::give_back_compressor(bits, compressor);
                return plain(data, payload);
            }
        }
    }
    spare::give_back_compressor(bits, compressor);
    if out.ends_with(&TAIL) {
        out.truncate(out.len() - TAIL.len());
    }
    if out.len() >= payload.len() {
        // Incompressible: a message may go uncompressed (RFC 7692, 6).
        return plain(data, payload);
    }
    let mut frame = Frame::message(Bytes::from(out), OpCode::Data(data), true);
    frame.header_mut().rsv1 = true;
    Message::Frame(frame)
}

/// The message as it was.
fn plain(data: Data, payload: Bytes) -> Message {
    match data {
        Data::Text => match String::from_utf8(payload.to_vec()) {
            Ok(text) => Message::text(text),
            Err(_) => Message::Binary(payload),
        },
        _ => Message::Binary(payload),
    }
}
