//! Incoming: the frame transform that inflates compressed messages under tungstenite (see
//! [`super`]).

use std::io::{self, Cursor};
use std::pin::Pin;
use std::task::{Context, Poll};

use async_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use async_tungstenite::tungstenite::protocol::frame::FrameHeader;
use flate2::{Decompress, FlushDecompress, Status};
use futures_lite::{AsyncRead, AsyncWrite};

use super::{spare, TAIL};

/// How much is read from below at a time.
const READ: usize = 16 * 1024;

/// How much is inflated at a time, between checks of the limit.
const STEP: usize = 64 * 1024;

/// The stream under tungstenite, inflating compressed messages when armed.
#[derive(Debug)]
pub(crate) struct Inflate<S> {
    inner: S,
    /// `None`: inert, every read passes through.
    state: Option<Box<Inflating>>,
}

impl<S> Inflate<S> {
    /// Inert: reads pass through.
    pub(crate) fn new(inner: S) -> Inflate<S> {
        Inflate { inner, state: None }
    }

    /// Inflates from now on, the frames in `rest` (what the peer sent after its request head)
    /// first; messages may inflate to `limit` bytes, and a compressed frame may be as long as
    /// `frame_limit` compressed into more than it was (stored blocks: zlib with its smallest
    /// memory level adds some 4%; a sixteenth and 4 KiB more are allowed).
    pub(crate) fn arm(&mut self, rest: Vec<u8>, limit: usize, frame_limit: usize) {
        self.state = Some(Box::new(Inflating {
            limit,
            frame_limit: frame_limit.saturating_add(frame_limit / 16 + 4096),
            // The request head's buffer, unless frames followed the head in it.
            input: if rest.is_empty() { Vec::new() } else { rest },
            output: Vec::new(),
            handed: 0,
            reading: Reading::Header,
            message: None,
            passing: false,
        }));
    }

    /// The layer below.
    pub(crate) fn get_ref(&self) -> &S {
        &self.inner
    }
}

/// What the transform keeps between reads.
#[derive(Debug)]
struct Inflating {
    limit: usize,
    frame_limit: usize,
    /// Read from below, not yet taken apart.
    input: Vec<u8>,
    /// Ready for tungstenite: `output[handed..]`.
    output: Vec<u8>,
    handed: usize,
    reading: Reading,
    /// The compressed message under way, if any.
    message: Option<Inflater>,
    /// Everything passes through from now on (a header we could not read, or the end).
    passing: bool,
}

/// Where the transform is in the peer's stream of frames.
#[derive(Debug)]
enum Reading {
    /// At a frame's header.
    Header,
    /// Passing `left` more payload bytes of a plain frame through.
    Plain { left: u64 },
    /// Gathering a compressed frame's payload of `len` bytes.
    Compressed { header: FrameHeader, len: usize },
}

/// A compressed message as it arrives.
struct Inflater {
    decompress: Decompress,
    /// Bytes it has inflated to so far.
    inflated: usize,
    /// A frame of it has been handed up (the rest are continuations).
    started: bool,
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

impl Inflating {
    /// Takes apart what `input` holds, moving what is ready to `output`; `false` when more
    /// input is needed.
    fn step(&mut self) -> bool {
        if self.passing {
            self.output.append(&mut self.input);
            return false;
        }
        match &self.reading {
            Reading::Header => self.header(),
            Reading::Plain { left } => {
                let n = (*left).min(self.input.len() as u64) as usize;
                self.output.extend(self.input.drain(..n));
                let left = left - n as u64;
                self.reading = match left {
                    0 => Reading::Header,
                    left => Reading::Plain { left },
                };
                n > 0 || left == 0
            }
            Reading::Compressed { len, .. } if self.input.len() < *len => false,
            Reading::Compressed { .. } => {
                let Reading::Compressed { header, len } =
                    std::mem::replace(&mut self.reading, Reading::Header)
                else {
                    return false;
                };
                let mut payload: Vec<u8> = self.input.drain(..len).collect();
                if let Some(key) = header.mask {
                    payload
                        .iter_mut()
                        .enumerate()
                        .for_each(|(i, b)| *b ^= key[i & 3]);
                }
                self.inflate(&header, &payload);
                true
            }
        }
    }

    /// Reads a frame's header, and decides what its payload is.
    fn header(&mut self) -> bool {
        let mut cursor = Cursor::new(&self.input[..]);
        let (header, len) = match FrameHeader::parse(&mut cursor) {
            Ok(Some(parsed)) => parsed,
            Ok(None) => return false,
            // tungstenite reads the same bytes and fails the same way.
            Err(_) => {
                self.passing = true;
                return true;
            }
        };
        let header_len = cursor.position() as usize;
        let data = matches!(header.opcode, OpCode::Data(Data::Text | Data::Binary));
        let continuation = matches!(header.opcode, OpCode::Data(Data::Continue));
        let compressed = match &self.message {
            None => data && header.rsv1,
            Some(_) => continuation && !header.rsv1,
        };
        if !compressed {
            self.output.extend(self.input.drain(..header_len));
            self.reading = Reading::Plain { left: len };
            return true;
        }
        self.input.drain(..header_len);
        match usize::try_from(len)
            .ok()
            .filter(|&len| len <= self.frame_limit)
        {
            Some(len) => self.reading = Reading::Compressed { header, len },
            // Announced as it is: tungstenite refuses its length with 1009.
            None => self.refuse(&header, len),
        }
        true
    }

    /// Inflates one compressed frame's payload and hands it up as a plain frame.
    fn inflate(&mut self, header: &FrameHeader, payload: &[u8]) {
        let message = self.message.get_or_insert_with(|| Inflater {
            decompress: spare::inflater(),
            inflated: 0,
            started: false,
        });
        let mut inflated = Vec::new();
        let mut outcome = feed(message, payload, &mut inflated, self.limit);
        if outcome.is_ok() && header.is_final {
            outcome = feed(message, &TAIL, &mut inflated, self.limit);
        }
        let opcode = match message.started {
            true => OpCode::Data(Data::Continue),
            false => header.opcode,
        };
        message.started = true;
        let plain = FrameHeader {
            is_final: header.is_final,
            opcode,
            mask: Some([0; 4]),
            ..FrameHeader::default()
        };
        match outcome {
            Ok(()) => {
                self.emit(&plain, inflated.len() as u64);
                self.output.extend_from_slice(&inflated);
            }
            Err(Inflation::OverLimit) => self.refuse(&plain, self.limit as u64 + 1),
            Err(Inflation::Corrupt) => {
                let broken = FrameHeader {
                    rsv2: true,
                    ..plain
                };
                self.refuse(&broken, 0);
            }
        }
        if header.is_final {
            if let Some(done) = self.message.take() {
                spare::give_back(done.decompress);
            }
        }
    }

    /// Hands up a header whose frame tungstenite refuses, and passes the rest through: the
    /// connection ends with tungstenite's close code.
    fn refuse(&mut self, header: &FrameHeader, len: u64) {
        self.emit(header, len);
        self.passing = true;
        if let Some(message) = self.message.take() {
            spare::give_back(message.decompress);
        }
    }

    /// Hands up a frame header announcing `len` payload bytes (a zero mask key leaves the
    /// payload that follows as it is).
    fn emit(&mut self, header: &FrameHeader, len: u64) {
        // Writing to a Vec cannot fail.
        let _ = header.format(len, &mut self.output);
    }
}

/// Why a message stopped inflating.
enum Inflation {
    OverLimit,
    Corrupt,
}

/// Inflates `input` into `out`, in steps, stopping as soon as the message passes `limit`.
fn feed(
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

impl<S: AsyncRead + Unpin> AsyncRead for Inflate<S> {
    #[inline]
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        match this.state.as_deref_mut() {
            None => Pin::new(&mut this.inner).poll_read(cx, buf),
            Some(state) => state.poll_read(&mut this.inner, cx, buf),
        }
    }
}

impl Inflating {
    fn poll_read<S: AsyncRead + Unpin>(
        &mut self,
        inner: &mut S,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        loop {
            if self.handed < self.output.len() {
                let n = buf.len().min(self.output.len() - self.handed);
                buf[..n].copy_from_slice(&self.output[self.handed..self.handed + n]);
                self.handed += n;
                if self.handed == self.output.len() {
                    // Idle, it holds nothing.
                    (self.output, self.handed) = (Vec::new(), 0);
                }
                return Poll::Ready(Ok(n));
            }
            if self.step() {
                continue;
            }
            if self.passing && self.input.is_empty() && self.output.is_empty() {
                return Pin::new(inner).poll_read(cx, buf);
            }
            if !self.output.is_empty() {
                continue;
            }
            let at = self.input.len();
            self.input.resize(at + READ, 0);
            let read = Pin::new(&mut *inner).poll_read(cx, &mut self.input[at..]);
            let n = match &read {
                Poll::Ready(Ok(n)) => *n,
                _ => 0,
            };
            self.input.truncate(at + n);
            match read {
                Poll::Ready(Ok(0)) => {
                    // The end: what is left of a frame goes up as it is.
                    self.passing = true;
                    if self.input.is_empty() {
                        self.input = Vec::new();
                        return Poll::Ready(Ok(0));
                    }
                }
                Poll::Ready(Ok(_)) => {}
                other => {
                    if self.input.is_empty() {
                        self.input = Vec::new();
                    }
                    return other;
                }
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Inflate<S> {
    crate::codec::pass_through!(poll_write, poll_flush, poll_close);
}
