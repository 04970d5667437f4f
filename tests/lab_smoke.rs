//! The test lab on its own, without the gateway: the kernel side of every
//! integration test (switch, kernel VTEPs, VLAN host) works, puts the right
//! frames on the gateway's two veths, and is cleaned up. Also the harness's
//! HTTP and metrics parsing. Needs root.

mod common;

use common::*;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

#[test]
fn the_switch_reaches_both_kernel_vteps() {
    let lab = Lab::new();
    lab.sw.run("ip addr add 192.0.2.99/24 dev br0");
    assert!(ping(&lab.sw, HV1_IP, 2), "switch -> hv1");
    assert!(lab.sw.ping(HV2_IP, 2), "switch -> hv2");
    lab.sw.run("ip addr del 192.0.2.99/24 dev br0");
}

#[test]
fn the_lab_is_quiet_without_traffic() {
    let lab = Lab::new();
    let caps = [
        Capture::start(ROOT, &lab.underlay_if(), ""),
        Capture::start(ROOT, &lab.physical_if(), ""),
    ];
    // No IPv6 (RS, MLD), no IGMP from snooping bridges, no STP.
    std::thread::sleep(Duration::from_secs(2));
    for cap in caps {
        let frames = tshark_fields(&cap.stop(), "", &["frame.protocols", "eth.src"]);
        assert!(frames.is_empty(), "unexpected frames: {frames:?}");
    }
}

#[test]
fn the_vlan_host_sends_tagged_frames_to_the_gateway_port() {
    let lab = Lab::new();
    let cap = Capture::start(ROOT, &lab.physical_if(), "vlan 10 and arp");
    // Nobody answers without the gateway; the ARP requests are the point.
    assert!(!lab.ph.ping(H1_IP, 1));
    let rows = tshark_fields(
        &cap.stop_after("arp", 1),
        "arp",
        &[
            "vlan.id",
            "eth.src",
            "eth.dst",
            "arp.opcode",
            "arp.src.proto_ipv4",
            "arp.dst.proto_ipv4",
        ],
    );
    assert!(
        !rows.is_empty(),
        "no VLAN 10 ARP seen on {}",
        lab.physical_if()
    );
    for r in &rows {
        assert_eq!(
            r,
            &["10", PH_MAC, "ff:ff:ff:ff:ff:ff", "1", PH_IP, H1_IP],
            "{rows:?}"
        );
    }
    // Nothing untagged comes out of the access port.
    let cap = Capture::start(ROOT, &lab.physical_if(), "not vlan");
    assert!(!lab.ph.ping(H2_IP, 1));
    let untagged = tshark_fields(&cap.stop(), "", &["eth.src"]);
    assert!(untagged.is_empty(), "untagged frames: {untagged:?}");
}

#[test]
fn a_kernel_vtep_sends_vxlan_to_the_gateway() {
    let lab = Lab::new();
    // Without the gateway nobody answers ARP for 192.0.2.10; give hv1 a
    // neighbour entry with a MAC no one has (the switch floods the frames
    // to every port; the root kernel ignores frames not addressed to it).
    lab.hv1
        .run("ip neigh replace 192.0.2.10 lladdr 02:00:00:00:0a:0a dev u1 nud permanent");
    let cap = Capture::start(ROOT, &lab.underlay_if(), "udp port 4789");
    // ARP from h1 (broadcast): head-end replicated to the gateway.
    assert!(!lab.h1.ping(PH_IP, 1));
    // And a UDP datagram (to a static neighbour): inner checksum offload.
    lab.h1.run(&format!(
        "ip neigh replace {PH_IP} lladdr {PH_MAC} dev eth0 nud permanent"
    ));
    scapy(
        &lab.h1,
        &format!(
            "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n\
             s.sendto(b'smoke', ('{PH_IP}', 7777))"
        ),
    );
    let pcap = cap.stop_after("vxlan && udp.dstport == 7777", 1);
    let rows = tshark_fields(
        &pcap,
        "vxlan",
        &[
            "ip.src",
            "ip.dst",
            "udp.dstport",
            "vxlan.flags",
            "vxlan.vni",
            "eth.dst",
        ],
    );
    assert!(!rows.is_empty(), "no VXLAN on {}", lab.underlay_if());
    for r in &rows {
        assert_eq!(r[0].split(',').next(), Some(HV1_IP), "{r:?}");
        assert_eq!(r[1].split(',').next(), Some(GW_IP), "{r:?}");
        assert_eq!(r[2].split(',').next(), Some("4789"), "{r:?}");
        // tshark shows the 16-bit flags field: 0x0800 is the I flag (0x08).
        assert_eq!(r[3], "0x0800", "{r:?}");
        assert_eq!(r[4], "100", "{r:?}");
        assert_eq!(r[5].split(',').next(), Some("02:00:00:00:0a:0a"), "{r:?}");
    }
    let arp = tshark_fields(
        &pcap,
        "vxlan && arp",
        &["eth.src", "arp.src.proto_ipv4", "arp.dst.proto_ipv4"],
    );
    assert!(
        arp.iter()
            .any(|r| r[0].ends_with(H1_MAC) && r[1] == H1_IP && r[2] == PH_IP),
        "h1's ARP request replicated to the gateway: {arp:?}"
    );
    // `ethtool -K u1 tx off`: complete outer and inner UDP checksums.
    let udp = tshark_fields_checked(
        &pcap,
        "vxlan && udp.dstport == 7777",
        &["udp.checksum.status", "udp.dstport"],
    );
    assert_eq!(udp.len(), 1, "{udp:?}");
    assert_eq!(
        udp[0][0], "1,1",
        "outer and inner UDP checksums good: {udp:?}"
    );
}

#[test]
fn the_udp_port_is_configurable() {
    let lab = Lab::with_udp_port(8472);
    for hv in [&lab.hv1, &lab.hv2] {
        let link = hv.run("ip -d link show vxlan100");
        assert!(link.contains("dstport 8472"), "{link}");
    }
    let config = lab.gateway_config("");
    assert!(config.contains("\nudp_port = 8472\n"), "{config}");
    let config = lab.config_with("udp_port = 4789", "");
    assert_eq!(config.matches("udp_port").count(), 1, "{config}");
}

#[test]
fn the_gateway_config_names_this_labs_devices() {
    let lab = Lab::new();
    let t = &lab.tag;
    let config = lab.gateway_config("[[vni]]\nid = 200\n");
    for want in [
        format!("\"--file-prefix\", \"vtepgw{t}\""),
        format!("\"net_pcap0,iface=vg{t}u,phy_mac=1\""),
        format!("\"net_pcap1,iface=vg{t}p,phy_mac=1\""),
        "listen = \"127.0.0.1:".to_string(),
        "address = \"192.0.2.10/24\"".to_string(),
        "udp_port = 4789".to_string(),
        "vlans = [{ vlan = 10, vni = 100 }]".to_string(),
        "flood = [\"192.0.2.1\", \"192.0.2.2\"]".to_string(),
    ] {
        assert!(config.contains(&want), "missing {want} in:\n{config}");
    }
    assert!(config.trim_end().ends_with("[[vni]]\nid = 200"), "{config}");
    assert_eq!(config.matches("id = 100\n").count(), 1);
}

#[test]
fn dropping_the_lab_removes_everything() {
    let lab = Lab::new();
    let tag = lab.tag.clone();
    // A process left running in a namespace must not keep it alive.
    let _sleeper = lab.h1.spawn("sleep 600");
    let names = sh("ip netns list");
    assert_eq!(names.matches(tag.as_str()).count(), 6, "{names}");
    assert!(sh("ip -o link").contains(&format!("vg{tag}u")));
    drop(lab);
    let names = sh("ip netns list");
    assert!(!names.contains(tag.as_str()), "namespaces left: {names}");
    let links = sh("ip -o link");
    assert!(!links.contains(&format!("vg{tag}")), "links left: {links}");
}

#[test]
fn child_guard_stops_its_process() {
    let ns = Netns::new(&format!("cg{}", unique_tag()));
    let mut child = ns.spawn("sh -c 'echo started; exec sleep 600'");
    wait_until(Duration::from_secs(5), "child output", || {
        child.output().contains("started")
    });
    let pid = child.pid().unwrap();
    assert!(child.is_running());
    drop(child);
    assert!(
        try_sh(&format!("kill -0 {pid} 2>/dev/null")).is_err(),
        "pid {pid} still alive"
    );
}

#[test]
fn unique_tags_fit_interface_names() {
    let a = unique_tag();
    let b = unique_tag();
    assert_ne!(a, b);
    assert!(a.len() <= 5 && a.chars().all(|c| c.is_ascii_alphanumeric()));
    assert!(format!("vg{a}u").len() <= 15);
}

#[test]
fn metric_value_matches_exact_series() {
    let text = "# HELP vtepgw_drops_total Drops.\n\
                # TYPE vtepgw_drops_total counter\n\
                vtepgw_drops_total{reason=\"vxlan_bad_flags\"} 3\n\
                vtepgw_drops_total{reason=\"vxlan_bad_flags_x\"} 9\n\
                vtepgw_vni_packets_total{direction=\"decap\",vni=\"100\"} 12 1700000000000\n\
                vtepgw_up 1\n";
    assert_eq!(
        metric_value(text, r#"vtepgw_drops_total{reason="vxlan_bad_flags"}"#),
        3.0
    );
    assert_eq!(
        metric_value(
            text,
            r#"vtepgw_vni_packets_total{direction="decap",vni="100"}"#
        ),
        12.0
    );
    assert_eq!(metric_value(text, "vtepgw_up"), 1.0);
    assert_eq!(metric_value(text, r#"vtepgw_drops_total{reason="x"}"#), 0.0);
    assert_eq!(metric_value(text, "vtepgw_drops_total"), 0.0);
}

/// Serves each canned response to one connection, after reading the request.
fn serve(responses: Vec<&'static str>) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for resp in responses {
            let (mut s, _) = listener.accept().unwrap();
            let mut buf = [0u8; 4096];
            let mut req = Vec::new();
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = s.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                req.extend_from_slice(&buf[..n]);
            }
            s.write_all(resp.as_bytes()).unwrap();
        }
    });
    addr
}

#[test]
fn http_client_reads_length_chunked_and_close_delimited_bodies() {
    let addr = serve(vec![
        "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nvtep\r\n3;x=y\r\ngw!\r\n0\r\n\r\n",
        "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\nnot ready\n",
    ]);
    assert_eq!(
        http(addr, "GET", "/healthz", &[], "").unwrap(),
        (200, "ok".into())
    );
    assert_eq!(
        http(addr, "GET", "/metrics", &[], "").unwrap(),
        (200, "vtepgw!".into())
    );
    assert_eq!(
        http(
            addr,
            "POST",
            "/x",
            &[("Content-Type", "application/json")],
            "{}"
        )
        .unwrap(),
        (503, "not ready\n".into())
    );
}
