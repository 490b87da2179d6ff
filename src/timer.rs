//! The core's timers: async-io's by default, which run under any executor (async-io keeps a
//! reactor of its own), or the runtime's own where an adapter knows it has them. Under tokio,
//! each new async-io timer wakes async-io's helper thread (an eventfd write, a context switch and
//! five system calls on its side); a tokio timer is an entry in the runtime's own timer wheel.

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

    /// A timer that completes `duration` from now (never, if that is past the clock's range).
    pub(crate) fn after(self, duration: Duration) -> Sleep {
        match Instant::now().checked_add(duration) {
            Some(deadline) => self.at(deadline),
            None => self.never(),
        }
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

    /// A deadline past what `Instant` can hold waits forever instead of panicking.
    #[test]
    fn a_duration_past_the_clocks_range_never_fires() {
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
