//! UDP headers (RFC 768), the transport of VXLAN.
//!
//! `new_checked` validates the length field against the buffer so that
//! `payload()` (which stops at the UDP length, ignoring any trailing bytes)
//! cannot go out of bounds. Checksums are not verified here: VXLAN over IPv4
//! is normally sent with checksum 0 (RFC 7348 section 5).

use super::{get_u16, put_u16, Result, WireError};
use super::{head_mut, slice, slice_mut};

pub const HEADER_LEN: usize = 8;

/// A view of a UDP header followed by its payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UdpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> UdpPacket<T> {
    /// Wraps `buffer` without checking: for bytes this process wrote; past
    /// the end of a short buffer reads give zeros and writes are dropped.
    #[inline]
    pub fn new_unchecked(buffer: T) -> Self {
        UdpPacket { buffer }
    }

    /// `Truncated` below 8 bytes or when the length field exceeds the
    /// buffer; `Malformed` when the length field is below 8.
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Self> {
        let b = buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(WireError::Truncated);
        }
        let len = usize::from(get_u16(b, 4));
        if len < HEADER_LEN {
            return Err(WireError::Malformed);
        }
        if len > b.len() {
            return Err(WireError::Truncated);
        }
        Ok(UdpPacket { buffer })
    }

    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    #[inline]
    pub fn src_port(&self) -> u16 {
        get_u16(self.buffer.as_ref(), 0)
    }

    #[inline]
    pub fn dst_port(&self) -> u16 {
        get_u16(self.buffer.as_ref(), 2)
    }

    /// The length field: header plus payload, in bytes.
    #[inline]
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> u16 {
        get_u16(self.buffer.as_ref(), 4)
    }

    #[inline]
    pub fn checksum(&self) -> u16 {
        get_u16(self.buffer.as_ref(), 6)
    }

    /// The datagram payload, `len() - 8` bytes.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        slice(self.buffer.as_ref(), HEADER_LEN, usize::from(self.len()))
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> UdpPacket<T> {
    #[inline]
    pub fn set_src_port(&mut self, port: u16) {
        put_u16(self.buffer.as_mut(), 0, port)
    }

    #[inline]
    pub fn set_dst_port(&mut self, port: u16) {
        put_u16(self.buffer.as_mut(), 2, port)
    }

    #[inline]
    pub fn set_len(&mut self, len: u16) {
        put_u16(self.buffer.as_mut(), 4, len)
    }

    #[inline]
    pub fn set_checksum(&mut self, sum: u16) {
        put_u16(self.buffer.as_mut(), 6, sum)
    }

    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let end = usize::from(self.len());
        slice_mut(self.buffer.as_mut(), HEADER_LEN, end)
    }
}

/// Writes an 8-byte UDP header with checksum 0 into `buf[..8]`.
///
/// # Panics
/// If `buf` is shorter than 8 bytes or `payload_len` exceeds 65527.
#[inline]
pub fn write_udp_header(buf: &mut [u8], src_port: u16, dst_port: u16, payload_len: usize) {
    assert!(
        payload_len <= usize::from(u16::MAX) - HEADER_LEN,
        "UDP payload too long"
    );
    let h = &mut head_mut::<HEADER_LEN>(buf)[..];
    put_u16(h, 0, src_port);
    put_u16(h, 2, dst_port);
    put_u16(h, 4, (HEADER_LEN + payload_len) as u16);
    put_u16(h, 6, 0);
}

#[cfg(test)]
mod tests {
    use super::super::testdata::{VXLAN_ICMP, VXLAN_UDP};
    use super::*;

    #[test]
    fn parses_captured_datagrams() {
        let u = UdpPacket::new_checked(&VXLAN_ICMP[34..]).unwrap();
        assert_eq!((u.src_port(), u.dst_port()), (50129, 4789));
        assert_eq!((u.len(), u.checksum()), (114, 0xe5d7));
        assert_eq!(u.payload(), &VXLAN_ICMP[42..]);

        // Inner datagram, followed by Ethernet padding.
        let mut buf = VXLAN_UDP[84..].to_vec();
        buf.extend_from_slice(&[0; 6]);
        let u = UdpPacket::new_checked(&buf[..]).unwrap();
        assert_eq!((u.src_port(), u.dst_port(), u.len()), (34230, 7, 13));
        assert_eq!(u.payload(), b"hello");
    }

    #[test]
    fn rejects_bad_lengths() {
        let good = &VXLAN_UDP[84..];
        for len in 0..HEADER_LEN {
            assert_eq!(
                UdpPacket::new_checked(&good[..len]),
                Err(WireError::Truncated)
            );
        }
        let with_len = |len: u16| {
            let mut b = good.to_vec();
            b[4..6].copy_from_slice(&len.to_be_bytes());
            UdpPacket::new_checked(b).map(|u| u.payload().len())
        };
        assert_eq!(with_len(0), Err(WireError::Malformed));
        assert_eq!(with_len(7), Err(WireError::Malformed));
        assert_eq!(with_len(14), Err(WireError::Truncated));
        assert_eq!(with_len(u16::MAX), Err(WireError::Truncated));
        assert_eq!(with_len(8), Ok(0));
        assert_eq!(with_len(13), Ok(5));
    }

    #[test]
    fn write_then_parse_and_setters() {
        let mut buf = [0xffu8; 20];
        write_udp_header(&mut buf, 49152, 4789, 12);
        let mut u = UdpPacket::new_checked(&mut buf[..]).unwrap();
        assert_eq!(
            (u.src_port(), u.dst_port(), u.len(), u.checksum()),
            (49152, 4789, 20, 0)
        );
        assert_eq!(u.payload().len(), 12);
        u.set_src_port(1);
        u.set_dst_port(2);
        u.set_len(9);
        u.set_checksum(0xbeef);
        u.payload_mut()[0] = 42;
        assert_eq!(
            (u.src_port(), u.dst_port(), u.len(), u.checksum()),
            (1, 2, 9, 0xbeef)
        );
        assert_eq!(u.payload(), &[42]);
    }
}
