//! RFC 791 fragmentation on the routed path: a packet without DF that is
//! larger than the egress interface's MTU leaves as fragments that fit
//! (the L2 path never fragments). Each fragment is a new buffer with the
//! header copied, its length, offset and MF set and its checksum
//! recomputed; the original is consumed. Packets with IP options are not
//! fragmented (RFC 791 copies only some options into later fragments) and
//! are dropped as `frag_needed`.

use super::{Env, Pipeline};
use crate::buf::PacketBuf;
use crate::counters::DropReason;
use crate::io::PortIo;
use crate::wire::ethernet::HEADER_LEN as ETH_LEN;
use crate::wire::ipv4::{checksum, HEADER_LEN as IP_LEN};

/// Splits an IPv4 packet (`ip`: header without options, then payload)
/// into fragments of at most `mtu` bytes: calls `emit(header, chunk)` for
/// each, in order. False (and no call) if it cannot be fragmented: options,
/// a header that lies, a fragment ending past 65535 bytes, or an MTU too
/// small for 8 bytes of payload.
pub(super) fn split(ip: &[u8], mtu: u16, mut emit: impl FnMut(&[u8; IP_LEN], &[u8])) -> bool {
    let Some(header) = ip.get(..IP_LEN) else {
        return false;
    };
    let total = usize::from(u16::from_be_bytes([header[2], header[3]]));
    let step = (usize::from(mtu).saturating_sub(IP_LEN)) / 8 * 8;
    let flags_offset = u16::from_be_bytes([header[6], header[7]]);
    let (more, offset) = (flags_offset & 0x2000 != 0, flags_offset & 0x1fff);
    // A fragment whose end lies past 65535 bytes cannot be reassembled
    // (and its pieces' offsets would not fit 13 bits).
    let end = usize::from(offset) * 8 + total.saturating_sub(IP_LEN);
    if header[0] != 0x45
        || total > ip.len()
        || total <= IP_LEN
        || step == 0
        || end > 0xffff - IP_LEN
    {
        return false;
    }
    let payload = &ip[IP_LEN..total];
    let last = (payload.len() - 1) / step;
    for (k, chunk) in payload.chunks(step).enumerate() {
        let mut h = [0u8; IP_LEN];
        h.copy_from_slice(header);
        h[2..4].copy_from_slice(&((IP_LEN + chunk.len()) as u16).to_be_bytes());
        let units = offset + (k * step / 8) as u16;
        let mf = if k < last || more { 0x2000 } else { 0 };
        h[6..8].copy_from_slice(&(mf | units).to_be_bytes());
        h[10..12].fill(0);
        let sum = checksum(&h);
        h[10..12].copy_from_slice(&sum.to_be_bytes());
        emit(&h, chunk);
    }
    true
}

impl<B: PacketBuf> Pipeline<B> {
    /// Fragments a routed frame for an egress MTU of `mtu`; each fragment
    /// goes on through `next` (neighbour, then out). The frame itself is
    /// consumed, or dropped as `frag_needed` if it cannot be fragmented.
    pub(super) fn fragment<IO: PortIo<Buf = B>>(
        &mut self,
        io: &mut IO,
        env: &Env,
        mtu: u16,
        pkt: B,
        mut next: impl FnMut(&mut Self, &mut IO, &Env, B),
    ) {
        let mut pieces: [Option<B>; MAX_FRAGMENTS] = Default::default();
        let mut n = 0;
        let mut short = false;
        let ok = split(&pkt.data()[ETH_LEN..], mtu, |h, chunk| {
            let Some(slot) = pieces.get_mut(n) else {
                short = true;
                return;
            };
            let Some(mut f) = io.alloc() else {
                short = true;
                return;
            };
            if !f.append(ETH_LEN + IP_LEN + chunk.len()) {
                short = true;
                return;
            }
            let d = f.data_mut();
            d[12..14].copy_from_slice(&pkt.data()[12..14]);
            d[ETH_LEN..ETH_LEN + IP_LEN].copy_from_slice(h);
            d[ETH_LEN + IP_LEN..].copy_from_slice(chunk);
            *slot = Some(f);
            n += 1;
        });
        if !ok || short {
            // Nothing half-sent: the fragments made are freed unsent.
            return self.discard(DropReason::FragNeeded, pkt);
        }
        self.counters.fragmented.inc();
        self.consume();
        drop(pkt);
        for f in pieces.iter_mut().filter_map(Option::take) {
            self.ledger.entered += 1;
            self.counters.fragments_made.inc();
            next(self, io, env, f);
        }
    }
}

/// Fragments one packet may become at most (a 9000-byte packet into a
/// 576-byte MTU needs 17).
const MAX_FRAGMENTS: usize = 24;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ipv4::Ipv4Repr;
    use std::net::Ipv4Addr;

    fn packet(payload: usize, more: bool) -> Vec<u8> {
        let mut p = vec![0u8; IP_LEN + payload];
        Ipv4Repr {
            src: Ipv4Addr::new(203, 0, 113, 1),
            dst: Ipv4Addr::new(198, 51, 100, 2),
            protocol: 17,
            ttl: 63,
            dont_frag: false,
            ident: 0x1234,
            payload_len: payload,
        }
        .emit(&mut p);
        for (i, b) in p[IP_LEN..].iter_mut().enumerate() {
            *b = i as u8;
        }
        if more {
            p[6] |= 0x20;
        }
        p
    }

    #[test]
    fn fragments_fit_the_mtu_and_reassemble_to_the_packet() {
        let ip = packet(1480, false);
        let mut got = Vec::new();
        assert!(split(&ip, 1000, |h, c| got.push((*h, c.to_vec()))));
        assert_eq!(got.len(), 2);
        let (h0, c0) = &got[0];
        assert_eq!(c0.len(), 976, "a multiple of 8 that fits 1000");
        assert_eq!(u16::from_be_bytes([h0[2], h0[3]]), 996);
        assert_eq!(u16::from_be_bytes([h0[6], h0[7]]), 0x2000, "MF, offset 0");
        let (h1, c1) = &got[1];
        assert_eq!(u16::from_be_bytes([h1[6], h1[7]]), 976 / 8, "last: no MF");
        for (h, _) in &got {
            assert_eq!(checksum(h), 0);
            assert_eq!(&h[4..6], &[0x12, 0x34], "same ident");
        }
        assert_eq!([c0.clone(), c1.clone()].concat(), ip[IP_LEN..]);
    }

    #[test]
    fn a_fragment_keeps_its_offset_and_more_fragments_flag() {
        let mut ip = packet(800, true);
        ip[7] = 100; // offset 800 bytes
        ip[10..12].fill(0);
        let sum = checksum(&ip[..IP_LEN]);
        ip[10..12].copy_from_slice(&sum.to_be_bytes());
        let mut got = Vec::new();
        assert!(split(&ip, 500, |h, _| got.push(u16::from_be_bytes([h[6], h[7]]))));
        assert_eq!(got, [0x2000 | 100, 0x2000 | 160]);
    }

    #[test]
    fn options_and_tiny_mtus_are_refused() {
        let mut ip = packet(100, false);
        assert!(!split(&ip, 20, |_, _| {}), "no room for payload");
        ip[0] = 0x46;
        assert!(!split(&ip, 60, |_, _| {}), "options");
    }

    #[test]
    fn a_fragment_ending_past_65535_bytes_is_refused() {
        // Offset 8100 units (64800 bytes) + 800 bytes of payload: past the
        // largest datagram; its pieces' offsets would spill into the flags.
        let mut ip = packet(800, false);
        ip[6..8].copy_from_slice(&8100u16.to_be_bytes());
        assert!(!split(&ip, 500, |_, _| {}));
        // Offset 8089 units (64712 bytes) + 800 ends within the limit.
        ip[6..8].copy_from_slice(&8089u16.to_be_bytes());
        let mut got = Vec::new();
        assert!(split(&ip, 500, |h, _| got.push(u16::from_be_bytes([h[6], h[7]]))));
        assert_eq!(got, [0x2000 | 8089, 8089 + 60]);
    }
}
