//! Flooding: a BUM or unknown-unicast frame goes to every member of its
//! VNI but the one it came from, and (from a physical port) to every VTEP
//! of the VNI's flood list (head-end replication) or once to its underlay
//! group (multicast core replication); a frame from a tunnel
//! goes to local ports only (split horizon). Copies are packets of their
//! own, each with its verdict.

use super::{Env, Pipeline};
use crate::buf::PacketBuf;
use crate::counters::DropReason;
use crate::events::Event;
use crate::io::PortIo;
use crate::offload;
use crate::snapshot::{Member, VniPlan, UNDERLAY_PORT};
use crate::tables::TunnelId;
use crate::types::{PortId, Vni, VniSlot};
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
    /// Encapsulates to the VTEP at `vtep`, entry `index` of VNI `slot`'s
    /// flood list: asks the control thread to track it if it has not heard
    /// of it.
    // As `flood`: distinct hot inputs.
    #[allow(clippy::too_many_arguments)]
    fn encap_to_addr<IO: PortIo<Buf = B>>(
        &mut self,
        io: &mut IO,
        env: &Env,
        slot: VniSlot,
        index: usize,
        vni: Vni,
        vtep: Ipv4Addr,
        hash: u32,
        pkt: B,
    ) {
        let tunnels = &*self.shared.tunnels;
        match self.flood_ids.get(tunnels, env.snap, slot, index, vtep) {
            Some(tunnel) => self.encap_to(io, env, vni, tunnel, hash, pkt),
            None => {
                // Keyed apart from MAC keys (tag bit 63 set, like theirs, but
                // the upper half zero, which no MAC key has).
                let key = (1 << 63) | u64::from(u32::from(vtep));
                self.notify(env, key, 0, Event::VtepMiss { vtep });
                self.discard(DropReason::VtepUnresolved, pkt);
            }
        }
    }

    /// Floods an untagged BUM or unknown-unicast frame to every member of
    /// the VNI except `ingress`, and to its remote VTEPs if `scope` allows.
    /// All but the last copy are fresh buffers; the last is the original.
    // The flood's inputs are all distinct and hot; a struct would only rename them.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn flood<IO: PortIo<Buf = B>>(
        &mut self,
        io: &mut IO,
        env: &Env,
        slot: VniSlot,
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
        // Multicast core replication: one copy to the VNI's group.
        let group = match scope {
            FloodScope::PortsAndVteps => vni.group.and_then(|i| env.snap.groups.get(i)),
            FloodScope::PortsOnly => None,
        };
        let local_count = ports.clone().count();
        let total = local_count + vteps.len() + usize::from(group.is_some());
        if total == 0 {
            return self.discard(DropReason::FloodNoTarget, pkt);
        }
        let vc = &self.counters.vnis[slot.index()];
        vc.flood_to_ports.add(local_count as u64);
        if total == 1 && local_count == 1 {
            // One local port, as for most decapsulated floods: the frame
            // itself, no copy.
            if let Some(&member) = ports.clone().next() {
                return self.deliver_local(io, env, member, pkt);
            }
        }
        vc.flood_to_vteps.add(vteps.len() as u64);
        let overlay = !vteps.is_empty() || group.is_some();
        if overlay {
            self.count_encap(slot, pkt.len());
        }
        let hash = if !overlay {
            0
        } else {
            let from = ingress.map_or(UNDERLAY_PORT, |m| m.port);
            offload::flow_hash(
                io.offloads(from),
                from == UNDERLAY_PORT,
                &pkt,
                vni.vni.get(),
            )
        };

        let mut original = Some(pkt);
        let mut remaining = total;
        // Each copy is a packet of its own, with its own verdict.
        let mut next_copy = |io: &mut IO, this: &mut Self, port: PortId| -> Option<B> {
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
        for (index, &vtep) in vteps.iter().enumerate() {
            if let Some(copy) = next_copy(io, self, UNDERLAY_PORT) {
                self.encap_to_addr(io, env, slot, index, vni.vni, vtep, hash, copy);
            }
        }
        if let Some(g) = group {
            if let Some(copy) = next_copy(io, self, UNDERLAY_PORT) {
                self.encap_to_group(io, env, vni.vni, g, hash, copy);
            }
        }
    }
}

/// One worker's tunnel ids of the flood lists' VTEPs, by VNI slot and list
/// entry, so a flood copy does not hash the address. An entry is checked
/// with [`crate::tables::tunnel::TunnelTable::holds`] before use (the id may
/// have been handed to another VTEP) and looked up again if it fails; a
/// slot's entries start over when the snapshot changes, as the
/// `RewriteCache`'s do.
#[derive(Default)]
pub(super) struct FloodIds {
    /// By VNI slot: the snapshot generation the entries belong to, and the
    /// ids by flood-list index (None: not looked up, or not tracked).
    slots: Vec<(u64, Vec<Option<TunnelId>>)>,
}

impl FloodIds {
    /// The tunnel of entry `index` (address `vtep`) of VNI `slot`'s flood
    /// list under `snap`; None if the control thread does not track it.
    #[inline]
    pub(super) fn get(
        &mut self,
        tunnels: &crate::tables::tunnel::TunnelTable,
        snap: &crate::snapshot::Snapshot,
        slot: VniSlot,
        index: usize,
        vtep: Ipv4Addr,
    ) -> Option<TunnelId> {
        let ids = self.ids(snap, slot);
        if let Some(Some(id)) = ids.get(index) {
            if tunnels.holds(*id, vtep.into()) {
                return Some(*id);
            }
        }
        let id = tunnels.id(vtep.into())?;
        if let Some(entry) = ids.get_mut(index) {
            *entry = Some(id);
        }
        Some(id)
    }

    /// The entries of VNI `slot`, emptied if they belong to another snapshot.
    #[inline]
    fn ids(
        &mut self,
        snap: &crate::snapshot::Snapshot,
        slot: VniSlot,
    ) -> &mut Vec<Option<TunnelId>> {
        let i = slot.index();
        if self.slots.len() <= i {
            self.grow(i);
        }
        let (generation, ids) = &mut self.slots[i];
        if *generation != snap.generation {
            Self::refill(ids, snap, slot);
            *generation = snap.generation;
        }
        ids
    }

    /// Makes room for slot `i` (configuration changes only).
    #[cold]
    fn grow(&mut self, i: usize) {
        self.slots.resize_with(i + 1, || (u64::MAX, Vec::new()));
    }

    /// Clears a slot's ids for a new snapshot (configuration changes only).
    #[cold]
    fn refill(ids: &mut Vec<Option<TunnelId>>, snap: &crate::snapshot::Snapshot, slot: VniSlot) {
        let n = snap.vni(slot).map_or(0, |v| v.flood_vteps.len());
        ids.clear();
        ids.resize(n, None);
    }
}
