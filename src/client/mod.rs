//! The timed writer: dial, send a message every interval, match each echo to what was sent,
//! report round-trip times, close cleanly; watch the link with a heartbeat, and reconnect and
//! resend what was not echoed when it dies.
//!
//! The logic is here, independent of any runtime: [`run`] takes a `dial` function that opens
//! the TCP (or other) stream, and a `stop` future (Ctrl-C, in the example). A runtime supplies
//! a dialer ([`Runtime::connect`](crate::runtimes::Runtime::connect)) and its timer
//! ([`ClientConfig::timer`]).
//!
//! The pieces: `config.rs` (what to send, where, and URL parsing), `session.rs` (one
//! connection), `echoes.rs` (echo matching), `dialing.rs` (the first connection and the ones
//! after, with `backoff.rs`'s waits), and the wire, plain (`plain.rs`) or with TLS (`tls.rs`),
//! chosen here by the `tls` feature; the loop over sessions is [`run`] below.

mod answer;
mod backoff;
mod config;
mod dialing;
mod echoes;
mod extensions;
mod session;
#[cfg_attr(feature = "tls", path = "tls.rs")]
#[cfg_attr(not(feature = "tls"), path = "plain.rs")]
mod wire;

use std::future::Future;
use std::io;
use std::pin::pin;
use std::time::{Duration, Instant};

use futures_lite::{AsyncRead, AsyncWrite};

pub use config::ClientConfig;

use crate::error::Error;
use backoff::Backoff;
use dialing::Dialing;
use session::Run;

/// Something the client saw, handed to the `on_event` callback of [`run`] as it happens.
///
/// ```
/// use ws_echo::client::Event;
///
/// fn print(event: &Event) {
///     match event {
///         Event::Echo { seq, rtt, text } => println!("{text} (#{seq}, {rtt:?})"),
///         Event::LinkDown { reason } => println!("link down: {reason}"),
///         Event::ServerClosed { code, reason } => println!("closed: {code:?} {reason}"),
///         _ => {}
///     }
/// }
/// print(&Event::LinkDown { reason: "no answer from the server for 40s".into() });
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The first upgrade succeeded.
    Connected {
        /// The address dialed.
        address: String,
        /// The subprotocol the server selected, if any were offered.
        protocol: Option<String>,
        /// The extensions the server agreed to, as its answer named them
        /// ([`ClientConfig::deflate`]).
        extensions: Option<String>,
    },
    /// An echo of message number `seq` (from 1) came back, equal to what was sent (same
    /// type, same bytes).
    Echo {
        /// Which message, counting from 1.
        seq: u64,
        /// From our (last) send to the echo's arrival.
        rtt: Duration,
        /// The echoed text, or "N bytes of binary".
        text: String,
    },
    /// The server's view of our upgrade request: the first message of each connection when the
    /// URL asks a test target for it (`?info`), the JSON text it sent (see
    /// `ws_echo::test_target::TestTarget`). Not an echo; not counted as unexpected.
    ServerInfo {
        /// The JSON text as received.
        json: String,
    },
    /// A message arrived that is not the echo of the oldest message awaiting one.
    Unexpected {
        /// What arrived: its text, or "N bytes of binary".
        text: String,
    },
    /// The server sent Close.
    ServerClosed {
        /// Its close code, if it gave one.
        code: Option<u16>,
        /// Its close reason.
        reason: String,
    },
    /// The link was declared dead: heartbeat timeout, stalled write, EOF, reset (a Close from
    /// the server is [`Event::ServerClosed`]); reconnecting follows unless turned off.
    LinkDown {
        /// Why, in a few words.
        reason: String,
    },
    /// A new connection is up after the link went down; unanswered messages are resent.
    Reconnected {
        /// The address dialed.
        address: String,
        /// How long the link was down.
        after: Duration,
        /// How many messages are being resent.
        resending: u64,
        /// The subprotocol the server selected, if any were offered.
        protocol: Option<String>,
    },
    /// The first connection failed in a way that may pass (see [`ClientConfig::fail_fast`]);
    /// the next attempt follows after `next_in`.
    ConnectFailed {
        /// The address dialed.
        address: String,
        /// Why, in one line.
        error: String,
        /// Attempts so far, this one included.
        attempt: u64,
        /// The wait before the next attempt (backoff with jitter, or the server's
        /// `Retry-After` when longer).
        next_in: Duration,
    },
    /// The URL asked a test target for `?info`, and the first message was no such thing: an
    /// echo, or something else, from a server that ignored the control. It is matched as any
    /// message would be.
    InfoIgnored,
    /// A reconnect attempt failed; the next one follows after `next_in`.
    ReconnectFailed {
        /// The address dialed.
        address: String,
        /// Why, in one line.
        error: String,
        /// Attempts since the link went down, this one included.
        attempt: u64,
        /// The wait before the next attempt (backoff with jitter).
        next_in: Duration,
    },
}

/// What the client did, returned by [`run`]: every message sent is echoed, missing or refused.
///
/// ```
/// let report = ws_echo::client::ClientReport::default();
/// assert_eq!(report.sent, report.echoed + report.missing + report.refused);
/// let all_back = report.missing == 0 && report.unexpected == 0;
/// assert!(all_back);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientReport {
    /// Distinct messages sent (a resend does not count again).
    pub sent: u64,
    /// Messages whose echo came back intact.
    pub echoed: u64,
    /// Messages sent whose echo never came back: lost.
    pub missing: u64,
    /// Messages received that matched nothing we were waiting for.
    pub unexpected: u64,
    /// Messages the server refused as too big (Close 1009): not echoed, not missing, not sent
    /// again; the run ends there, since every later message would be refused too.
    pub refused: u64,
    /// Sends repeated on a new connection because the echo had not come back on the old one.
    pub resent: u64,
    /// Connections made after the first.
    pub reconnects: u64,
    /// The server's Close, when it ended the run (reconnecting off): code and reason.
    pub server_close: Option<(Option<u16>, String)>,
    /// Closes from the server with a code other than 1000 (normal) and 1001 (going away), or
    /// none: errors on the server's side, reconnected from or not.
    pub abnormal_closes: u64,
    /// Connections the server ended without a Close (EOF or reset): aborts, such as a test
    /// target's `?abort`, or a server that went away.
    pub aborts: u64,
    /// The run was stopped while the link was down, between attempts (or before the first
    /// connection was made).
    pub down_at_end: bool,
    /// The first connection's TCP connect (the dial), and its upgrade (TLS included) after it.
    pub connect_time: Duration,
    /// See [`ClientReport::connect_time`].
    pub handshake_time: Duration,
}

/// Runs the timed writer: dials with `dial(host_port)`, upgrades with the configured `Origin`,
/// sends [`ClientConfig::message`] every [`ClientConfig::interval`] and matches echoes in order.
/// A heartbeat watches the link; when it dies (or the server closes) the client reconnects
/// with backoff, resends every message still awaiting its echo, and goes on.
///
/// It ends, returning its [`ClientReport`], when `count` echoes arrived or `stop` completed (both:
/// Close 1000, then a short wait for the server's answer), or, with reconnecting off, when the
/// server sent Close. It fails with [`Error::ConnectionLost`] when the link dies and
/// reconnecting is off, and with [`Error::Io`], [`Error::InvalidUrl`], [`Error::HttpStatus`] or
/// [`Error::HandshakeTimeout`] when the first connection cannot be made.
///
/// Not cancel-safe: dropping the future drops the connection without a Close; pass a `stop`
/// future instead to end it cleanly.
///
/// ```
/// # #[cfg(feature = "smol")]
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use ws_echo::{runtimes::Runtime, Config, Echo, Server};
/// use ws_echo::client::{self, ClientConfig, Event};
///
/// // A server to talk to, on a free port.
/// let server = Server::bind(Runtime::Smol, "127.0.0.1:0", Config::default())?;
/// let url = format!("ws://{}/ws", server.local_addr()?);
/// let shutdown = server.shutdown_handle();
/// let serving = smol::spawn(server.run(Echo));
///
// Three echoes, 10 ms apart, each printed as it comes.
/// let config = ClientConfig::new(url).interval(std::time::Duration::from_millis(10)).count(3);
/// let stop = std::future::pending(); // or Ctrl-C
/// let report = smol::block_on(client::run(&config, |a| Runtime::Smol.connect(a), stop, |event| {
///     if let Event::Echo { seq, rtt, .. } = event {
///         println!("#{seq} back after {rtt:?}");
///     }
/// }))?;
/// assert_eq!((report.sent, report.echoed, report.missing), (3, 3, 0));
/// shutdown.trigger();
/// smol::block_on(serving)?;
/// # Ok(())
/// # }
/// # #[cfg(not(feature = "smol"))]
/// # fn main() {}
/// ```
pub async fn run<D, F, S>(
    config: &ClientConfig,
    mut dial: D,
    stop: impl Future<Output = ()>,
    mut on_event: impl FnMut(&Event),
) -> Result<ClientReport, Error>
where
    D: FnMut(String) -> F,
    F: Future<Output = io::Result<S>>,
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (request, address) = config.request()?;
    let secure = wire::secure(config, &request)?;
    let mut stop = pin!(stop);
    let target = (&request, address.as_str(), secure.as_ref());
    let mut backoff = Backoff::new(config.backoff_initial, config.backoff_max);
    let mut dialing = Dialing {
        dial: &mut dial,
        target,
        backoff: &mut backoff,
    };
    let first = dialing.first(config, stop.as_mut(), &mut on_event).await?;
    let Some(mut link) = first else {
        // Stopped before any connection was made.
        return Ok(ClientReport {
            down_at_end: true,
            ..ClientReport::default()
        });
    };
    on_event(&Event::Connected {
        address: address.clone(),
        protocol: link.protocol.clone(),
        extensions: link.extensions.clone(),
    });
    let mut run = Run::new(config, &link, &mut on_event);
    loop {
        let up = Instant::now();
        let end = run.session(&mut link, stop.as_mut()).await;
        dialing.backoff.session_ended(up.elapsed());
        if run.ended(end)? {
            return Ok(run.finish());
        }
        let down = Instant::now();
        let Some(next) = dialing.again(&mut run, stop.as_mut()).await else {
            run.report.down_at_end = true;
            return Ok(run.finish());
        };
        link = next;
        run.report.reconnects += 1;
        (run.on_event)(&Event::Reconnected {
            address: address.clone(),
            after: down.elapsed(),
            resending: run.echoes.len() as u64,
            protocol: link.protocol.clone(),
        });
    }
}
