//! The heartbeat's one thread for the whole process: it keeps every connection's next
//! deadline (the heartbeat's and one of its owner's, such as the idle timeout) and wakes a
//! connection only when one has really come.
//!
//! A connection whose peer keeps talking moves its heartbeat deadline later with every read.
//! With a timer of its own, that timer fired at the old deadline anyway, and the connection's
//! task was woken and polled only to find nothing due (at 19,900 connections and a 20 s
//! heartbeat, about 1,000 wake-ups a second, and a grid point's worth at once, which under
//! tokio showed as a p99.9 of 150 ms). Here the sweeper reads when the peer was last heard
//! ([`Activity`]) and moves the deadline itself, without waking anyone; only a silent peer's
//! connection is woken, to ping it or to give up on it.
//!
//! A connection publishes in its [`Slot`] what the sweeper needs to recompute its deadline
//! (when it pinged, its other deadline), and schedules the slot when its deadline moves
//! earlier than the one the sweeper holds. The sweeper holds each slot weakly: a connection
//! that ends needs no word to it. Deadlines are rounded up to the connection's [`Grid`], so the
//! sweeper wakes once per grid point, not once per connection.

use std::cmp::{Ordering as Order, Reverse};
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_util::task::AtomicWaker;

use super::grid::Grid;
use crate::codec::watched::Activity;

/// No deadline.
const NONE: u64 = u64::MAX;

/// In [`Slot::scheduled`]: the sweeper is looking at the slot. Above any deadline, so that a
/// connection that aims meanwhile takes the lock and waits for the sweeper's answer rather
/// than trusting a deadline about to change.
const LOOKING: u64 = NONE - 1;

/// The sweeper's clock: nanoseconds since the first use, for one process.
fn origin() -> Instant {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

fn nanos(at: Instant) -> u64 {
    let since = at.saturating_duration_since(origin());
    u64::try_from(since.as_nanos()).unwrap_or(LOOKING - 1)
}

fn instant(nanos: u64) -> Instant {
    crate::timer::later(origin(), Duration::from_nanos(nanos))
}

/// One connection's deadlines as the sweeper sees them.
#[derive(Debug)]
pub(super) struct Slot {
    activity: Arc<Activity>,
    /// The heartbeat: ping after this much silence, then give up after `pong_timeout` more;
    /// `None`: off.
    interval: Option<Duration>,
    pong_timeout: Duration,
    grid: Grid,
    /// When the connection last pinged, on the sweeper's clock; [`NONE`]: never.
    pinged: AtomicU64,
    /// The owner's other deadline; [`NONE`]: none.
    also: AtomicU64,
    /// Where the sweeper holds the slot (on the grid); [`NONE`]: not held (it fired, or had
    /// nothing due). Written under the sweeper's lock.
    scheduled: AtomicU64,
    /// The deadline came: the connection has yet to see it.
    fired: AtomicBool,
    waker: AtomicWaker,
}

impl Slot {
    pub(super) fn new(
        activity: Arc<Activity>,
        interval: Option<Duration>,
        pong_timeout: Duration,
        grid: Grid,
    ) -> Arc<Slot> {
        Arc::new(Slot {
            activity,
            interval,
            pong_timeout,
            grid,
            pinged: AtomicU64::new(NONE),
            also: AtomicU64::new(NONE),
            scheduled: AtomicU64::new(NONE),
            fired: AtomicBool::new(false),
            waker: AtomicWaker::new(),
        })
    }

    /// Rounds onto `grid` from now on (before the slot is first aimed, while only its
    /// connection holds it; otherwise a slot of its own with the same settings).
    pub(super) fn regrid(slot: &mut Arc<Slot>, grid: Grid) {
        match Arc::get_mut(slot) {
            Some(alone) => alone.grid = grid,
            None => {
                let activity = Arc::clone(&slot.activity);
                *slot = Slot::new(activity, slot.interval, slot.pong_timeout, grid);
            }
        }
    }

    /// The connection pinged at `at`.
    pub(super) fn pinged(&self, at: Instant) {
        self.pinged.store(nanos(at), Ordering::Relaxed);
    }

    /// The next deadline, on the grid, as the heartbeat (when the peer was last heard, when we
    /// pinged) and the owner's other deadline make it now; [`NONE`] if there is none.
    fn due(&self) -> u64 {
        let beat = self.interval.map_or(NONE, |interval| {
            let last_read = nanos(self.activity.last_read());
            let pinged = self.pinged.load(Ordering::Relaxed);
            if pinged != NONE && last_read <= pinged {
                pinged.saturating_add(nanos_of(self.pong_timeout))
            } else {
                last_read.saturating_add(nanos_of(interval))
            }
        });
        match beat.min(self.also.load(Ordering::SeqCst)) {
            due if due >= LOOKING => NONE,
            due => nanos(self.grid.round_up(instant(due))).min(LOOKING - 1),
        }
    }

    /// Aims at the heartbeat's next deadline or `also`, whichever comes first: the sweeper is
    /// told only when that is earlier than where it holds the slot (a later one, it finds out
    /// by itself when it gets there).
    pub(super) fn aim(self: &Arc<Self>, also: Option<Instant>) {
        // Sequentially consistent with the sweeper's [`LOOKING`] mark: either it reads this
        // deadline, or this reads its mark.
        self.also.store(also.map_or(NONE, nanos), Ordering::SeqCst);
        let due = self.due();
        if due < self.scheduled.load(Ordering::SeqCst) {
            sweeper().schedule(self, due);
        }
    }

    /// Ready once a deadline has come since the last time it was.
    pub(super) fn poll_fired(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.fired.swap(false, Ordering::Acquire) {
            return Poll::Ready(());
        }
        self.waker.register(cx.waker());
        match self.fired.swap(false, Ordering::Acquire) {
            true => Poll::Ready(()),
            false => Poll::Pending,
        }
    }
}

fn nanos_of(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(LOOKING - 1)
}

/// A slot held until `due`.
struct Entry {
    due: u64,
    slot: Weak<Slot>,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.due == other.due
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Order> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Order {
        self.due.cmp(&other.due)
    }
}

/// The process's sweeper: the slots by deadline, and its thread's wake-up.
struct Sweeper {
    state: Mutex<State>,
    wake: Condvar,
}

#[derive(Default)]
struct State {
    heap: BinaryHeap<Reverse<Entry>>,
    /// When the thread wakes next ([`NONE`]: when told).
    next: u64,
    started: bool,
}

fn sweeper() -> &'static Sweeper {
    static SWEEPER: OnceLock<Sweeper> = OnceLock::new();
    SWEEPER.get_or_init(|| Sweeper {
        state: Mutex::new(State {
            next: NONE,
            ..State::default()
        }),
        wake: Condvar::new(),
    })
}

impl Sweeper {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Holds `slot` until `due`, waking the thread if that is earlier than it would wake.
    fn schedule(&'static self, slot: &Arc<Slot>, due: u64) {
        let mut state = self.lock();
        if due >= slot.scheduled.load(Ordering::SeqCst) {
            return; // scheduled meanwhile, as early
        }
        slot.scheduled.store(due, Ordering::SeqCst);
        state.heap.push(Reverse(Entry {
            due,
            slot: Arc::downgrade(slot),
        }));
        if !state.started {
            state.started = true;
            let spawned = std::thread::Builder::new()
                .name("ws-echo-heartbeat".into())
                .spawn(move || self.run());
            if let Err(e) = spawned {
                log::error!("the heartbeat's thread could not start: no dead peer is found: {e}");
            }
        }
        if due < state.next {
            state.next = due;
            self.wake.notify_one();
        }
    }

    /// The thread: at each deadline, moves the slots whose peer spoke meanwhile, and wakes the
    /// others' connections.
    fn run(&self) {
        let mut state = self.lock();
        loop {
            let now = nanos(Instant::now());
            let fired = take_due(&mut state.heap, now);
            state.next = state.heap.peek().map_or(NONE, |Reverse(entry)| entry.due);
            if !fired.is_empty() {
                drop(state);
                for slot in fired {
                    slot.waker.wake();
                }
                state = self.lock();
                continue;
            }
            state = match state.next {
                NONE => self
                    .wake
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner),
                due => {
                    let wait = Duration::from_nanos(due.saturating_sub(now));
                    let waited = self.wake.wait_timeout(state, wait);
                    waited.map_or_else(|e| e.into_inner().0, |(state, _)| state)
                }
            };
        }
    }
}

/// Takes the slots due at `now` off the heap: those whose deadline moved go back at it, the
/// others are marked fired and returned to be woken.
fn take_due(heap: &mut BinaryHeap<Reverse<Entry>>, now: u64) -> Vec<Arc<Slot>> {
    let mut fired = Vec::new();
    while heap.peek().is_some_and(|Reverse(entry)| entry.due <= now) {
        let Some(Reverse(entry)) = heap.pop() else {
            break;
        };
        let Some(slot) = entry.slot.upgrade() else {
            continue; // its connection ended
        };
        if slot.scheduled.load(Ordering::SeqCst) != entry.due {
            continue; // held again elsewhere since
        }
        slot.scheduled.store(LOOKING, Ordering::SeqCst);
        match slot.due() {
            NONE => slot.scheduled.store(NONE, Ordering::SeqCst),
            due if due > now => {
                slot.scheduled.store(due, Ordering::SeqCst);
                let slot = entry.slot;
                heap.push(Reverse(Entry { due, slot }));
            }
            _ => {
                slot.scheduled.store(NONE, Ordering::SeqCst);
                slot.fired.store(true, Ordering::Release);
                fired.push(slot);
            }
        }
    }
    fired
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::task::{Wake, Waker};

    const MS: Duration = Duration::from_millis(1);

    /// A waker that counts its wakes.
    #[derive(Default)]
    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// A slot with a heartbeat of `interval`, aimed at `also`, polled once with a counting
    /// waker.
    fn aimed(interval: Option<Duration>, also: Option<Instant>) -> (Arc<Slot>, Arc<Count>) {
        let grid = Grid::for_waits_of(interval);
        let slot = Slot::new(Activity::new(), interval, 10 * interval.unwrap_or(MS), grid);
        let count = Arc::new(Count::default());
        let waker = Waker::from(Arc::clone(&count));
        slot.aim(also);
        assert!(slot
            .poll_fired(&mut Context::from_waker(&waker))
            .is_pending());
        (slot, count)
    }

    #[test]
    fn a_peer_that_keeps_talking_is_never_woken_for_and_a_silent_one_is() {
        let (talking, talking_wakes) = aimed(Some(200 * MS), None);
        let (silent, silent_wakes) = aimed(Some(200 * MS), None);
        let started = Instant::now();
        while started.elapsed() < 700 * MS {
            talking.activity.heard();
            std::thread::sleep(10 * MS);
        }
        assert_eq!(talking_wakes.0.load(Ordering::SeqCst), 0);
        assert!(!talking.fired.load(Ordering::SeqCst));
        // The silent one: woken once (it is not held again until its connection aims again).
        assert_eq!(silent_wakes.0.load(Ordering::SeqCst), 1);
        let waker = Waker::noop();
        assert!(silent
            .poll_fired(&mut Context::from_waker(waker))
            .is_ready());
        assert!(silent
            .poll_fired(&mut Context::from_waker(waker))
            .is_pending());
    }

    #[test]
    fn an_earlier_deadline_wakes_the_sweeper_sooner() {
        let started = Instant::now();
        let (slot, wakes) = aimed(None, Some(started + Duration::from_secs(3600)));
        slot.aim(Some(started + 30 * MS));
        while wakes.0.load(Ordering::SeqCst) == 0 {
            assert!(started.elapsed() < Duration::from_secs(20), "never woken");
            std::thread::sleep(MS);
        }
        assert!(started.elapsed() >= 30 * MS);
        // Without a heartbeat or another deadline, nothing more.
        slot.aim(None);
        std::thread::sleep(50 * MS);
        assert_eq!(wakes.0.load(Ordering::SeqCst), 1);
    }
}
