//! The L3 gateway's stages on the in-memory rig: ARP for the gateway
//! address, routing between VNIs with a cold neighbour (held, asked for,
//! released), echo to the gateway, and the drops of the routed path.

use crate::counters::DropReason;
use crate::testkit::*;
use crate::wire::ipv4::{checksum, Ipv4Repr, PROTO_ICMP};
use crate::wire::{Mac, ARP_REPLY, ARP_REQUEST};
use std::net::Ipv4Addr;

/// VNI 100 on phys0 VLAN 10 (203.0.113.0/24), VNI 200 on phys1 VLAN 20
/// (198.51.100.0/24), each with a gateway interface.
const L3: &str = r#"
[underlay]
device = "u0"
address = "192.0.2.10/24"

[[port]]
name = "phys0"
device = "p0"
vlans = [{ vlan = 10, vni = 100 }]

[[port]]
name = "phys1"
device = "p1"
vlans = [{ vlan = 20, vni = 200 }]

[[vni]]
id = 100
flood = ["192.0.2.1"]
gateway = { address = "203.0.113.254/24" }

[[vni]]
id = 200
flood = ["192.0.2.2"]
gateway = { address = "198.51.100.1/24" }

[neighbour]
retries = 2
retry_interval_ms = 500
"#;

/// The derived gateway MAC: 02:76 and the underlay address.
const GW_MAC: Mac = Mac([0x02, 0x76, 192, 0, 2, 10]);
const A_IP: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 1);
const B_IP: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 2);

fn rig() -> Rig {
    let mut rig = Rig::new(L3);
    rig.resolve(VTEP1, VTEP1_MAC);
    rig.resolve(VTEP2, VTEP2_MAC);
    rig.run();
    rig.take(0);
    rig
}

/// An ICMP echo request IPv4 packet.
fn echo(src: Ipv4Addr, dst: Ipv4Addr, ttl: u8) -> Vec<u8> {
    let mut p = vec![0u8; 20 + 8 + 16];
    Ipv4Repr {
        src,
        dst,
        protocol: PROTO_ICMP,
        ttl,
        dont_frag: true,
        ident: 7,
        payload_len: 24,
    }
    .emit(&mut p);
    p[20] = 8; // echo request
    p[24..28].copy_from_slice(&[0, 1, 0, 1]);
    let sum = checksum(&p[20..]);
    p[22..24].copy_from_slice(&sum.to_be_bytes());
    p
}

/// The untagged frame inside a tagged one, with its VLAN.
fn untag(frame: &[u8]) -> (u16, Vec<u8>) {
    assert_eq!(&frame[12..14], &[0x81, 0x00], "tagged");
    let vid = u16::from_be_bytes([frame[14], frame[15]]) & 0xfff;
    let mut f = frame[..12].to_vec();
    f.extend_from_slice(&frame[16..]);
    (vid, f)
}

#[test]
fn arp_for_the_gateway_address_is_answered_where_it_came_from_and_not_flooded() {
    let mut rig = rig();
    let request = arp_frame(
        ARP_REQUEST,
        HOST_P0,
        A_IP,
        Mac::ZERO,
        Ipv4Addr::new(203, 0, 113, 254),
    );
    rig.inject(1, &tag(&request, 10));
    rig.run();
    let out = rig.take(1);
    assert_eq!(out.len(), 1, "one reply on the port it came from");
    let (vid, reply) = untag(&out[0]);
    assert_eq!(vid, 10);
    let expected = arp_frame(
        ARP_REPLY,
        GW_MAC,
        Ipv4Addr::new(203, 0, 113, 254),
        HOST_P0,
        A_IP,
    );
    assert_eq!(reply, expected);
    assert!(rig.take(0).is_empty(), "not flooded to the VTEPs");
    assert!(rig.take(2).is_empty());
    assert_eq!(rig.shared.workers[0].gateway_arp_replies_sent.get(), 1);
    // The asker is a neighbour now.
    let iface = rig
        .shared
        .snapshot
        .load()
        .vni(rig.slot(100))
        .unwrap()
        .gateway
        .unwrap()
        .iface;
    assert_eq!(
        rig.shared.neighbours.lookup(iface, A_IP).map(|h| h.mac),
        Some(HOST_P0)
    );
}

#[test]
fn a_packet_to_a_cold_neighbour_waits_for_its_arp_reply_and_is_routed() {
    let mut rig = rig();
    let ping = ethernet(GW_MAC, HOST_P0, Some(10), 0x0800, &echo(A_IP, B_IP, 64));
    rig.inject(1, &ping);
    rig.run();
    // Held; an ARP request from the gateway goes into VNI 200: on phys1
    // (VLAN 20) and to its VTEP.
    let asked = rig.take(2);
    assert_eq!(asked.len(), 1, "{asked:?}");
    let (vid, req) = untag(&asked[0]);
    assert_eq!(vid, 20);
    let gw200 = Ipv4Addr::new(198, 51, 100, 1);
    assert_eq!(req, arp_frame(ARP_REQUEST, GW_MAC, gw200, Mac::ZERO, B_IP));
    let to_vtep = rig.take(0);
    assert_eq!(to_vtep.len(), 1, "and to VNI 200's VTEP");
    assert_eq!(&to_vtep[0][to_vtep[0].len() - 42..], &req[..]);
    assert_eq!(rig.worker_held(), 1);

    // B answers; the packet goes on.
    let reply = arp_frame(ARP_REPLY, HOST_P1, B_IP, GW_MAC, gw200);
    rig.inject(2, &tag(&reply, 20));
    rig.run();
    let out = rig.take(2);
    assert_eq!(out.len(), 1, "the held ping, routed");
    let (vid, f) = untag(&out[0]);
    assert_eq!(vid, 20);
    assert_eq!(&f[..6], &HOST_P1.0, "to B");
    assert_eq!(&f[6..12], &GW_MAC.0, "from the gateway MAC");
    let ip = &f[14..];
    assert_eq!(ip[8], 63, "TTL less one");
    assert_eq!(checksum(&ip[..20]), 0, "header checksum still right");
    assert_eq!(&ip[20..], &echo(A_IP, B_IP, 64)[20..], "payload untouched");
    assert_eq!(rig.worker_held(), 0);

    // Now B is known: the next packet goes at once, and so does B's answer
    // to A (A was learned from its packet).
    rig.inject(1, &ping);
    rig.inject(
        2,
        &ethernet(GW_MAC, HOST_P1, Some(20), 0x0800, &echo(B_IP, A_IP, 64)),
    );
    rig.worker.poll_once();
    assert_eq!(rig.take(2).len(), 1);
    let back = rig.take(1);
    assert_eq!(back.len(), 1, "B to A, routed into VNI 100");
    assert_eq!(
        &untag(&back[0]).1[..12],
        &[HOST_P0.0, GW_MAC.0].concat()[..]
    );
    let c = &rig.shared.workers[0];
    assert_eq!(c.routed[rig.slot(200).index()].out_packets.get(), 2);
    assert_eq!(c.routed[rig.slot(100).index()].out_packets.get(), 1);
    assert_eq!(c.no_verdict.get(), 0);
}

#[test]
fn a_neighbour_that_never_answers_is_asked_again_then_its_packets_dropped() {
    let mut rig = rig();
    let ping = ethernet(GW_MAC, HOST_P0, Some(10), 0x0800, &echo(A_IP, B_IP, 64));
    rig.inject(1, &ping);
    rig.inject(1, &ping);
    rig.run();
    assert_eq!(rig.take(2).len(), 1, "one request for two packets");
    assert_eq!(rig.worker_held(), 2);
    let gauges = |rig: &Rig| {
        use std::sync::atomic::Ordering::Relaxed;
        let c = &rig.shared.workers[0];
        (
            c.neighbours_waiting.load(Relaxed),
            c.packets_held.load(Relaxed),
        )
    };
    assert_eq!(gauges(&rig), (1, 2), "published for the metrics");
    rig.advance(1);
    assert_eq!(rig.take(2).len(), 1, "asked again after the interval");
    assert_eq!(rig.drops(DropReason::NeighbourUnresolved), 0);
    rig.advance(1);
    assert_eq!(
        rig.drops(DropReason::NeighbourUnresolved),
        2,
        "retries spent"
    );
    assert!(rig.take(2).is_empty(), "no third request (retries = 2)");
    assert_eq!(rig.worker_held(), 0);
    assert_eq!(gauges(&rig), (0, 0));
    assert_eq!(rig.shared.workers[0].gateway_arp_requests_sent.get(), 2);
}

#[test]
fn the_gateway_answers_echo_on_each_of_its_addresses() {
    let mut rig = rig();
    for gw in [
        Ipv4Addr::new(203, 0, 113, 254),
        Ipv4Addr::new(198, 51, 100, 1),
    ] {
        rig.inject(
            1,
            &ethernet(GW_MAC, HOST_P0, Some(10), 0x0800, &echo(A_IP, gw, 64)),
        );
        rig.run();
        rig.run();
        let out: Vec<_> = rig.take(1).into_iter().map(|f| untag(&f).1).collect();
        let replies: Vec<_> = out.iter().filter(|f| f[12..14] == [8, 0]).collect();
        assert_eq!(replies.len(), 1, "{gw}: {out:?}");
        let ip = &replies[0][14..];
        assert_eq!(ip[20], 0, "echo reply");
        assert_eq!(&ip[12..20], &[gw.octets(), A_IP.octets()].concat()[..]);
        assert_eq!(ip[8], 64, "sent by the gateway: not decremented");
        assert_eq!(&replies[0][..6], &HOST_P0.0);
    }
    assert_eq!(rig.shared.workers[0].gateway_echo_replies_sent.get(), 2);
}

#[test]
fn routed_path_drops_are_counted_by_reason() {
    let mut rig = rig();
    let send = |rig: &mut Rig, ip: Vec<u8>| {
        rig.inject(1, &ethernet(GW_MAC, HOST_P0, Some(10), 0x0800, &ip));
        rig.run();
    };
    send(&mut rig, echo(A_IP, Ipv4Addr::new(192, 0, 2, 99), 64));
    assert_eq!(
        rig.drops(DropReason::NoRoute),
        1,
        "no route to the underlay"
    );
    send(&mut rig, echo(A_IP, B_IP, 1));
    assert_eq!(rig.drops(DropReason::TtlExceeded), 1);
    let mut bad = echo(A_IP, B_IP, 64);
    bad[10] ^= 0xff;
    send(&mut rig, bad);
    assert_eq!(rig.drops(DropReason::BadIpv4Checksum), 1);
    let mut udp = echo(A_IP, Ipv4Addr::new(203, 0, 113, 254), 64);
    udp[9] = 17;
    udp[10..12].fill(0);
    let sum = checksum(&udp[..20]);
    udp[10..12].copy_from_slice(&sum.to_be_bytes());
    send(&mut rig, udp);
    assert_eq!(
        rig.drops(DropReason::GatewayIgnored),
        1,
        "only echo to the gateway"
    );
    rig.inject(1, &ethernet(GW_MAC, HOST_P0, Some(10), 0x86dd, &[0; 40]));
    rig.run();
    assert_eq!(rig.drops(DropReason::NotRoutable), 1);
    assert!(rig.take(2).is_empty());
}

#[test]
fn vrfs_keep_their_routes_apart() {
    let config = L3.replace(
        r#"gateway = { address = "198.51.100.1/24" }"#,
        r#"gateway = { address = "198.51.100.1/24", vrf = "red" }"#,
    ) + "\n[[vrf]]\nname = \"red\"\n";
    let mut rig = Rig::new(&config);
    rig.inject(
        1,
        &ethernet(GW_MAC, HOST_P0, Some(10), 0x0800, &echo(A_IP, B_IP, 64)),
    );
    rig.run();
    assert_eq!(rig.drops(DropReason::NoRoute), 1, "VNI 200 is in red");
    assert!(rig.take(2).is_empty());
}

/// An ICMP message as sent: (type, code, source, the rest of the header,
/// the quoted packet's first bytes).
type IcmpSeen = (u8, u8, Ipv4Addr, [u8; 4], Vec<u8>);

/// The ICMP messages among the untagged frames sent on `port`.
fn icmp_out(rig: &mut Rig, port: u8) -> Vec<IcmpSeen> {
    rig.take(port)
        .into_iter()
        .map(|f| untag(&f).1)
        .filter(|f| f[12..14] == [8, 0] && f[14 + 9] == PROTO_ICMP)
        .map(|f| {
            let ip = &f[14..];
            assert_eq!(checksum(&ip[..20]), 0);
            assert_eq!(checksum(&ip[20..]), 0, "ICMP checksum");
            let src = Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]);
            let rest = [ip[24], ip[25], ip[26], ip[27]];
            (ip[20], ip[21], src, rest, ip[28..].to_vec())
        })
        .collect()
}

#[test]
fn errors_go_back_from_the_ingress_gateway_address_quoting_the_packet() {
    let mut rig = Rig::new(&L3.replace("id = 200\n", "id = 200\nmtu = 1400\n"));
    let gw100 = Ipv4Addr::new(203, 0, 113, 254);
    let send = |rig: &mut Rig, ip: &[u8]| {
        rig.inject(1, &ethernet(GW_MAC, HOST_P0, Some(10), 0x0800, ip));
        rig.run();
        rig.run();
    };
    let expired = echo(A_IP, B_IP, 1);
    send(&mut rig, &expired);
    let errors = icmp_out(&mut rig, 1);
    assert_eq!(errors.len(), 1, "{errors:?}");
    let (t, code, src, _, quote) = &errors[0];
    assert_eq!(
        (*t, *code, *src),
        (11, 0, gw100),
        "time exceeded from the ingress gateway"
    );
    assert_eq!(&quote[..], &expired[..], "the whole (short) packet quoted");

    send(&mut rig, &echo(A_IP, Ipv4Addr::new(192, 0, 2, 99), 64));
    let errors = icmp_out(&mut rig, 1);
    assert_eq!(
        (errors[0].0, errors[0].1),
        (3, 0),
        "net unreachable: {errors:?}"
    );

    // DF and larger than VNI 200's MTU (1400): fragmentation needed, with it.
    let mut big = vec![0u8; 1480];
    Ipv4Repr {
        src: A_IP,
        dst: B_IP,
        protocol: 17,
        ttl: 64,
        dont_frag: true,
        ident: 9,
        payload_len: 1460,
    }
    .emit(&mut big);
    send(&mut rig, &big);
    let errors = icmp_out(&mut rig, 1);
    assert_eq!((errors[0].0, errors[0].1), (3, 4), "{errors:?}");
    assert_eq!(errors[0].3, [0, 0, 0x05, 0x78], "next-hop MTU 1400");
    assert_eq!(rig.drops(DropReason::FragNeeded), 1);
    let c = &rig.shared.workers[0];
    assert_eq!(
        c.icmp_errors.iter().map(|c| c.get()).collect::<Vec<_>>(),
        [1, 1, 0, 1]
    );

    // No error about an error.
    let mut error = echo(A_IP, B_IP, 1);
    error[20] = 3;
    error[22..24].fill(0);
    let sum = checksum(&error[20..]);
    error[22..24].copy_from_slice(&sum.to_be_bytes());
    send(&mut rig, &error);
    assert!(icmp_out(&mut rig, 1).is_empty());
    assert_eq!(rig.drops(DropReason::TtlExceeded), 2);
}

#[test]
fn the_rate_limit_holds_errors_back() {
    let config = format!("{L3}\n[icmp]\nrate_per_sec = 1\nburst = 2\n");
    let mut rig = Rig::new(&config);
    for _ in 0..5 {
        rig.inject(
            1,
            &ethernet(GW_MAC, HOST_P0, Some(10), 0x0800, &echo(A_IP, B_IP, 1)),
        );
    }
    rig.run();
    rig.run();
    let c = &rig.shared.workers[0];
    assert_eq!(c.icmp_errors[0].get(), 2, "the burst");
    assert_eq!(c.icmp_errors_limited.get(), 3);
    assert_eq!(
        rig.drops(DropReason::TtlExceeded),
        5,
        "every packet still counted"
    );
}

/// VNI 100 with ARP suppression `mode`; host A (phys0) and a host C
/// behind VTEP 1, both in 203.0.113.0/24.
fn suppressing(mode: &str) -> Rig {
    let config = L3.replace(
        "id = 100\n",
        &format!("id = 100\narp_suppression = \"{mode}\"\n"),
    );
    let mut rig = Rig::new(&config);
    rig.resolve(VTEP1, VTEP1_MAC);
    rig.resolve(VTEP2, VTEP2_MAC);
    rig.run();
    rig.take(0);
    rig
}

const C_IP: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 7);

#[test]
fn reply_on_behalf_answers_for_a_known_host_with_its_own_mac() {
    let mut rig = suppressing("reply");
    let ask = tag(&arp_frame(ARP_REQUEST, HOST_P0, A_IP, Mac::ZERO, C_IP), 10);
    // C unknown: flooded as without suppression (to VTEP 1), counted as a miss.
    rig.inject(1, &ask);
    rig.run();
    assert_eq!(rig.take(0).len(), 1, "a miss is flooded");
    assert!(rig.take(1).is_empty());
    assert_eq!(rig.shared.workers[0].arp_suppression_misses.get(), 1);
    // C makes itself known (any ARP it sends); now A's request is answered
    // here with C's MAC, and nothing reaches the VTEP.
    let c_arp = arp_frame(
        ARP_REQUEST,
        HOST_V1,
        C_IP,
        Mac::ZERO,
        Ipv4Addr::new(203, 0, 113, 254),
    );
    rig.inject(0, &vxlan_from(VTEP1, VTEP1_MAC, 100, &c_arp));
    rig.run();
    rig.take(0);
    rig.inject(1, &ask);
    rig.run();
    assert!(rig.take(0).is_empty(), "not flooded");
    let out = rig.take(1);
    assert_eq!(out.len(), 1);
    let (_, reply) = untag(&out[0]);
    assert_eq!(reply, arp_frame(ARP_REPLY, HOST_V1, C_IP, HOST_P0, A_IP));
    assert_eq!(rig.shared.workers[0].arp_suppression_replies[0].get(), 1);
    // Gratuitous ARP and probes are never answered: flooded.
    for (sender, target) in [(C_IP, C_IP), (Ipv4Addr::UNSPECIFIED, C_IP)] {
        let g = tag(
            &arp_frame(ARP_REQUEST, HOST_P0, sender, Mac::ZERO, target),
            10,
        );
        rig.inject(1, &g);
        rig.run();
        assert_eq!(rig.take(0).len(), 1, "{sender} for {target} flooded");
        assert!(rig.take(1).is_empty());
    }
}

#[test]
fn proxy_answers_everything_with_the_gateway_mac_and_routes_the_subnet() {
    let mut rig = suppressing("proxy");
    rig.inject(
        1,
        &tag(&arp_frame(ARP_REQUEST, HOST_P0, A_IP, Mac::ZERO, C_IP), 10),
    );
    rig.run();
    assert!(rig.take(0).is_empty(), "not flooded");
    let (_, reply) = untag(&rig.take(1)[0]);
    assert_eq!(reply, arp_frame(ARP_REPLY, GW_MAC, C_IP, HOST_P0, A_IP));
    assert_eq!(rig.shared.workers[0].arp_suppression_replies[1].get(), 1);
    // A's packet to C comes to the gateway MAC and is routed in the subnet:
    // the gateway asks for C itself, then forwards with TTL less one.
    rig.inject(
        1,
        &ethernet(GW_MAC, HOST_P0, Some(10), 0x0800, &echo(A_IP, C_IP, 64)),
    );
    rig.run();
    let asked = rig.take(0);
    assert_eq!(asked.len(), 1, "the gateway's own request for C, to VTEP 1");
    let c_reply = arp_frame(
        ARP_REPLY,
        HOST_V1,
        C_IP,
        GW_MAC,
        Ipv4Addr::new(203, 0, 113, 254),
    );
    rig.inject(0, &vxlan_from(VTEP1, VTEP1_MAC, 100, &c_reply));
    rig.run();
    let sent = rig.take(0);
    assert_eq!(sent.len(), 1, "routed to C's VTEP");
    let inner = &sent[0][50..];
    assert_eq!(&inner[..12], &[HOST_V1.0, GW_MAC.0].concat()[..]);
    assert_eq!(inner[14 + 8], 63, "TTL less one: routed, not bridged");
}

#[test]
fn a_packet_without_df_is_fragmented_for_a_smaller_egress_mtu() {
    let mut rig = Rig::new(&L3.replace("id = 200\n", "id = 200\nmtu = 1400\n"));
    // B known first.
    let gw200 = Ipv4Addr::new(198, 51, 100, 1);
    rig.inject(
        2,
        &tag(&arp_frame(ARP_REQUEST, HOST_P1, B_IP, Mac::ZERO, gw200), 20),
    );
    rig.run();
    rig.take(2);
    let mut big = vec![0u8; 1480];
    Ipv4Repr {
        src: A_IP,
        dst: B_IP,
        protocol: 17,
        ttl: 64,
        dont_frag: false,
        ident: 9,
        payload_len: 1460,
    }
    .emit(&mut big);
    big[20..]
        .iter_mut()
        .enumerate()
        .for_each(|(i, b)| *b = i as u8);
    rig.inject(1, &ethernet(GW_MAC, HOST_P0, Some(10), 0x0800, &big));
    rig.run();
    let out: Vec<_> = rig.take(2).into_iter().map(|f| untag(&f).1).collect();
    assert_eq!(out.len(), 2, "two fragments");
    let mut payload = Vec::new();
    for f in &out {
        let ip = &f[14..];
        assert!(ip.len() <= 1400);
        assert_eq!(checksum(&ip[..20]), 0);
        assert_eq!(ip[8], 63, "TTL less one in each");
        assert_eq!(&f[..6], &HOST_P1.0);
        payload.extend_from_slice(&ip[20..]);
    }
    assert_eq!(
        payload,
        big[20..],
        "the fragments carry the payload in order"
    );
    assert_eq!(rig.shared.workers[0].fragments_made.get(), 2);
    assert_eq!(rig.shared.workers[0].no_verdict.get(), 0);
}

/// VNI 100 on phys0 VLAN 10 and a routed uplink on phys1 (untagged,
/// 198.51.100.1/30) with a default route to the router at .2.
const UPLINK: &str = r#"
[underlay]
device = "u0"
address = "192.0.2.10/24"

[[port]]
name = "phys0"
device = "p0"
vlans = [{ vlan = 10, vni = 100 }]

[[port]]
name = "phys1"
device = "p1"

[[vni]]
id = 100
flood = ["192.0.2.1"]
gateway = { address = "203.0.113.254/24" }

[[interface]]
name = "core"
port = "phys1"
address = "198.51.100.1/30"

[[route]]
prefix = "0.0.0.0/0"
next_hop = "198.51.100.2"
"#;

#[test]
fn a_routed_uplink_resolves_its_next_hop_on_the_port_and_routes_both_ways() {
    let mut rig = Rig::new(UPLINK);
    let far = Ipv4Addr::new(192, 0, 2, 200);
    let router = Ipv4Addr::new(198, 51, 100, 2);
    let core = Ipv4Addr::new(198, 51, 100, 1);
    const ROUTER_MAC: Mac = Mac([2, 0, 0, 0, 9, 9]);
    // The router asks for the gateway's uplink address: answered untagged
    // from phys1's own MAC.
    rig.inject(
        2,
        &arp_frame(ARP_REQUEST, ROUTER_MAC, router, Mac::ZERO, core),
    );
    rig.run();
    let out = rig.take(2);
    assert_eq!(
        out,
        [arp_frame(ARP_REPLY, PHYS1_MAC, core, ROUTER_MAC, router)]
    );
    // A's packet to the far network goes to the router (learned from its
    // ARP), from phys1's MAC, TTL less one, untagged.
    rig.inject(
        1,
        &ethernet(GW_MAC, HOST_P0, Some(10), 0x0800, &echo(A_IP, far, 64)),
    );
    rig.run();
    let out = rig.take(2);
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(&out[0][..12], &[ROUTER_MAC.0, PHYS1_MAC.0].concat()[..]);
    assert_eq!(&out[0][12..14], &[8, 0], "untagged");
    assert_eq!(out[0][14 + 8], 63);
    // The answer comes back from the router to phys1's MAC and is routed
    // into VNI 100 (A learned from its packet).
    rig.inject(
        2,
        &ethernet(PHYS1_MAC, ROUTER_MAC, None, 0x0800, &echo(far, A_IP, 64)),
    );
    rig.run();
    let back = rig.take(1);
    assert_eq!(back.len(), 1, "{back:?}");
    assert_eq!(
        &untag(&back[0]).1[..12],
        &[HOST_P0.0, GW_MAC.0].concat()[..]
    );
    // Nothing is bridged on a routed port.
    rig.inject(
        2,
        &ethernet(HOST_P1, ROUTER_MAC, None, 0x0800, &echo(far, A_IP, 64)),
    );
    rig.run();
    assert_eq!(rig.drops(DropReason::NotForInterface), 1);
    let c = &rig.shared.workers[0];
    let core_counter = crate::snapshot::VNI_SLOTS;
    assert_eq!(c.routed[core_counter].out_packets.get(), 1);
    assert_eq!(c.routed[core_counter].in_packets.get(), 1);
}

#[test]
fn a_new_config_is_routed_by_its_own_table_not_the_last_route() {
    let mut rig = Rig::new(UPLINK);
    let far = Ipv4Addr::new(192, 0, 2, 200);
    let ping = ethernet(GW_MAC, HOST_P0, Some(10), 0x0800, &echo(A_IP, far, 64));
    rig.inject(1, &ping);
    rig.run();
    assert_eq!(rig.drops(DropReason::NoRoute), 0, "the default route");
    // Without the default route, the same destination has none.
    let config = UPLINK.replace("prefix = \"0.0.0.0/0\"", "prefix = \"198.51.100.0/24\"");
    let config = vtepgw_config::Config::from_toml_str(&config).unwrap();
    let old = rig.shared.snapshot.load_full();
    let macs = [UNDERLAY_MAC, PHYS0_MAC, PHYS1_MAC];
    rig.shared
        .publish(crate::snapshot::Snapshot::build(&config, &macs, Some(&old), 2).unwrap());
    rig.inject(1, &ping);
    rig.run();
    assert_eq!(rig.drops(DropReason::NoRoute), 1);
}

#[test]
fn a_static_neighbour_is_never_asked_for_overridden_or_aged() {
    let config = format!(
        "{L3}\n[[static_neighbour]]\ninterface = \"vni200\"\nip = \"{B_IP}\"\nmac = \"02:00:00:00:04:01\"\n"
    );
    let mut rig = Rig::new(&config);
    let iface = rig
        .shared
        .snapshot
        .load()
        .vni(rig.slot(200))
        .unwrap()
        .gateway
        .unwrap()
        .iface;
    let b = |rig: &Rig| rig.shared.neighbours.lookup(iface, B_IP).map(|h| h.mac);
    assert_eq!(b(&rig), Some(HOST_P1), "installed");
    // Someone else claims B's address: ignored.
    let gw200 = Ipv4Addr::new(198, 51, 100, 1);
    let liar = Mac([2, 0, 0, 0, 6, 6]);
    rig.inject(
        2,
        &tag(&arp_frame(ARP_REQUEST, liar, B_IP, Mac::ZERO, gw200), 20),
    );
    rig.run();
    rig.take(2);
    assert_eq!(b(&rig), Some(HOST_P1), "not overridden");
    rig.advance(400); // past the 300 s ageing time
    assert_eq!(b(&rig), Some(HOST_P1), "not aged");
    rig.inject(
        1,
        &ethernet(GW_MAC, HOST_P0, Some(10), 0x0800, &echo(A_IP, B_IP, 64)),
    );
    rig.run();
    let out = rig.take(2);
    assert_eq!(out.len(), 1, "sent at once, no ARP: {out:02x?}");
    assert_eq!(
        &untag(&out[0]).1[..6],
        &HOST_P1.0,
        "to the configured MAC: {out:02x?}"
    );
    assert_eq!(rig.shared.workers[0].gateway_arp_requests_sent.get(), 0);
}

#[test]
fn an_error_about_a_released_packet_to_the_same_neighbour_waits_for_it_too() {
    // From VNI 100, a packet claiming B's address as its source, to B
    // (unresolved in VNI 200): when its wait ends, the host unreachable
    // error goes back to B, the very neighbour just given up on. It must
    // start a wait of its own, not vanish into the entry being released.
    let mut rig = rig();
    let ping = ethernet(GW_MAC, HOST_P0, Some(10), 0x0800, &echo(B_IP, B_IP, 64));
    rig.inject(1, &ping);
    rig.run();
    assert_eq!(rig.worker_held(), 1);
    rig.take(2);
    rig.advance(1);
    assert_eq!(rig.take(2).len(), 1, "the retry");
    rig.advance(1);
    assert_eq!(rig.drops(DropReason::NeighbourUnresolved), 1);
    assert_eq!(rig.worker_held(), 1, "the error waits for B in turn");
    assert_eq!(rig.take(2).len(), 1, "and B is asked for again");
}

#[test]
fn the_drivers_checksum_verdict_is_used_for_frames_from_ports_not_from_tunnels() {
    use crate::buf::{RxCksum, VecBuf};
    use crate::offload::Offloads;
    let mut rig = rig();
    let offloads = &mut rig.worker.io_mut().offloads;
    offloads.resize(3, Offloads::NONE);
    let rx = Offloads {
        rx_ipv4_cksum: true,
        ..Offloads::NONE
    };
    offloads[0] = rx;
    offloads[1] = rx;
    let packet = echo(A_IP, B_IP, 64);
    let mut wrong = packet.clone();
    wrong[10] ^= 0xff;
    let inject = |rig: &mut Rig, port: u8, frame: &[u8], verdict: RxCksum| {
        let mut b = VecBuf::from_frame(frame);
        b.meta.rx_ipv4_cksum = verdict;
        rig.worker.io_mut().inject_buf(port, b);
    };
    // From phys0: the device's word decides, the bytes are not recomputed.
    inject(
        &mut rig,
        1,
        &ethernet(GW_MAC, HOST_P0, Some(10), 0x0800, &wrong),
        RxCksum::Good,
    );
    inject(
        &mut rig,
        1,
        &ethernet(GW_MAC, HOST_P0, Some(10), 0x0800, &packet),
        RxCksum::Bad,
    );
    rig.run();
    assert_eq!(
        rig.drops(DropReason::BadIpv4Checksum),
        1,
        "the one flagged bad"
    );
    assert_eq!(rig.worker_held(), 1, "the one flagged good waits for B");
    // Decapsulated: the device's verdict was on the outer header only.
    let inner = ethernet(GW_MAC, HOST_V1, None, 0x0800, &wrong);
    inject(
        &mut rig,
        0,
        &vxlan_from(VTEP1, VTEP1_MAC, 100, &inner),
        RxCksum::Good,
    );
    rig.run();
    assert_eq!(
        rig.drops(DropReason::BadIpv4Checksum),
        2,
        "inner checked in software"
    );
}
