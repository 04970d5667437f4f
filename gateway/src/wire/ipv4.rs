//! IPv4 headers (RFC 791) and the Internet checksum (RFC 1071).
//!
//! `new_checked` validates version, IHL and total length against the buffer,
//! so `header_len()` and `payload()` can slice without further checks.
//! Frames may carry Ethernet padding after `total_len`; `payload()` stops at
//! `total_len`.

use std::net::Ipv4Addr;

use super::{get_array, get_u8, head_mut, put_u8, slice, slice_mut};
use super::{get_ipv4, get_u16, put_ipv4, put_u16, Result, WireError};

/// Length of an IPv4 header without options.
pub const HEADER_LEN: usize = 20;
pub const PROTO_ICMP: u8 = 1;
pub const PROTO_TCP: u8 = 6;
pub const PROTO_UDP: u8 = 17;

const FLAG_DF: u16 = 0x4000;
const FLAG_MF: u16 = 0x2000;
const FRAG_OFFSET_MASK: u16 = 0x1fff;

/// A view of an IPv4 header (with options) followed by its payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv4Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv4Packet<T> {
    /// Wraps `buffer` without checking: for bytes this process wrote; past
    /// the end of a short buffer reads give zeros and writes are dropped.
    #[inline]
    pub fn new_unchecked(buffer: T) -> Self {
        Ipv4Packet { buffer }
    }

    /// `Truncated` if the buffer is shorter than 20 bytes, than IHL*4, or
    /// than `total_len`; `Malformed` if version != 4, IHL < 5 or
    /// `total_len` < IHL*4.
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Self> {
        let b = buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(WireError::Truncated);
        }
        let first = get_u8(b, 0);
        if first >> 4 != 4 {
            return Err(WireError::Malformed);
        }
        let header_len = usize::from(first & 0x0f) * 4;
        if header_len < HEADER_LEN {
            return Err(WireError::Malformed);
        }
        if b.len() < header_len {
            return Err(WireError::Truncated);
        }
        let total_len = usize::from(get_u16(b, 2));
        if total_len < header_len {
            return Err(WireError::Malformed);
        }
        if total_len > b.len() {
            return Err(WireError::Truncated);
        }
        Ok(Ipv4Packet { buffer })
    }

    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    #[inline]
    pub fn version(&self) -> u8 {
        get_u8(self.buffer.as_ref(), 0) >> 4
    }

    /// Header length in bytes (IHL * 4).
    #[inline]
    pub fn header_len(&self) -> usize {
        usize::from(get_u8(self.buffer.as_ref(), 0) & 0x0f) * 4
    }

    #[inline]
    pub fn dscp_ecn(&self) -> u8 {
        get_u8(self.buffer.as_ref(), 1)
    }

    #[inline]
    pub fn total_len(&self) -> u16 {
        get_u16(self.buffer.as_ref(), 2)
    }

    #[inline]
    pub fn ident(&self) -> u16 {
        get_u16(self.buffer.as_ref(), 4)
    }

    #[inline]
    pub fn dont_frag(&self) -> bool {
        get_u16(self.buffer.as_ref(), 6) & FLAG_DF != 0
    }

    #[inline]
    pub fn more_frags(&self) -> bool {
        get_u16(self.buffer.as_ref(), 6) & FLAG_MF != 0
    }

    /// Fragment offset in 8-byte units.
    #[inline]
    pub fn frag_offset(&self) -> u16 {
        get_u16(self.buffer.as_ref(), 6) & FRAG_OFFSET_MASK
    }

    /// True for any fragment: MF set or a non-zero offset.
    #[inline]
    pub fn is_fragment(&self) -> bool {
        get_u16(self.buffer.as_ref(), 6) & (FLAG_MF | FRAG_OFFSET_MASK) != 0
    }

    #[inline]
    pub fn ttl(&self) -> u8 {
        get_u8(self.buffer.as_ref(), 8)
    }

    #[inline]
    pub fn protocol(&self) -> u8 {
        get_u8(self.buffer.as_ref(), 9)
    }

    #[inline]
    pub fn checksum(&self) -> u16 {
        get_u16(self.buffer.as_ref(), 10)
    }

    #[inline]
    pub fn src_addr(&self) -> Ipv4Addr {
        get_ipv4(self.buffer.as_ref(), 12)
    }

    #[inline]
    pub fn dst_addr(&self) -> Ipv4Addr {
        get_ipv4(self.buffer.as_ref(), 16)
    }

    /// True if the header checksum (over IHL*4 bytes) is correct.
    #[inline]
    pub fn verify_checksum(&self) -> bool {
        checksum(slice(self.buffer.as_ref(), 0, self.header_len())) == 0
    }

    /// The bytes after the header up to `total_len` (padding excluded).
    #[inline]
    pub fn payload(&self) -> &[u8] {
        let end = usize::from(self.total_len());
        slice(self.buffer.as_ref(), self.header_len(), end)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv4Packet<T> {
    #[inline]
    pub fn set_version(&mut self, version: u8) {
        let b = self.buffer.as_mut();
        put_u8(b, 0, (version << 4) | (get_u8(b, 0) & 0x0f));
    }

    /// Sets IHL from a length in bytes (a multiple of 4, 20..=60).
    #[inline]
    pub fn set_header_len(&mut self, len: usize) {
        let b = self.buffer.as_mut();
        put_u8(b, 0, (get_u8(b, 0) & 0xf0) | ((len / 4) as u8 & 0x0f));
    }

    #[inline]
    pub fn set_dscp_ecn(&mut self, v: u8) {
        put_u8(self.buffer.as_mut(), 1, v);
    }

    #[inline]
    pub fn set_total_len(&mut self, len: u16) {
        put_u16(self.buffer.as_mut(), 2, len)
    }

    #[inline]
    pub fn set_ident(&mut self, ident: u16) {
        put_u16(self.buffer.as_mut(), 4, ident)
    }

    #[inline]
    fn set_flag(&mut self, flag: u16, on: bool) {
        let b = self.buffer.as_mut();
        let v = get_u16(b, 6);
        put_u16(b, 6, if on { v | flag } else { v & !flag });
    }

    #[inline]
    pub fn set_dont_frag(&mut self, on: bool) {
        self.set_flag(FLAG_DF, on)
    }

    #[inline]
    pub fn set_more_frags(&mut self, on: bool) {
        self.set_flag(FLAG_MF, on)
    }

    /// Sets the fragment offset in 8-byte units (13 bits).
    #[inline]
    pub fn set_frag_offset(&mut self, units: u16) {
        let b = self.buffer.as_mut();
        let v = get_u16(b, 6);
        put_u16(b, 6, (v & !FRAG_OFFSET_MASK) | (units & FRAG_OFFSET_MASK));
    }

    #[inline]
    pub fn set_ttl(&mut self, ttl: u8) {
        put_u8(self.buffer.as_mut(), 8, ttl);
    }

    #[inline]
    pub fn set_protocol(&mut self, proto: u8) {
        put_u8(self.buffer.as_mut(), 9, proto);
    }

    #[inline]
    pub fn set_checksum(&mut self, sum: u16) {
        put_u16(self.buffer.as_mut(), 10, sum)
    }

    #[inline]
    pub fn set_src_addr(&mut self, ip: Ipv4Addr) {
        put_ipv4(self.buffer.as_mut(), 12, ip)
    }

    #[inline]
    pub fn set_dst_addr(&mut self, ip: Ipv4Addr) {
        put_ipv4(self.buffer.as_mut(), 16, ip)
    }

    /// Recomputes the header checksum over IHL*4 bytes.
    #[inline]
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let len = self.header_len();
        let sum = checksum(slice(self.buffer.as_ref(), 0, len));
        self.set_checksum(sum);
    }

    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let (start, end) = (self.header_len(), usize::from(self.total_len()));
        slice_mut(self.buffer.as_mut(), start, end)
    }
}

/// The RFC 1071 Internet checksum: one's-complement of the one's-complement
/// sum of big-endian 16-bit words (an odd last byte is padded with zero).
/// A region that already contains its correct checksum sums to 0.
#[inline]
pub fn checksum(data: &[u8]) -> u16 {
    // Summing 32-bit words is congruent mod 0xffff to summing 16-bit ones.
    let mut sum = 0u64;
    let mut words = data.chunks_exact(4);
    for w in &mut words {
        sum += u64::from(u32::from_be_bytes(get_array(w, 0)));
    }
    let mut tail = [0u8; 4];
    for (dst, &src) in tail.iter_mut().zip(words.remainder()) {
        *dst = src;
    }
    sum += u64::from(u32::from_be_bytes(tail));
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Decrements the TTL of an IPv4 header in place and fixes its checksum
/// incrementally (RFC 1624 eqn. 3), as a router forwarding it does (RFC
/// 1812 §5.3.1). The caller has checked the header and that the TTL is
/// above 1; a buffer shorter than a header is left alone.
#[inline]
pub fn decrement_ttl(ip: &mut [u8]) {
    let Some(h) = ip
        .get_mut(8..12)
        .and_then(|h| <&mut [u8; 4]>::try_from(h).ok())
    else {
        return;
    };
    let old = u16::from_be_bytes([h[0], h[1]]);
    h[0] = h[0].wrapping_sub(1);
    let new = u16::from_be_bytes([h[0], h[1]]);
    let sum = checksum_update(u16::from_be_bytes([h[2], h[3]]), old, new);
    [h[2], h[3]] = sum.to_be_bytes();
}

/// RFC 1624 eqn. 3: the checksum after one 16-bit word changed `old -> new`.
#[inline]
pub fn checksum_update(sum: u16, old: u16, new: u16) -> u16 {
    let mut s = u32::from(!sum) + u32::from(!old) + u32::from(new);
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

/// The fields of an IPv4 header the gateway builds (20 bytes: no options,
/// DSCP/ECN 0, not a fragment), as smoltcp's `Ipv4Repr`: named fields
/// instead of a writer with eight positional arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv4Repr {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub protocol: u8,
    pub ttl: u8,
    pub dont_frag: bool,
    pub ident: u16,
    /// Bytes after the header.
    pub payload_len: usize,
}

impl Ipv4Repr {
    /// Writes the header, with a correct checksum, into `buf[..20]`.
    ///
    /// # Panics
    /// If `buf` is shorter than 20 bytes or `payload_len` exceeds 65515.
    #[inline]
    pub fn emit(&self, buf: &mut [u8]) {
        assert!(
            self.payload_len <= usize::from(u16::MAX) - HEADER_LEN,
            "IPv4 payload too long"
        );
        let h = head_mut::<HEADER_LEN>(buf);
        h[0] = 0x45;
        h[1] = 0;
        put_u16(h, 2, (HEADER_LEN + self.payload_len) as u16);
        put_u16(h, 4, self.ident);
        put_u16(h, 6, if self.dont_frag { FLAG_DF } else { 0 });
        h[8] = self.ttl;
        h[9] = self.protocol;
        put_u16(h, 10, 0);
        put_ipv4(h, 12, self.src);
        put_ipv4(h, 16, self.dst);
        let sum = checksum(&h[..]);
        put_u16(h, 10, sum);
    }
}

#[cfg(test)]
mod tests {
    use super::super::testdata::{VXLAN_ICMP, VXLAN_UDP};
    use super::*;

    /// The outer IPv4 packet of the captured VXLAN/ICMP frame.
    fn outer() -> &'static [u8] {
        &VXLAN_ICMP[14..]
    }

    #[test]
    fn decrementing_the_ttl_keeps_the_checksum_right() {
        let mut ip = outer()[..20].to_vec();
        for _ in 0..3 {
            let ttl = ip[8];
            decrement_ttl(&mut ip);
            assert_eq!(ip[8], ttl - 1);
            assert_eq!(checksum(&ip), 0, "a header with its checksum sums to 0");
        }
        // Every TTL and protocol, against a full recomputation.
        for (ttl, proto) in (2..=255u8).zip((0..=255u8).cycle().step_by(7)) {
            ip[8] = ttl;
            ip[9] = proto;
            ip[10..12].fill(0);
            let sum = checksum(&ip);
            ip[10..12].copy_from_slice(&sum.to_be_bytes());
            decrement_ttl(&mut ip);
            let incremental = [ip[10], ip[11]];
            ip[10..12].fill(0);
            assert_eq!(incremental, checksum(&ip).to_be_bytes(), "ttl {ttl}");
        }
        decrement_ttl(&mut [0u8; 5]); // short: left alone, no panic
    }

    #[test]
    fn parses_captured_header() {
        let p = Ipv4Packet::new_checked(outer()).unwrap();
        assert_eq!((p.version(), p.header_len(), p.dscp_ecn()), (4, 20, 0));
        assert_eq!((p.total_len(), p.ident()), (134, 0xda59));
        assert!(!p.dont_frag() && !p.more_frags() && !p.is_fragment());
        assert_eq!((p.frag_offset(), p.ttl(), p.protocol()), (0, 64, PROTO_UDP));
        assert_eq!(p.checksum(), 0xbab9);
        assert_eq!(p.src_addr(), Ipv4Addr::new(192, 168, 50, 1));
        assert_eq!(p.dst_addr(), Ipv4Addr::new(192, 168, 50, 2));
        assert!(p.verify_checksum());
        assert_eq!(p.payload(), &VXLAN_ICMP[34..]);

        let inner = Ipv4Packet::new_checked(&VXLAN_ICMP[64..]).unwrap();
        assert!(inner.dont_frag() && !inner.is_fragment());
        assert_eq!((inner.protocol(), inner.checksum()), (PROTO_ICMP, 0x777a));
        assert!(inner.verify_checksum());
    }

    #[test]
    fn checksum_known_answers() {
        // RFC 1071 section 3 example: sum ddf2, checksum is its complement.
        assert_eq!(
            checksum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            !0xddf2
        );
        // Odd length: the last byte is the high half of a zero-padded word.
        assert_eq!(checksum(&[0x00, 0x01, 0xf2]), !0xf201);
        assert_eq!(checksum(&[]), 0xffff);
        // Captured headers with the checksum field zeroed.
        for (hdr, want) in [(&VXLAN_ICMP[14..34], 0xbab9), (&VXLAN_UDP[64..84], 0x2cb5)] {
            let mut h = hdr.to_vec();
            h[10..12].fill(0);
            assert_eq!(checksum(&h), want);
            assert_eq!(checksum(hdr), 0);
        }
    }

    #[test]
    fn fill_then_verify() {
        let mut buf = outer().to_vec();
        let mut p = Ipv4Packet::new_checked(&mut buf[..]).unwrap();
        p.set_ttl(63);
        assert!(!p.verify_checksum());
        p.fill_checksum();
        assert!(p.verify_checksum());
        p.set_checksum(p.checksum() ^ 1);
        assert!(!p.verify_checksum());
    }

    #[test]
    fn setters_and_fragments() {
        let mut buf = outer().to_vec();
        let mut p = Ipv4Packet::new_checked(&mut buf[..]).unwrap();
        p.set_dont_frag(true);
        assert!(p.dont_frag() && !p.is_fragment());
        p.set_more_frags(true);
        assert!(p.more_frags() && p.is_fragment());
        p.set_more_frags(false);
        p.set_frag_offset(185);
        assert!(p.is_fragment() && p.dont_frag());
        assert_eq!(p.frag_offset(), 185);
        p.set_frag_offset(0);
        p.set_dont_frag(false);
        assert!(!p.is_fragment() && !p.dont_frag());
        p.set_dscp_ecn(0xb8);
        p.set_ident(7);
        p.set_protocol(PROTO_TCP);
        p.set_src_addr(Ipv4Addr::new(1, 2, 3, 4));
        p.set_dst_addr(Ipv4Addr::new(5, 6, 7, 8));
        p.set_total_len(24);
        p.payload_mut().copy_from_slice(&[9, 9, 9, 9]);
        assert_eq!(
            (p.dscp_ecn(), p.ident(), p.protocol()),
            (0xb8, 7, PROTO_TCP)
        );
        assert_eq!(
            (p.src_addr(), p.dst_addr()),
            ("1.2.3.4".parse().unwrap(), "5.6.7.8".parse().unwrap())
        );
        assert_eq!(p.payload(), &[9, 9, 9, 9]);
    }

    #[test]
    fn payload_excludes_padding_and_respects_options() {
        // Inner UDP packet (33 bytes) padded to a 46-byte Ethernet minimum.
        let mut buf = VXLAN_UDP[64..].to_vec();
        buf.resize(46, 0);
        let p = Ipv4Packet::new_checked(&buf[..]).unwrap();
        assert_eq!(p.payload(), &VXLAN_UDP[84..]);

        // IHL 6: one 4-byte option (NOPs).
        let mut buf = vec![
            0x46, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        buf.extend_from_slice(&[1, 1, 1, 1, 0xde, 0xad, 0xbe, 0xef]);
        let mut p = Ipv4Packet::new_checked(&mut buf[..]).unwrap();
        p.fill_checksum();
        assert!(p.verify_checksum());
        assert_eq!(
            (p.header_len(), p.payload()),
            (24, &[0xde, 0xad, 0xbe, 0xef][..])
        );
    }

    #[test]
    fn rejects_malformed_and_truncated() {
        let good = outer();
        for len in 0..HEADER_LEN {
            assert_eq!(
                Ipv4Packet::new_checked(&good[..len]),
                Err(WireError::Truncated)
            );
        }
        let with = |at: usize, bytes: &[u8]| {
            let mut b = good.to_vec();
            b[at..at + bytes.len()].copy_from_slice(bytes);
            Ipv4Packet::new_checked(b).map(|_| ())
        };
        assert_eq!(with(0, &[0x65]), Err(WireError::Malformed)); // version 6
        assert_eq!(with(0, &[0x05]), Err(WireError::Malformed)); // version 0
        assert_eq!(with(0, &[0x44]), Err(WireError::Malformed)); // IHL 4
        assert_eq!(with(0, &[0x40]), Err(WireError::Malformed)); // IHL 0
        assert_eq!(with(2, &[0x00, 19]), Err(WireError::Malformed)); // total < header
        assert_eq!(with(0, &[0x46, 0, 0, 20]), Err(WireError::Malformed)); // total < IHL*4
        assert_eq!(with(2, &[0x00, 135]), Err(WireError::Truncated)); // total > buffer
        assert_eq!(with(2, &[0xff, 0xff]), Err(WireError::Truncated));
        assert_eq!(with(2, &[0x00, 20]), Ok(())); // header only
                                                  // IHL 15 = 60 bytes, beyond a 40-byte buffer.
        let mut b = good[..40].to_vec();
        b[0] = 0x4f;
        assert_eq!(Ipv4Packet::new_checked(&b[..]), Err(WireError::Truncated));
    }

    #[test]
    fn write_then_parse() {
        let mut buf = [0xffu8; 28];
        let (src, dst) = (
            Ipv4Addr::new(192, 168, 50, 1),
            Ipv4Addr::new(192, 168, 50, 2),
        );
        let repr = Ipv4Repr {
            src,
            dst,
            protocol: PROTO_UDP,
            ttl: 64,
            dont_frag: true,
            ident: 0x1234,
            payload_len: 8,
        };
        repr.emit(&mut buf);
        let p = Ipv4Packet::new_checked(&buf[..]).unwrap();
        assert_eq!(
            (p.version(), p.header_len(), p.dscp_ecn(), p.total_len()),
            (4, 20, 0, 28)
        );
        assert_eq!((p.ident(), p.ttl(), p.protocol()), (0x1234, 64, PROTO_UDP));
        assert!(p.dont_frag() && !p.is_fragment());
        assert_eq!((p.src_addr(), p.dst_addr()), (src, dst));
        assert!(p.verify_checksum());
        assert_eq!(p.payload().len(), 8);
        // Same header fields as the capture give the captured checksum.
        Ipv4Repr {
            dont_frag: false,
            ident: 0xda59,
            payload_len: 114,
            ..repr
        }
        .emit(&mut buf);
        assert_eq!(&buf[..20], &VXLAN_ICMP[14..34]);
    }
}
