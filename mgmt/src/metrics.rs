//! Prometheus exposition of the data plane's counters.
//!
//! Workers keep their own counters (see `vtepgw_gateway::counters`); a scrape
//! sums them into a fresh registry and encodes it. Nothing here runs on
//! the packet path. Names follow Prometheus conventions: `vtepgw_` prefix,
//! `_total` for counters, base units (bytes), lower-case labels.

use crate::devices::Devices;
use prometheus::{Encoder, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder};
use std::sync::atomic::Ordering::Relaxed;
use vtepgw_gateway::counters::{DropReason, WorkerCounters};
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
}

fn sum(workers: &[std::sync::Arc<WorkerCounters>], f: impl Fn(&WorkerCounters) -> u64) -> u64 {
    workers.iter().map(|w| f(w)).sum()
}

/// Renders every metric in the Prometheus text format.
pub fn render(shared: &Shared, devices: &dyn Devices) -> String {
    let s = Scrape {
        registry: Registry::new(),
    };
    let snap = shared.snapshot.load();
    let workers = &shared.workers;

    let port_packets = s.counter(
        "vtepgw_port_packets_total",
        "Packets through a port, as the pipeline saw them.",
        &["port", "direction"],
    );
    let port_bytes = s.counter(
        "vtepgw_port_bytes_total",
        "Bytes through a port, as the pipeline saw them.",
        &["port", "direction"],
    );
    for (i, port) in snap.ports.iter().enumerate() {
        let name = port.name.as_str();
        port_packets
            .with_label_values(&[name, "rx"])
            .inc_by(sum(workers, |w| w.ports[i].rx_packets.get()));
        port_packets
            .with_label_values(&[name, "tx"])
            .inc_by(sum(workers, |w| w.ports[i].tx_packets.get()));
        port_bytes
            .with_label_values(&[name, "rx"])
            .inc_by(sum(workers, |w| w.ports[i].rx_bytes.get()));
        port_bytes
            .with_label_values(&[name, "tx"])
            .inc_by(sum(workers, |w| w.ports[i].tx_bytes.get()));
    }

    let nic = devices.nic_stats();
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
    for (port, st) in snap.ports.iter().zip(&nic) {
        let name = port.name.as_str();
        nic_missed.with_label_values(&[name]).inc_by(st.rx_missed);
        nic_rx_errors
            .with_label_values(&[name])
            .inc_by(st.rx_errors);
        nic_tx_errors
            .with_label_values(&[name])
            .inc_by(st.tx_errors);
        nic_nombuf.with_label_values(&[name]).inc_by(st.rx_nombuf);
        nic_packets
            .with_label_values(&[name, "rx"])
            .inc_by(st.rx_packets);
        nic_packets
            .with_label_values(&[name, "tx"])
            .inc_by(st.tx_packets);
    }

    let vni_packets = s.counter("vtepgw_vni_packets_total", "Frames of a VNI: encap = from physical ports into the overlay (once per frame), decap = from the overlay.", &["vni", "direction"]);
    let vni_bytes = s.counter(
        "vtepgw_vni_bytes_total",
        "Inner-frame bytes of a VNI, by direction.",
        &["vni", "direction"],
    );
    let flood = s.counter(
        "vtepgw_flood_replications_total",
        "Copies made when flooding BUM and unknown-unicast frames.",
        &["vni", "target"],
    );
    let mac_entries = s.gauge(
        "vtepgw_mac_table_entries",
        "MAC table entries of a VNI (learned and static).",
        &["vni"],
    );
    let mac_learned = s.counter("vtepgw_mac_learned_total", "MACs learned.", &["vni"]);
    let mac_moves = s.counter(
        "vtepgw_mac_moves_total",
        "Learned MACs that moved to another port or VTEP.",
        &["vni"],
    );
    let mac_aged = s.counter(
        "vtepgw_mac_aged_total",
        "Learned MACs removed after their ageing time.",
        &["vni"],
    );
    let mac_limit = s.counter("vtepgw_mac_limit_hits_total", "Learning refused because the VNI reached its MAC limit (at most once per MAC per second per worker).", &["vni"]);
    for &(vni, slot) in snap.vni_slots() {
        let v = vni.to_string();
        let v = v.as_str();
        let i = usize::from(slot);
        vni_packets
            .with_label_values(&[v, "encap"])
            .inc_by(sum(workers, |w| w.vnis[i].encap_packets.get()));
        vni_packets
            .with_label_values(&[v, "decap"])
            .inc_by(sum(workers, |w| w.vnis[i].decap_packets.get()));
        vni_bytes
            .with_label_values(&[v, "encap"])
            .inc_by(sum(workers, |w| w.vnis[i].encap_bytes.get()));
        vni_bytes
            .with_label_values(&[v, "decap"])
            .inc_by(sum(workers, |w| w.vnis[i].decap_bytes.get()));
        flood
            .with_label_values(&[v, "vtep"])
            .inc_by(sum(workers, |w| w.vnis[i].flood_to_vteps.get()));
        flood
            .with_label_values(&[v, "port"])
            .inc_by(sum(workers, |w| w.vnis[i].flood_to_ports.get()));
        let m = &shared.mac_stats[i];
        mac_entries
            .with_label_values(&[v])
            .set(m.entries.load(Relaxed) as i64);
        mac_learned.with_label_values(&[v]).inc_by(m.learned.get());
        mac_moves.with_label_values(&[v]).inc_by(m.moved.get());
        mac_aged.with_label_values(&[v]).inc_by(m.aged.get());
        mac_limit.with_label_values(&[v]).inc_by(m.limit_hits.get());
    }

    let drops = s.counter(
        "vtepgw_drops_total",
        "Packets dropped, by reason (see the README for each reason).",
        &["reason"],
    );
    for &reason in DropReason::ALL {
        drops
            .with_label_values(&[reason.label()])
            .inc_by(sum(workers, |w| w.drops_for(reason)));
    }

    let c = &shared.control;
    let one = |name: &str, help: &str, value: u64| {
        s.counter(name, help, &[])
            .with_label_values::<&str>(&[])
            .inc_by(value);
    };
    one(
        "vtepgw_arp_requests_sent_total",
        "ARP requests sent to resolve VTEP next hops.",
        c.arp_requests_sent.get(),
    );
    one(
        "vtepgw_arp_replies_sent_total",
        "ARP replies sent for our VTEP address.",
        sum(workers, |w| w.arp_replies_sent.get()),
    );
    one(
        "vtepgw_arp_received_total",
        "ARP requests and replies addressed to our VTEP address.",
        sum(workers, |w| w.arp_seen.get()),
    );
    one(
        "vtepgw_icmp_echo_replies_sent_total",
        "ICMP echo replies sent for our VTEP address.",
        sum(workers, |w| w.icmp_echo_replies_sent.get()),
    );
    one(
        "vtepgw_mac_table_full_total",
        "Learning refused because the whole MAC table is full.",
        c.mac_table_full.get(),
    );
    one(
        "vtepgw_vtep_unreachable_total",
        "Remote VTEPs off the underlay subnet with no gateway configured.",
        c.vtep_unreachable.get(),
    );
    one(
        "vtepgw_events_lost_total",
        "Worker-to-control events lost to a full queue (learning retried on the next frame).",
        sum(workers, |w| w.events_lost.get()) + c.control_frames_lost.get(),
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

    let busy = s.counter("vtepgw_worker_busy_cycles_total", "TSC cycles a worker spent in polls that handled packets; divide by vtepgw_worker_packets_total for cycles per packet.", &["worker"]);
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
    for (i, w) in workers.iter().enumerate() {
        let id = i.to_string();
        busy.with_label_values(&[&id]).inc_by(w.busy_cycles.get());
        packets.with_label_values(&[&id]).inc_by(w.packets.get());
        polls.with_label_values(&[&id]).inc_by(w.polls.get());
    }
    s.gauge("vtepgw_tsc_hz", "Cycle-counter frequency in Hz.", &[])
        .with_label_values::<&str>(&[])
        .set(devices.tsc_hz() as i64);
    s.gauge(
        "vtepgw_config_generation",
        "Generation of the running configuration.",
        &[],
    )
    .with_label_values::<&str>(&[])
    .set(snap.generation as i64);

    let mut out = Vec::new();
    TextEncoder::new()
        .encode(&s.registry.gather(), &mut out)
        .expect("text encoding into a Vec cannot fail");
    String::from_utf8(out).expect("Prometheus text is UTF-8")
}
