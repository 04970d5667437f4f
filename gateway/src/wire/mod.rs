//! Zero-copy views over packet headers, in the style of smoltcp's `wire`.
//!
//! Each view wraps any `T: AsRef<[u8]>` (an mbuf slice, a `Vec`, a `&[u8]`)
//! and reads fields straight out of the bytes; setters exist where
//! `T: AsMut<[u8]>`. Nothing allocates.
//!
//! Bytes from the network are untrusted: build views with `new_checked`,
//! which validates lengths (and the fixed fields the accessors rely on) so
//! that no accessor can then go out of bounds. `new_unchecked` is for bytes
//! this process wrote itself; on a buffer too short for a field its
//! accessors read zeros and its setters write nothing (and panic in debug
//! builds, where that is a bug in the caller). Builders (`write_*`,
//! `Repr::emit`) assert that the caller's buffer is long enough.
//!
//! Nothing here indexes, unwraps or calls `panic!` (the lints below,
//! tests exempt): a frame from the network cannot make a parser panic.

// Parsers of untrusted bytes: no way to panic on a short or odd frame.
// Lengths are checked once, up front, and reads go through `get`
// (tests may index and unwrap).
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

pub mod arp;
pub mod ethernet;
pub mod flow;
pub mod icmpv4;
pub mod igmp;
pub mod ipv4;
pub mod ipv6;
pub mod udp;
pub mod vxlan;

#[cfg(test)]
mod testdata;

use core::fmt;
use std::net::Ipv4Addr;

pub use arp::{turn_request_into_reply, ArpPacket, ArpRepr, ARP_LEN, ARP_REPLY, ARP_REQUEST};
pub use ethernet::{
    parse_l2, vlan_tci, EthernetFrame, L2Header, VlanTag, ETHERTYPE_ARP, ETHERTYPE_IPV4,
    ETHERTYPE_IPV6, ETHERTYPE_QINQ, ETHERTYPE_VLAN,
};
pub use flow::{inner_flow_hash, source_port};
pub use icmpv4::{turn_echo_request_into_reply, Icmpv4Packet};
pub use ipv4::{checksum, Ipv4Packet, Ipv4Repr, PROTO_ICMP, PROTO_TCP, PROTO_UDP};
pub use ipv6::Ipv6Packet;
pub use udp::{write_udp_header, UdpPacket};
pub use vxlan::{write_vxlan_header, VxlanHeader};

/// Why a buffer was rejected by a checked constructor or parser.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WireError {
    /// The buffer is shorter than the header (or a length field) requires.
    Truncated,
    /// A field has a value this code does not accept (bad version, bad
    /// length field, unsupported encoding, stacked VLAN tags, ...).
    Malformed,
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WireError::Truncated => "truncated packet",
            WireError::Malformed => "malformed packet",
        })
    }
}

impl std::error::Error for WireError {}

/// Result of the checked constructors and parsers.
pub type Result<T> = core::result::Result<T, WireError>;

/// `ff:ff:ff:ff:ff:ff`.
pub const BROADCAST_MAC: Mac = Mac::BROADCAST;

pub use crate::types::Mac;

// Field helpers shared by the views. `new_checked` proved the buffer long
// enough for every fixed field, so the bounds checks here never fail for a
// checked view (they are the same checks indexing would make, without the
// panic). A view that skipped `new_checked` reads zeros (and empty slices)
// past the end of its buffer; a write past the end is dropped, and panics
// in debug builds, where it is a bug in the caller.

#[inline]
fn get_u8(b: &[u8], at: usize) -> u8 {
    b.get(at).copied().unwrap_or(0)
}

#[inline]
fn put_u8(b: &mut [u8], at: usize, v: u8) {
    debug_assert!(at < b.len(), "write at {at} past a {}-byte buffer", b.len());
    if let Some(x) = b.get_mut(at) {
        *x = v;
    }
}

/// `N` bytes from `at`.
#[inline]
fn get_array<const N: usize>(b: &[u8], at: usize) -> [u8; N] {
    b.get(at..at + N)
        .and_then(|s| <[u8; N]>::try_from(s).ok())
        .unwrap_or([0; N])
}

/// Writes `v` at `at`.
#[inline]
fn put_bytes(b: &mut [u8], at: usize, v: &[u8]) {
    let len = b.len();
    debug_assert!(
        at + v.len() <= len,
        "write of {} at {at} past a {len}-byte buffer",
        v.len()
    );
    if let Some(dst) = b.get_mut(at..at + v.len()) {
        dst.copy_from_slice(v);
    }
}

/// `b[from..to]`, or empty.
#[inline]
fn slice(b: &[u8], from: usize, to: usize) -> &[u8] {
    b.get(from..to).unwrap_or_default()
}

/// `b[from..to]`, or empty.
#[inline]
fn slice_mut(b: &mut [u8], from: usize, to: usize) -> &mut [u8] {
    b.get_mut(from..to).unwrap_or_default()
}

/// `b[from..]`, or empty.
#[inline]
fn tail(b: &[u8], from: usize) -> &[u8] {
    b.get(from..).unwrap_or_default()
}

/// `b[from..]`, or empty.
#[inline]
fn tail_mut(b: &mut [u8], from: usize) -> &mut [u8] {
    b.get_mut(from..).unwrap_or_default()
}

/// The first `N` bytes of a buffer a builder writes into.
///
/// # Panics
/// If `buf` is shorter than `N` bytes (the builders' documented contract).
#[inline]
fn head_mut<const N: usize>(buf: &mut [u8]) -> &mut [u8; N] {
    let len = buf.len();
    assert!(
        len >= N,
        "a {N}-byte header does not fit a {len}-byte buffer"
    );
    match buf
        .get_mut(..N)
        .and_then(|s| <&mut [u8; N]>::try_from(s).ok())
    {
        Some(h) => h,
        None => unreachable!("length checked above"),
    }
}

#[inline]
fn get_u16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes(get_array(b, at))
}

#[inline]
fn put_u16(b: &mut [u8], at: usize, v: u16) {
    put_bytes(b, at, &v.to_be_bytes());
}

#[inline]
fn get_mac(b: &[u8], at: usize) -> Mac {
    Mac(get_array(b, at))
}

#[inline]
fn put_mac(b: &mut [u8], at: usize, mac: Mac) {
    put_bytes(b, at, &mac.0);
}

#[inline]
fn get_ipv4(b: &[u8], at: usize) -> Ipv4Addr {
    Ipv4Addr::from(get_array::<4>(b, at))
}

#[inline]
fn put_ipv4(b: &mut [u8], at: usize, ip: Ipv4Addr) {
    put_bytes(b, at, &ip.octets());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_helpers_and_error_display() {
        assert!(BROADCAST_MAC.is_multicast());
        assert!(Mac([0x01, 0x00, 0x5e, 0, 0, 1]).is_multicast());
        assert!(Mac([0x33, 0x33, 0, 0, 0, 1]).is_multicast());
        assert!(!Mac([0x02, 0x42, 0xac, 0x11, 0, 2]).is_multicast());
        assert_eq!(WireError::Truncated.to_string(), "truncated packet");
        assert_eq!(WireError::Malformed.to_string(), "malformed packet");
    }

    #[test]
    fn unchecked_views_over_short_buffers_read_zeros_instead_of_panicking() {
        let v = VxlanHeader::new_unchecked(&[vxlan::FLAG_I, 0, 0][..]);
        assert_eq!((v.flags(), v.vni(), v.reserved2()), (vxlan::FLAG_I, 0, 0));
        assert!(v.payload().is_empty());
        let ip = Ipv4Packet::new_unchecked(&[0x45u8][..]);
        assert_eq!(
            (ip.version(), ip.ttl(), ip.src_addr()),
            (4, 0, Ipv4Addr::UNSPECIFIED)
        );
        assert!(ip.payload().is_empty());
        assert_eq!(EthernetFrame::new_unchecked(&[][..]).src(), [0; 6]);
    }

    /// xorshift64: deterministic pseudo-random bytes without crates.
    struct XorShift(u64);
    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    /// Runs every checked entry point (and every accessor on success) over
    /// one buffer; the test passes if nothing panics.
    fn exercise(buf: &[u8]) {
        let _ = parse_l2(buf);
        let _ = inner_flow_hash(buf, 7);
        if let Ok(f) = EthernetFrame::new_checked(buf) {
            let _ = (f.dst(), f.src(), f.ethertype(), f.payload().len());
        }
        if let Ok(a) = ArpPacket::new_checked(buf) {
            let _ = (a.operation(), a.sender_mac(), a.sender_ip());
            let _ = (a.target_mac(), a.target_ip());
        }
        if let Ok(p) = Ipv4Packet::new_checked(buf) {
            let _ = (
                p.header_len(),
                p.total_len(),
                p.frag_offset(),
                p.is_fragment(),
            );
            let _ = (
                p.src_addr(),
                p.dst_addr(),
                p.verify_checksum(),
                p.payload().len(),
            );
        }
        if let Ok(p) = Ipv6Packet::new_checked(buf) {
            let _ = (p.next_header(), p.hop_limit(), p.src_addr(), p.dst_addr());
            let _ = p.payload().len();
        }
        if let Ok(u) = UdpPacket::new_checked(buf) {
            let _ = (u.src_port(), u.dst_port(), u.len(), u.payload().len());
        }
        if let Ok(v) = VxlanHeader::new_checked(buf) {
            let _ = (
                v.flags(),
                v.vni(),
                v.reserved1(),
                v.reserved2(),
                v.payload().len(),
            );
        }
        if let Ok(i) = Icmpv4Packet::new_checked(buf) {
            let _ = (
                i.msg_type(),
                i.code(),
                i.ident(),
                i.seq_no(),
                i.verify_checksum(),
            );
        }
        let mut copy = buf.to_vec();
        let _ = turn_request_into_reply(&mut copy, Mac([2, 0, 0, 0, 0, 1]));
        let mut copy = buf.to_vec();
        let _ = turn_echo_request_into_reply(&mut copy);
    }

    #[test]
    fn fuzz_checked_constructors_never_panic() {
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        let mut buf = [0u8; 200];
        for round in 0..20_000u32 {
            let len = (rng.next() % 200) as usize;
            for b in buf.iter_mut() {
                *b = rng.next() as u8;
            }
            // Bias some rounds toward plausible headers so the deeper
            // checks (lengths, IHL, ports) get exercised too.
            match round % 4 {
                1 => {
                    buf[12..14].copy_from_slice(&[0x08, 0x00]);
                    buf[14] = 0x40 | (buf[14] & 0x0f);
                    buf[0] = 0x45;
                }
                2 => {
                    buf[12..14].copy_from_slice(&[0x81, 0x00]);
                    buf[0] = 0x60;
                    buf[14] = 0x60;
                    buf[2..8].copy_from_slice(&[0x08, 0x00, 0x06, 0x04, 0x00, 0x01]);
                }
                3 => {
                    buf[12..14].copy_from_slice(&[0x08, 0x06]);
                    buf[14..22].copy_from_slice(&[0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01]);
                    buf[0] = 0x45;
                    buf[2..4].copy_from_slice(&[0x00, (len as u8).min(60)]);
                    buf[9] = 1;
                }
                _ => {}
            }
            exercise(&buf[..len]);
        }
        for f in [
            testdata::VXLAN_ICMP,
            testdata::VXLAN_ARP,
            testdata::VXLAN_UDP,
        ] {
            for len in 0..=f.len() {
                exercise(&f[..len]);
                exercise(&f[50..len.max(50)]);
            }
        }
    }
}
