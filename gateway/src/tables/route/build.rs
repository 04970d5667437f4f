//! Compiling a validated config's VRFs, interfaces and static routes into
//! a [`RouteTable`]: each interface's connected prefix, then the static
//! routes, their next hops resolved to the connected interface they are on.

use super::{IfaceId, IpPrefix, NextHop, RouteTable, VrfId};
use std::net::IpAddr;
use vtepgw_config::{Config, Ipv4Cidr, DEFAULT_VRF};

/// An L3 interface as [`RouteTable::from_config`] numbers it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct L3Iface {
    /// `vni<ID>` for a VNI's gateway interface, else the routed interface's name.
    pub name: String,
    pub vrf: VrfId,
    /// The gateway's address and the connected prefix.
    pub address: Ipv4Cidr,
}

/// VRF names by [`VrfId`]: `default`, then `[[vrf]]` in config order.
pub fn vrf_names(config: &Config) -> Vec<&str> {
    let mut names = vec![DEFAULT_VRF];
    for v in &config.vrf {
        if !names.contains(&v.name.as_str()) {
            names.push(&v.name);
        }
    }
    names
}

/// L3 interfaces by [`IfaceId`]: the VNIs' gateway interfaces in `[[vni]]`
/// order, then the routed `[[interface]]`s. One in an unknown VRF (which
/// validation refuses) is left out.
pub fn interfaces(config: &Config) -> Vec<L3Iface> {
    let vrfs = vrf_names(config);
    let vrf_id = |name: &str| vrfs.iter().position(|v| *v == name).map(|i| i as VrfId);
    let gateways = config.vni.iter().filter_map(|v| {
        let g = v.gateway.as_ref()?;
        Some((format!("vni{}", v.id), g.vrf.as_str(), g.address))
    });
    let routed = config
        .interface
        .iter()
        .map(|f| (f.name.clone(), f.vrf.as_str(), f.address));
    gateways
        .chain(routed)
        .filter_map(|(name, vrf, address)| {
            Some(L3Iface {
                name,
                vrf: vrf_id(vrf)?,
                address,
            })
        })
        .collect()
}

impl RouteTable {
    /// The routes of a validated config. What validation would refuse (an
    /// unknown VRF or interface, an unreachable next hop, a duplicate) is
    /// left out; where a static route and a connected prefix collide, the
    /// connected one stays.
    pub fn from_config(config: &Config) -> RouteTable {
        let vrfs = vrf_names(config);
        let ifaces = interfaces(config);
        let mut table = RouteTable::new(vrfs.len());
        for (id, f) in ifaces.iter().enumerate() {
            let net = IpPrefix::v4(f.address.addr, f.address.prefix_len);
            let hop = NextHop::Connected {
                iface: id as IfaceId,
            };
            let _ = table.insert(f.vrf, net, hop);
        }
        for r in &config.route {
            let Some(vrf) = vrfs.iter().position(|v| *v == r.vrf) else {
                continue;
            };
            let vrf = vrf as VrfId;
            let in_vrf = |f: &&L3Iface| f.vrf == vrf;
            let named = match &r.interface {
                Some(name) => match ifaces.iter().position(|f| in_vrf(&f) && f.name == *name) {
                    Some(id) => Some(id as IfaceId),
                    None => continue,
                },
                None => None,
            };
            let hop = match (r.next_hop, named) {
                (Some(addr), iface) => {
                    let on_link =
                        |(_, f): &(usize, &L3Iface)| in_vrf(f) && f.address.contains(addr);
                    let Some(iface) = iface.or_else(|| {
                        ifaces
                            .iter()
                            .enumerate()
                            .find(on_link)
                            .map(|(id, _)| id as IfaceId)
                    }) else {
                        continue;
                    };
                    NextHop::Via {
                        addr: IpAddr::V4(addr),
                        iface,
                    }
                }
                (None, Some(iface)) => NextHop::Connected { iface },
                (None, None) => continue,
            };
            let _ = table.insert(vrf, IpPrefix::v4(r.prefix.addr, r.prefix.len), hop);
        }
        table
    }
}
