//! IGMP as a host speaks it (RFC 2236 version 2, RFC 3376 version 3):
//! membership queries parsed from the underlay, and the reports and leaves
//! the gateway sends for the groups its VNIs use, built as whole frames
//! (Ethernet, IPv4 with the Router Alert option and TTL 1, IGMP).

use super::ipv4::checksum;
use super::{Mac, Result, WireError};
use std::net::Ipv4Addr;

/// IPv4 protocol number of IGMP.
pub const PROTO_IGMP: u8 = 2;
pub const MEMBERSHIP_QUERY: u8 = 0x11;
pub const V2_REPORT: u8 = 0x16;
pub const V2_LEAVE: u8 = 0x17;
pub const V3_REPORT: u8 = 0x22;
/// Where v2 leaves go (RFC 2236 section 3).
pub const ALL_ROUTERS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 2);
/// Where v3 reports go (RFC 3376 section 4.2.14).
pub const V3_ROUTERS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 22);
/// A v1 query carries no maximum response time; hosts use 10 s (RFC 2236 section 4).
const V1_MAX_RESPONSE_MS: u32 = 10_000;

/// Which IGMP version a query came from (RFC 3376 section 7.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueryVersion {
    V1,
    V2,
    V3,
}

/// A membership query, as a host needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Query {
    pub version: QueryVersion,
    /// `None` for a general query.
    pub group: Option<Ipv4Addr>,
    /// The longest a host may wait before answering.
    pub max_response_ms: u32,
    /// The querier's query interval (v3 QQIC), when it says.
    pub query_interval_secs: Option<u32>,
}

/// RFC 3376 section 4.1.1 / 4.1.7: codes from 128 on are a float
/// (`1 | exp(3) | mant(4)`): (mant | 0x10) << (exp + 3).
fn decode_code(code: u8) -> u32 {
    if code < 128 {
        u32::from(code)
    } else {
        (u32::from(code & 0x0f) | 0x10) << (((code >> 4) & 0x07) + 3)
    }
}

/// Parses an IGMP message that should be a membership query (the IPv4
/// payload). Checks its length and checksum.
pub fn parse_query(igmp: &[u8]) -> Result<Query> {
    let (&[kind, code, _, _], rest) = split::<4>(igmp)?;
    if igmp.len() < 8 || (igmp.len() > 8 && igmp.len() < 12) {
        return Err(WireError::Truncated);
    }
    if kind != MEMBERSHIP_QUERY {
        return Err(WireError::Malformed);
    }
    if checksum(igmp) != 0 {
        return Err(WireError::Malformed);
    }
    let (group, rest) = split::<4>(rest)?;
    let group = Ipv4Addr::from(*group);
    let group = (!group.is_unspecified()).then_some(group);
    if igmp.len() == 8 {
        let (version, max_response_ms) = if code == 0 {
            (QueryVersion::V1, V1_MAX_RESPONSE_MS)
        } else {
            (QueryVersion::V2, u32::from(code) * 100)
        };
        return Ok(Query {
            version,
            group,
            max_response_ms,
            query_interval_secs: None,
        });
    }
    // v3: at least 12 bytes; then the sources (which a host answering for
    // "exclude nothing" does not need).
    let (&[_flags_qrv, qqic, _, _], _) = split::<4>(rest)?;
    Ok(Query {
        version: QueryVersion::V3,
        group,
        max_response_ms: decode_code(code) * 100,
        query_interval_secs: Some(decode_code(qqic)).filter(|&s| s > 0),
    })
}

fn split<const N: usize>(b: &[u8]) -> Result<(&[u8; N], &[u8])> {
    let (head, rest) = b.split_at_checked(N).ok_or(WireError::Truncated)?;
    let head = <&[u8; N]>::try_from(head).map_err(|_| WireError::Truncated)?;
    Ok((head, rest))
}

/// IGMPv3 group record types (RFC 3376 section 4.2.12).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum RecordType {
    /// Current state: member, excluding no source (the answer to a query).
    ModeIsExclude = 2,
    /// State change: leave (include no source).
    ChangeToInclude = 3,
    /// State change: join (exclude no source).
    ChangeToExclude = 4,
}

/// One message the gateway sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    V2Report(Ipv4Addr),
    V2Leave(Ipv4Addr),
    /// A v3 report with one record per group (no sources).
    V3Report(Vec<(RecordType, Ipv4Addr)>),
}

impl Message {
    /// The IPv4 destination (RFC 2236 section 3, RFC 3376 section 4.2.14).
    pub fn destination(&self) -> Ipv4Addr {
        match self {
            Message::V2Report(group) => *group,
            Message::V2Leave(_) => ALL_ROUTERS,
            Message::V3Report(_) => V3_ROUTERS,
        }
    }

    /// The IGMP message bytes, checksum filled in.
    pub fn igmp_bytes(&self) -> Vec<u8> {
        let mut m = match self {
            Message::V2Report(group) | Message::V2Leave(group) => {
                let kind = if matches!(self, Message::V2Report(_)) {
                    V2_REPORT
                } else {
                    V2_LEAVE
                };
                let mut m = vec![kind, 0, 0, 0];
                m.extend_from_slice(&group.octets());
                m
            }
            Message::V3Report(records) => {
                let count = u16::try_from(records.len()).unwrap_or(u16::MAX);
                let mut m = vec![V3_REPORT, 0, 0, 0, 0, 0];
                m.extend_from_slice(&count.to_be_bytes());
                for &(kind, group) in records.iter().take(usize::from(count)) {
                    // type, aux data length 0, no sources, the group.
                    m.extend_from_slice(&[kind as u8, 0, 0, 0]);
                    m.extend_from_slice(&group.octets());
                }
                m
            }
        };
        let sum = checksum(&m).to_be_bytes();
        if let Some(field) = m.get_mut(2..4) {
            field.copy_from_slice(&sum);
        }
        m
    }
}

/// The Ethernet address IPv4 multicast `group` maps to (RFC 1112 section
/// 6.4): 01:00:5e and the low 23 bits of the group.
pub fn multicast_mac(group: Ipv4Addr) -> Mac {
    let [_, b, c, d] = group.octets();
    Mac([0x01, 0x00, 0x5e, b & 0x7f, c, d])
}

/// A whole frame carrying `msg` from (`src_mac`, `src_ip`): IPv4 with TTL 1,
/// precedence "internetwork control" and the Router Alert option, so
/// routers look at it (RFC 2236 section 2, RFC 3376 section 4).
pub fn frame(src_mac: Mac, src_ip: Ipv4Addr, ident: u16, msg: &Message) -> Vec<u8> {
    let igmp = msg.igmp_bytes();
    let dst = msg.destination();
    let total = u16::try_from(24 + igmp.len()).unwrap_or(u16::MAX);
    let mut f = Vec::with_capacity(14 + usize::from(total));
    f.extend_from_slice(&multicast_mac(dst).0);
    f.extend_from_slice(&src_mac.0);
    f.extend_from_slice(&0x0800u16.to_be_bytes());
    let mut ip = [0u8; 24];
    ip[0] = 0x46; // version 4, 6 words: one option word
    ip[1] = 0xc0; // precedence 6, internetwork control
    ip[2..4].copy_from_slice(&total.to_be_bytes());
    ip[4..6].copy_from_slice(&ident.to_be_bytes());
    ip[8] = 1; // TTL: never routed
    ip[9] = PROTO_IGMP;
    ip[12..16].copy_from_slice(&src_ip.octets());
    ip[16..20].copy_from_slice(&dst.octets());
    ip[20..24].copy_from_slice(&[0x94, 0x04, 0x00, 0x00]); // Router Alert (RFC 2113)
    let sum = checksum(&ip);
    ip[10..12].copy_from_slice(&sum.to_be_bytes());
    f.extend_from_slice(&ip);
    f.extend_from_slice(&igmp);
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Ipv4Packet;

    fn with_checksum(mut m: Vec<u8>) -> Vec<u8> {
        let sum = checksum(&m);
        m[2..4].copy_from_slice(&sum.to_be_bytes());
        m
    }

    #[test]
    fn queries_of_each_version() {
        let g = Ipv4Addr::new(239, 1, 1, 1);
        let v1 = with_checksum(vec![0x11, 0, 0, 0, 0, 0, 0, 0]);
        let v2 = with_checksum(vec![0x11, 100, 0, 0, 239, 1, 1, 1]);
        let v3 = with_checksum(vec![0x11, 0x8c, 0, 0, 0, 0, 0, 0, 0x02, 125, 0, 0]);
        assert_eq!(
            parse_query(&v1),
            Ok(Query {
                version: QueryVersion::V1,
                group: None,
                max_response_ms: 10_000,
                query_interval_secs: None
            })
        );
        assert_eq!(
            parse_query(&v2),
            Ok(Query {
                version: QueryVersion::V2,
                group: Some(g),
                max_response_ms: 10_000,
                query_interval_secs: None
            })
        );
        // 0x8c: exp 0, mant 12 -> (12 | 16) << 3 = 224 tenths.
        assert_eq!(
            parse_query(&v3),
            Ok(Query {
                version: QueryVersion::V3,
                group: None,
                max_response_ms: 22_400,
                query_interval_secs: Some(125)
            })
        );
    }

    #[test]
    fn bad_queries_are_refused() {
        let mut bad_sum = with_checksum(vec![0x11, 100, 0, 0, 0, 0, 0, 0]);
        bad_sum[1] = 99;
        assert_eq!(parse_query(&bad_sum), Err(WireError::Malformed));
        let report = with_checksum(vec![0x16, 0, 0, 0, 239, 1, 1, 1]);
        assert_eq!(parse_query(&report), Err(WireError::Malformed));
        for len in 0..8 {
            assert_eq!(parse_query(&[0x11; 8][..len]), Err(WireError::Truncated));
        }
        let short_v3 = with_checksum(vec![0x11, 100, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(parse_query(&short_v3), Err(WireError::Truncated));
    }

    #[test]
    fn reports_and_leaves_are_well_formed() {
        let g = Ipv4Addr::new(239, 1, 1, 1);
        let h = Ipv4Addr::new(239, 2, 2, 2);
        let join = Message::V3Report(vec![
            (RecordType::ChangeToExclude, g),
            (RecordType::ChangeToExclude, h),
        ]);
        let b = join.igmp_bytes();
        assert_eq!(b.len(), 8 + 2 * 8);
        assert_eq!((b[0], u16::from_be_bytes([b[6], b[7]])), (0x22, 2));
        assert_eq!(&b[8..16], &[4, 0, 0, 0, 239, 1, 1, 1]);
        assert_eq!(checksum(&b), 0);
        assert_eq!(join.destination(), V3_ROUTERS);
        let leave = Message::V2Leave(g);
        assert_eq!(leave.igmp_bytes()[..2], [0x17, 0]);
        assert_eq!(leave.destination(), ALL_ROUTERS);
        assert_eq!(Message::V2Report(g).destination(), g);
        assert_eq!(checksum(&Message::V2Report(g).igmp_bytes()), 0);
    }

    #[test]
    fn frames_carry_router_alert_and_ttl_1() {
        let g = Ipv4Addr::new(239, 129, 1, 1);
        let src = Ipv4Addr::new(192, 0, 2, 10);
        let f = frame(Mac([2, 0, 0, 0, 0, 1]), src, 7, &Message::V2Report(g));
        assert_eq!(
            &f[..6],
            &[0x01, 0x00, 0x5e, 0x01, 0x01, 0x01],
            "low 23 bits"
        );
        let ip = Ipv4Packet::new_checked(&f[14..]).unwrap();
        assert!(ip.verify_checksum());
        assert_eq!(
            (ip.header_len(), ip.ttl(), ip.protocol()),
            (24, 1, PROTO_IGMP)
        );
        assert_eq!((ip.src_addr(), ip.dst_addr()), (src, g));
        assert_eq!(&f[34..38], &[0x94, 0x04, 0, 0]);
        assert_eq!(checksum(ip.payload()), 0);
    }
}
