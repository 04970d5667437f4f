//! The data plane's compiled, immutable view of the configuration.
//!
//! The control side builds a new [`Snapshot`] for every accepted config and
//! publishes it atomically; workers pick it up between bursts. Everything a
//! packet needs is an array index or a binary search here, never a string
//! or a hash of config objects.

pub use crate::groups::GroupPlan;
use crate::tables::mac::MAX_VNI_SLOTS;
use crate::tables::MacDest;
use crate::types::{PortId, Vni, VniSlot};
use crate::wire::Mac;
use std::collections::HashMap;
use std::net::Ipv4Addr;
use vtepgw_config::{Config, Igmp};

/// Port index of the underlay port. Physical ports follow, in config order.
pub const UNDERLAY_PORT: PortId = PortId(0);

/// Marks "no VNI" in per-VLAN lookup arrays.
const NO_SLOT: u16 = u16::MAX;

/// VNI slots available (per-VNI counters are preallocated for each).
pub const VNI_SLOTS: usize = 4096;
const _: () = assert!(VNI_SLOTS <= MAX_VNI_SLOTS);

/// Underlay settings used per packet.
#[derive(Clone, Debug)]
pub struct UnderlayPlan {
    pub ip: Ipv4Addr,
    pub prefix_len: u8,
    pub gateway: Option<Ipv4Addr>,
    pub mac: Mac,
    pub udp_port: u16,
    pub src_port_min: u16,
    pub src_port_max: u16,
    pub ttl: u8,
    /// Outer TTL of VXLAN sent to a multicast group.
    pub multicast_ttl: u8,
    pub mtu: u16,
}

impl UnderlayPlan {
    /// Whether `ip` is on the underlay subnet (reachable without the gateway).
    pub fn on_link(&self, ip: Ipv4Addr) -> bool {
        let mask = u32::MAX
            .checked_shl(32 - u32::from(self.prefix_len))
            .unwrap_or(0);
        (u32::from(ip) ^ u32::from(self.ip)) & mask == 0
    }

    /// Whether `src` can be a remote VTEP (or an underlay neighbour): not our
    /// own address, nor one no host sends from (RFC 1122 §3.2.1.3): 0.0.0.0/8,
    /// loopback, multicast, 240.0.0.0/4 (with limited broadcast) and the
    /// underlay subnet's broadcast. Frames from such sources are never
    /// decapsulated, learned from or ARPed for.
    pub fn is_vtep_source(&self, src: Ipv4Addr) -> bool {
        let first = src.octets()[0];
        let host_bits = u32::MAX
            .checked_shr(u32::from(self.prefix_len))
            .unwrap_or(0);
        let subnet_broadcast =
            self.prefix_len <= 30 && self.on_link(src) && u32::from(src) & host_bits == host_bits;
        src != self.ip
            && first != 0
            && first < 240
            && !src.is_loopback()
            && !src.is_multicast()
            && !subnet_broadcast
    }

    /// The next hop towards a remote VTEP, if it is reachable at all.
    pub fn next_hop(&self, vtep: Ipv4Addr) -> Option<Ipv4Addr> {
        if self.on_link(vtep) {
            Some(vtep)
        } else {
            self.gateway
        }
    }
}

/// One port (index = position in [`Snapshot::ports`]).
#[derive(Clone, Debug)]
pub struct PortPlan {
    pub name: String,
    pub mac: Mac,
    pub mtu: u16,
    /// VNI slot by VLAN id; index 0 is untagged (and priority-tagged) frames.
    vlan_slots: Box<[u16]>,
}

impl PortPlan {
    /// The VNI slot of frames on `vlan` (None = untagged) of this port.
    #[inline]
    pub fn vni_slot(&self, vlan: Option<u16>) -> Option<VniSlot> {
        let s = self.vlan_slots[usize::from(vlan.unwrap_or(0) & 0xfff)];
        (s != NO_SLOT).then_some(VniSlot(s))
    }
}

/// A (port, VLAN) pair a VNI is bound to; `vlan` None is the untagged binding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Member {
    pub port: PortId,
    pub vlan: Option<u16>,
}

/// One VNI (index = its slot in [`Snapshot::vnis`]).
#[derive(Clone, Debug)]
pub struct VniPlan {
    pub vni: Vni,
    pub learning: bool,
    pub mac_limit: u32,
    pub ageing_secs: u32,
    /// Local bindings, flooded to for BUM.
    pub members: Vec<Member>,
    /// Head-end replication list.
    pub flood_vteps: Vec<Ipv4Addr>,
    /// Index in [`Snapshot::groups`] of the underlay group BUM goes to.
    pub group: Option<usize>,
    pub static_macs: Vec<(Mac, Ipv4Addr)>,
    /// The VNI's gateway interface: frames to its MAC are routed.
    pub gateway: Option<crate::l3::GatewayPlan>,
}

/// The whole compiled configuration.
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub generation: u64,
    pub underlay: UnderlayPlan,
    pub ports: Vec<PortPlan>,
    /// By slot; `None` for free slots.
    pub vnis: Vec<Option<VniPlan>>,
    /// (VNI, slot), sorted by VNI, for decapsulation.
    vni_index: Vec<(Vni, VniSlot)>,
    /// The same, as a radix table for the packet path.
    vni_lookup: crate::tables::vni_index::VniIndex,
    /// The VNIs' underlay groups, sorted by address (see [`crate::groups`]).
    pub groups: Vec<GroupPlan>,
    /// The MACs the underlay receives for them, sorted
    /// ([`crate::groups::receive_macs`]): the NIC filter's list, and what
    /// the packet path searches.
    pub group_macs: Vec<Mac>,
    /// Where the search for a free slot starts next time: slots are handed
    /// out round-robin so a removed VNI's slot is reused as late as possible
    /// (a worker still on an older snapshot may briefly use it).
    slot_cursor: u16,
    /// IGMP settings for the control thread's IGMP host. The config
    /// document itself is not kept here: the management plane holds the
    /// config of record, the data plane only what it compiled from it.
    pub igmp: Igmp,
    /// Interfaces, routes and neighbour settings of the L3 gateway.
    pub l3: crate::l3::L3Plan,
}

/// Why a config could not be compiled (beyond what config validation checks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildError(pub String);

impl std::fmt::Display for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BuildError {}

impl Snapshot {
    /// Compiles a validated config. `port_macs` has the underlay's MAC first,
    /// then each physical port's. VNIs keep the slots they had in `previous`,
    /// so learned MACs and counters survive config changes.
    pub fn build(
        config: &Config,
        port_macs: &[Mac],
        previous: Option<&Snapshot>,
        generation: u64,
    ) -> Result<Snapshot, BuildError> {
        if config.vni.len() > VNI_SLOTS {
            return Err(BuildError(format!(
                "vni: {} VNIs configured, at most {VNI_SLOTS} are supported",
                config.vni.len()
            )));
        }
        if config.port.len() + 1 > usize::from(u8::MAX) {
            return Err(BuildError(
                "port: at most 254 physical ports are supported".into(),
            ));
        }
        if port_macs.len() != config.port.len() + 1 {
            return Err(BuildError(format!(
                "internal: {} port MACs for {} ports",
                port_macs.len(),
                config.port.len() + 1
            )));
        }
        // Config validation keeps ids in 1..=2^24-1; this is where they
        // become typed VNIs.
        let vni_of = |id: u32| {
            Vni::new(id).ok_or_else(|| BuildError(format!("vni: {id} is not a 24-bit VNI")))
        };
        let (slots, slot_cursor) = assign_slots(config, previous);
        if config.interface.len() > crate::l3::MAX_ROUTED_IFACES {
            return Err(BuildError(format!(
                "interface: {} routed interfaces configured, at most {} are supported",
                config.interface.len(),
                crate::l3::MAX_ROUTED_IFACES
            )));
        }
        let (l3, gateways) = crate::l3::L3Plan::build(config, &slots, port_macs);
        let groups = crate::groups::plan(config, previous.map(|p| &p.groups[..]), port_macs[0])?;
        let u = &config.underlay;
        let underlay = UnderlayPlan {
            ip: u.address.addr,
            prefix_len: u.address.prefix_len,
            gateway: u.gateway,
            mac: port_macs[0],
            udp_port: u.udp_port,
            src_port_min: u.source_ports.min,
            src_port_max: u.source_ports.max,
            ttl: u.ttl,
            multicast_ttl: u.multicast_ttl,
            mtu: u.mtu,
        };

        let mut ports = vec![PortPlan {
            name: "underlay".into(),
            mac: port_macs[0],
            mtu: u.mtu,
            vlan_slots: vec![NO_SLOT; 4096].into_boxed_slice(),
        }];
        let mut vnis: Vec<Option<VniPlan>> = vec![None; VNI_SLOTS];
        for v in &config.vni {
            vnis[slots[&v.id].index()] = Some(VniPlan {
                vni: vni_of(v.id)?,
                learning: v.learning,
                mac_limit: v.mac_limit,
                ageing_secs: v.mac_ageing_secs,
                members: Vec::new(),
                flood_vteps: v.flood.clone(),
                group: v
                    .group
                    .and_then(|g| groups.binary_search_by_key(&g, |p| p.addr).ok()),
                static_macs: v
                    .static_macs
                    .iter()
                    .map(|s| (Mac(s.mac.0), s.vtep))
                    .collect(),
                gateway: gateways.get(&v.id).copied(),
            });
        }
        for (i, p) in config.port.iter().enumerate() {
            let index = PortId((i + 1) as u8);
            let mut vlan_slots = vec![NO_SLOT; 4096].into_boxed_slice();
            let bindings = p
                .untagged_vni
                .map(|vni| (None, vni))
                .into_iter()
                .chain(p.vlans.iter().map(|b| (Some(b.vlan), b.vni)));
            for (vlan, vni) in bindings {
                let slot = slots[&vni];
                vlan_slots[usize::from(vlan.unwrap_or(0))] = slot.0;
                if let Some(plan) = vnis[slot.index()].as_mut() {
                    plan.members.push(Member { port: index, vlan });
                }
            }
            ports.push(PortPlan {
                name: p.name.clone(),
                mac: port_macs[i + 1],
                mtu: p.mtu,
                vlan_slots,
            });
        }
        let mut vni_index = slots
            .into_iter()
            .map(|(id, slot)| Ok((vni_of(id)?, slot)))
            .collect::<Result<Vec<_>, BuildError>>()?;
        vni_index.sort_unstable();
        Ok(Snapshot {
            generation,
            underlay,
            ports,
            vnis,
            vni_lookup: crate::tables::vni_index::VniIndex::new(vni_index.iter().copied()),
            vni_index,
            group_macs: crate::groups::receive_macs(&groups),
            groups,
            slot_cursor,
            igmp: config.igmp.clone(),
            l3,
        })
    }

    /// Slots that hold a VNI here and held another VNI, or none, in `old`.
    /// Whoever counts per slot starts those counts over.
    pub fn slots_taken_over<'a>(&'a self, old: &'a Snapshot) -> impl Iterator<Item = VniSlot> + 'a {
        self.vni_index
            .iter()
            .filter(move |&&(vni, slot)| old.vni(slot).is_none_or(|o| o.vni != vni))
            .map(|&(_, slot)| slot)
    }

    /// The slot of a VNI carried in a VXLAN header.
    #[inline]
    pub fn vni_slot(&self, vni: Vni) -> Option<VniSlot> {
        self.vni_lookup.get(vni)
    }

    /// Whether a MAC table destination is still valid for VNI `slot` here:
    /// a local (port, VLAN) must still be bound to that VNI (a live rebind
    /// must not send a VNI's frames onto another VNI's segment).
    #[inline]
    pub fn serves(&self, slot: VniSlot, dest: &MacDest) -> bool {
        match *dest {
            MacDest::Local { port, vlan } => {
                self.ports
                    .get(usize::from(port))
                    .and_then(|p| p.vni_slot(vlan))
                    == Some(slot)
            }
            MacDest::Remote { .. } => true,
        }
    }

    /// The VNI in a slot.
    #[inline]
    pub fn vni(&self, slot: VniSlot) -> Option<&VniPlan> {
        self.vnis.get(slot.index())?.as_ref()
    }

    /// The group at `addr`, if a VNI uses it.
    #[inline]
    pub fn group(&self, addr: Ipv4Addr) -> Option<&GroupPlan> {
        let i = self.groups.binary_search_by_key(&addr, |g| g.addr).ok()?;
        self.groups.get(i)
    }

    /// (VNI, slot) of every configured VNI, by VNI.
    pub fn vni_slots(&self) -> &[(Vni, VniSlot)] {
        &self.vni_index
    }
}

/// Keeps each VNI's previous slot; new VNIs take free slots round-robin
/// from the previous snapshot's cursor. Returns the slots and the new cursor.
fn assign_slots(config: &Config, previous: Option<&Snapshot>) -> (HashMap<u32, VniSlot>, u16) {
    let mut slots = HashMap::new();
    let mut used = vec![false; VNI_SLOTS];
    for v in &config.vni {
        let previous_slot = Vni::new(v.id).and_then(|vni| previous?.vni_slot(vni));
        if let Some(slot) = previous_slot {
            slots.insert(v.id, slot);
            used[slot.index()] = true;
        }
    }
    let mut cursor = previous.map_or(0, |p| usize::from(p.slot_cursor));
    for v in &config.vni {
        if slots.contains_key(&v.id) {
            continue;
        }
        // build() checked that there are enough slots, so this ends.
        while used[cursor] {
            cursor = (cursor + 1) % VNI_SLOTS;
        }
        used[cursor] = true;
        slots.insert(v.id, VniSlot(cursor as u16));
        cursor = (cursor + 1) % VNI_SLOTS;
    }
    (slots, cursor as u16)
}
