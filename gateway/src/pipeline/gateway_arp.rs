//! ARP in a VNI that has a gateway interface: every sender on the link is
//! learned (or refreshed) as a neighbour; requests for the gateway's
//! address are answered with the gateway MAC, back where they came from;
//! replies to the gateway (to its ARP requests) end here. With ARP
//! suppression, a host's request for another host is answered here too:
//! `reply` (reply-on-behalf) with that host's own MAC if the gateway knows
//! it, `proxy` always with the gateway MAC (so traffic in the subnet is
//! routed too). Everything else (a miss, gratuitous ARP, probes, ARP
//! between hosts) goes on through the L2 path as before.

use super::{Env, Pipeline};
use crate::buf::PacketBuf;
use crate::counters::DropReason;
use crate::io::PortIo;
use crate::l3::GatewayPlan;
use crate::snapshot::{Member, VniPlan, UNDERLAY_PORT};
use crate::tables::TunnelId;
use crate::types::VniSlot;
use crate::wire::arp::{turn_request_into_reply, ArpPacket, ARP_REPLY, ARP_REQUEST};
use crate::wire::ethernet::{ETHERTYPE_ARP, HEADER_LEN as ETH_LEN};
use std::net::Ipv4Addr;
use vtepgw_config::ArpSuppression;

/// Where a frame of a VNI came from, to answer it there.
#[derive(Clone, Copy)]
pub(super) enum Ingress {
    Port(Member),
    /// Decapsulated; the tunnel of its VTEP, if tracked.
    Tunnel(Option<TunnelId>),
}

/// Whether an untagged frame is ARP.
#[inline]
pub(super) fn is_arp(frame: &[u8]) -> bool {
    frame.get(12..14) == Some(&ETHERTYPE_ARP.to_be_bytes()[..])
}

/// Whether a request may be answered on the target's behalf: not
/// gratuitous (the sender announcing its own address) and not a probe
/// (sender 0.0.0.0, RFC 5227): those must reach every host, the owner
/// of the address included, as Linux's and RFC 9161's suppression keep.
fn suppressible(sender: Ipv4Addr, target: Ipv4Addr) -> bool {
    sender != target && !sender.is_unspecified()
}

impl<B: PacketBuf> Pipeline<B> {
    /// Sends an ARP reply back where its request came from: out of the
    /// port, or into the tunnel of `vni` it was decapsulated from.
    fn reply_to<IO: PortIo<Buf = B>>(
        &mut self,
        io: &mut IO,
        env: &Env,
        vni: Option<(VniSlot, &VniPlan)>,
        from: Ingress,
        pkt: B,
    ) {
        match (from, vni) {
            (Ingress::Port(member), _) => self.deliver_local(io, env, member, pkt),
            (Ingress::Tunnel(Some(tunnel)), Some((slot, vni))) => {
                self.encap_unicast(io, env, slot, vni, tunnel, UNDERLAY_PORT, pkt)
            }
            (Ingress::Tunnel(_), _) => self.discard(DropReason::VtepUnresolved, pkt),
        }
    }

    /// Handles an ARP frame that came in on interface `gw` (of VNI `vni`,
    /// or a routed port's when None); gives the frame back if it is not
    /// the gateway's business (bridged in a VNI, dropped on a routed port).
    pub(super) fn gateway_arp<IO: PortIo<Buf = B>>(
        &mut self,
        io: &mut IO,
        env: &Env,
        vni: Option<(VniSlot, &VniPlan)>,
        gw: GatewayPlan,
        from: Ingress,
        mut pkt: B,
    ) -> Option<B> {
        let Ok(arp) = ArpPacket::new_checked(&pkt.data()[ETH_LEN..]) else {
            // Not for the gateway to judge: bridged as any frame.
            return Some(pkt);
        };
        let (op, sender, sender_mac) = (arp.operation(), arp.sender_ip(), arp.sender_mac());
        let target = arp.target_ip();
        let link = env.snap.l3.iface(gw.iface);
        if sender_mac != gw.mac && link.is_some_and(|f| f.is_neighbour(sender)) {
            self.heard_from(env, gw.iface, sender, sender_mac);
        }
        let to_gateway_mac = pkt.data()[..6] == gw.mac.0;
        match op {
            ARP_REQUEST if target == gw.ip && sender != gw.ip => {
                if turn_request_into_reply(pkt.data_mut(), gw.mac).is_err() {
                    self.discard(DropReason::ArpIgnored, pkt);
                    return None;
                }
                self.counters.gateway_arp_replies_sent.inc();
                self.reply_to(io, env, vni, from, pkt);
                None
            }
            // ARP suppression: a host's request answered here, not flooded.
            ARP_REQUEST
                if suppressible(sender, target) && link.is_some_and(|f| f.is_neighbour(target)) =>
            {
                let answer = match gw.arp_suppression {
                    ArpSuppression::Off => return Some(pkt),
                    // Every answer is the gateway: what follows is routed.
                    ArpSuppression::Proxy => Some(gw.mac),
                    // The host's own MAC, if the gateway knows it (never
                    // the asker's own MAC: that would be a conflict to see).
                    ArpSuppression::Reply => self
                        .shared
                        .neighbours
                        .lookup(gw.iface, target)
                        .map(|h| h.mac)
                        .filter(|&m| m != sender_mac),
                };
                let mode = usize::from(gw.arp_suppression == ArpSuppression::Proxy);
                let Some(mac) = answer else {
                    self.counters.arp_suppression_misses.inc();
                    return Some(pkt);
                };
                if turn_request_into_reply(pkt.data_mut(), mac).is_err() {
                    self.discard(DropReason::ArpIgnored, pkt);
                    return None;
                }
                self.counters.arp_suppression_replies[mode].inc();
                self.reply_to(io, env, vni, from, pkt);
                None
            }
            // An answer to the gateway's request: learned above, done.
            ARP_REPLY if to_gateway_mac => {
                self.consume();
                drop(pkt);
                None
            }
            _ => Some(pkt),
        }
    }
}
