//! The real gateway on DPDK `net_pcap` ports between a VLAN host and
//! two Linux kernel VTEPs (see `common::Lab` for the topology).

mod common;

use common::*;
use std::collections::{HashMap, HashSet};
use std::time::Duration;

fn start(lab: &Lab) -> Gateway {
    Gateway::start(&lab.gateway_config(""))
}

/// Waits until each `(reason, n)` drop counter has reached `n`, then
/// checks each is exactly `n` (with several workers frames may be counted
/// in any order, so waiting for the last one sent is not enough).
fn assert_drops(gw: &Gateway, want: &[(&str, f64)]) {
    let drops = |reason: &str| gw.metric(&format!(r#"vtepgw_drops_total{{reason="{reason}"}}"#));
    wait_until(Duration::from_secs(5), "drop counters", || {
        want.iter().all(|&(reason, n)| drops(reason) >= n)
    });
    for &(reason, n) in want {
        assert_eq!(drops(reason), n, "{reason}");
    }
}

#[test]
fn pings_cross_the_gateway_both_ways() {
    let lab = Lab::new();
    let gw = start(&lab);
    assert!(lab.ph.ping("203.0.113.1", 3), "physical -> h1");
    assert!(lab.ph.ping("203.0.113.2", 3), "physical -> h2");
    assert!(lab.h1.ping("203.0.113.3", 3), "h1 -> physical");
    assert!(lab.h2.ping("203.0.113.3", 3), "h2 -> physical");
    // Learned (by the control thread, after the frames): both overlay
    // hosts behind their VTEPs, the physical host locally.
    wait_for_macs(&gw, 3);
    assert!(gw.metric(r#"vtepgw_vni_packets_total{direction="decap",vni="100"}"#) >= 12.0);
    assert!(gw.metric(r#"vtepgw_vni_packets_total{direction="encap",vni="100"}"#) >= 12.0);
    assert!(gw.stop(), "clean shutdown on SIGTERM");
}

#[test]
fn encapsulation_on_the_wire_field_by_field() {
    let lab = Lab::new();
    let gw = Gateway::start(&lab.config_with("ttl = 17\nsource_ports = \"50000-50999\"", ""));
    let cap = Capture::start(Some(&lab.hv1), "u1", "udp port 4789");
    assert!(lab.ph.ping("203.0.113.1", 3));
    let pcap = cap.stop_after("ip.src==192.0.2.10 && vxlan", 3);
    let gw_mac = lab.gateway_underlay_mac();
    let hv1_mac = lab
        .hv1
        .run("cat /sys/class/net/u1/address")
        .trim()
        .to_string();
    let rows = tshark_fields_checked(
        &pcap,
        "ip.src==192.0.2.10 && vxlan",
        &[
            "eth.src",
            "eth.dst",
            "ip.flags.df",
            "ip.flags.mf",
            "ip.ttl",
            "ip.checksum.status",
            "udp.srcport",
            "udp.dstport",
            "udp.checksum",
            "vxlan.flags",
            "vxlan.reserved8",
            "vxlan.vni",
            "ip.dst",
        ],
    );
    assert!(rows.len() >= 3, "echo requests encapsulated: {rows:?}");
    for r in &rows {
        let first = |i: usize| r[i].split(',').next().unwrap().to_string();
        assert_eq!(first(0), gw_mac, "outer source MAC is the gateway's");
        assert_eq!(first(1), hv1_mac, "outer destination MAC resolved by ARP");
        assert!(
            ["1", "True", "true"].contains(&first(2).as_str()),
            "DF set: {r:?}"
        );
        assert!(
            ["0", "False", "false"].contains(&first(3).as_str()),
            "not a fragment: {r:?}"
        );
        assert_eq!(first(4), "17", "configured TTL");
        assert_eq!(
            first(5),
            "1",
            "IPv4 header checksum verified good (status 1)"
        );
        let sport: u16 = first(6).parse().unwrap();
        assert!(
            (50000..=50999).contains(&sport),
            "source port {sport} in range"
        );
        assert_eq!(first(7), "4789");
        assert_eq!(first(8), "0x0000", "zero UDP checksum");
        assert_eq!(r[9], "0x0800", "VXLAN flags: I only (tshark shows 16 bits)");
        assert_eq!(r[10], "0", "reserved bits zero");
        assert_eq!(r[11], "100");
        assert_eq!(first(12), "192.0.2.1");
    }
    // The kernel VTEP accepted them: the pings above got replies.
    drop(gw);
}

#[test]
fn source_ports_follow_inner_flows() {
    let lab = Lab::new();
    let _gw = start(&lab);
    assert!(lab.ph.ping("203.0.113.1", 1));
    let cap = Capture::start(
        Some(&lab.hv1),
        "u1",
        "udp port 4789 and src host 192.0.2.10",
    );
    // 80 UDP flows (distinct ports), each sent twice.
    scapy(
        &lab.ph,
        r#"
flows = [Ether(src="02:00:00:00:03:01", dst="02:00:00:00:01:01")/IP(src="203.0.113.3", dst="203.0.113.1")/UDP(sport=30000+i, dport=20000+i)/Raw(b"flow") for i in range(80)]
for rnd in range(2):
    for f in flows:
        sendp(f, iface="eth0")
        time.sleep(0.002)
"#,
    );
    let pcap = cap.stop_after("vxlan && udp.dstport >= 20000", 160);
    let rows = tshark_fields(
        &pcap,
        "vxlan && udp.dstport >= 20000",
        &["udp.srcport", "udp.dstport"],
    );
    let mut by_flow: HashMap<u16, Vec<u16>> = HashMap::new();
    for r in &rows {
        let outer: Vec<u16> = r[0].split(',').map(|p| p.parse().unwrap()).collect();
        let inner_dst: u16 = r[1].split(',').nth(1).unwrap().parse().unwrap();
        assert!(
            outer[0] >= 49152,
            "source port {} in the default range",
            outer[0]
        );
        by_flow.entry(inner_dst).or_default().push(outer[0]);
    }
    assert_eq!(by_flow.len(), 80, "every flow captured");
    assert!(
        by_flow
            .values()
            .all(|ports| ports.len() == 2 && ports[0] == ports[1]),
        "each flow seen twice with the same source port: {by_flow:?}"
    );
    let distinct: HashSet<u16> = by_flow.values().flatten().copied().collect();
    assert!(
        distinct.len() >= 60,
        "80 flows took only {} source ports",
        distinct.len()
    );
}

const BUM_FROM_PHYS: &str = r#"
sendp(Ether(src="02:00:00:00:03:01", dst="ff:ff:ff:ff:ff:ff")/IP(src="203.0.113.3", dst="203.0.113.255")/UDP(sport=5555, dport=9999)/Raw(b"bum-from-phys"), iface="eth0")
"#;

#[test]
fn bum_from_the_physical_side_reaches_each_vtep_once() {
    let lab = Lab::new();
    let gw = start(&lab);
    assert!(lab.ph.ping("203.0.113.1", 1)); // next hops resolved
    let caps = [
        Capture::start(Some(&lab.hv1), "u1", "udp port 4789"),
        Capture::start(Some(&lab.hv2), "u1", "udp port 4789"),
    ];
    scapy(&lab.ph, BUM_FROM_PHYS);
    let copies = r#"vtepgw_flood_replications_total{target="vtep",vni="100"}"#;
    wait_until(Duration::from_secs(5), "both copies sent", || {
        gw.metric(copies) >= 2.0
    });
    for cap in caps {
        let pcap = cap.stop_after("vxlan && udp.dstport == 9999", 1);
        let rows = tshark_fields(
            &pcap,
            "vxlan && udp.dstport == 9999",
            &["vxlan.vni", "eth.dst"],
        );
        assert_eq!(rows.len(), 1, "exactly one copy per VTEP: {rows:?}");
        assert_eq!(rows[0][0], "100");
        assert!(
            rows[0][1].ends_with("ff:ff:ff:ff:ff:ff"),
            "inner frame still broadcast"
        );
    }
    assert!(gw.metric(r#"vtepgw_flood_replications_total{target="vtep",vni="100"}"#) >= 2.0);
}

#[test]
fn bum_from_one_vtep_is_not_sent_to_another() {
    let lab = Lab::new();
    let _gw = start(&lab);
    assert!(lab.ph.ping("203.0.113.2", 1));
    let to_hv2 = Capture::start(Some(&lab.hv2), "u1", "udp port 4789");
    let to_ph = Capture::start(Some(&lab.ph), "eth0", "");
    scapy(
        &lab.h1,
        r#"sendp(Ether(src="02:00:00:00:01:01", dst="ff:ff:ff:ff:ff:ff")/IP(src="203.0.113.1", dst="203.0.113.255")/UDP(sport=5555, dport=9999)/Raw(b"bum-from-h1"), iface="eth0")"#,
    );
    // Once the VLAN's copy is out, the gateway has handled the frame: a
    // copy for hv2 would have left in the same poll.
    let at_ph = tshark_fields(
        &to_ph.stop_after("udp.dstport == 9999", 1),
        "udp.dstport == 9999",
        &["vlan.id"],
    );
    assert_eq!(
        at_ph,
        vec![vec!["10".to_string()]],
        "delivered once to the VLAN, tagged 10"
    );
    let at_hv2 = tshark_fields(&to_hv2.stop(), "udp.dstport == 9999", &["ip.src"]);
    assert!(at_hv2.is_empty(), "split horizon: hv2 got {at_hv2:?}");
}

#[test]
fn malformed_vxlan_is_dropped_by_reason_and_traffic_continues() {
    let lab = Lab::new();
    let gw = start(&lab);
    assert!(lab.ph.ping("203.0.113.1", 1));
    let gw_mac = lab.gateway_underlay_mac();
    scapy(
        &lab.hv1,
        &format!(
            r#"
hv1 = get_if_hwaddr("u1")
outer = Ether(src=hv1, dst="{gw_mac}")/IP(src="192.0.2.1", dst="192.0.2.10", flags="DF")
inner = Ether(src="02:00:00:00:01:01", dst="02:00:00:00:03:01")/IP(src="203.0.113.1", dst="203.0.113.3")/UDP(dport=7)/Raw(b"x"*20)
frames = [
    outer/UDP(sport=40000, dport=4789)/VXLAN(flags=0x00, vni=100)/inner,           # bad flags
    outer/UDP(sport=40000, dport=4789)/VXLAN(flags=0x08, vni=999)/inner,           # unknown VNI
    outer/UDP(sport=40000, dport=4789)/Raw(b"\x08\x00\x00"),                       # truncated VXLAN
    outer/UDP(sport=40000, dport=4789)/VXLAN(flags=0x08, vni=100)/Ether(src="02:00:00:00:01:01", dst="02:00:00:00:03:01")/Dot1Q(vlan=10)/IP()/UDP(),  # inner VLAN
]
for f in frames:
    sendp(f, iface="u1")
"#
        ),
    );
    assert_drops(
        &gw,
        &[
            ("bad_vxlan_flags", 1.0),
            ("unknown_vni", 1.0),
            ("truncated", 1.0),
            ("inner_vlan_tag", 1.0),
        ],
    );
    assert!(lab.ph.ping("203.0.113.1", 3), "traffic keeps flowing");
    assert!(lab.h2.ping("203.0.113.3", 3));
}

#[test]
fn learned_macs_age_out() {
    let lab = Lab::new();
    let gw = Gateway::start(
        &lab.gateway_config("")
            .replace("id = 100\n", "id = 100\nmac_ageing_secs = 2\n"),
    );
    assert!(lab.ph.ping("203.0.113.1", 1));
    wait_for_macs(&gw, 2);
    wait_until(Duration::from_secs(10), "MACs to age out", || {
        gw.metric(r#"vtepgw_mac_table_entries{vni="100"}"#) == 0.0
    });
    assert!(gw.metric(r#"vtepgw_mac_aged_total{vni="100"}"#) >= 2.0);
    // And they are learned again on the next packet.
    assert!(lab.ph.ping("203.0.113.1", 1));
    wait_for_macs(&gw, 2);
}

#[test]
fn flannel_port_8472_works() {
    let lab = Lab::with_udp_port(8472);
    let _gw = Gateway::start(&lab.config_with("udp_port = 8472", ""));
    assert!(lab.ph.ping("203.0.113.2", 3));
}

#[test]
fn live_metrics_pass_promtool() {
    let lab = Lab::new();
    let gw = start(&lab);
    assert!(lab.ph.ping("203.0.113.1", 2));
    let path = temp_path("metrics.txt");
    std::fs::write(&path, gw.metrics()).unwrap();
    let out = try_sh(&format!("promtool check metrics < {}", path.display()));
    assert!(out.is_ok(), "promtool: {out:?}");
}

#[test]
fn a_bad_config_is_refused_before_dpdk_starts() {
    let lab = Lab::new();
    let config = lab.gateway_config("").replace(
        "vlans = [{ vlan = 10, vni = 100 }]",
        "vlans = [{ vlan = 10, vni = 101 }]",
    );
    let path = temp_path("bad.toml");
    std::fs::write(&path, config).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vtepgw"))
        .args(["run", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success());
    assert!(
        text.contains("port[0].vlans[0].vni"),
        "names the field: {text}"
    );
    assert!(!text.contains("EAL:"), "DPDK never started: {text}");
}

const MTU_DROPS: &str = r#"vtepgw_drops_total{reason="mtu_exceeded"}"#;

/// `ping -M do -s size`: DF set, `size` bytes of ICMP payload (an IP
/// packet of `size + 28`); true if any reply came back.
fn ping_sized(ns: &Netns, dst: &str, size: u32, count: u32) -> bool {
    ns.try_run(&format!(
        "ping -n -q -M do -s {size} -c {count} -i 0.2 -W 2 {dst}"
    ))
    .is_ok()
}

/// Pings `dst` from `ns` with `count` echo requests of `size` bytes that
/// must all be lost, and checks that the gateway counted each one (and
/// nothing else) as `mtu_exceeded`.
fn assert_oversize_dropped(gw: &Gateway, ns: &Netns, dst: &str, size: u32, count: u32) {
    let before = gw.metric(MTU_DROPS);
    assert!(
        !ping_sized(ns, dst, size, count),
        "{} -> {dst}: {size}-byte pings got through",
        ns.name
    );
    let want = before + f64::from(count);
    wait_until(Duration::from_secs(5), "mtu_exceeded drops", || {
        gw.metric(MTU_DROPS) >= want
    });
    assert_eq!(
        gw.metric(MTU_DROPS),
        want,
        "one mtu_exceeded drop per {size}-byte echo request"
    );
}

/// Waits until the gateway knows both hosts of a ping (the physical host
/// and h1), so a frame between them is unicast (one copy, one drop) rather
/// than flooded.
fn wait_for_both_macs(gw: &Gateway) {
    wait_for_macs(gw, 2);
}

/// Waits until VNI 100's MAC table holds at least `n` entries (learning
/// happens on the control thread, shortly after the frames).
fn wait_for_macs(gw: &Gateway, n: u32) {
    wait_until(Duration::from_secs(5), &format!("{n} MACs learned"), || {
        gw.metric(r#"vtepgw_mac_table_entries{vni="100"}"#) >= f64::from(n)
    });
}

#[test]
fn oversize_frames_to_the_overlay_are_dropped_and_counted() {
    let lab = Lab::new();
    // An underlay MTU of 1400 cannot carry the VLAN's 1500-byte frames: the
    // config is accepted only with the override, and the data plane then
    // drops (never fragments) what would not fit.
    let gw = Gateway::start(&lab.config_with("mtu = 1400\nmtu_check = \"warn\"", ""));
    assert!(lab.ph.ping(H1_IP, 2), "normal frames pass");
    wait_for_both_macs(&gw);
    assert_eq!(gw.metric(MTU_DROPS), 0.0);
    let cap = Capture::start(Some(&lab.hv1), "u1", "udp port 4789");
    // Inner frame 14 + 1350 (a 1322-byte ping) + 36 = 1400: fits exactly.
    assert!(
        ping_sized(&lab.ph, H1_IP, 1322, 3),
        "the largest frame that fits the underlay passes"
    );
    assert_eq!(gw.metric(MTU_DROPS), 0.0, "nothing dropped at the limit");
    // One byte more, and well over.
    assert_oversize_dropped(&gw, &lab.ph, H1_IP, 1323, 3);
    assert_oversize_dropped(&gw, &lab.ph, H1_IP, 1400, 2);
    assert!(lab.ph.ping(H1_IP, 2), "normal frames still pass");
    let pcap = cap.stop_after("ip.src == 192.0.2.10 && ip.len == 1400", 3);
    let over = tshark_fields(&pcap, "ip.len > 1400", &["ip.src", "ip.len"]);
    assert!(over.is_empty(), "nothing over the underlay MTU: {over:?}");
    let at_limit = tshark_fields(&pcap, "ip.src == 192.0.2.10 && ip.len == 1400", &["ip.len"]);
    assert_eq!(
        at_limit.len(),
        3,
        "the 3 fitting echo requests went out whole: {at_limit:?}"
    );
}

#[test]
fn oversize_frames_from_the_overlay_are_dropped_and_counted() {
    let lab = Lab::new();
    let config = lab.gateway_config("").replace(
        "device = \"net_pcap1\"\n",
        "device = \"net_pcap1\"\nmtu = 1300\n",
    );
    assert!(config.contains("mtu = 1300"), "port MTU set: {config}");
    let gw = Gateway::start(&config);
    assert!(lab.h1.ping(PH_IP, 2), "normal frames pass");
    wait_for_both_macs(&gw);
    assert_eq!(gw.metric(MTU_DROPS), 0.0);
    let cap = Capture::start(&lab.ph, "eth0", "");
    // A 1272-byte ping is a 1300-byte IP packet: exactly the port's MTU.
    assert!(
        ping_sized(&lab.h1, PH_IP, 1272, 3),
        "the largest frame that fits the port passes"
    );
    assert_eq!(gw.metric(MTU_DROPS), 0.0, "nothing dropped at the limit");
    // One byte more, and well over (the kernel VTEP carries up to 1450).
    assert_oversize_dropped(&gw, &lab.h1, PH_IP, 1273, 3);
    assert_oversize_dropped(&gw, &lab.h1, PH_IP, 1400, 2);
    assert!(lab.h1.ping(PH_IP, 2), "normal frames still pass");
    let pcap = cap.stop_after("icmp.type == 8 && ip.len == 1300", 3);
    let over = tshark_fields(&pcap, "ip.len > 1300", &["ip.src", "ip.len"]);
    assert!(over.is_empty(), "nothing over the port MTU: {over:?}");
    let at_limit = tshark_fields(&pcap, "icmp.type == 8 && ip.len == 1300", &["vlan.id"]);
    assert_eq!(
        at_limit,
        vec![vec!["10".to_string()]; 3],
        "the 3 fitting echo requests arrived whole, tagged"
    );
}

#[test]
fn outer_fragments_are_counted_as_they_were_on_the_wire() {
    let lab = Lab::new();
    let gw = start(&lab);
    assert!(lab.ph.ping(H1_IP, 1));
    let gw_mac = lab.gateway_underlay_mac();
    // A lone first fragment, a lone later one, and a complete set that a
    // defragmenting reader would hand over as one VXLAN packet.
    let out = scapy(
        &lab.hv1,
        &format!(
            r#"
hv1 = get_if_hwaddr("u1")
eth = Ether(src=hv1, dst="{gw_mac}")
inner = Ether(src="02:00:00:00:01:01", dst="02:00:00:00:03:01")/IP(src="203.0.113.1", dst="203.0.113.3")/UDP(dport=7)/Raw(b"x"*300)
whole = IP(src="192.0.2.1", dst="192.0.2.10", id=4242)/UDP(sport=40000, dport=4789)/VXLAN(flags=0x08, vni=100)/inner
frames = [eth/IP(src="192.0.2.1", dst="192.0.2.10", id=1, flags="MF")/UDP(sport=40000, dport=4789)/VXLAN(flags=0x08, vni=100)/inner,
          eth/IP(src="192.0.2.1", dst="192.0.2.10", id=2, frag=100, proto=17)/Raw(b"y"*64)]
frames += [eth/f for f in fragment(whole, fragsize=128)]
sendp(frames, iface="u1")
print(len(frames))
"#
        ),
    );
    let sent: f64 = out.trim().parse().expect("frame count");
    assert!(sent >= 4.0, "a set of several fragments: {sent}");
    assert_drops(&gw, &[("outer_fragment", sent)]);
    assert!(lab.ph.ping(H1_IP, 2), "traffic keeps flowing");
}

#[test]
fn vxlan_from_addresses_no_vtep_has_is_dropped_and_not_learned() {
    let lab = Lab::new();
    let gw = start(&lab);
    assert!(lab.ph.ping(H1_IP, 1));
    let gw_mac = lab.gateway_underlay_mac();
    let sources = [
        GW_IP,
        "255.255.255.255",
        "192.0.2.255",
        "239.1.1.1",
        "0.0.0.0",
        "127.0.0.1",
        "240.0.0.1",
    ];
    scapy(
        &lab.hv1,
        &format!(
            r#"
hv1 = get_if_hwaddr("u1")
for i, src in enumerate({sources:?}):
    inner = Ether(src="02:00:00:00:77:%02x" % i, dst="02:00:00:00:03:01")/IP(src="203.0.113.77", dst="203.0.113.3")/UDP(dport=7)/Raw(b"x"*20)
    sendp(Ether(src=hv1, dst="{gw_mac}")/IP(src=src, dst="192.0.2.10")/UDP(sport=40000, dport=4789)/VXLAN(flags=0x08, vni=100)/inner, iface="u1")
"#
        ),
    );
    assert_drops(&gw, &[("bad_outer_source", sources.len() as f64)]);
    let (_, macs) = gw.http_get("/api/v1/macs?vni=100");
    assert!(!macs.contains("02:00:00:00:77"), "none learned: {macs}");
    let (_, vteps) = gw.http_get("/api/v1/vteps");
    for src in sources {
        assert!(
            !vteps.contains(&format!("\"{src}\"")),
            "no VTEP {src}: {vteps}"
        );
    }
    assert!(lab.ph.ping(H1_IP, 2), "traffic keeps flowing");
}

#[test]
fn oversize_frames_at_the_default_mtu_reach_the_gateway_and_are_counted() {
    let lab = Lab::new();
    let gw = start(&lab);
    assert!(lab.ph.ping(H1_IP, 2), "normal frames pass");
    wait_for_both_macs(&gw);
    // The host's link can carry more than the port's default 1500: a
    // 1501-byte packet must reach the gateway (the kernel side of its veth
    // is sized to the buffers) and be counted there, not lost uncounted.
    lab.ph.run("ip link set eth0 mtu 1600");
    let mtu: u32 = sh(&format!("cat /sys/class/net/{}/mtu", lab.physical_if()))
        .trim()
        .parse()
        .unwrap();
    assert!(mtu > 1500, "the gateway's veth takes more than 1500: {mtu}");
    assert_oversize_dropped(&gw, &lab.ph, H1_IP, 1473, 3);
    // An orderly stop gives the interface its MTU back.
    assert!(gw.stop());
    let mtu = sh(&format!("cat /sys/class/net/{}/mtu", lab.physical_if()));
    assert_eq!(mtu.trim(), "1500", "kernel MTU restored");
}

#[test]
fn a_kernel_vtep_that_changes_its_mac_is_followed_at_once() {
    let lab = Lab::new();
    let gw = start(&lab);
    assert!(lab.ph.ping(H1_IP, 2));
    let changes = "vtepgw_next_hop_mac_changes_total";
    assert_eq!(gw.metric(changes), 0.0);
    // With arp_notify, Linux announces a new MAC by gratuitous ARP, as a
    // VTEP does after a NIC swap or a failover.
    lab.hv1.run(
        "sysctl -qw net.ipv4.conf.u1.arp_notify=1 && ip link set u1 address 02:00:00:00:0b:01",
    );
    wait_until(Duration::from_secs(5), "the new MAC taken", || {
        gw.metric(changes) == 1.0
    });
    let (_, vteps) = gw.http_get("/api/v1/vteps");
    assert!(
        vteps.contains("02:00:00:00:0b:01"),
        "next hop updated: {vteps}"
    );
    // No periodic re-ARP needed: traffic flows to the new MAC right away.
    let cap = Capture::start(
        Some(&lab.hv1),
        "u1",
        "udp port 4789 and src host 192.0.2.10",
    );
    assert!(lab.ph.ping(H1_IP, 2), "traffic follows the new MAC");
    let rows = tshark_fields(&cap.stop_after("vxlan", 2), "vxlan", &["eth.dst"]);
    assert!(
        rows.iter().all(|r| r[0].starts_with("02:00:00:00:0b:01")),
        "{rows:?}"
    );
}

/// Per-worker `vtepgw_worker_packets_total`, workers 0 and 1.
fn worker_packets(gw: &Gateway) -> [f64; 2] {
    let m = gw.metrics();
    [0, 1].map(|w| {
        metric_value(
            &m,
            &format!(r#"vtepgw_worker_packets_total{{worker="{w}"}}"#),
        )
    })
}

/// Sends `FLOWS` UDP flows × `PER_FLOW` packets from `ns` (source MAC
/// `src_mac`, IP `src_ip`) to `dst_mac`, numbered in the IP ID, flow by
/// source port, interleaved (round r sends packet r of every flow). The
/// destination IP is nobody's, so the receiving kernel drops them quietly.
fn send_numbered_flows(ns: &Netns, src_mac: &str, src_ip: &str, dst_mac: &str) {
    scapy(
        ns,
        &format!(
            r#"
s = conf.L2socket(iface="eth0")
for seq in range({PER_FLOW}):
    for f in range({FLOWS}):
        s.send(Ether(src="{src_mac}", dst="{dst_mac}")/IP(src="{src_ip}", dst="{NOBODY}", id=seq)/UDP(sport=40000+f, dport=7777)/Raw(b"multiqueue"))
    time.sleep(0.001)
s.close()
"#
        ),
    );
}

const FLOWS: u16 = 64;
const PER_FLOW: u16 = 50;
const NOBODY: &str = "203.0.113.99";

/// Checks a capture of the numbered flows: every packet exactly once, and
/// in order within each flow.
fn assert_each_flow_complete_and_in_order(pcap: &std::path::Path) {
    let filter = format!("udp.dstport == 7777 && ip.dst == {NOBODY}");
    let rows = tshark_fields(pcap, &filter, &["udp.srcport", "ip.id"]);
    let mut by_flow: HashMap<u16, Vec<u16>> = HashMap::new();
    for r in &rows {
        let flow: u16 = r[0].parse().unwrap();
        let id = u16::from_str_radix(r[1].trim_start_matches("0x"), 16).unwrap();
        by_flow.entry(flow).or_default().push(id);
    }
    assert_eq!(by_flow.len(), usize::from(FLOWS), "every flow arrived");
    let want: Vec<u16> = (0..PER_FLOW).collect();
    for (flow, ids) in &by_flow {
        assert_eq!(
            ids, &want,
            "flow {flow}: each packet once, in order (lost, duplicated or reordered)"
        );
    }
    assert_eq!(rows.len(), usize::from(FLOWS * PER_FLOW));
}

#[test]
fn two_workers_on_two_queues_lose_reorder_and_double_count_nothing() {
    let lab = Lab::new();
    let gw = Gateway::start(&lab.two_worker_config(""));
    // No ARP from the hosts' kernels (a late probe would be one more
    // frame counted), and both hosts learned, so what follows is unicast.
    lab.ph.run(&format!(
        "ip neigh replace {H1_IP} lladdr {H1_MAC} dev eth0 nud permanent"
    ));
    lab.h1.run(&format!(
        "ip neigh replace {PH_IP} lladdr {PH_MAC} dev eth0 nud permanent"
    ));
    assert!(lab.ph.ping(H1_IP, 2), "physical -> h1");
    assert!(lab.h1.ping(PH_IP, 2), "h1 -> physical");
    wait_for_macs(&gw, 2);
    let total = f64::from(FLOWS * PER_FLOW);
    let vni = |dir: &str| {
        gw.metric(&format!(
            r#"vtepgw_vni_packets_total{{direction="{dir}",vni="100"}}"#
        ))
    };

    for (from, src_mac, src_ip, to, dst_mac, dir) in [
        (&lab.ph, PH_MAC, PH_IP, &lab.h1, H1_MAC, "encap"),
        (&lab.h1, H1_MAC, H1_IP, &lab.ph, PH_MAC, "decap"),
    ] {
        let (before, workers_before) = (vni(dir), worker_packets(&gw));
        let cap = Capture::start(to, "eth0", "udp port 7777");
        send_numbered_flows(from, src_mac, src_ip, dst_mac);
        // Counted once each: wait for the count, then it must be exact.
        let start = std::time::Instant::now();
        while vni(dir) - before < total {
            if start.elapsed() > Duration::from_secs(20) {
                let m = gw.metrics();
                let missed: Vec<&str> = m.lines().filter(|l| l.contains("nic_rx_missed")).collect();
                panic!(
                    "{dir}: the gateway counted {} of {total} packets; {missed:?}",
                    vni(dir) - before
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let pcap = cap.stop_after(
            &format!("udp.dstport == 7777 && ip.dst == {NOBODY}"),
            usize::from(FLOWS * PER_FLOW),
        );
        assert_each_flow_complete_and_in_order(&pcap);
        assert_eq!(vni(dir) - before, total, "{dir}: each packet counted once");
        let workers = worker_packets(&gw);
        let handled = [0, 1].map(|w| workers[w] - workers_before[w]);
        assert!(
            handled.iter().all(|&n| n > 0.0),
            "{dir}: the flows were spread over both workers: {handled:?}"
        );
        assert!(handled[0] + handled[1] >= total, "{dir}: {handled:?}");
    }
    assert!(gw.stop(), "clean shutdown on SIGTERM");
}

/// A flood's copies share the payload where the TX device takes chained
/// frames (net_af_packet does; net_pcap of DPDK 22.11 does not say so): the
/// first VTEP's copy is a fresh header segment chained to a clone of the
/// original, the last is the original. Both must be byte-exact on the wire.
#[test]
fn shared_flood_copies_are_byte_exact_on_the_wire() {
    let lab = Lab::new();
    let gw = Gateway::start(&lab.two_worker_config(""));
    assert!(
        gw.log().contains("tx_multi_segs"),
        "net_af_packet takes chained frames, so flood copies share: {}",
        tail(&gw.log(), 20)
    );
    assert!(lab.ph.ping("203.0.113.1", 1) && lab.ph.ping("203.0.113.2", 1));
    let caps = [
        Capture::start(Some(&lab.hv1), "u1", "udp port 4789"),
        Capture::start(Some(&lab.hv2), "u1", "udp port 4789"),
    ];
    let inner = r#"Ether(src="02:00:00:00:03:01", dst="ff:ff:ff:ff:ff:ff")/IP(src="203.0.113.3", dst="203.0.113.255")/UDP(sport=5556, dport=9998)/Raw(bytes(range(256))*4)"#;
    scapy(&lab.ph, &format!("sendp({inner}, iface=\"eth0\")"));
    for cap in caps {
        let pcap = cap.stop_after("vxlan && udp.dstport == 9998", 1);
        let check = format!(
            r#"
sent = bytes({inner})
got = [bytes(p) for p in rdpcap("{}") if p.haslayer(UDP) and p[UDP].dport == 4789 and bytes(p)[50:] == sent]
assert len(got) == 1, "copies with the exact inner frame: %d" % len(got)
f = got[0]
ip = IP(f[14:34] + b"\0" * (len(f) - 34))
assert len(f) == 50 + len(sent) and ip.len == len(f) - 14, (len(f), ip.len)
assert int.from_bytes(f[38:40], "big") == len(f) - 34, "UDP length"
del ip.chksum
assert IP(bytes(ip)).chksum == int.from_bytes(f[24:26], "big"), "outer IPv4 checksum"
print("ok")
"#,
            pcap.display()
        );
        assert_eq!(scapy(&lab.ph, &check).trim(), "ok");
    }
}
