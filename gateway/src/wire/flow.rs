//! Inner-flow hashing for the VXLAN outer UDP source port (RFC 7348
//! section 5 recommends deriving it from the inner headers so that underlay
//! ECMP spreads flows while keeping each flow on one path).
//!
//! The key is chosen so every packet of a flow agrees: IPv4 fragments hash
//! on addresses and protocol only, since only the first carries the ports.
//! The hash is fixed (no per-process seed), so a flow keeps its port across
//! restarts.

use super::ethernet::{ETHERTYPE_IPV4, ETHERTYPE_IPV6, HEADER_LEN as ETH_HEADER_LEN};
use super::get_u16;
use super::ipv4::{Ipv4Packet, PROTO_TCP, PROTO_UDP};
use super::ipv6::Ipv6Packet;

const PROTO_SCTP: u8 = 132;

/// Arbitrary odd constants: the golden ratio and murmur3's fmix64 pair.
const SEED: u64 = 0x9e37_79b9_7f4a_7c15;
const FMIX_C1: u64 = 0xff51_afd7_ed55_8ccd;
const FMIX_C2: u64 = 0xc4ce_b9fe_1a85_ec53;

/// Accumulates 64-bit words with one multiply-xorshift round each; every
/// round is a bijection, so inputs differing in one word never collide
/// before the final fold.
struct FlowHasher(u64);

impl FlowHasher {
    #[inline]
    fn new(vni: u32) -> Self {
        let mut h = FlowHasher(SEED);
        h.write(u64::from(vni));
        h
    }

    #[inline]
    fn write(&mut self, word: u64) {
        let x = (self.0 ^ word).wrapping_mul(FMIX_C1);
        self.0 = x ^ (x >> 32);
    }

    /// murmur3 fmix64, folded to 32 bits.
    #[inline]
    fn finish(self) -> u32 {
        let mut x = self.0;
        x ^= x >> 33;
        x = x.wrapping_mul(FMIX_C1);
        x ^= x >> 33;
        x = x.wrapping_mul(FMIX_C2);
        x ^= x >> 33;
        (x ^ (x >> 32)) as u32
    }
}

/// The two L4 ports (as `src << 16 | dst`) for protocols that have them.
#[inline]
fn ports(proto: u8, l4: &[u8]) -> u64 {
    match proto {
        PROTO_TCP | PROTO_UDP | PROTO_SCTP => match l4.get(..4) {
            Some(&[a, b, c, d]) => u64::from(u32::from_be_bytes([a, b, c, d])),
            _ => 0,
        },
        _ => 0,
    }
}

/// Hashes the inner Ethernet frame's flow key together with `vni`.
///
/// * IPv4, not a fragment: addresses, protocol, and the ports of
///   TCP/UDP/SCTP; IPv4 fragment: addresses and protocol.
/// * IPv6: addresses, next header, and the ports when the next header is
///   directly TCP/UDP/SCTP.
/// * Anything else (ARP, VLAN-tagged, truncated or malformed L3): the
///   destination MAC, source MAC and ethertype (the first 14 bytes,
///   zero-padded if shorter).
#[inline]
pub fn inner_flow_hash(inner_frame: &[u8], vni: u32) -> u32 {
    let mut h = FlowHasher::new(vni);
    if let Some(l3) = inner_frame.get(ETH_HEADER_LEN..) {
        match get_u16(inner_frame, 12) {
            ETHERTYPE_IPV4 => {
                if let Ok(ip) = Ipv4Packet::new_checked(l3) {
                    let proto = ip.protocol();
                    let l4 = if ip.is_fragment() {
                        0
                    } else {
                        ports(proto, ip.payload())
                    };
                    h.write(
                        u64::from(u32::from(ip.src_addr())) << 32
                            | u64::from(u32::from(ip.dst_addr())),
                    );
                    h.write(u64::from(ETHERTYPE_IPV4) << 48 | u64::from(proto) << 32 | l4);
                    return h.finish();
                }
            }
            ETHERTYPE_IPV6 => {
                if let Ok(ip) = Ipv6Packet::new_checked(l3) {
                    let nh = ip.next_header();
                    let (src, dst) = (u128::from(ip.src_addr()), u128::from(ip.dst_addr()));
                    h.write((src >> 64) as u64);
                    h.write(src as u64);
                    h.write((dst >> 64) as u64);
                    h.write(dst as u64);
                    h.write(
                        u64::from(ETHERTYPE_IPV6) << 48
                            | u64::from(nh) << 32
                            | ports(nh, ip.payload()),
                    );
                    return h.finish();
                }
            }
            _ => {}
        }
    }
    let mut l2 = [0u8; 16];
    for (dst, &src) in l2.iter_mut().zip(inner_frame).take(ETH_HEADER_LEN) {
        *dst = src;
    }
    let key = u128::from_be_bytes(l2);
    h.write((key >> 64) as u64);
    h.write(key as u64);
    h.finish()
}

/// Maps `hash` uniformly onto `min..=max` (`min` if `max <= min`).
#[inline]
pub fn source_port(hash: u32, min: u16, max: u16) -> u16 {
    if max <= min {
        return min;
    }
    let span = u64::from(max - min) + 1;
    // (hash * span) >> 32 <= span - 1, so the sum never exceeds `max`.
    min + ((u64::from(hash) * span) >> 32) as u16
}

#[cfg(test)]
mod tests {
    use super::super::ethernet::{ETHERTYPE_ARP, ETHERTYPE_VLAN};
    use super::super::ipv4::Ipv4Repr;
    use super::super::testdata::{INNER, VXLAN_ARP, VXLAN_ICMP, VXLAN_NS, VXLAN_UDP};
    use super::super::udp::write_udp_header;
    use super::*;
    use std::collections::HashSet;
    use std::net::Ipv4Addr;

    const VNI: u32 = 5001;

    /// Ethernet + IPv4 + 8 L4 bytes (ports first) + `extra` payload bytes.
    fn v4_frame(
        proto: u8,
        src: [u8; 4],
        dst: [u8; 4],
        sport: u16,
        dport: u16,
        extra: &[u8],
    ) -> Vec<u8> {
        let mut f = vec![0u8; 14 + 20 + 8];
        f[..12].copy_from_slice(&VXLAN_UDP[INNER..INNER + 12]);
        f[12..14].copy_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
        let (s, d) = (Ipv4Addr::from(src), Ipv4Addr::from(dst));
        Ipv4Repr {
            src: s,
            dst: d,
            protocol: proto,
            ttl: 64,
            dont_frag: true,
            ident: 1,
            payload_len: 8 + extra.len(),
        }
        .emit(&mut f[14..]);
        write_udp_header(&mut f[34..], sport, dport, extra.len());
        f.extend_from_slice(extra);
        f
    }

    fn udp(sport: u16) -> Vec<u8> {
        v4_frame(
            PROTO_UDP,
            [10, 1, 1, 1],
            [10, 1, 1, 2],
            sport,
            4791,
            b"data",
        )
    }

    /// Ethernet + IPv6 (next header `nh`) + 8 L4 bytes.
    fn v6_frame(nh: u8, sport: u16, dport: u16) -> Vec<u8> {
        let mut f = VXLAN_UDP[INNER..INNER + 12].to_vec();
        f.extend_from_slice(&ETHERTYPE_IPV6.to_be_bytes());
        f.extend_from_slice(&[0x60, 0, 0, 0, 0, 8, nh, 64]);
        f.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8].repeat(4));
        f.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb9].repeat(4));
        f.extend_from_slice(&sport.to_be_bytes());
        f.extend_from_slice(&dport.to_be_bytes());
        f.extend_from_slice(&[0xaa; 4]);
        f
    }

    struct XorShift(u64);
    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    #[test]
    fn same_flow_same_hash() {
        let a = udp(40000);
        let mut b = v4_frame(
            PROTO_UDP,
            [10, 1, 1, 1],
            [10, 1, 1, 2],
            40000,
            4791,
            b"other payload",
        );
        b[14 + 8] = 3; // different TTL
        b.resize(b.len() + 10, 0); // Ethernet padding
        assert_eq!(inner_flow_hash(&a, VNI), inner_flow_hash(&b, VNI));
        // Stable across runs and builds: a pinned value for the capture.
        let h = inner_flow_hash(&VXLAN_UDP[INNER..], VNI);
        assert_eq!(h, inner_flow_hash(&VXLAN_UDP[INNER..], VNI));
        assert_eq!(h, PINNED);
    }

    /// Cross-checked against an independent Python model of the algorithm.
    const PINNED: u32 = 571_296_920;

    #[test]
    fn source_port_changes_hash() {
        let mut rng = XorShift(0x1234_5678_9abc_def1);
        let mut changed = 0;
        let mut port_changed = 0;
        for _ in 0..1000 {
            let s = rng.next() as u16;
            let s2 = s.wrapping_add(1 + (rng.next() % 65535) as u16);
            let (h1, h2) = (
                inner_flow_hash(&udp(s), VNI),
                inner_flow_hash(&udp(s2), VNI),
            );
            changed += usize::from(h1 != h2);
            port_changed +=
                usize::from(source_port(h1, 49152, 65535) != source_port(h2, 49152, 65535));
        }
        assert!(changed >= 999, "{changed}");
        assert!(port_changed >= 980, "{port_changed}");
    }

    #[test]
    fn flows_spread_over_the_port_range() {
        let ports: Vec<u16> = (0..64u16)
            .map(|i| source_port(inner_flow_hash(&udp(33000 + i), VNI), 49152, 65535))
            .collect();
        assert!(ports.iter().all(|p| (49152..=65535).contains(p)));
        let distinct: HashSet<_> = ports.iter().collect();
        assert!(distinct.len() > 56, "{}", distinct.len());
        // Also when only the destination address varies.
        let distinct: HashSet<_> = (0..64u8)
            .map(|i| v4_frame(PROTO_TCP, [10, 1, 1, 1], [10, 2, 0, i], 5000, 80, b""))
            .map(|f| source_port(inner_flow_hash(&f, VNI), 49152, 65535))
            .collect();
        assert!(distinct.len() > 56, "{}", distinct.len());
    }

    #[test]
    fn vni_changes_hash() {
        let f = udp(40000);
        assert_ne!(inner_flow_hash(&f, 1), inner_flow_hash(&f, 2));
        assert_ne!(
            inner_flow_hash(&VXLAN_ARP[INNER..], 1),
            inner_flow_hash(&VXLAN_ARP[INNER..], 2)
        );
    }

    #[test]
    fn l4_ports_only_for_tcp_udp_sctp() {
        for proto in [PROTO_TCP, PROTO_UDP, PROTO_SCTP] {
            let a = v4_frame(proto, [10, 0, 0, 1], [10, 0, 0, 2], 1000, 80, b"");
            let b = v4_frame(proto, [10, 0, 0, 1], [10, 0, 0, 2], 1001, 80, b"");
            assert_ne!(
                inner_flow_hash(&a, VNI),
                inner_flow_hash(&b, VNI),
                "proto {proto}"
            );
            let c = v6_frame(proto, 1000, 80);
            let d = v6_frame(proto, 1000, 81);
            assert_ne!(
                inner_flow_hash(&c, VNI),
                inner_flow_hash(&d, VNI),
                "v6 proto {proto}"
            );
        }
        // ICMP: the "ports" bytes are type/code/checksum and must not count.
        let a = v4_frame(1, [10, 0, 0, 1], [10, 0, 0, 2], 0x0800, 1, b"");
        let b = v4_frame(1, [10, 0, 0, 1], [10, 0, 0, 2], 0x0000, 2, b"");
        assert_eq!(inner_flow_hash(&a, VNI), inner_flow_hash(&b, VNI));
        assert_eq!(
            inner_flow_hash(&v6_frame(58, 1, 2), VNI),
            inner_flow_hash(&v6_frame(58, 3, 4), VNI)
        );
        // A captured IPv6 frame takes the L3 path, not the L2 fallback.
        let ns = &VXLAN_NS[INNER..];
        assert_ne!(inner_flow_hash(ns, VNI), inner_flow_hash(&ns[..14], VNI));
        // L4 header too short: L3 fields only, no panic.
        let mut t = udp(7);
        t.truncate(14 + 20 + 2);
        t[16..18].copy_from_slice(&22u16.to_be_bytes());
        let _ = inner_flow_hash(&t, VNI);
    }

    #[test]
    fn fragments_of_a_flow_agree() {
        let mut first = v4_frame(PROTO_UDP, [10, 0, 0, 1], [10, 0, 0, 2], 5555, 53, &[1; 16]);
        first[14 + 6] |= 0x20; // MF, offset 0: carries the UDP header
        let mut later = v4_frame(
            PROTO_UDP,
            [10, 0, 0, 1],
            [10, 0, 0, 2],
            0x1234,
            0x5678,
            &[2; 16],
        );
        later[14 + 6..14 + 8].copy_from_slice(&3u16.to_be_bytes()); // offset 24 bytes
        assert_eq!(inner_flow_hash(&first, VNI), inner_flow_hash(&later, VNI));
        let whole = v4_frame(PROTO_UDP, [10, 0, 0, 1], [10, 0, 0, 2], 5555, 53, &[1; 16]);
        assert_ne!(inner_flow_hash(&first, VNI), inner_flow_hash(&whole, VNI));
    }

    #[test]
    fn non_ip_uses_l2_fields() {
        let arp = &VXLAN_ARP[INNER..];
        let mut other_arp = arp.to_vec();
        other_arp[14 + 24..].copy_from_slice(&[10, 9, 9, 9]); // different target IP
        assert_eq!(inner_flow_hash(arp, VNI), inner_flow_hash(&other_arp, VNI));
        assert_eq!(inner_flow_hash(arp, VNI), inner_flow_hash(&arp[..14], VNI));
        other_arp[11] ^= 1; // source MAC
        assert_ne!(inner_flow_hash(arp, VNI), inner_flow_hash(&other_arp, VNI));
        other_arp[11] ^= 1;
        other_arp[12..14].copy_from_slice(&0x88b5u16.to_be_bytes());
        assert_ne!(inner_flow_hash(arp, VNI), inner_flow_hash(&other_arp, VNI));
        assert_eq!(u16::from_be_bytes([arp[12], arp[13]]), ETHERTYPE_ARP);

        // Truncated or malformed IPv4 falls back to L2.
        let ip = &VXLAN_ICMP[INNER..];
        assert_eq!(
            inner_flow_hash(&ip[..30], VNI),
            inner_flow_hash(&ip[..14], VNI)
        );
        assert_ne!(inner_flow_hash(ip, VNI), inner_flow_hash(&ip[..14], VNI));

        // VLAN-tagged: L2 only, whatever follows the tag.
        let mut tagged = ip[..12].to_vec();
        tagged.extend_from_slice(&ETHERTYPE_VLAN.to_be_bytes());
        tagged.extend_from_slice(&[0, 100]);
        tagged.extend_from_slice(&ip[12..]);
        assert_eq!(
            inner_flow_hash(&tagged, VNI),
            inner_flow_hash(&tagged[..14], VNI)
        );

        // Short frames hash whatever bytes there are.
        assert_ne!(inner_flow_hash(&[], VNI), inner_flow_hash(&ip[..6], VNI));
    }

    #[test]
    fn source_port_edges() {
        for h in [0, 1, 0x8000_0000, u32::MAX] {
            assert_eq!(source_port(h, 4789, 4789), 4789);
            assert_eq!(source_port(h, 5000, 4000), 5000);
        }
        assert_eq!(source_port(0, 1, 65535), 1);
        assert_eq!(source_port(u32::MAX, 1, 65535), 65535);
        assert_eq!(source_port(0, 0, 65535), 0);
        assert_eq!(source_port(u32::MAX, 0, 65535), 65535);
        assert_eq!(source_port(0, 49152, 65535), 49152);
        assert_eq!(source_port(u32::MAX, 49152, 65535), 65535);
        // Uniform: each quarter of the hash space gets one of four ports.
        for q in 0..4u32 {
            assert_eq!(source_port(q << 30, 10, 13), 10 + q as u16);
            assert_eq!(source_port((q << 30) | 0x3fff_ffff, 10, 13), 10 + q as u16);
        }
    }
}
