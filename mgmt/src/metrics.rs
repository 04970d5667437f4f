//! Prometheus exposition of the data plane's counters.
//!
//! Workers keep their own counters (see `vtepgw_gateway::counters`); a scrape
//! sums them (see [`crate::totals`]) into a fresh registry and encodes it.
//! Nothing here runs on the packet path. Names follow Prometheus
//! conventions: `vtepgw_` prefix, `_total` for counters, base units
//! (bytes), lower-case labels.

use crate::devices::Devices;
use crate::totals;
use prometheus::{Encoder, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder};
use std::sync::atomic::Ordering::Relaxed;
use vtepgw_gateway::shared::Shared;

/// A registry being filled for one scrape.
struct Scrape {
    registry: Registry,
}

impl Scrape {
    fn counter(&self, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
        let c = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric definition");
        self.registry
            .register(Box::new(c.clone()))
            .expect("unique metric name");
        c
    }

    fn gauge(&self, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
        let g = IntGaugeVec::new(Opts::new(name, help), labels).expect("valid metric definition");
        self.registry
            .register(Box::new(g.clone()))
            .expect("unique metric name");
        g
    }

    /// A counter with no labels.
    fn one(&self, name: &str, help: &str, value: u64) {
        self.counter(name, help, &[])
            .with_label_values::<&str>(&[])
            .inc_by(value);
    }

    /// A counter pair by `direction` (`rx`/`tx` or `encap`/`decap`).
    fn pair(&self, c: &IntCounterVec, key: &str, dirs: [(&str, u64); 2]) {
        for (dir, value) in dirs {
            c.with_label_values(&[key, dir]).inc_by(value);
        }
    }
}

/// Renders every metric in the Prometheus text format.
pub fn render(shared: &Shared, devices: &dyn Devices) -> String {
    let s = Scrape {
        registry: Registry::new(),
    };
    ports(&s, shared, devices);
    vnis(&s, shared);
    vteps(&s, shared);
    multicast(&s, shared);
    l3(&s, shared);
    drops_and_control(&s, shared);
    resources(&s, shared, devices);

    let mut out = Vec::new();
    TextEncoder::new()
        .encode(&s.registry.gather(), &mut out)
        .expect("text encoding into a Vec cannot fail");
    String::from_utf8(out).expect("Prometheus text is UTF-8")
}

fn ports(s: &Scrape, shared: &Shared, devices: &dyn Devices) {
    let packets = s.counter(
        "vtepgw_port_packets_total",
        "Packets through a port, as the pipeline saw them.",
        &["port", "direction"],
    );
    let bytes = s.counter(
        "vtepgw_port_bytes_total",
        "Bytes through a port, as the pipeline saw them.",
        &["port", "direction"],
    );
    let ports = totals::ports(shared);
    for p in &ports {
        s.pair(
            &packets,
            &p.port,
            [("rx", p.rx_packets), ("tx", p.tx_packets)],
        );
        s.pair(&bytes, &p.port, [("rx", p.rx_bytes), ("tx", p.tx_bytes)]);
    }

    let nic_missed = s.counter(
        "vtepgw_nic_rx_missed_total",
        "Packets the NIC dropped because its receive queue was full.",
        &["port"],
    );
    let nic_rx_errors = s.counter(
        "vtepgw_nic_rx_errors_total",
        "Receive errors reported by the NIC.",
        &["port"],
    );
    let nic_tx_errors = s.counter(
        "vtepgw_nic_tx_errors_total",
        "Transmit errors reported by the NIC.",
        &["port"],
    );
    let nic_nombuf = s.counter(
        "vtepgw_nic_rx_nombuf_total",
        "Receive failures for lack of packet buffers.",
        &["port"],
    );
    let nic_packets = s.counter(
        "vtepgw_nic_packets_total",
        "Packets counted by the NIC driver.",
        &["port", "direction"],
    );
    let nic_bytes = s.counter(
        "vtepgw_nic_bytes_total",
        "Bytes counted by the NIC driver.",
        &["port", "direction"],
    );
    for (p, st) in ports.iter().zip(devices.nic_stats()) {
        let name = p.port.as_str();
        nic_missed.with_label_values(&[name]).inc_by(st.rx_missed);
        nic_rx_errors
            .with_label_values(&[name])
            .inc_by(st.rx_errors);
        nic_tx_errors
            .with_label_values(&[name])
            .inc_by(st.tx_errors);
        nic_nombuf.with_label_values(&[name]).inc_by(st.rx_nombuf);
        s.pair(
            &nic_packets,
            name,
            [("rx", st.rx_packets), ("tx", st.tx_packets)],
        );
        s.pair(&nic_bytes, name, [("rx", st.rx_bytes), ("tx", st.tx_bytes)]);
    }
}

fn vnis(s: &Scrape, shared: &Shared) {
    let packets = s.counter(
        "vtepgw_vni_packets_total",
        "Frames of a VNI: encap = from physical ports into the overlay (once per frame), \
         decap = from the overlay.",
        &["vni", "direction"],
    );
    let bytes = s.counter(
        "vtepgw_vni_bytes_total",
        "Inner-frame bytes of a VNI, by direction.",
        &["vni", "direction"],
    );
    let flood = s.counter(
        "vtepgw_flood_replications_total",
        "Copies made when flooding BUM and unknown-unicast frames.",
        &["vni", "target"],
    );
    let entries = s.gauge(
        "vtepgw_mac_table_entries",
        "MAC table entries of a VNI (learned and static).",
        &["vni"],
    );
    let learned = s.counter("vtepgw_mac_learned_total", "MACs learned.", &["vni"]);
    let moves = s.counter(
        "vtepgw_mac_moves_total",
        "Learned MACs that moved to another port or VTEP.",
        &["vni"],
    );
    let aged = s.counter(
        "vtepgw_mac_aged_total",
        "Learned MACs removed after their ageing time.",
        &["vni"],
    );
    let limit = s.counter(
        "vtepgw_mac_limit_hits_total",
        "Learning refused because the VNI reached its MAC limit \
         (at most once per MAC per second per worker).",
        &["vni"],
    );
    for v in totals::vnis(shared) {
        let vni = v.vni.to_string();
        let vni = vni.as_str();
        s.pair(
            &packets,
            vni,
            [("encap", v.encap_packets), ("decap", v.decap_packets)],
        );
        s.pair(
            &bytes,
            vni,
            [("encap", v.encap_bytes), ("decap", v.decap_bytes)],
        );
        s.pair(
            &flood,
            vni,
            [("vtep", v.flood_to_vteps), ("port", v.flood_to_ports)],
        );
        entries.with_label_values(&[vni]).set(v.mac_entries as i64);
        learned.with_label_values(&[vni]).inc_by(v.macs_learned);
        moves.with_label_values(&[vni]).inc_by(v.mac_moves);
        aged.with_label_values(&[vni]).inc_by(v.macs_aged);
        limit.with_label_values(&[vni]).inc_by(v.mac_limit_hits);
    }
}

fn vteps(s: &Scrape, shared: &Shared) {
    let packets = s.counter(
        "vtepgw_remote_vtep_packets_total",
        "VXLAN packets exchanged with a remote VTEP: rx = received from it for a configured \
         VNI, tx = encapsulated to it.",
        &["remote_vtep", "direction"],
    );
    let bytes = s.counter(
        "vtepgw_remote_vtep_bytes_total",
        "Bytes of whole VXLAN frames (outer Ethernet header included) exchanged with a \
         remote VTEP.",
        &["remote_vtep", "direction"],
    );
    for (ip, t) in totals::vteps(shared) {
        let ip = ip.to_string();
        s.pair(&packets, &ip, [("rx", t.rx_packets), ("tx", t.tx_packets)]);
        s.pair(&bytes, &ip, [("rx", t.rx_bytes), ("tx", t.tx_bytes)]);
    }
}

fn multicast(s: &Scrape, shared: &Shared) {
    let packets = s.counter(
        "vtepgw_group_packets_total",
        "VXLAN packets of an underlay multicast group: rx = decapsulated from it, \
         tx = BUM copies sent to it (one per frame: the underlay replicates).",
        &["group", "direction"],
    );
    let bytes = s.counter(
        "vtepgw_group_bytes_total",
        "Bytes of an underlay multicast group: rx = inner frames decapsulated from it, \
         tx = whole VXLAN frames sent to it.",
        &["group", "direction"],
    );
    // Every configured group, counted or not yet, and any still counted.
    let mut groups = totals::groups(shared);
    for g in &shared.snapshot.load().groups {
        groups.entry(g.addr).or_default();
    }
    for (group, t) in groups {
        let group = group.to_string();
        s.pair(
            &packets,
            &group,
            [("rx", t.rx_packets), ("tx", t.tx_packets)],
        );
        s.pair(&bytes, &group, [("rx", t.rx_bytes), ("tx", t.tx_bytes)]);
    }
    let view = shared
        .multicast
        .lock()
        .map(|v| v.clone())
        .unwrap_or_default();
    let st = view.stats;
    let reports = s.counter(
        "vtepgw_igmp_reports_sent_total",
        "IGMP membership reports sent for the VNIs' groups, by IGMP version.",
        &["version"],
    );
    reports.with_label_values(&["2"]).inc_by(st.v2_reports_sent);
    reports.with_label_values(&["3"]).inc_by(st.v3_reports_sent);
    s.one(
        "vtepgw_igmp_leaves_sent_total",
        "IGMP leaves sent (v2 leave messages, v3 to-include records).",
        st.leaves_sent,
    );
    let queries = s.counter(
        "vtepgw_igmp_queries_received_total",
        "IGMP membership queries heard on the underlay, by querier version.",
        &["version"],
    );
    for (v, n) in ["1", "2", "3"].iter().zip(st.queries) {
        queries.with_label_values(&[v]).inc_by(n);
    }
    let joined = s.gauge(
        "vtepgw_igmp_groups",
        "Underlay multicast groups the gateway is a member of.",
        &[],
    );
    joined
        .with_label_values::<&str>(&[])
        .set(view.groups.len() as i64);
    let mode = s.gauge(
        "vtepgw_multicast_receive_mode",
        "How the underlay NIC receives the groups (1 for the mode in use): mac_filter, \
         all_multicast, promiscuous, unfiltered or none.",
        &["mode"],
    );
    let current = if view.receive_mode.is_empty() {
        "none"
    } else {
        view.receive_mode
    };
    mode.with_label_values(&[current]).set(1);
}

/// The L3 gateway: routed traffic per interface, neighbours, its ARP and ICMP.
fn l3(s: &Scrape, shared: &Shared) {
    let packets = s.counter(
        "vtepgw_routed_packets_total",
        "Packets routed through an L3 interface: in = came in to be routed (or to the \
         gateway address), out = routed or sent by the gateway out of it.",
        &["interface", "vrf", "direction"],
    );
    let bytes = s.counter(
        "vtepgw_routed_bytes_total",
        "Bytes of the packets routed through an L3 interface (inner Ethernet frames), \
         by direction.",
        &["interface", "vrf", "direction"],
    );
    for f in totals::interfaces(shared) {
        let r = f.routed;
        for (dir, p, b) in [
            ("in", r.in_packets, r.in_bytes),
            ("out", r.out_packets, r.out_bytes),
        ] {
            let labels = [f.name.as_str(), f.vrf.as_str(), dir];
            packets.with_label_values(&labels).inc_by(p);
            bytes.with_label_values(&labels).inc_by(b);
        }
    }
    let neighbours = s.gauge(
        "vtepgw_neighbours",
        "L3 neighbours (the gateway's ARP entries) now known, by VRF.",
        &["vrf"],
    );
    for (vrf, n) in totals::neighbours_by_vrf(shared) {
        neighbours.with_label_values(&[&vrf]).set(n as i64);
    }
    let c = &shared.control;
    let events = s.counter(
        "vtepgw_neighbour_events_total",
        "L3 neighbour table churn: learned, moved (MAC changed), aged out, and \
         table_full (not learned because the table is full).",
        &["event"],
    );
    for (event, n) in [
        ("learned", c.neighbours_learned.get()),
        ("moved", c.neighbours_moved.get()),
        ("aged", c.neighbours_aged.get()),
        ("table_full", c.neighbour_table_full.get()),
    ] {
        events.with_label_values(&[event]).inc_by(n);
    }
    let w = &shared.workers;
    let sum = |f: fn(&vtepgw_gateway::counters::WorkerCounters) -> u64| -> u64 {
        w.iter().map(|c| f(c)).sum()
    };
    s.one(
        "vtepgw_gateway_arp_replies_sent_total",
        "ARP replies sent for the L3 gateway's interface addresses.",
        sum(|w| w.gateway_arp_replies_sent.get()),
    );
    s.one(
        "vtepgw_gateway_arp_requests_sent_total",
        "ARP requests the L3 gateway sent to resolve neighbours.",
        sum(|w| w.gateway_arp_requests_sent.get()),
    );
    let icmp = totals::icmp(shared);
    let sent = s.counter(
        "vtepgw_icmp_sent_total",
        "ICMP the L3 gateway sent, by type: echo_reply (for its addresses), \
         time_exceeded, net_unreachable, host_unreachable, frag_needed.",
        &["type"],
    );
    for (kind, n) in icmp.sent {
        sent.with_label_values(&[kind]).inc_by(n);
    }
    s.one(
        "vtepgw_icmp_rate_limited_total",
        "ICMP errors about routed packets not sent because of the rate limit (icmp.rate_per_sec).",
        icmp.rate_limited,
    );
    let suppressed = s.counter(
        "vtepgw_arp_suppression_replies_total",
        "ARP requests for another host answered by the gateway instead of flooded, by \
         arp_suppression mode (reply: with the host's MAC; proxy: with the gateway MAC).",
        &["mode"],
    );
    for (i, mode) in ["reply", "proxy"].iter().enumerate() {
        suppressed
            .with_label_values(&[mode])
            .inc_by(w.iter().map(|c| c.arp_suppression_replies[i].get()).sum());
    }
    s.one(
        "vtepgw_arp_suppression_misses_total",
        "ARP requests in a reply-mode VNI for a host the gateway does not know (flooded).",
        sum(|w| w.arp_suppression_misses.get()),
    );
    let waiting = s.gauge(
        "vtepgw_neighbours_unresolved",
        "Neighbours being resolved by ARP now, and the packets held for them (all workers).",
        &["what"],
    );
    let neighbours: u64 = w.iter().map(|c| c.neighbours_waiting.load(Relaxed)).sum();
    let packets: u64 = w.iter().map(|c| c.packets_held.load(Relaxed)).sum();
    waiting
        .with_label_values(&["neighbours"])
        .set(neighbours as i64);
    waiting.with_label_values(&["packets"]).set(packets as i64);
    s.one(
        "vtepgw_fragmented_packets_total",
        "Routed packets without DF fragmented for a smaller egress MTU.",
        sum(|w| w.fragmented.get()),
    );
    s.one(
        "vtepgw_fragments_sent_total",
        "Fragments made from them.",
        sum(|w| w.fragments_made.get()),
    );
}

fn drops_and_control(s: &Scrape, shared: &Shared) {
    let drops = s.counter(
        "vtepgw_drops_total",
        "Packets dropped, by reason (see the README for each reason).",
        &["reason"],
    );
    for d in totals::drops(shared) {
        drops.with_label_values(&[d.reason]).inc_by(d.packets);
    }
    let w = &shared.workers;
    let sum = |f: fn(&vtepgw_gateway::counters::WorkerCounters) -> u64| -> u64 {
        w.iter().map(|c| f(c)).sum()
    };
    let c = &shared.control;
    s.one(
        "vtepgw_arp_requests_sent_total",
        "ARP requests sent to resolve VTEP next hops.",
        c.arp_requests_sent.get(),
    );
    s.one(
        "vtepgw_arp_replies_sent_total",
        "ARP replies sent for our VTEP address.",
        sum(|w| w.arp_replies_sent.get()),
    );
    s.one(
        "vtepgw_arp_received_total",
        "ARP to our VTEP address, and gratuitous or unsolicited ARP from underlay neighbours.",
        sum(|w| w.arp_seen.get()),
    );
    s.one(
        "vtepgw_next_hop_mac_changes_total",
        "Resolved next hops whose MAC changed, taken from ARP at once.",
        c.next_hop_mac_changes.get(),
    );
    s.one(
        "vtepgw_icmp_echo_replies_sent_total",
        "ICMP echo replies sent for our VTEP address.",
        sum(|w| w.icmp_echo_replies_sent.get()),
    );
    s.one(
        "vtepgw_mac_table_full_total",
        "Learning refused because the whole MAC table is full.",
        c.mac_table_full.get(),
    );
    s.one(
        "vtepgw_vtep_table_full_total",
        "Remote VTEPs not tracked because the VTEP table is half full.",
        c.vtep_table_full.get(),
    );
    s.one(
        "vtepgw_vtep_unreachable_total",
        "Remote VTEPs off the underlay subnet with no gateway configured.",
        c.vtep_unreachable.get(),
    );
    s.one(
        "vtepgw_events_lost_total",
        "Worker-to-control events lost to a full queue (learning retried on the next frame).",
        sum(|w| w.events_lost.get()) + c.control_frames_lost.get(),
    );
    let next_hops = s.gauge(
        "vtepgw_next_hops",
        "Underlay next hops of remote VTEPs, by ARP state.",
        &["state"],
    );
    next_hops
        .with_label_values(&["resolved"])
        .set(c.next_hops_resolved.load(Relaxed) as i64);
    next_hops
        .with_label_values(&["pending"])
        .set(c.next_hops_pending.load(Relaxed) as i64);
}

fn resources(s: &Scrape, shared: &Shared, devices: &dyn Devices) {
    let pool = devices.pool();
    let mbufs = s.gauge(
        "vtepgw_mempool_mbufs",
        "Packet buffers in the pool, by state.",
        &["state"],
    );
    mbufs.with_label_values(&["in_use"]).set(pool.in_use as i64);
    mbufs
        .with_label_values(&["available"])
        .set(pool.available as i64);

    let busy = s.counter(
        "vtepgw_worker_busy_cycles_total",
        "TSC cycles a worker spent in polls that handled packets; divide by \
         vtepgw_worker_packets_total for cycles per packet.",
        &["worker"],
    );
    let packets = s.counter(
        "vtepgw_worker_packets_total",
        "Packets a worker received and handled.",
        &["worker"],
    );
    let polls = s.counter(
        "vtepgw_worker_polls_total",
        "Poll-loop iterations of a worker.",
        &["worker"],
    );
    for w in totals::workers(shared) {
        let id = w.worker.to_string();
        busy.with_label_values(&[&id]).inc_by(w.busy_cycles);
        packets.with_label_values(&[&id]).inc_by(w.packets);
        polls.with_label_values(&[&id]).inc_by(w.polls);
    }
    s.gauge("vtepgw_tsc_hz", "Cycle-counter frequency in hertz.", &[])
        .with_label_values::<&str>(&[])
        .set(devices.tsc_hz() as i64);
    s.gauge(
        "vtepgw_config_generation",
        "Generation of the running configuration (bumped by every applied change).",
        &[],
    )
    .with_label_values::<&str>(&[])
    .set(shared.snapshot.load().generation as i64);
}
