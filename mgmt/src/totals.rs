//! The workers' counters summed into totals, for `/metrics` and the
//! `/api/v1/stats` routes alike. Only readers run here, off the packet path.

use serde::Serialize;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use vtepgw_gateway::counters::{DropReason, WorkerCounters};
use vtepgw_gateway::l3::{L3Plan, VrfId};
use vtepgw_gateway::pipeline::icmp_error;
use vtepgw_gateway::shared::Shared;

fn sum(workers: &[Arc<WorkerCounters>], f: impl Fn(&WorkerCounters) -> u64) -> u64 {
    workers.iter().map(|w| f(w)).sum()
}

/// One port's traffic as the pipeline saw it.
#[derive(Debug, Serialize)]
pub struct PortTotals {
    pub port: String,
    pub rx_packets: u64,
    pub rx_bytes: u64,
    pub tx_packets: u64,
    pub tx_bytes: u64,
}

/// Every port, underlay first.
pub fn ports(shared: &Shared) -> Vec<PortTotals> {
    let w = &shared.workers;
    let snap = shared.snapshot.load();
    snap.ports
        .iter()
        .enumerate()
        .map(|(i, p)| PortTotals {
            port: p.name.clone(),
            rx_packets: sum(w, |c| c.ports[i].rx_packets.get()),
            rx_bytes: sum(w, |c| c.ports[i].rx_bytes.get()),
            tx_packets: sum(w, |c| c.ports[i].tx_packets.get()),
            tx_bytes: sum(w, |c| c.ports[i].tx_bytes.get()),
        })
        .collect()
}

/// One VNI's traffic and MAC table.
#[derive(Debug, Serialize)]
pub struct VniTotals {
    pub vni: u32,
    /// Frames from physical ports sent into the overlay (once per frame).
    pub encap_packets: u64,
    pub encap_bytes: u64,
    /// Frames from the overlay delivered towards physical ports.
    pub decap_packets: u64,
    pub decap_bytes: u64,
    pub flood_to_vteps: u64,
    pub flood_to_ports: u64,
    pub mac_entries: u64,
    pub macs_learned: u64,
    pub mac_moves: u64,
    pub macs_aged: u64,
    pub mac_limit_hits: u64,
}

/// Every configured VNI, by VNI.
pub fn vnis(shared: &Shared) -> Vec<VniTotals> {
    let w = &shared.workers;
    let snap = shared.snapshot.load();
    snap.vni_slots()
        .iter()
        .map(|&(vni, slot)| {
            let i = usize::from(slot);
            let m = &shared.mac_stats[i];
            VniTotals {
                vni: vni.get(),
                encap_packets: sum(w, |c| c.vnis[i].encap_packets.get()),
                encap_bytes: sum(w, |c| c.vnis[i].encap_bytes.get()),
                decap_packets: sum(w, |c| c.vnis[i].decap_packets.get()),
                decap_bytes: sum(w, |c| c.vnis[i].decap_bytes.get()),
                flood_to_vteps: sum(w, |c| c.vnis[i].flood_to_vteps.get()),
                flood_to_ports: sum(w, |c| c.vnis[i].flood_to_ports.get()),
                mac_entries: m.entries.load(Relaxed),
                macs_learned: m.learned.get(),
                mac_moves: m.moved.get(),
                macs_aged: m.aged.get(),
                mac_limit_hits: m.limit_hits.get(),
            }
        })
        .collect()
}

/// Traffic exchanged with one remote VTEP (whole outer frames).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct VtepTotals {
    pub rx_packets: u64,
    pub rx_bytes: u64,
    pub tx_packets: u64,
    pub tx_bytes: u64,
}

/// Every remote VTEP that traffic was counted for, by address.
pub fn vteps(shared: &Shared) -> BTreeMap<Ipv4Addr, VtepTotals> {
    by_owner(shared, |w| &w.tunnels)
}

/// Every underlay group that traffic was counted for, by address: rx is
/// VXLAN decapsulated from it (inner bytes), tx the BUM copies sent to it
/// (whole frames).
pub fn groups(shared: &Shared) -> BTreeMap<Ipv4Addr, VtepTotals> {
    by_owner(shared, |w| &w.groups)
}

/// Address-owned counter slots (tunnels, groups) summed over the workers.
fn by_owner(
    shared: &Shared,
    slots: fn(&WorkerCounters) -> &[vtepgw_gateway::counters::TunnelCounters],
) -> BTreeMap<Ipv4Addr, VtepTotals> {
    let mut out: BTreeMap<Ipv4Addr, VtepTotals> = BTreeMap::new();
    for w in &shared.workers {
        for (ip, [rp, rb, tp, tb]) in slots(w).iter().filter_map(|c| c.read()) {
            let t = out.entry(ip).or_default();
            t.rx_packets += rp;
            t.rx_bytes += rb;
            t.tx_packets += tp;
            t.tx_bytes += tb;
        }
    }
    out
}

/// Routed traffic of one L3 interface (a VNI's gateway interface or a
/// routed port).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RoutedTotals {
    /// Packets that came in to be routed (or to the gateway address).
    pub in_packets: u64,
    pub in_bytes: u64,
    /// Packets routed out of it (routed or sent by the gateway).
    pub out_packets: u64,
    pub out_bytes: u64,
}

/// One L3 interface of the running snapshot and its traffic.
#[derive(Debug)]
pub struct IfaceTotals {
    /// `vni<ID>` or the routed interface's name, as metrics, routes and
    /// neighbours name it.
    pub name: String,
    pub vrf: String,
    pub routed: RoutedTotals,
}

/// Every L3 interface, in interface order.
pub fn interfaces(shared: &Shared) -> Vec<IfaceTotals> {
    let snap = shared.snapshot.load();
    let l3 = &snap.l3;
    l3.ifaces
        .iter()
        .flatten()
        .map(|f| IfaceTotals {
            name: f.name.clone(),
            vrf: vrf_name(l3, f.vrf).to_string(),
            routed: routed(shared, f.counter),
        })
        .collect()
}

/// The routed traffic in entry `counter` of `WorkerCounters::routed`
/// (`IfacePlan::counter`).
pub fn routed(shared: &Shared, counter: usize) -> RoutedTotals {
    let (w, i) = (&shared.workers, counter);
    RoutedTotals {
        in_packets: sum(w, |c| c.routed[i].in_packets.get()),
        in_bytes: sum(w, |c| c.routed[i].in_bytes.get()),
        out_packets: sum(w, |c| c.routed[i].out_packets.get()),
        out_bytes: sum(w, |c| c.routed[i].out_bytes.get()),
    }
}

/// The name of VRF `id` (`?` for one the plan does not have, which a
/// plan built from a validated config never refers to).
pub fn vrf_name(l3: &L3Plan, id: VrfId) -> &str {
    l3.vrf_names
        .get(usize::from(id))
        .map_or("?", String::as_str)
}

/// Neighbours now in the table, by VRF name: every VRF of the running
/// snapshot, with 0 where it has none. A scan of the whole table (64Ki
/// cells): for scrapes and listings only.
pub fn neighbours_by_vrf(shared: &Shared) -> BTreeMap<String, u64> {
    let snap = shared.snapshot.load();
    let l3 = &snap.l3;
    let mut out: BTreeMap<String, u64> = l3.vrf_names.iter().map(|v| (v.clone(), 0)).collect();
    for (iface, ..) in shared.neighbours.entries() {
        // Entries of an interface a config change removed age out soon.
        if let Some(f) = l3.iface(iface) {
            *out.entry(vrf_name(l3, f.vrf).to_string()).or_default() += 1;
        }
    }
    out
}

/// ICMP the L3 gateway sent: echo replies for its addresses, then the
/// errors about routed packets by kind; and the errors the rate limit held
/// back.
#[derive(Debug)]
pub struct IcmpTotals {
    /// (type label, messages sent): `echo_reply`, then
    /// `pipeline::icmp_error::ALL` by label.
    pub sent: Vec<(&'static str, u64)>,
    pub rate_limited: u64,
}

pub fn icmp(shared: &Shared) -> IcmpTotals {
    let w = &shared.workers;
    let mut sent = vec![("echo_reply", sum(w, |c| c.gateway_echo_replies_sent.get()))];
    for (i, &e) in icmp_error::ALL.iter().enumerate() {
        sent.push((icmp_error::label(e), sum(w, |c| c.icmp_errors[i].get())));
    }
    IcmpTotals {
        sent,
        rate_limited: sum(w, |c| c.icmp_errors_limited.get()),
    }
}

/// Packets dropped for one reason.
#[derive(Debug, Serialize)]
pub struct DropTotals {
    pub reason: &'static str,
    pub packets: u64,
    pub help: &'static str,
}

/// Every drop reason, zero or not.
pub fn drops(shared: &Shared) -> Vec<DropTotals> {
    DropReason::ALL
        .iter()
        .map(|&r| DropTotals {
            reason: r.label(),
            packets: sum(&shared.workers, |c| c.drops_for(r)),
            help: r.help(),
        })
        .collect()
}

/// One worker's load.
#[derive(Debug, Serialize)]
pub struct WorkerTotals {
    pub worker: usize,
    /// Packets received and handled.
    pub packets: u64,
    /// Cycles spent in polls that handled packets.
    pub busy_cycles: u64,
    pub polls: u64,
    /// `busy_cycles / packets`; None before the first packet.
    pub cycles_per_packet: Option<f64>,
}

/// Every worker.
pub fn workers(shared: &Shared) -> Vec<WorkerTotals> {
    shared
        .workers
        .iter()
        .enumerate()
        .map(|(worker, c)| {
            let (packets, busy_cycles) = (c.packets.get(), c.busy_cycles.get());
            WorkerTotals {
                worker,
                packets,
                busy_cycles,
                polls: c.polls.get(),
                cycles_per_packet: (packets > 0).then(|| busy_cycles as f64 / packets as f64),
            }
        })
        .collect()
}
