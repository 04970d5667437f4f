//! Multicast core replication end to end on in-memory ports: BUM to the
//! group, decap from it, the group checks, IGMP up and reports down.

use crate::counters::DropReason;
use crate::snapshot::Snapshot;
use crate::tables::MacDest;
use crate::testkit::*;
use crate::wire::igmp::{multicast_mac, PROTO_IGMP};
use crate::wire::{checksum, write_vxlan_header, Ipv4Repr, Mac};
use std::net::Ipv4Addr;

const G1: Ipv4Addr = Ipv4Addr::new(239, 1, 1, 1);
const G2: Ipv4Addr = Ipv4Addr::new(239, 1, 1, 2);
const G3: Ipv4Addr = Ipv4Addr::new(239, 1, 1, 3);

/// The standard rig's config with VNI 100 (both ports) on 239.1.1.1
/// instead of its flood list, `multicast_ttl` 7, and VNI 300 (untagged on
/// phys1) on 239.1.1.3; VNI 200 (untagged on phys0) stays head-end.
fn mcast_config() -> String {
    CONFIG
        .replace("ttl = 33", "ttl = 33\nmulticast_ttl = 7")
        .replace("device = \"p1\"", "device = \"p1\"\nuntagged_vni = 300")
        .replace(
            "flood = [\"192.0.2.1\", \"192.0.2.2\"]",
            "group = \"239.1.1.1\"",
        )
        + "\n[[vni]]\nid = 300\ngroup = \"239.1.1.3\"\n"
}

/// VXLAN from `vtep` to `group` (at `dst_mac`).
fn vxlan_to(vtep: Ipv4Addr, group: Ipv4Addr, dst_mac: Mac, vni: u32, inner: &[u8]) -> Vec<u8> {
    let mut v = vec![0u8; 8];
    write_vxlan_header(&mut v, vni);
    v.extend_from_slice(inner);
    let ip = ipv4_udp(vtep, group, 54321, 4789, &v);
    ethernet(dst_mac, VTEP1_MAC, None, 0x0800, &ip)
}

/// An IGMP message `igmp` (checksum filled in) from the querier to `dst`.
fn igmp_frame(dst: Ipv4Addr, mut igmp: Vec<u8>) -> Vec<u8> {
    let sum = checksum(&igmp);
    igmp[2..4].copy_from_slice(&sum.to_be_bytes());
    let mut ip = vec![0u8; 20 + igmp.len()];
    let q = Ipv4Addr::new(192, 0, 2, 254);
    Ipv4Repr {
        src: q,
        dst,
        protocol: PROTO_IGMP,
        ttl: 1,
        dont_frag: false,
        ident: 1,
        payload_len: igmp.len(),
    }
    .emit(&mut ip);
    ip[20..].copy_from_slice(&igmp);
    ethernet(multicast_mac(dst), [2, 0, 0, 0, 0xfe, 1], None, 0x0800, &ip)
}

fn general_query_v3(max_response_code: u8) -> Vec<u8> {
    let all_hosts = Ipv4Addr::new(224, 0, 0, 1);
    igmp_frame(
        all_hosts,
        vec![0x11, max_response_code, 0, 0, 0, 0, 0, 0, 2, 20, 0, 0],
    )
}

fn general_query_v2() -> Vec<u8> {
    igmp_frame(
        Ipv4Addr::new(224, 0, 0, 1),
        vec![0x11, 10, 0, 0, 0, 0, 0, 0],
    )
}

/// The IGMP frames among `frames`: (IPv4 destination, IGMP bytes).
fn igmp_of(frames: &[Vec<u8>]) -> Vec<(Ipv4Addr, Vec<u8>)> {
    frames
        .iter()
        .filter(|f| f[12..14] == [8, 0] && f[23] == PROTO_IGMP)
        .map(|f| {
            let ihl = usize::from(f[14] & 0x0f) * 4;
            (
                Ipv4Addr::new(f[30], f[31], f[32], f[33]),
                f[14 + ihl..].to_vec(),
            )
        })
        .collect()
}

/// The VXLAN frames among `frames`.
fn vxlan_of(frames: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    frames
        .into_iter()
        .filter(|f| f[12..14] == [8, 0] && f[23] == 17)
        .collect()
}

fn rig() -> Rig {
    let mut rig = Rig::new(&mcast_config());
    rig.resolve(VTEP1, VTEP1_MAC);
    rig.run();
    rig
}

#[test]
fn a_join_is_reported_from_the_vtep_address_with_router_alert_and_ttl_1() {
    let mut rig = rig();
    let frames = rig.take(0);
    let reports = igmp_of(&frames);
    assert!(!reports.is_empty(), "unsolicited report at start");
    let f = frames.iter().find(|f| f[23] == PROTO_IGMP).unwrap();
    assert_eq!(&f[..6], &[0x01, 0, 0x5e, 0, 0, 0x16], "to 224.0.0.22's MAC");
    assert_eq!(&f[6..12], &UNDERLAY_MAC);
    assert_eq!(f[14], 0x46, "one option word");
    assert_eq!(f[22], 1, "TTL 1");
    assert_eq!(&f[26..30], &GW_IP.octets());
    assert_eq!(&f[34..38], &[0x94, 0x04, 0, 0], "Router Alert");
    let (dst, igmp) = &reports[0];
    assert_eq!(*dst, Ipv4Addr::new(224, 0, 0, 22));
    assert_eq!(igmp[0], 0x22, "v3 report");
    assert_eq!(checksum(igmp), 0);
    // Two records, change to exclude (join), for both groups.
    assert_eq!(u16::from_be_bytes([igmp[6], igmp[7]]), 2);
    assert_eq!(&igmp[8..16], &[4, 0, 0, 0, 239, 1, 1, 1]);
    assert_eq!(&igmp[16..24], &[4, 0, 0, 0, 239, 1, 1, 3]);
}

#[test]
fn bum_from_a_port_leaves_as_one_copy_to_the_group_and_to_local_ports() {
    let mut rig = rig();
    rig.take(0);
    let bum = host_udp(BROADCAST, HOST_P0, 4242, 40);
    rig.inject(1, &tag(&bum, 10));
    rig.run();
    let out = vxlan_of(rig.take(0));
    assert_eq!(out.len(), 1, "exactly one copy into the overlay");
    let f = &out[0];
    assert_eq!(&f[..6], &[0x01, 0, 0x5e, 1, 1, 1], "the group's mapped MAC");
    assert_eq!(&f[6..12], &UNDERLAY_MAC);
    assert_eq!(f[14], 0x45);
    assert_eq!(u16::from_be_bytes([f[20], f[21]]), 0x4000, "DF");
    assert_eq!(f[22], 7, "multicast_ttl");
    assert_eq!(checksum(&f[14..34]), 0);
    assert_eq!(&f[26..30], &GW_IP.octets());
    assert_eq!(&f[30..34], &G1.octets());
    let sport = u16::from_be_bytes([f[34], f[35]]);
    assert!((50000..=50999).contains(&sport), "{sport}");
    assert_eq!(u16::from_be_bytes([f[36], f[37]]), 4789);
    assert_eq!(&f[42..50], &[8, 0, 0, 0, 0, 0, 100, 0]);
    assert_eq!(&f[50..], &bum[..]);
    assert_eq!(rig.take(2), vec![tag(&bum, 20)], "the other local binding");
    assert!(rig.take(1).is_empty(), "never back to its own segment");
    let g = rig.shared.workers[0].groups[0].read().unwrap();
    assert_eq!((g.0, g.1[2], g.1[3]), (G1, 1, f.len() as u64));
    // The same flow keeps its source port.
    rig.inject(1, &tag(&bum, 10));
    rig.run();
    let again = vxlan_of(rig.take(0));
    assert_eq!(u16::from_be_bytes([again[0][34], again[0][35]]), sport);
    rig.take(2);
    // Head-end replication of VNI 200 is unchanged beside it.
    rig.inject(1, &bum);
    rig.run();
    let head_end = vxlan_of(rig.take(0));
    assert_eq!(head_end.len(), 1);
    assert_eq!(&head_end[0][..6], &VTEP1_MAC);
    assert_eq!(&head_end[0][30..34], &VTEP1.octets());
}

#[test]
fn bum_from_the_group_reaches_local_ports_only_and_unicast_follows_the_source() {
    let mut rig = rig();
    rig.take(0);
    let bum = host_udp(BROADCAST, HOST_V2, 1000, 30);
    rig.inject(0, &vxlan_to(VTEP2, G1, multicast_mac(G1), 100, &bum));
    rig.run();
    assert_eq!(rig.take(1), vec![tag(&bum, 10)]);
    assert_eq!(rig.take(2), vec![tag(&bum, 20)]);
    assert!(
        vxlan_of(rig.take(0)).is_empty(),
        "split horizon: never back to the group or a VTEP"
    );
    let g = rig.shared.workers[0].groups[0].read().unwrap();
    assert_eq!((g.0, g.1[0]), (G1, 1), "decap counted for the group");
    // A burst of them is counted frame by frame (gathered per poll).
    for _ in 0..3 {
        rig.inject(0, &vxlan_to(VTEP2, G1, multicast_mac(G1), 100, &bum));
    }
    rig.run();
    assert_eq!(rig.take(1).len(), 3);
    rig.take(2);
    let g = rig.shared.workers[0].groups[0].read().unwrap();
    assert_eq!(
        (g.1[0], g.1[1]),
        (4, 4 * bum.len() as u64),
        "group rx packets, bytes"
    );
    // Learned against the unicast source, which is resolved by ARP.
    let tunnel = rig.tunnel(VTEP2);
    assert_eq!(rig.lookup(100, &HOST_V2), Some(MacDest::Remote { tunnel }));
    let out = resolve_and_reply(&mut rig);
    assert_eq!(out.len(), 1);
    assert_eq!(&out[0][..6], &VTEP2_MAC, "known unicast goes by unicast");
    assert_eq!(&out[0][30..34], &VTEP2.octets());
    assert_eq!(out[0][22], 33, "the unicast TTL");
}

/// VTEP2 answers our ARP, then HOST_P0 (VLAN 10) sends to HOST_V2: the
/// VXLAN frames that leave.
fn resolve_and_reply(rig: &mut Rig) -> Vec<Vec<u8>> {
    rig.resolve(VTEP2, VTEP2_MAC);
    rig.run();
    rig.take(0);
    let reply = host_udp(HOST_V2, HOST_P0, 1000, 30);
    rig.inject(1, &tag(&reply, 10));
    rig.run();
    vxlan_of(rig.take(0))
}

#[test]
fn group_traffic_for_another_vni_or_from_ourselves_is_dropped_by_reason() {
    let mut rig = rig();
    let inner = host_udp(BROADCAST, HOST_V1, 1000, 30);
    let cases = [
        // VNI 200 floods head-end, VNI 300 to another group.
        (
            vxlan_to(VTEP1, G1, multicast_mac(G1), 200, &inner),
            DropReason::WrongGroup,
        ),
        (
            vxlan_to(VTEP1, G1, multicast_mac(G1), 300, &inner),
            DropReason::WrongGroup,
        ),
        // Our own copy, looped back.
        (
            vxlan_to(GW_IP, G1, multicast_mac(G1), 100, &inner),
            DropReason::OwnSource,
        ),
        // 239.129.1.1 maps to 239.1.1.1's MAC but is no group of ours.
        (
            vxlan_to(
                VTEP1,
                Ipv4Addr::new(239, 129, 1, 1),
                multicast_mac(G1),
                100,
                &inner,
            ),
            DropReason::NotOurGroup,
        ),
        // Our group at our unicast MAC: not its mapped MAC.
        (
            vxlan_to(VTEP1, G1, UNDERLAY_MAC, 100, &inner),
            DropReason::NotOurGroup,
        ),
        // A group nobody here joined: the NIC would not even take its MAC.
        (
            vxlan_to(VTEP1, G2, multicast_mac(G2), 100, &inner),
            DropReason::NotOurMac,
        ),
    ];
    for (frame, reason) in &cases {
        let before = rig.drops(*reason);
        rig.inject(0, frame);
        rig.run();
        assert_eq!(rig.drops(*reason), before + 1, "{reason:?}");
    }
    assert!(rig.take(1).is_empty() && rig.take(2).is_empty());
    assert_eq!(rig.lookup(100, &HOST_V1), None, "nothing learned");
    // VNI 300 on its own group gets through.
    rig.inject(0, &vxlan_to(VTEP1, G3, multicast_mac(G3), 300, &inner));
    rig.run();
    assert_eq!(rig.take(2), vec![inner]);
}

#[test]
fn queries_go_to_the_control_thread_and_are_answered() {
    let mut rig = rig();
    rig.advance(3);
    rig.take(0);
    // A v3 general query, 1 s to answer: one current-state report.
    rig.inject(0, &general_query_v3(10));
    rig.run();
    assert_eq!(rig.shared.workers[0].igmp_queries.get(), 1);
    rig.advance(2);
    let reports = igmp_of(&rig.take(0));
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(reports[0].1[0], 0x22);
    assert_eq!(&reports[0].1[8..12], &[2, 0, 0, 0], "mode is exclude");
    // A v2 querier: answers become v2 reports, one per group, to the group.
    rig.inject(0, &general_query_v2());
    rig.run();
    rig.advance(2);
    let mut v2: Vec<_> = igmp_of(&rig.take(0));
    v2.sort();
    assert_eq!(v2.len(), 2, "{v2:?}");
    assert_eq!((v2[0].0, v2[0].1[0]), (G1, 0x16));
    assert_eq!((v2[1].0, v2[1].1[0]), (G3, 0x16));
    let view = rig.shared.multicast.lock().unwrap().clone();
    assert!(view.v2_mode);
    assert_eq!(view.stats.queries, [0, 1, 1]);
    assert_eq!(view.receive_mode, "unfiltered");
    assert_eq!(view.groups.len(), 2);
    // Other hosts' reports are not for us.
    let report = igmp_frame(G1, vec![0x16, 0, 0, 0, 239, 1, 1, 1]);
    rig.inject(0, &report);
    let bad = general_query_v3(10);
    let mut bad = bad.clone();
    bad[40] ^= 0xff; // IGMP checksum broken
    rig.inject(0, &bad);
    rig.run();
    assert_eq!(rig.drops(DropReason::IgmpIgnored), 2);
    assert_eq!(rig.shared.workers[0].igmp_queries.get(), 2);
}

#[test]
fn a_query_storm_is_cut_at_the_per_second_limit() {
    let mut rig = rig();
    for _ in 0..40 {
        rig.inject(0, &general_query_v3(10));
    }
    rig.run();
    assert_eq!(rig.shared.workers[0].igmp_queries.get(), 16);
    assert_eq!(rig.drops(DropReason::IgmpIgnored), 24);
}

#[test]
fn moving_a_vni_to_another_group_leaves_the_old_and_joins_the_new() {
    let mut rig = rig();
    rig.advance(3);
    rig.take(0);
    let moved = mcast_config().replace("group = \"239.1.1.1\"", "group = \"239.1.1.2\"");
    let config = vtepgw_config::Config::from_toml_str(&moved).unwrap();
    let old = rig.shared.snapshot.load_full();
    let macs = [UNDERLAY_MAC, PHYS0_MAC, PHYS1_MAC];
    rig.shared
        .publish(Snapshot::build(&config, &macs, Some(&old), 2).unwrap());
    rig.run();
    let msgs = igmp_of(&rig.take(0));
    assert_eq!(msgs.len(), 1, "{msgs:?}");
    let igmp = &msgs[0].1;
    let mut records: Vec<_> = igmp[8..]
        .chunks(8)
        .map(|r| (r[0], r[4..8].to_vec()))
        .collect();
    records.sort();
    assert_eq!(
        records,
        [(3, G1.octets().to_vec()), (4, G2.octets().to_vec())],
        "leave 239.1.1.1 (to include), join 239.1.1.2 (to exclude)"
    );
    // BUM goes to the new group; the old one is no longer received.
    let bum = host_udp(BROADCAST, HOST_P0, 4242, 40);
    rig.inject(1, &tag(&bum, 10));
    rig.run();
    let out = vxlan_of(rig.take(0));
    assert_eq!(&out[0][30..34], &G2.octets());
    rig.inject(0, &vxlan_to(VTEP1, G1, multicast_mac(G1), 100, &bum));
    rig.run();
    assert_eq!(rig.drops(DropReason::NotOurMac), 1);
    // The group that stays keeps its counter entry and counts.
    let snap = rig.shared.snapshot.load();
    assert_eq!(snap.group(G3).unwrap().counter, 1);
}

#[test]
fn a_vtep_that_arps_us_first_is_resolved_by_its_reply_in_the_same_second() {
    // A kernel VTEP that heard us on the group ARPs for our address before
    // it answers us by unicast; our ARP for it follows within the second.
    let mut rig = rig();
    let ask = arp_frame(crate::wire::ARP_REQUEST, VTEP2_MAC, VTEP2, [0; 6], GW_IP);
    rig.inject(0, &ask);
    rig.run();
    let bum = host_udp(BROADCAST, HOST_V2, 1000, 30);
    rig.inject(0, &vxlan_to(VTEP2, G1, multicast_mac(G1), 100, &bum));
    rig.run();
    let out = resolve_and_reply(&mut rig);
    assert_eq!(out.len(), 1, "resolved without waiting for a retry");
    assert_eq!(&out[0][..6], &VTEP2_MAC);
}
