//! A worker's queues, as the data plane's `PortIo`: the receive queues it
//! is given to poll (`vtepgw_gateway::queues::assign`) and its own
//! transmit queue on every port.

use super::{ffi, rdtsc, Mbuf, Mempool};
use vtepgw_gateway::buf::{insert_gap, PacketBuf};
use vtepgw_gateway::io::{copy_into_new, PortIo, FLOOD_SHARED_FROM};
use vtepgw_gateway::offload::Offloads;
use vtepgw_gateway::types::PortId;

/// One worker's I/O on the ports, by the data plane's port index.
pub struct DpdkIo {
    port_ids: Vec<u16>,
    /// The offloads each port has on, by the same index.
    offloads: Vec<Offloads>,
    tx_queue: u16,
    pool: Mempool,
    /// Flood copies of frames at least this long share the payload on
    /// ports that take chained frames (None: always full copies).
    share_min: Option<usize>,
}

/// The default for [`DpdkIo::share_min`]: below it a full copy (one mbuf,
/// a short memcpy) is cheaper than a shared one (two mbufs, refcounts).
pub const FLOOD_SHARE_MIN: usize = 0;

impl DpdkIo {
    /// I/O on `port_ids` (index 0 is the underlay), transmitting on queue
    /// `tx_queue` of each: the worker's own, which no other worker uses.
    /// `offloads` says what each port has on.
    pub fn new(port_ids: Vec<u16>, offloads: Vec<Offloads>, tx_queue: u16, pool: Mempool) -> Self {
        DpdkIo {
            port_ids,
            offloads,
            tx_queue,
            pool,
            share_min: Some(FLOOD_SHARE_MIN),
        }
    }

    /// Shares the payload of flood copies of frames of at least `min`
    /// bytes (None: full copies always).
    pub fn with_flood_share_min(mut self, min: Option<usize>) -> Self {
        self.share_min = min;
        self
    }
}

/// Puts a tag the driver stripped although the port does not have VLAN
/// strip on (e.g. af_packet reading the kernel's auxdata) back in front of
/// the ethertype, so the pipeline sees the frame as it was on the wire.
/// Where the port has it on, the pipeline reads the tag from the mbuf.
#[cold]
fn reinsert_vlan(m: &mut Mbuf, tci: u16) -> bool {
    if !insert_gap(m, 12, 4) {
        return false;
    }
    let d = m.data_mut();
    d[12..14].copy_from_slice(&0x8100u16.to_be_bytes());
    d[14..16].copy_from_slice(&tci.to_be_bytes());
    m.clear_vlan_flags();
    true
}

impl PortIo for DpdkIo {
    type Buf = Mbuf;

    #[inline]
    fn rx_burst(&mut self, port: PortId, queue: u16, slots: &mut [Option<Mbuf>]) -> usize {
        let port_id = self.port_ids[usize::from(port)];
        debug_assert!(slots.iter().all(Option::is_none), "rx into held slots");
        let max = slots.len().min(u16::MAX as usize) as u16;
        // SAFETY: `Option<Mbuf>` is layout-compatible with `*mut rte_mbuf`
        // (None is NULL); the slots are empty, and the driver writes at most
        // `max` owned mbuf pointers into them. `queue` was assigned to this
        // worker alone (queues::assign), so no other thread polls it.
        let n = unsafe { ffi::rte_eth_rx_burst(port_id, queue, slots.as_mut_ptr().cast(), max) };
        let n = usize::from(n);
        if self.offloads[usize::from(port)].rx_vlan_strip {
            return n;
        }
        for slot in &mut slots[..n] {
            let stripped = slot.as_ref().and_then(Mbuf::stripped_vlan);
            if let (Some(tci), Some(m)) = (stripped, slot.as_mut()) {
                if !reinsert_vlan(m, tci) {
                    *slot = None; // no headroom: drop rather than misclassify
                }
            }
        }
        // Compact if a reinsert failed (never with standard headroom).
        let mut kept = 0;
        for i in 0..n {
            if slots[i].is_some() {
                slots.swap(kept, i);
                kept += 1;
            }
        }
        kept
    }

    #[inline]
    fn tx_burst(&mut self, port: PortId, slots: &mut [Option<Mbuf>]) -> usize {
        let port_id = self.port_ids[usize::from(port)];
        // Only the leading run of held slots goes to the driver, so it can
        // never see a NULL (the pipeline passes only held slots anyway).
        let held = slots.iter().take_while(|s| s.is_some()).count();
        let count = held.min(u16::MAX as usize) as u16;
        // SAFETY: the first `count` slots hold owned mbufs; layout as in
        // rx_burst. The driver takes ownership of the first `sent`, which
        // we then forget instead of freeing. The TX queue is this worker's
        // alone.
        let sent = unsafe {
            ffi::rte_eth_tx_burst(port_id, self.tx_queue, slots.as_mut_ptr().cast(), count)
        };
        let sent = usize::from(sent);
        for slot in &mut slots[..sent] {
            std::mem::forget(slot.take());
        }
        sent
    }

    #[inline]
    fn alloc(&mut self) -> Option<Mbuf> {
        self.pool.alloc()
    }

    #[inline]
    fn free_bulk(&mut self, slots: &mut [Option<Mbuf>]) {
        // As in tx_burst, only the leading run of held slots goes to DPDK.
        let held = slots.iter().take_while(|s| s.is_some()).count();
        let count = held.min(u32::MAX as usize) as u32;
        // SAFETY: the first `count` slots hold owned mbufs (layout as in
        // rx_burst); rte_pktmbuf_free_bulk gives each back to its pool
        // (whole chains), and we forget them instead of freeing them again.
        unsafe { ffi::rte_pktmbuf_free_bulk(slots.as_mut_ptr().cast(), count) };
        for slot in &mut slots[..count as usize] {
            std::mem::forget(slot.take());
        }
        // Anything after a gap (never, from the pipeline) is freed singly.
        for slot in &mut slots[count as usize..] {
            *slot = None;
        }
    }

    #[inline]
    fn cycles(&self) -> u64 {
        rdtsc()
    }

    #[inline]
    fn flood_copy(&mut self, src: &Mbuf, port: PortId) -> Option<Mbuf> {
        let share = self.offloads[usize::from(port)].tx_multi_segs
            && self.share_min.is_some_and(|min| src.len() >= min);
        if share {
            if let Some(copy) = src.shared_copy(&self.pool, FLOOD_SHARED_FROM) {
                return Some(copy);
            }
        }
        copy_into_new(self, src.data())
    }

    #[inline]
    fn offloads(&self, port: PortId) -> Offloads {
        self.offloads[usize::from(port)]
    }
}
