//! What the loop does next, decided without I/O from a small state: whether the next wait reads,
//! flushes at once or sleeps ([`plan_wait`]), and what follows a flush ([`after_flush`]). The
//! loop ([`super`]) does what these say; each transition has a unit test below.

use super::drain::Phase;

/// Messages echoed in one go before we flush and let other tasks run, so that a peer whose
/// input never pauses cannot starve the rest of the executor.
pub(super) const BATCH: u32 = 64;

/// The same in bytes (64 messages of 16 KiB): 64 large messages would keep the other
/// connections waiting while tens of megabytes go through.
pub(super) const BATCH_BYTES: u64 = 1 << 20;

/// The echoes (and pongs) fed to tungstenite since the last flush. Everything that has already
/// arrived is echoed before one flush, up to [`BATCH`] messages or [`BATCH_BYTES`]; then we
/// flush and yield.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Batch {
    messages: u32,
    bytes: u64,
}

impl Batch {
    pub(super) fn add(&mut self, bytes: u64) {
        self.messages += 1;
        self.bytes += bytes;
    }

    pub(super) fn is_empty(&self) -> bool {
        self.messages == 0
    }

    pub(super) fn is_full(&self) -> bool {
        self.messages >= BATCH || self.bytes >= BATCH_BYTES
    }
}

/// What the loop knows when it is about to wait.
#[derive(Clone, Copy, Debug)]
pub(super) struct Facts {
    pub(super) batch: Batch,
    pub(super) phase: Phase,
    /// Answers are waiting for their time.
    pub(super) waiting: bool,
    /// They hold as much as their bound allows: nothing more is read until some have gone.
    pub(super) waiting_full: bool,
    /// The stream's last poll returned Pending and nothing but a flush that completed at once
    /// has run since, in the same poll of the task: its waker is registered, so a sleep need
    /// not poll it again first (that poll would cost a second pass through async-tungstenite
    /// and the socket for every message that ends a burst).
    pub(super) stream_waiting: bool,
}

/// How the next wait goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Wait {
    /// Flush at once: the batch, or the drain's budget, is used up.
    pub(super) flush_now: bool,
    /// Take input from the stream.
    pub(super) read: bool,
    /// Nothing is queued: sleep on the stream, the timer, the answers' time and the shutdown
    /// signal. Otherwise only take what has already arrived, then flush.
    pub(super) sleep: bool,
    /// Sleep without polling the stream first (see [`Facts::stream_waiting`]).
    pub(super) skip_first_read: bool,
    /// Watch the shutdown signal (only while serving).
    pub(super) watch_shutdown: bool,
}

/// How the next wait goes, given `facts`.
#[inline]
pub(super) fn plan_wait(facts: Facts) -> Wait {
    let spent = facts.phase.budget_spent();
    let flush_now = facts.batch.is_full() || (spent && !facts.waiting);
    let serving = facts.phase == Phase::Serving;
    let sleep = !flush_now && facts.batch.is_empty() && (serving || facts.waiting);
    Wait {
        flush_now,
        read: !spent && !facts.waiting_full,
        sleep,
        skip_first_read: sleep && facts.stream_waiting,
        watch_shutdown: serving,
    }
}

/// What follows a flush.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum AfterFlush {
    /// Go on.
    Go,
    /// Let other tasks run first: the batch was full.
    Yield,
    /// The shutdown signal fired: start draining.
    Drain,
    /// Drained: close with 1001 "going away".
    Close,
}

/// What follows a flush in `phase`: `caught_up` when everything that had arrived was taken (the
/// wait found nothing more), not a full batch.
#[inline]
pub(super) fn after_flush(
    phase: Phase,
    shutdown: bool,
    waiting: bool,
    caught_up: bool,
) -> AfterFlush {
    match phase {
        Phase::Serving if shutdown => AfterFlush::Drain,
        // Answers still waiting for their time go first.
        Phase::Draining { .. } if waiting => AfterFlush::Go,
        Phase::Draining { left } if caught_up || left == 0 => AfterFlush::Close,
        _ if !caught_up => AfterFlush::Yield,
        _ => AfterFlush::Go,
    }
}

#[cfg(test)]
mod tests {
    use super::super::drain::BUDGET;
    use super::*;

    fn serving() -> Facts {
        Facts {
            batch: Batch::default(),
            phase: Phase::Serving,
            waiting: false,
            waiting_full: false,
            stream_waiting: false,
        }
    }

    fn batch_of(messages: u32, bytes: u64) -> Batch {
        let mut batch = Batch::default();
        for _ in 0..messages {
            batch.add(bytes / u64::from(messages.max(1)));
        }
        batch
    }

    #[test]
    fn an_idle_serving_connection_sleeps_on_everything() {
        let wait = plan_wait(serving());
        assert_eq!(
            wait,
            Wait {
                flush_now: false,
                read: true,
                sleep: true,
                skip_first_read: false,
                watch_shutdown: true,
            }
        );
    }

    #[test]
    fn with_echoes_queued_it_only_takes_what_has_arrived() {
        let wait = plan_wait(Facts {
            batch: batch_of(3, 60),
            ..serving()
        });
        assert!(wait.read && !wait.sleep && !wait.flush_now);
    }

    #[test]
    fn a_full_batch_is_flushed_before_anything_is_read() {
        for batch in [batch_of(BATCH, 64), batch_of(1, BATCH_BYTES)] {
            let wait = plan_wait(Facts { batch, ..serving() });
            assert!(wait.flush_now && !wait.sleep, "{batch:?}");
        }
    }

    #[test]
    fn a_sleep_after_a_pending_read_skips_its_first_poll_of_the_stream() {
        let wait = plan_wait(Facts {
            stream_waiting: true,
            ..serving()
        });
        assert!(wait.sleep && wait.skip_first_read);
        // With echoes queued it does not sleep, so it polls the stream.
        let busy = plan_wait(Facts {
            batch: batch_of(1, 20),
            stream_waiting: true,
            ..serving()
        });
        assert!(!busy.skip_first_read && busy.read);
    }

    #[test]
    fn waiting_answers_at_their_bound_stop_reading_but_not_sleeping() {
        let wait = plan_wait(Facts {
            waiting: true,
            waiting_full: true,
            ..serving()
        });
        assert!(!wait.read && wait.sleep && !wait.flush_now);
    }

    #[test]
    fn draining_does_not_watch_the_signal_and_stops_reading_when_its_budget_is_spent() {
        let draining = plan_wait(Facts {
            phase: Phase::Draining { left: 5 },
            ..serving()
        });
        // Draining with nothing queued and nothing waiting: no sleep, straight to the flush.
        assert!(draining.read && !draining.sleep && !draining.watch_shutdown);
        let spent = plan_wait(Facts {
            phase: Phase::Draining { left: 0 },
            ..serving()
        });
        assert!(!spent.read && spent.flush_now);
    }

    #[test]
    fn draining_while_answers_wait_sleeps_until_they_are_due() {
        let wait = plan_wait(Facts {
            phase: Phase::Draining { left: 0 },
            waiting: true,
            ..serving()
        });
        assert!(wait.sleep && !wait.read && !wait.flush_now && !wait.watch_shutdown);
    }

    #[test]
    fn the_signal_seen_after_a_flush_starts_the_drain() {
        assert_eq!(
            after_flush(Phase::Serving, true, false, true),
            AfterFlush::Drain
        );
        assert_eq!(
            after_flush(Phase::Serving, true, true, false),
            AfterFlush::Drain
        );
    }

    #[test]
    fn serving_yields_after_a_full_batch_and_goes_on_when_caught_up() {
        assert_eq!(
            after_flush(Phase::Serving, false, false, false),
            AfterFlush::Yield
        );
        assert_eq!(
            after_flush(Phase::Serving, false, false, true),
            AfterFlush::Go
        );
    }

    #[test]
    fn a_drain_closes_once_caught_up_or_out_of_budget_but_not_while_answers_wait() {
        let draining = Phase::Draining { left: 10 };
        assert_eq!(after_flush(draining, true, false, true), AfterFlush::Close);
        assert_eq!(
            after_flush(Phase::Draining { left: 0 }, true, false, false),
            AfterFlush::Close
        );
        // A full batch with budget left: let the others run, then go on echoing.
        assert_eq!(after_flush(draining, true, false, false), AfterFlush::Yield);
        // Answers waiting for their time go first, whatever the budget.
        assert_eq!(after_flush(draining, true, true, true), AfterFlush::Go);
        assert_eq!(
            after_flush(Phase::Draining { left: 0 }, true, true, false),
            AfterFlush::Go
        );
    }

    #[test]
    fn the_drain_budget_counts_down_to_zero_and_stays_there() {
        let mut phase = Phase::Serving;
        phase.took_one();
        assert_eq!(phase, Phase::Serving);
        phase.drain();
        assert_eq!(phase, Phase::Draining { left: BUDGET });
        for _ in 0..BUDGET + 3 {
            phase.took_one();
        }
        assert!(phase.budget_spent());
    }
}
