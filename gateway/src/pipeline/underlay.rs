//! Frames from the underlay: ARP and ICMP echo for our VTEP address, and
//! strict VXLAN decapsulation (RFC 7348): our MAC, our VTEP IP, the VXLAN
//! port, the I flag, a known VNI, no outer fragments, no inner VLAN tag.

use super::learn::Source;
use super::output::FloodScope;
use super::{wire_drop, Env, Pipeline};
use crate::buf::PacketBuf;
use crate::counters::DropReason;
use crate::events::Event;
use crate::io::PortIo;
use crate::snapshot::UNDERLAY_PORT;
use crate::tables::{MacDest, TunnelId};
use crate::wire::arp::{turn_request_into_reply, ArpPacket, ARP_REPLY, ARP_REQUEST};
use crate::wire::ethernet::{
    parse_l2, ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_QINQ, ETHERTYPE_VLAN, HEADER_LEN as ETH_LEN,
};
use crate::wire::icmpv4::{turn_echo_request_into_reply, Icmpv4Packet, ECHO_REQUEST};
use crate::wire::ipv4::{Ipv4Packet, PROTO_ICMP, PROTO_UDP};
use crate::wire::udp::UdpPacket;
use crate::wire::vxlan::VxlanHeader;
use crate::wire::{is_multicast_mac, BROADCAST_MAC};
use std::net::Ipv4Addr;

/// Where the inner frame sits in a VXLAN packet that passed every check.
struct Decap {
    slot: u16,
    vtep: Ipv4Addr,
    inner_start: usize,
    inner_len: usize,
}

impl<B: PacketBuf> Pipeline<B> {
    pub(super) fn handle_underlay<IO: PortIo<Buf = B>>(&mut self, io: &mut IO, env: &Env, pkt: B) {
        let l2 = match parse_l2(pkt.data()) {
            Ok(l2) => l2,
            Err(e) => return self.discard(wire_drop(e, DropReason::MalformedL2), pkt),
        };
        if l2.vlan.is_some() {
            return self.discard(DropReason::UnderlayVlanTag, pkt);
        }
        // Broadcast is for ARP only: VXLAN to us comes to our MAC.
        let broadcast_arp = l2.dst == BROADCAST_MAC && l2.ethertype == ETHERTYPE_ARP;
        if l2.dst != env.snap.underlay.mac && !broadcast_arp {
            return self.discard(DropReason::NotOurMac, pkt);
        }
        match l2.ethertype {
            ETHERTYPE_IPV4 => {}
            ETHERTYPE_ARP => return self.arp(io, env, pkt),
            _ => return self.discard(DropReason::UnsupportedEthertype, pkt),
        }
        match self.check_vxlan(env, pkt.data()) {
            Ok(d) => self.decapsulate(io, env, d, pkt),
            Err(Some(reason)) => self.discard(reason, pkt),
            Err(None) => self.icmp_echo(io, env, pkt),
        }
    }

    /// Validates an IPv4 frame as VXLAN for us. `Err(None)` means "ICMP to
    /// our address", which is not VXLAN but not a drop either.
    fn check_vxlan(&mut self, env: &Env, frame: &[u8]) -> Result<Decap, Option<DropReason>> {
        let u = &env.snap.underlay;
        let ip = Ipv4Packet::new_checked(&frame[ETH_LEN..])
            .map_err(|e| Some(wire_drop(e, DropReason::MalformedIpv4)))?;
        if !ip.verify_checksum() {
            return Err(Some(DropReason::BadIpv4Checksum));
        }
        if ip.dst_addr() != u.ip {
            return Err(Some(DropReason::NotOurVtepIp));
        }
        if !u.is_vtep_source(ip.src_addr()) {
            return Err(Some(DropReason::BadOuterSource));
        }
        if ip.is_fragment() {
            return Err(Some(DropReason::OuterFragment));
        }
        match ip.protocol() {
            PROTO_UDP => {}
            PROTO_ICMP => return Err(None),
            _ => return Err(Some(DropReason::NotVxlan)),
        }
        // A UDP length below 8 (malformed) is not VXLAN; a cut-short one is truncated.
        let udp = UdpPacket::new_checked(ip.payload())
            .map_err(|e| Some(wire_drop(e, DropReason::NotVxlan)))?;
        if udp.dst_port() != u.udp_port {
            return Err(Some(DropReason::WrongUdpPort));
        }
        let vxlan =
            VxlanHeader::new_checked(udp.payload()).map_err(|_| Some(DropReason::Truncated))?;
        if !vxlan.has_vni_flag() {
            return Err(Some(DropReason::BadVxlanFlags));
        }
        let slot = self
            .vni_slot(env, vxlan.vni())
            .ok_or(Some(DropReason::UnknownVni))?;
        let inner_start = ETH_LEN + ip.header_len() + 8 + 8;
        // The UDP length bounds the inner frame; anything after is padding.
        let inner_len = udp.payload().len() - 8;
        if inner_len < ETH_LEN {
            return Err(Some(DropReason::Truncated));
        }
        let inner_type = u16::from_be_bytes([frame[inner_start + 12], frame[inner_start + 13]]);
        if inner_type == ETHERTYPE_VLAN || inner_type == ETHERTYPE_QINQ {
            return Err(Some(DropReason::InnerVlanTag));
        }
        Ok(Decap {
            slot,
            vtep: ip.src_addr(),
            inner_start,
            inner_len,
        })
    }

    fn decapsulate<IO: PortIo<Buf = B>>(&mut self, io: &mut IO, env: &Env, d: Decap, mut pkt: B) {
        let Some(vni) = env.snap.vni(d.slot) else {
            return self.discard(DropReason::UnknownVni, pkt);
        };
        let tunnel = self.source_tunnel(d.vtep);
        if let Some(t) = tunnel {
            self.count_tunnel_rx(t, d.vtep, pkt.len());
        }
        let inner = &pkt.data()[d.inner_start..d.inner_start + d.inner_len];
        let mut dst = [0u8; 6];
        let mut src = [0u8; 6];
        dst.copy_from_slice(&inner[..6]);
        src.copy_from_slice(&inner[6..12]);
        if is_multicast_mac(&src) || src == [0; 6] {
            return self.discard(DropReason::BadSourceMac, pkt);
        }
        let source = Source::Tunnel {
            vtep: d.vtep,
            tunnel,
        };
        self.learn(env, d.slot, vni, src, source);

        let padding = pkt.len() - d.inner_start - d.inner_len;
        if !pkt.trim(padding) || !pkt.adj(d.inner_start) {
            return self.discard(DropReason::Truncated, pkt);
        }
        self.count_decap(d.slot, d.inner_len);

        if is_multicast_mac(&dst) {
            return self.flood(io, env, d.slot, vni, None, FloodScope::PortsOnly, pkt);
        }
        match self.destination(env, d.slot, &dst) {
            Some(MacDest::Local { port, vlan }) => {
                self.deliver_local(io, env, crate::snapshot::Member { port, vlan }, pkt)
            }
            Some(MacDest::Remote { .. }) => self.discard(DropReason::SplitHorizon, pkt),
            None => self.flood(io, env, d.slot, vni, None, FloodScope::PortsOnly, pkt),
        }
    }

    /// The slot of a VXLAN VNI, remembered from the last packet (and the
    /// snapshot it was looked up in) instead of searched every time.
    #[inline]
    fn vni_slot(&mut self, env: &Env, vni: u32) -> Option<u16> {
        let generation = env.snap.generation;
        if let Some((g, v, slot)) = self.last_vni {
            if g == generation && v == vni {
                return Some(slot);
            }
        }
        let slot = env.snap.vni_slot(vni)?;
        self.last_vni = Some((generation, vni, slot));
        Some(slot)
    }

    /// The tunnel of a decapsulated frame's outer source, remembered from
    /// the last packet: frames of one burst mostly come from one VTEP, and
    /// checking that the id still names it is cheaper than the hash.
    #[inline]
    fn source_tunnel(&mut self, vtep: Ipv4Addr) -> Option<TunnelId> {
        let tunnels = &self.shared.tunnels;
        if let Some((addr, id)) = self.last_source {
            if addr == vtep && tunnels.holds(id, vtep.into()) {
                return Some(id);
            }
        }
        let id = tunnels.id(vtep.into())?;
        self.last_source = Some((vtep, id));
        Some(id)
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
        if !(to_us || announcement) || !u.is_vtep_source(ip) {
            return self.discard(DropReason::ArpIgnored, pkt);
        }
        self.counters.arp_seen.inc();
        if self.events.try_send(Event::ArpSeen { ip, mac }).is_err() {
            self.counters.events_lost.inc();
        }
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
        let ok = Ipv4Packet::new_checked(&pkt.data()[ETH_LEN..])
            .ok()
            .and_then(|ip| {
                let icmp = Icmpv4Packet::new_checked(ip.payload()).ok()?;
                (icmp.msg_type() == ECHO_REQUEST && icmp.verify_checksum()).then_some(())
            })
            .is_some();
        if !ok || turn_echo_request_into_reply(&mut pkt.data_mut()[ETH_LEN..]).is_err() {
            return self.discard(DropReason::IcmpIgnored, pkt);
        }
        let our_mac = env.snap.underlay.mac;
        let data = pkt.data_mut();
        data.copy_within(6..12, 0);
        data[6..12].copy_from_slice(&our_mac);
        self.counters.icmp_echo_replies_sent.inc();
        self.send(io, UNDERLAY_PORT, pkt);
    }
}
