//! What a worker needs from the NIC layer: bursts, buffers and a cycle counter.
//!
//! The DPDK layer implements this over its queues and mempool; [`MemIo`]
//! implements it over in-memory queues for tests and benchmarks.

use crate::buf::{PacketBuf, VecBuf};
use crate::offload::Offloads;
use crate::types::PortId;
use std::collections::VecDeque;

/// Where a shared flood copy starts referring to the original's bytes:
/// before it, each copy has its own (the Ethernet header, which the
/// pipeline moves to insert a tag and puts outer headers in front of).
pub const FLOOD_SHARED_FROM: usize = 14;

/// One worker's access to its queues (see [`crate::queues`] for who owns
/// which): the receive queues it polls, and its own transmit queue on
/// every port.
pub trait PortIo {
    type Buf: PacketBuf;
    /// Receives up to `slots.len()` packets from receive queue `queue` of
    /// `port` into the leading slots (which are all `None`); returns how many.
    fn rx_burst(&mut self, port: PortId, queue: u16, slots: &mut [Option<Self::Buf>]) -> usize;
    /// Transmits a prefix of `slots` on this worker's transmit queue of
    /// `port` and sets the sent slots to `None`; returns how many were sent.
    fn tx_burst(&mut self, port: PortId, slots: &mut [Option<Self::Buf>]) -> usize;
    /// A fresh, empty buffer with the usual headroom, or None if the pool is empty.
    fn alloc(&mut self) -> Option<Self::Buf>;
    /// Frees the packets in `slots` (dropped ones) and sets the slots to
    /// `None`. The default drops them one by one; DPDK frees them with one
    /// `rte_pktmbuf_free_bulk`.
    fn free_bulk(&mut self, slots: &mut [Option<Self::Buf>]) {
        for slot in slots {
            *slot = None;
        }
    }
    /// A cycle counter (TSC) for busy-time accounting.
    fn cycles(&self) -> u64;
    /// A copy of `src` (a received, contiguous frame) to send out of
    /// `port` in a flood. By default a full copy in a fresh buffer; the
    /// DPDK layer shares the payload where `port` takes chained frames
    /// (a fresh first segment with the front, then the rest by
    /// reference), so the copy's `len()` is the whole frame's but its
    /// `data()` may be only the front (enough to prepend outer headers or
    /// insert a tag). The pipeline does not modify `src` after its last
    /// copy beyond its first [`FLOOD_SHARED_FROM`] bytes.
    fn flood_copy(&mut self, src: &Self::Buf, _port: PortId) -> Option<Self::Buf> {
        copy_into_new(self, src.data())
    }
    /// The offloads `port` has on (none unless the device has them).
    #[inline]
    fn offloads(&self, _port: PortId) -> Offloads {
        Offloads::NONE
    }
}

/// A new buffer from `io` holding a copy of `frame`.
pub fn copy_into_new<IO: PortIo + ?Sized>(io: &mut IO, frame: &[u8]) -> Option<IO::Buf> {
    let mut pkt = io.alloc()?;
    if !pkt.append(frame.len()) {
        return None;
    }
    pkt.data_mut().copy_from_slice(frame);
    Some(pkt)
}

/// In-memory ports: tests push frames into `rx` and read what came out of `tx`.
#[derive(Default)]
pub struct MemIo {
    /// By port, then receive queue (one queue per port unless
    /// [`MemIo::inject_on`] added more).
    pub rx: Vec<Vec<VecDeque<VecBuf>>>,
    pub tx: Vec<Vec<VecBuf>>,
    /// How many more buffers `alloc` hands out (None: unlimited).
    pub alloc_budget: Option<usize>,
    /// Most packets one `tx_burst` accepts (None: all), to simulate full queues.
    pub tx_limit: Option<usize>,
    /// Simulated offloads by port (missing: none).
    pub offloads: Vec<Offloads>,
    /// Calls of `free_bulk` and the packets they freed.
    pub bulk_frees: usize,
    pub bulk_freed: usize,
    cycles: u64,
}

impl MemIo {
    /// `ports` empty ports.
    pub fn new(ports: usize) -> Self {
        MemIo {
            rx: vec![vec![VecDeque::new()]; ports],
            tx: vec![Vec::new(); ports],
            ..Default::default()
        }
    }

    /// Queues a frame for reception on `port` (its receive queue 0).
    pub fn inject(&mut self, port: u8, frame: &[u8]) {
        self.inject_on(port, 0, frame);
    }

    /// Queues a frame for reception on receive queue `queue` of `port`.
    pub fn inject_on(&mut self, port: u8, queue: u16, frame: &[u8]) {
        let queues = &mut self.rx[usize::from(port)];
        let q = usize::from(queue);
        if queues.len() <= q {
            queues.resize_with(q + 1, VecDeque::new);
        }
        queues[q].push_back(VecBuf::from_frame(frame));
    }

    /// Queues a buffer (with its simulated offload metadata) for reception
    /// on `port`, receive queue 0.
    pub fn inject_buf(&mut self, port: u8, buf: VecBuf) {
        self.rx[usize::from(port)][0].push_back(buf);
    }

    /// Takes the buffers transmitted on `port` so far, metadata included.
    pub fn take_tx_bufs(&mut self, port: u8) -> Vec<VecBuf> {
        std::mem::take(&mut self.tx[usize::from(port)])
    }

    /// Takes the frames transmitted on `port` so far.
    pub fn take_tx(&mut self, port: u8) -> Vec<Vec<u8>> {
        std::mem::take(&mut self.tx[usize::from(port)])
            .into_iter()
            .map(|b| b.data().to_vec())
            .collect()
    }
}

impl PortIo for MemIo {
    type Buf = VecBuf;

    fn rx_burst(&mut self, port: PortId, queue: u16, slots: &mut [Option<VecBuf>]) -> usize {
        let Some(q) = self.rx[usize::from(port)].get_mut(usize::from(queue)) else {
            return 0;
        };
        let n = slots.len().min(q.len());
        for slot in &mut slots[..n] {
            *slot = q.pop_front();
        }
        n
    }

    fn tx_burst(&mut self, port: PortId, slots: &mut [Option<VecBuf>]) -> usize {
        let n = self.tx_limit.map_or(slots.len(), |l| l.min(slots.len()));
        let out = &mut self.tx[usize::from(port)];
        out.extend(slots[..n].iter_mut().filter_map(Option::take));
        n
    }

    fn alloc(&mut self) -> Option<VecBuf> {
        if let Some(budget) = &mut self.alloc_budget {
            *budget = budget.checked_sub(1)?;
        }
        Some(VecBuf::empty())
    }

    fn free_bulk(&mut self, slots: &mut [Option<VecBuf>]) {
        self.bulk_frees += 1;
        for slot in slots {
            self.bulk_freed += usize::from(slot.take().is_some());
        }
    }

    fn cycles(&self) -> u64 {
        self.cycles
    }

    fn offloads(&self, port: PortId) -> Offloads {
        self.offloads
            .get(usize::from(port))
            .copied()
            .unwrap_or(Offloads::NONE)
    }
}
