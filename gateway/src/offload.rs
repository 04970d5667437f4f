//! Device offloads: which ones a port has on, and the per-packet decisions
//! that use them, each with the software path it replaces. The virtual
//! devices the tests run on (net_pcap, net_af_packet, net_null) have almost
//! none, so both paths stay in use and are tested.
//!
//! The pipeline calls these at a few points only (see the README's
//! "Offloads" section): the outer IPv4 checksum check on decapsulation, the
//! outer checksum on encapsulation, the ingress VLAN tag, the egress VLAN
//! tag, and the flow hash for the outer UDP source port.

use crate::buf::{insert_gap, PacketBuf, RxCksum};
use crate::counters::DropReason;
use crate::wire::ethernet::{vlan_tci, ETHERTYPE_VLAN, HEADER_LEN as ETH_LEN};
use crate::wire::flow::inner_flow_hash;

/// What a port's device does for the data plane, as configured when the
/// port started (the DPDK layer enables what the device reports and this
/// says what is on). A flag in a buffer is trusted only where this says
/// the port delivers it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Offloads {
    /// RX: the driver classifies the IPv4 header checksum (good/bad).
    pub rx_ipv4_cksum: bool,
    /// RX: the driver strips the VLAN tag into the buffer's metadata.
    pub rx_vlan_strip: bool,
    /// RX: the driver delivers an RSS hash over the frame's IP/L4 headers.
    pub rx_rss_hash: bool,
    /// TX: the device computes the IPv4 header checksum when asked.
    pub tx_ipv4_cksum: bool,
    /// TX: the device inserts a VLAN tag from the metadata when asked.
    pub tx_vlan_insert: bool,
    /// TX: the device takes chained (multi-segment) frames.
    pub tx_multi_segs: bool,
}

impl Offloads {
    /// No offloads: everything in software.
    pub const NONE: Offloads = Offloads {
        rx_ipv4_cksum: false,
        rx_vlan_strip: false,
        rx_rss_hash: false,
        tx_ipv4_cksum: false,
        tx_vlan_insert: false,
        tx_multi_segs: false,
    };

    /// The names of the offloads that are on, for logs and the API.
    pub fn names(&self) -> Vec<&'static str> {
        [
            (self.rx_ipv4_cksum, "rx_ipv4_cksum"),
            (self.rx_vlan_strip, "rx_vlan_strip"),
            (self.rx_rss_hash, "rx_rss_hash"),
            (self.tx_ipv4_cksum, "tx_ipv4_cksum"),
            (self.tx_vlan_insert, "tx_vlan_insert"),
            (self.tx_multi_segs, "tx_multi_segs"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect()
    }
}

/// The driver's verdict on a received frame's IPv4 header checksum, where
/// the port classifies it; `Unknown` (check in software) otherwise.
#[inline]
pub fn rx_ipv4_verdict<B: PacketBuf>(port: Offloads, pkt: &B) -> RxCksum {
    if port.rx_ipv4_cksum {
        pkt.rx_ipv4_cksum()
    } else {
        RxCksum::Unknown
    }
}

/// Whether the IPv4 header checksum is right: the driver's verdict if it
/// gave one, else `verify` (the software check) decides.
#[inline]
pub fn ipv4_checksum_ok(verdict: RxCksum, verify: impl FnOnce() -> bool) -> bool {
    match verdict {
        RxCksum::Good => true,
        RxCksum::Bad => false,
        RxCksum::Unknown => verify(),
    }
}

/// Leaves the outer IPv4 header checksum of an encapsulated frame (outer
/// Ethernet at offset 0, a 20-byte IPv4 header after it) to the device
/// where it computes it: asks the buffer for it and zeroes the field, as
/// the device expects. False: the checksum written in software stays.
#[inline]
pub fn offload_outer_ipv4_cksum<B: PacketBuf>(port: Offloads, pkt: &mut B) -> bool {
    if !port.tx_ipv4_cksum || !pkt.request_tx_ipv4_cksum(ETH_LEN, 20) {
        return false;
    }
    if let Some(field) = pkt.data_mut().get_mut(ETH_LEN + 10..ETH_LEN + 12) {
        field.fill(0);
    }
    true
}

/// The VLAN id of a frame received on a physical port: from the buffer's
/// metadata where the port strips tags (the bytes then carry none), else
/// the tag in the bytes (`in_data`). A stripped tag with another one in
/// the bytes is a double-tagged frame, which no binding takes.
#[inline]
pub fn ingress_vid<B: PacketBuf>(
    port: Offloads,
    pkt: &B,
    in_data: Option<u16>,
) -> Result<Option<u16>, DropReason> {
    let stripped = if port.rx_vlan_strip {
        pkt.rx_vlan_tci()
    } else {
        None
    };
    match (stripped, in_data) {
        (Some(_), Some(_)) => Err(DropReason::MalformedL2),
        (Some(tci), None) => Ok(Some(tci & 0x0fff)),
        (None, vid) => Ok(vid),
    }
}

/// Tags an untagged frame with VLAN `vid` for egress: by the device where
/// it inserts tags (the bytes stay as they are), else by moving the MAC
/// addresses into the headroom. False: no headroom for the tag.
#[inline]
pub fn push_vlan<B: PacketBuf>(port: Offloads, pkt: &mut B, vid: u16) -> bool {
    let tci = vlan_tci(0, false, vid);
    if port.tx_vlan_insert && pkt.request_tx_vlan(tci) {
        return true;
    }
    if !insert_gap(pkt, 12, 4) {
        return false;
    }
    if let Some(tag) = pkt.data_mut().get_mut(12..16) {
        tag[..2].copy_from_slice(&ETHERTYPE_VLAN.to_be_bytes());
        tag[2..].copy_from_slice(&tci.to_be_bytes());
    }
    true
}

/// The flow hash for the outer UDP source port of a frame about to be
/// encapsulated into VNI `vni`. The driver's RSS hash is used where the
/// port delivers one and it hashes this frame's own headers: a frame from a
/// physical port (the RSS hash over its IP/L4 headers is the inner flow's).
/// Never for a decapsulated frame (`from_underlay`): the underlay's hash is
/// over the outer headers. Either way a flow keeps its port: the NIC's
/// hash key is fixed, and the hash is mixed with the VNI like the software
/// one.
#[inline]
pub fn flow_hash<B: PacketBuf>(port: Offloads, from_underlay: bool, pkt: &B, vni: u32) -> u32 {
    if port.rx_rss_hash && !from_underlay {
        if let Some(rss) = pkt.rss_hash() {
            return mix_vni(rss, vni);
        }
    }
    inner_flow_hash(pkt.data(), vni)
}

/// murmur3's fmix32 over the RSS hash and the VNI: flows of different VNIs
/// spread apart, and the low bits (what `source_port` keeps) depend on
/// every bit of the hash.
#[inline]
fn mix_vni(rss: u32, vni: u32) -> u32 {
    let mut h = rss ^ vni.wrapping_mul(0x9e37_79b1);
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^ (h >> 16)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buf::VecBuf;

    const ALL: Offloads = Offloads {
        rx_ipv4_cksum: true,
        rx_vlan_strip: true,
        rx_rss_hash: true,
        tx_ipv4_cksum: true,
        tx_vlan_insert: true,
        tx_multi_segs: true,
    };

    #[test]
    fn a_buffer_flag_counts_only_where_the_port_delivers_it() {
        let mut b = VecBuf::from_frame(&[0; 60]);
        b.meta.rx_ipv4_cksum = RxCksum::Bad;
        b.meta.rx_vlan_tci = Some(0x2014);
        b.meta.rss_hash = Some(7);
        assert_eq!(rx_ipv4_verdict(Offloads::NONE, &b), RxCksum::Unknown);
        assert_eq!(rx_ipv4_verdict(ALL, &b), RxCksum::Bad);
        assert_eq!(ingress_vid(Offloads::NONE, &b, None), Ok(None));
        assert_eq!(ingress_vid(ALL, &b, None), Ok(Some(20)), "PCP masked off");
        assert_eq!(ingress_vid(ALL, &b, Some(10)), Err(DropReason::MalformedL2));
        let sw = inner_flow_hash(b.data(), 5);
        assert_eq!(flow_hash(Offloads::NONE, false, &b, 5), sw);
        assert_eq!(flow_hash(ALL, true, &b, 5), sw, "never the underlay's hash");
        assert_eq!(flow_hash(ALL, false, &b, 5), mix_vni(7, 5));
        assert_ne!(mix_vni(7, 5), mix_vni(7, 6));
    }

    #[test]
    fn the_checksum_verdict_skips_or_runs_the_software_check() {
        assert!(ipv4_checksum_ok(RxCksum::Good, || panic!("not recomputed")));
        assert!(!ipv4_checksum_ok(RxCksum::Bad, || panic!("not recomputed")));
        assert!(ipv4_checksum_ok(RxCksum::Unknown, || true));
        assert!(!ipv4_checksum_ok(RxCksum::Unknown, || false));
    }

    #[test]
    fn vlan_push_by_device_leaves_the_bytes_and_by_software_moves_them() {
        let frame: Vec<u8> = (0u8..40).collect();
        let mut hw = VecBuf::from_frame(&frame);
        assert!(push_vlan(ALL, &mut hw, 30));
        assert_eq!(hw.data(), &frame[..]);
        assert_eq!(hw.meta.tx_vlan, Some(30));
        assert_eq!(hw.wire_len(), 44, "the device adds 4 bytes on the wire");
        let mut sw = VecBuf::from_frame(&frame);
        assert!(push_vlan(Offloads::NONE, &mut sw, 30));
        assert_eq!(sw.meta.tx_vlan, None);
        assert_eq!(&sw.data()[12..16], &[0x81, 0x00, 0x00, 30]);
        assert_eq!(sw.wire_len(), 44);
    }

    #[test]
    fn tx_checksum_offload_zeroes_the_field_and_marks_the_buffer() {
        let mut b = VecBuf::from_frame(&[0xaa; 64]);
        assert!(!offload_outer_ipv4_cksum(Offloads::NONE, &mut b));
        assert_eq!(b.meta.tx_ipv4_cksum, None);
        assert!(offload_outer_ipv4_cksum(ALL, &mut b));
        assert_eq!(b.meta.tx_ipv4_cksum, Some((14, 20)));
        assert_eq!(&b.data()[24..26], &[0, 0]);
        assert_eq!(b.data()[23], 0xaa);
        assert_eq!(b.data()[26], 0xaa);
    }
}

/// The offload paths through the whole pipeline, on [`crate::io::MemIo`]
/// ports with simulated offloads and [`VecBuf`](crate::buf::VecBuf)s
/// carrying the driver's flags; the software paths are what every other
/// pipeline test runs.
#[cfg(test)]
mod pipeline_tests {
    use super::Offloads;
    use crate::buf::{PacketBuf, RxCksum, VecBuf};
    use crate::counters::DropReason;
    use crate::testkit::*;
    use crate::wire::checksum;
    use crate::wire::flow::source_port;

    fn with(rig: &mut Rig, port: u8, o: Offloads) {
        let offloads = &mut rig.worker.io_mut().offloads;
        if offloads.len() <= usize::from(port) {
            offloads.resize(usize::from(port) + 1, Offloads::NONE);
        }
        offloads[usize::from(port)] = o;
    }

    fn inject(rig: &mut Rig, port: u8, frame: &[u8], meta: impl FnOnce(&mut VecBuf)) {
        let mut buf = VecBuf::from_frame(frame);
        meta(&mut buf);
        rig.worker.io_mut().inject_buf(port, buf);
    }

    const RX_CKSUM: Offloads = Offloads {
        rx_ipv4_cksum: true,
        ..Offloads::NONE
    };

    #[test]
    fn the_rx_checksum_verdict_decides_without_recomputing() {
        let mut rig = Rig::resolved();
        with(&mut rig, 0, RX_CKSUM);
        let inner = host_udp(BROADCAST, HOST_V1, 1000, 50);
        let good = vxlan_from(VTEP1, VTEP1_MAC, 100, &inner);
        let mut wrong = good.clone();
        wrong[24] ^= 0xff; // a checksum that does not verify
                           // The device said good: accepted though the bytes would fail.
        inject(&mut rig, 0, &wrong, |b| {
            b.meta.rx_ipv4_cksum = RxCksum::Good
        });
        // The device said bad: dropped though the bytes would pass.
        inject(&mut rig, 0, &good, |b| b.meta.rx_ipv4_cksum = RxCksum::Bad);
        // No verdict: checked in software.
        inject(&mut rig, 0, &wrong, |_| {});
        inject(&mut rig, 0, &good, |_| {});
        rig.run();
        assert_eq!(
            rig.take(1).len(),
            2,
            "the good-flagged and the verified one"
        );
        assert_eq!(rig.drops(DropReason::BadIpv4Checksum), 2);

        // Where the port has no such offload a flag is not trusted.
        with(&mut rig, 0, Offloads::NONE);
        inject(&mut rig, 0, &wrong, |b| {
            b.meta.rx_ipv4_cksum = RxCksum::Good
        });
        inject(&mut rig, 0, &good, |b| b.meta.rx_ipv4_cksum = RxCksum::Bad);
        rig.run();
        assert_eq!(rig.take(1).len(), 1, "only the one whose bytes verify");
        assert_eq!(rig.drops(DropReason::BadIpv4Checksum), 3);
    }

    #[test]
    fn with_tx_checksum_offload_the_outer_checksum_is_left_to_the_device() {
        let mut rig = Rig::resolved();
        let frame = tag(&host_udp(BROADCAST, HOST_P0, 1000, 50), 10);
        rig.inject(1, &frame);
        rig.run();
        for b in rig.worker.io_mut().take_tx_bufs(0) {
            assert_eq!(b.meta.tx_ipv4_cksum, None);
            assert_eq!(checksum(&b.data()[14..34]), 0, "software checksum");
        }
        with(
            &mut rig,
            0,
            Offloads {
                tx_ipv4_cksum: true,
                ..Offloads::NONE
            },
        );
        rig.inject(1, &frame);
        rig.run();
        let out = rig.worker.io_mut().take_tx_bufs(0);
        assert_eq!(out.len(), 2, "one per VTEP");
        for b in out {
            assert_eq!(b.meta.tx_ipv4_cksum, Some((14, 20)), "l2_len, l3_len");
            assert_eq!(&b.data()[24..26], &[0, 0], "field zero for the device");
            let mut fixed = b.data()[14..34].to_vec();
            let sum = checksum(&fixed);
            fixed[10..12].copy_from_slice(&sum.to_be_bytes());
            assert_eq!(checksum(&fixed), 0, "the rest of the header is complete");
        }
    }

    #[test]
    fn the_rss_hash_of_a_physical_port_sets_the_source_port_stably() {
        let mut rig = Rig::resolved();
        rig.learn_remote(VTEP1, VTEP1_MAC, 100, HOST_V1); // frames to it go unicast
        let frame = tag(&host_udp(HOST_V1, HOST_P0, 1234, 20), 10);
        let sport = |rig: &mut Rig, rss: Option<u32>| {
            inject(rig, 1, &frame, |b| b.meta.rss_hash = rss);
            rig.run();
            let out = rig.take(0);
            assert_eq!(out.len(), 1);
            u16::from_be_bytes([out[0][34], out[0][35]])
        };
        let software = sport(&mut rig, None);
        assert_eq!(sport(&mut rig, Some(0xdead_beef)), software, "not trusted");
        with(
            &mut rig,
            1,
            Offloads {
                rx_rss_hash: true,
                ..Offloads::NONE
            },
        );
        let expected = source_port(super::mix_vni(0xdead_beef, 100), 50000, 50999);
        assert_eq!(sport(&mut rig, Some(0xdead_beef)), expected);
        assert_eq!(sport(&mut rig, Some(0xdead_beef)), expected, "stable");
        assert_eq!(sport(&mut rig, None), software, "no hash: software");
        let spread: std::collections::HashSet<u16> = (0..64u32)
            .map(|h| sport(&mut rig, Some(h * 0x0101_0101)))
            .collect();
        assert!(spread.len() > 50, "{} ports for 64 hashes", spread.len());
        assert!(spread.iter().all(|p| (50000..=50999).contains(p)));
    }

    #[test]
    fn stripped_tags_are_read_from_the_metadata_and_inserted_by_the_device() {
        let mut rig = Rig::resolved();
        let strip = Offloads {
            rx_vlan_strip: true,
            ..Offloads::NONE
        };
        with(&mut rig, 1, strip);
        let frame = host_udp(BROADCAST, HOST_P0, 1000, 50);
        // PCP 5 in the stripped TCI: the VLAN is still 10.
        inject(&mut rig, 1, &frame, |b| b.meta.rx_vlan_tci = Some(0xa00a));
        rig.run();
        assert_eq!(rig.take(2), vec![tag(&frame, 20)], "software insert");
        assert_eq!(rig.take(0).len(), 2, "VNI 100's VTEPs");
        assert_eq!(
            rig.lookup(100, &HOST_P0),
            Some(crate::tables::MacDest::Local {
                port: crate::types::PortId(1),
                vlan: Some(10)
            })
        );

        with(
            &mut rig,
            2,
            Offloads {
                tx_vlan_insert: true,
                ..Offloads::NONE
            },
        );
        inject(&mut rig, 1, &frame, |b| b.meta.rx_vlan_tci = Some(10));
        rig.run();
        let out = rig.worker.io_mut().take_tx_bufs(2);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].data(), &frame[..], "bytes untouched");
        assert_eq!(out[0].meta.tx_vlan, Some(20), "the device inserts VLAN 20");
        let port2 = &rig.shared.workers[0].ports[2];
        assert_eq!(
            port2.tx_bytes.get(),
            2 * (frame.len() as u64 + 4),
            "bytes as on the wire either way"
        );
        rig.take(0);

        // A stripped tag and one in the bytes: double-tagged, no binding.
        inject(&mut rig, 1, &tag(&frame, 10), |b| {
            b.meta.rx_vlan_tci = Some(10)
        });
        rig.run();
        assert_eq!(rig.drops(DropReason::MalformedL2), 1);
        // Without the offload on, the metadata is not looked at.
        with(&mut rig, 1, Offloads::NONE);
        inject(&mut rig, 1, &frame, |b| b.meta.rx_vlan_tci = Some(10));
        rig.run();
        assert!(rig.take(2).is_empty(), "untagged on phys0 is VNI 200");
    }
}
