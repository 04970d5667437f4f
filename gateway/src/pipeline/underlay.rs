//! Frames from the underlay, first stop: the outer Ethernet header (no
//! tag, our MAC or broadcast ARP), then ARP and ICMP echo for our VTEP
//! address, answered here; VXLAN goes on to [`super::decap`].

use super::{wire_drop, Env, Pipeline};
use crate::buf::PacketBuf;
use crate::counters::DropReason;
use crate::events::Event;
use crate::groups::receives_mac;
use crate::io::PortIo;
use crate::offload;
use crate::snapshot::UNDERLAY_PORT;
use crate::wire::arp::{turn_request_into_reply, ArpPacket, ARP_REPLY, ARP_REQUEST};
use crate::wire::ethernet::{parse_l2, ETHERTYPE_ARP, ETHERTYPE_IPV4, HEADER_LEN as ETH_LEN};
use crate::wire::icmpv4::{is_echo_request, turn_echo_request_into_reply};
use crate::wire::igmp::PROTO_IGMP;

impl<B: PacketBuf> Pipeline<B> {
    pub(super) fn handle_underlay<IO: PortIo<Buf = B>>(&mut self, io: &mut IO, env: &Env, pkt: B) {
        let l2 = match parse_l2(pkt.data()) {
            Ok(l2) => l2,
            Err(e) => return self.discard(wire_drop(e, DropReason::MalformedL2), pkt),
        };
        if l2.vlan.is_some() {
            return self.discard(DropReason::UnderlayVlanTag, pkt);
        }
        // Broadcast is for ARP only: VXLAN to us comes to our MAC, or to
        // the mapped MAC of one of our groups.
        let broadcast_arp = l2.dst.is_broadcast() && l2.ethertype == ETHERTYPE_ARP;
        let to_us = l2.dst == env.snap.underlay.mac;
        // Checked only off our MAC: unicast VXLAN never scans the groups.
        let group_ipv4 = !to_us
            && l2.dst.is_multicast()
            && l2.ethertype == ETHERTYPE_IPV4
            && receives_mac(&env.snap.group_macs, &l2.dst);
        if !to_us && !broadcast_arp && !group_ipv4 {
            return self.discard(DropReason::NotOurMac, pkt);
        }
        match l2.ethertype {
            ETHERTYPE_IPV4 if group_ipv4 && pkt.data().get(ETH_LEN + 9) == Some(&PROTO_IGMP) => {
                return self.igmp(env, pkt)
            }
            ETHERTYPE_IPV4 => {}
            ETHERTYPE_ARP => return self.arp(io, env, pkt),
            _ => return self.discard(DropReason::UnsupportedEthertype, pkt),
        }
        let cksum = offload::rx_ipv4_verdict(io.offloads(UNDERLAY_PORT), &pkt);
        match self.check_vxlan(env, pkt.data(), cksum) {
            Ok(d) => self.stage(io, env, d, pkt),
            Err(Some(reason)) => self.discard(reason, pkt),
            Err(None) => self.icmp_echo(io, env, pkt),
        }
    }

    /// Answers ARP requests for our VTEP address and passes what ARP tells
    /// us about neighbours to the control thread: ARP to us, and gratuitous
    /// ARP (request or reply form) or unsolicited replies, by which a next
    /// hop announces a new MAC. The control thread only updates next hops it
    /// already resolves; it never creates one from ARP.
    fn arp<IO: PortIo<Buf = B>>(&mut self, io: &mut IO, env: &Env, mut pkt: B) {
        let u = &env.snap.underlay;
        let Ok(arp) = ArpPacket::new_checked(&pkt.data()[ETH_LEN..]) else {
            return self.discard(DropReason::ArpIgnored, pkt);
        };
        let (ip, mac, op) = (arp.sender_ip(), arp.sender_mac(), arp.operation());
        let to_us = arp.target_ip() == u.ip;
        let announcement = arp.target_ip() == ip || op == ARP_REPLY;
        // No host has a multicast, zero or our own MAC (RFC 1812 3.3.2): a
        // claim to one would point next hops at the whole segment or at us.
        let bad_mac = mac.is_multicast() || mac.is_zero() || mac == u.mac;
        if !(to_us || announcement) || !u.is_vtep_source(ip) || bad_mac {
            return self.discard(DropReason::ArpIgnored, pkt);
        }
        self.counters.arp_seen.inc();
        // At most once a second per (sender, MAC): a storm of gratuitous
        // ARP (VRRP, VM moves) cannot crowd learning out of the queue.
        // Keys of VNI slot 0x7fff are never MAC keys (slots stay below 4096).
        // The operation is part of the value: a VTEP's request to us and
        // its reply to our request a moment later are both passed on (the
        // reply is what resolves it).
        let key = (1 << 63) | (0x7fff << 48) | u64::from(u32::from(ip));
        let value = {
            let [a, b, c, d, e, f] = mac.0;
            u64::from_be_bytes([0, op as u8, a, b, c, d, e, f])
        };
        self.notify(env, key, value, Event::ArpSeen { ip, mac });
        if to_us && op == ARP_REQUEST {
            if turn_request_into_reply(pkt.data_mut(), u.mac).is_err() {
                return self.discard(DropReason::ArpIgnored, pkt);
            }
            self.counters.arp_replies_sent.inc();
            self.send(io, UNDERLAY_PORT, pkt);
        } else {
            // What it said went to the control thread; nothing goes back.
            self.consume();
        }
    }

    /// Answers ICMP echo requests to our VTEP address, so operators can ping it.
    fn icmp_echo<IO: PortIo<Buf = B>>(&mut self, io: &mut IO, env: &Env, mut pkt: B) {
        let ip = &mut pkt.data_mut()[ETH_LEN..];
        if !is_echo_request(ip) || turn_echo_request_into_reply(ip).is_err() {
            return self.discard(DropReason::IcmpIgnored, pkt);
        }
        let our_mac = env.snap.underlay.mac;
        let data = pkt.data_mut();
        data.copy_within(6..12, 0);
        data[6..12].copy_from_slice(&our_mac.0);
        self.counters.icmp_echo_replies_sent.inc();
        self.send(io, UNDERLAY_PORT, pkt);
    }
}
