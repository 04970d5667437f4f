//! What a worker needs from the NIC layer: bursts, buffers and a cycle counter.
//!
//! The DPDK layer implements this over its queues and mempool; [`MemIo`]
//! implements it over in-memory queues for tests and benchmarks.

use crate::buf::{PacketBuf, VecBuf};
use std::collections::VecDeque;

/// One worker's access to its queues (see [`crate::queues`] for who owns
/// which): the receive queues it polls, and its own transmit queue on
/// every port.
pub trait PortIo {
    type Buf: PacketBuf;
    /// Receives up to `slots.len()` packets from receive queue `queue` of
    /// `port` into the leading slots (which are all `None`); returns how many.
    fn rx_burst(&mut self, port: u8, queue: u16, slots: &mut [Option<Self::Buf>]) -> usize;
    /// Transmits a prefix of `slots` on this worker's transmit queue of
    /// `port` and sets the sent slots to `None`; returns how many were sent.
    fn tx_burst(&mut self, port: u8, slots: &mut [Option<Self::Buf>]) -> usize;
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

    fn rx_burst(&mut self, port: u8, queue: u16, slots: &mut [Option<VecBuf>]) -> usize {
        let Some(q) = self.rx[usize::from(port)].get_mut(usize::from(queue)) else {
            return 0;
        };
        let n = slots.len().min(q.len());
        for slot in &mut slots[..n] {
            *slot = q.pop_front();
        }
        n
    }

    fn tx_burst(&mut self, port: u8, slots: &mut [Option<VecBuf>]) -> usize {
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
}
