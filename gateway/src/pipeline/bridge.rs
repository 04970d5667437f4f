//! Frames from physical ports: VLAN to VNI, source learning, then local
//! forwarding, encapsulation to the VTEP that owns the destination, or
//! flooding (local ports and head-end replication).

use super::flood::FloodScope;
use super::learn::Source;
use super::{wire_drop, Env, Pipeline};
use crate::buf::{remove_gap, PacketBuf};
use crate::counters::DropReason;
use crate::io::PortIo;
use crate::offload;
use crate::snapshot::Member;
use crate::tables::MacDest;
use crate::wire::ethernet::parse_l2;
use crate::wire::is_multicast_mac;

impl<B: PacketBuf> Pipeline<B> {
    pub(super) fn handle_physical<IO: PortIo<Buf = B>>(
        &mut self,
        io: &mut IO,
        env: &Env,
        port: u8,
        mut pkt: B,
    ) {
        let l2 = match parse_l2(pkt.data()) {
            Ok(l2) => l2,
            Err(e) => return self.discard(wire_drop(e, DropReason::MalformedL2), pkt),
        };
        // The tag is in the bytes, or in the metadata where the port strips it.
        let vid = match offload::ingress_vid(io.offloads(port), &pkt, l2.vlan.map(|t| t.vid)) {
            Ok(vid) => vid,
            Err(reason) => return self.discard(reason, pkt),
        };
        // VID 0 is a priority tag: the frame belongs to the untagged binding.
        let vlan = vid.filter(|&vid| vid != 0);
        let Some(slot) = env.snap.ports[usize::from(port)].vni_slot(vlan) else {
            return self.discard(DropReason::UnknownVlan, pkt);
        };
        let Some(vni) = env.snap.vni(slot) else {
            return self.discard(DropReason::UnknownVlan, pkt);
        };
        if is_multicast_mac(&l2.src) || l2.src == [0; 6] {
            return self.discard(DropReason::BadSourceMac, pkt);
        }
        let ingress = Member { port, vlan };
        self.learn(env, slot, vni, l2.src, Source::Port { port, vlan });

        // Inside the VNI frames travel untagged; egress adds what it needs.
        if l2.vlan.is_some() && !remove_gap(&mut pkt, 12, 4) {
            return self.discard(DropReason::Truncated, pkt);
        }
        if is_multicast_mac(&l2.dst) {
            return self.flood(
                io,
                env,
                slot,
                vni,
                Some(ingress),
                FloodScope::PortsAndVteps,
                pkt,
            );
        }
        match self.destination(env, slot, &l2.dst) {
            Some(MacDest::Local { port, vlan }) => {
                let egress = Member { port, vlan };
                if egress == ingress {
                    self.discard(DropReason::SameSegment, pkt);
                } else {
                    self.deliver_local(io, env, egress, pkt);
                }
            }
            Some(MacDest::Remote { tunnel }) => {
                self.encap_unicast(io, env, slot, vni, tunnel, port, pkt)
            }
            None => self.flood(
                io,
                env,
                slot,
                vni,
                Some(ingress),
                FloodScope::PortsAndVteps,
                pkt,
            ),
        }
    }
}
