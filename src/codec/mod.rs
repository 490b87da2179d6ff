//! The codec: the stream layers between the socket and tungstenite's framing.
//!
//! ```text
//! tungstenite (frames <-> messages)
//!   Inflate    permessage-deflate's incoming frame transform (inert unless agreed); on the
//!              way out, the filter that leaves out Pongs (only under Open::NoPong)
//!   Buffered   read-ahead and write gathering, buffers held only while they hold bytes
//!   Watched    stamps when bytes last moved each way, for the heartbeat and write timeout
//! socket (TCP, TLS, an upgraded HTTP connection)
//! ```
//!
//! # The contract of a layer
//!
//! A layer is an `AsyncRead + AsyncWrite` over the layer below it, and the stack is built in one
//! place ([`stack`]). What a layer may and must do:
//! - **bytes**: a layer hands up exactly the bytes it reads, in order, and passes down exactly
//!   the bytes written to it, unless it is a frame transform, which may rewrite whole frames
//!   (and only whole frames: it keeps the bytes of a partial frame until the rest arrives).
//!   What it holds counts against the limits the loop set ([`Config::max_message_size`] for a
//!   frame it gathers), checked as it gathers, never after.
//! - **backpressure**: `poll_write` returns `Pending` when the layer below does and it holds as
//!   much as it may; it never buffers without bound. `poll_read` returns `Pending` only when
//!   the layer below did (so that the task's waker is registered with the socket).
//! - **flush and close**: `poll_flush` sends everything the layer holds, then flushes below;
//!   `poll_close` does the same, then closes below (for TCP, shutting down our sending side).
//! - **memory**: an idle connection's layer holds no buffer: buffers are borrowed while they
//!   hold bytes (see [`buffered`]).
//! - **errors** pass up unchanged; a layer adds no error of its own but for a broken frame
//!   (which the loop answers with a Close) or a zero-length write (`WriteZero`).
//! - A method a layer does not change is passed through with [`pass_through!`], so that every
//!   layer's delegation is written once.
//!
//! tungstenite's own settings match the stack ([`framing`]).

pub(crate) mod buffered;
pub(crate) mod deflate;
pub(crate) mod no_pong; // Open::NoPong: written Pongs left out
pub(crate) mod watched;

use std::sync::Arc;

use async_tungstenite::tungstenite::protocol::WebSocketConfig;

use self::buffered::Buffered;
use self::deflate::Inflate;
use self::watched::{Activity, Watched};
use crate::config::Config;

/// The stream tungstenite reads and writes: every layer over the socket `S`.
pub(crate) type Codec<S> = Inflate<Buffered<Watched<S>>>;

/// The layers over `socket`, and the activity record its liveness layer keeps. The inflating
/// layer is inert until [`Inflate::arm`]ed.
pub(crate) fn stack<S>(socket: S, config: &Config) -> (Codec<S>, Arc<Activity>) {
    let (watched, activity) = watched::watch(socket);
    let buffered = Buffered::new(watched, config.limits.write_buffer_size);
    (Inflate::new(buffered), activity)
}

/// The framing settings handed to tungstenite, over this stack.
///
/// Its write buffer size is 0: tungstenite hands every frame on at once, to the buffering
/// layer, which frees its memory once sent (tungstenite's own would keep its largest size for
/// good). Its buffer then holds one whole echoed message (and its header) at most; past that it
/// refuses to buffer more, which bounds what a peer that never reads can make us hold. Its read
/// buffer is [`Config::read_buffer_size`], small, since the read-ahead serves its reads.
pub(crate) fn framing(config: &Config) -> WebSocketConfig {
    // Room for an answer compressed into more than it was (stored blocks), and its header.
    let max_message = config.limits.max_message_size;
    let max_write = max_message + max_message / 1024 + 1024;
    WebSocketConfig::default()
        .read_buffer_size(config.limits.read_buffer_size)
        .write_buffer_size(0)
        .max_write_buffer_size(max_write)
        .max_message_size(Some(config.limits.max_message_size))
        .max_frame_size(Some(config.limits.frame_limit()))
}

/// Implements, inside an `impl AsyncRead` or `impl AsyncWrite` block of a layer with an `inner`
/// field, the named `poll_*` methods that the layer leaves alone, by passing them to `inner`.
macro_rules! pass_through {
    ($($method:ident),+) => {
        $($crate::codec::pass_through!(@one $method);)+
    };
    (@one poll_flush) => {
        fn poll_flush(
            mut self: ::std::pin::Pin<&mut Self>,
            cx: &mut ::std::task::Context<'_>,
        ) -> ::std::task::Poll<::std::io::Result<()>> {
            ::std::pin::Pin::new(&mut self.inner).poll_flush(cx)
        }
    };
    (@one poll_close) => {
        fn poll_close(
            mut self: ::std::pin::Pin<&mut Self>,
            cx: &mut ::std::task::Context<'_>,
        ) -> ::std::task::Poll<::std::io::Result<()>> {
            ::std::pin::Pin::new(&mut self.inner).poll_close(cx)
        }
    };
    (@one poll_read) => {
        fn poll_read(
            mut self: ::std::pin::Pin<&mut Self>,
            cx: &mut ::std::task::Context<'_>,
            buf: &mut [u8],
        ) -> ::std::task::Poll<::std::io::Result<usize>> {
            ::std::pin::Pin::new(&mut self.inner).poll_read(cx, buf)
        }
    };
    (@one poll_write) => {
        fn poll_write(
            mut self: ::std::pin::Pin<&mut Self>,
            cx: &mut ::std::task::Context<'_>,
            buf: &[u8],
        ) -> ::std::task::Poll<::std::io::Result<usize>> {
            ::std::pin::Pin::new(&mut self.inner).poll_write(cx, buf)
        }
    };
}
pub(crate) use pass_through;
