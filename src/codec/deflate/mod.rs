//! permessage-deflate (RFC 7692) around tungstenite, which rejects any frame with RSV1 set and
//! has no extension hook.
//!
//! - Incoming: [`Inflate`], a frame transform under tungstenite (`inflate.rs`). It reads the
//!   peer's frames; a message whose first frame has RSV1 is inflated (with the `00 00 ff ff`
//!   tail appended after its last frame) and handed up as plain frames, masked again with a
//!   zero key (a server-role tungstenite expects masked frames and takes any key). Control
//!   frames between its fragments, and every frame of a plain message, pass through byte for
//!   byte. What a message inflates to counts against the message limit while it is inflated:
//!   past it, the frame handed up announces one byte more than the limit, and tungstenite
//!   answers 1009 before any of it is read. A corrupt stream is handed up as a frame with RSV2
//!   set: 1002. RSV1 on a continuation or a control frame, or without the extension agreed,
//!   reaches tungstenite unchanged: 1002. Inert (one test per read) on a connection without it.
//! - Outgoing: [`compress`] makes an answer a frame with RSV1 set (`compress.rs`), which
//!   tungstenite writes unchanged.
//!
//! Neither side keeps compression state between messages (no context takeover, agreed both
//! ways): an inflater is held only while a message arrives, a compressor only while one is
//! compressed, and both are borrowed from a spare of the thread ([`spare`]).

mod compress;
mod inflate;

use std::cell::Cell;

use async_tungstenite::tungstenite::protocol::frame::FrameHeader;
use flate2::{Compress, Compression, Decompress, FlushDecompress, Status};

pub(crate) use self::compress::{compress, compress_yielding, STEP as COMPRESS_STEP};
pub(crate) use self::inflate::Inflate;

/// The tail every compressed message lost (RFC 7692, 7.2.2).
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// Where the transform is in the peer's stream of frames.
#[derive(Debug)]
pub(super) enum Reading {
    /// At a frame's header.
    Header,
    /// Passing `left` more payload bytes of a plain frame through.
    Plain { left: u64 },
    /// Gathering a compressed frame's payload of `len` bytes.
    Compressed { header: FrameHeader, len: usize },
}

/// How much is inflated at a time, between checks of the limit.
const STEP: usize = 64 * 1024;

/// A compressed message as it arrives.
pub(super) struct Inflater {
    pub(super) decompress: Decompress,
    /// Bytes it has inflated to so far.
    pub(super) inflated: usize,
    /// A frame of it has been handed up (the rest are continuations).
    pub(super) started: bool,
}

impl std::fmt::Debug for Inflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Inflater {{ inflated: {}, started: {} }}",
            self.inflated, self.started
        )
    }
}

/// Why a message stopped inflating.
pub(super) enum Inflation {
    OverLimit,
    Corrupt,
}

/// Inflates `input` into `out`, in steps, stopping as soon as the message passes `limit`.
pub(super) fn feed(
    message: &mut Inflater,
    mut input: &[u8],
    out: &mut Vec<u8>,
    limit: usize,
) -> Result<(), Inflation> {
    loop {
        let room = (limit + 1).saturating_sub(message.inflated).clamp(1, STEP);
        out.reserve(room);
        let (before_in, before_out) = (message.decompress.total_in(), out.len());
        let status = message
            .decompress
            .decompress_vec(input, out, FlushDecompress::Sync)
            .map_err(|_| Inflation::Corrupt)?;
        let taken = (message.decompress.total_in() - before_in) as usize;
        let produced = out.len() - before_out;
        input = &input[taken..];
        message.inflated += produced;
        if message.inflated > limit {
            return Err(Inflation::OverLimit);
        }
        let room_left = out.len() < out.capacity();
        if let Status::StreamEnd = status {
            // A final block: what follows it (but the tail) starts a stream of its own.
            if input.is_empty() || input == TAIL {
                return Ok(());
            }
            message.decompress.reset(false);
            continue;
        }
        if input.is_empty() && room_left {
            return Ok(());
        }
        if taken == 0 && produced == 0 && room_left {
            // No progress with room to spare: the stream is broken.
            return Err(Inflation::Corrupt);
        }
    }
}

/// The spare inflater and compressor of each thread, lent while a message is (de)compressed.
mod spare {
    use super::*;

    thread_local! {
        static INFLATER: Cell<Option<Box<Decompress>>> = const { Cell::new(None) };
        static COMPRESSOR: Cell<Option<(u8, Box<Compress>)>> = const { Cell::new(None) };
    }

    /// The thread's inflater (reset), or a new one with a 32 KiB window.
    pub(super) fn inflater() -> Decompress {
        match INFLATER.try_with(Cell::take).ok().flatten() {
            Some(inflater) => *inflater,
            None => Decompress::new_with_window_bits(false, 15),
        }
    }

    /// Keeps `inflater` as the thread's spare, reset.
    pub(super) fn give_back(mut inflater: Decompress) {
        inflater.reset(false);
        let _ = INFLATER.try_with(|slot| slot.set(Some(Box::new(inflater))));
    }

    /// The thread's compressor for `window_bits` (9 to 15), reset, or a new one; with the
    /// window it has.
    pub(super) fn compressor(window_bits: u8) -> (u8, Box<Compress>) {
        let bits = window_bits.clamp(9, 15);
        match COMPRESSOR.try_with(Cell::take).ok().flatten() {
            Some((kept, compressor)) if kept == bits => (bits, compressor),
            _ => {
                let level = Compression::default();
                (
                    bits,
                    Box::new(Compress::new_with_window_bits(level, false, bits)),
                )
            }
        }
    }

    /// Keeps `compressor`, of a window of `bits`, as the thread's spare, reset.
    pub(super) fn give_back_compressor(bits: u8, mut compressor: Box<Compress>) {
        compressor.reset();
        let _ = COMPRESSOR.try_with(|slot| slot.set(Some((bits, compressor))));
    }
}
