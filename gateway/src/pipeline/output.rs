//! Where frames leave: a local port (tagged as its binding says), a tunnel
//! to a remote VTEP, or all of a VNI's members at once (flooding).
//!
//! Frames arrive here untagged: the bridge path strips the ingress tag and
//! decapsulated frames never carry one.

use super::encap::{ENCAP_LEN, OUTER_IP_OVERHEAD};
use super::{Env, Pipeline};
use crate::buf::PacketBuf;
use crate::counters::DropReason;
use crate::events::Event;
use crate::io::PortIo;
use crate::offload;
use crate::snapshot::{Member, VniPlan, UNDERLAY_PORT};
use crate::tables::TunnelId;
use crate::wire::ethernet::HEADER_LEN as ETH_LEN;
use crate::wire::flow::source_port;
use std::net::Ipv4Addr;

/// Where a flood goes besides local ports.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum FloodScope {
    /// Local ports and every VTEP of the replication list (from a physical port).
    PortsAndVteps,
    /// Local ports only (from a tunnel: split horizon).
    PortsOnly,
}

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
            return self.drop_packet(DropReason::MtuExceeded);
        }
        if let Some(vid) = member.vlan {
            if !offload::push_vlan(io.offloads(member.port), &mut pkt, vid) {
                return self.drop_packet(DropReason::NoHeadroom);
            }
        }
        self.send(io, member.port, pkt);
    }

    /// Encapsulates an untagged frame of VNI `vni` into `tunnel`; `hash`
    /// is its flow hash.
    pub(super) fn encap_to<IO: PortIo<Buf = B>>(
        &mut self,
        io: &mut IO,
        env: &Env,
        vni: u32,
        tunnel: TunnelId,
        hash: u32,
        mut pkt: B,
    ) {
        let u = &env.snap.underlay;
        let tunnels = &*self.shared.tunnels;
        let state = tunnels.state(tunnel);
        let Some(rewrite) = self.rewrites.get(tunnels, tunnel, state, env.snap) else {
            return self.drop_packet(DropReason::VtepUnresolved);
        };
        let inner_len = pkt.len();
        if inner_len + OUTER_IP_OVERHEAD > usize::from(u.mtu) {
            return self.drop_packet(DropReason::MtuExceeded);
        }
        tunnels.touch(tunnel, env.now);
        if !pkt.prepend(ENCAP_LEN) {
            return self.drop_packet(DropReason::NoHeadroom);
        }
        self.ip_ident = self.ip_ident.wrapping_add(1);
        let sport = source_port(hash, u.src_port_min, u.src_port_max);
        let vtep = rewrite.vtep;
        if let Some(out) = pkt.data_mut().first_chunk_mut::<ENCAP_LEN>() {
            rewrite.emit(out, inner_len, self.ip_ident, sport, vni);
        }
        offload::offload_outer_ipv4_cksum(io.offloads(UNDERLAY_PORT), &mut pkt);
        self.count_tunnel_tx(tunnel, vtep, pkt.len());
        self.send(io, UNDERLAY_PORT, pkt);
    }

    /// Encapsulates to the VTEP at `vtep` (a flood-list address): asks the
    /// control thread to track it if it has not heard of it.
    fn encap_to_addr<IO: PortIo<Buf = B>>(
        &mut self,
        io: &mut IO,
        env: &Env,
        vni: u32,
        vtep: Ipv4Addr,
        hash: u32,
        pkt: B,
    ) {
        match self.shared.tunnels.id(vtep.into()) {
            Some(tunnel) => self.encap_to(io, env, vni, tunnel, hash, pkt),
            None => {
                // Keyed apart from MAC keys (tag bit 63 set, like theirs, but
                // the upper half zero, which no MAC key has).
                let key = (1 << 63) | u64::from(u32::from(vtep));
                self.notify(env, key, 0, Event::VtepMiss { vtep });
                self.drop_packet(DropReason::VtepUnresolved);
            }
        }
    }

    /// Encapsulates one frame from physical port `ingress` to one VTEP,
    /// counting it for the VNI.
    // The inputs are all distinct and hot; a struct would only rename them.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn encap_unicast<IO: PortIo<Buf = B>>(
        &mut self,
        io: &mut IO,
        env: &Env,
        slot: u16,
        vni: &VniPlan,
        tunnel: TunnelId,
        ingress: u8,
        pkt: B,
    ) {
        self.count_encap(slot, pkt.len());
        let hash = offload::flow_hash(
            io.offloads(ingress),
            ingress == UNDERLAY_PORT,
            &pkt,
            vni.vni,
        );
        self.encap_to(io, env, vni.vni, tunnel, hash, pkt);
    }

    /// Floods an untagged BUM or unknown-unicast frame to every member of
    /// the VNI except `ingress`, and to its remote VTEPs if `scope` allows.
    /// All but the last copy are [`PortIo::flood_copy`]s (sharing the
    /// payload where the port allows); the last is the original.
    // The flood's inputs are all distinct and hot; a struct would only rename them.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn flood<IO: PortIo<Buf = B>>(
        &mut self,
        io: &mut IO,
        env: &Env,
        slot: u16,
        vni: &VniPlan,
        ingress: Option<Member>,
        scope: FloodScope,
        pkt: B,
    ) {
        let ports = vni.members.iter().filter(|&&m| Some(m) != ingress);
        let vteps: &[Ipv4Addr] = match scope {
            FloodScope::PortsAndVteps => &vni.flood_vteps,
            FloodScope::PortsOnly => &[],
        };
        let local_count = ports.clone().count();
        let total = local_count + vteps.len();
        if total == 0 {
            return self.drop_packet(DropReason::FloodNoTarget);
        }
        let vc = &self.counters.vnis[usize::from(slot)];
        vc.flood_to_ports.add(local_count as u64);
        vc.flood_to_vteps.add(vteps.len() as u64);
        if !vteps.is_empty() {
            self.count_encap(slot, pkt.len());
        }
        let hash = if vteps.is_empty() {
            0
        } else {
            let from = ingress.map_or(UNDERLAY_PORT, |m| m.port);
            offload::flow_hash(io.offloads(from), from == UNDERLAY_PORT, &pkt, vni.vni)
        };

        let mut original = Some(pkt);
        let mut remaining = total;
        // Each copy is a packet of its own, with its own verdict.
        let mut next_copy = |io: &mut IO, this: &mut Self, port: u8| -> Option<B> {
            remaining -= 1;
            if remaining == 0 {
                return original.take();
            }
            let src = original.as_ref()?;
            this.ledger.entered += 1;
            let copy = io.flood_copy(src, port);
            if copy.is_none() {
                this.drop_packet(DropReason::NoMbuf);
            }
            copy
        };
        for &member in ports {
            if let Some(copy) = next_copy(io, self, member.port) {
                self.deliver_local(io, env, member, copy);
            }
        }
        for &vtep in vteps {
            if let Some(copy) = next_copy(io, self, UNDERLAY_PORT) {
                self.encap_to_addr(io, env, vni.vni, vtep, hash, copy);
            }
        }
    }
}
