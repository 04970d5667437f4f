//! Read-only routes over the running data plane: the learned MAC table,
//! statistics, workers, remote VTEPs and the MTU report.

use super::body::segment;
use super::error::ApiError;
use super::vnis::parse_vni;
use crate::server::AppState;
use crate::totals;
use axum::extract::{Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use vtepgw_config::MacAddr;
use vtepgw_gateway::tables::{MacDest, NextHop};

/// `GET /api/v1/macs` filters; all optional.
#[derive(Deserialize)]
pub struct MacFilter {
    vni: Option<String>,
    mac: Option<String>,
    vtep: Option<String>,
}

/// One MAC table entry.
#[derive(Debug, Serialize)]
pub struct MacView {
    pub vni: u32,
    pub mac: MacAddr,
    /// `learned` or `static`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Where it lives: a local port (and VLAN) or a remote VTEP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vlan: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vtep: Option<Ipv4Addr>,
    /// Seconds since a frame last used it (learned entries).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idle_secs: Option<u32>,
}

/// `GET /api/v1/macs?vni=&mac=&vtep=`: the MAC tables, by VNI and MAC.
pub async fn macs(
    State(s): State<AppState>,
    Query(q): Query<MacFilter>,
) -> Result<Json<Vec<MacView>>, ApiError> {
    let vni = q.vni.as_deref().map(parse_vni).transpose()?;
    let mac: Option<MacAddr> = q
        .mac
        .as_deref()
        .map(|m| segment("mac", m, "a MAC address like 02:00:00:00:00:01"))
        .transpose()?;
    let vtep: Option<Ipv4Addr> = q
        .vtep
        .as_deref()
        .map(|v| segment("vtep", v, "an IPv4 address"))
        .transpose()?;
    let snap = s.shared.snapshot.load();
    let now = s.shared.clock.now();
    let mut out: Vec<MacView> = s
        .shared
        .macs
        .entries()
        .filter_map(|(slot, m, entry, seen)| {
            let id = snap.vni(slot)?.vni;
            let (port, vlan, remote) = match entry.dest {
                MacDest::Local { port, vlan } => (
                    Some(snap.ports.get(usize::from(port))?.name.clone()),
                    vlan,
                    None,
                ),
                MacDest::Remote { tunnel } => {
                    (None, None, Some(s.shared.tunnels.addr(tunnel)?.v4()?))
                }
            };
            Some(MacView {
                vni: id.get(),
                mac: MacAddr(m.0),
                kind: if entry.is_static { "static" } else { "learned" },
                port,
                vlan,
                vtep: remote,
                idle_secs: (!entry.is_static).then(|| now.saturating_sub(seen)),
            })
        })
        .filter(|v| vni.is_none_or(|x| v.vni == x))
        .filter(|v| mac.is_none_or(|x| v.mac == x))
        .filter(|v| vtep.is_none_or(|x| v.vtep == Some(x)))
        .collect();
    out.sort_by_key(|v| (v.vni, v.mac));
    Ok(Json(out))
}

/// A port's pipeline counters and the NIC's own.
#[derive(Serialize)]
pub struct PortStats {
    #[serde(flatten)]
    pub pipeline: totals::PortTotals,
    pub nic: Option<crate::NicStats>,
}

/// `GET /api/v1/stats/ports`.
pub async fn port_stats(State(s): State<AppState>) -> Json<Vec<PortStats>> {
    let nic = s.devices.nic_stats();
    let out = totals::ports(&s.shared)
        .into_iter()
        .enumerate()
        .map(|(i, pipeline)| PortStats {
            pipeline,
            nic: nic.get(i).copied(),
        })
        .collect();
    Json(out)
}

/// `GET /api/v1/stats/vnis`.
pub async fn vni_stats(State(s): State<AppState>) -> Json<Vec<totals::VniTotals>> {
    Json(totals::vnis(&s.shared))
}

/// `GET /api/v1/stats/drops`: every drop reason, with what it means.
pub async fn drop_stats(State(s): State<AppState>) -> Json<Vec<totals::DropTotals>> {
    Json(totals::drops(&s.shared))
}

/// The workers and the cycle counter's frequency.
#[derive(Serialize)]
pub struct Workers {
    pub tsc_hz: u64,
    pub workers: Vec<totals::WorkerTotals>,
}

/// `GET /api/v1/workers`.
pub async fn workers(State(s): State<AppState>) -> Json<Workers> {
    Json(Workers {
        tsc_hz: s.devices.tsc_hz(),
        workers: totals::workers(&s.shared),
    })
}

/// A remote VTEP as the data plane knows it.
#[derive(Debug, Serialize)]
pub struct VtepView {
    pub ip: Ipv4Addr,
    /// `resolved`, `pending` (ARP in progress), `unreachable` (off-link,
    /// no gateway) or `unknown` (not yet in the next-hop table).
    pub state: &'static str,
    /// The VTEP itself when on-link, else the underlay gateway.
    pub next_hop: Option<Ipv4Addr>,
    pub next_hop_mac: Option<MacAddr>,
    /// VNIs whose replication list names it.
    pub flood_vnis: Vec<u32>,
    /// Static MACs pinned to it.
    pub static_macs: usize,
    /// Seconds since traffic was last sent to it.
    pub idle_secs: Option<u32>,
    #[serde(flatten)]
    pub traffic: totals::VtepTotals,
}

/// `GET /api/v1/vteps`: configured and learned remote VTEPs, their next
/// hops and traffic.
pub async fn vteps(State(s): State<AppState>) -> Json<Vec<VtepView>> {
    let snap = s.shared.snapshot.load();
    let running = s.applier.config();
    let now = s.shared.clock.now();
    let traffic = totals::vteps(&s.shared);
    let table: BTreeMap<Ipv4Addr, (NextHop, u32)> = s
        .shared
        .tunnels
        .entries()
        .filter_map(|(addr, nh, seen)| Some((addr.v4()?, (nh, seen))))
        .collect();
    let mut ips: BTreeSet<Ipv4Addr> = table.keys().copied().collect();
    for v in &running.vni {
        ips.extend(v.flood.iter().copied());
        ips.extend(v.static_macs.iter().map(|m| m.vtep));
    }
    let out = ips
        .into_iter()
        .map(|ip| {
            let next_hop = snap.underlay.next_hop(ip);
            let entry = table.get(&ip);
            let (state, mac) = match (entry, next_hop) {
                (_, None) => ("unreachable", None),
                (None, _) => ("unknown", None),
                (Some((NextHop::Pending, _)), _) => ("pending", None),
                (Some((NextHop::Resolved { mac, .. }, _)), _) => ("resolved", Some(MacAddr(mac.0))),
            };
            let config = &running.vni;
            VtepView {
                ip,
                state,
                next_hop,
                next_hop_mac: mac,
                flood_vnis: config
                    .iter()
                    .filter(|v| v.flood.contains(&ip))
                    .map(|v| v.id)
                    .collect(),
                static_macs: config
                    .iter()
                    .flat_map(|v| &v.static_macs)
                    .filter(|m| m.vtep == ip)
                    .count(),
                idle_secs: entry.map(|&(_, seen)| now.saturating_sub(seen)),
                traffic: traffic.get(&ip).copied().unwrap_or_default(),
            }
        })
        .collect();
    Json(out)
}

/// `GET /api/v1/mtu`: per VNI, the overlay MTU, the underlay MTU, what the
/// underlay needs and the margin.
pub async fn mtu(State(s): State<AppState>) -> Json<Vec<vtepgw_config::mtu::VniMtu>> {
    Json(vtepgw_config::mtu::report(&s.applier.config()))
}
