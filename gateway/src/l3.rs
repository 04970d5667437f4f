//! The L3 gateway's compiled plan (issue 10): the L3 interfaces (each
//! VNI's gateway interface), the per-VRF routes and the neighbour and ICMP
//! settings, built with the [`Snapshot`](crate::snapshot::Snapshot) from a
//! validated config and never changed after.

pub use crate::tables::route::{IfaceId, NextHop, RouteTable, VrfId};
use crate::types::VniSlot;
use crate::wire::Mac;
use std::collections::HashMap;
use std::net::Ipv4Addr;
use vtepgw_config::{ArpSuppression, Config};

/// Routed interfaces (`[[interface]]`) at most; their counters follow the
/// VNIs' in `WorkerCounters::routed`.
pub const MAX_ROUTED_IFACES: usize = 64;

/// An L3 interface as the packet path that enters it needs it: a VNI's
/// gateway interface (in its `VniPlan`) or a routed port's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GatewayPlan {
    pub iface: IfaceId,
    pub vrf: VrfId,
    pub ip: Ipv4Addr,
    pub mac: Mac,
    /// Whether and how the gateway answers ARP for the VNI's hosts.
    pub arp_suppression: ArpSuppression,
    /// Its entry in `WorkerCounters::routed`.
    pub counter: usize,
}

/// What an L3 interface is attached to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attach {
    /// A VNI: frames go in and out through its L2 path.
    Vni(VniSlot),
    /// A physical port, or a VLAN on one: routed, not bridged.
    Port(crate::snapshot::Member),
}

/// One L3 interface (index = its [`IfaceId`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IfacePlan {
    /// `vni<ID>`: metrics, API and routes name it so.
    pub name: String,
    pub vrf: VrfId,
    /// The gateway's address on the link, and the link's prefix.
    pub ip: Ipv4Addr,
    pub prefix_len: u8,
    pub mac: Mac,
    /// IP MTU of the link (the VNI's overlay MTU, or the routed
    /// interface's).
    pub mtu: u16,
    pub attach: Attach,
    /// Its entry in `WorkerCounters::routed` (a VNI's slot, or after the
    /// VNIs for routed interfaces).
    pub counter: usize,
}

impl IfacePlan {
    /// The interface as its ingress path sees it.
    pub fn ingress(&self, id: IfaceId) -> GatewayPlan {
        GatewayPlan {
            iface: id,
            vrf: self.vrf,
            ip: self.ip,
            mac: self.mac,
            arp_suppression: ArpSuppression::Off,
            counter: self.counter,
        }
    }

    /// Whether `ip` is on the interface's link.
    #[inline]
    pub fn on_link(&self, ip: Ipv4Addr) -> bool {
        let mask = vtepgw_config::prefix_mask(self.prefix_len);
        (u32::from(ip) ^ u32::from(self.ip)) & mask == 0
    }

    /// Whether `ip` can be a neighbour on the link: on it, not the
    /// gateway's own address, not the network or broadcast address (for
    /// prefixes that have them).
    #[inline]
    pub fn is_neighbour(&self, ip: Ipv4Addr) -> bool {
        let host = !vtepgw_config::prefix_mask(self.prefix_len);
        let bits = u32::from(ip) & host;
        self.on_link(ip) && ip != self.ip && (self.prefix_len >= 31 || (bits != 0 && bits != host))
    }
}

/// `[neighbour]`, as the packet path uses it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NeighbourPlan {
    pub ageing_secs: u32,
    pub retries: u8,
    pub retry_interval_ms: u32,
    pub queue_len: u16,
}

/// The whole L3 plan.
#[derive(Clone, Debug)]
pub struct L3Plan {
    /// VRF names by [`VrfId`].
    pub vrf_names: Vec<String>,
    pub routes: RouteTable,
    /// By [`IfaceId`]; None only for an interface a validated config
    /// cannot have (kept so that ids stay the route table's).
    pub ifaces: Vec<Option<IfacePlan>>,
    /// The routed interfaces' links: what a frame on a port's unbridged
    /// VLAN is checked against (a few entries, not every interface).
    routed_links: Vec<(crate::snapshot::Member, IfaceId)>,
    pub neighbour: NeighbourPlan,
    pub icmp: vtepgw_config::Icmp,
    /// `[[static_neighbour]]`: (interface, address, MAC).
    pub static_neighbours: Vec<(IfaceId, Ipv4Addr, Mac)>,
}

impl L3Plan {
    /// The plan of a validated config whose VNIs have `slots`, on ports
    /// whose MACs are `port_macs` (underlay first); and each VNI's
    /// gateway, by VNI id.
    pub fn build(
        config: &Config,
        slots: &HashMap<u32, VniSlot>,
        port_macs: &[Mac],
    ) -> (L3Plan, HashMap<u32, GatewayPlan>) {
        let mut ifaces = Vec::new();
        let mut gateways = HashMap::new();
        let mut routed = 0;
        // VNIs by id as written in an interface name (`vni<ID>`).
        let vni_index: HashMap<String, (usize, &vtepgw_config::VniConfig)> = config
            .vni
            .iter()
            .enumerate()
            .map(|(i, v)| (v.id.to_string(), (i, v)))
            .collect();
        // Numbered as the route table numbers them.
        for (id, f) in crate::tables::route::interfaces(config)
            .into_iter()
            .enumerate()
        {
            let iface = id as IfaceId;
            if let Some(r) = config.interface.iter().find(|r| r.name == f.name) {
                let Some(p) = config.port.iter().position(|p| p.name == r.port) else {
                    ifaces.push(None);
                    continue;
                };
                let port = crate::types::PortId((p + 1) as u8);
                ifaces.push(Some(IfacePlan {
                    name: f.name,
                    vrf: f.vrf,
                    ip: f.address.addr,
                    prefix_len: f.address.prefix_len,
                    mac: port_macs.get(p + 1).copied().unwrap_or(Mac::ZERO),
                    mtu: r.mtu.unwrap_or(config.port[p].mtu),
                    attach: Attach::Port(crate::snapshot::Member { port, vlan: r.vlan }),
                    counter: crate::snapshot::VNI_SLOTS + routed,
                }));
                routed += 1;
                continue;
            }
            let by_name = f.name.strip_prefix("vni").and_then(|id| vni_index.get(id));
            let Some(&(index, vni)) = by_name else {
                ifaces.push(None);
                continue;
            };
            let (Some(g), Some(&slot)) = (vni.gateway.as_ref(), slots.get(&vni.id)) else {
                ifaces.push(None);
                continue;
            };
            let mac = Mac(config.gateway_mac(g).0);
            gateways.insert(
                vni.id,
                GatewayPlan {
                    iface,
                    vrf: f.vrf,
                    ip: f.address.addr,
                    mac,
                    arp_suppression: vni.arp_suppression,
                    counter: slot.index(),
                },
            );
            ifaces.push(Some(IfacePlan {
                name: f.name,
                vrf: f.vrf,
                ip: f.address.addr,
                prefix_len: f.address.prefix_len,
                mac,
                mtu: vtepgw_config::mtu::overlay_mtu(config, index),
                attach: Attach::Vni(slot),
                counter: slot.index(),
            }));
        }
        let static_neighbours = config
            .static_neighbour
            .iter()
            .filter_map(|n| {
                let id = ifaces
                    .iter()
                    .position(|f| f.as_ref().is_some_and(|f| f.name == n.interface))?;
                Some((id as IfaceId, n.ip, Mac(n.mac.0)))
            })
            .collect();
        let routed_links = ifaces
            .iter()
            .enumerate()
            .filter_map(|(id, f)| match f.as_ref()?.attach {
                Attach::Port(m) => Some((m, id as IfaceId)),
                Attach::Vni(_) => None,
            })
            .collect();
        let n = &config.neighbour;
        let plan = L3Plan {
            routed_links,
            static_neighbours,
            vrf_names: crate::tables::route::vrf_names(config)
                .into_iter()
                .map(String::from)
                .collect(),
            routes: RouteTable::from_config(config),
            ifaces,
            neighbour: NeighbourPlan {
                ageing_secs: n.ageing_secs,
                retries: n.retries,
                retry_interval_ms: n.retry_interval_ms,
                queue_len: n.queue_len,
            },
            icmp: config.icmp.clone(),
        };
        (plan, gateways)
    }

    /// Interface `id`.
    #[inline]
    pub fn iface(&self, id: IfaceId) -> Option<&IfacePlan> {
        self.ifaces.get(usize::from(id))?.as_ref()
    }

    /// The routed interface on `port`, VLAN `vlan` (None: untagged).
    #[inline]
    pub fn routed_on(&self, port: crate::types::PortId, vlan: Option<u16>) -> Option<IfaceId> {
        let m = crate::snapshot::Member { port, vlan };
        self.routed_links
            .iter()
            .find(|&&(link, _)| link == m)
            .map(|&(_, id)| id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iface(addr: [u8; 4], len: u8) -> IfacePlan {
        IfacePlan {
            name: "vni100".into(),
            vrf: 0,
            ip: Ipv4Addr::from(addr),
            prefix_len: len,
            mac: Mac([2, 0x76, 0, 0, 0, 1]),
            mtu: 1450,
            attach: Attach::Vni(VniSlot(0)),
            counter: 0,
        }
    }

    #[test]
    fn neighbours_are_hosts_of_the_link_other_than_the_gateway() {
        let f = iface([203, 0, 113, 254], 24);
        assert!(f.is_neighbour(Ipv4Addr::new(203, 0, 113, 1)));
        for not in [
            [203, 0, 113, 254],
            [203, 0, 113, 0],
            [203, 0, 113, 255],
            [198, 51, 100, 1],
        ] {
            assert!(!f.is_neighbour(Ipv4Addr::from(not)), "{not:?}");
        }
        // A /31 has no network or broadcast address (RFC 3021).
        let p2p = iface([192, 0, 2, 0], 31);
        assert!(p2p.is_neighbour(Ipv4Addr::new(192, 0, 2, 1)));
    }
}
