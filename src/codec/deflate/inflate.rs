//! Incoming: the frame transform that inflates compressed messages under tungstenite (see
//! [`super`]).

use std::io::{self, Cursor};
use std::pin::Pin;
use std::task::{Context, Poll};

use async_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use async_tungstenite::tungstenite::protocol::frame::FrameHeader;
use flate2::Decompress;
use futures_lite::AsyncRead;

use super::{feed, spare, Inflater, Inflation, Reading, TAIL};
use crate::codec::no_pong::DropPongs;

/// How much is read from below at a time.
const READ: usize = 16 * 1024;

/// The stream under tungstenite, inflating compressed messages when armed.
#[derive(Debug)]
pub(crate) struct Inflate<S> {
    pub(in crate::codec) inner: S,
    /// `None`: inert, every read passes through.
    state: Option<Box<Inflating>>,
    /// Written Pongs are left out (see `no_pong.rs`); `None`: every write passes through.
    pub(in crate::codec) no_pong: Option<Box<DropPongs>>,
}

impl<S> Inflate<S> {
    /// Inert: reads pass through.
    pub(crate) fn new(inner: S) -> Inflate<S> {
        Inflate {
            inner,
            state: None,
            no_pong: None,
        }
    }

    /// Inflates from now on, the frames in `rest` (what the peer sent after its request head)
    /// first; messages may inflate to `limit` bytes, and a compressed frame may be as long as
    /// `frame_limit` compressed into more than it was ([`with_slack`]). As a server: frames
    /// are handed up masked (with a zero key), and no context is kept between messages.
    pub(crate) fn arm(&mut self, rest: Vec<u8>, limit: usize, frame_limit: usize) {
        let mut state = Inflating::new(limit, frame_limit);
        // The request head's buffer, unless frames followed the head in it.
        state.input = if rest.is_empty() { Vec::new() } else { rest };
        state.mask = Some([0; 4]);
        self.state = Some(Box::new(state));
    }

    /// A client's layer before its upgrade: it hands up the server's answer up to the end of
    /// its head and holds back what follows until [`Inflate::open`] says how to read it, so that
    /// tungstenite's handshake never reads a compressed frame past the 101.
    pub(crate) fn gated(inner: S) -> Inflate<S> {
        let mut state = Inflating::new(0, 0);
        state.gate = Some(0);
        Inflate {
            inner,
            state: Some(Box::new(state)),
            no_pong: None,
        }
    }

    /// After a client's upgrade: inflates as [`Inflate::arm`] does, unmasked, keeping the
    /// context between messages when `takeover` (the server did not agree to
    /// `server_no_context_takeover`); or, with `None`, passes everything through.
    pub(crate) fn open(&mut self, inflating: Option<(usize, usize, bool)>) {
        let Some(state) = self.state.as_deref_mut() else {
            return;
        };
        state.gate = None;
        match inflating {
            Some((limit, frame_limit, takeover)) => {
                state.limit = limit;
                state.frame_limit = with_slack(frame_limit);
                state.takeover = takeover;
            }
            None => state.passing = true,
        }
    }

    /// The layer below.
    pub(crate) fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The layer below.
    pub(crate) fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }
}

/// How long a compressed frame may be, for a frame limit of `frame_limit` bytes: what it
/// compresses to at worst (stored blocks add some 4% at zlib's smallest memory level), with a
/// sixteenth and 4 KiB more allowed.
fn with_slack(frame_limit: usize) -> usize {
    frame_limit.saturating_add(frame_limit / 16 + 4096)
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
    /// The mask key of the frames handed up: a zero key for a server-role tungstenite, none
    /// for a client-role one.
    mask: Option<[u8; 4]>,
    /// Keep the inflater's context from one message to the next.
    takeover: bool,
    /// The inflater kept between messages, under context takeover.
    context: Option<Decompress>,
    /// Before a client's upgrade: how much of `\r\n\r\n` the answer's last bytes matched;
    /// past it, `Some(4)`, what follows a 101 is held.
    gate: Option<usize>,
    /// The first bytes of the answer, to tell a 101 from a refusal (whose body goes up with
    /// its head, for the error to show).
    answer_start: Vec<u8>,
}

impl Inflating {
    fn new(limit: usize, frame_limit: usize) -> Inflating {
        Inflating {
            limit,
            frame_limit: with_slack(frame_limit),
            input: Vec::new(),
            output: Vec::new(),
            handed: 0,
            reading: Reading::Header,
            message: None,
            passing: false,
            mask: None,
            takeover: false,
            context: None,
            gate: None,
            answer_start: Vec::new(),
        }
    }

    /// Before a client's upgrade: hands up the answer's head, holds back the rest.
    fn gate(&mut self, matched: usize) -> bool {
        const END: &[u8; 4] = b"\r\n\r\n";
        if matched == END.len() || self.input.is_empty() {
            return false;
        }
        const SWITCHING: &[u8] = b"HTTP/1.1 101 ";
        let room = SWITCHING.len().saturating_sub(self.answer_start.len());
        let start = &self.input[..room.min(self.input.len())];
        self.answer_start.extend_from_slice(start);
        if !SWITCHING.starts_with(&self.answer_start) {
            // Not an upgrade: the refusal goes up whole, its body with its head, for
            // tungstenite's error to show.
            self.gate = None;
            self.passing = true;
            return true;
        }
        let mut matched = matched;
        let mut end = self.input.len();
        for (i, &b) in self.input.iter().enumerate() {
            matched = match b {
                b if b == END[matched] => matched + 1,
                b'\r' => 1,
                _ => 0,
            };
            if matched == END.len() {
                end = i + 1;
                break;
            }
        }
        self.output.extend(self.input.drain(..end));
        self.gate = Some(matched);
        true
    }
}

impl Inflating {
    /// Takes apart what `input` holds, moving what is ready to `output`; `false` when more
    /// input is needed.
    fn step(&mut self) -> bool {
        if let Some(matched) = self.gate {
            return self.gate(matched);
        }
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
        let kept = self.context.take();
        let message = self.message.get_or_insert_with(|| Inflater {
            decompress: kept.unwrap_or_else(spare::inflater),
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
            mask: self.mask,
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
                match self.takeover && !self.passing {
                    true => self.context = Some(done.decompress),
                    false => spare::give_back(done.decompress),
                }
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
