//! [`Timer`]: whose timers and whose yield a connection uses. async-io's by default, which run
//! under any executor (async-io keeps a reactor of its own), or a runtime's own, set by the
//! server for its runtime or by the application ([`Config::timer`](crate::Config)), as hyper
//! takes its timer as a builder setting. Under tokio, a tokio timer is an entry in the runtime's
//! own timer wheel, where an async-io timer wakes async-io's helper thread (BENCHMARKS.md has
//! what that costs).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// Whose timers a connection uses for its write, close and handshake timeouts and its delayed
/// answers, and how it yields to the executor after a batch of echoes. (The heartbeat and the
/// idle timeout are kept by one thread of the process for every connection, whatever the
/// runtime: it wakes a connection only when its peer has really been silent.)
///
/// [`Timer::AsyncIo`] works under every executor and is the default. A server on tokio sets
/// [`Timer::Tokio`]; an application on tokio that calls [`serve`](crate::serve) itself sets it
/// too, so that its connections use the runtime's own timer wheel and yield the way tokio
/// expects:
///
/// ```
/// let config = ws_echo::Config::default().timer(ws_echo::Timer::AsyncIo);
/// assert_eq!(config.timer, ws_echo::Timer::AsyncIo);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Timer {
    /// async-io's timers and a plain yield: work under any executor.
    #[default]
    AsyncIo,
    /// The current tokio runtime's timers, which it must have (`enable_time` or `enable_all`),
    /// and tokio's `yield_now`: a task that simply wakes itself goes straight back in tokio's
    /// run queue, and tokio's current-thread scheduler looks for I/O only when that queue is
    /// empty or once every 61 polls, so a connection that never runs out of input would keep
    /// every other one waiting; tokio's own yield holds the task back until the runtime has
    /// polled for I/O.
    #[cfg(feature = "tokio")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    Tokio,
}

impl Timer {
    /// Lets the executor run other tasks before this one goes on.
    pub(crate) async fn yield_now(self) {
        match self {
            Timer::AsyncIo => futures_lite::future::yield_now().await,
            #[cfg(feature = "tokio")]
            Timer::Tokio => tokio::task::yield_now().await,
        }
    }
}

/// `at + by`, or a century after `at` when that sum is past what `Instant` can hold: a timeout
/// configured as `Duration::MAX` means "never", not a panic.
pub(crate) fn later(at: Instant, by: Duration) -> Instant {
    const CENTURY: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
    at.checked_add(by)
        .or_else(|| at.checked_add(CENTURY))
        .unwrap_or(at)
}

/// A timer that completes at its deadline; [`Timer::never`] makes one that waits until it is
/// given a deadline with [`Sleep::set_at`].
#[derive(Debug)]
pub(crate) enum Sleep {
    AsyncIo(async_io::Timer),
    /// `None`: no deadline yet.
    #[cfg(feature = "tokio")]
    Tokio(Option<Pin<Box<tokio::time::Sleep>>>),
}

impl Timer {
    /// A timer that completes at `deadline`.
    pub(crate) fn at(self, deadline: Instant) -> Sleep {
        let mut sleep = self.never();
        sleep.set_at(deadline);
        sleep
    }

    /// A timer that completes `duration` from now (see [`later`]).
    pub(crate) fn after(self, duration: Duration) -> Sleep {
        self.at(later(Instant::now(), duration))
    }

    /// A timer without a deadline.
    pub(crate) fn never(self) -> Sleep {
        match self {
            Timer::AsyncIo => Sleep::AsyncIo(async_io::Timer::never()),
            #[cfg(feature = "tokio")]
            Timer::Tokio => Sleep::Tokio(None),
        }
    }
}

impl Sleep {
    /// Moves the deadline (a timer that already fired waits again).
    pub(crate) fn set_at(&mut self, deadline: Instant) {
        match self {
            Sleep::AsyncIo(timer) => timer.set_at(deadline),
            #[cfg(feature = "tokio")]
            Sleep::Tokio(sleep) => {
                let deadline = tokio::time::Instant::from_std(deadline);
                match sleep {
                    Some(sleep) => sleep.as_mut().reset(deadline),
                    None => *sleep = Some(Box::pin(tokio::time::sleep_until(deadline))),
                }
            }
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match self.get_mut() {
            Sleep::AsyncIo(timer) => Pin::new(timer).poll(cx).map(drop),
            #[cfg(feature = "tokio")]
            Sleep::Tokio(Some(sleep)) => sleep.as_mut().poll(cx),
            #[cfg(feature = "tokio")]
            Sleep::Tokio(None) => Poll::Pending,
        }
    }
}

/// Ticks every `period`, the first at `start`; a tick that is late does not move the ones
/// after it.
#[derive(Debug)]
pub(crate) struct Interval {
    sleep: Sleep,
    next: Instant,
    period: Duration,
}

impl Interval {
    pub(crate) fn new(timer: Timer, start: Instant, period: Duration) -> Interval {
        Interval {
            sleep: timer.at(start),
            next: start,
            period,
        }
    }

    /// Ready at each tick.
    pub(crate) fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if Pin::new(&mut self.sleep).poll(cx).is_pending() {
            return Poll::Pending;
        }
        self.next = later(self.next, self.period);
        self.sleep.set_at(self.next);
        Poll::Ready(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_lite::future::{block_on, poll_once};

    /// A deadline past what `Instant` can hold is a century away instead of a panic.
    #[test]
    fn a_duration_past_the_clocks_range_is_a_century_away() {
        let now = Instant::now();
        assert!(later(now, Duration::MAX) >= now + Duration::from_secs(99 * 365 * 24 * 3600));
        assert_eq!(
            later(now, Duration::from_secs(5)),
            now + Duration::from_secs(5)
        );
        let mut sleep = Timer::AsyncIo.after(Duration::MAX);
        assert_eq!(block_on(poll_once(&mut sleep)), None);
    }

    #[test]
    fn an_interval_ticks_on_its_schedule() {
        let start = Instant::now();
        let mut ticks = Interval::new(Timer::AsyncIo, start, Duration::from_millis(10));
        for n in 0..3 {
            block_on(std::future::poll_fn(|cx| ticks.poll_tick(cx)));
            assert!(start.elapsed() >= Duration::from_millis(10 * n));
        }
        assert_eq!(ticks.next, start + Duration::from_millis(30));
    }

    #[test]
    fn a_timer_fires_at_its_deadline_and_again_when_moved() {
        let start = Instant::now();
        let mut sleep = Timer::AsyncIo.at(start + Duration::from_millis(20));
        block_on(&mut sleep);
        let first = start.elapsed();
        assert!(first >= Duration::from_millis(20), "fired after {first:?}");
        sleep.set_at(Instant::now() + Duration::from_millis(20));
        block_on(&mut sleep);
        assert!(start.elapsed() >= first + Duration::from_millis(20));
    }
}
