//! Ethernet II frames (IEEE 802.3) and single IEEE 802.1Q VLAN tags.
//!
//! [`EthernetFrame`] is the plain 14-byte header view. [`parse_l2`] is what
//! the pipeline uses on received frames: it also accepts one 802.1Q tag and
//! rejects stacked tags (QinQ), which this gateway does not terminate.

use super::{get_mac, get_u16, put_mac, put_u16, Mac, Result, WireError};
use super::{tail, tail_mut};

pub const HEADER_LEN: usize = 14;
pub const ETHERTYPE_IPV4: u16 = 0x0800;
pub const ETHERTYPE_ARP: u16 = 0x0806;
pub const ETHERTYPE_VLAN: u16 = 0x8100;
pub const ETHERTYPE_QINQ: u16 = 0x88a8;
pub const ETHERTYPE_IPV6: u16 = 0x86dd;

/// Length of one 802.1Q tag (TPID + TCI).
const VLAN_TAG_LEN: usize = 4;

/// A view of an Ethernet II header followed by its payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EthernetFrame<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> EthernetFrame<T> {
    /// Wraps `buffer` without checking: for bytes this process wrote; past
    /// the end of a short buffer reads give zeros and writes are dropped.
    #[inline]
    pub fn new_unchecked(buffer: T) -> Self {
        EthernetFrame { buffer }
    }

    /// Wraps `buffer`, failing with `Truncated` below 14 bytes.
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Self> {
        if buffer.as_ref().len() < HEADER_LEN {
            return Err(WireError::Truncated);
        }
        Ok(EthernetFrame { buffer })
    }

    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    #[inline]
    pub fn dst(&self) -> Mac {
        get_mac(self.buffer.as_ref(), 0)
    }

    #[inline]
    pub fn src(&self) -> Mac {
        get_mac(self.buffer.as_ref(), 6)
    }

    #[inline]
    pub fn ethertype(&self) -> u16 {
        get_u16(self.buffer.as_ref(), 12)
    }

    /// Everything after the 14-byte header (a VLAN tag, if any, included).
    #[inline]
    pub fn payload(&self) -> &[u8] {
        tail(self.buffer.as_ref(), HEADER_LEN)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> EthernetFrame<T> {
    #[inline]
    pub fn set_dst(&mut self, mac: Mac) {
        put_mac(self.buffer.as_mut(), 0, mac)
    }

    #[inline]
    pub fn set_src(&mut self, mac: Mac) {
        put_mac(self.buffer.as_mut(), 6, mac)
    }

    #[inline]
    pub fn set_ethertype(&mut self, ethertype: u16) {
        put_u16(self.buffer.as_mut(), 12, ethertype)
    }

    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        tail_mut(self.buffer.as_mut(), HEADER_LEN)
    }
}

/// The fields of an 802.1Q tag control information (TCI) word.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct VlanTag {
    /// Priority code point (3 bits).
    pub pcp: u8,
    /// Drop eligible indicator.
    pub dei: bool,
    /// VLAN identifier (12 bits).
    pub vid: u16,
}

impl VlanTag {
    #[inline]
    pub fn from_tci(tci: u16) -> Self {
        VlanTag {
            pcp: (tci >> 13) as u8,
            dei: tci & 0x1000 != 0,
            vid: tci & 0x0fff,
        }
    }

    #[inline]
    pub fn tci(&self) -> u16 {
        vlan_tci(self.pcp, self.dei, self.vid)
    }
}

/// Packs a TCI word; out-of-range `pcp`/`vid` bits are masked off.
#[inline]
pub fn vlan_tci(pcp: u8, dei: bool, vid: u16) -> u16 {
    (u16::from(pcp & 0x07) << 13) | (u16::from(dei) << 12) | (vid & 0x0fff)
}

/// The parsed L2 header of a received frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct L2Header {
    pub dst: Mac,
    pub src: Mac,
    /// The 802.1Q tag, if the frame carried one.
    pub vlan: Option<VlanTag>,
    /// The ethertype after any VLAN tag.
    pub ethertype: u16,
    /// Offset of the L3 header (14, or 18 when tagged).
    pub l3_offset: usize,
}

/// Parses the Ethernet header and at most one 802.1Q tag.
///
/// An outer 802.1ad (0x88a8) tag or a second 802.1Q tag gives `Malformed`;
/// a buffer too short for the header or tag gives `Truncated`.
#[inline]
pub fn parse_l2(buf: &[u8]) -> Result<L2Header> {
    if buf.len() < HEADER_LEN {
        return Err(WireError::Truncated);
    }
    let outer = get_u16(buf, 12);
    let (vlan, ethertype, l3_offset) = match outer {
        ETHERTYPE_QINQ => return Err(WireError::Malformed),
        ETHERTYPE_VLAN => {
            if buf.len() < HEADER_LEN + VLAN_TAG_LEN {
                return Err(WireError::Truncated);
            }
            let inner = get_u16(buf, 16);
            if inner == ETHERTYPE_VLAN || inner == ETHERTYPE_QINQ {
                return Err(WireError::Malformed);
            }
            let tag = VlanTag::from_tci(get_u16(buf, 14));
            (Some(tag), inner, HEADER_LEN + VLAN_TAG_LEN)
        }
        other => (None, other, HEADER_LEN),
    };
    Ok(L2Header {
        dst: get_mac(buf, 0),
        src: get_mac(buf, 6),
        vlan,
        ethertype,
        l3_offset,
    })
}

#[cfg(test)]
mod tests {
    use super::super::testdata::{INNER, VXLAN_ARP, VXLAN_ICMP};
    use super::*;

    const OUTER_DST: Mac = Mac([0x52, 0x54, 0x00, 0xab, 0xcd, 0xef]);
    const OUTER_SRC: Mac = Mac([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);

    /// A tagged ARP frame: VID 100, PCP 5, DEI set.
    fn tagged() -> Vec<u8> {
        let mut f = VXLAN_ARP[INNER..INNER + 12].to_vec();
        f.extend_from_slice(&[0x81, 0x00, 0xb0, 0x64, 0x08, 0x06]);
        f.extend_from_slice(&VXLAN_ARP[INNER + 14..]);
        f
    }

    #[test]
    fn parses_captured_frame() {
        let f = EthernetFrame::new_checked(VXLAN_ICMP).unwrap();
        assert_eq!(f.dst(), OUTER_DST);
        assert_eq!(f.src(), OUTER_SRC);
        assert_eq!(f.ethertype(), ETHERTYPE_IPV4);
        assert_eq!(f.payload(), &VXLAN_ICMP[14..]);

        let inner = EthernetFrame::new_checked(&VXLAN_ICMP[INNER..]).unwrap();
        assert_eq!(inner.dst(), [0x02, 0x42, 0xac, 0x11, 0x00, 0x03]);
        assert_eq!(inner.src(), [0x02, 0x42, 0xac, 0x11, 0x00, 0x02]);

        let l2 = parse_l2(&VXLAN_ARP[INNER..]).unwrap();
        assert_eq!(l2.dst, crate::wire::BROADCAST_MAC);
        assert_eq!(l2.ethertype, ETHERTYPE_ARP);
        assert_eq!((l2.vlan, l2.l3_offset), (None, 14));
    }

    #[test]
    fn setters_round_trip() {
        let mut buf = VXLAN_ICMP.to_vec();
        let mut f = EthernetFrame::new_checked(&mut buf[..]).unwrap();
        f.set_dst(OUTER_SRC);
        f.set_src(OUTER_DST);
        f.set_ethertype(ETHERTYPE_IPV6);
        f.payload_mut()[0] = 0x60;
        assert_eq!(
            (f.dst(), f.src(), f.ethertype()),
            (OUTER_SRC, OUTER_DST, ETHERTYPE_IPV6)
        );
        assert_eq!(f.into_inner()[14], 0x60);
    }

    #[test]
    fn single_vlan_tag() {
        let f = tagged();
        let l2 = parse_l2(&f).unwrap();
        assert_eq!(
            l2.vlan,
            Some(VlanTag {
                pcp: 5,
                dei: true,
                vid: 100
            })
        );
        assert_eq!((l2.ethertype, l2.l3_offset), (ETHERTYPE_ARP, 18));
        assert_eq!(l2.src, [0x02, 0x42, 0xac, 0x11, 0x00, 0x02]);
        assert_eq!(vlan_tci(5, true, 100), 0xb064);
        assert_eq!(VlanTag::from_tci(0xb064).tci(), 0xb064);
        assert_eq!(vlan_tci(0xff, false, 0xffff), 0xefff);
    }

    #[test]
    fn stacked_tags_are_malformed() {
        let mut f = tagged();
        f[16..18].copy_from_slice(&ETHERTYPE_VLAN.to_be_bytes());
        assert_eq!(parse_l2(&f), Err(WireError::Malformed));
        f[16..18].copy_from_slice(&ETHERTYPE_QINQ.to_be_bytes());
        assert_eq!(parse_l2(&f), Err(WireError::Malformed));
        let mut f = tagged();
        f[12..14].copy_from_slice(&ETHERTYPE_QINQ.to_be_bytes());
        assert_eq!(parse_l2(&f), Err(WireError::Malformed));
    }

    #[test]
    fn truncation() {
        let f = tagged();
        for len in 0..HEADER_LEN {
            assert_eq!(
                EthernetFrame::new_checked(&f[..len]),
                Err(WireError::Truncated)
            );
            assert_eq!(parse_l2(&f[..len]), Err(WireError::Truncated));
        }
        for len in HEADER_LEN..HEADER_LEN + VLAN_TAG_LEN {
            assert!(EthernetFrame::new_checked(&f[..len]).is_ok());
            assert_eq!(parse_l2(&f[..len]), Err(WireError::Truncated));
        }
        assert!(parse_l2(&f[..18]).is_ok());
        let untagged = &VXLAN_ARP[INNER..INNER + 14];
        assert_eq!(parse_l2(untagged).unwrap().l3_offset, 14);
    }
}
