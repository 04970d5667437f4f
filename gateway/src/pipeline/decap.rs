//! VXLAN decapsulation (RFC 7348), strict: our VTEP IP, a VTEP source,
//! no outer fragments, the VXLAN port, the I flag, a known VNI, no inner
//! VLAN tag. The inner frame's source is learned, then it is delivered to
//! its local binding or flooded to the VNI's ports (never back into the
//! overlay: split horizon).

use super::flood::FloodScope;
use super::gateway_arp::{is_arp, Ingress};
use super::learn::Source;
use super::lookup::{look_up_all, MacPair};
use super::{destination_of, wire_drop, Env, Pipeline};
use crate::buf::{PacketBuf, RxCksum};
use crate::counters::DropReason;
use crate::io::PortIo;
use crate::offload;
use crate::tables::{MacDest, TunnelId};
use crate::types::{Mac, Vni, VniSlot};
use crate::wire::ethernet::{ETHERTYPE_QINQ, ETHERTYPE_VLAN, HEADER_LEN as ETH_LEN};
use crate::wire::ipv4::{Ipv4Packet, PROTO_ICMP, PROTO_UDP};
use crate::wire::udp::UdpPacket;
use crate::wire::vxlan::VxlanHeader;
use std::net::Ipv4Addr;

/// A VXLAN packet that passed every check: where its inner frame sits,
/// the inner MACs, and (after the burst's lookup stage) what the MAC table
/// says of them.
pub(super) struct Decap {
    /// The group it came to (counter entry, address); None: to our address.
    group: Option<(u16, Ipv4Addr)>,
    vtep: Ipv4Addr,
    inner_start: usize,
    inner_len: usize,
    macs: MacPair,
}

impl<B: PacketBuf> Pipeline<B> {
    /// Validates an IPv4 frame as VXLAN for us. `Err(None)` means "ICMP to
    /// our address", which is not VXLAN but not a drop either. `cksum` is
    /// the driver's verdict on the IPv4 checksum (Unknown: computed here).
    pub(super) fn check_vxlan(
        &mut self,
        env: &Env,
        frame: &[u8],
        cksum: RxCksum,
    ) -> Result<Decap, Option<DropReason>> {
        let u = &env.snap.underlay;
        let ip = Ipv4Packet::new_checked(&frame[ETH_LEN..])
            .map_err(|e| Some(wire_drop(e, DropReason::MalformedIpv4)))?;
        if !offload::ipv4_checksum_ok(cksum, || ip.verify_checksum()) {
            return Err(Some(DropReason::BadIpv4Checksum));
        }
        // To our address, or to one of our groups (a counter slot).
        let group = if ip.dst_addr() == u.ip {
            None
        } else if ip.dst_addr().is_multicast() {
            Some(Self::group_of(env, &frame[..6], ip.dst_addr(), ip.src_addr()).map_err(Some)?)
        } else {
            return Err(Some(DropReason::NotOurVtepIp));
        };
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
        // VNI 0 is no configurable VNI: unknown, as any unconfigured one.
        let slot = Vni::new(vxlan.vni())
            .and_then(|vni| self.vni_slot(env, vni))
            .ok_or(Some(DropReason::UnknownVni))?;
        if let Some(g) = group {
            // A group carries only the VNIs that flood to it.
            let vni_group = env.snap.vni(slot).and_then(|v| v.group);
            if vni_group
                .and_then(|i| env.snap.groups.get(i))
                .map(|p| p.addr)
                != Some(g.addr)
            {
                return Err(Some(DropReason::WrongGroup));
            }
        }
        let inner_start = ETH_LEN + ip.header_len() + 8 + 8;
        // The UDP length bounds the inner frame; anything after is padding.
        let inner_len = udp.payload().len() - 8;
        if inner_len < ETH_LEN {
            return Err(Some(DropReason::Truncated));
        }
        let inner = &frame[inner_start..inner_start + ETH_LEN];
        let inner_type = u16::from_be_bytes([inner[12], inner[13]]);
        if inner_type == ETHERTYPE_VLAN || inner_type == ETHERTYPE_QINQ {
            return Err(Some(DropReason::InnerVlanTag));
        }
        let mut dst = Mac::ZERO;
        let mut src = Mac::ZERO;
        dst.0.copy_from_slice(&inner[..6]);
        src.0.copy_from_slice(&inner[6..12]);
        Ok(Decap {
            group: group.map(|g| (g.counter, g.addr)),
            vtep: ip.src_addr(),
            inner_start,
            inner_len,
            macs: MacPair::new(slot, src, dst),
        })
    }

    /// Holds a checked VXLAN packet for the burst's lookup and act stages
    /// ([`Self::decap_staged`]); runs them early if the stage is full.
    #[inline]
    pub(super) fn stage<IO: PortIo<Buf = B>>(&mut self, io: &mut IO, env: &Env, d: Decap, pkt: B) {
        if self.staged.len() == self.staged.capacity() {
            self.decap_staged(io, env);
        }
        self.staged.push((pkt, d));
    }

    /// The burst's staged VXLAN packets: the lookup stage ([`super::lookup`]),
    /// then decapsulation and delivery.
    pub(super) fn decap_staged<IO: PortIo<Buf = B>>(&mut self, io: &mut IO, env: &Env) {
        let mut staged = std::mem::take(&mut self.staged);
        look_up_all(
            &mut staged,
            &self.shared.macs,
            env.snap,
            &self.counters.vnis,
            |d| &mut d.macs,
        );
        for (pkt, d) in staged.drain(..) {
            self.decapsulate(io, env, d, pkt);
        }
        self.staged = staged;
    }

    pub(super) fn decapsulate<IO: PortIo<Buf = B>>(
        &mut self,
        io: &mut IO,
        env: &Env,
        d: Decap,
        mut pkt: B,
    ) {
        let m = &d.macs;
        let Some(vni) = env.snap.vni(m.slot) else {
            return self.discard(DropReason::UnknownVni, pkt);
        };
        let tunnel = self.source_tunnel(d.vtep);
        if let Some(t) = tunnel {
            self.count_tunnel_rx(t, d.vtep, pkt.len());
            // A VTEP that sends to us is in use, even if none of its MACs
            // could be learned (limit hit): keep it, its id and its counters.
            self.shared.tunnels.touch(t, env.now);
        }
        if m.src.is_multicast() || m.src.is_zero() {
            return self.discard(DropReason::BadSourceMac, pkt);
        }
        if vni.learning {
            let source = Source::Tunnel {
                vtep: d.vtep,
                tunnel,
            };
            self.learn_from(env, m.slot, m.src, source, m.src_hit);
        }

        let padding = pkt.len() - d.inner_start - d.inner_len;
        if !pkt.trim(padding) || !pkt.adj(d.inner_start) {
            return self.discard(DropReason::Truncated, pkt);
        }
        let (slot, dst, dst_hit) = (m.slot, m.dst, m.dst_hit);
        self.count_decap(slot, d.inner_len);
        if let Some(group) = d.group {
            self.count_group_rx(group, d.inner_len);
        }

        // The VNI's gateway: its ARP, and frames to its MAC to route.
        let pkt = match vni.gateway {
            Some(gw) if is_arp(pkt.data()) => {
                match self.gateway_arp(io, env, Some((slot, vni)), gw, Ingress::Tunnel(tunnel), pkt)
                {
                    Some(pkt) => pkt,
                    None => return,
                }
            }
            Some(gw) if dst == gw.mac => {
                return self.route_in(io, env, gw, m.src, RxCksum::Unknown, pkt)
            }
            _ => pkt,
        };
        if dst.is_multicast() {
            return self.flood(io, env, slot, vni, None, FloodScope::PortsOnly, pkt);
        }
        match destination_of(env, slot, dst_hit) {
            Some(MacDest::Local { port, vlan }) => {
                self.deliver_local(io, env, crate::snapshot::Member { port, vlan }, pkt)
            }
            Some(MacDest::Remote { .. }) => self.discard(DropReason::SplitHorizon, pkt),
            None => self.flood(io, env, slot, vni, None, FloodScope::PortsOnly, pkt),
        }
    }

    /// The slot of a VXLAN VNI, remembered from the last packet (and the
    /// snapshot it was looked up in) instead of searched every time.
    #[inline]
    fn vni_slot(&mut self, env: &Env, vni: Vni) -> Option<VniSlot> {
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
}
