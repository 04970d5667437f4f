//! Frames from physical ports, in the stages of a burst: classify (VLAN
//! to VNI, untag), look up every frame's source and destination MAC, then
//! learn and forward: locally, encapsulated to the VTEP that owns the
//! destination, or flooded (local ports and head-end replication); to the
//! VNI's gateway ([`super::gateway_arp`], [`super::route`]).

use super::flood::FloodScope;
use super::gateway_arp::{is_arp, Ingress};
use super::learn::Source;
use super::lookup::{look_up_all, MacPair};
use super::{destination_of, wire_drop, Env, Pipeline};
use crate::buf::{remove_gap, PacketBuf};
use crate::counters::DropReason;
use crate::io::PortIo;
use crate::offload;
use crate::snapshot::Member;
use crate::tables::MacDest;
use crate::types::PortId;
use crate::wire::ethernet::parse_l2;

/// A frame whose VLAN mapped to a VNI, untagged, waiting for the burst's
/// lookup stage: its VNI slot, where it came in, its MACs and what the MAC
/// table says of them.
pub(super) struct Bridged {
    ingress: Member,
    macs: MacPair,
}

impl<B: PacketBuf> Pipeline<B> {
    pub(super) fn handle_physical<IO: PortIo<Buf = B>>(
        &mut self,
        io: &mut IO,
        env: &Env,
        port: PortId,
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
            // Not bridged: a routed interface, or nothing.
            return match env.snap.l3.routed_on(port, vlan) {
                Some(id) => self.routed_port(io, env, id, Member { port, vlan }, &l2, pkt),
                None => self.discard(DropReason::UnknownVlan, pkt),
            };
        };
        if env.snap.vni(slot).is_none() {
            return self.discard(DropReason::UnknownVlan, pkt);
        }
        if l2.src.is_multicast() || l2.src.is_zero() {
            return self.discard(DropReason::BadSourceMac, pkt);
        }
        // Inside the VNI frames travel untagged; egress adds what it needs.
        if l2.vlan.is_some() && !remove_gap(&mut pkt, 12, 4) {
            return self.discard(DropReason::Truncated, pkt);
        }
        let b = Bridged {
            ingress: Member { port, vlan },
            macs: MacPair::new(slot, l2.src, l2.dst),
        };
        if self.staged_bridge.len() == self.staged_bridge.capacity() {
            self.bridge_staged(io, env);
        }
        self.staged_bridge.push((pkt, b));
    }

    /// The burst's staged frames: the lookup stage ([`super::lookup`]), then
    /// learning and forwarding.
    pub(super) fn bridge_staged<IO: PortIo<Buf = B>>(&mut self, io: &mut IO, env: &Env) {
        let mut staged = std::mem::take(&mut self.staged_bridge);
        look_up_all(
            &mut staged,
            &self.shared.macs,
            env.snap,
            &self.counters.vnis,
            |b| &mut b.macs,
        );
        for (pkt, b) in staged.drain(..) {
            self.bridge(io, env, b, pkt);
        }
        self.staged_bridge = staged;
    }

    /// Learns a staged frame's source and forwards it: to its local
    /// destination, into the tunnel of a remote one, or flooded.
    fn bridge<IO: PortIo<Buf = B>>(&mut self, io: &mut IO, env: &Env, b: Bridged, pkt: B) {
        let (m, ingress) = (&b.macs, b.ingress);
        let slot = m.slot;
        let Some(vni) = env.snap.vni(slot) else {
            return self.discard(DropReason::UnknownVlan, pkt);
        };
        if vni.learning {
            let source = Source::Port {
                port: ingress.port,
                vlan: ingress.vlan,
            };
            self.learn_from(env, slot, m.src, source, m.src_hit);
        }
        let (dst, dst_hit) = (m.dst, m.dst_hit);
        // The VNI's gateway: its ARP, and frames to its MAC to route.
        let pkt = match vni.gateway {
            Some(gw) if is_arp(pkt.data()) => {
                match self.gateway_arp(io, env, Some((slot, vni)), gw, Ingress::Port(ingress), pkt)
                {
                    Some(pkt) => pkt,
                    None => return,
                }
            }
            Some(gw) if dst == gw.mac => {
                let cksum = offload::rx_ipv4_verdict(io.offloads(ingress.port), &pkt);
                return self.route_in(io, env, gw, m.src, cksum, pkt);
            }
            _ => pkt,
        };
        if dst.is_multicast() {
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
        match destination_of(env, slot, dst_hit) {
            Some(MacDest::Local { port, vlan }) => {
                let egress = Member { port, vlan };
                if egress == ingress {
                    self.discard(DropReason::SameSegment, pkt);
                } else {
                    self.deliver_local(io, env, egress, pkt);
                }
            }
            Some(MacDest::Remote { tunnel }) => {
                self.encap_unicast(io, env, slot, vni, tunnel, ingress.port, pkt)
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
