//! [`Limits`]: how much a connection may cost.

/// How much one connection may cost: the largest message, frame and request head it may send,
/// its buffers, and what its answers kept for later may hold.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Limits {
    /// The largest message (after reassembly of fragments) we accept, in bytes. A larger one
    /// ends the connection with Close 1009. Default: 1 MiB.
    pub max_message_size: usize,
    /// The largest single frame payload we accept, in bytes, when it is to be below
    /// [`Limits::max_message_size`]. A larger one ends the connection with Close 1009.
    /// `None`: a frame may be as large as a message. Default: `None`.
    pub max_frame_size: Option<usize>,
    /// The largest HTTP request head (request line and headers) we read before answering
    /// HTTP 431. Default: 8 KiB.
    pub max_request_head: usize,
    /// Size of tungstenite's per-connection read buffer, held for the connection's life (it
    /// grows to fit a large frame). tungstenite's own default is 128 KiB, which 10,000 idle
    /// connections turn into more than a gigabyte. Small costs no speed: the socket is read
    /// 64 KiB at a time into a read-ahead buffer that tungstenite's reads are served from, and
    /// that a connection holds only while it holds bytes. Default: 1 KiB.
    pub read_buffer_size: usize,
    /// Outgoing bytes gathered before they are written to the socket; a flush writes them
    /// whenever no more input is waiting. The buffer exists only while it holds bytes: an
    /// idle connection has none. Default: 64 KiB.
    pub write_buffer_size: usize,
    /// The most that answers waiting for their time ([`Handler::delivery`](crate::Handler))
    /// may hold on one connection, in payload bytes (each answer also counts 64): past it,
    /// nothing more is read until some have gone. Default: 1 MiB.
    pub max_waiting_answers: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_size: 1 << 20,
            max_frame_size: None,
            max_request_head: 8 * 1024,
            read_buffer_size: 1024,
            write_buffer_size: 64 * 1024,
            max_waiting_answers: 1 << 20,
        }
    }
}

impl Limits {
    /// The largest frame payload accepted: [`Limits::max_frame_size`] if set, never above
    /// [`Limits::max_message_size`].
    pub fn frame_limit(&self) -> usize {
        (self.max_frame_size.unwrap_or(usize::MAX)).min(self.max_message_size)
    }
}
