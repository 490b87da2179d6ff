//! What keeps a dead peer from going unnoticed, for the server's loop and the client alike: the
//! heartbeat's decisions and its timer ([`Liveness`]), and a write timeout that tolerates slow
//! progress but not none. When bytes last moved is the codec's liveness layer's record
//! ([`Activity`]).

mod grid;
mod sweeper;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use self::grid::Grid;
use self::sweeper::Slot;
use crate::codec::watched::Activity;
use crate::config::Heartbeat;
use crate::timer::{later, Sleep, Timer};

/// Runs a write operation (`feed`, `flush`, `send`), giving up once no byte has left for
/// `timeout`: a peer that reads slowly keeps its connection, one that stopped reading (or a
/// dead path with full buffers) does not. `None` means it gave up. Most writes finish at once;
/// only one that has to wait reads the clock and arms a timer.
pub(crate) fn write_within<F: Future + Unpin>(
    clock: Timer,
    activity: &Activity,
    timeout: Duration,
    write: F,
) -> WriteWithin<'_, F> {
    WriteWithin {
        write,
        clock,
        activity,
        timeout,
        timer: None,
    }
}

/// The future of [`write_within`]. A type of its own rather than an `async fn`: its poll is
/// on every echo's path, and is inlined there whatever else the loop holds (an `async fn`'s was
/// inlined or not as the loop around it grew, some 110 instructions an echo apart).
#[derive(Debug)]
pub(crate) struct WriteWithin<'a, F> {
    write: F,
    clock: Timer,
    activity: &'a Activity,
    timeout: Duration,
    /// Armed once the write has had to wait.
    timer: Option<Sleep>,
}

impl<F: Future + Unpin> Future for WriteWithin<'_, F> {
    type Output = Option<F::Output>;

    #[inline(always)]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        if let Poll::Ready(output) = Pin::new(&mut this.write).poll(cx) {
            if this.timer.take().is_some() {
                this.activity.write_done();
            }
            return Poll::Ready(Some(output));
        }
        this.wait(cx)
    }
}

impl<F> WriteWithin<'_, F> {
    /// The write is pending: wait, unless no byte has left for the timeout.
    fn wait<T>(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let (activity, clock, timeout) = (self.activity, self.clock, self.timeout);
        let timer = self.timer.get_or_insert_with(|| {
            activity.write_waits();
            clock.at(later(activity.last_write(), timeout))
        });
        while Pin::new(&mut *timer).poll(cx).is_ready() {
            let deadline = later(activity.last_write(), timeout);
            if Instant::now() >= deadline {
                self.timer = None;
                activity.write_done();
                return Poll::Ready(None);
            }
            timer.set_at(deadline); // bytes moved meanwhile: wait again
        }
        Poll::Pending
    }
}

/// One connection's liveness: when bytes last moved ([`Activity`], stamped by the stream that
/// [`watch`](crate::codec::watched::watch) wraps), the [`Pinger`], its place with the
/// process's heartbeat thread that wakes the connection for it (and for one more deadline of
/// the owner's, such as an idle timeout), and the write timeout.
///
/// Deadlines only ever move later as bytes arrive: the heartbeat thread moves them itself, and
/// the connection tells it only of one that moved earlier, so that a connection whose peer
/// keeps talking is never woken for its heartbeat (see `sweeper.rs`).
#[derive(Debug)]
pub(crate) struct Liveness {
    activity: Arc<Activity>,
    pinger: Pinger,
    /// The runtime's timers, for the write timeout.
    timer: Timer,
    /// The connection's place with the process's heartbeat thread, which wakes it when a
    /// deadline comes (see [`sweeper`]).
    slot: Arc<Slot>,
    grid: Grid,
    write_timeout: Duration,
}

impl Liveness {
    pub(crate) fn new(activity: Arc<Activity>, timer: Timer, settings: &Heartbeat) -> Liveness {
        let Heartbeat {
            ping_interval,
            pong_timeout,
            write_timeout,
        } = *settings;
        let grid = Grid::for_waits_of(ping_interval.map(|ping| ping.min(pong_timeout)));
        Liveness {
            slot: Slot::new(Arc::clone(&activity), ping_interval, pong_timeout, grid),
            activity,
            pinger: Pinger::new(ping_interval, pong_timeout),
            timer,
            grid,
            write_timeout,
        }
    }

    /// Also aims at deadlines `wait` apart (the idle timeout): the grid is made fine enough
    /// for them too.
    pub(crate) fn also_waits(mut self, wait: Option<Duration>) -> Self {
        self.grid = self.grid.min(Grid::for_waits_of(wait));
        Slot::regrid(&mut self.slot, self.grid);
        self
    }

    /// Aims at the heartbeat's next deadline or `also`, whichever comes first.
    #[inline]
    pub(crate) fn aim(&mut self, also: Option<Instant>) {
        self.slot.aim(also);
    }

    /// Ready when a deadline has come.
    #[inline]
    pub(crate) fn poll_timer(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.slot.poll_fired(cx)
    }

    /// After a deadline came: what the heartbeat wants done at `now`.
    pub(crate) fn beat(&mut self, now: Instant) -> Beat {
        let beat = self.pinger.check(self.activity.last_read(), now);
        if beat == Beat::Ping {
            self.slot.pinged(now);
        }
        beat
    }

    /// Runs a write operation under the write timeout (see [`write_within`]).
    #[inline(always)]
    pub(crate) fn write<F: Future + Unpin>(&self, write: F) -> WriteWithin<'_, F> {
        write_within(self.timer, &self.activity, self.write_timeout, write)
    }
}

/// The heartbeat: when the peer has been silent for `interval`, ping it; when it stays silent
/// for `pong_timeout` after that, it is dead. Any byte from the peer counts as life.
#[derive(Debug)]
pub(crate) struct Pinger {
    interval: Option<Duration>,
    pong_timeout: Duration,
    /// When we sent the ping still awaiting a sign of life.
    pinged: Option<Instant>,
}

/// What the heartbeat wants done now.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Beat {
    /// Nothing yet.
    Wait,
    /// Send a ping.
    Ping,
    /// The peer is dead: silent for this long.
    Dead(Duration),
}

impl Pinger {
    /// `interval: None` turns the heartbeat off.
    pub(crate) fn new(interval: Option<Duration>, pong_timeout: Duration) -> Self {
        Pinger {
            interval,
            pong_timeout,
            pinged: None,
        }
    }

    /// When [`Pinger::check`] next has something to do.
    pub(crate) fn deadline(&self, last_read: Instant) -> Option<Instant> {
        let interval = self.interval?;
        Some(if self.awaiting_pong(last_read) {
            later(self.pinged?, self.pong_timeout)
        } else {
            later(last_read, interval)
        })
    }

    /// What to do at `now`, given when the peer was last heard.
    pub(crate) fn check(&mut self, last_read: Instant, now: Instant) -> Beat {
        match self.deadline(last_read) {
            Some(due) if now >= due => {
                if self.awaiting_pong(last_read) {
                    Beat::Dead(now.saturating_duration_since(last_read))
                } else {
                    self.pinged = Some(now);
                    Beat::Ping
                }
            }
            _ => Beat::Wait,
        }
    }

    /// We pinged and have heard nothing since.
    fn awaiting_pong(&self, last_read: Instant) -> bool {
        self.pinged.is_some_and(|pinged| last_read <= pinged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::watched::Watched;
    use futures_lite::future::block_on;
    use futures_lite::{AsyncWrite, AsyncWriteExt};
    use std::io;

    const SEC: Duration = Duration::from_secs(1);
    const MS: Duration = Duration::from_millis(1);

    /// Takes one byte every `gap`, the way a peer that reads slowly drains a full socket.
    struct Trickle {
        gap: Duration,
        next: async_io::Timer,
        taken: usize,
    }

    impl AsyncWrite for Trickle {
        fn poll_write(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            if Pin::new(&mut self.next).poll(cx).is_pending() {
                return Poll::Pending;
            }
            let gap = self.gap;
            self.next.set_after(gap);
            self.taken += 1;
            Poll::Ready(Ok(buf.len().min(1)))
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    /// Writes `len` bytes through [`Watched`] to a [`Trickle`] under [`write_within`].
    fn trickle(len: usize, gap: Duration, timeout: Duration) -> (Option<io::Result<()>>, usize) {
        let activity = Activity::new();
        let sink = Trickle {
            gap,
            next: async_io::Timer::after(gap),
            taken: 0,
        };
        let mut watched = Watched::new(sink, Arc::clone(&activity));
        let bytes = vec![7u8; len];
        let outcome = block_on(write_within(
            Timer::AsyncIo,
            &activity,
            timeout,
            watched.write_all(&bytes),
        ));
        (outcome, watched.into_inner().taken)
    }

    /// A write that takes twice the timeout in all, but moves a byte every twentieth of it,
    /// completes: the timeout counts from the last progress, not from the start.
    #[test]
    fn a_write_that_keeps_making_progress_outlives_its_timeout() {
        let started = Instant::now();
        let (outcome, taken) = trickle(40, 10 * MS, 200 * MS);
        assert!(matches!(outcome, Some(Ok(()))), "{outcome:?}");
        assert_eq!(taken, 40);
        assert!(started.elapsed() >= 400 * MS);
    }

    /// One that moves nothing for the timeout gives up.
    #[test]
    fn a_write_that_makes_no_progress_gives_up_at_its_timeout() {
        let (outcome, taken) = trickle(1, 10 * SEC, 50 * MS);
        assert!(outcome.is_none(), "{outcome:?}");
        assert_eq!(taken, 0);
    }

    #[test]
    fn silence_leads_to_a_ping_then_to_death() {
        let start = Instant::now();
        let mut beat = Pinger::new(Some(SEC), 2 * SEC);
        assert_eq!(beat.deadline(start), Some(start + SEC));
        assert_eq!(beat.check(start, start + SEC / 2), Beat::Wait);
        assert_eq!(beat.check(start, start + SEC), Beat::Ping);
        assert_eq!(beat.deadline(start), Some(start + 3 * SEC));
        assert_eq!(beat.check(start, start + 2 * SEC), Beat::Wait);
        assert_eq!(beat.check(start, start + 3 * SEC), Beat::Dead(3 * SEC));
    }

    #[test]
    fn any_byte_after_the_ping_is_life() {
        let start = Instant::now();
        let mut beat = Pinger::new(Some(SEC), SEC);
        assert_eq!(beat.check(start, start + SEC), Beat::Ping);
        let heard = start + SEC + SEC / 2;
        assert_eq!(beat.deadline(heard), Some(heard + SEC));
        assert_eq!(beat.check(heard, start + 2 * SEC), Beat::Wait);
        assert_eq!(beat.check(heard, heard + SEC), Beat::Ping);
    }

    #[test]
    fn no_interval_means_no_heartbeat() {
        let start = Instant::now();
        let mut beat = Pinger::new(None, SEC);
        assert_eq!(beat.deadline(start), None);
        assert_eq!(beat.check(start, start + 100 * SEC), Beat::Wait);
    }
}
