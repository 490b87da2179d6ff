//! The server's connection slots (how many are open, a limit on them, waiting for none) and the
//! account of how the connections open at a shutdown ended.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use event_listener::Event;

use crate::summary::Ending;
use crate::summary::Summary;

/// How an accepted connection ended.
#[derive(Debug)]
pub(super) enum Outcome {
    /// A WebSocket connection ran, and went this way.
    Served(Summary),
    /// No WebSocket connection: refused, a failed or timed-out handshake.
    NotUpgraded,
    /// A request for the page, answered.
    Page,
    /// A health check, answered.
    Health,
    /// A request for the metrics, answered.
    Metrics,
    /// Still running at the drain deadline: dropped.
    Dropped,
}

impl Outcome {
    /// Whether it was dropped rather than closed: at the drain deadline, or after our Close
    /// went unanswered.
    fn dropped(&self) -> bool {
        match self {
            Outcome::Served(summary) => {
                matches!(summary.ending, Ending::ServerClosed { dropped: true, .. })
            }
            Outcome::NotUpgraded | Outcome::Page | Outcome::Health | Outcome::Metrics => false,
            Outcome::Dropped => true,
        }
    }
}

/// How the connections open at a shutdown ended.
#[derive(Debug, Default)]
pub(super) struct DrainCounts {
    clean: AtomicU64,
    dropped: AtomicU64,
}

impl DrainCounts {
    pub(super) fn count(&self, outcome: &Outcome) {
        let counter = if outcome.dropped() {
            &self.dropped
        } else {
            &self.clean
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// (closed cleanly, dropped).
    pub(super) fn totals(&self) -> (u64, u64) {
        (
            self.clean.load(Ordering::Relaxed),
            self.dropped.load(Ordering::Relaxed),
        )
    }
}

/// The open connections, up to a limit, and a way to wait for there to be none.
#[derive(Debug)]
pub(super) struct Slots {
    max: usize,
    open: AtomicUsize,
    changed: Event,
}

impl Slots {
    /// `None`: no limit.
    pub(super) fn new(max: Option<usize>) -> Arc<Slots> {
        Arc::new(Slots {
            max: max.unwrap_or(usize::MAX),
            open: AtomicUsize::new(0),
            changed: Event::new(),
        })
    }

    pub(super) fn open(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }

    /// Takes a place if fewer than the limit are taken.
    pub(super) fn take(self: &Arc<Slots>) -> Option<Slot> {
        self.open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.max).then_some(n + 1)
            })
            .ok()
            .map(|_| Slot(Arc::clone(self)))
    }

    /// Completes once no place is taken.
    pub(super) async fn wait_empty(&self) {
        loop {
            if self.open() == 0 {
                return;
            }
            let listener = self.changed.listen();
            if self.open() == 0 {
                return;
            }
            listener.await;
        }
    }
}

/// Open connections by client address, up to a limit per address.
#[derive(Debug)]
pub(super) struct PerAddress {
    max: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

impl PerAddress {
    pub(super) fn new(max: usize) -> Arc<PerAddress> {
        Arc::new(PerAddress {
            max,
            open: Mutex::new(HashMap::new()),
        })
    }

    /// Takes a place for `ip` if it has fewer than the limit open.
    pub(super) fn take(self: &Arc<PerAddress>, ip: IpAddr) -> Option<AddressSlot> {
        let mut open = self.open.lock().ok()?;
        let count = open.entry(ip).or_default();
        if *count >= self.max {
            return None;
        }
        *count += 1;
        Some(AddressSlot(Arc::clone(self), ip))
    }
}

/// A place among one address's open connections, given back when dropped; an address with
/// none open is forgotten.
#[derive(Debug)]
pub(super) struct AddressSlot(Arc<PerAddress>, IpAddr);

impl Drop for AddressSlot {
    fn drop(&mut self) {
        if let Ok(mut open) = self.0.open.lock() {
            if let Some(count) = open.get_mut(&self.1) {
                *count -= 1;
                if *count == 0 {
                    open.remove(&self.1);
                }
            }
        }
    }
}

/// A place among the open connections, given back when dropped.
#[derive(Debug)]
pub(super) struct Slot(Arc<Slots>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::AcqRel);
        self.0.changed.notify(usize::MAX);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_are_taken_up_to_the_limit_and_given_back_when_dropped() {
        let slots = Slots::new(Some(2));
        let first = slots.take();
        let second = slots.take();
        assert!(first.is_some() && second.is_some());
        assert!(slots.take().is_none());
        assert_eq!(slots.open(), 2);
        drop(first);
        assert_eq!(slots.open(), 1);
        assert!(slots.take().is_some());
    }

    #[test]
    fn each_address_gets_its_own_places_and_is_forgotten_with_its_last() {
        let per = PerAddress::new(2);
        let (a, b): (IpAddr, IpAddr) = ([127, 0, 0, 2].into(), [127, 0, 0, 3].into());
        let first = per.take(a);
        let second = per.take(a);
        assert!(first.is_some() && second.is_some());
        assert!(per.take(a).is_none());
        assert!(per.take(b).is_some()); // taken and given back at once
        drop(first);
        let third = per.take(a);
        assert!(third.is_some());
        drop((second, third));
        assert!(per.open.lock().unwrap().is_empty());
    }

    #[test]
    fn waiting_for_no_open_slot_ends_when_the_last_goes() {
        let slots = Slots::new(None);
        let slot = slots.take();
        let mut waiting = std::pin::pin!(slots.wait_empty());
        assert!(
            futures_lite::future::block_on(futures_lite::future::poll_once(&mut waiting)).is_none()
        );
        drop(slot);
        futures_lite::future::block_on(waiting);
        assert_eq!(slots.open(), 0);
    }
}
