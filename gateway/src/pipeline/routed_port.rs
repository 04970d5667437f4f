//! Frames on a routed interface (`[[interface]]`: a port, or a VLAN on
//! one, that is routed, not bridged): its ARP is the gateway's as in a VNI
//! ([`super::gateway_arp`]: the address answered, senders learned), frames
//! to the port's MAC are routed ([`super::route`]), nothing is bridged.

use super::{Env, Pipeline};
use crate::buf::{remove_gap, PacketBuf};
use crate::counters::DropReason;
use crate::io::PortIo;
use crate::l3::IfaceId;
use crate::snapshot::Member;
use crate::wire::ethernet::L2Header;

impl<B: PacketBuf> Pipeline<B> {
    /// Handles a frame of routed interface `id`, which came in on `member`.
    pub(super) fn routed_port<IO: PortIo<Buf = B>>(
        &mut self,
        io: &mut IO,
        env: &Env,
        id: IfaceId,
        member: Member,
        l2: &L2Header,
        mut pkt: B,
    ) {
        let Some(f) = env.snap.l3.iface(id) else {
            return self.discard(DropReason::UnknownVlan, pkt);
        };
        let gw = f.ingress(id);
        if l2.vlan.is_some() && !remove_gap(&mut pkt, 12, 4) {
            return self.discard(DropReason::Truncated, pkt);
        }
        if super::gateway_arp::is_arp(pkt.data()) {
            let from = super::gateway_arp::Ingress::Port(member);
            if let Some(pkt) = self.gateway_arp(io, env, None, gw, from, pkt) {
                self.discard(DropReason::NotForInterface, pkt);
            }
            return;
        }
        if l2.dst != gw.mac {
            return self.discard(DropReason::NotForInterface, pkt);
        }
        let cksum = crate::offload::rx_ipv4_verdict(io.offloads(member.port), &pkt);
        self.route_in(io, env, gw, l2.src, cksum, pkt);
    }
}
