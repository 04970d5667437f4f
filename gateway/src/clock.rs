//! A coarse seconds clock for MAC ageing, readable without a syscall.
//!
//! The control thread advances it; workers read it once per burst.

use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use std::time::Instant;

/// Seconds since the data plane started.
#[derive(Debug)]
pub struct CoarseClock {
    secs: AtomicU32,
    start: Instant,
}

impl Default for CoarseClock {
    fn default() -> Self {
        CoarseClock {
            secs: AtomicU32::new(1),
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

    /// Sets the clock (tests).
    pub fn set(&self, secs: u32) {
        self.secs.store(secs, Relaxed);
    }
}
