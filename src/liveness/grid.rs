//! [`Grid`]: where the heartbeat's and the idle timeout's timers fire, so that thousands of
//! connections' timers fire together.

use std::time::{Duration, Instant};

/// Where the heartbeat's and the idle timeout's timers fire: each deadline rounded up to a
/// multiple of a grain (a power of two milliseconds, at most 1/16 of the shortest of those
/// waits and at most 1,024 ms), counted from one instant for the whole process. Thousands of
/// connections whose deadlines fall within one grain then fire together, in one wake-up of the
/// process, instead of one wake-up each (at 19,900 connections a 20 s heartbeat is about 1,000
/// timers a second; BENCHMARKS.md has what a wake-up costs). A deadline is late by less than a
/// grain (at most 1/16 of its wait).
#[derive(Clone, Copy, Debug)]
pub(super) struct Grid {
    /// Nanoseconds; 0: deadlines as they are.
    grain: u64,
}

impl Grid {
    const MAX_GRAIN_MS: u64 = 1024;

    pub(super) fn for_waits_of(shortest: Option<Duration>) -> Grid {
        let sixteenth = shortest.map_or(Self::MAX_GRAIN_MS, |wait| {
            u64::try_from(wait.as_millis() / 16).unwrap_or(u64::MAX)
        });
        let grain_ms = match sixteenth.min(Self::MAX_GRAIN_MS) {
            0 => 0,
            ms => 1 << ms.ilog2(),
        };
        Grid {
            grain: grain_ms * 1_000_000,
        }
    }

    pub(super) fn min(self, other: Grid) -> Grid {
        Grid {
            grain: self.grain.min(other.grain),
        }
    }

    /// `due`, or the first point of the grid after it.
    pub(super) fn round_up(self, due: Instant) -> Instant {
        static ORIGIN: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
        if self.grain == 0 {
            return due;
        }
        let origin = *ORIGIN.get_or_init(Instant::now);
        let Some(since) = due.checked_duration_since(origin) else {
            return due;
        };
        let nanos = u64::try_from(since.as_nanos()).unwrap_or(u64::MAX);
        let up = nanos.div_ceil(self.grain).saturating_mul(self.grain);
        origin.checked_add(Duration::from_nanos(up)).unwrap_or(due)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: Duration = Duration::from_secs(1);
    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn the_grain_is_a_power_of_two_milliseconds_at_most_a_sixteenth_of_the_wait() {
        let grain = |wait: Option<Duration>| Grid::for_waits_of(wait).grain / 1_000_000;
        assert_eq!(grain(Some(20 * SEC)), 1024); // 1,250 ms, capped
        assert_eq!(grain(Some(300 * MS)), 16); // 18.75 ms
        assert_eq!(grain(Some(32 * MS)), 2);
        assert_eq!(grain(Some(20 * MS)), 1);
        assert_eq!(grain(Some(15 * MS)), 0); // under 1 ms: deadlines as they are
        assert_eq!(grain(None), 1024);
        let fine = Grid::for_waits_of(Some(20 * SEC)).min(Grid::for_waits_of(Some(300 * MS)));
        assert_eq!(fine.grain, 16_000_000);
    }

    #[test]
    fn deadlines_round_up_onto_one_grid_for_every_connection() {
        let grid = Grid::for_waits_of(Some(20 * SEC));
        let start = Instant::now();
        let deadlines: Vec<Instant> = (0..50).map(|i| start + 20 * SEC + i * 7 * MS).collect();
        let fired: Vec<Instant> = deadlines.iter().map(|d| grid.round_up(*d)).collect();
        for (due, at) in deadlines.iter().zip(&fired) {
            assert!(at >= due, "never early");
            assert!(
                *at - *due < Duration::from_millis(1024),
                "late by under a grain"
            );
        }
        // 50 deadlines over 343 ms: at most two points of the grid, so two wake-ups at most.
        let mut points = fired.clone();
        points.dedup();
        assert!(points.len() <= 2, "{} points", points.len());
        // Points of one grid are a whole number of grains apart.
        let gap = points
            .last()
            .map(|last| *last - points[0])
            .unwrap_or_default();
        assert_eq!(gap.as_nanos() % 1_024_000_000, 0);
        // No grain: as they are.
        let exact = Grid::for_waits_of(Some(10 * MS));
        assert_eq!(exact.round_up(deadlines[3]), deadlines[3]);
    }
}
