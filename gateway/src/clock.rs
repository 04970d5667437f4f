//! A coarse seconds clock for MAC ageing, readable without a syscall.
//!
//! The control thread advances it; workers read it once per burst.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};
use std::time::Instant;

/// Seconds since the data plane started.
#[derive(Debug)]
pub struct CoarseClock {
    secs: AtomicU32,
    /// Milliseconds as the control thread last published them (its tick).
    ms: AtomicU64,
    start: Instant,
}

impl Default for CoarseClock {
    fn default() -> Self {
        CoarseClock {
            secs: AtomicU32::new(1),
            ms: AtomicU64::new(0),
            start: Instant::now(),
        }
    }
}

impl CoarseClock {
    /// The current second (starts at 1 so 0 can mean "never").
    #[inline]
    pub fn now(&self) -> u32 {
        self.secs.load(Relaxed)
    }

    /// Advances the clock from the monotonic clock (control thread only).
    pub fn tick(&self) -> u32 {
        let secs = 1 + self.start.elapsed().as_secs() as u32;
        if secs != self.secs.load(Relaxed) {
            self.secs.store(secs, Relaxed);
        }
        secs
    }

    /// Milliseconds since start (control thread timers).
    pub fn millis(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    /// Milliseconds as of the control thread's last tick (about 1 ms old
    /// at most), for workers' timers; no clock read.
    #[inline]
    pub fn coarse_ms(&self) -> u64 {
        self.ms.load(Relaxed)
    }

    /// Publishes the milliseconds workers see (control thread, each tick).
    pub fn set_ms(&self, ms: u64) {
        self.ms.store(ms, Relaxed);
    }

    /// Sets the clock (tests).
    pub fn set(&self, secs: u32) {
        self.secs.store(secs, Relaxed);
    }
}
