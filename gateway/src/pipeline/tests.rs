//! The pipeline end to end on in-memory ports: worker, control thread and
//! tables together, frames in, frames (and counters) out.

use crate::counters::DropReason;
use crate::tables::MacDest;
use crate::tables::NextHop;
use crate::testkit::*;
use crate::types::Mac;
use crate::wire::{checksum, ARP_REPLY, ARP_REQUEST};
use std::collections::HashSet;
use std::net::Ipv4Addr;

const UDP_ETH: usize = 14;

/// Checks an encapsulated frame field by field; returns its inner frame.
fn check_outer(frame: &[u8], vtep: Ipv4Addr, vtep_mac: Mac, vni: u32) -> Vec<u8> {
    assert_eq!(
        &frame[0..6],
        &vtep_mac,
        "outer destination MAC is the VTEP's"
    );
    assert_eq!(&frame[6..12], &UNDERLAY_MAC, "outer source MAC is ours");
    assert_eq!(&frame[12..14], &[0x08, 0x00]);
    let ip = &frame[UDP_ETH..UDP_ETH + 20];
    assert_eq!(ip[0], 0x45);
    assert_eq!(
        u16::from_be_bytes([ip[2], ip[3]]) as usize,
        frame.len() - 14,
        "IPv4 total length"
    );
    assert_eq!(
        u16::from_be_bytes([ip[6], ip[7]]),
        0x4000,
        "DF set, no fragment"
    );
    assert_eq!(ip[8], 33, "configured TTL");
    assert_eq!(ip[9], 17, "UDP");
    assert_eq!(checksum(ip), 0, "IPv4 header checksum verifies");
    assert_eq!(&ip[12..16], &GW_IP.octets());
    assert_eq!(&ip[16..20], &vtep.octets());
    let udp = &frame[34..42];
    let sport = u16::from_be_bytes([udp[0], udp[1]]);
    assert!(
        (50000..=50999).contains(&sport),
        "source port {sport} in range"
    );
    assert_eq!(u16::from_be_bytes([udp[2], udp[3]]), 4789);
    assert_eq!(
        u16::from_be_bytes([udp[4], udp[5]]) as usize,
        frame.len() - 34,
        "UDP length"
    );
    assert_eq!(&udp[6..8], &[0, 0], "zero UDP checksum");
    let vx = &frame[42..50];
    assert_eq!(vx[0], 0x08, "only the I flag");
    assert_eq!(&vx[1..4], &[0, 0, 0], "reserved bits zero");
    assert_eq!(u32::from_be_bytes([0, vx[4], vx[5], vx[6]]), vni);
    assert_eq!(vx[7], 0);
    frame[50..].to_vec()
}

fn source_port(frame: &[u8]) -> u16 {
    u16::from_be_bytes([frame[34], frame[35]])
}

#[test]
fn answers_arp_for_the_vtep_address_only() {
    let mut rig = Rig::new(CONFIG);
    rig.worker.poll_once();
    rig.take(0); // its own ARP requests for the flood VTEPs
    rig.inject(0, &arp_frame(ARP_REQUEST, VTEP1_MAC, VTEP1, [0; 6], GW_IP));
    rig.inject(
        0,
        &arp_frame(
            ARP_REQUEST,
            VTEP1_MAC,
            VTEP1,
            [0; 6],
            Ipv4Addr::new(192, 0, 2, 77),
        ),
    );
    rig.worker.poll_once();
    let out = rig.take(0);
    assert_eq!(out.len(), 1);
    let reply = &out[0];
    assert_eq!(&reply[0..6], &VTEP1_MAC);
    assert_eq!(&reply[6..12], &UNDERLAY_MAC);
    assert_eq!(u16::from_be_bytes([reply[20], reply[21]]), ARP_REPLY);
    assert_eq!(&reply[22..28], &UNDERLAY_MAC, "sender MAC is ours");
    assert_eq!(&reply[28..32], &GW_IP.octets());
    assert_eq!(rig.drops(DropReason::ArpIgnored), 1);
}

#[test]
fn resolves_flood_vteps_by_arp() {
    let mut rig = Rig::new(CONFIG);
    rig.worker.poll_once();
    let requests = rig.take(0);
    let targets: HashSet<[u8; 4]> = requests
        .iter()
        .filter(|f| f[12..14] == [0x08, 0x06] && f[0..6] == BROADCAST)
        .map(|f| [f[38], f[39], f[40], f[41]])
        .collect();
    assert_eq!(targets, HashSet::from([VTEP1.octets(), VTEP2.octets()]));
    assert_eq!(rig.shared.tunnels.lookup(VTEP1), Some(NextHop::Pending));
    rig.resolve(VTEP1, VTEP1_MAC);
    rig.run();
    assert!(matches!(
        rig.shared.tunnels.lookup(VTEP1),
        Some(NextHop::Resolved { mac: VTEP1_MAC, .. })
    ));
}

#[test]
fn physical_broadcast_floods_to_other_port_and_every_vtep() {
    let mut rig = Rig::resolved();
    let frame = host_udp(BROADCAST, HOST_P0, 1000, 50);
    rig.inject(1, &tag(&frame, 10));
    rig.run();
    assert!(
        rig.take(1).is_empty(),
        "never back out of the ingress binding"
    );
    assert_eq!(
        rig.take(2),
        vec![tag(&frame, 20)],
        "other port gets its own VLAN tag"
    );
    let out = rig.take(0);
    assert_eq!(out.len(), 2, "one copy per VTEP");
    let mut seen = HashSet::new();
    for f in &out {
        let (vtep, mac) = if f[33] == 1 {
            (VTEP1, VTEP1_MAC)
        } else {
            (VTEP2, VTEP2_MAC)
        };
        assert_eq!(
            check_outer(f, vtep, mac, 100),
            frame,
            "inner frame untagged and intact"
        );
        seen.insert(vtep);
    }
    assert_eq!(seen.len(), 2);
    assert_eq!(
        rig.lookup(100, &HOST_P0),
        Some(MacDest::Local {
            port: crate::types::PortId(1),
            vlan: Some(10)
        })
    );
}

#[test]
fn decap_floods_locally_learns_and_then_encaps_unicast() {
    let mut rig = Rig::resolved();
    let inner = host_udp(HOST_P0, HOST_V1, 1000, 50);
    rig.inject(0, &vxlan_from(VTEP1, VTEP1_MAC, 100, &inner));
    rig.run();
    assert_eq!(rig.take(1), vec![tag(&inner, 10)]);
    assert_eq!(rig.take(2), vec![tag(&inner, 20)]);
    assert!(
        rig.take(0).is_empty(),
        "split horizon: no flood back into the overlay"
    );
    assert_eq!(
        rig.lookup(100, &HOST_V1),
        Some(MacDest::Remote {
            tunnel: rig.tunnel(VTEP1),
        })
    );

    let reply = host_udp(HOST_V1, HOST_P0, 1000, 50);
    rig.inject(1, &tag(&reply, 10));
    rig.run();
    let out = rig.take(0);
    assert_eq!(out.len(), 1, "known remote MAC: unicast to its VTEP only");
    assert_eq!(check_outer(&out[0], VTEP1, VTEP1_MAC, 100), reply);
    assert!(rig.take(2).is_empty());

    // Now HOST_P0 is known on phys0/VLAN 10: decap goes there only.
    rig.inject(0, &vxlan_from(VTEP1, VTEP1_MAC, 100, &inner));
    rig.run();
    assert_eq!(rig.take(1), vec![tag(&inner, 10)]);
    assert!(rig.take(2).is_empty());
    let c = &rig.shared.workers[0].vnis[usize::from(rig.slot(100))];
    assert_eq!(c.decap_packets.get(), 2);
    assert_eq!(
        c.encap_packets.get(),
        1,
        "the unicast reply; decap floods stay local"
    );
}

#[test]
fn traffic_is_counted_per_remote_vtep_in_each_direction() {
    let mut rig = Rig::resolved();
    let inner = host_udp(HOST_P0, HOST_V1, 1000, 50);
    let from_vtep1 = vxlan_from(VTEP1, VTEP1_MAC, 100, &inner);
    rig.inject(0, &from_vtep1);
    rig.inject(0, &from_vtep1);
    rig.run();
    // A broadcast from phys0 goes to both VTEPs; the reply to HOST_V1 to VTEP1 only.
    rig.inject(1, &tag(&host_udp(BROADCAST, HOST_P0, 1, 20), 10));
    rig.inject(1, &tag(&host_udp(HOST_V1, HOST_P0, 1000, 50), 10));
    rig.run();
    let sent = rig.take(0);
    let bytes_to = |vtep: Ipv4Addr| -> u64 {
        sent.iter()
            .filter(|f| f[30..34] == vtep.octets())
            .map(|f| f.len() as u64)
            .sum()
    };
    let read = |vtep: Ipv4Addr| {
        let tunnel = rig.tunnel(vtep);
        rig.shared.workers[0].tunnels[tunnel.index()]
            .read()
            .unwrap()
    };
    let rx = from_vtep1.len() as u64;
    assert_eq!(read(VTEP1), (VTEP1, [2, 2 * rx, 2, bytes_to(VTEP1)]));
    assert_eq!(read(VTEP2), (VTEP2, [0, 0, 1, bytes_to(VTEP2)]));
    assert!(bytes_to(VTEP2) > 0);
}

#[test]
fn bum_from_one_vtep_never_reaches_another() {
    let mut rig = Rig::resolved();
    // HOST_V2 learned behind VTEP2.
    rig.inject(
        0,
        &vxlan_from(VTEP2, VTEP2_MAC, 100, &host_udp(BROADCAST, HOST_V2, 1, 10)),
    );
    rig.run();
    rig.take(1);
    rig.take(2);
    assert!(rig.take(0).is_empty());
    // Unicast from VTEP1 to a MAC behind VTEP2: refused, not hairpinned.
    rig.inject(
        0,
        &vxlan_from(VTEP1, VTEP1_MAC, 100, &host_udp(HOST_V2, HOST_V1, 1, 10)),
    );
    rig.run();
    assert!(rig.take(0).is_empty());
    assert_eq!(rig.drops(DropReason::SplitHorizon), 1);
}

#[test]
fn local_unicast_is_bridged_between_ports() {
    let mut rig = Rig::resolved();
    rig.inject(2, &tag(&host_udp(BROADCAST, HOST_P1, 1, 10), 20));
    rig.run();
    rig.take(0);
    rig.take(1);
    let frame = host_udp(HOST_P1, HOST_P0, 1, 10);
    rig.inject(1, &tag(&frame, 10));
    rig.run();
    assert_eq!(rig.take(2), vec![tag(&frame, 20)]);
    assert!(rig.take(0).is_empty());
    // A frame to a MAC on its own segment goes nowhere.
    rig.inject(
        2,
        &tag(&host_udp(HOST_P1, Mac([2, 0, 0, 0, 4, 2]), 1, 10), 20),
    );
    rig.run();
    assert_eq!(rig.drops(DropReason::SameSegment), 1);
}

#[test]
fn untagged_and_unbound_vlans() {
    let mut rig = Rig::resolved();
    let frame = host_udp(BROADCAST, HOST_P0, 1, 10);
    rig.inject(1, &frame);
    rig.inject(1, &tag(&frame, 0)); // priority-tagged counts as untagged
    rig.inject(1, &tag(&frame, 99));
    rig.inject(2, &frame);
    rig.run();
    let out = rig.take(0);
    assert_eq!(out.len(), 2, "VNI 200 floods to VTEP1 only, twice");
    for f in &out {
        check_outer(f, VTEP1, VTEP1_MAC, 200);
    }
    assert_eq!(rig.drops(DropReason::UnknownVlan), 2);
}

#[test]
fn malformed_vxlan_is_dropped_by_reason_and_traffic_continues() {
    let mut rig = Rig::resolved();
    let inner = host_udp(HOST_P0, HOST_V1, 1, 20);
    let good = vxlan_from(VTEP1, VTEP1_MAC, 100, &inner);

    let mut bad_flags = good.clone();
    bad_flags[42] = 0x00;
    let unknown_vni = vxlan_from(VTEP1, VTEP1_MAC, 4242, &inner);
    let truncated = good[..46].to_vec();
    let inner_tagged = vxlan_from(VTEP1, VTEP1_MAC, 100, &tag(&inner, 10));
    let mut fragment = good.clone();
    fragment[20] = 0x20; // more fragments
    fix_ip_checksum(&mut fragment);
    let mut wrong_port = good.clone();
    wrong_port[37] = 0x01;
    let mut bad_csum = good.clone();
    bad_csum[24] ^= 0xff;
    let mut other_ip = good.clone();
    other_ip[33] = 99;
    fix_ip_checksum(&mut other_ip);
    let mut other_mac = good.clone();
    other_mac[5] = 0x99;
    let mut broadcast = good.clone();
    broadcast[..6].copy_from_slice(&BROADCAST.0);
    let mut udp_len_short = good.clone();
    udp_len_short[38..40].copy_from_slice(&4u16.to_be_bytes());
    let short_inner = vxlan_from(VTEP1, VTEP1_MAC, 100, &inner[..10]);

    for f in [
        &bad_flags,
        &unknown_vni,
        &truncated,
        &inner_tagged,
        &fragment,
        &wrong_port,
        &bad_csum,
        &other_ip,
        &other_mac,
        &broadcast,
        &udp_len_short,
        &short_inner,
    ] {
        rig.inject(0, f);
    }
    rig.inject(0, &good);
    rig.run();
    for (reason, n) in [
        (DropReason::BadVxlanFlags, 1),
        (DropReason::UnknownVni, 1),
        (DropReason::Truncated, 2),
        (DropReason::InnerVlanTag, 1),
        (DropReason::OuterFragment, 1),
        (DropReason::WrongUdpPort, 1),
        (DropReason::BadIpv4Checksum, 1),
        (DropReason::NotOurVtepIp, 1),
        (DropReason::NotOurMac, 2),
        (DropReason::NotVxlan, 1),
    ] {
        assert_eq!(rig.drops(reason), n, "{reason:?}");
    }
    assert_eq!(
        rig.take(1),
        vec![tag(&inner, 10)],
        "only the valid frame is delivered"
    );
    assert_eq!(rig.take(2), vec![tag(&inner, 20)]);
}

fn fix_ip_checksum(frame: &mut [u8]) {
    frame[24] = 0;
    frame[25] = 0;
    let sum = checksum(&frame[14..34]);
    frame[24..26].copy_from_slice(&sum.to_be_bytes());
    assert_eq!(checksum(&frame[14..34]), 0);
}

#[test]
fn source_ports_are_stable_per_flow_and_spread_across_flows() {
    let mut rig = Rig::resolved();
    rig.inject(
        0,
        &vxlan_from(VTEP1, VTEP1_MAC, 100, &host_udp(BROADCAST, HOST_V1, 1, 10)),
    );
    rig.run();
    rig.take(1);
    rig.take(2);
    let mut ports = Vec::new();
    for round in 0..2 {
        for flow in 0..256u16 {
            rig.inject(1, &tag(&host_udp(HOST_V1, HOST_P0, 10000 + flow, 20), 10));
            rig.run();
            let out = rig.take(0);
            assert_eq!(out.len(), 1);
            let port = source_port(&out[0]);
            if round == 0 {
                ports.push(port);
            } else {
                assert_eq!(port, ports[usize::from(flow)], "flow {flow} keeps its port");
            }
        }
    }
    let distinct: HashSet<u16> = ports.iter().copied().collect();
    assert!(
        distinct.len() > 200,
        "only {} distinct ports for 256 flows",
        distinct.len()
    );
    assert!(ports.iter().all(|p| (50000..=50999).contains(p)));
}

#[test]
fn oversize_frames_are_dropped_on_both_paths() {
    let config = CONFIG.replace("ttl = 33", "ttl = 33\nmtu = 1400\nmtu_check = \"warn\"");
    let mut rig = Rig::new(&config);
    rig.resolve(VTEP1, VTEP1_MAC);
    rig.resolve(VTEP2, VTEP2_MAC);
    rig.run();
    rig.take(0);
    // Encap: 1364 inner bytes + 36 = 1400 fits; one more byte does not.
    let fits = host_udp(BROADCAST, HOST_P0, 1, 1364 - 42);
    let too_big = host_udp(BROADCAST, HOST_P0, 1, 1365 - 42);
    rig.inject(1, &tag(&fits, 10));
    rig.inject(1, &tag(&too_big, 10));
    rig.run();
    let out = rig.take(0);
    assert_eq!(out.len(), 2, "only the fitting frame, to both VTEPs");
    assert!(out.iter().all(|f| f.len() == 1364 + 50));
    assert_eq!(rig.drops(DropReason::MtuExceeded), 2);

    // Decap: phys ports have MTU 1500, so a 1515-byte inner frame is too big.
    let mut rig = Rig::resolved();
    rig.inject(
        0,
        &vxlan_from(
            VTEP1,
            VTEP1_MAC,
            100,
            &host_udp(HOST_P0, HOST_V1, 1, 1501 - 28),
        ),
    );
    rig.inject(
        0,
        &vxlan_from(
            VTEP1,
            VTEP1_MAC,
            100,
            &host_udp(HOST_P0, HOST_V1, 1, 1500 - 28),
        ),
    );
    rig.run();
    assert_eq!(rig.take(1).len(), 1);
    assert_eq!(rig.drops(DropReason::MtuExceeded), 2, "one per port");
}

#[test]
fn full_tx_queue_and_empty_pool_are_counted() {
    let mut rig = Rig::resolved();
    rig.worker.io_mut().alloc_budget = Some(0);
    rig.inject(1, &tag(&host_udp(BROADCAST, HOST_P0, 1, 10), 10));
    rig.run();
    assert_eq!(
        rig.drops(DropReason::NoMbuf),
        2,
        "two copies could not be made"
    );
    assert_eq!(rig.take(0).len(), 1, "the original still goes out");
    rig.take(2);

    rig.worker.io_mut().alloc_budget = None;
    rig.worker.io_mut().tx_limit = Some(0);
    rig.inject(
        0,
        &vxlan_from(VTEP1, VTEP1_MAC, 100, &host_udp(HOST_P0, HOST_V1, 1, 10)),
    );
    rig.run();
    assert!(rig.take(1).is_empty());
    assert_eq!(
        rig.drops(DropReason::TxQueueFull),
        1,
        "HOST_P0 is known: one frame, refused"
    );
}

#[test]
fn answers_ping_to_the_vtep_address() {
    let mut rig = Rig::resolved();
    let mut icmp = vec![8u8, 0, 0, 0, 0x12, 0x34, 0, 1, 1, 2, 3, 4];
    let sum = checksum(&icmp);
    icmp[2..4].copy_from_slice(&sum.to_be_bytes());
    let mut ip = vec![0u8; 20];
    crate::wire::Ipv4Repr {
        src: VTEP1,
        dst: GW_IP,
        protocol: 1,
        ttl: 64,
        dont_frag: false,
        ident: 7,
        payload_len: icmp.len(),
    }
    .emit(&mut ip);
    ip.extend_from_slice(&icmp);
    rig.inject(0, &ethernet(UNDERLAY_MAC, VTEP1_MAC, None, 0x0800, &ip));
    rig.run();
    let out = rig.take(0);
    assert_eq!(out.len(), 1);
    let r = &out[0];
    assert_eq!(&r[0..6], &VTEP1_MAC);
    assert_eq!(&r[26..30], &GW_IP.octets());
    assert_eq!(&r[30..34], &VTEP1.octets());
    assert_eq!(r[34], 0, "echo reply");
    assert_eq!(checksum(&r[34..]), 0);
    assert_eq!(checksum(&r[14..34]), 0);
}

#[test]
fn vxlan_from_addresses_no_vtep_has_is_dropped_and_never_learned() {
    let mut rig = Rig::resolved();
    let sources = [
        GW_IP,                         // our own address
        Ipv4Addr::BROADCAST,           // limited broadcast
        Ipv4Addr::new(192, 0, 2, 255), // the underlay subnet's broadcast
        Ipv4Addr::new(239, 1, 1, 1),   // multicast
        Ipv4Addr::new(0, 0, 0, 0),     // 0.0.0.0/8
        Ipv4Addr::new(0, 1, 2, 3),
        Ipv4Addr::new(127, 0, 0, 1), // loopback
        Ipv4Addr::new(240, 0, 0, 1), // reserved
    ];
    for (i, src) in sources.iter().enumerate() {
        let host = Mac([0x02, 0, 0, 0, 0x77, i as u8]);
        let inner = host_udp(HOST_P0, host, 1000, 50);
        rig.inject(0, &vxlan_from(*src, VTEP1_MAC, 100, &inner));
    }
    rig.run();
    rig.advance(2);
    assert_eq!(rig.drops(DropReason::BadOuterSource), sources.len() as u64);
    assert!(
        rig.take(1).is_empty() && rig.take(2).is_empty(),
        "nothing delivered"
    );
    for (i, src) in sources.iter().enumerate() {
        assert_eq!(
            rig.lookup(100, &Mac([0x02, 0, 0, 0, 0x77, i as u8])),
            None,
            "{src}: not learned"
        );
        assert_eq!(
            rig.shared.tunnels.lookup(*src),
            None,
            "{src}: no VTEP entry"
        );
    }
    let arp_targets: Vec<_> = rig
        .take(0)
        .iter()
        .filter(|f| f[12..14] == [0x08, 0x06])
        .map(|f| Ipv4Addr::new(f[38], f[39], f[40], f[41]))
        .collect();
    assert!(
        arp_targets.iter().all(|t| !sources.contains(t)),
        "never ARPs for them: {arp_targets:?}"
    );
    // A real VTEP still gets through.
    let inner = host_udp(HOST_P0, HOST_V1, 1000, 50);
    rig.inject(0, &vxlan_from(VTEP1, VTEP1_MAC, 100, &inner));
    rig.run();
    assert_eq!(rig.take(1), vec![tag(&inner, 10)]);
}

#[test]
fn arp_claiming_our_address_or_from_no_host_is_ignored() {
    let mut rig = Rig::resolved();
    rig.inject(0, &arp_frame(ARP_REQUEST, VTEP1_MAC, GW_IP, [0; 6], GW_IP));
    rig.inject(
        0,
        &arp_frame(
            ARP_REQUEST,
            VTEP1_MAC,
            Ipv4Addr::new(127, 0, 0, 1),
            [0; 6],
            GW_IP,
        ),
    );
    rig.run();
    assert!(rig.take(0).is_empty(), "no reply");
    assert_eq!(rig.drops(DropReason::ArpIgnored), 2);
    // A next hop "moving" to a MAC no host has is not followed.
    for bad in [
        BROADCAST,
        Mac([0x01, 0, 0x5e, 0, 0, 1]),
        Mac::ZERO,
        UNDERLAY_MAC,
    ] {
        rig.inject(0, &arp_frame(ARP_REPLY, bad, VTEP1, UNDERLAY_MAC, GW_IP));
    }
    rig.run();
    assert_eq!(rig.drops(DropReason::ArpIgnored), 6);
    assert!(matches!(
        rig.shared.tunnels.lookup(VTEP1),
        Some(NextHop::Resolved { mac: VTEP1_MAC, .. })
    ));
}

/// Gratuitous ARP, as Linux sends it with `arp_notify` (a broadcast request
/// with sender = target) or in reply form.
fn gratuitous(op: u16, mac: impl Into<Mac>, ip: Ipv4Addr) -> Vec<u8> {
    let mut f = arp_frame(op, mac, ip, [0xff; 6], ip);
    f[..6].copy_from_slice(&BROADCAST.0);
    f
}

#[test]
fn a_next_hop_announcing_a_new_mac_is_followed_at_once() {
    let mut rig = Rig::resolved();
    let encap_dst = |rig: &mut Rig| {
        let inner = host_udp(BROADCAST, HOST_P0, 1000, 50);
        rig.inject(1, &tag(&inner, 10));
        rig.run();
        let out = rig.take(0);
        let to_vtep1: Vec<[u8; 6]> = out
            .iter()
            .filter(|f| f[30..34] == VTEP1.octets())
            .map(|f| f[0..6].try_into().unwrap())
            .collect();
        to_vtep1
    };
    assert_eq!(encap_dst(&mut rig), vec![VTEP1_MAC]);
    let moved = [0x02, 0, 0, 0, 0x0b, 0x01];
    let moved_again = [0x02, 0, 0, 0, 0x0b, 0x02];
    let unsolicited = [0x02, 0, 0, 0, 0x0b, 0x03];
    // Request form, then reply form, then an unsolicited reply to us: each
    // takes effect on the next frame, with no ARP of ours in between.
    for (frame, mac) in [
        (gratuitous(ARP_REQUEST, moved, VTEP1), moved),
        (gratuitous(ARP_REPLY, moved_again, VTEP1), moved_again),
        (
            arp_frame(ARP_REPLY, unsolicited, VTEP1, UNDERLAY_MAC, GW_IP),
            unsolicited,
        ),
    ] {
        rig.inject(0, &frame);
        rig.run();
        assert_eq!(encap_dst(&mut rig), vec![mac]);
    }
    assert_eq!(rig_changes(&rig), 3, "each change counted");
    // Gratuitous ARP from a host we do not resolve creates nothing.
    let stranger = Ipv4Addr::new(192, 0, 2, 99);
    rig.inject(
        0,
        &gratuitous(ARP_REQUEST, [0x02, 0, 0, 0, 0x0c, 1], stranger),
    );
    rig.run();
    assert_eq!(rig.shared.tunnels.lookup(stranger), None);
    assert_eq!(rig_changes(&rig), 3);
    assert_eq!(
        rig.drops(DropReason::ArpIgnored),
        0,
        "announcements are not drops"
    );
}

fn rig_changes(rig: &Rig) -> u64 {
    rig.shared.control.next_hop_mac_changes.get()
}

#[test]
fn every_packet_gets_a_verdict_on_every_path() {
    let mut rig = Rig::resolved();
    // Sent, consumed (a gratuitous ARP), dropped, flooded with copies,
    // and copies that find no buffer.
    rig.inject(1, &tag(&host_udp(BROADCAST, HOST_P0, 1, 10), 10));
    rig.inject(0, &gratuitous(ARP_REQUEST, VTEP1_MAC, VTEP1));
    rig.inject(
        0,
        &vxlan_from(VTEP1, VTEP1_MAC, 999, &host_udp(HOST_P0, HOST_V1, 1, 10)),
    );
    rig.inject(
        0,
        &vxlan_from(VTEP1, VTEP1_MAC, 100, &host_udp(HOST_P0, HOST_V1, 1, 10)),
    );
    rig.run();
    rig.worker.io_mut().alloc_budget = Some(0);
    rig.inject(1, &tag(&host_udp(BROADCAST, HOST_P0, 2, 10), 10));
    rig.run();
    assert!(rig.drops(DropReason::NoMbuf) > 0);
    assert_eq!(rig.shared.workers[0].no_verdict.get(), 0);
}

#[test]
fn drops_of_a_burst_are_freed_in_one_call() {
    let mut rig = Rig::resolved();
    let inner = host_udp(HOST_P0, HOST_V1, 1, 20);
    let good = vxlan_from(VTEP1, VTEP1_MAC, 100, &inner);
    let unknown_vni = vxlan_from(VTEP1, VTEP1_MAC, 4242, &inner);
    let mut bad_csum = good.clone();
    bad_csum[24] ^= 0xff;
    let before = (
        rig.worker.io_mut().bulk_frees,
        rig.worker.io_mut().bulk_freed,
    );
    for f in [&unknown_vni, &good, &bad_csum, &unknown_vni, &good] {
        rig.inject(0, f);
    }
    // One more drop from a physical port: another burst, another call.
    rig.inject(1, &tag(&host_udp(HOST_V1, HOST_P0, 1, 10), 99));
    rig.worker.poll_once();
    let io = rig.worker.io_mut();
    assert_eq!(io.bulk_freed - before.1, 4, "every dropped packet freed");
    assert_eq!(io.bulk_frees - before.0, 2, "once per burst with drops");
    assert_eq!(rig.take(1).len(), 2, "the good ones still go out");
    assert_eq!(rig.drops(DropReason::UnknownVni), 2);
    assert_eq!(rig.drops(DropReason::UnknownVlan), 1);
}

#[test]
fn unsent_frames_of_a_full_tx_queue_are_freed_in_bulk() {
    let mut rig = Rig::resolved();
    rig.worker.io_mut().tx_limit = Some(1);
    let before = rig.worker.io_mut().bulk_freed;
    // Each floods to ports 1 and 2; each port takes one of its three.
    for i in 0..3 {
        let inner = host_udp(HOST_P0, HOST_V1, i, 10);
        rig.inject(0, &vxlan_from(VTEP1, VTEP1_MAC, 100, &inner));
    }
    rig.worker.poll_once();
    assert_eq!(rig.drops(DropReason::TxQueueFull), 4);
    assert_eq!(rig.worker.io_mut().bulk_freed - before, 4);
    assert_eq!(rig.shared.workers[0].no_verdict.get(), 0);
}

#[test]
fn a_staged_burst_keeps_its_order_and_learns_its_source() {
    let mut rig = Rig::resolved();
    let frames: Vec<_> = (0..8)
        .map(|i| host_udp(HOST_P0, HOST_V1, 100 + i, 30))
        .collect();
    // An ARP request for us in the middle: answered on the underlay while
    // the VXLAN frames around it wait for the burst's lookup stage.
    for (i, f) in frames.iter().enumerate() {
        rig.inject(0, &vxlan_from(VTEP1, VTEP1_MAC, 100, f));
        if i == 3 {
            rig.inject(0, &arp_frame(ARP_REQUEST, VTEP1_MAC, VTEP1, [0; 6], GW_IP));
        }
    }
    rig.worker.poll_once();
    let want: Vec<_> = frames.iter().map(|f| tag(f, 10)).collect();
    assert_eq!(rig.take(1), want, "decapsulated in arrival order");
    assert_eq!(rig.take(0).len(), 1, "the ARP reply");
    rig.run();
    assert_eq!(
        rig.lookup(100, &HOST_V1),
        Some(MacDest::Remote {
            tunnel: rig.tunnel(VTEP1),
        })
    );
    assert_eq!(rig.shared.workers[0].no_verdict.get(), 0);
}
