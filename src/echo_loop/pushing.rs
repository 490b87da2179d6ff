//! Messages the server sends on its own schedule, beside the echoes ([`Open::Push`]): each
//! [`Push`] is due every interval from the upgrade, and the loop's timer is aimed at the first
//! one due.
//!
//! [`Open::Push`]: crate::Open::Push

use std::time::{Duration, Instant};

use async_tungstenite::tungstenite::Message;

use crate::open::Push;
use crate::timer::later;

/// The pushes of one connection still to come.
#[derive(Debug)]
pub(super) struct Pushes {
    scheduled: Vec<Scheduled>,
}

#[derive(Debug)]
struct Scheduled {
    push: Push,
    due: Instant,
    /// How many are left to send; `None`: for the connection's life.
    left: Option<u64>,
}

impl Pushes {
    /// The schedule of `pushes` from `now`; `None` when none will ever be sent.
    pub(super) fn new(pushes: Vec<Push>, now: Instant) -> Option<Box<Pushes>> {
        let scheduled: Vec<Scheduled> = pushes
            .into_iter()
            .filter(|push| push.times != Some(0))
            .map(|push| Scheduled {
                due: later(now, push.every),
                left: push.times,
                push,
            })
            .collect();
        (!scheduled.is_empty()).then(|| Box::new(Pushes { scheduled }))
    }

    /// The shortest interval, which the timer's grid must be fine enough for.
    pub(super) fn shortest(&self) -> Option<Duration> {
        self.scheduled.iter().map(|s| s.push.every).min()
    }

    /// When the next push is due, if any is left.
    pub(super) fn deadline(&self) -> Option<Instant> {
        self.scheduled.iter().map(|s| s.due).min()
    }

    /// The messages due at `now`, in the order their pushes were given; each is scheduled again
    /// an interval after it was due (or, if that has passed too, an interval from `now`: one
    /// that fell behind is not made up for with a burst), or dropped once all are sent.
    pub(super) fn take_due(&mut self, now: Instant) -> Vec<Message> {
        let mut due = Vec::new();
        for scheduled in &mut self.scheduled {
            if scheduled.due > now {
                continue;
            }
            due.push(scheduled.push.message.clone());
            scheduled.left = scheduled.left.map(|left| left - 1);
            let next = later(scheduled.due, scheduled.push.every);
            scheduled.due = if next > now {
                next
            } else {
                later(now, scheduled.push.every)
            };
        }
        self.scheduled.retain(|s| s.left != Some(0));
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn each_push_is_due_every_interval_its_count_of_times() {
        let start = Instant::now();
        let tick = Push::every(100 * MS, Message::text("tick")).times(2);
        let ping = Push::every(150 * MS, Message::Ping(Default::default()));
        let never = Push::every(MS, Message::text("never")).times(0);
        let mut pushes = Pushes::new(vec![tick, ping, never], start).unwrap();
        assert_eq!(pushes.shortest(), Some(100 * MS));
        assert_eq!(pushes.deadline(), Some(start + 100 * MS));
        assert!(pushes.take_due(start + 99 * MS).is_empty());
        assert_eq!(pushes.take_due(start + 100 * MS), [Message::text("tick")]);
        assert_eq!(pushes.deadline(), Some(start + 150 * MS));
        let both = pushes.take_due(start + 200 * MS);
        assert_eq!(
            both,
            [Message::text("tick"), Message::Ping(Default::default())]
        );
        // The ticks are done; the pings go on.
        assert_eq!(pushes.deadline(), Some(start + 300 * MS));
        assert_eq!(pushes.take_due(start + 300 * MS).len(), 1);
        assert_eq!(pushes.deadline(), Some(start + 450 * MS));
    }

    #[test]
    fn a_push_that_fell_behind_is_not_made_up_for() {
        let start = Instant::now();
        let mut pushes =
            Pushes::new(vec![Push::every(10 * MS, Message::text("x"))], start).unwrap();
        // A second late: one message, the next an interval from now.
        assert_eq!(pushes.take_due(start + 1000 * MS).len(), 1);
        assert_eq!(pushes.deadline(), Some(start + 1010 * MS));
        assert!(Pushes::new(vec![], start).is_none());
        let none = Push::every(10 * MS, Message::text("x")).times(0);
        assert!(Pushes::new(vec![none], start).is_none());
    }
}
