//! An embeddable WebSocket echo handler (RFC 6455) for any async runtime.
//!
//! The core is written against the futures-io `AsyncRead + AsyncWrite` traits and depends on
//! no executor: hand [`serve`] any stream your application already has (a TCP stream, a TLS
//! stream, ...) and it answers the HTTP upgrade, echoes every message, handles pings, limits and
//! the close handshake, and returns a [`Summary`] of how the connection went. Applications whose
//! HTTP layer already did the upgrade call [`serve_upgraded`].
//!
//! [`Server`] accepts connections and runs one task per connection under whichever runtime is
//! compiled in ([`runtimes::Runtime`]): `smol` (recommended), `async-std` (deprecated upstream,
//! still supported) or `tokio`, each behind its Cargo feature. The core needs none of them: its
//! timers are [`Config::timer`]'s, async-io's by default, tokio's for an application on tokio.
//! The timed-writer client lives in [`client`].
//!
//! The per-message step is a [`Handler`]; [`Echo`] is the default. Plug in your own to keep all
//! the connection handling and change only the answer.
//!
//! # Example
//!
//! A WebSocket connection served over an in-memory byte stream, with no runtime at all: the
//! upgrade request and one masked text frame go in, the 101 answer and the echo come out.
//!
//! ```
//! use futures_lite::{future, io::Cursor};
//! use ws_echo::{serve, Config, Echo, Ending, Served};
//!
//! /// A stream that reads from `input` and collects what is written.
//! struct Duplex { input: Cursor<Vec<u8>>, output: Vec<u8> }
//! # use std::{io, pin::Pin, task::{Context, Poll}};
//! # impl futures_lite::AsyncRead for Duplex {
//! #     fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
//! #         Pin::new(&mut self.input).poll_read(cx, buf)
//! #     }
//! # }
//! # impl futures_lite::AsyncWrite for Duplex {
//! #     fn poll_write(mut self: Pin<&mut Self>, _: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
//! #         self.output.extend_from_slice(buf);
//! #         Poll::Ready(Ok(buf.len()))
//! #     }
//! #     fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> { Poll::Ready(Ok(())) }
//! #     fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> { Poll::Ready(Ok(())) }
//! # }
//!
//! let mut input = b"GET /ws HTTP/1.1\r\nHost: example\r\nUpgrade: websocket\r\n\
//!     Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\
//!     Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n".to_vec();
//! // A final text frame "Hi", masked with the key 1, 2, 3, 4, then a Close 1000.
//! input.extend_from_slice(&[0x81, 0x82, 1, 2, 3, 4, b'H' ^ 1, b'i' ^ 2]);
//! input.extend_from_slice(&[0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8]);
//!
//! let mut stream = Duplex { input: Cursor::new(input), output: Vec::new() };
//! let served = future::block_on(serve(&mut stream, &Config::default(), Echo)).unwrap();
//! let Served::WebSocket(summary) = served else { panic!("not a WebSocket connection") };
//!
//! assert_eq!(summary.messages_in, 1);
//! assert_eq!(summary.ending, Ending::PeerClosed { code: Some(1000), reason: String::new() });
//! let answer = String::from_utf8_lossy(&stream.output);
//! assert!(answer.starts_with("HTTP/1.1 101 Switching Protocols\r\n"));
//! assert!(answer.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
//! // After the head: the echo (unmasked, as a server sends) and the Close 1000 answered.
//! assert!(stream.output.ends_with(&[0x81, 0x02, b'H', b'i', 0x88, 0x02, 0x03, 0xe8]));
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations, rust_2018_idioms)]

// The house, from the outside in. `serve` (connection.rs) answers the upgrade as handshake.rs
// decides and runs echo_loop.rs; the loop's stream is buffered.rs over liveness.rs's `Watched`;
// linger.rs lets a connection go without losing our last words. `Server` (server/) accepts and
// spawns on one of runtimes/, with socket.rs's options. The client (client/) shares liveness.rs
// and timer.rs with the loop.
mod buffered; // read-ahead and gathering buffers under tungstenite, and its buffer settings
pub mod client; // the timed writer: config, session, echo matching, the wire (plain or TLS)
mod config; // Config, every default stated on its field
mod connection; // serve and serve_upgraded: the upgrade's I/O, then the loop
mod echo_loop; // the per-connection loop: read -> Handler -> write, and its policies
mod error; // Error
mod handler; // Handler and Echo
mod handshake; // the upgrade as a pure function over the bytes read so far
mod linger; // shutting down our side and draining, so that our last answer is read
mod liveness; // activity stamps, heartbeat, write timeout (server loop and client)
pub mod runtimes; // what each runtime owns: listener, accept, spawn, dial, timer
#[cfg(any(feature = "smol", feature = "async-std", feature = "tokio"))]
mod server; // Server: accept loop, connection slots, drain, statistics
mod shutdown; // Shutdown, the graceful-stop signal
#[cfg(any(feature = "smol", feature = "async-std", feature = "tokio"))]
mod socket; // socket options through socket2
mod summary; // Served, Summary, Ending: how a connection went
mod timer; // Timer: whose timers and yield; deadlines that saturate
#[cfg(feature = "tls")]
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
pub mod tls; // rustls configs for the server and the client

pub use config::Config;
pub use connection::{serve, serve_upgraded};
pub use error::Error;
pub use handler::{Echo, Handler};
pub use handshake::{accept_key, Refusal, Upgrade};
#[cfg(any(feature = "smol", feature = "async-std", feature = "tokio"))]
#[cfg_attr(
    docsrs,
    doc(cfg(any(feature = "smol", feature = "async-std", feature = "tokio")))
)]
pub use server::{Server, ShutdownReport, Stats, StatsHandle};
pub use shutdown::Shutdown;
pub use summary::{Ending, Served, Summary, Timeout};
pub use timer::Timer;

/// Close codes (1000 normal, 1001 going away, 1002 protocol error, ...).
pub use async_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
/// A Close frame's code and reason.
pub use async_tungstenite::tungstenite::protocol::CloseFrame;
/// A WebSocket message, as handlers receive and return it (tungstenite's type).
pub use async_tungstenite::tungstenite::Message;
