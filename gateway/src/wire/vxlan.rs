//! VXLAN headers (RFC 7348 section 5).
//!
//! ```text
//! flags (8, I = 0x08) | reserved (24) | VNI (24) | reserved (8)
//! ```
//! `new_checked` only checks the length; whether to accept a header without
//! the I flag or with non-zero reserved bits is the caller's policy
//! (RFC 7348 says receivers must ignore the reserved bits).

use super::{get_array, get_u8, head_mut, put_bytes, put_u8, tail, tail_mut};
use super::{Result, WireError};

pub const HEADER_LEN: usize = 8;
/// The "VNI valid" flag.
pub const FLAG_I: u8 = 0x08;

/// Largest 24-bit VNI.
const VNI_MASK: u32 = 0x00ff_ffff;

/// A view of a VXLAN header followed by the inner Ethernet frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VxlanHeader<T: AsRef<[u8]>> {
    buffer: T,
}

#[inline]
fn get_u24(b: &[u8], at: usize) -> u32 {
    let [x, y, z] = get_array::<3>(b, at);
    u32::from_be_bytes([0, x, y, z])
}

#[inline]
fn put_u24(b: &mut [u8], at: usize, v: u32) {
    let [_, x, y, z] = v.to_be_bytes();
    put_bytes(b, at, &[x, y, z]);
}

impl<T: AsRef<[u8]>> VxlanHeader<T> {
    /// Wraps `buffer` without checking: for bytes this process wrote; past
    /// the end of a short buffer reads give zeros and writes are dropped.
    #[inline]
    pub fn new_unchecked(buffer: T) -> Self {
        VxlanHeader { buffer }
    }

    /// `Truncated` below 8 bytes.
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Self> {
        if buffer.as_ref().len() < HEADER_LEN {
            return Err(WireError::Truncated);
        }
        Ok(VxlanHeader { buffer })
    }

    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    #[inline]
    pub fn flags(&self) -> u8 {
        get_u8(self.buffer.as_ref(), 0)
    }

    #[inline]
    pub fn has_vni_flag(&self) -> bool {
        self.flags() & FLAG_I != 0
    }

    /// The 24 reserved bits after the flags.
    #[inline]
    pub fn reserved1(&self) -> u32 {
        get_u24(self.buffer.as_ref(), 1)
    }

    /// The 24-bit VXLAN network identifier.
    #[inline]
    pub fn vni(&self) -> u32 {
        get_u24(self.buffer.as_ref(), 4)
    }

    /// The last, reserved byte.
    #[inline]
    pub fn reserved2(&self) -> u8 {
        get_u8(self.buffer.as_ref(), 7)
    }

    /// The inner Ethernet frame.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        tail(self.buffer.as_ref(), HEADER_LEN)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> VxlanHeader<T> {
    #[inline]
    pub fn set_flags(&mut self, flags: u8) {
        put_u8(self.buffer.as_mut(), 0, flags);
    }

    /// Sets the reserved bits after the flags (only the low 24 bits are used).
    #[inline]
    pub fn set_reserved1(&mut self, v: u32) {
        put_u24(self.buffer.as_mut(), 1, v & VNI_MASK)
    }

    /// Sets the VNI (only the low 24 bits are used).
    #[inline]
    pub fn set_vni(&mut self, vni: u32) {
        debug_assert!(vni <= VNI_MASK, "VNI {vni} exceeds 24 bits");
        put_u24(self.buffer.as_mut(), 4, vni & VNI_MASK)
    }

    #[inline]
    pub fn set_reserved2(&mut self, v: u8) {
        put_u8(self.buffer.as_mut(), 7, v);
    }

    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        tail_mut(self.buffer.as_mut(), HEADER_LEN)
    }
}

/// Writes an 8-byte VXLAN header (flags I, reserved zero) into `buf[..8]`.
///
/// # Panics
/// If `buf` is shorter than 8 bytes (and, in debug builds, if `vni` does not
/// fit in 24 bits).
#[inline]
pub fn write_vxlan_header(buf: &mut [u8], vni: u32) {
    debug_assert!(vni <= VNI_MASK, "VNI {vni} exceeds 24 bits");
    let v = (vni & VNI_MASK) << 8;
    let [a, b, c, d] = v.to_be_bytes();
    *head_mut::<HEADER_LEN>(buf) = [FLAG_I, 0, 0, 0, a, b, c, d];
}

#[cfg(test)]
mod tests {
    use super::super::testdata::{INNER, VXLAN_ARP, VXLAN_ICMP};
    use super::*;

    #[test]
    fn parses_captured_header() {
        for f in [VXLAN_ICMP, VXLAN_ARP] {
            let v = VxlanHeader::new_checked(&f[42..]).unwrap();
            assert_eq!((v.flags(), v.vni()), (FLAG_I, 5001));
            assert!(v.has_vni_flag());
            assert_eq!((v.reserved1(), v.reserved2()), (0, 0));
            assert_eq!(v.payload(), &f[INNER..]);
        }
    }

    #[test]
    fn reserved_fields_and_flags_are_visible() {
        let v = VxlanHeader::new_checked([0x0c, 0xab, 0xcd, 0xef, 0xff, 0xff, 0xff, 0x5a]).unwrap();
        assert_eq!(
            (v.flags(), v.reserved1(), v.vni(), v.reserved2()),
            (0x0c, 0xabcdef, 0xffffff, 0x5a)
        );
        assert!(v.has_vni_flag());
        let v = VxlanHeader::new_checked([0u8; 8]).unwrap();
        assert!(!v.has_vni_flag());
        assert!(v.payload().is_empty());
    }

    #[test]
    fn truncation() {
        for len in 0..HEADER_LEN {
            assert_eq!(
                VxlanHeader::new_checked(&VXLAN_ICMP[42..42 + len]),
                Err(WireError::Truncated)
            );
        }
    }

    #[test]
    fn write_then_parse_and_setters() {
        let mut buf = [0xffu8; 10];
        write_vxlan_header(&mut buf, 0x00ab_cdef);
        assert_eq!(buf, [0x08, 0, 0, 0, 0xab, 0xcd, 0xef, 0, 0xff, 0xff]);
        write_vxlan_header(&mut buf, 5001);
        assert_eq!(&buf[..8], &VXLAN_ICMP[42..50]);
        let mut v = VxlanHeader::new_checked(&mut buf[..]).unwrap();
        v.set_flags(0);
        v.set_reserved1(0x0102_0304);
        v.set_vni(0xffffff);
        v.set_reserved2(9);
        v.payload_mut()[0] = 1;
        assert_eq!(
            (v.flags(), v.reserved1(), v.vni(), v.reserved2()),
            (0, 0x020304, 0xffffff, 9)
        );
        assert_eq!(v.payload(), &[1, 0xff]);
    }
}
