//! [`Timeouts`]: how long each step of a connection may take.

use std::time::Duration;

/// How long each step of a connection may take: the handshake, the close handshake, a
/// connection without data, the drain at shutdown. (Dead peers are the
/// [`Heartbeat`](super::Heartbeat)'s.)
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Timeouts {
    /// A connection that has not completed the HTTP upgrade within this time is dropped.
    /// Default: 10 s.
    pub handshake: Duration,
    /// How long we keep reading after we sent a Close, waiting for the peer's Close or its EOF,
    /// before we drop the connection. Default: 2 s.
    pub close: Duration,
    /// When no data message has arrived for this long, we close with 1001 "idle timeout".
    /// Pings and pongs do not count. `None` turns it off. Default: `None`.
    pub idle: Option<Duration>,
    /// How long connections get to complete the close handshake after a shutdown; a
    /// [`Server`](crate::Server) drops what is left then. Default: 10 s.
    pub drain: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            handshake: Duration::from_secs(10),
            close: Duration::from_secs(2),
            idle: None,
            drain: Duration::from_secs(10),
        }
    }
}
