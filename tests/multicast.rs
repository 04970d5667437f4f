//! Multicast core replication against Linux multicast VTEPs on an
//! IGMP-snooping underlay (see `common::mcast::McastLab`).

mod common;

use common::mcast::*;
use common::*;
use std::time::Duration;

/// The lab without the gateway: the kernel VTEPs join the group, the
/// switch keeps group traffic off the gateway's port (it has not joined),
/// and BUM between the kernel VTEPs goes through the group.
#[test]
fn the_snooping_underlay_carries_the_group_only_to_members() {
    let lab = McastLab::new();
    wait_until(
        Duration::from_secs(10),
        "both kernel VTEPs in the mdb",
        || lab.member("hv1", GROUP) && lab.member("hv2", GROUP),
    );
    assert!(!lab.member("gw", GROUP), "{:?}", lab.mdb());
    let at_gw = Capture::start(ROOT, &lab.underlay_if(), &format!("dst host {GROUP}"));
    let at_hv2 = Capture::start(Some(&lab.hv2), "u1", &format!("dst host {GROUP}"));
    // A broadcast from h1 (its ARP for h2) goes to the group.
    assert!(lab.h1.ping(H2_IP, 1), "h1 and h2 talk through the group");
    at_hv2.stop_after("vxlan", 1);
    let rows = tshark_fields(&at_gw.stop(), "", &["ip.dst"]);
    assert!(
        rows.is_empty(),
        "group traffic reached the gateway's port: {rows:?}"
    );
}

const SECS: Duration = Duration::from_secs(15);

/// The gateway on the lab, VNI 100 on `GROUP`; returns once it and both
/// kernel VTEPs are in the mdb (the switch sends group traffic to members
/// only once the group has any).
fn start(lab: &McastLab) -> Gateway {
    let gw = Gateway::start(&lab.gateway_config(GROUP, ""));
    wait_until(SECS, "the gateway and the kernel VTEPs in the mdb", || {
        ["gw", "hv1", "hv2"].iter().all(|p| lab.member(p, GROUP))
    });
    // For its first seconds as querier the Linux bridge floods group
    // traffic instead of following its mdb, and flooding skips the
    // gateway's port (`mcast_flood off`): wait until the group reaches the
    // gateway as a member, with probes to a VNI it does not serve.
    let unknown = || gw.metric(r#"vtepgw_drops_total{reason="unknown_vni"}"#);
    wait_until(
        Duration::from_secs(30),
        "the switch forwarding the group to the gateway",
        || {
            lab.probe_group(GROUP);
            std::thread::sleep(Duration::from_millis(200));
            unknown() >= 1.0
        },
    );
    gw
}

/// Queries the gateway heard from a querier of `version`.
fn queries(gw: &Gateway, version: u8) -> f64 {
    gw.metric(&format!(
        r#"vtepgw_igmp_queries_received_total{{version="{version}"}}"#
    ))
}

/// The gateway answers the querier, so the switch keeps its membership
/// past the membership interval (5 s: 4 queries 2 s apart take longer);
/// with the querier on IGMPv2 its reports become v2.
#[test]
fn the_gateway_joins_and_keeps_its_membership_by_answering_queries() {
    let lab = McastLab::new();
    let gw = start(&lab);
    let heard = queries(&gw, 3);
    wait_until(Duration::from_secs(30), "4 more queries", || {
        queries(&gw, 3) >= heard + 4.0
    });
    assert!(lab.member("gw", GROUP), "still a member: {:?}", lab.mdb());
    let (_, groups) = gw.http_get("/api/v1/groups");
    let v: serde_json::Value = serde_json::from_str(&groups).unwrap();
    assert_eq!(v["groups"][0]["group"], GROUP, "{groups}");
    assert_eq!(v["groups"][0]["vnis"], serde_json::json!([VNI]));
    assert_eq!(v["groups"][0]["state"], "member");
    assert_eq!(v["querier_version"], 3);
    assert_eq!(
        v["receive_mode"], "all_multicast",
        "net_pcap has no multicast MAC filter: the fallback: {groups}"
    );
    assert!(gw.metric(r#"vtepgw_igmp_reports_sent_total{version="3"}"#) >= 3.0);

    // An IGMPv2 querier: the gateway's reports follow.
    let capture = Capture::root(&lab.underlay_if(), "igmp");
    lab.querier_version(2);
    let pcap = capture.stop_after(&format!("igmp.type == 0x16 && ip.src == {GW_IP}"), 1);
    let rows = tshark_fields(
        &pcap,
        &format!("igmp.type == 0x16 && ip.src == {GW_IP}"),
        &["ip.dst", "igmp.maddr", "ip.ttl", "ip.opt.type"],
    );
    assert_eq!(rows[0][0], GROUP, "a v2 report goes to the group: {rows:?}");
    assert_eq!(rows[0][1], GROUP);
    assert_eq!(rows[0][2], "1", "TTL 1");
    assert!(!rows[0][3].is_empty(), "Router Alert option: {rows:?}");
    let v2 = queries(&gw, 2);
    wait_until(Duration::from_secs(30), "4 v2 queries", || {
        queries(&gw, 2) >= v2 + 4.0
    });
    assert!(lab.member("gw", GROUP), "member under v2: {:?}", lab.mdb());
    assert!(gw.metric(r#"vtepgw_igmp_reports_sent_total{version="2"}"#) >= 1.0);
}

/// `ping -b` of the overlay subnet's broadcast address from `ns`: one
/// broadcast frame (nobody answers: hosts ignore broadcast echo).
fn broadcast_ping(ns: &Netns) {
    let _ = ns.try_run("ping -b -n -q -c 1 -W 1 203.0.113.255");
}

/// Packets of the gateway's group counter for `group` in `direction`.
fn group_packets(gw: &Gateway, group: &str, direction: &str) -> f64 {
    gw.metric(&format!(
        r#"vtepgw_group_packets_total{{direction="{direction}",group="{group}"}}"#
    ))
}

/// A broadcast from the VLAN host leaves as one VXLAN frame to the group,
/// checked field by field, and reaches both kernel hosts; a broadcast from
/// a kernel host reaches the VLAN host once and is not sent on again.
#[test]
fn broadcast_goes_once_to_the_group_and_comes_back_from_it_to_the_vlan_only() {
    let lab = McastLab::new();
    let gw = start(&lab);
    let underlay = Capture::root(&lab.underlay_if(), "udp port 4789");
    let at_h1 = Capture::start(&lab.h1, "eth0", "icmp");
    let at_h2 = Capture::start(&lab.h2, "eth0", "icmp");
    broadcast_ping(&lab.ph);
    let seen = format!("icmp && ip.src == {PH_IP}");
    for (pcap, host) in [
        (at_h1.stop_after(&seen, 1), "h1"),
        (at_h2.stop_after(&seen, 1), "h2"),
    ] {
        let rows = tshark_fields(&pcap, &seen, &["eth.dst"]);
        assert_eq!(rows.len(), 1, "{host} gets it once: {rows:?}");
        assert_eq!(rows[0][0], "ff:ff:ff:ff:ff:ff");
    }
    let rows = tshark_fields(
        &underlay.stop_after(&seen, 1),
        &seen,
        &[
            "eth.dst",
            "eth.src",
            "ip.src",
            "ip.dst",
            "ip.ttl",
            "ip.flags.df",
            "udp.dstport",
            "vxlan.flags",
            "vxlan.vni",
        ],
    );
    assert_eq!(rows.len(), 1, "exactly one copy into the overlay: {rows:?}");
    let f: Vec<Vec<&str>> = rows[0].iter().map(|c| c.split(',').collect()).collect();
    assert_eq!(
        f[0],
        ["01:00:5e:01:01:01", "ff:ff:ff:ff:ff:ff"],
        "outer, inner"
    );
    assert_eq!(f[1][1], PH_MAC);
    assert_eq!(f[2], [GW_IP, PH_IP]);
    assert_eq!(f[3], [GROUP, "203.0.113.255"]);
    assert_eq!(f[4][0], "64", "multicast_ttl's default, not Linux's 1");
    assert_eq!(f[5][0], "1", "DF");
    assert_eq!(f[6][0], "4789");
    assert_eq!(f[7][0], "0x0800");
    assert_eq!(f[8][0], VNI.to_string());
    assert_eq!(group_packets(&gw, GROUP, "tx"), 1.0);

    // From h1: through the group to the VLAN host, and no further.
    let underlay = Capture::root(
        &lab.underlay_if(),
        &format!("udp port 4789 and src host {GW_IP}"),
    );
    let at_ph = Capture::start(&lab.ph, "eth0", "");
    let tx_before = gw.metric(r#"vtepgw_vni_packets_total{direction="encap",vni="100"}"#);
    broadcast_ping(&lab.h1);
    let seen = format!("icmp && ip.src == {H1_IP}");
    let rows = tshark_fields(&at_ph.stop_after(&seen, 1), &seen, &["eth.dst"]);
    assert_eq!(rows.len(), 1, "the VLAN host gets it once: {rows:?}");
    wait_until(SECS, "decap from the group counted", || {
        group_packets(&gw, GROUP, "rx") >= 1.0
    });
    let rows = tshark_fields(&underlay.stop(), "vxlan", &["ip.dst"]);
    assert!(
        rows.is_empty(),
        "never sent on to the group or a VTEP: {rows:?}"
    );
    assert_eq!(group_packets(&gw, GROUP, "tx"), 1.0);
    assert_eq!(
        gw.metric(r#"vtepgw_vni_packets_total{direction="encap",vni="100"}"#),
        tx_before
    );
    let out = vtepgw_cli(&gw, &["show", "groups"]);
    assert!(out.contains(GROUP) && out.contains("member"), "{out}");
}

/// `vtepgw --api ... ARGS` against `gw`; its stdout (it must succeed).
fn vtepgw_cli(gw: &Gateway, args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vtepgw"))
        .arg("--api")
        .arg(format!("http://{}", gw.mgmt))
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// From a cold start: pings both ways between the VLAN host and both
/// kernel hosts (BUM through the group), then known unicast goes by
/// unicast to the VTEP each host is behind; VNI 200 floods head-end beside.
#[test]
fn pings_cross_both_ways_and_known_unicast_goes_to_the_right_vtep() {
    let lab = McastLab::new();
    let gw = start(&lab);
    assert!(lab.ph.ping(H1_IP, 3), "VLAN host -> h1");
    assert!(lab.ph.ping(H2_IP, 3), "VLAN host -> h2");
    assert!(lab.h1.ping(PH_IP, 3), "h1 -> VLAN host");
    assert!(lab.h2.ping(PH_IP, 3), "h2 -> VLAN host");
    assert!(lab.pq.ping(H3_IP, 3), "VNI 200 head-end: VLAN host -> h3");
    assert!(lab.h3.ping(PQ_IP, 3), "VNI 200 head-end: h3 -> VLAN host");

    let underlay = Capture::root(&lab.underlay_if(), "udp port 4789");
    assert!(lab.ph.ping(H1_IP, 2));
    assert!(lab.ph.ping(H2_IP, 2));
    assert!(lab.pq.ping(H3_IP, 2));
    let echo = "icmp.type == 8 && vxlan";
    let rows = tshark_fields(&underlay.stop_after(echo, 6), echo, &["ip.dst", "eth.dst"]);
    let mut to: Vec<(String, String)> = rows
        .iter()
        .map(|r| {
            let ips: Vec<&str> = r[0].split(',').collect();
            (ips[1].to_string(), ips[0].to_string())
        })
        .collect();
    to.sort();
    to.dedup();
    assert_eq!(
        to,
        [
            (H3_IP.to_string(), HV3_IP.to_string()),
            (H1_IP.to_string(), HV1_IP.to_string()),
            (H2_IP.to_string(), HV2_IP.to_string()),
        ]
        .into_iter()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect::<Vec<_>>(),
        "each echo request by unicast to its host's VTEP: {rows:?}"
    );
    assert!(
        rows.iter().all(|r| !r[1].starts_with("01:00:5e")),
        "no known unicast to the group: {rows:?}"
    );
    let (_, vteps) = gw.http_get("/api/v1/vteps");
    for ip in [HV1_IP, HV2_IP] {
        assert!(
            vteps.contains(&format!("\"{ip}\"")),
            "{ip} learned: {vteps}"
        );
    }
}

/// VNI 100 moves to another group through the API: the gateway leaves the
/// old group (its mdb entry goes), joins the new one, and traffic goes on
/// once the kernel VTEPs move too. Bad groups are refused by field.
#[test]
fn a_vni_moves_to_another_group_live() {
    let lab = McastLab::new();
    let gw = start(&lab);
    assert!(lab.ph.ping(H1_IP, 3), "traffic on the first group");
    let patch = |body: &str| {
        gw.request(
            "PATCH",
            "/api/v1/vnis/100",
            &[("content-type", "application/json")],
            body,
        )
    };
    for (body, why) in [
        (r#"{"group": "192.0.2.77"}"#, "not a multicast address"),
        (r#"{"group": "224.0.0.5"}"#, "link-local"),
        (
            r#"{"group": "239.1.1.2", "flood": ["192.0.2.1"]}"#,
            "not both",
        ),
    ] {
        let (status, reply) = patch(body);
        assert_eq!(status, 422, "{body}: {reply}");
        assert!(
            reply.contains("vni[0].group") && reply.contains(why),
            "{reply}"
        );
    }
    let (status, reply) = patch(&format!(r#"{{"group": "{GROUP2}"}}"#));
    assert_eq!(status, 200, "{reply}");
    wait_until(SECS, "left the old group, joined the new one", || {
        !lab.member("gw", GROUP) && lab.member("gw", GROUP2)
    });
    let (_, groups) = gw.http_get("/api/v1/groups");
    assert!(
        groups.contains(GROUP2) && !groups.contains(&format!("\"{GROUP}\"")),
        "{groups}"
    );

    lab.move_kernel_vteps(GROUP2);
    wait_until(SECS, "kernel VTEPs in the new group", || {
        lab.member("hv1", GROUP2) && lab.member("hv2", GROUP2)
    });
    let underlay = Capture::root(
        &lab.underlay_if(),
        &format!("udp port 4789 and dst host {GROUP2}"),
    );
    let at_h2 = Capture::start(&lab.h2, "eth0", "icmp");
    broadcast_ping(&lab.ph);
    let seen = format!("icmp && ip.src == {PH_IP}");
    at_h2.stop_after(&seen, 1);
    let rows = tshark_fields(&underlay.stop_after(&seen, 1), &seen, &["eth.dst"]);
    assert_eq!(rows[0][0].split(',').next(), Some("01:00:5e:01:01:02"));
    assert!(lab.h1.ping(PH_IP, 3), "h1 -> VLAN host on the new group");
    assert!(lab.ph.ping(H2_IP, 3), "VLAN host -> h2 on the new group");
}
