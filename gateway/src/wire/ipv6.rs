//! IPv6 fixed header (RFC 8200 section 3), minimal: enough to hash inner
//! IPv6 flows. Extension headers are not walked.
//!
//! `new_checked` validates the version and that `payload_len` fits in the
//! buffer, so `payload()` (which excludes trailing padding) cannot go out of
//! bounds.

use std::net::Ipv6Addr;

use super::{get_array, get_u8, put_bytes, put_u8, slice};
use super::{get_u16, put_u16, Result, WireError};

pub const HEADER_LEN: usize = 40;

/// A view of an IPv6 fixed header followed by its payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv6Packet<T: AsRef<[u8]>> {
    buffer: T,
}

#[inline]
fn get_ipv6(b: &[u8], at: usize) -> Ipv6Addr {
    Ipv6Addr::from(get_array::<16>(b, at))
}

impl<T: AsRef<[u8]>> Ipv6Packet<T> {
    /// Wraps `buffer` without checking: for bytes this process wrote; past
    /// the end of a short buffer reads give zeros and writes are dropped.
    #[inline]
    pub fn new_unchecked(buffer: T) -> Self {
        Ipv6Packet { buffer }
    }

    /// `Truncated` below 40 bytes or when `payload_len` exceeds the rest of
    /// the buffer; `Malformed` if the version is not 6.
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Self> {
        let b = buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(WireError::Truncated);
        }
        if get_u8(b, 0) >> 4 != 6 {
            return Err(WireError::Malformed);
        }
        if usize::from(get_u16(b, 4)) > b.len() - HEADER_LEN {
            return Err(WireError::Truncated);
        }
        Ok(Ipv6Packet { buffer })
    }

    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    #[inline]
    pub fn version(&self) -> u8 {
        get_u8(self.buffer.as_ref(), 0) >> 4
    }

    #[inline]
    pub fn traffic_class(&self) -> u8 {
        (get_u16(self.buffer.as_ref(), 0) >> 4) as u8
    }

    #[inline]
    pub fn flow_label(&self) -> u32 {
        let b = self.buffer.as_ref();
        let [_, x, y, z] = get_array::<4>(b, 0);
        u32::from_be_bytes([0, x & 0x0f, y, z])
    }

    #[inline]
    pub fn payload_len(&self) -> u16 {
        get_u16(self.buffer.as_ref(), 4)
    }

    #[inline]
    pub fn next_header(&self) -> u8 {
        get_u8(self.buffer.as_ref(), 6)
    }

    #[inline]
    pub fn hop_limit(&self) -> u8 {
        get_u8(self.buffer.as_ref(), 7)
    }

    #[inline]
    pub fn src_addr(&self) -> Ipv6Addr {
        get_ipv6(self.buffer.as_ref(), 8)
    }

    #[inline]
    pub fn dst_addr(&self) -> Ipv6Addr {
        get_ipv6(self.buffer.as_ref(), 24)
    }

    /// The `payload_len` bytes after the fixed header.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        let end = HEADER_LEN + usize::from(self.payload_len());
        slice(self.buffer.as_ref(), HEADER_LEN, end)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv6Packet<T> {
    #[inline]
    pub fn set_payload_len(&mut self, len: u16) {
        put_u16(self.buffer.as_mut(), 4, len)
    }

    #[inline]
    pub fn set_next_header(&mut self, nh: u8) {
        put_u8(self.buffer.as_mut(), 6, nh);
    }

    #[inline]
    pub fn set_hop_limit(&mut self, hops: u8) {
        put_u8(self.buffer.as_mut(), 7, hops);
    }

    #[inline]
    pub fn set_src_addr(&mut self, ip: Ipv6Addr) {
        put_bytes(self.buffer.as_mut(), 8, &ip.octets());
    }

    #[inline]
    pub fn set_dst_addr(&mut self, ip: Ipv6Addr) {
        put_bytes(self.buffer.as_mut(), 24, &ip.octets());
    }
}

#[cfg(test)]
mod tests {
    use super::super::testdata::VXLAN_NS;
    use super::*;

    /// The inner IPv6 packet of a captured VXLAN frame.
    const NS: &[u8] = VXLAN_NS.split_at(64).1;

    #[test]
    fn parses_captured_header() {
        let p = Ipv6Packet::new_checked(NS).unwrap();
        assert_eq!((p.version(), p.traffic_class(), p.flow_label()), (6, 0, 0));
        assert_eq!(
            (p.payload_len(), p.next_header(), p.hop_limit()),
            (32, 58, 255)
        );
        assert_eq!(p.src_addr(), Ipv6Addr::UNSPECIFIED);
        assert_eq!(p.dst_addr(), "ff02::1:ff11:2".parse::<Ipv6Addr>().unwrap());
        assert_eq!(p.payload(), &NS[40..]);
        assert_eq!(p.payload()[0], 135); // neighbor solicitation
    }

    #[test]
    fn traffic_class_and_flow_label() {
        let mut b = NS.to_vec();
        b[..4].copy_from_slice(&[0x6b, 0x8f, 0x12, 0x34]);
        let p = Ipv6Packet::new_checked(&b[..]).unwrap();
        assert_eq!((p.traffic_class(), p.flow_label()), (0xb8, 0xf1234));
    }

    #[test]
    fn rejects_bad_input() {
        for len in 0..HEADER_LEN {
            assert_eq!(
                Ipv6Packet::new_checked(&NS[..len]),
                Err(WireError::Truncated)
            );
        }
        let mut b = NS.to_vec();
        b[0] = 0x45;
        assert_eq!(Ipv6Packet::new_checked(&b[..]), Err(WireError::Malformed));
        assert_eq!(
            Ipv6Packet::new_checked(&NS[..NS.len() - 1]),
            Err(WireError::Truncated)
        );
        let mut padded = NS.to_vec();
        padded.extend_from_slice(&[0; 4]);
        assert_eq!(
            Ipv6Packet::new_checked(&padded[..]).unwrap().payload(),
            &NS[40..]
        );
    }

    #[test]
    fn setters() {
        let mut b = NS.to_vec();
        let mut p = Ipv6Packet::new_checked(&mut b[..]).unwrap();
        let (a, z) = (
            "2001:db8::1".parse().unwrap(),
            "2001:db8::2".parse().unwrap(),
        );
        p.set_src_addr(a);
        p.set_dst_addr(z);
        p.set_hop_limit(64);
        p.set_next_header(17);
        p.set_payload_len(8);
        assert_eq!((p.src_addr(), p.dst_addr(), p.hop_limit()), (a, z, 64));
        assert_eq!((p.next_header(), p.payload().len()), (17, 8));
    }
}
