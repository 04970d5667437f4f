//! Learning, limits, ageing, static entries, config changes and next-hop
//! resolution, driven through the worker and the control thread.

use crate::snapshot::Snapshot;
use crate::tables::{MacDest, NextHop};
use crate::testkit::*;
use crate::types::Mac;
use crate::wire::ARP_REQUEST;
use std::net::Ipv4Addr;
use std::sync::atomic::Ordering::Relaxed;
use vtepgw_config::Config;

fn mac(n: u8) -> Mac {
    Mac([0x02, 0, 0, 0, 0x05, n])
}

fn stats(rig: &Rig, vni: u32) -> &crate::shared::VniMacStats {
    &rig.shared.mac_stats[usize::from(rig.slot(vni))]
}

#[test]
fn learns_remote_and_local_macs() {
    let mut rig = Rig::resolved();
    rig.inject(
        0,
        &vxlan_from(VTEP2, VTEP2_MAC, 100, &host_udp(BROADCAST, HOST_V2, 1, 10)),
    );
    rig.inject(2, &tag(&host_udp(BROADCAST, HOST_P1, 1, 10), 20));
    rig.run();
    assert_eq!(
        rig.lookup(100, &HOST_V2),
        Some(MacDest::Remote {
            tunnel: rig.tunnel(VTEP2),
        })
    );
    assert_eq!(
        rig.lookup(100, &HOST_P1),
        Some(MacDest::Local {
            port: crate::types::PortId(2),
            vlan: Some(20)
        })
    );
    assert_eq!(rig.lookup(200, &HOST_P1), None, "tables are per VNI");
    assert_eq!(stats(&rig, 100).learned.get(), 2);
    assert_eq!(stats(&rig, 100).entries.load(Relaxed), 2);
}

#[test]
fn a_mac_that_moves_is_updated_and_counted() {
    let mut rig = Rig::resolved();
    rig.inject(
        0,
        &vxlan_from(VTEP1, VTEP1_MAC, 100, &host_udp(BROADCAST, HOST_V1, 1, 10)),
    );
    rig.run();
    rig.inject(2, &tag(&host_udp(BROADCAST, HOST_V1, 1, 10), 20));
    rig.run();
    assert_eq!(
        rig.lookup(100, &HOST_V1),
        Some(MacDest::Local {
            port: crate::types::PortId(2),
            vlan: Some(20)
        })
    );
    assert_eq!(stats(&rig, 100).moved.get(), 1);
    assert_eq!(stats(&rig, 100).entries.load(Relaxed), 1);
}

#[test]
fn mac_limit_stops_learning_and_counts_hits() {
    let mut rig = Rig::resolved();
    for n in 1..=4 {
        rig.inject(1, &host_udp(BROADCAST, mac(n), 1, 10)); // untagged: VNI 200, limit 2
        rig.run();
    }
    assert!(rig.lookup(200, &mac(1)).is_some());
    assert!(rig.lookup(200, &mac(2)).is_some());
    assert!(rig.lookup(200, &mac(3)).is_none());
    assert_eq!(stats(&rig, 200).entries.load(Relaxed), 2);
    assert_eq!(stats(&rig, 200).limit_hits.get(), 2);
    // Frames from unlearned MACs are still forwarded (flooded).
    assert_eq!(rig.take(0).len(), 4);
}

#[test]
fn idle_macs_age_out_and_active_ones_stay() {
    let mut rig = Rig::resolved();
    rig.inject(1, &host_udp(BROADCAST, mac(1), 1, 10));
    rig.inject(1, &host_udp(BROADCAST, mac(2), 1, 10));
    rig.run();
    for _ in 0..4 {
        rig.advance(10);
        rig.inject(1, &host_udp(BROADCAST, mac(2), 1, 10)); // keeps mac(2) fresh
        rig.worker.poll_once();
    }
    assert_eq!(rig.lookup(200, &mac(1)), None, "idle > 30 s: aged");
    assert!(rig.lookup(200, &mac(2)).is_some());
    assert_eq!(stats(&rig, 200).aged.get(), 1);
    assert_eq!(stats(&rig, 200).entries.load(Relaxed), 1);
    // Room freed below the limit: a new MAC is learned again.
    rig.inject(1, &host_udp(BROADCAST, mac(3), 1, 10));
    rig.run();
    assert!(rig.lookup(200, &mac(3)).is_some());
}

/// `config` compiled for the rig's ports, after the running snapshot (or,
/// with `fresh`, as if nothing ran before).
fn build(rig: &Rig, config: &str, generation: u64, fresh: bool) -> Snapshot {
    let config = Config::from_toml_str(config).unwrap();
    let old = rig.shared.snapshot.load_full();
    let previous = (!fresh).then_some(&*old);
    Snapshot::build(
        &config,
        &[UNDERLAY_MAC, PHYS0_MAC, PHYS1_MAC],
        previous,
        generation,
    )
    .unwrap()
}

fn publish(rig: &mut Rig, config: &str, generation: u64) {
    let snap = build(rig, config, generation, false);
    rig.shared.publish(snap);
    rig.run();
}

#[test]
fn static_macs_follow_the_config_and_are_never_learned_over() {
    let with_static = CONFIG.replace(
        "flood = [\"192.0.2.1\", \"192.0.2.2\"]",
        "flood = [\"192.0.2.1\", \"192.0.2.2\"]\nstatic_macs = [{ mac = \"02:00:00:00:01:01\", vtep = \"192.0.2.2\" }]",
    );
    let mut rig = Rig::new(&with_static);
    rig.resolve(VTEP1, VTEP1_MAC);
    rig.resolve(VTEP2, VTEP2_MAC);
    rig.run();
    let pinned = Some(MacDest::Remote {
        tunnel: rig.tunnel(VTEP2),
    });
    assert_eq!(rig.lookup(100, &HOST_V1), pinned);
    // HOST_V1 shows up behind VTEP1: the static entry wins.
    rig.inject(
        0,
        &vxlan_from(VTEP1, VTEP1_MAC, 100, &host_udp(BROADCAST, HOST_V1, 1, 10)),
    );
    rig.run();
    assert_eq!(rig.lookup(100, &HOST_V1), pinned);
    rig.advance(400);
    assert_eq!(
        rig.lookup(100, &HOST_V1),
        pinned,
        "static entries never age"
    );

    // Learn something, then remove the static entry: learned entries of
    // an unchanged VNI survive, the static one goes.
    rig.inject(2, &tag(&host_udp(BROADCAST, HOST_P1, 1, 10), 20));
    rig.run();
    publish(&mut rig, CONFIG, 2);
    assert_eq!(rig.lookup(100, &HOST_V1), None);
    assert!(rig.lookup(100, &HOST_P1).is_some());
}

#[test]
fn removing_a_vni_flushes_its_macs_and_keeps_other_slots() {
    let mut rig = Rig::resolved();
    let slot100 = rig.slot(100);
    rig.inject(1, &host_udp(BROADCAST, mac(1), 1, 10));
    rig.inject(2, &tag(&host_udp(BROADCAST, HOST_P1, 1, 10), 20));
    rig.run();
    let without_200 = CONFIG.replace("untagged_vni = 200\n", "").replace(
        "[[vni]]\nid = 200\nflood = [\"192.0.2.1\"]\nmac_limit = 2\nmac_ageing_secs = 30\n",
        "",
    );
    publish(&mut rig, &without_200, 2);
    let snap = rig.shared.snapshot.load_full();
    assert_eq!(snap.vni_slot(crate::types::Vni::new(200).unwrap()), None);
    assert_eq!(
        snap.vni_slot(crate::types::Vni::new(100).unwrap()),
        Some(slot100),
        "VNI 100 keeps its slot"
    );
    assert!(rig.lookup(100, &HOST_P1).is_some());
    assert_eq!(
        rig.shared.macs.entries().count(),
        1,
        "VNI 200's MAC is gone"
    );
    // Untagged frames are now unbound.
    rig.inject(1, &host_udp(BROADCAST, mac(1), 1, 10));
    rig.run();
    assert_eq!(rig.drops(crate::counters::DropReason::UnknownVlan), 1);
}

#[test]
fn unresolved_vteps_are_retried_and_stale_ones_expire() {
    let mut rig = Rig::new(CONFIG);
    rig.worker.poll_once();
    let first = rig.take(0).len();
    assert_eq!(first, 2, "one ARP request per VTEP at start");
    rig.advance(1);
    assert_eq!(rig.take(0).len(), 2, "retried after a second");
    rig.resolve(VTEP1, VTEP1_MAC);
    rig.run();
    rig.take(0);
    // Traffic to the unresolved VTEP2 is dropped and counted.
    rig.inject(1, &tag(&host_udp(BROADCAST, HOST_P0, 1, 10), 10));
    rig.run();
    let out: Vec<Vec<u8>> = rig
        .take(0)
        .into_iter()
        .filter(|f| f[12..14] == [8, 0])
        .collect();
    assert_eq!(out.len(), 1, "only VTEP1 gets its copy");
    assert_eq!(rig.drops(crate::counters::DropReason::VtepUnresolved), 1);
    // VTEP1 stops answering: refreshed after 30 s, expired after 60 s.
    rig.advance(31);
    let refresh: Vec<Vec<u8>> = rig.take(0);
    assert!(refresh.iter().any(|f| f[12..14] == [8, 6]
        && f[38..42] == VTEP1.octets()
        && f[21] as u16 == ARP_REQUEST));
    assert!(matches!(
        rig.shared.tunnels.lookup(VTEP1),
        Some(NextHop::Resolved { .. })
    ));
    rig.advance(30);
    assert_eq!(rig.shared.tunnels.lookup(VTEP1), Some(NextHop::Pending));
}

#[test]
fn off_link_vteps_resolve_through_the_gateway() {
    let config = CONFIG
        .replace("ttl = 33", "ttl = 33\ngateway = \"192.0.2.254\"")
        .replace("flood = [\"192.0.2.1\"]\n", "flood = [\"198.51.100.7\"]\n");
    let mut rig = Rig::new(&config);
    rig.worker.poll_once();
    let asked: Vec<[u8; 4]> = rig
        .take(0)
        .iter()
        .map(|f| [f[38], f[39], f[40], f[41]])
        .collect();
    assert!(
        asked.contains(&[192, 0, 2, 254]),
        "ARP for the gateway, not the VTEP"
    );
    assert!(!asked.contains(&[198, 51, 100, 7]));
    let router = Mac([0x02, 0, 0, 0, 0xfe, 0xfe]);
    rig.resolve(Ipv4Addr::new(192, 0, 2, 254), router);
    rig.run();
    assert!(matches!(
        rig.shared.tunnels.lookup(Ipv4Addr::new(198, 51, 100, 7)),
        Some(NextHop::Resolved { mac, .. }) if mac == router
    ));
}

/// CONFIG with VNI 200 replaced by `vni` (same untagged binding).
fn with_vni_200_as(vni: u32) -> String {
    CONFIG
        .replace("untagged_vni = 200", &format!("untagged_vni = {vni}"))
        .replace("id = 200", &format!("id = {vni}"))
}

#[test]
fn a_new_vni_gets_a_slot_never_used_before() {
    let mut rig = Rig::resolved();
    let old_slot = rig.slot(200);
    publish(&mut rig, &with_vni_200_as(300), 2);
    assert_ne!(rig.slot(300), old_slot);
    assert_ne!(rig.slot(300), rig.slot(100));
    // And 200 back again does not get its old slot either.
    publish(&mut rig, CONFIG, 3);
    assert_ne!(rig.slot(200), old_slot);
}

#[test]
fn a_vni_that_takes_over_a_slot_starts_its_counts_at_zero() {
    let mut rig = Rig::resolved();
    rig.inject(1, &host_udp(BROADCAST, HOST_P0, 1, 10));
    rig.run();
    let slot = usize::from(rig.slot(200));
    assert_eq!(rig.shared.workers[0].vnis[slot].encap_packets.get(), 1);
    assert_eq!(rig.shared.mac_stats[slot].learned.get(), 1);

    // Built without history, VNI 300 lands in VNI 200's old slot.
    let snap = build(&rig, &with_vni_200_as(300), 2, true);
    assert_eq!(
        usize::from(snap.vni_slot(crate::types::Vni::new(300).unwrap()).unwrap()),
        slot
    );
    assert_eq!(
        snap.slots_taken_over(&rig.shared.snapshot.load()).count(),
        1
    );
    rig.shared.publish(snap);
    rig.run();
    assert_eq!(rig.shared.workers[0].vnis[slot].encap_packets.get(), 0);
    assert_eq!(rig.shared.mac_stats[slot].learned.get(), 0);
    assert_eq!(rig.shared.mac_stats[slot].entries.load(Relaxed), 0);
    assert_eq!(rig.lookup(300, &HOST_P0), None, "VNI 200's MACs are gone");
}

/// CONFIG with phys1 VLAN 20 bound to VNI 200 instead of 100.
fn vlan_20_moved_to_vni_200() -> String {
    CONFIG.replace(
        "vlans = [{ vlan = 20, vni = 100 }]",
        "vlans = [{ vlan = 20, vni = 200 }]",
    )
}

#[test]
fn a_live_vlan_rebind_never_sends_a_vni_onto_another_segment() {
    let mut rig = Rig::resolved();
    rig.inject(2, &tag(&host_udp(BROADCAST, HOST_P1, 1, 10), 20));
    rig.run();
    assert!(rig.lookup(100, &HOST_P1).is_some());
    rig.take(1);
    rig.take(2);

    let rebound = vlan_20_moved_to_vni_200();
    publish(&mut rig, &rebound, 2);
    assert_eq!(
        rig.lookup(100, &HOST_P1),
        None,
        "the stale entry is flushed"
    );

    // VNI 100 traffic for HOST_P1 is flooded within VNI 100 (phys0 VLAN
    // 10), and nothing of VNI 100 leaves phys1.
    rig.inject(
        0,
        &vxlan_from(VTEP1, VTEP1_MAC, 100, &host_udp(HOST_P1, HOST_V1, 1, 10)),
    );
    rig.run();
    assert!(rig.take(2).is_empty(), "nothing onto VNI 200's segment");
    let out = rig.take(1);
    assert_eq!(out.len(), 1);
    assert_eq!(
        &out[0][12..16],
        &[0x81, 0x00, 0x00, 10],
        "VNI 100's VLAN 10"
    );
}

#[test]
fn workers_ignore_a_stale_local_entry_before_the_control_thread_flushes_it() {
    let mut rig = Rig::resolved();
    rig.inject(2, &tag(&host_udp(BROADCAST, HOST_P1, 1, 10), 20));
    rig.run();
    rig.take(1);
    let rebound = vlan_20_moved_to_vni_200();
    let snap = build(&rig, &rebound, 2, false);
    rig.shared.publish(snap);
    // Only the worker runs: the table still says HOST_P1 is on phys1 VLAN 20.
    assert!(rig.lookup(100, &HOST_P1).is_some());
    rig.inject(
        0,
        &vxlan_from(VTEP1, VTEP1_MAC, 100, &host_udp(HOST_P1, HOST_V1, 1, 10)),
    );
    rig.worker.poll_once();
    assert!(rig.take(2).is_empty(), "nothing onto VNI 200's segment");
    assert_eq!(rig.take(1).len(), 1, "flooded within VNI 100");
}

#[test]
fn learned_vteps_fill_at_most_half_the_vtep_table() {
    let mut rig = Rig::resolved();
    let snap = rig.shared.snapshot.load_full();
    let slots = crate::shared::TUNNEL_IDS;
    // In-memory only: as many distinct VTEP sources as a spoofing flood.
    for n in 0..slots as u32 {
        let ip = Ipv4Addr::from(0xc612_0000 + n); // 198.18.0.0/15 (RFC 2544)
        let (shared, control) = (&rig.shared, &mut rig.control);
        control.resolver.track(shared, &snap, ip, false, 1, 1000);
    }
    let tracked = rig.shared.tunnels.entries().count();
    // The two configured flood VTEPs do not count against the learned half.
    assert_eq!(
        tracked,
        slots / 2 + 2,
        "learned VTEPs stop at half the table"
    );
    assert_eq!(
        rig.shared.control.vtep_table_full.get(),
        (slots - slots / 2) as u64,
        "every refused VTEP is counted"
    );
    // Configured VTEPs still get in.
    let configured = Ipv4Addr::new(192, 0, 2, 3);
    let (shared, control) = (&rig.shared, &mut rig.control);
    control
        .resolver
        .track(shared, &snap, configured, true, 1, 1000);
    assert!(rig.shared.tunnels.lookup(configured).is_some());
}
