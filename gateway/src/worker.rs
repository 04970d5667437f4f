//! The poll-mode worker loop: receive a burst on every port, run each
//! packet to completion, transmit, repeat. Nothing in the loop locks,
//! allocates or makes a syscall, except the optional idle sleep.

use crate::batch::Batch;
use crate::events::ControlFrame;
use crate::io::PortIo;
use crate::pipeline::{Env, Pipeline};
use crate::shared::{Shared, WorkerParts};
use crate::snapshot::Snapshot;
use std::sync::atomic::Ordering::Acquire;
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::time::Duration;

/// Empty polls before an idle worker starts sleeping (when sleeping is on).
const IDLE_POLLS_BEFORE_SLEEP: u32 = 256;

/// How a worker polls.
#[derive(Clone, Copy, Debug)]
pub struct WorkerOptions {
    /// Packets asked for per rx burst.
    pub burst: usize,
    /// Sleep this long when idle (0: poll flat out).
    pub idle_sleep_us: u32,
}

/// One worker: its queues on every port and its pipeline.
pub struct Worker<IO: PortIo> {
    io: IO,
    pipeline: Pipeline<IO::Buf>,
    rx: Batch<IO::Buf>,
    shared: Arc<Shared>,
    snapshot: Arc<Snapshot>,
    control_frames: Receiver<ControlFrame>,
    counters: Arc<crate::counters::WorkerCounters>,
    options: WorkerOptions,
    idle_polls: u32,
}

impl<IO: PortIo> Worker<IO> {
    /// A worker over `io` with the parts [`crate::shared::build`] made for it.
    pub fn new(io: IO, shared: Arc<Shared>, parts: WorkerParts, options: WorkerOptions) -> Self {
        let snapshot = shared.snapshot.load_full();
        let ports = snapshot.ports.len();
        Worker {
            io,
            pipeline: Pipeline::new(shared.clone(), parts.counters.clone(), parts.events, ports),
            rx: Batch::default(),
            shared,
            snapshot,
            control_frames: parts.control_frames,
            counters: parts.counters,
            options: WorkerOptions {
                burst: options.burst.clamp(1, crate::batch::MAX_BURST),
                ..options
            },
            idle_polls: 0,
        }
    }

    /// Polls until a stop is requested.
    pub fn run(&mut self) {
        while !self.shared.stopping() {
            self.poll_once();
        }
        // Whatever is still queued goes out before the ports stop.
        self.pipeline.flush(&mut self.io);
    }

    /// One pass over every port; returns the packets handled.
    pub fn poll_once(&mut self) -> usize {
        if self.shared.generation.load(Acquire) != self.snapshot.generation {
            let next = self.shared.snapshot.load_full();
            for slot in next.slots_taken_over(&self.snapshot) {
                self.counters.vnis[usize::from(slot)].reset();
            }
            self.snapshot = next;
        }
        let Worker {
            io,
            pipeline,
            rx,
            snapshot,
            ..
        } = self;
        let env = Env {
            snap: snapshot,
            now: self.shared.clock.now(),
        };
        let start = io.cycles();
        let mut handled = 0;
        for port in 0..env.snap.ports.len() as u8 {
            let n = io.rx_burst(port, rx.free_slots(self.options.burst));
            if n == 0 {
                continue;
            }
            rx.filled(n);
            handled += n;
            pipeline.handle_burst(io, &env, port, rx);
        }
        while let Ok(frame) = self.control_frames.try_recv() {
            pipeline.send_control(io, &frame);
        }
        pipeline.flush(io);
        self.counters.polls.inc();
        if handled > 0 {
            self.counters
                .busy_cycles
                .add(io.cycles().wrapping_sub(start));
            self.counters.packets.add(handled as u64);
            self.idle_polls = 0;
        } else if self.options.idle_sleep_us > 0 {
            self.idle_polls = self.idle_polls.saturating_add(1);
            if self.idle_polls > IDLE_POLLS_BEFORE_SLEEP {
                std::thread::sleep(Duration::from_micros(u64::from(self.options.idle_sleep_us)));
            }
        }
        handled
    }

    /// The I/O backend (tests inspect what was sent).
    pub fn io_mut(&mut self) -> &mut IO {
        &mut self.io
    }
}
