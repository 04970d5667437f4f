//! Per-packet processing, run to completion on the worker that received it.
//!
//! One file per job, in the order a frame meets them: this file takes the
//! burst (`handle_burst`: the port picks the path once per burst) and runs
//! its stages. Classify: from the underlay, [`underlay`] checks the outer
//! Ethernet header and answers ARP and ICMP echo, and [`decap`] validates
//! VXLAN; from a physical port, [`bridge`] maps the VLAN to a VNI. Frames
//! that pass are staged. Look up: [`lookup`] finds every staged frame's
//! source and destination MAC. Act: [`decap`] strips VXLAN, both learn in
//! [`learn`], then a frame goes to [`encap`] (into a tunnel), [`flood`]
//! (copies to the VNI's members and flood-list VTEPs, split horizon) or
//! [`output`] (local delivery), which also holds the TX batches and the
//! burst's drops. A frame to a VNI's gateway MAC is routed instead
//! ([`route`]; ARP for the gateway in [`gateway_arp`], packets waiting for
//! a neighbour in [`hold`]). [`verdict`] checks that each packet ended sent, dropped
//! with a reason, or consumed; [`tally`] gathers counts in locals.

mod bridge;
mod decap;
pub mod encap;
mod flood;
mod fragment;
mod gateway_arp;
mod hold;
pub mod icmp_error;
mod learn;
mod lookup;
mod mcast;
mod output;
mod route;
mod routed_port;
mod tally;
mod underlay;
mod verdict;

use crate::batch::Batch;
use crate::buf::PacketBuf;
use crate::counters::{DropReason, WorkerCounters};
use crate::events::{ControlFrame, Event};
use crate::io::{copy_into_new, PortIo};
use crate::shared::Shared;
use crate::snapshot::{Snapshot, UNDERLAY_PORT};
use crate::tables::MacDest;
use crate::types::{PortId, VniSlot};
use learn::RecentFilter;
use std::sync::mpsc::SyncSender;
use std::sync::Arc;
use tally::Run;
use verdict::Ledger;

/// VXLAN packets staged for decapsulation at most (a larger burst runs
/// its stages in rounds).
const STAGE_LEN: usize = 256;

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
    /// Pending transmissions, by port index, and their bytes (counted as
    /// packets are queued, so a flush makes no pass of its own).
    tx: Vec<Batch<B>>,
    tx_bytes: Vec<u64>,
    /// Keeps a busy flow from sending the same event for every packet.
    recent_events: RecentFilter,
    ip_ident: u16,
    /// Outer headers by tunnel id, ready to copy.
    rewrites: encap::RewriteCache,
    /// Tunnel ids of the flood lists' VTEPs.
    flood_ids: flood::FloodIds,
    /// The last decapsulated frame's outer source and its tunnel.
    last_source: Option<(std::net::Ipv4Addr, crate::tables::TunnelId)>,
    /// The last VXLAN VNI seen and its slot (frames of a burst mostly share one).
    last_vni: Option<(u64, crate::types::Vni, VniSlot)>,
    /// Counts gathered in locals during a poll and published once at its end.
    tally: Tally,
    /// Verdicts of this poll's packets.
    ledger: Ledger,
    /// Dropped packets, freed together at the end of the burst
    /// ([`PortIo::free_bulk`]).
    dropped: Batch<B>,
    /// The underlay burst's checked VXLAN packets, between the classify
    /// stage and the lookup and act stages ([`decap`]). Its capacity is
    /// reserved once: staging never allocates.
    staged: Vec<(B, decap::Decap)>,
    /// The same for a physical port's burst ([`bridge`]).
    staged_bridge: Vec<(B, bridge::Bridged)>,
    /// The last route looked up: (snapshot generation, VRF, destination,
    /// next hop). A snapshot's route table never changes, so the entry is
    /// good for as long as the generation is.
    last_route: Option<(
        u64,
        crate::l3::VrfId,
        std::net::Ipv4Addr,
        crate::l3::NextHop,
    )>,
    /// The last sender verified as a neighbour: (interface, address, MAC,
    /// second). Its table entry is not probed again within that second.
    last_heard: Option<(
        crate::l3::IfaceId,
        std::net::Ipv4Addr,
        crate::types::Mac,
        u32,
    )>,
    /// Routed packets waiting for their neighbour's MAC ([`hold`]).
    held: hold::Held<B>,
    /// The `[icmp]` rate limit of this worker's ICMP errors.
    icmp_bucket: icmp_error::TokenBucket,
    /// IGMP queries passed up in the current second: (second, count).
    igmp_budget: (u32, u8),
}

/// Per-poll counts, as runs of one key: a burst of one flow touches each
/// shared counter once instead of once per packet.
#[derive(Default)]
struct Tally {
    decap: Run<VniSlot>,
    encap: Run<VniSlot>,
    tunnel_rx: Run<(crate::tables::TunnelId, std::net::Ipv4Addr)>,
    tunnel_tx: Run<(crate::tables::TunnelId, std::net::Ipv4Addr)>,
    /// Multicast group traffic, by (group counter entry, address).
    group_rx: Run<(u16, std::net::Ipv4Addr)>,
    group_tx: Run<(u16, std::net::Ipv4Addr)>,
    /// Routed packets in and out, by `WorkerCounters::routed` entry.
    routed_in: Run<usize>,
    routed_out: Run<usize>,
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
            tx_bytes: vec![0; ports],
            recent_events: RecentFilter::default(),
            ip_ident: 0,
            rewrites: encap::RewriteCache::new(crate::shared::TUNNEL_IDS),
            flood_ids: flood::FloodIds::default(),
            last_source: None,
            last_vni: None,
            tally: Tally::default(),
            ledger: Ledger::default(),
            dropped: Batch::default(),
            staged: Vec::with_capacity(STAGE_LEN),
            staged_bridge: Vec::with_capacity(STAGE_LEN),
            last_route: None,
            last_heard: None,
            held: hold::Held::default(),
            icmp_bucket: icmp_error::TokenBucket::default(),
            igmp_budget: (0, 0),
        }
    }

    /// Handles one received burst from `port`: the port decides the path
    /// once for the whole burst, and its counters are added once.
    pub fn handle_burst<IO: PortIo<Buf = B>>(
        &mut self,
        io: &mut IO,
        env: &Env,
        port: PortId,
        rx: &mut Batch<B>,
    ) {
        let n = rx.len();
        self.ledger.entered += n as u32;
        let mut bytes = 0u64;
        let underlay = port == UNDERLAY_PORT;
        for pkt in rx.drain() {
            bytes += pkt.len() as u64;
            if !pkt.is_contiguous() {
                self.discard(DropReason::MultiSegment, pkt);
            } else if underlay {
                self.handle_underlay(io, env, pkt);
            } else {
                self.handle_physical(io, env, port, pkt);
            }
        }
        if underlay {
            self.decap_staged(io, env);
        } else {
            self.bridge_staged(io, env);
        }
        let pc = &self.counters.ports[usize::from(port)];
        pc.rx_packets.add(n as u64);
        pc.rx_bytes.add(bytes);
        self.free_dropped(io);
    }

    /// Handles one received frame (a burst of one).
    pub fn handle<IO: PortIo<Buf = B>>(&mut self, io: &mut IO, env: &Env, port: PortId, pkt: B) {
        let mut rx = Batch::default();
        if rx.push(pkt).is_ok() {
            self.handle_burst(io, env, port, &mut rx);
        }
    }

    /// Queues a frame the control thread asked this worker to send.
    pub fn send_control<IO: PortIo<Buf = B>>(&mut self, io: &mut IO, frame: &ControlFrame) {
        if usize::from(frame.port) >= self.tx.len() {
            return;
        }
        self.ledger.entered += 1;
        match copy_into_new(io, frame.frame()) {
            Some(pkt) => {
                self.counters.control_frames_sent.inc();
                self.send(io, frame.port, pkt);
            }
            None => self.drop_packet(DropReason::NoMbuf),
        }
    }

    /// Moves on what waits for neighbours (see [`hold`]): call once per
    /// poll, before [`Self::flush`].
    #[inline]
    pub fn poll_waiting<IO: PortIo<Buf = B>>(&mut self, io: &mut IO, env: &Env) {
        if !self.held.is_empty() {
            self.poll_held(io, env);
        }
    }

    /// Packets held for neighbours now.
    pub fn held_packets(&self) -> usize {
        self.held.packets()
    }

    /// Transmits everything queued, publishes the poll's counts and closes
    /// its verdict ledger.
    pub fn flush<IO: PortIo<Buf = B>>(&mut self, io: &mut IO) {
        for port in 0..self.tx.len() {
            if !self.tx[port].is_empty() {
                self.flush_port(io, PortId(port as u8));
            }
        }
        self.free_dropped(io);
        self.publish_tally();
        let missing = self.ledger.close();
        if missing > 0 {
            self.counters.no_verdict.add(u64::from(missing));
        }
    }

    fn publish_tally(&mut self) {
        let c = &self.counters;
        if let Some((slot, packets, bytes)) = self.tally.decap.take() {
            let vc = &c.vnis[slot.index()];
            vc.decap_packets.add(packets);
            vc.decap_bytes.add(bytes);
        }
        if let Some((slot, packets, bytes)) = self.tally.encap.take() {
            let vc = &c.vnis[slot.index()];
            vc.encap_packets.add(packets);
            vc.encap_bytes.add(bytes);
        }
        if let Some(((t, vtep), packets, bytes)) = self.tally.tunnel_rx.take() {
            c.tunnels[t.index()].add_rx(vtep, packets, bytes);
        }
        if let Some(((t, vtep), packets, bytes)) = self.tally.tunnel_tx.take() {
            c.tunnels[t.index()].add_tx(vtep, packets, bytes);
        }
        if let Some(((g, addr), packets, bytes)) = self.tally.group_rx.take() {
            c.groups[usize::from(g)].add_rx(addr, packets, bytes);
        }
        if let Some(((g, addr), packets, bytes)) = self.tally.group_tx.take() {
            c.groups[usize::from(g)].add_tx(addr, packets, bytes);
        }
        if let Some(run) = self.tally.routed_in.take() {
            self.add_routed(run, true);
        }
        if let Some(run) = self.tally.routed_out.take() {
            self.add_routed(run, false);
        }
    }

    /// Counts a packet of `bytes` routed in (`inbound`) or out of the
    /// interface whose counters are entry `counter`.
    #[inline]
    fn count_routed(&mut self, counter: usize, bytes: usize, inbound: bool) {
        let run = if inbound {
            &mut self.tally.routed_in
        } else {
            &mut self.tally.routed_out
        };
        if let Some(ended) = run.add(counter, bytes as u64) {
            self.add_routed(ended, inbound);
        }
    }

    fn add_routed(&self, (counter, packets, bytes): (usize, u64, u64), inbound: bool) {
        if let Some(rc) = self.counters.routed.get(counter) {
            let (p, b) = if inbound {
                (&rc.in_packets, &rc.in_bytes)
            } else {
                (&rc.out_packets, &rc.out_bytes)
            };
            p.add(packets);
            b.add(bytes);
        }
    }

    /// Counts a frame of VNI `slot` decapsulated (`bytes`: inner frame).
    #[inline]
    fn count_decap(&mut self, slot: VniSlot, bytes: usize) {
        if let Some((slot, packets, bytes)) = self.tally.decap.add(slot, bytes as u64) {
            let vc = &self.counters.vnis[slot.index()];
            vc.decap_packets.add(packets);
            vc.decap_bytes.add(bytes);
        }
    }

    /// Counts a frame of VNI `slot` sent into the overlay (once per frame).
    #[inline]
    fn count_encap(&mut self, slot: VniSlot, bytes: usize) {
        if let Some((slot, packets, bytes)) = self.tally.encap.add(slot, bytes as u64) {
            let vc = &self.counters.vnis[slot.index()];
            vc.encap_packets.add(packets);
            vc.encap_bytes.add(bytes);
        }
    }

    /// Counts a frame received through group `(counter, addr)` (`bytes`: inner frame).
    #[inline]
    fn count_group_rx(&mut self, group: (u16, std::net::Ipv4Addr), bytes: usize) {
        if let Some(((g, a), p, b)) = self.tally.group_rx.add(group, bytes as u64) {
            self.counters.groups[usize::from(g)].add_rx(a, p, b);
        }
    }

    /// Counts a VXLAN frame sent to group `(counter, addr)`.
    #[inline]
    fn count_group_tx(&mut self, group: (u16, std::net::Ipv4Addr), bytes: usize) {
        if let Some(((g, a), p, b)) = self.tally.group_tx.add(group, bytes as u64) {
            self.counters.groups[usize::from(g)].add_tx(a, p, b);
        }
    }

    /// Counts a whole VXLAN frame received from `tunnel`.
    #[inline]
    fn count_tunnel_rx(
        &mut self,
        tunnel: crate::tables::TunnelId,
        vtep: std::net::Ipv4Addr,
        bytes: usize,
    ) {
        if let Some(((t, v), p, b)) = self.tally.tunnel_rx.add((tunnel, vtep), bytes as u64) {
            self.counters.tunnels[t.index()].add_rx(v, p, b);
        }
    }

    /// Counts a whole VXLAN frame sent into `tunnel`.
    #[inline]
    fn count_tunnel_tx(
        &mut self,
        tunnel: crate::tables::TunnelId,
        vtep: std::net::Ipv4Addr,
        bytes: usize,
    ) {
        if let Some(((t, v), p, b)) = self.tally.tunnel_tx.add((tunnel, vtep), bytes as u64) {
            self.counters.tunnels[t.index()].add_tx(v, p, b);
        }
    }

    /// Gives `pkt` its verdict: dropped for `reason`. It is freed with the
    /// burst's other drops (or at once if a whole batch is waiting already).
    /// Out of line: drops are the exception, and the hot paths stay small.
    #[cold]
    #[inline(never)]
    fn discard(&mut self, reason: DropReason, pkt: B) {
        self.drop_packet(reason);
        if let Err(pkt) = self.dropped.push(pkt) {
            drop(pkt);
        }
    }

    /// Gives a packet that has no buffer (a copy or control frame that
    /// could not be made) its verdict: dropped for `reason`.
    #[inline]
    fn drop_packet(&mut self, reason: DropReason) {
        self.ledger.dropped += 1;
        self.counters.drop_packet(reason);
    }

    /// Gives the packet at hand its verdict: taken by the control plane.
    #[inline]
    fn consume(&mut self) {
        self.ledger.consumed += 1;
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

/// The destination a MAC table answer gives, if the running snapshot
/// still serves it (see [`Snapshot::serves`]).
#[inline]
fn destination_of(
    env: &Env,
    slot: VniSlot,
    hit: Option<crate::tables::mac::MacHit>,
) -> Option<MacDest> {
    let dest = hit?.entry.dest;
    env.snap.serves(slot, &dest).then_some(dest)
}

/// The drop reason for a header that failed to parse: `malformed` unless
/// it was merely cut short.
fn wire_drop(e: crate::wire::WireError, malformed: DropReason) -> DropReason {
    match e {
        crate::wire::WireError::Truncated => DropReason::Truncated,
        crate::wire::WireError::Malformed => malformed,
    }
}

#[cfg(test)]
mod route_tests;
#[cfg(test)]
mod tests;
