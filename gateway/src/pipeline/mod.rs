//! Per-packet processing, run to completion on the worker that received it.
//!
//! A frame from the underlay goes through [`underlay`] (ARP, ICMP echo,
//! strict VXLAN decapsulation); a frame from a physical port goes through
//! [`bridge`] (VLAN to VNI, learning, forwarding). Both end in [`output`]:
//! local delivery, encapsulation, or flooding with split horizon.

mod bridge;
pub mod encap;
mod learn;
mod output;
mod underlay;

use crate::batch::Batch;
use crate::buf::PacketBuf;
use crate::counters::{DropReason, WorkerCounters};
use crate::events::{ControlFrame, Event};
use crate::io::PortIo;
use crate::shared::Shared;
use crate::snapshot::{Snapshot, UNDERLAY_PORT};
use crate::tables::MacDest;
use learn::RecentFilter;
use std::sync::mpsc::SyncSender;
use std::sync::Arc;

/// What every packet of one burst shares.
pub struct Env<'a> {
    pub snap: &'a Snapshot,
    /// Coarse second, for MAC last-seen times.
    pub now: u32,
}

/// One worker's pipeline state: transmit batches, counters, event queue.
pub struct Pipeline<B: PacketBuf> {
    shared: Arc<Shared>,
    counters: Arc<WorkerCounters>,
    events: SyncSender<Event>,
    /// Pending transmissions, by port index.
    tx: Vec<Batch<B>>,
    /// Keeps a busy flow from sending the same event for every packet.
    recent_events: RecentFilter,
    ip_ident: u16,
    /// Outer headers by tunnel id, ready to copy.
    rewrites: encap::RewriteCache,
    /// The last decapsulated frame's outer source and its tunnel.
    last_source: Option<(std::net::Ipv4Addr, crate::tables::TunnelId)>,
}

impl<B: PacketBuf> Pipeline<B> {
    /// A pipeline for `ports` ports.
    pub fn new(
        shared: Arc<Shared>,
        counters: Arc<WorkerCounters>,
        events: SyncSender<Event>,
        ports: usize,
    ) -> Self {
        Pipeline {
            shared,
            counters,
            events,
            tx: (0..ports).map(|_| Batch::default()).collect(),
            recent_events: RecentFilter::default(),
            ip_ident: 0,
            rewrites: encap::RewriteCache::new(crate::shared::TUNNEL_IDS),
            last_source: None,
        }
    }

    /// Handles one received frame.
    #[inline]
    pub fn handle<IO: PortIo<Buf = B>>(&mut self, io: &mut IO, env: &Env, port: u8, pkt: B) {
        let pc = &self.counters.ports[usize::from(port)];
        pc.rx_packets.inc();
        pc.rx_bytes.add(pkt.len() as u64);
        if !pkt.is_contiguous() {
            return self.drop_packet(DropReason::MultiSegment);
        }
        if port == UNDERLAY_PORT {
            self.handle_underlay(io, env, pkt);
        } else {
            self.handle_physical(io, env, port, pkt);
        }
    }

    /// Queues a frame the control thread asked this worker to send.
    pub fn send_control<IO: PortIo<Buf = B>>(&mut self, io: &mut IO, frame: &ControlFrame) {
        if usize::from(frame.port) >= self.tx.len() {
            return;
        }
        match copy_into_new(io, frame.frame()) {
            Some(pkt) => {
                self.counters.control_frames_sent.inc();
                self.send(io, frame.port, pkt);
            }
            None => self.drop_packet(DropReason::NoMbuf),
        }
    }

    /// Transmits everything queued.
    pub fn flush<IO: PortIo<Buf = B>>(&mut self, io: &mut IO) {
        for port in 0..self.tx.len() {
            if !self.tx[port].is_empty() {
                self.flush_port(io, port as u8);
            }
        }
    }

    fn flush_port<IO: PortIo<Buf = B>>(&mut self, io: &mut IO, port: u8) {
        let batch = &mut self.tx[usize::from(port)];
        let queued = batch.len();
        let bytes: usize = batch.held_slots().iter().flatten().map(B::len).sum();
        let sent = io.tx_burst(port, batch.held_slots());
        batch.consumed(sent);
        let unsent_bytes: usize = batch.drain().map(|p| p.len()).sum();
        let pc = &self.counters.ports[usize::from(port)];
        pc.tx_packets.add(sent as u64);
        pc.tx_bytes.add((bytes - unsent_bytes) as u64);
        if sent < queued {
            self.counters.drops[DropReason::TxQueueFull as usize].add((queued - sent) as u64);
        }
    }

    /// Queues `pkt` for `port`, transmitting the batch first if it is full.
    #[inline]
    fn send<IO: PortIo<Buf = B>>(&mut self, io: &mut IO, port: u8, pkt: B) {
        if let Err(pkt) = self.tx[usize::from(port)].push(pkt) {
            self.flush_port(io, port);
            // The batch is empty after a flush.
            let _ = self.tx[usize::from(port)].push(pkt);
        }
    }

    /// Where `mac` of VNI `slot` lives, if known and still valid under the
    /// running snapshot (see [`Snapshot::serves`]).
    #[inline]
    fn destination(&self, env: &Env, slot: u16, mac: &crate::wire::MacBytes) -> Option<MacDest> {
        let dest = self.shared.macs.lookup(slot, mac)?.entry.dest;
        env.snap.serves(slot, &dest).then_some(dest)
    }

    #[inline]
    fn drop_packet(&self, reason: DropReason) {
        self.counters.drop_packet(reason);
    }

    /// Sends an event to the control thread, at most once per second per
    /// (key, value); counts it as lost if the queue is full.
    fn notify(&mut self, env: &Env, key: u64, value: u64, event: Event) {
        if self.recent_events.seen_recently(key, value, env.now) {
            return;
        }
        if self.events.try_send(event).is_err() {
            self.counters.events_lost.inc();
        }
    }
}

/// The drop reason for a header that failed to parse: `malformed` unless
/// it was merely cut short.
fn wire_drop(e: crate::wire::WireError, malformed: DropReason) -> DropReason {
    match e {
        crate::wire::WireError::Truncated => DropReason::Truncated,
        crate::wire::WireError::Malformed => malformed,
    }
}

/// A new buffer holding a copy of `frame`.
fn copy_into_new<IO: PortIo>(io: &mut IO, frame: &[u8]) -> Option<IO::Buf> {
    let mut pkt = io.alloc()?;
    if !pkt.append(frame.len()) {
        return None;
    }
    pkt.data_mut().copy_from_slice(frame);
    Some(pkt)
}

#[cfg(test)]
mod tests;
