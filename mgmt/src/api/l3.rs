//! Read-only routes over the L3 gateway of the running snapshot: its
//! interfaces, its routes per VRF and the neighbours it learned.

use super::error::ApiError;
use crate::server::AppState;
use crate::totals::{self, vrf_name, RoutedTotals};
use axum::extract::{Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr};
use vtepgw_config::MacAddr;
use vtepgw_gateway::l3::{Attach, L3Plan, NextHop, VrfId};

/// One L3 interface.
#[derive(Debug, Serialize)]
pub struct InterfaceView {
    pub name: String,
    pub vrf: String,
    /// The gateway's address and the link's prefix length, `A/len`.
    pub address: String,
    pub mac: MacAddr,
    /// IP MTU of the link (the VNI's overlay MTU).
    pub mtu: u16,
    /// What it is attached to: a VNI (its gateway interface), or a
    /// physical port and VLAN (a routed interface).
    pub vni: Option<u32>,
    pub port: Option<String>,
    pub vlan: Option<u16>,
    #[serde(flatten)]
    pub routed: RoutedTotals,
}

/// `GET /api/v1/interfaces`: every L3 interface and its routed traffic.
pub async fn interfaces(State(s): State<AppState>) -> Json<Vec<InterfaceView>> {
    // One snapshot for the whole answer, so that names, slots and VNIs agree.
    let snap = s.shared.snapshot.load();
    let out = snap
        .l3
        .ifaces
        .iter()
        .flatten()
        .map(|f| {
            let (vni, member) = match f.attach {
                Attach::Vni(slot) => (snap.vni(slot).map(|v| v.vni.get()), None),
                Attach::Port(m) => (None, Some(m)),
            };
            InterfaceView {
                name: f.name.clone(),
                vrf: vrf_name(&snap.l3, f.vrf).to_string(),
                address: format!("{}/{}", f.ip, f.prefix_len),
                mac: MacAddr(f.mac.0),
                mtu: f.mtu,
                vni,
                port: member
                    .and_then(|m| snap.ports.get(usize::from(m.port)))
                    .map(|p| p.name.clone()),
                vlan: member.and_then(|m| m.vlan),
                routed: totals::routed(&s.shared, f.counter),
            }
        })
        .collect();
    Json(out)
}

/// `GET /api/v1/routes` filter.
#[derive(Deserialize)]
pub struct RouteFilter {
    vrf: Option<String>,
}

/// One route.
#[derive(Debug, Serialize)]
pub struct RouteView {
    pub vrf: String,
    /// `A/len`, host bits cleared.
    pub prefix: String,
    /// `connected` (an interface's own prefix) or `static` (`[[route]]`).
    pub kind: &'static str,
    /// The neighbour it forwards to; null when the destination is on the link.
    pub next_hop: Option<IpAddr>,
    pub interface: Option<String>,
}

/// The VRF a `vrf` query names (400 naming `vrf` when it has no such VRF);
/// None when not given.
fn vrf_filter(l3: &L3Plan, name: Option<&str>) -> Result<Option<VrfId>, ApiError> {
    let Some(name) = name else {
        return Ok(None);
    };
    match l3.vrf_names.iter().position(|v| v == name) {
        Some(id) => Ok(Some(id as VrfId)),
        None => Err(ApiError::bad_request(
            "vrf",
            format!("no VRF \"{name}\" (VRFs: {})", l3.vrf_names.join(", ")),
        )),
    }
}

/// `GET /api/v1/routes?vrf=`: the IPv4 routes of every VRF (or one), by
/// VRF then prefix.
pub async fn routes(
    State(s): State<AppState>,
    Query(q): Query<RouteFilter>,
) -> Result<Json<Vec<RouteView>>, ApiError> {
    let snap = s.shared.snapshot.load();
    let l3 = &snap.l3;
    let only = vrf_filter(l3, q.vrf.as_deref())?;
    let mut out = Vec::new();
    for vrf in (0..l3.routes.vrfs()).map(|v| v as VrfId) {
        if only.is_some_and(|o| o != vrf) {
            continue;
        }
        for (prefix, hop) in l3.routes.routes_v4(vrf) {
            let iface = l3.iface(hop.iface());
            // Connected: the interface's own prefix; a `[[route]]` with an
            // interface and no next hop is also on-link, but static.
            let connected = matches!(hop, NextHop::Connected { .. })
                && iface.is_some_and(|f| f.prefix_len == prefix.len && f.on_link(v4(prefix.addr)));
            out.push(RouteView {
                vrf: vrf_name(l3, vrf).to_string(),
                prefix: format!("{}/{}", prefix.addr, prefix.len),
                kind: if connected { "connected" } else { "static" },
                next_hop: match hop {
                    NextHop::Connected { .. } => None,
                    NextHop::Via { addr, .. } => Some(addr),
                },
                interface: iface.map(|f| f.name.clone()),
            });
        }
    }
    Ok(Json(out))
}

/// An address of an IPv4 listing.
fn v4(addr: IpAddr) -> Ipv4Addr {
    match addr {
        IpAddr::V4(a) => a,
        IpAddr::V6(_) => Ipv4Addr::UNSPECIFIED,
    }
}

/// `GET /api/v1/neighbours` filters; both optional.
#[derive(Deserialize)]
pub struct NeighbourFilter {
    vrf: Option<String>,
    interface: Option<String>,
}

/// One neighbour.
#[derive(Debug, Serialize)]
pub struct NeighbourView {
    pub vrf: String,
    pub interface: String,
    pub ip: Ipv4Addr,
    pub mac: MacAddr,
    /// Seconds since the neighbour was last heard from (learned or refreshed).
    pub age_secs: u32,
}

/// `GET /api/v1/neighbours?vrf=&interface=`: the L3 gateway's neighbours
/// (its ARP table), by VRF, interface and address.
pub async fn neighbours(
    State(s): State<AppState>,
    Query(q): Query<NeighbourFilter>,
) -> Result<Json<Vec<NeighbourView>>, ApiError> {
    let snap = s.shared.snapshot.load();
    let l3 = &snap.l3;
    let vrf = vrf_filter(l3, q.vrf.as_deref())?;
    let iface = match q.interface.as_deref() {
        None => None,
        Some(name) => match l3
            .ifaces
            .iter()
            .position(|f| f.as_ref().is_some_and(|f| f.name == name))
        {
            Some(i) => Some(i),
            None => {
                let known: Vec<&str> = l3
                    .ifaces
                    .iter()
                    .flatten()
                    .map(|f| f.name.as_str())
                    .collect();
                return Err(ApiError::bad_request(
                    "interface",
                    format!(
                        "no L3 interface \"{name}\" (interfaces: {})",
                        if known.is_empty() {
                            "none".to_string()
                        } else {
                            known.join(", ")
                        }
                    ),
                ));
            }
        },
    };
    let now = s.shared.clock.now();
    let mut out: Vec<(VrfId, usize, NeighbourView)> = s
        .shared
        .neighbours
        .entries()
        .filter_map(|(id, ip, mac, seen)| {
            let i = usize::from(id);
            // Entries of an interface a config change removed: not shown.
            let f = l3.iface(id)?;
            if vrf.is_some_and(|v| v != f.vrf) || iface.is_some_and(|x| x != i) {
                return None;
            }
            let view = NeighbourView {
                vrf: vrf_name(l3, f.vrf).to_string(),
                interface: f.name.clone(),
                ip,
                mac: MacAddr(mac.0),
                age_secs: now.saturating_sub(seen),
            };
            Some((f.vrf, i, view))
        })
        .collect();
    out.sort_by_key(|(vrf, i, v)| (*vrf, *i, v.ip));
    Ok(Json(out.into_iter().map(|(.., v)| v).collect()))
}
