//! How long the client waits before dialing again: a bound that starts at the configured
//! initial wait and doubles at every failed attempt and every session that ended soon after it
//! began, up to the maximum; back to the start only after a session that lasted. Each wait is
//! drawn between half the bound and the bound ("equal jitter"), so that clients spread out and
//! a server that accepts and closes at once still sees them slow down.

use std::time::Duration;

/// A session up at least this long counts as having lasted: the next wait starts again from
/// the initial bound.
pub(super) const LASTED: Duration = Duration::from_secs(5);

/// The bound and what it grows from and up to.
#[derive(Debug)]
pub(super) struct Backoff {
    initial: Duration,
    max: Duration,
    bound: Duration,
}

impl Backoff {
    pub(super) fn new(initial: Duration, max: Duration) -> Backoff {
        Backoff {
            initial,
            max,
            bound: initial.min(max),
        }
    }

    /// The wait before the next attempt: at random between half the bound and the bound. The
    /// bound doubles for the one after.
    pub(super) fn next_wait(&mut self) -> Duration {
        let half = self.bound / 2;
        let wait = half + half.mul_f64(fastrand::f64());
        self.bound = self.bound.saturating_mul(2).min(self.max);
        wait
    }

    /// A session ended after `up`: one that lasted starts the waits again from the initial
    /// bound; one that did not keeps the bound where it is, still growing.
    pub(super) fn session_ended(&mut self, up: Duration) {
        if up >= LASTED {
            self.bound = self.initial.min(self.max);
        }
    }

    /// The server said when to come back (`Retry-After`): that long, if it is longer than the
    /// wait drawn, and at most the maximum.
    pub(super) fn at_least(
        wait: Duration,
        retry_after: Option<Duration>,
        max: Duration,
    ) -> Duration {
        match retry_after {
            Some(asked) => wait.max(asked.min(max)),
            None => wait,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn waits_double_between_half_the_bound_and_the_bound_up_to_the_maximum() {
        let mut backoff = Backoff::new(200 * MS, 1600 * MS);
        for bound in [200, 400, 800, 1600, 1600, 1600] {
            let wait = backoff.next_wait();
            assert!(
                wait >= bound * MS / 2 && wait <= bound * MS,
                "{wait:?} for {bound} ms"
            );
        }
    }

    #[test]
    fn a_short_session_keeps_the_bound_growing_and_one_that_lasted_resets_it() {
        let mut backoff = Backoff::new(200 * MS, Duration::from_secs(10));
        backoff.next_wait();
        backoff.next_wait();
        backoff.session_ended(10 * MS);
        assert!(backoff.next_wait() >= 400 * MS, "still growing");
        backoff.session_ended(LASTED);
        assert!(backoff.next_wait() <= 200 * MS, "from the start again");
    }

    /// From 200 ms, whatever the draws: sessions that each end at once, in 12 s, are at most 7
    /// (one at 0, then after waits of at least 100, 200, 400, ... ms).
    #[test]
    fn twelve_seconds_of_sessions_closed_at_once_allow_at_most_seven() {
        let mut backoff = Backoff::new(200 * MS, Duration::from_secs(10));
        let (mut at, mut sessions) = (Duration::ZERO, 1);
        loop {
            backoff.session_ended(Duration::ZERO);
            at += backoff.next_wait();
            if at > Duration::from_secs(12) {
                break;
            }
            sessions += 1;
        }
        assert!(sessions <= 7, "{sessions}");
    }

    #[test]
    fn retry_after_lengthens_a_wait_up_to_the_maximum() {
        let max = Duration::from_secs(30);
        assert_eq!(
            Backoff::at_least(MS, Some(Duration::from_secs(3)), max),
            Duration::from_secs(3)
        );
        assert_eq!(
            Backoff::at_least(MS, Some(Duration::from_secs(90)), max),
            max
        );
        assert_eq!(Backoff::at_least(5 * MS, None, max), 5 * MS);
    }
}
