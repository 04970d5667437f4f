//! The centralized L3 gateway (issue 10): hosts on two VNIs (and the VLAN
//! host on VNI 100) use the gateway addresses as their default routers,
//! and the gateway routes between the VNIs (see `common::l3lab::L3Lab`).

mod common;

use common::l3lab::*;
use common::*;
use std::time::Duration;

const SECS: Duration = Duration::from_secs(15);

/// `vtepgw_drops_total{reason}`.
fn drops(gw: &Gateway, reason: &str) -> f64 {
    gw.metric(&format!(r#"vtepgw_drops_total{{reason="{reason}"}}"#))
}

/// One echo request with 5 s for the reply (the gateway may first have to
/// resolve the destination); ping's output, or a panic with it and the
/// gateway's log.
fn ping_once(gw: &Gateway, from: &Netns, dst: &str) -> String {
    from.try_run(&format!("ping -n -c 1 -W 5 {dst}"))
        .unwrap_or_else(|e| {
            panic!(
                "{} -> {dst}: no reply: {e}\ngateway log:\n{}",
                from.name,
                tail(&gw.log(), 30)
            )
        })
}

/// The TTL of the (first) echo reply in ping's output (`ttl=63`).
fn reply_ttl(ping_output: &str) -> Option<u8> {
    let rest = &ping_output[ping_output.find("ttl=")? + 4..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// `ip neigh show ADDR dev eth0` in `ns`.
fn neighbour(ns: &Netns, addr: &str) -> String {
    ns.run(&format!("ip neigh show {addr} dev eth0"))
        .trim()
        .to_string()
}

#[test]
fn reply_ttl_is_read_from_ping_output() {
    let out = "64 bytes from 198.51.100.2: icmp_seq=1 ttl=63 time=0.5 ms\n";
    assert_eq!(reply_ttl(out), Some(63));
    assert_eq!(reply_ttl("1 packets transmitted, 0 received"), None);
}

/// Also the gateway's ARP on both sides: the hosts learned the gateway
/// addresses from its replies, through a kernel VTEP and on the VLAN.
#[test]
fn hosts_ping_across_vnis_through_the_gateway_from_a_cold_start() {
    let lab = L3Lab::new();
    let gw = Gateway::start(&lab.gateway_config("", "", ""));

    // The very first packet: h1 resolves its router, the gateway holds the
    // echo request while it resolves h2, and only one request is sent.
    let first = ping_once(&gw, &lab.h1, L3_H2_IP);
    // Linux answers with TTL 64; the gateway routes the reply once.
    assert_eq!(reply_ttl(&first), Some(63), "h1 -> h2: {first}");

    ping_once(&gw, &lab.ph, L3_H2_IP);
    ping_once(&gw, &lab.h2, PH_IP);
    ping_once(&gw, &lab.h2, H1_IP);

    // The gateway's own addresses: the near one, and the other VNI's
    // (routed to the gateway itself).
    for host in [&lab.h1, &lab.ph] {
        ping_once(&gw, host, GW1_IP);
        ping_once(&gw, host, GW2_IP);
    }
    ping_once(&gw, &lab.h2, GW2_IP);

    for (host, router) in [(&lab.h1, GW1_IP), (&lab.ph, GW1_IP), (&lab.h2, GW2_IP)] {
        let entry = neighbour(host, router);
        assert!(
            entry.contains(&format!("lladdr {GW_MAC}")),
            "{}: {router} is not at the derived gateway MAC: {entry:?}",
            host.name
        );
    }
    assert!(gw.stop(), "clean shutdown on SIGTERM");
}

#[test]
fn a_routed_frame_leaves_with_the_gateway_mac_and_ttl_minus_one() {
    let lab = L3Lab::new();
    let gw = Gateway::start(&lab.gateway_config("", "", ""));
    let cap = Capture::start(&lab.h2, "eth0", "icmp");
    // Any reply will do here: the cold-start test covers the first one.
    assert!(
        lab.h1.ping(L3_H2_IP, 3),
        "h1 -> h2: {}",
        tail(&gw.log(), 30)
    );
    let requests = "icmp.type == 8";
    let rows = tshark_fields(
        &cap.stop_after(requests, 1),
        requests,
        &["eth.src", "eth.dst", "ip.ttl", "ip.src", "ip.dst"],
    );
    assert!(!rows.is_empty());
    for r in &rows {
        assert_eq!(
            r,
            &[GW_MAC, H2_MAC, "63", H1_IP, L3_H2_IP],
            "echo request as h2 received it (eth.src, eth.dst, ip.ttl, ip.src, ip.dst)"
        );
    }
}

#[test]
fn vrfs_keep_tenants_apart() {
    let lab = L3Lab::new();
    let gw = Gateway::start(&lab.vrf_config("red", ""));
    let at_hv2 = Capture::start(&lab.hv2, "u1", "udp port 4789");

    assert!(
        lab.h1
            .try_run(&format!("ping -n -c 2 -W 1 {L3_H2_IP}"))
            .is_err(),
        "h1 (VRF default) reached h2 (VRF red)"
    );
    // Both echo requests reached the gateway, and neither found a route.
    wait_until(SECS, "2 no_route drops", || drops(&gw, "no_route") >= 2.0);
    let leaked = tshark_fields(&at_hv2.stop(), "ip.src == 203.0.113.1", &["ip.dst"]);
    assert!(
        leaked.is_empty(),
        "h1's packets reached VNI 200: {leaked:?}"
    );

    // Each tenant still reaches its own gateway.
    ping_once(&gw, &lab.h2, GW2_IP);
    ping_once(&gw, &lab.h1, GW1_IP);
}

#[test]
fn an_unresolvable_neighbour_is_dropped_and_counted() {
    let lab = L3Lab::new();
    let gw = Gateway::start(&lab.gateway_config(
        "",
        "",
        "[neighbour]\nretries = 2\nretry_interval_ms = 200",
    ));
    let at_hv2 = Capture::start(&lab.hv2, "u1", "udp port 4789");

    assert!(
        lab.h1
            .try_run(&format!("ping -n -c 1 -W 1 {NOBODY_IP}"))
            .is_err(),
        "someone answered for {NOBODY_IP}"
    );
    wait_until(SECS, "a neighbour_unresolved drop", || {
        drops(&gw, "neighbour_unresolved") >= 1.0
    });

    // The gateway asked (retries = 2 requests) in VNI 200, from its
    // address and MAC there. Outer and inner fields come as "outer,inner".
    let asks = format!("vxlan.vni == {L3_VNI2} && arp.dst.proto_ipv4 == {NOBODY_IP}");
    let rows = tshark_fields(
        &at_hv2.stop_after(&asks, 2),
        &asks,
        &[
            "ip.src",
            "eth.src",
            "arp.opcode",
            "arp.src.hw_mac",
            "arp.src.proto_ipv4",
        ],
    );
    assert!(rows.len() >= 2, "ARP requests for {NOBODY_IP}: {rows:?}");
    for r in &rows {
        let inner_src = r[1].rsplit(',').next().unwrap();
        assert_eq!(r[0], GW_IP, "sent by the gateway's VTEP: {rows:?}");
        assert_eq!(inner_src, GW_MAC, "{rows:?}");
        assert_eq!(&r[2..], &["1", GW_MAC, GW2_IP], "{rows:?}");
    }
}

/// `traceroute` (UDP probes) from h1 to h2: the gateway is one hop,
/// answering from its address on h1's VNI, and h2 is the second.
#[test]
fn traceroute_shows_the_gateway_as_one_hop() {
    let lab = L3Lab::new();
    let gw = Gateway::start(&lab.gateway_config("", "", ""));
    // h2's gateway learns h2 first, so probes are not held.
    ping_once(&gw, &lab.h1, L3_H2_IP);
    let out = lab
        .h1
        .run(&format!("traceroute -n -q 1 -w 2 -m 5 {L3_H2_IP}"));
    let hops: Vec<&str> = out
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().nth(1))
        .collect();
    assert_eq!(hops, [GW1_IP, L3_H2_IP], "{out}");
    assert!(gw.metric(r#"vtepgw_drops_total{reason="ttl_exceeded"}"#) >= 1.0);
}

/// Unreachable: net (no route) and host (a neighbour that never answers),
/// both from the gateway address of h1's VNI, as ping prints them.
#[test]
fn unreachable_destinations_are_reported_to_the_sender() {
    let lab = L3Lab::new();
    let gw = Gateway::start(&lab.gateway_config(
        "",
        "",
        "[neighbour]\nretries = 2\nretry_interval_ms = 200",
    ));
    // 192.0.2.0/26 is in no route of the VRF (the uplink is .64/26 and the
    // routed network .128/25).
    let net = lab
        .h1
        .try_run("ping -n -c 1 -W 3 192.0.2.30")
        .expect_err("no route there");
    assert!(
        net.contains(&format!("From {GW1_IP}")) && net.contains("Destination Net Unreachable"),
        "{net}"
    );
    let host = lab
        .h1
        .try_run(&format!("ping -n -c 1 -W 3 {NOBODY_IP}"))
        .expect_err("nobody there");
    assert!(
        host.contains(&format!("From {GW1_IP}")) && host.contains("Destination Host Unreachable"),
        "{host}"
    );
    let sent = |kind: &str| gw.metric(&format!(r#"vtepgw_drops_total{{reason="{kind}"}}"#));
    assert!(sent("no_route") >= 1.0 && sent("neighbour_unresolved") >= 1.0);
}

/// `tracepath` from VNI 100 (MTU 1500, hosts at 1450) into VNI 200 with a
/// smaller MTU: the gateway's fragmentation-needed errors carry 1400, and
/// path MTU discovery finds it.
#[test]
fn tracepath_discovers_the_smaller_mtu_behind_the_gateway() {
    let lab = L3Lab::new();
    let gw = Gateway::start(&lab.gateway_config("", "mtu = 1400", ""));
    ping_once(&gw, &lab.h1, L3_H2_IP);
    let out = lab.h1.run(&format!("tracepath -n -m 5 {L3_H2_IP}"));
    assert!(out.contains("pmtu 1400"), "{out}");
    assert!(out.contains("Resume: pmtu 1400"), "{out}");
    assert!(gw.metric(r#"vtepgw_drops_total{reason="frag_needed"}"#) >= 1.0);
    // And the kernel keeps it: a 1400-byte DF packet now goes through.
    lab.h1
        .try_run(&format!("ping -n -c 1 -W 3 -M do -s 1372 {L3_H2_IP}"))
        .unwrap_or_else(|e| panic!("1400-byte ping: {e}"));
}

/// Reply-on-behalf: once h1 is known, ph's ARP for h1 is answered by the
/// gateway with h1's own MAC, and no ARP request reaches h1's VTEP.
#[test]
fn reply_on_behalf_answers_for_a_known_host_and_floods_nothing() {
    let lab = L3Lab::new();
    let gw = Gateway::start(&lab.gateway_config("arp_suppression = \"reply\"", "", ""));
    // h1 makes itself known (its ARP for the gateway) and its MAC learned.
    ping_once(&gw, &lab.h1, GW1_IP);
    let at_hv1 = Capture::start(&lab.hv1, "u1", "udp port 4789");
    ping_once(&gw, &lab.ph, H1_IP);
    let entry = neighbour(&lab.ph, H1_IP);
    assert!(entry.contains(&format!("lladdr {H1_MAC}")), "{entry}");
    let asks = format!("arp.opcode == 1 && arp.dst.proto_ipv4 == {H1_IP}");
    let rows = tshark_fields(&at_hv1.stop(), &asks, &["arp.src.proto_ipv4"]);
    assert!(rows.is_empty(), "ARP for h1 reached its VTEP: {rows:?}");
    assert!(gw.metric(r#"vtepgw_arp_suppression_replies_total{mode="reply"}"#) >= 1.0);
}

/// Proxy: every answer is the gateway MAC, and traffic within the subnet
/// is routed (TTL down by one each way).
#[test]
fn proxy_arp_routes_traffic_within_the_subnet() {
    let lab = L3Lab::new();
    let gw = Gateway::start(&lab.gateway_config("arp_suppression = \"proxy\"", "", ""));
    let out = ping_once(&gw, &lab.ph, H1_IP);
    assert_eq!(reply_ttl(&out), Some(63), "routed: {out}");
    let entry = neighbour(&lab.ph, H1_IP);
    assert!(entry.contains(&format!("lladdr {GW_MAC}")), "{entry}");
    let entry = neighbour(&lab.h1, PH_IP);
    assert!(entry.contains(&format!("lladdr {GW_MAC}")), "{entry}");
    assert!(gw.metric(r#"vtepgw_arp_suppression_replies_total{mode="proxy"}"#) >= 2.0);
}

/// Live changes through the API while h1 pings its gateway: VNI 200 gets
/// its gateway interface (then h1 reaches h2), then a VRF and a route are
/// added with the whole config; the ping loses nothing.
#[test]
fn live_l3_changes_during_a_ping_lose_nothing() {
    let lab = L3Lab::new();
    let gw200 = format!(r#"gateway = {{ address = "{GW2_IP}/24" }}"#);
    let config = lab.gateway_config("", "", "").replace(&gw200, "");
    assert!(!config.contains(GW2_IP));
    let gw = Gateway::start(&config);
    ping_once(&gw, &lab.h1, GW1_IP);
    let mut pinger = lab
        .h1
        .spawn(&format!("ping -n -q -i 0.05 -c 60 -W 2 {GW1_IP}"));
    let json = [("Content-Type", "application/json")];
    let patch = format!(r#"{{"gateway": {{"address": "{GW2_IP}/24"}}}}"#);
    let (status, body) = gw.request("PATCH", "/api/v1/vnis/200", &json, &patch);
    assert_eq!(status, 200, "{body}");
    ping_once(&gw, &lab.h1, L3_H2_IP);

    let (_, running) = gw.http_get("/api/v1/config");
    let mut c: serde_json::Value = serde_json::from_str(&running).unwrap();
    c["vrf"] = serde_json::json!([{"name": "blue"}]);
    c["route"] = serde_json::json!([{"prefix": "192.0.2.128/25", "next_hop": L3_H2_IP}]);
    let (status, body) = gw.request("PUT", "/api/v1/config", &json, &c.to_string());
    assert_eq!(status, 200, "{body}");
    ping_once(&gw, &lab.h1, L3_H2_IP);

    assert!(
        pinger.wait(),
        "ping exited with an error: {}",
        pinger.output()
    );
    let summary = pinger.output();
    assert!(
        summary.contains("60 received") && summary.contains(" 0% packet loss"),
        "{summary}"
    );
}

/// A 1448-byte ping without DF from VNI 100 into VNI 200 (MTU 1400): the
/// gateway fragments it, h2 reassembles and answers.
#[test]
fn a_non_df_packet_over_the_egress_mtu_arrives_fragmented_and_reassembles() {
    let lab = L3Lab::new();
    let gw = Gateway::start(&lab.gateway_config("", "mtu = 1400", ""));
    ping_once(&gw, &lab.h1, L3_H2_IP);
    let at_h2 = Capture::start(&lab.h2, "eth0", "ip");
    lab.h1
        .try_run(&format!("ping -n -c 1 -W 3 -M dont -s 1420 {L3_H2_IP}"))
        .unwrap_or_else(|e| panic!("large ping: {e}"));
    let frags = "ip.src == 203.0.113.1 && (ip.flags.mf == 1 || ip.frag_offset > 0)";
    let rows = tshark_fields(&at_h2.stop_after(frags, 2), frags, &["ip.len", "ip.ttl"]);
    assert_eq!(rows.len(), 2, "two fragments reached h2: {rows:?}");
    for r in &rows {
        let len: usize = r[0].parse().unwrap();
        assert!(len <= 1400, "{rows:?}");
        assert_eq!(r[1], "63");
    }
    assert!(gw.metric("vtepgw_fragments_sent_total") >= 2.0);
}

/// The routed uplink: hosts of both VNIs (tunnel and VLAN) reach the
/// routed network behind the physical router from a cold start, and the
/// router's network reaches them; traceroute counts the gateway and the
/// router.
#[test]
fn hosts_reach_the_routed_network_through_the_uplink() {
    let lab = L3Lab::new();
    let gw = Gateway::start(&lab.gateway_config("", "", ""));
    let first = ping_once(&gw, &lab.h1, ROUTED_HOST_IP);
    assert_eq!(reply_ttl(&first), Some(63), "{first}");
    ping_once(&gw, &lab.ph, ROUTED_HOST_IP);
    ping_once(&gw, &lab.h2, ROUTED_HOST_IP);
    // From the routed network back into the VNIs.
    for host in [H1_IP, PH_IP, L3_H2_IP] {
        lab.rt
            .try_run(&format!("ping -n -c 1 -W 5 -I {ROUTED_HOST_IP} {host}"))
            .unwrap_or_else(|e| panic!("router -> {host}: {e}"));
    }
    ping_once(&gw, &lab.h1, UPLINK_IP);
    let entry = neighbour(&lab.rt, UPLINK_IP);
    let uplink_mac = sh(&format!("cat /sys/class/net/{}/address", lab.uplink_if()));
    assert!(entry.contains(uplink_mac.trim()), "{entry}");
    let out = lab
        .h1
        .run(&format!("traceroute -n -q 1 -w 2 -m 5 {ROUTED_HOST_IP}"));
    let hops: Vec<&str> = out
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().nth(1))
        .collect();
    assert_eq!(hops, [GW1_IP, ROUTED_HOST_IP], "{out}");
}
