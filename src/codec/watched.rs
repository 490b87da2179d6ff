//! The liveness layer: a stream that records when bytes last moved each way ([`Activity`]), for
//! the heartbeat and the write timeout ([`Liveness`](crate::liveness::Liveness)) of the server's
//! loop and the client alike. It passes bytes through unchanged.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_lite::{AsyncRead, AsyncWrite};

/// When bytes last arrived from the peer and last left for it.
#[derive(Debug)]
pub(crate) struct Activity {
    origin: Instant,
    last_read: AtomicU64,
    last_write: AtomicU64,
    /// A write is waiting ([`write_within`]): only then do writes stamp `last_write`. Most
    /// writes finish at once and need no stamp, and reading the clock is a good part of what
    /// a small echo costs.
    write_waiting: AtomicBool,
}

impl Activity {
    pub(crate) fn new() -> Arc<Activity> {
        Arc::new(Activity {
            origin: Instant::now(),
            last_read: AtomicU64::new(0),
            last_write: AtomicU64::new(0),
            write_waiting: AtomicBool::new(false),
        })
    }

    /// Stamps `slot` with the time now.
    fn stamp(&self, slot: &AtomicU64) {
        let nanos = u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX);
        slot.store(nanos, Ordering::Relaxed);
    }

    fn at(&self, slot: &AtomicU64) -> Instant {
        self.origin + Duration::from_nanos(slot.load(Ordering::Relaxed))
    }

    /// When bytes last arrived (or the connection started).
    pub(crate) fn last_read(&self) -> Instant {
        self.at(&self.last_read)
    }

    /// When a write last made progress, or a write operation started waiting.
    pub(crate) fn last_write(&self) -> Instant {
        self.at(&self.last_write)
    }

    /// A write operation starts waiting: from now on, writes stamp `last_write`, and it is
    /// stamped now.
    pub(crate) fn write_waits(&self) {
        self.write_waiting.store(true, Ordering::Relaxed);
        self.stamp(&self.last_write);
    }

    /// Stamps `last_read` now, as a read would.
    #[cfg(test)]
    pub(crate) fn heard(&self) {
        self.stamp(&self.last_read);
    }

    /// The waiting write is done: writes stamp nothing again.
    pub(crate) fn write_done(&self) {
        self.write_waiting.store(false, Ordering::Relaxed);
    }
}

/// A stream that stamps [`Activity`] whenever bytes arrive, and whenever they leave while a
/// write waits.
#[derive(Debug)]
pub(crate) struct Watched<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S> Watched<S> {
    pub(crate) fn new(inner: S, activity: Arc<Activity>) -> Self {
        Watched { inner, activity }
    }

    /// The stream under this layer.
    #[cfg(test)]
    pub(crate) fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let result = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(1..)) = result {
            this.activity.stamp(&this.activity.last_read);
        }
        result
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let result = Pin::new(&mut this.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(1..)) = result {
            if this.activity.write_waiting.load(Ordering::Relaxed) {
                this.activity.stamp(&this.activity.last_write);
            }
        }
        result
    }

    super::pass_through!(poll_flush, poll_close);
}

/// `stream`, stamping a new record of the connection's activity, and that record, from which
/// [`Liveness::new`](crate::liveness::Liveness::new) makes the connection's liveness. (Two
/// steps: the stream's handshake comes in between, and a whole `Liveness` held across it would
/// take room in every connection's future for its whole life.)
pub(crate) fn watch<S>(stream: S) -> (Watched<S>, Arc<Activity>) {
    let activity = Activity::new();
    (Watched::new(stream, Arc::clone(&activity)), activity)
}
