//! ICMP errors about routed packets (RFC 1812 §4.3.2): time exceeded,
//! unreachable (net, host) and fragmentation needed. Each quotes the start
//! of the offending packet, comes from the gateway address of the
//! interface that packet came in on, is routed back like any packet, and
//! passes a per-worker token bucket (`[icmp]`). None is sent about an ICMP
//! error, a non-initial fragment, or a packet from or to an address that
//! is not one host's (RFC 1812 §4.3.2.7).

use super::{Env, Pipeline};
use crate::buf::PacketBuf;
use crate::counters::DropReason;
use crate::io::{copy_into_new, PortIo};
use crate::l3::GatewayPlan;
use crate::wire::ethernet::{ETHERTYPE_IPV4, HEADER_LEN as ETH_LEN};
use crate::wire::icmpv4::{is_error_type, IcmpError, ERROR_DATAGRAM_MAX};
use crate::wire::ipv4::{Ipv4Packet, Ipv4Repr, HEADER_LEN as IP_LEN, PROTO_ICMP};
use std::net::Ipv4Addr;

/// TTL of the errors the gateway sends.
const ERROR_TTL: u8 = 64;

/// The `[icmp]` token bucket, in thousandths of a token.
#[derive(Default)]
pub(super) struct TokenBucket {
    milli_tokens: u64,
    last_ms: u64,
    started: bool,
}

impl TokenBucket {
    /// Takes a token if there is one: `rate_per_sec` come back every
    /// second, up to `burst`; the bucket starts full.
    pub(super) fn take(&mut self, now_ms: u64, rate_per_sec: u32, burst: u32) -> bool {
        let full = u64::from(burst) * 1000;
        if !self.started {
            (self.started, self.milli_tokens, self.last_ms) = (true, full, now_ms);
        }
        let elapsed = now_ms.saturating_sub(self.last_ms);
        self.last_ms = now_ms;
        self.milli_tokens = (self.milli_tokens + elapsed * u64::from(rate_per_sec)).min(full);
        if rate_per_sec > 0 && self.milli_tokens >= 1000 {
            self.milli_tokens -= 1000;
            true
        } else {
            false
        }
    }
}

/// Whether an address is one host's: a source an error may go back to.
fn is_host(ip: Ipv4Addr) -> bool {
    !(ip.is_unspecified() || ip.is_multicast() || ip.is_broadcast() || ip.is_loopback())
}

/// The error's metric label.
pub fn label(e: IcmpError) -> &'static str {
    match e {
        IcmpError::TimeExceeded => "time_exceeded",
        IcmpError::NetUnreachable => "net_unreachable",
        IcmpError::HostUnreachable => "host_unreachable",
        IcmpError::FragNeeded { .. } => "frag_needed",
    }
}

/// Index of an error's counter in `WorkerCounters::icmp_errors`.
pub fn index(e: IcmpError) -> usize {
    match e {
        IcmpError::TimeExceeded => 0,
        IcmpError::NetUnreachable => 1,
        IcmpError::HostUnreachable => 2,
        IcmpError::FragNeeded { .. } => 3,
    }
}

/// Every error kind, in counter order (the MTU is only a placeholder).
pub const ALL: [IcmpError; 4] = [
    IcmpError::TimeExceeded,
    IcmpError::NetUnreachable,
    IcmpError::HostUnreachable,
    IcmpError::FragNeeded { mtu: 0 },
];

impl<B: PacketBuf> Pipeline<B> {
    /// Sends `error` about the routed frame `frame` (Ethernet + IPv4) that
    /// came in on `from`'s interface, if the rules and the bucket allow.
    pub(super) fn icmp_error<IO: PortIo<Buf = B>>(
        &mut self,
        io: &mut IO,
        env: &Env,
        from: GatewayPlan,
        error: IcmpError,
        frame: &[u8],
    ) {
        let Some(orig) = frame.get(ETH_LEN..) else {
            return;
        };
        let Ok(ip) = Ipv4Packet::new_checked(orig) else {
            return;
        };
        let about_error =
            ip.protocol() == PROTO_ICMP && ip.payload().first().is_none_or(|&t| is_error_type(t));
        if about_error
            || ip.frag_offset() != 0
            || !is_host(ip.src_addr())
            || !is_host(ip.dst_addr())
        {
            return;
        }
        let icmp = &env.snap.l3.icmp;
        let now_ms = self.shared.clock.coarse_ms();
        if !self.icmp_bucket.take(now_ms, icmp.rate_per_sec, icmp.burst) {
            self.counters.icmp_errors_limited.inc();
            return;
        }
        let dst = ip.src_addr();
        let quote = orig.get(..usize::from(ip.total_len())).unwrap_or(orig);
        let mut out = [0u8; ETH_LEN + ERROR_DATAGRAM_MAX];
        out[12..14].copy_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
        let icmp_len = error.emit(quote, &mut out[ETH_LEN + IP_LEN..]);
        self.ip_ident = self.ip_ident.wrapping_add(1);
        Ipv4Repr {
            src: from.ip,
            dst,
            protocol: PROTO_ICMP,
            ttl: ERROR_TTL,
            dont_frag: false,
            ident: self.ip_ident,
            payload_len: icmp_len,
        }
        .emit(&mut out[ETH_LEN..]);
        self.ledger.entered += 1;
        let Some(pkt) = copy_into_new(io, &out[..ETH_LEN + IP_LEN + icmp_len]) else {
            return self.drop_packet(DropReason::NoMbuf);
        };
        let Some(hop) = env.snap.l3.routes.lookup_v4(from.vrf, dst) else {
            return self.discard(DropReason::NoRoute, pkt);
        };
        self.counters.icmp_errors[index(error)].inc();
        self.route_out(io, env, hop, dst, None, pkt, false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_starts_full_refills_at_its_rate_and_zero_sends_nothing() {
        let mut b = TokenBucket::default();
        assert!((0..3).all(|_| b.take(1000, 10, 3)), "a burst of 3");
        assert!(!b.take(1000, 10, 3), "then empty");
        assert!(!b.take(1050, 10, 3), "half a token after 50 ms");
        assert!(b.take(1100, 10, 3), "one after 100 ms at 10/s");
        assert!(b.take(10_000, 10, 3) && b.take(10_000, 10, 3) && b.take(10_000, 10, 3));
        assert!(!b.take(10_000, 10, 3), "never more than the burst");
        let mut off = TokenBucket::default();
        assert!(!off.take(5, 0, 50), "rate 0: no errors at all");
    }

    #[test]
    fn errors_quote_the_packet_and_carry_the_next_hop_mtu() {
        let quote = [0x45u8; 60];
        let mut buf = [0u8; 600];
        let n = IcmpError::FragNeeded { mtu: 1400 }.emit(&quote, &mut buf);
        assert_eq!(n, 8 + 60);
        assert_eq!(&buf[..2], &[3, 4]);
        assert_eq!(&buf[6..8], &1400u16.to_be_bytes());
        assert_eq!(&buf[8..68], &quote[..]);
        assert_eq!(crate::wire::checksum(&buf[..n]), 0);
        // A long packet is cut so that the error stays within 576 bytes.
        let long = [0u8; 1500];
        let n = IcmpError::TimeExceeded.emit(&long, &mut buf);
        assert_eq!(n, 576 - 20);
        assert_eq!(&buf[..2], &[11, 0]);
    }
}
