//! The poll-mode worker loop: receive a burst on each of its receive
//! queues (see [`crate::queues`]), run each packet to completion, transmit
//! on its own transmit queues, repeat. Nothing in the loop locks,
//! allocates or makes a syscall, except the optional idle sleep.

use crate::batch::Batch;
use crate::events::ControlFrame;
use crate::io::PortIo;
use crate::pipeline::{Env, Pipeline};
use crate::queues::{self, RxQueue};
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

/// One worker: its receive queues, its I/O and its pipeline.
pub struct Worker<IO: PortIo> {
    io: IO,
    rx_queues: Vec<RxQueue>,
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
    /// A worker over `io` with the parts [`crate::shared::build`] made for
    /// it, polling receive queue 0 of every port: the single-queue layout
    /// (tests, benchmarks, one worker on single-queue ports).
    pub fn new(io: IO, shared: Arc<Shared>, parts: WorkerParts, options: WorkerOptions) -> Self {
        let ports = shared.snapshot.load().ports.len();
        Self::with_queues(io, queues::every_port(ports), shared, parts, options)
    }

    /// A worker polling `rx_queues` (its share from [`queues::assign`]);
    /// `io` transmits on the worker's own queue of every port.
    pub fn with_queues(
        io: IO,
        rx_queues: Vec<RxQueue>,
        shared: Arc<Shared>,
        parts: WorkerParts,
        options: WorkerOptions,
    ) -> Self {
        let snapshot = shared.snapshot.load_full();
        let ports = snapshot.ports.len();
        assert!(
            rx_queues.iter().all(|q| usize::from(q.port) < ports),
            "receive queue on a port the snapshot does not have"
        );
        Worker {
            io,
            rx_queues,
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

    /// One pass over every receive queue; returns the packets handled.
    pub fn poll_once(&mut self) -> usize {
        if self.shared.generation.load(Acquire) != self.snapshot.generation {
            let next = self.shared.snapshot.load_full();
            for slot in next.slots_taken_over(&self.snapshot) {
                self.counters.vnis[slot.index()].reset();
                self.counters.routed[slot.index()].reset();
            }
            self.snapshot = next;
        }
        let Worker {
            io,
            rx_queues,
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
        for &RxQueue { port, queue } in rx_queues.iter() {
            let n = io.rx_burst(port, queue, rx.free_slots(self.options.burst));
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
        pipeline.poll_waiting(io, &env);
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

    /// The receive queues this worker polls, in order.
    pub fn rx_queues(&self) -> &[RxQueue] {
        &self.rx_queues
    }

    /// The I/O backend (tests inspect what was sent).
    /// Packets this worker holds for unresolved neighbours.
    pub fn held_packets(&self) -> usize {
        self.pipeline.held_packets()
    }

    pub fn io_mut(&mut self) -> &mut IO {
        &mut self.io
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::MemIo;
    use crate::queues::assign;
    use crate::testkit::{CONFIG, PHYS0_MAC, PHYS1_MAC, UNDERLAY_MAC};

    const PORTS: u8 = 3;

    fn setup(workers: usize) -> (Arc<Shared>, Vec<WorkerParts>) {
        let config = vtepgw_config::Config::from_toml_str(CONFIG).unwrap();
        let macs = [UNDERLAY_MAC, PHYS0_MAC, PHYS1_MAC];
        let snapshot = Snapshot::build(&config, &macs, None, 1).unwrap();
        let (shared, _control, parts) = crate::shared::build(snapshot, workers, 1024);
        (shared, parts)
    }

    const OPTIONS: WorkerOptions = WorkerOptions {
        burst: 32,
        idle_sleep_us: 0,
    };

    #[test]
    fn a_worker_polls_its_own_queues_only() {
        let (shared, parts) = setup(2);
        let mut workers: Vec<Worker<MemIo>> = assign(2, &[2; PORTS as usize])
            .into_iter()
            .zip(parts)
            .map(|(q, parts)| {
                let mut io = MemIo::new(usize::from(PORTS));
                // Frames on every queue of every port, as a NIC would have
                // them: one on queue 0, two on queue 1.
                for port in 0..PORTS {
                    for queue in 0..2 {
                        for _ in 0..=queue {
                            io.inject_on(port, queue, &[0u8; 60]);
                        }
                    }
                }
                Worker::with_queues(io, q.rx, shared.clone(), parts, OPTIONS)
            })
            .collect();
        assert_eq!(workers[0].poll_once(), 3);
        assert_eq!(workers[1].poll_once(), 6);
        for w in &mut workers {
            assert_eq!(w.poll_once(), 0);
        }
        let left = |w: &mut Worker<MemIo>, q: usize| -> usize {
            w.io_mut().rx.iter().map(|port| port[q].len()).sum()
        };
        assert_eq!(left(&mut workers[0], 1), 6, "worker 0 left queue 1 alone");
        assert_eq!(left(&mut workers[1], 0), 3, "worker 1 left queue 0 alone");
        assert_eq!(workers[0].counters.packets.get(), 3);
        assert_eq!(workers[1].counters.packets.get(), 6);
    }

    #[test]
    fn new_polls_queue_0_of_every_port() {
        let (shared, mut parts) = setup(1);
        let w = Worker::new(MemIo::new(3), shared, parts.remove(0), OPTIONS);
        assert_eq!(w.rx_queues(), assign(1, &[1; PORTS as usize])[0].rx);
    }
}
