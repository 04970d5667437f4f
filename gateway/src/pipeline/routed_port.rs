//! Frames on a routed interface (`[[interface]]`: a port, or a VLAN on
//! one, that is routed, not bridged): ARP for the interface's address is
//! answered and every sender on the link learned as a neighbour; frames
//! to the port's MAC are routed ([`super::route`]); nothing is bridged.

use super::{Env, Pipeline};
use crate::buf::{remove_gap, PacketBuf};
use crate::counters::DropReason;
use crate::io::PortIo;
use crate::l3::IfaceId;
use crate::snapshot::Member;
use crate::wire::arp::{turn_request_into_reply, ArpPacket, ARP_REPLY, ARP_REQUEST};
use crate::wire::ethernet::{L2Header, HEADER_LEN as ETH_LEN};

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
            let Ok(arp) = ArpPacket::new_checked(&pkt.data()[ETH_LEN..]) else {
                return self.discard(DropReason::ArpIgnored, pkt);
            };
            let (op, sender, sender_mac) = (arp.operation(), arp.sender_ip(), arp.sender_mac());
            let target = arp.target_ip();
            if sender_mac != gw.mac && f.is_neighbour(sender) {
                self.heard_from(env, id, sender, sender_mac);
            }
            return match op {
                ARP_REQUEST if target == gw.ip && sender != gw.ip => {
                    if turn_request_into_reply(pkt.data_mut(), gw.mac).is_err() {
                        return self.discard(DropReason::ArpIgnored, pkt);
                    }
                    self.counters.gateway_arp_replies_sent.inc();
                    self.deliver_local(io, env, member, pkt)
                }
                ARP_REPLY if l2.dst == gw.mac => {
                    self.consume();
                    drop(pkt);
                }
                _ => self.discard(DropReason::NotForInterface, pkt),
            };
        }
        if l2.dst != gw.mac {
            return self.discard(DropReason::NotForInterface, pkt);
        }
        self.route_in(io, env, gw, l2.src, pkt);
    }
}
