//! The drain at shutdown: once the signal fires, what has already arrived is echoed until
//! nothing more is waiting or [`BUDGET`] more messages were echoed (a peer that never pauses
//! would otherwise keep us open), answers still waiting for their time go out, then Close 1001
//! "going away"; the peer learns from it that what follows was not taken. The loop's
//! [`decide`](super::decide) says when each step comes.

/// The most messages echoed after the signal: one batch's worth.
pub(super) const BUDGET: u32 = 64;

/// Serving, or draining after the shutdown signal with `left` more messages to echo at most.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Phase {
    Serving,
    Draining { left: u32 },
}

impl Phase {
    /// The shutdown signal fired: start draining.
    pub(super) fn drain(&mut self) {
        *self = Phase::Draining { left: BUDGET };
    }

    /// One more message echoed.
    pub(super) fn took_one(&mut self) {
        if let Phase::Draining { left } = self {
            *left = left.saturating_sub(1);
        }
    }

    /// Draining, and the budget of messages is spent: nothing more is read.
    pub(super) fn budget_spent(self) -> bool {
        matches!(self, Phase::Draining { left: 0 })
    }
}
