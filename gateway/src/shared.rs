//! State shared by workers, the control thread and the management plane,
//! and the one place that wires them together.

use crate::clock::CoarseClock;
use crate::counters::{SharedCounter, WorkerCounters};
use crate::events::{ControlFrame, Event, CONTROL_QUEUE_LEN, EVENT_QUEUE_LEN};
use crate::snapshot::{Snapshot, VNI_SLOTS};
use crate::tables::{MacTable, MapWriter, TunnelTable, TunnelWriter};
use arc_swap::ArcSwap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;

/// Tunnel ids (remote VTEPs tracked at once); learned VTEPs take at most half.
pub const TUNNEL_IDS: usize = 4096;

/// MAC-table activity of one VNI, written by the control thread.
#[derive(Default, Debug)]
pub struct VniMacStats {
    /// Entries now in the table (learned and static).
    pub entries: AtomicU64,
    pub learned: SharedCounter,
    pub moved: SharedCounter,
    pub aged: SharedCounter,
    /// Learning attempts refused because the VNI reached its MAC limit.
    pub limit_hits: SharedCounter,
}

impl VniMacStats {
    /// Starts the activity counters over, when the slot gets a new VNI
    /// (`entries` is kept exact by the learning code).
    pub fn reset(&self) {
        for c in [&self.learned, &self.moved, &self.aged, &self.limit_hits] {
            c.reset();
        }
    }
}

/// Control-thread counters.
#[derive(Default, Debug)]
pub struct ControlStats {
    pub arp_requests_sent: SharedCounter,
    pub arp_resolved: SharedCounter,
    /// Resolved next hops whose MAC changed (gratuitous or unsolicited ARP).
    pub next_hop_mac_changes: SharedCounter,
    /// Learning refused because the whole MAC table is full.
    pub mac_table_full: SharedCounter,
    /// Remote VTEPs not tracked because the tunnel table is half full.
    pub vtep_table_full: SharedCounter,
    /// Remote VTEPs with no route (off-link and no gateway configured).
    pub vtep_unreachable: SharedCounter,
    /// Control frames dropped because worker 0's queue was full.
    pub control_frames_lost: SharedCounter,
    /// L3 neighbours now known, and their churn.
    pub neighbours: AtomicU64,
    pub neighbours_learned: SharedCounter,
    pub neighbours_moved: SharedCounter,
    pub neighbours_aged: SharedCounter,
    /// Neighbours not learned because the neighbour table is full.
    pub neighbour_table_full: SharedCounter,
    /// Next hops currently resolved / being resolved.
    pub next_hops_resolved: AtomicU64,
    pub next_hops_pending: AtomicU64,
}

/// Everything shared.
pub struct Shared {
    /// The running configuration, replaced whole on changes.
    pub snapshot: ArcSwap<Snapshot>,
    /// Bumped after each new snapshot, so workers notice with one load.
    pub generation: AtomicU64,
    pub macs: MacTable,
    /// The L3 gateway's neighbours (see `tables::neighbour`).
    pub neighbours: crate::tables::NeighbourTable,
    /// Remote VTEPs by tunnel id (see `tables::tunnel`).
    pub tunnels: Arc<TunnelTable>,
    pub clock: CoarseClock,
    pub workers: Vec<Arc<WorkerCounters>>,
    pub mac_stats: Box<[VniMacStats]>,
    pub control: ControlStats,
    /// IGMP memberships and counts, published by the control thread.
    pub multicast: std::sync::Mutex<crate::control::multicast::MulticastView>,
    /// Set to stop every worker and the control thread.
    pub stop: AtomicBool,
}

impl Shared {
    /// Publishes a new snapshot to workers and the control thread.
    pub fn publish(&self, snapshot: Snapshot) {
        let generation = snapshot.generation;
        self.snapshot.store(Arc::new(snapshot));
        self.generation
            .store(generation, std::sync::atomic::Ordering::Release);
    }

    /// Asks every thread to stop.
    pub fn request_stop(&self) {
        self.stop.store(true, Relaxed);
    }

    /// Whether a stop was requested.
    pub fn stopping(&self) -> bool {
        self.stop.load(Relaxed)
    }
}

/// What one worker gets: its counters and its two queues.
pub struct WorkerParts {
    pub id: usize,
    pub counters: Arc<WorkerCounters>,
    pub events: SyncSender<Event>,
    pub control_frames: Receiver<ControlFrame>,
}

/// What the control thread gets: the only table writers and the other ends.
pub struct ControlParts {
    pub mac_writer: MapWriter,
    pub neighbour_writer: MapWriter,
    pub tunnel_writer: TunnelWriter,
    pub events: Vec<Receiver<Event>>,
    /// To worker 0, which sends control frames for everyone.
    pub control_frames: SyncSender<ControlFrame>,
}

/// Creates the shared state for `workers` workers.
pub fn build(
    snapshot: Snapshot,
    workers: usize,
    mac_capacity: usize,
) -> (Arc<Shared>, ControlParts, Vec<WorkerParts>) {
    assert!(workers > 0, "at least one worker");
    let ports = snapshot.ports.len();
    let (mac_map, mac_writer) = MapWriter::new(mac_capacity);
    let (tunnels, tunnel_writer) = TunnelWriter::new(TUNNEL_IDS);
    let (neighbour_map, neighbour_writer) =
        MapWriter::new(crate::tables::neighbour::NEIGHBOUR_CELLS);
    let mut worker_parts = Vec::new();
    let mut event_rx = Vec::new();
    let mut frame_tx = None;
    for id in 0..workers {
        let (etx, erx) = sync_channel(EVENT_QUEUE_LEN);
        let (ftx, frx) = sync_channel(CONTROL_QUEUE_LEN);
        event_rx.push(erx);
        if id == 0 {
            frame_tx = Some(ftx);
        }
        worker_parts.push(WorkerParts {
            id,
            counters: Arc::new(WorkerCounters::new(ports, VNI_SLOTS)),
            events: etx,
            control_frames: frx,
        });
    }
    let generation = snapshot.generation;
    let shared = Arc::new(Shared {
        snapshot: ArcSwap::from_pointee(snapshot),
        generation: AtomicU64::new(generation),
        macs: MacTable::new(mac_map),
        neighbours: crate::tables::NeighbourTable::new(neighbour_map),
        tunnels,
        clock: CoarseClock::default(),
        workers: worker_parts.iter().map(|w| w.counters.clone()).collect(),
        mac_stats: (0..VNI_SLOTS).map(|_| VniMacStats::default()).collect(),
        control: ControlStats::default(),
        multicast: std::sync::Mutex::default(),
        stop: AtomicBool::new(false),
    });
    let control = ControlParts {
        mac_writer,
        neighbour_writer,
        tunnel_writer,
        events: event_rx,
        control_frames: frame_tx.expect("worker 0 exists"),
    };
    (shared, control, worker_parts)
}
