//! [`Heartbeat`]: how a dead peer is found, for the server's connections and the client alike.

use std::time::Duration;

/// How a dead peer is found: a ping after silence, a deadline for any sign of life after it,
/// and a deadline for a write that makes no progress. The server's settings
/// ([`Config::heartbeat`](super::Config)) and the client's
/// ([`ClientConfig::heartbeat`](crate::client::ClientConfig)) are this one type.
///
/// ```
/// use std::time::Duration;
///
/// let quick = ws_echo::Heartbeat::default().ping_interval(Some(Duration::from_secs(1)));
/// let config = ws_echo::Config::default().heartbeat(quick.clone());
/// let client = ws_echo::client::ClientConfig::default().heartbeat(quick);
/// assert_eq!(config.heartbeat, client.heartbeat);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Heartbeat {
    /// Heartbeat: when nothing has arrived from the peer for this long, we send a Ping.
    /// `None` turns the heartbeat off. Default: 20 s, under the 30-120 s idle limits of common
    /// proxies, so that a heartbeat also keeps idle connections through them alive.
    pub ping_interval: Option<Duration>,
    /// Heartbeat: when still nothing has arrived this long after our Ping, the peer is dead:
    /// the connection is dropped and its summary says it timed out. Any byte from the peer
    /// counts as life, not only a Pong. Default: 20 s.
    ///
    /// The heartbeat's and the idle timeout's deadlines are kept by one thread of the process,
    /// which moves a deadline later by itself when the peer spoke meanwhile and wakes a
    /// connection only when its peer has really been silent; they are rounded up onto a grid
    /// (a grain of at most 1/16 of the shortest of these waits, and at most about 1 s), so that
    /// the thread wakes once per grid point: a peer is declared dead at most that much later.
    pub pong_timeout: Duration,
    /// When a write makes no progress for this long (a peer that stopped reading, a dead path
    /// with full buffers), the connection is dropped. A slow reader that keeps taking bytes is
    /// not cut. Default: 10 s.
    pub write_timeout: Duration,
}

impl Default for Heartbeat {
    fn default() -> Self {
        Heartbeat {
            ping_interval: Some(Duration::from_secs(20)),
            pong_timeout: Duration::from_secs(20),
            write_timeout: Duration::from_secs(10),
        }
    }
}

impl Heartbeat {
    /// Sets [`Heartbeat::ping_interval`]; `None` turns the heartbeat off.
    pub fn ping_interval(mut self, interval: Option<Duration>) -> Self {
        self.ping_interval = interval;
        self
    }

    /// Sets [`Heartbeat::pong_timeout`].
    pub fn pong_timeout(mut self, timeout: Duration) -> Self {
        self.pong_timeout = timeout;
        self
    }

    /// Sets [`Heartbeat::write_timeout`].
    pub fn write_timeout(mut self, timeout: Duration) -> Self {
        self.write_timeout = timeout;
        self
    }
}
