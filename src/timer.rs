//! The core's timers: async-io's by default, which run under any executor (async-io keeps a
//! reactor of its own), or the runtime's own where an adapter knows it has them. Under tokio,
//! each new async-io timer wakes async-io's helper thread (an eventfd write, a context switch and
//! five system calls on its side); a tokio timer is an entry in the runtime's own timer wheel.
//! Also the loop's other dealing with the scheduler: how it yields ([`yield_now`]).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// Which timers a connection uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Clock {
    /// async-io's: work under any executor.
    #[default]
    AsyncIo,
    /// The current tokio runtime's (it must have timers enabled; the tokio adapter checks).
    #[cfg(feature = "tokio")]
    Tokio,
}

/// Lets the executor run other tasks before this one goes on. With the `tokio` feature, with
/// tokio's own `yield_now`, whatever the clock (an application may run the core on tokio without
/// our adapter): inside a tokio runtime it holds the task back until the runtime has also
/// polled for I/O, and elsewhere it wakes the task at once, as any yield does. A task that
/// simply wakes itself goes straight back in tokio's run queue, and tokio's current-thread
/// scheduler looks for I/O only when that queue is empty or once every 61 polls, so a
/// connection that never runs out of input would keep every other one waiting.
pub(crate) async fn yield_now() {
    #[cfg(feature = "tokio")]
    tokio::task::yield_now().await;
    #[cfg(not(feature = "tokio"))]
    futures_lite::future::yield_now().await;
}

/// `at + by`, or a century after `at` when that sum is past what `Instant` can hold: a timeout
/// configured as `Duration::MAX` means "never", not a panic.
pub(crate) fn later(at: Instant, by: Duration) -> Instant {
    const CENTURY: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
    at.checked_add(by)
        .or_else(|| at.checked_add(CENTURY))
        .unwrap_or(at)
}

/// A timer that completes at its deadline; [`Clock::never`] makes one that waits until it is
/// given a deadline with [`Sleep::set_at`].
#[derive(Debug)]
pub(crate) enum Sleep {
    AsyncIo(async_io::Timer),
    /// `None`: no deadline yet.
    #[cfg(feature = "tokio")]
    Tokio(Option<Pin<Box<tokio::time::Sleep>>>),
}

impl Clock {
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
            Clock::AsyncIo => Sleep::AsyncIo(async_io::Timer::never()),
            #[cfg(feature = "tokio")]
            Clock::Tokio => Sleep::Tokio(None),
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
        let mut sleep = Clock::AsyncIo.after(Duration::MAX);
        assert_eq!(block_on(poll_once(&mut sleep)), None);
    }

    #[test]
    fn a_timer_fires_at_its_deadline_and_again_when_moved() {
        let start = Instant::now();
        let mut sleep = Clock::AsyncIo.at(start + Duration::from_millis(20));
        block_on(&mut sleep);
        let first = start.elapsed();
        assert!(first >= Duration::from_millis(20), "fired after {first:?}");
        sleep.set_at(Instant::now() + Duration::from_millis(20));
        block_on(&mut sleep);
        assert!(start.elapsed() >= first + Duration::from_millis(20));
    }
}
