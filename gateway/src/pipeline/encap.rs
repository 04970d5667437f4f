//! VXLAN encapsulation (RFC 7348 section 5) over an IPv4 underlay: the
//! tunnel's precomputed outer header ([`RewriteCache`]) is copied in front
//! of the inner frame and fixed up per packet.

use super::{Env, Pipeline};
use crate::buf::PacketBuf;
use crate::counters::DropReason;
use crate::io::PortIo;
use crate::offload;
use crate::snapshot::{Snapshot, VniPlan, UNDERLAY_PORT};
use crate::tables::tunnel::{TunnelState, TunnelTable};
use crate::tables::TunnelId;
use crate::types::{PortId, Vni, VniSlot};
use crate::wire::flow::source_port;
use crate::wire::{
    ethernet::{EthernetFrame, ETHERTYPE_IPV4},
    ipv4::{Ipv4Repr, PROTO_UDP},
    udp::write_udp_header,
    vxlan::write_vxlan_header,
    Mac,
};
use std::net::Ipv4Addr;

/// Bytes VXLAN adds in front of the inner frame: Ethernet 14, IPv4 20, UDP 8, VXLAN 8.
pub const ENCAP_LEN: usize = 50;

/// Bytes the outer IPv4 packet adds to the inner frame (what the underlay MTU must hold).
pub const OUTER_IP_OVERHEAD: usize = 36;

/// The outer headers of one encapsulated frame.
#[derive(Clone, Copy, Debug)]
pub struct Outer {
    pub src_mac: Mac,
    pub dst_mac: Mac,
    pub src_ip: Ipv4Addr,
    pub dst_ip: Ipv4Addr,
    pub src_port: u16,
    pub dst_port: u16,
    pub ttl: u8,
    pub ident: u16,
    pub vni: u32,
}

/// Writes the outer headers into the first [`ENCAP_LEN`] bytes of `frame`,
/// which holds them followed by the inner frame. DF is set and the UDP
/// checksum is zero (allowed for IPv4, RFC 7348 section 5).
pub fn write_outer(frame: &mut [u8], h: &Outer) {
    let inner_len = frame.len() - ENCAP_LEN;
    let mut eth = EthernetFrame::new_unchecked(&mut frame[..14]);
    eth.set_dst(h.dst_mac);
    eth.set_src(h.src_mac);
    eth.set_ethertype(ETHERTYPE_IPV4);
    Ipv4Repr {
        src: h.src_ip,
        dst: h.dst_ip,
        protocol: PROTO_UDP,
        ttl: h.ttl,
        dont_frag: true,
        ident: h.ident,
        payload_len: 8 + 8 + inner_len,
    }
    .emit(&mut frame[14..34]);
    write_udp_header(&mut frame[34..42], h.src_port, h.dst_port, 8 + inner_len);
    write_vxlan_header(&mut frame[42..50], h.vni);
}

/// A tunnel's precomputed outer headers (VPP's "rewrite"): everything but
/// the per-packet fields, with the IPv4 checksum summed over the constant
/// part. [`OuterTemplate::emit`] copies it and fixes up the lengths, the
/// ident, the UDP source port and the VNI, finishing the checksum with two
/// additions instead of summing the whole header again.
#[derive(Clone, Debug)]
pub struct OuterTemplate {
    bytes: [u8; ENCAP_LEN],
    /// One's-complement sum of the header with length, ident and checksum
    /// zero, folded to 16 bits.
    ip_sum: u32,
    /// The remote VTEP (for per-tunnel counters).
    pub vtep: Ipv4Addr,
}

impl OuterTemplate {
    /// The template for frames from (`src_mac`, `src_ip`) to `dst_ip` via the
    /// next hop `dst_mac`, UDP port `dst_port`, TTL `ttl`, DF set.
    pub fn new(
        src_mac: Mac,
        dst_mac: Mac,
        src_ip: Ipv4Addr,
        dst_ip: Ipv4Addr,
        dst_port: u16,
        ttl: u8,
    ) -> Self {
        let mut bytes = [0u8; ENCAP_LEN];
        write_outer(
            &mut bytes,
            &Outer {
                src_mac,
                dst_mac,
                src_ip,
                dst_ip,
                src_port: 0,
                dst_port,
                ttl,
                ident: 0,
                vni: 0,
            },
        );
        // Take the per-packet fields out of the sum: total length (16..18)
        // and the checksum (24..26); ident (18..20) is already zero.
        bytes[16..18].fill(0);
        bytes[24..26].fill(0);
        let ip_sum = u32::from(!crate::wire::checksum(&bytes[14..34]));
        OuterTemplate {
            bytes,
            ip_sum,
            vtep: dst_ip,
        }
    }

    /// Writes the outer headers into `out` (the first [`ENCAP_LEN`] bytes of
    /// a frame whose inner frame is `inner_len` bytes).
    #[inline]
    pub fn emit(
        &self,
        out: &mut [u8; ENCAP_LEN],
        inner_len: usize,
        ident: u16,
        src_port: u16,
        vni: Vni,
    ) {
        *out = self.bytes;
        let ip_len = (20 + 8 + 8 + inner_len) as u16;
        let udp_len = ip_len - 20;
        out[16..18].copy_from_slice(&ip_len.to_be_bytes());
        out[18..20].copy_from_slice(&ident.to_be_bytes());
        // Both addends and the base are below 2^16, so two folds suffice;
        // the result is the same representative (1..=0xffff) as a full
        // recompute, so a header summing to 0xffff gets checksum 0, as RFC
        // 1071 computes it.
        let mut sum = self.ip_sum + u32::from(ip_len) + u32::from(ident);
        sum = (sum & 0xffff) + (sum >> 16);
        sum = (sum & 0xffff) + (sum >> 16);
        out[24..26].copy_from_slice(&(!(sum as u16)).to_be_bytes());
        out[34..36].copy_from_slice(&src_port.to_be_bytes());
        out[38..40].copy_from_slice(&udp_len.to_be_bytes());
        out[46..49].copy_from_slice(&vni.get().to_be_bytes()[1..]);
    }
}

/// One worker's templates, by tunnel id. An entry is rebuilt when the
/// tunnel's state word (next-hop MAC, incarnation) or the snapshot (our
/// address, TTL, port) changed, so a rewrite always matches the snapshot
/// the worker runs and the VTEP the id names now.
pub(crate) struct RewriteCache {
    entries: Vec<Option<(u64, u64, OuterTemplate)>>,
    /// [`TunnelTable::releases`] when the entries were last valid.
    releases: u64,
}

impl RewriteCache {
    pub(crate) fn new(tunnels: usize) -> Self {
        RewriteCache {
            entries: vec![None; tunnels],
            releases: 0,
        }
    }

    /// The template for `tunnel` in state `state` under `snap`; None if the
    /// tunnel is unresolved or free.
    #[inline]
    pub(crate) fn get(
        &mut self,
        tunnels: &TunnelTable,
        tunnel: TunnelId,
        state: TunnelState,
        snap: &Snapshot,
    ) -> Option<&OuterTemplate> {
        let releases = tunnels.releases();
        if releases != self.releases {
            // Rare (a VTEP forgotten): start over rather than trust words
            // whose incarnation may have wrapped.
            self.entries.iter_mut().for_each(|e| *e = None);
            self.releases = releases;
        }
        let entry = self.entries.get_mut(tunnel.index())?;
        let fresh = matches!(entry, Some((w, g, _)) if *w == state.word() && *g == snap.generation);
        if !fresh {
            *entry = Some((
                state.word(),
                snap.generation,
                build(tunnels, tunnel, state, snap)?,
            ));
        }
        entry.as_ref().map(|(_, _, t)| t)
    }
}

impl<B: PacketBuf> Pipeline<B> {
    /// Encapsulates an untagged frame of VNI `vni` into `tunnel`; `hash`
    /// is its flow hash.
    pub(super) fn encap_to<IO: PortIo<Buf = B>>(
        &mut self,
        io: &mut IO,
        env: &Env,
        vni: Vni,
        tunnel: TunnelId,
        hash: u32,
        mut pkt: B,
    ) {
        let u = &env.snap.underlay;
        let tunnels = &*self.shared.tunnels;
        let state = tunnels.state(tunnel);
        let Some(rewrite) = self.rewrites.get(tunnels, tunnel, state, env.snap) else {
            return self.discard(DropReason::VtepUnresolved, pkt);
        };
        let inner_len = pkt.len();
        if inner_len + OUTER_IP_OVERHEAD > usize::from(u.mtu) {
            return self.discard(DropReason::MtuExceeded, pkt);
        }
        tunnels.touch(tunnel, env.now);
        if !pkt.prepend(ENCAP_LEN) {
            return self.discard(DropReason::NoHeadroom, pkt);
        }
        self.ip_ident = self.ip_ident.wrapping_add(1);
        let sport = source_port(hash, u.src_port_min, u.src_port_max);
        let vtep = rewrite.vtep;
        if let Some(out) = pkt.data_mut().first_chunk_mut::<ENCAP_LEN>() {
            rewrite.emit(out, inner_len, self.ip_ident, sport, vni);
        }
        offload::offload_outer_ipv4_cksum(io.offloads(UNDERLAY_PORT), &mut pkt);
        self.count_tunnel_tx(tunnel, vtep, pkt.len());
        self.send(io, UNDERLAY_PORT, pkt);
    }

    /// Encapsulates one frame from physical port `ingress` to one VTEP,
    /// counting it for the VNI.
    // The inputs are all distinct and hot; a struct would only rename them.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn encap_unicast<IO: PortIo<Buf = B>>(
        &mut self,
        io: &mut IO,
        env: &Env,
        slot: VniSlot,
        vni: &VniPlan,
        tunnel: TunnelId,
        ingress: PortId,
        pkt: B,
    ) {
        self.count_encap(slot, pkt.len());
        let hash = offload::flow_hash(
            io.offloads(ingress),
            ingress == UNDERLAY_PORT,
            &pkt,
            vni.vni.get(),
        );
        self.encap_to(io, env, vni.vni, tunnel, hash, pkt);
    }
}

#[cold]
fn build(
    tunnels: &TunnelTable,
    tunnel: TunnelId,
    state: TunnelState,
    snap: &Snapshot,
) -> Option<OuterTemplate> {
    let mac = state.mac()?;
    let vtep = tunnels.addr(tunnel)?.v4()?;
    // The address must belong to the state we saw (the id may just have
    // been handed to another VTEP); a mismatch waits for the next packet.
    if tunnels.state(tunnel) != state {
        return None;
    }
    let u = &snap.underlay;
    Some(OuterTemplate::new(
        u.mac, mac, u.ip, vtep, u.udp_port, u.ttl,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cached_rewrite_never_outlives_its_tunnel_even_when_the_incarnation_wraps() {
        use crate::tables::tunnel::TunnelWriter;
        let config = vtepgw_config::Config::from_toml_str(crate::testkit::CONFIG).unwrap();
        let snap = Snapshot::build(&config, &[Mac([2, 0, 0, 0, 0, 0x10]); 3], None, 1).unwrap();
        let (table, mut writer) = TunnelWriter::new(1); // one id: every intern reuses it
        let (a, z) = (Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(192, 0, 2, 99));
        let mac = Mac([2, 0, 0, 0, 0x0a, 1]);
        let id = writer.intern(a.into(), 0).unwrap();
        writer.set_mac(id, Some(mac));
        let state = table.state(id);
        let mut cache = RewriteCache::new(1);
        assert_eq!(cache.get(&table, id, state, &snap).unwrap().vtep, a);
        // 2^15 reuses of the id bring its state word back to the same value.
        for _ in 0..1 << 15 {
            assert!(writer.release(id));
            assert_eq!(writer.intern(z.into(), 0).unwrap(), id);
        }
        writer.set_mac(id, Some(mac));
        assert_eq!(table.state(id), state, "the same word, another VTEP");
        let t = cache.get(&table, id, table.state(id), &snap).unwrap();
        assert_eq!(t.vtep, z, "rebuilt for the VTEP that holds the id now");
        let mut hdr = [0u8; ENCAP_LEN];
        t.emit(&mut hdr, 60, 1, 50000, Vni::new(100).unwrap());
        assert_eq!(&hdr[30..34], &z.octets());
    }

    #[test]
    fn template_and_fix_ups_equal_a_full_write() {
        let src = Ipv4Addr::new(192, 0, 2, 10);
        let cases = [
            (Ipv4Addr::new(192, 0, 2, 1), 64),
            (Ipv4Addr::new(255, 255, 255, 254), 255),
            (Ipv4Addr::new(0, 0, 0, 1), 1),
            (Ipv4Addr::new(10, 255, 0, 0), 0),
        ];
        for (dst, ttl) in cases {
            let t =
                OuterTemplate::new(Mac([2, 0, 0, 0, 0, 1]), Mac([0xfe; 6]), src, dst, 4789, ttl);
            for inner_len in (14..1600).step_by(7).chain([14, 1500, 9000, 65000 - 50]) {
                for ident in (0..=u16::MAX).step_by(997).chain([0, 1, 0xfffe, 0xffff]) {
                    let (sport, vni) = (49152 + (ident % 1000), 0xab_cdef ^ u32::from(ident));
                    let mut fast = [0u8; ENCAP_LEN];
                    t.emit(
                        &mut fast,
                        inner_len,
                        ident,
                        sport,
                        Vni::new(vni & 0xff_ffff).unwrap(),
                    );
                    let mut full = vec![0u8; ENCAP_LEN + inner_len];
                    let outer = Outer {
                        src_mac: Mac([2, 0, 0, 0, 0, 1]),
                        dst_mac: Mac([0xfe; 6]),
                        src_ip: src,
                        dst_ip: dst,
                        src_port: sport,
                        dst_port: 4789,
                        ttl,
                        ident,
                        vni: vni & 0xff_ffff,
                    };
                    write_outer(&mut full, &outer);
                    assert_eq!(
                        fast[..],
                        full[..ENCAP_LEN],
                        "{dst} len {inner_len} ident {ident}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_ones_complement_edge_matches_a_full_recompute() {
        // Find idents that make the header sum 0xffff (checksum 0x0000)
        // and 0xfffe, for a few lengths, and compare with the full checksum.
        let t = OuterTemplate::new(
            Mac([2, 0, 0, 0, 0, 1]),
            Mac([2, 0, 0, 0, 0, 2]),
            Ipv4Addr::new(192, 0, 2, 10),
            Ipv4Addr::new(192, 0, 2, 1),
            4789,
            64,
        );
        let mut found_zero = false;
        for inner_len in [14usize, 60, 1450] {
            for ident in 0..=u16::MAX {
                let mut out = [0u8; ENCAP_LEN];
                t.emit(&mut out, inner_len, ident, 50000, Vni::new(100).unwrap());
                let mut recomputed = out;
                recomputed[24..26].fill(0);
                let sum = crate::wire::checksum(&recomputed[14..34]);
                assert_eq!(
                    out[24..26],
                    sum.to_be_bytes(),
                    "len {inner_len} ident {ident}"
                );
                assert_eq!(crate::wire::checksum(&out[14..34]), 0);
                found_zero |= out[24..26] == [0, 0];
            }
        }
        assert!(found_zero, "some ident yields checksum 0");
    }
}
