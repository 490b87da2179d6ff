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
//! the connection handling and change only the answer: it sees each upgrade request first
//! ([`Handler::on_open`]: route by path, refuse, greet) and may answer later than at once
//! ([`Handler::delivery`]), in frames, and end the connection after an answer. Built on that
//! alone, [`test_target::TestTarget`] (feature `test-target`, on by default) wraps any handler
//! into a target for testing WebSocket clients and proxies (`?info`, `?delay=200ms`,
//! `?close=4000&after=3`, ...).
//!
//! # Example
//!
//! An application's own listener hands each connection to [`serve`]; a client says hello and
//! hears it back.
//!
//! ```
//! # #[cfg(feature = "smol")]
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use futures_util::{SinkExt, StreamExt};
//! use ws_echo::{Config, Echo, Message};
//!
//! smol::block_on(async {
//!     let listener = smol::net::TcpListener::bind("127.0.0.1:0").await?;
//!     let addr = listener.local_addr()?;
//!     smol::spawn(async move {
//!         while let Ok((stream, _peer)) = listener.accept().await {
//!             smol::spawn(async move {
//!                 let served = ws_echo::serve(stream, &Config::default(), Echo).await;
//!                 println!("{served:?}");
//!             })
//!             .detach();
//!         }
//!     })
//!     .detach();
//!
//!     let stream = smol::net::TcpStream::connect(addr).await?;
//!     let (mut ws, _) = async_tungstenite::client_async(format!("ws://{addr}/ws"), stream).await?;
//!     ws.send(Message::text("hello")).await?;
//!     assert_eq!(ws.next().await.transpose()?, Some(Message::text("hello")));
//!     Ok(())
//! })
//! # }
//! # #[cfg(not(feature = "smol"))]
//! # fn main() {}
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations, rust_2018_idioms)]

// The house, from the outside in. `serve` (connection.rs) answers the upgrade as handshake.rs
// decides and runs echo_loop/; the loop's stream is codec/'s layers (buffering over liveness
// stamps); linger.rs lets a connection go without losing our last words. `Server` (server/)
// accepts and spawns on one of runtimes/, with socket.rs's options. The client (client/) shares
// codec/watched.rs, liveness.rs and timer.rs with the loop. test_target/ is a Handler.
pub mod client; // the timed writer: config, session, echo matching, the wire (plain or TLS)
mod codec; // the stream layers under tungstenite: buffering, liveness stamps; their contract
mod config; // Config, every default stated on its field
mod connection; // serve and serve_upgraded: the upgrade's I/O, then the loop
mod echo_loop; // the per-connection loop: its decision, answers kept for later, drain, close
mod error; // Error
mod handler; // Handler, Delivery and Echo
mod handshake; // the upgrade as a pure function over the bytes read so far
mod linger; // shutting down our side and draining, so that our last answer is read
mod liveness; // heartbeat, write timeout (server loop and client)
pub mod metrics; // what is recorded through the metrics facade, and a metrics endpoint
mod open; // Connection and Open: what the upgrade carried, and the handler's answer to it
mod page; // the bundled page
mod running; // what a running server owns: its timer, shutdown and drain signals
pub mod runtimes; // what each runtime owns: listener, accept, spawn, dial, timer
#[cfg(any(feature = "smol", feature = "async-std", feature = "tokio"))]
mod server; // Server: accept loop, connection slots, drain, statistics
#[cfg(feature = "hyper")]
#[cfg_attr(docsrs, doc(cfg(feature = "hyper")))]
pub mod service; // EchoService: the echo as a tower Service, for hyper and axum
mod shutdown; // Shutdown, the graceful-stop signal
#[cfg(any(feature = "smol", feature = "async-std", feature = "tokio"))]
mod socket; // socket options through socket2
mod summary; // Served, Summary, Ending: how a connection went
#[cfg(feature = "test-target")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-target")))]
pub mod test_target; // a Handler wrapper: the query's controls ?info, ?delay, ?close, ...
mod timer; // Timer: whose timers and yield; deadlines that saturate
#[cfg(feature = "tls")]
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
pub mod tls;
mod upgraded; // serve_upgraded and Upgrade::check, for an application's own HTTP layer // rustls configs for the server and the client

pub use config::{Config, Heartbeat, Limits, Routes, Timeouts};
pub use connection::{serve, serve_accepted};
pub use error::Error;
pub use handler::{Delivery, Echo, Handler, Then};
pub use handshake::{accept_key, Refusal, Upgrade};
pub use open::{Connection, Open, Push};
#[cfg(any(feature = "smol", feature = "async-std", feature = "tokio"))]
#[cfg_attr(
    docsrs,
    doc(cfg(any(feature = "smol", feature = "async-std", feature = "tokio")))
)]
pub use server::{Server, ShutdownReport, Stats, StatsHandle};
pub use shutdown::Shutdown;
pub use summary::{Ending, Served, Summary, Timeout};
pub use timer::Timer;
pub use upgraded::serve_upgraded;

/// Close codes (1000 normal, 1001 going away, 1002 protocol error, ...).
pub use async_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
/// A Close frame's code and reason.
pub use async_tungstenite::tungstenite::protocol::CloseFrame;
/// A WebSocket message, as handlers receive and return it (tungstenite's type).
pub use async_tungstenite::tungstenite::Message;
