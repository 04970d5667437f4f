//! ICMPv4 (RFC 792): the 8-byte header common to echo, unreachable and
//! time-exceeded messages, and in-place echo replies for pinging the gateway.
//!
//! Bytes 4..8 are read as echo identifier/sequence; for other message types
//! they are the type-specific "rest of header".

use super::ipv4::{checksum, checksum_update, Ipv4Packet, PROTO_ICMP};
use super::{get_u16, put_u16, Result, WireError};
use super::{get_u8, put_u8, tail, tail_mut};

pub const HEADER_LEN: usize = 8;
pub const ECHO_REPLY: u8 = 0;
pub const DEST_UNREACHABLE: u8 = 3;
pub const ECHO_REQUEST: u8 = 8;
pub const TIME_EXCEEDED: u8 = 11;

/// Whether an ICMP type is an error message (never answered with an
/// error: RFC 1812 §4.3.2.7): anything but echo, timestamp, information
/// and address mask requests and replies.
pub fn is_error_type(t: u8) -> bool {
    !matches!(t, 0 | 8 | 13 | 14 | 15 | 16 | 17 | 18)
}

/// TTL of replies the gateway originates.
const REPLY_TTL: u8 = 64;

/// A view of a whole ICMPv4 message (the IPv4 payload).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Icmpv4Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Icmpv4Packet<T> {
    /// Wraps `buffer` without checking: for bytes this process wrote; past
    /// the end of a short buffer reads give zeros and writes are dropped.
    #[inline]
    pub fn new_unchecked(buffer: T) -> Self {
        Icmpv4Packet { buffer }
    }

    /// `Truncated` below 8 bytes.
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Self> {
        if buffer.as_ref().len() < HEADER_LEN {
            return Err(WireError::Truncated);
        }
        Ok(Icmpv4Packet { buffer })
    }

    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    #[inline]
    pub fn msg_type(&self) -> u8 {
        get_u8(self.buffer.as_ref(), 0)
    }

    #[inline]
    pub fn code(&self) -> u8 {
        get_u8(self.buffer.as_ref(), 1)
    }

    #[inline]
    pub fn checksum(&self) -> u16 {
        get_u16(self.buffer.as_ref(), 2)
    }

    #[inline]
    pub fn ident(&self) -> u16 {
        get_u16(self.buffer.as_ref(), 4)
    }

    #[inline]
    pub fn seq_no(&self) -> u16 {
        get_u16(self.buffer.as_ref(), 6)
    }

    /// True if the checksum over the whole buffer (the message) is correct.
    #[inline]
    pub fn verify_checksum(&self) -> bool {
        checksum(self.buffer.as_ref()) == 0
    }

    /// Everything after the 8-byte header.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        tail(self.buffer.as_ref(), HEADER_LEN)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Icmpv4Packet<T> {
    #[inline]
    pub fn set_msg_type(&mut self, t: u8) {
        put_u8(self.buffer.as_mut(), 0, t);
    }

    #[inline]
    pub fn set_code(&mut self, code: u8) {
        put_u8(self.buffer.as_mut(), 1, code);
    }

    #[inline]
    pub fn set_checksum(&mut self, sum: u16) {
        put_u16(self.buffer.as_mut(), 2, sum)
    }

    #[inline]
    pub fn set_ident(&mut self, ident: u16) {
        put_u16(self.buffer.as_mut(), 4, ident)
    }

    #[inline]
    pub fn set_seq_no(&mut self, seq: u16) {
        put_u16(self.buffer.as_mut(), 6, seq)
    }

    /// Recomputes the checksum over the whole buffer.
    #[inline]
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let sum = checksum(self.buffer.as_ref());
        self.set_checksum(sum);
    }

    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        tail_mut(self.buffer.as_mut(), HEADER_LEN)
    }
}

/// Largest IPv4 datagram an ICMP error may make (RFC 1812 §4.3.2.3):
/// the quote is cut to fit.
pub const ERROR_DATAGRAM_MAX: usize = 576;

/// An ICMP error the gateway sends about a packet it routes (RFC 792,
/// RFC 1191 for the next-hop MTU).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IcmpError {
    /// Time Exceeded, TTL exceeded in transit (type 11 code 0).
    TimeExceeded,
    /// Destination Unreachable, net (3/0): no route.
    NetUnreachable,
    /// Destination Unreachable, host (3/1): the neighbour did not answer.
    HostUnreachable,
    /// Destination Unreachable, fragmentation needed and DF set (3/4),
    /// with the next hop's MTU.
    FragNeeded { mtu: u16 },
}

impl IcmpError {
    /// Type and code.
    pub fn type_code(self) -> (u8, u8) {
        match self {
            IcmpError::TimeExceeded => (TIME_EXCEEDED, 0),
            IcmpError::NetUnreachable => (DEST_UNREACHABLE, 0),
            IcmpError::HostUnreachable => (DEST_UNREACHABLE, 1),
            IcmpError::FragNeeded { .. } => (DEST_UNREACHABLE, 4),
        }
    }

    /// Writes the ICMP message (header and `quote`) into `buf` and returns
    /// its length: `quote` is the start of the offending IP packet, cut so
    /// that the error's datagram stays within [`ERROR_DATAGRAM_MAX`].
    /// `buf` must hold `HEADER_LEN + quote.len()` bytes; what does not fit
    /// is left out.
    pub fn emit(self, quote: &[u8], buf: &mut [u8]) -> usize {
        let room = ERROR_DATAGRAM_MAX - super::ipv4::HEADER_LEN - HEADER_LEN;
        let quote = quote.get(..room).unwrap_or(quote);
        let len = (HEADER_LEN + quote.len()).min(buf.len());
        let msg = buf.get_mut(..len).unwrap_or_default();
        let (t, code) = self.type_code();
        let mut icmp = Icmpv4Packet::new_unchecked(&mut *msg);
        icmp.set_msg_type(t);
        icmp.set_code(code);
        icmp.set_checksum(0);
        // Unused, except the next-hop MTU in the low half (RFC 1191).
        let mtu = match self {
            IcmpError::FragNeeded { mtu } => mtu,
            _ => 0,
        };
        icmp.set_ident(0);
        icmp.set_seq_no(mtu);
        for (dst, &src) in icmp.payload_mut().iter_mut().zip(quote) {
            *dst = src;
        }
        icmp.fill_checksum();
        len
    }
}

/// Whether an IPv4 packet is a whole (unfragmented) ICMP echo request
/// with a good ICMP checksum: what the gateway answers.
pub fn is_echo_request(ip_packet: &[u8]) -> bool {
    let Ok(ip) = Ipv4Packet::new_checked(ip_packet) else {
        return false;
    };
    ip.protocol() == PROTO_ICMP
        && !ip.is_fragment()
        && Icmpv4Packet::new_checked(ip.payload())
            .is_ok_and(|icmp| icmp.msg_type() == ECHO_REQUEST && icmp.verify_checksum())
}

/// Rewrites an IPv4 + ICMP echo request in place into its echo reply:
/// addresses swapped, type 0, TTL 64, both checksums fixed.
///
/// The ICMP checksum is updated incrementally, so a request that arrived
/// corrupted yields a reply that still fails verification at the sender.
/// `Malformed` for non-ICMP, fragments or other ICMP types; `Truncated` for
/// short packets. The packet is left untouched on error.
#[inline]
pub fn turn_echo_request_into_reply(ip_packet: &mut [u8]) -> Result<()> {
    let mut ip = Ipv4Packet::new_checked(ip_packet)?;
    if ip.protocol() != PROTO_ICMP || ip.is_fragment() {
        return Err(WireError::Malformed);
    }
    let mut icmp = Icmpv4Packet::new_checked(ip.payload_mut())?;
    if icmp.msg_type() != ECHO_REQUEST {
        return Err(WireError::Malformed);
    }
    let code = u16::from(icmp.code());
    let old_word = u16::from(ECHO_REQUEST) << 8 | code;
    let new_word = u16::from(ECHO_REPLY) << 8 | code;
    icmp.set_msg_type(ECHO_REPLY);
    let mut sum = checksum_update(icmp.checksum(), old_word, new_word);
    if sum == 0 {
        // RFC 1624 §3: eqn. 3 cannot tell the two zeros apart. A message
        // whose other words sum to zero (all-zero echo: id 0, seq 0, no
        // payload) needs 0xffff; only then does a full sum give 0xffff.
        icmp.set_checksum(0);
        if checksum(icmp.buffer) == 0xffff {
            sum = 0xffff;
        }
    }
    icmp.set_checksum(sum);

    let (src, dst) = (ip.src_addr(), ip.dst_addr());
    ip.set_src_addr(dst);
    ip.set_dst_addr(src);
    ip.set_ttl(REPLY_TTL);
    ip.fill_checksum();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::testdata::{VXLAN_ICMP, VXLAN_UDP};
    use super::*;
    use std::net::Ipv4Addr;

    /// The inner IPv4 + ICMP echo request of the capture.
    fn request() -> Vec<u8> {
        VXLAN_ICMP[64..].to_vec()
    }

    #[test]
    fn parses_captured_echo_request() {
        let i = Icmpv4Packet::new_checked(&VXLAN_ICMP[84..]).unwrap();
        assert_eq!(
            (i.msg_type(), i.code(), i.checksum()),
            (ECHO_REQUEST, 0, 0x83cc)
        );
        assert_eq!((i.ident(), i.seq_no()), (10009, 1));
        assert!(i.verify_checksum());
        assert_eq!(i.payload().len(), 56);
    }

    #[test]
    fn truncation() {
        for len in 0..HEADER_LEN {
            assert_eq!(
                Icmpv4Packet::new_checked(&VXLAN_ICMP[84..84 + len]),
                Err(WireError::Truncated)
            );
        }
    }

    #[test]
    fn setters_fill_then_verify() {
        let mut buf = VXLAN_ICMP[84..].to_vec();
        let mut i = Icmpv4Packet::new_checked(&mut buf[..]).unwrap();
        i.set_msg_type(TIME_EXCEEDED);
        i.set_code(1);
        i.set_ident(7);
        i.set_seq_no(9);
        i.payload_mut()[0] = 0;
        assert!(!i.verify_checksum());
        i.fill_checksum();
        assert!(i.verify_checksum());
        assert_eq!(
            (i.msg_type(), i.code(), i.ident(), i.seq_no()),
            (TIME_EXCEEDED, 1, 7, 9)
        );
        // Odd-length message.
        let mut odd = [DEST_UNREACHABLE, 0, 0, 0, 0, 0, 0, 0, 0x45];
        let mut i = Icmpv4Packet::new_checked(&mut odd[..]).unwrap();
        i.fill_checksum();
        assert!(i.verify_checksum());
    }

    #[test]
    fn echo_request_becomes_reply() {
        let mut pkt = request();
        turn_echo_request_into_reply(&mut pkt).unwrap();
        let ip = Ipv4Packet::new_checked(&pkt[..]).unwrap();
        assert_eq!(ip.src_addr(), Ipv4Addr::new(10, 1, 1, 2));
        assert_eq!(ip.dst_addr(), Ipv4Addr::new(10, 1, 1, 1));
        assert_eq!((ip.ttl(), ip.protocol()), (64, PROTO_ICMP));
        assert!(ip.verify_checksum());
        let i = Icmpv4Packet::new_checked(ip.payload()).unwrap();
        assert_eq!(
            (i.msg_type(), i.code(), i.ident(), i.seq_no()),
            (ECHO_REPLY, 0, 10009, 1)
        );
        assert!(i.verify_checksum());
        assert_eq!(i.payload(), &VXLAN_ICMP[92..]);
        // The incremental update matches a full recomputation.
        let mut full = ip.payload().to_vec();
        Icmpv4Packet::new_unchecked(&mut full[..]).fill_checksum();
        assert_eq!(
            i.checksum(),
            Icmpv4Packet::new_unchecked(&full[..]).checksum()
        );
    }

    #[test]
    fn all_zero_echo_gets_checksum_ffff() {
        // Echo request, id 0, seq 0, no payload: checksum !0x0800.
        let icmp = [ECHO_REQUEST, 0, 0xf7, 0xff, 0, 0, 0, 0];
        let mut pkt = vec![0u8; 20];
        let (a, b) = (Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(192, 0, 2, 10));
        crate::wire::Ipv4Repr {
            src: a,
            dst: b,
            protocol: PROTO_ICMP,
            ttl: 64,
            dont_frag: false,
            ident: 1,
            payload_len: icmp.len(),
        }
        .emit(&mut pkt);
        pkt.extend_from_slice(&icmp);
        turn_echo_request_into_reply(&mut pkt).unwrap();
        let i = Icmpv4Packet::new_checked(&pkt[20..]).unwrap();
        assert_eq!((i.msg_type(), i.checksum()), (ECHO_REPLY, 0xffff));
        assert!(i.verify_checksum());
        // A message whose words do sum to 0xffff keeps its 0x0000.
        let mut pkt2 = pkt[..20].to_vec();
        pkt2.extend_from_slice(&[ECHO_REQUEST, 0, 0xf7, 0xff, 0xff, 0xff, 0, 0]);
        Icmpv4Packet::new_unchecked(&mut pkt2[20..]).fill_checksum();
        turn_echo_request_into_reply(&mut pkt2).unwrap();
        let i = Icmpv4Packet::new_checked(&pkt2[20..]).unwrap();
        assert_eq!(i.checksum(), 0x0000);
        assert!(i.verify_checksum());
    }

    #[test]
    fn corrupted_request_keeps_bad_checksum() {
        let mut pkt = request();
        pkt[40] ^= 0x10;
        turn_echo_request_into_reply(&mut pkt).unwrap();
        assert!(!Icmpv4Packet::new_checked(&pkt[20..])
            .unwrap()
            .verify_checksum());
    }

    #[test]
    fn echo_reply_rejects_other_packets() {
        let check = |mut pkt: Vec<u8>, want: WireError| {
            let before = pkt.clone();
            assert_eq!(turn_echo_request_into_reply(&mut pkt), Err(want));
            assert_eq!(pkt, before, "modified on error");
        };
        check(VXLAN_UDP[64..].to_vec(), WireError::Malformed); // UDP
        let mut p = request();
        p[20] = ECHO_REPLY;
        check(p, WireError::Malformed);
        let mut p = request();
        p[6] |= 0x20; // MF
        check(p, WireError::Malformed);
        let mut p = request();
        p[2..4].copy_from_slice(&24u16.to_be_bytes()); // 4 ICMP bytes
        check(p, WireError::Truncated);
        for len in 0..20 {
            check(request()[..len].to_vec(), WireError::Truncated);
        }
    }
}
