//! Static routes, checked against the connected prefixes of their VRF: a
//! next hop must be on a connected link (no recursive routes), and an
//! `interface` must be in the route's VRF.

use crate::l3::{host_problem, known_vrf, Connected};
use crate::l3_model::{Ipv4Prefix, StaticRoute};
use crate::model::Config;
use crate::validate::Report;
use std::collections::{HashMap, HashSet};
use std::net::Ipv4Addr;

const UNREACHABLE: &str = "unreachable";

pub(crate) fn validate(
    config: &Config,
    vrfs: &HashSet<&str>,
    connected: &[Connected<'_>],
    r: &mut Report,
) {
    let mut seen = HashMap::new();
    for (i, rt) in config.route.iter().enumerate() {
        if !known_vrf(vrfs, &rt.vrf, format!("route[{i}].vrf"), r) {
            continue;
        }
        let in_vrf: Vec<&Connected> = connected
            .iter()
            .filter(|c| c.ok && c.vrf == rt.vrf)
            .collect();
        prefix(rt, i, &in_vrf, &mut seen, r);
        if rt.next_hop.is_none() && rt.interface.is_none() {
            r.error(
                format!("route[{i}]"),
                "a route needs a next_hop, an interface, or both",
            );
            continue;
        }
        let via = match &rt.interface {
            Some(name) => match interface(rt, name, &in_vrf, connected) {
                Ok(c) => Some(c),
                Err(why) => {
                    if let Some(why) = why {
                        r.error(format!("route[{i}].interface"), why);
                    }
                    continue;
                }
            },
            None => None,
        };
        if let Some(hop) = rt.next_hop {
            // A hop on a link refused for its own fields is not refused again.
            let refused_link = connected.iter().any(|c| !c.ok && c.subnet.contains(hop));
            match next_hop_problem(hop, rt, via, &in_vrf) {
                Some(why) if !(refused_link && why.starts_with(UNREACHABLE)) => {
                    r.error(format!("route[{i}].next_hop"), why);
                }
                _ => {}
            }
        }
    }
}

/// Refuses host bits, a second route to the same prefix in a VRF and a
/// route that would shadow a connected prefix.
fn prefix<'a>(
    rt: &'a StaticRoute,
    i: usize,
    in_vrf: &[&Connected<'_>],
    seen: &mut HashMap<(&'a str, Ipv4Addr, u8), usize>,
    r: &mut Report,
) {
    let p = rt.prefix;
    let path = format!("route[{i}].prefix");
    if p.has_host_bits() {
        r.error(
            path,
            format!(
                "{p} has host bits set; the network is {}/{}",
                p.network(),
                p.len
            ),
        );
    } else if let Some(j) = seen.insert((rt.vrf.as_str(), p.addr, p.len), i) {
        r.error(
            path,
            format!(
                "route[{j}] already goes to {p} in VRF \"{}\"",
                rt.vrf.escape_debug()
            ),
        );
    } else if let Some(c) = in_vrf.iter().find(|c| is_connected_prefix(c, p)) {
        r.error(
            path,
            format!(
                "{p} is {}'s connected prefix; a static route would shadow the interface",
                c.name
            ),
        );
    }
}

fn is_connected_prefix(c: &Connected<'_>, p: Ipv4Prefix) -> bool {
    let net = Ipv4Prefix {
        addr: c.subnet.addr,
        len: c.subnet.prefix_len,
    };
    net.len == p.len && net.network() == p.addr
}

/// The connected interface a route names, or why not (`None`: the
/// interface exists but its own fields were refused already).
fn interface<'c, 'a>(
    rt: &StaticRoute,
    name: &str,
    in_vrf: &[&'c Connected<'a>],
    all: &'c [Connected<'a>],
) -> Result<&'c Connected<'a>, Option<String>> {
    if let Some(c) = in_vrf.iter().find(|c| c.name == name) {
        return Ok(c);
    }
    if let Some(c) = all.iter().find(|c| c.name == name) {
        if !c.ok {
            return Err(None);
        }
        return Err(Some(format!(
            "interface \"{name}\" is in VRF \"{}\", not \"{}\"",
            c.vrf.escape_debug(),
            rt.vrf.escape_debug()
        )));
    }
    Err(Some(format!(
        "no interface \"{}\": name a routed [[interface]], or vni<ID> for a VNI's gateway",
        name.escape_debug()
    )))
}

/// Why `hop` cannot be the next hop: not a host, our own address, or not
/// on a connected link of the VRF (of `via`, when the route names one).
fn next_hop_problem(
    hop: Ipv4Addr,
    rt: &StaticRoute,
    via: Option<&Connected<'_>>,
    in_vrf: &[&Connected<'_>],
) -> Option<String> {
    if let Some(why) = host_problem(hop) {
        return Some(why);
    }
    if let Some(c) = in_vrf.iter().find(|c| c.subnet.addr == hop) {
        return Some(format!("{hop} is this gateway's own address on {}", c.name));
    }
    let link = match via {
        Some(c) => Some(c).filter(|c| c.subnet.contains(hop)),
        None => in_vrf.iter().copied().find(|c| c.subnet.contains(hop)),
    };
    let Some(link) = link else {
        let scope = match via {
            Some(c) => format!("{}'s prefix {}", c.name, c.subnet),
            None => format!("any connected prefix of VRF \"{}\"", rt.vrf.escape_debug()),
        };
        return Some(format!(
            "{UNREACHABLE}: {hop} is not inside {scope} (a next hop must be on a connected link)"
        ));
    };
    link.subnet
        .reserved_role(hop)
        .map(|role| format!("{hop} is the {role} address of {}, not a host", link.subnet))
}
