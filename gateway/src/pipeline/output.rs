//! Where frames leave: local delivery (tagged as the binding says), each
//! TX port's batch (`send`, flushed by `PortIo::tx_burst` when full and at
//! the end of the poll, counting its bytes once), and the burst's drops,
//! freed in one `PortIo::free_bulk`.
//!
//! Frames arrive here untagged: the bridge path strips the ingress tag and
//! decapsulated frames never carry one.

use super::{Env, Pipeline};
use crate::buf::PacketBuf;
use crate::counters::DropReason;
use crate::io::PortIo;
use crate::offload;
use crate::snapshot::Member;
use crate::types::PortId;
use crate::wire::ethernet::HEADER_LEN as ETH_LEN;

impl<B: PacketBuf> Pipeline<B> {
    /// Sends an untagged frame out of a local binding.
    pub(super) fn deliver_local<IO: PortIo<Buf = B>>(
        &mut self,
        io: &mut IO,
        env: &Env,
        member: Member,
        mut pkt: B,
    ) {
        let mtu = env.snap.ports[usize::from(member.port)].mtu;
        if pkt.len() - ETH_LEN > usize::from(mtu) {
            return self.discard(DropReason::MtuExceeded, pkt);
        }
        if let Some(vid) = member.vlan {
            if !offload::push_vlan(io.offloads(member.port), &mut pkt, vid) {
                return self.discard(DropReason::NoHeadroom, pkt);
            }
        }
        self.send(io, member.port, pkt);
    }

    /// Frees the packets dropped so far, all in one call.
    #[inline]
    pub(super) fn free_dropped<IO: PortIo<Buf = B>>(&mut self, io: &mut IO) {
        if !self.dropped.is_empty() {
            io.free_bulk(self.dropped.held_slots());
            let n = self.dropped.len();
            self.dropped.consumed(n);
        }
    }

    pub(super) fn flush_port<IO: PortIo<Buf = B>>(&mut self, io: &mut IO, port: PortId) {
        let i = usize::from(port);
        let batch = &mut self.tx[i];
        let queued = batch.len();
        let mut bytes = std::mem::take(&mut self.tx_bytes[i]);
        let sent = io.tx_burst(port, batch.held_slots());
        batch.consumed(sent);
        if sent < queued {
            // Rare: only the unsent rest is walked, and joins the drops.
            for p in batch.drain() {
                bytes -= p.wire_len() as u64;
                if let Err(p) = self.dropped.push(p) {
                    drop(p);
                }
            }
            self.counters.drops[DropReason::TxQueueFull as usize].add((queued - sent) as u64);
        }
        let pc = &self.counters.ports[i];
        pc.tx_packets.add(sent as u64);
        pc.tx_bytes.add(bytes);
    }

    /// Queues `pkt` for `port`, transmitting the batch first if it is full.
    #[inline]
    pub(super) fn send<IO: PortIo<Buf = B>>(&mut self, io: &mut IO, port: PortId, pkt: B) {
        self.ledger.sent += 1;
        let i = usize::from(port);
        if self.tx[i].is_full() {
            self.flush_port(io, port);
        }
        self.tx_bytes[i] += pkt.wire_len() as u64;
        // The batch has room after a flush.
        let _ = self.tx[i].push(pkt);
    }
}
