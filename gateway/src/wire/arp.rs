//! ARP (RFC 826) for Ethernet hardware and IPv4 protocol addresses only.
//!
//! The gateway answers ARP for its own addresses. `new_checked` rejects any
//! other hardware/protocol combination as `Malformed`, so the fixed 28-byte
//! layout below is the only one the accessors ever see.

use std::net::Ipv4Addr;

use super::ethernet::{parse_l2, EthernetFrame, ETHERTYPE_ARP};
use super::{
    get_ipv4, get_mac, get_u16, head_mut, put_bytes, put_ipv4, put_mac, put_u16, Mac, Result,
    WireError,
};

/// Length of an Ethernet/IPv4 ARP body.
pub const ARP_LEN: usize = 28;
pub const ARP_REQUEST: u16 = 1;
pub const ARP_REPLY: u16 = 2;

/// htype, ptype, hlen, plen for Ethernet/IPv4.
const FIXED_HEAD: [u8; 6] = [0, 1, 0x08, 0x00, 6, 4];

/// A view of an Ethernet/IPv4 ARP packet (the body after the Ethernet header).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> ArpPacket<T> {
    /// Wraps `buffer` without checking: for bytes this process wrote; past
    /// the end of a short buffer reads give zeros and writes are dropped.
    #[inline]
    pub fn new_unchecked(buffer: T) -> Self {
        ArpPacket { buffer }
    }

    /// `Truncated` below 28 bytes; `Malformed` unless htype 1, ptype 0x0800,
    /// hlen 6, plen 4.
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Self> {
        let b = buffer.as_ref();
        if b.len() < ARP_LEN {
            return Err(WireError::Truncated);
        }
        if b.get(..6) != Some(&FIXED_HEAD[..]) {
            return Err(WireError::Malformed);
        }
        Ok(ArpPacket { buffer })
    }

    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    #[inline]
    pub fn htype(&self) -> u16 {
        get_u16(self.buffer.as_ref(), 0)
    }

    #[inline]
    pub fn ptype(&self) -> u16 {
        get_u16(self.buffer.as_ref(), 2)
    }

    #[inline]
    pub fn operation(&self) -> u16 {
        get_u16(self.buffer.as_ref(), 6)
    }

    #[inline]
    pub fn sender_mac(&self) -> Mac {
        get_mac(self.buffer.as_ref(), 8)
    }

    #[inline]
    pub fn sender_ip(&self) -> Ipv4Addr {
        get_ipv4(self.buffer.as_ref(), 14)
    }

    #[inline]
    pub fn target_mac(&self) -> Mac {
        get_mac(self.buffer.as_ref(), 18)
    }

    #[inline]
    pub fn target_ip(&self) -> Ipv4Addr {
        get_ipv4(self.buffer.as_ref(), 24)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> ArpPacket<T> {
    /// Writes htype/ptype/hlen/plen for Ethernet/IPv4.
    #[inline]
    pub fn set_fixed_fields(&mut self) {
        put_bytes(self.buffer.as_mut(), 0, &FIXED_HEAD);
    }

    #[inline]
    pub fn set_operation(&mut self, op: u16) {
        put_u16(self.buffer.as_mut(), 6, op)
    }

    #[inline]
    pub fn set_sender_mac(&mut self, mac: Mac) {
        put_mac(self.buffer.as_mut(), 8, mac)
    }

    #[inline]
    pub fn set_sender_ip(&mut self, ip: Ipv4Addr) {
        put_ipv4(self.buffer.as_mut(), 14, ip)
    }

    #[inline]
    pub fn set_target_mac(&mut self, mac: Mac) {
        put_mac(self.buffer.as_mut(), 18, mac)
    }

    #[inline]
    pub fn set_target_ip(&mut self, ip: Ipv4Addr) {
        put_ipv4(self.buffer.as_mut(), 24, ip)
    }
}

/// An Ethernet/IPv4 ARP message, as smoltcp's `ArpRepr`: the fields a
/// builder names instead of passing them by position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArpRepr {
    pub op: u16,
    pub sender_mac: Mac,
    pub sender_ip: Ipv4Addr,
    pub target_mac: Mac,
    pub target_ip: Ipv4Addr,
}

impl ArpRepr {
    /// Writes the complete 28-byte ARP body into `buf[..28]`.
    ///
    /// # Panics
    /// If `buf` is shorter than [`ARP_LEN`].
    #[inline]
    pub fn emit(&self, buf: &mut [u8]) {
        let mut p = ArpPacket::new_unchecked(&mut head_mut::<ARP_LEN>(buf)[..]);
        p.set_fixed_fields();
        p.set_operation(self.op);
        p.set_sender_mac(self.sender_mac);
        p.set_sender_ip(self.sender_ip);
        p.set_target_mac(self.target_mac);
        p.set_target_ip(self.target_ip);
    }
}

/// A broadcast Ethernet frame carrying an ARP request for `target` from
/// (`mac`, `ip`): the underlay's next-hop resolution and the L3 gateway's
/// neighbour resolution both send this.
pub fn request_frame(
    mac: Mac,
    ip: Ipv4Addr,
    target: Ipv4Addr,
) -> [u8; super::ethernet::HEADER_LEN + ARP_LEN] {
    let mut frame = [0u8; super::ethernet::HEADER_LEN + ARP_LEN];
    let (eth, arp) = frame.split_at_mut(super::ethernet::HEADER_LEN);
    let mut eth = EthernetFrame::new_unchecked(eth);
    eth.set_dst(super::BROADCAST_MAC);
    eth.set_src(mac);
    eth.set_ethertype(ETHERTYPE_ARP);
    ArpRepr {
        op: ARP_REQUEST,
        sender_mac: mac,
        sender_ip: ip,
        target_mac: Mac::ZERO,
        target_ip: target,
    }
    .emit(arp);
    frame
}

/// Rewrites a whole Ethernet (+ optional 802.1Q tag) + ARP request frame in
/// place into the reply from `our_mac`: the requested IP becomes the sender,
/// the requester becomes the target and the Ethernet destination.
///
/// `Malformed` if the frame is not an ARP request; `Truncated` if short.
/// The frame is left untouched on error.
#[inline]
pub fn turn_request_into_reply(frame: &mut [u8], our_mac: Mac) -> Result<()> {
    let l2 = parse_l2(frame)?;
    if l2.ethertype != ETHERTYPE_ARP {
        return Err(WireError::Malformed);
    }
    let (eth, body) = frame.split_at_mut(l2.l3_offset);
    let mut arp = ArpPacket::new_checked(body)?;
    if arp.operation() != ARP_REQUEST {
        return Err(WireError::Malformed);
    }
    let requester_mac = arp.sender_mac();
    let requester_ip = arp.sender_ip();
    let wanted_ip = arp.target_ip();
    arp.set_operation(ARP_REPLY);
    arp.set_sender_mac(our_mac);
    arp.set_sender_ip(wanted_ip);
    arp.set_target_mac(requester_mac);
    arp.set_target_ip(requester_ip);
    let mut eth = EthernetFrame::new_unchecked(eth);
    eth.set_dst(requester_mac);
    eth.set_src(our_mac);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::testdata::{INNER, VXLAN_ARP, VXLAN_ICMP};
    use super::super::{Mac, BROADCAST_MAC};
    use super::*;

    const REQUESTER: Mac = Mac([0x02, 0x42, 0xac, 0x11, 0x00, 0x02]);
    const OURS: Mac = Mac([0x02, 0x00, 0x5e, 0x00, 0x01, 0x01]);

    #[test]
    fn parses_captured_request() {
        assert_eq!(parse_l2(&VXLAN_ARP[INNER..]).unwrap().dst, BROADCAST_MAC);
        let a = ArpPacket::new_checked(&VXLAN_ARP[INNER + 14..]).unwrap();
        assert_eq!((a.htype(), a.ptype()), (1, 0x0800));
        assert_eq!(a.operation(), ARP_REQUEST);
        assert_eq!(a.sender_mac(), REQUESTER);
        assert_eq!(a.sender_ip(), Ipv4Addr::new(10, 1, 1, 1));
        assert_eq!(a.target_mac(), [0; 6]);
        assert_eq!(a.target_ip(), Ipv4Addr::new(10, 1, 1, 2));
    }

    #[test]
    fn rejects_bad_fixed_fields_and_truncation() {
        let body = &VXLAN_ARP[INNER + 14..];
        for len in 0..ARP_LEN {
            assert_eq!(
                ArpPacket::new_checked(&body[..len]),
                Err(WireError::Truncated)
            );
        }
        // htype, ptype (two bytes each), hlen, plen.
        for (at, val) in [(1, 6), (0, 1), (2, 0x86), (3, 0xdd), (4, 8), (5, 16)] {
            let mut b = body.to_vec();
            b[at] = val;
            assert_eq!(
                ArpPacket::new_checked(&b[..]),
                Err(WireError::Malformed),
                "byte {at}"
            );
        }
    }

    #[test]
    fn build_then_parse() {
        let mut buf = [0xaau8; 30];
        let (sip, tip) = (Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(192, 0, 2, 9));
        ArpRepr {
            op: ARP_REPLY,
            sender_mac: OURS,
            sender_ip: sip,
            target_mac: REQUESTER,
            target_ip: tip,
        }
        .emit(&mut buf);
        assert_eq!(buf[28..], [0xaa, 0xaa]);
        let a = ArpPacket::new_checked(&buf[..]).unwrap();
        assert_eq!(a.operation(), ARP_REPLY);
        assert_eq!((a.sender_mac(), a.sender_ip()), (OURS, sip));
        assert_eq!((a.target_mac(), a.target_ip()), (REQUESTER, tip));
    }

    #[test]
    fn request_becomes_reply() {
        let mut frame = VXLAN_ARP[INNER..].to_vec();
        turn_request_into_reply(&mut frame, OURS).unwrap();
        let l2 = parse_l2(&frame).unwrap();
        assert_eq!(
            (l2.dst, l2.src, l2.ethertype),
            (REQUESTER, OURS, ETHERTYPE_ARP)
        );
        let a = ArpPacket::new_checked(&frame[14..]).unwrap();
        assert_eq!(a.operation(), ARP_REPLY);
        assert_eq!(
            (a.sender_mac(), a.sender_ip()),
            (OURS, Ipv4Addr::new(10, 1, 1, 2))
        );
        assert_eq!(
            (a.target_mac(), a.target_ip()),
            (REQUESTER, Ipv4Addr::new(10, 1, 1, 1))
        );
        // A reply is not a request: refused, frame untouched.
        let before = frame.clone();
        assert_eq!(
            turn_request_into_reply(&mut frame, OURS),
            Err(WireError::Malformed)
        );
        assert_eq!(frame, before);
    }

    #[test]
    fn reply_rejects_non_arp_and_short() {
        let mut ip = VXLAN_ICMP[INNER..].to_vec();
        assert_eq!(
            turn_request_into_reply(&mut ip, OURS),
            Err(WireError::Malformed)
        );
        for len in 0..14 + ARP_LEN {
            let mut f = VXLAN_ARP[INNER..INNER + len].to_vec();
            assert_eq!(
                turn_request_into_reply(&mut f, OURS),
                Err(WireError::Truncated)
            );
        }
    }
}
