//! Checks of the L3 gateway's configuration (issue 10): VRFs, the VNIs'
//! gateway interfaces, routed interfaces, ICMP and neighbour settings;
//! routes are checked in `l3_route.rs` against the connected prefixes
//! found here.

use crate::l3_model::{ArpSuppression, DEFAULT_VRF};
use crate::model::Config;
use crate::types::Ipv4Cidr;
use crate::validate::{port_name_problem, Report};
use std::collections::HashSet;
use std::net::Ipv4Addr;

/// A prefix the gateway is attached to: a VNI's gateway interface or a
/// routed interface.
pub(crate) struct Connected<'a> {
    /// `vni<ID>` or the routed interface's name.
    pub name: String,
    pub vrf: &'a str,
    pub subnet: Ipv4Cidr,
    /// Path of its `address` field.
    pub path: String,
    /// False when its address or VRF was refused: kept only so that
    /// routes through it are not refused a second time.
    pub ok: bool,
}

pub(crate) fn validate(config: &Config, r: &mut Report) {
    let vrfs = vrfs(config, r);
    let mut connected = Vec::new();
    gateways(config, &vrfs, &mut connected, r);
    interfaces(config, &vrfs, &mut connected, r);
    crate::l3_route::validate(config, &vrfs, &connected, r);
    static_neighbours(config, &connected, r);
    settings(config, r);
}

/// The VRF names in use: `default` and every `[[vrf]]`.
fn vrfs<'a>(config: &'a Config, r: &mut Report) -> HashSet<&'a str> {
    let mut names = HashSet::from([DEFAULT_VRF]);
    for (i, v) in config.vrf.iter().enumerate() {
        let path = format!("vrf[{i}].name");
        if let Some(why) = port_name_problem(&v.name) {
            r.error(path, why);
        } else if !names.insert(v.name.as_str()) && v.name != DEFAULT_VRF {
            r.error(path, format!("VRF \"{}\" is declared twice", v.name));
        }
    }
    names
}

/// Whether `vrf` exists; refuses it at `path` if not.
pub(crate) fn known_vrf(vrfs: &HashSet<&str>, vrf: &str, path: String, r: &mut Report) -> bool {
    let known = vrfs.contains(vrf);
    if !known {
        r.error(
            path,
            format!("VRF \"{}\" is not declared in [[vrf]]", vrf.escape_debug()),
        );
    }
    known
}

/// Why `ip` cannot be an interface or next-hop address, if it cannot.
pub(crate) fn host_problem(ip: Ipv4Addr) -> Option<String> {
    let reserved = ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_loopback()
        || ip.octets()[0] == 0
        || ip.octets()[0] >= 240;
    reserved.then(|| format!("{ip} is not a unicast host address"))
}

/// Why `c` cannot be an interface's address and connected prefix.
fn interface_address_problem(c: Ipv4Cidr) -> Option<String> {
    if c.prefix_len == 32 {
        return Some(format!(
            "{c}: a /32 leaves no other host on the link; give the subnet's length, e.g. /24"
        ));
    }
    host_problem(c.addr).or_else(|| {
        c.reserved_role(c.addr)
            .map(|role| format!("{} is the {role} address of {c}, not a host", c.addr))
    })
}

fn gateways<'a>(
    config: &'a Config,
    vrfs: &HashSet<&str>,
    connected: &mut Vec<Connected<'a>>,
    r: &mut Report,
) {
    for (i, v) in config.vni.iter().enumerate() {
        let at = |f: &str| format!("vni[{i}].{f}");
        let Some(g) = &v.gateway else {
            match v.arp_suppression {
                ArpSuppression::Off => {}
                ArpSuppression::Proxy => r.error(
                    at("arp_suppression"),
                    "proxy answers with the gateway MAC and routes what follows: the VNI needs a `gateway`",
                ),
                ArpSuppression::Reply => r.error(
                    at("arp_suppression"),
                    "reply answers from the gateway's neighbour table, which the VNI's gateway interface keeps: the VNI needs a `gateway`",
                ),
            }
            continue;
        };
        let mac = config.gateway_mac(g);
        if mac.is_multicast() || mac.is_zero() {
            r.error(at("gateway.mac"), format!("{mac} is not a unicast MAC"));
        } else if let Some(j) = v.static_macs.iter().position(|s| s.mac == mac) {
            // Frames to the gateway MAC are routed, never bridged to a VTEP.
            r.error(
                at("gateway.mac"),
                format!("{mac} is also vni[{i}].static_macs[{j}]; the gateway MAC must be its own"),
            );
        }
        let c = Connected {
            name: format!("vni{}", v.id),
            vrf: &g.vrf,
            subnet: g.address,
            path: at("gateway.address"),
            ok: known_vrf(vrfs, &g.vrf, at("gateway.vrf"), r),
        };
        connect(c, connected, r);
    }
}

/// Adds `c`, refused (not `ok`) when its address is not a host or its
/// address or prefix is already taken in its VRF.
fn connect<'a>(mut c: Connected<'a>, connected: &mut Vec<Connected<'a>>, r: &mut Report) {
    let same_vrf = || connected.iter().filter(|o| o.ok && o.vrf == c.vrf);
    let vrf = c.vrf.escape_debug();
    if let Some(why) = interface_address_problem(c.subnet) {
        r.error(&c.path, why);
        c.ok = false;
    } else if !c.ok {
        // Its VRF is refused: nothing to compare with.
    } else if let Some(o) = same_vrf().find(|o| o.subnet.addr == c.subnet.addr) {
        r.error(
            &c.path,
            format!(
                "{} is already the address of {} in VRF \"{vrf}\"",
                c.subnet.addr, o.name
            ),
        );
        c.ok = false;
    } else if let Some(o) = same_vrf().find(|o| overlap(o.subnet, c.subnet)) {
        r.error(
            &c.path,
            format!(
                "{} overlaps {}'s connected prefix {} in VRF \"{vrf}\"",
                c.subnet, o.name, o.subnet
            ),
        );
        c.ok = false;
    }
    connected.push(c);
}

/// Whether two subnets share an address.
fn overlap(a: Ipv4Cidr, b: Ipv4Cidr) -> bool {
    let shorter = if a.prefix_len < b.prefix_len { a } else { b };
    shorter.contains(a.addr) && shorter.contains(b.addr)
}

fn interfaces<'a>(
    config: &'a Config,
    vrfs: &HashSet<&str>,
    connected: &mut Vec<Connected<'a>>,
    r: &mut Report,
) {
    let mut names = HashSet::new();
    let mut links = HashSet::new();
    for (i, f) in config.interface.iter().enumerate() {
        let at = |field: &str| format!("interface[{i}].{field}");
        if let Some(why) = port_name_problem(&f.name) {
            r.error(at("name"), why);
        } else if let Some(id) = vni_name_id(&f.name) {
            r.error(
                at("name"),
                format!(
                    "\"{}\" is how routes name VNI {id}'s gateway interface",
                    f.name
                ),
            );
        } else if !names.insert(f.name.as_str()) {
            r.error(
                at("name"),
                format!("interface \"{}\" is configured twice", f.name),
            );
        }
        link(config, i, &mut links, r);
        let c = Connected {
            name: f.name.clone(),
            vrf: &f.vrf,
            subnet: f.address,
            path: at("address"),
            ok: known_vrf(vrfs, &f.vrf, at("vrf"), r),
        };
        connect(c, connected, r);
    }
}

/// The digits of `vni<digits>`, the name of a VNI's gateway interface.
fn vni_name_id(name: &str) -> Option<&str> {
    name.strip_prefix("vni")
        .filter(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
}

/// Checks interface `i`'s port, VLAN and MTU: the port must exist and the
/// VLAN (or the untagged frames) must not be bridged already.
fn link<'a>(config: &'a Config, i: usize, links: &mut HashSet<(&'a str, u16)>, r: &mut Report) {
    let Some(f) = config.interface.get(i) else {
        return;
    };
    let at = |field: &str| format!("interface[{i}].{field}");
    let Some(port) = config.port.iter().find(|p| p.name == f.port) else {
        r.error(
            at("port"),
            format!("no [[port]] is named \"{}\"", f.port.escape_debug()),
        );
        return;
    };
    let bridged = match f.vlan {
        Some(vlan) if !(1..=4094).contains(&vlan) => {
            r.error(at("vlan"), format!("{vlan} is not a VLAN id between 1 and 4094"));
            None
        }
        Some(vlan) => port
            .vlans
            .iter()
            .find(|b| b.vlan == vlan)
            .map(|b| format!("VLAN {vlan} of port \"{}\" is bridged to VNI {}", port.name, b.vni)),
        None => port.untagged_vni.map(|vni| {
            format!(
                "untagged frames of port \"{}\" are bridged to VNI {vni} (untagged_vni); give the interface a vlan",
                port.name
            )
        }),
    };
    if let Some(why) = bridged {
        r.error(at("vlan"), why);
    } else if !links.insert((port.name.as_str(), f.vlan.unwrap_or(0))) {
        r.error(
            at("vlan"),
            format!(
                "another interface already routes this VLAN of port \"{}\"",
                port.name
            ),
        );
    }
    if let Some(mtu) = f.mtu {
        if !(68..=port.mtu).contains(&mtu) {
            r.error(
                at("mtu"),
                format!(
                    "{mtu} is not between 68 and port \"{}\"'s mtu {}",
                    port.name, port.mtu
                ),
            );
        }
    }
}

/// `[icmp]` and `[neighbour]` ranges.
/// `[[static_neighbour]]`: on a connected link, a host of it other than
/// the gateway, a unicast MAC, once per (interface, address).
fn static_neighbours(config: &Config, connected: &[Connected], r: &mut Report) {
    let mut seen = HashSet::new();
    for (i, n) in config.static_neighbour.iter().enumerate() {
        let at = |f: &str| format!("static_neighbour[{i}].{f}");
        let Some(link) = connected.iter().find(|c| c.name == n.interface) else {
            r.error(
                at("interface"),
                format!(
                    "no L3 interface is named \"{}\" (vni<ID> for a VNI's gateway, or an [[interface]] name)",
                    n.interface.escape_debug()
                ),
            );
            continue;
        };
        if !link.subnet.contains(n.ip) {
            r.error(
                at("ip"),
                format!("{} is not on {}'s link {}", n.ip, n.interface, link.subnet),
            );
        } else if n.ip == link.subnet.addr {
            r.error(
                at("ip"),
                format!("{} is the gateway's own address on {}", n.ip, n.interface),
            );
        } else if let Some(role) = link.subnet.reserved_role(n.ip) {
            r.error(
                at("ip"),
                format!("{} is the {role} address of {}", n.ip, link.subnet),
            );
        } else if !seen.insert((n.interface.as_str(), n.ip)) {
            r.error(
                at("ip"),
                format!("{} on {} is configured twice", n.ip, n.interface),
            );
        }
        if n.mac.is_multicast() || n.mac.is_zero() {
            r.error(at("mac"), format!("{} is not a unicast MAC", n.mac));
        }
    }
}

fn settings(config: &Config, r: &mut Report) {
    let (icmp, n) = (&config.icmp, &config.neighbour);
    let ranges: [(&str, u64, u64, u64); 6] = [
        ("icmp.rate_per_sec", icmp.rate_per_sec.into(), 0, 1_000_000),
        ("icmp.burst", icmp.burst.into(), 1, 100_000),
        ("neighbour.ageing_secs", n.ageing_secs.into(), 1, 86_400),
        ("neighbour.retries", n.retries.into(), 1, 10),
        (
            "neighbour.retry_interval_ms",
            n.retry_interval_ms.into(),
            10,
            60_000,
        ),
        ("neighbour.queue_len", n.queue_len.into(), 0, 64),
    ];
    for (path, value, min, max) in ranges {
        if !(min..=max).contains(&value) {
            r.error(path, format!("{value} is not between {min} and {max}"));
        }
    }
}
