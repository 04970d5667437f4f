//! Multicast core replication on the packet path: BUM of a VNI with a
//! group leaves as one VXLAN copy to the group (the group's ready outer
//! header, no ARP), and IGMP membership queries from the underlay go up to
//! the control thread's IGMP host. Decapsulation from a group is
//! [`super::decap`]'s, with the group checks of [`Pipeline::group_of`].

use super::{Env, Pipeline};
use crate::buf::PacketBuf;
use crate::counters::DropReason;
use crate::events::Event;
use crate::groups::GroupPlan;
use crate::io::PortIo;
use crate::offload;
use crate::pipeline::encap::{ENCAP_LEN, OUTER_IP_OVERHEAD};
use crate::snapshot::UNDERLAY_PORT;
use crate::types::Vni;
use crate::wire::ethernet::HEADER_LEN as ETH_LEN;
use crate::wire::flow::source_port;
use crate::wire::igmp::parse_query;
use crate::wire::ipv4::Ipv4Packet;
use std::net::Ipv4Addr;

/// Queries passed up per worker per second at most: a querier sends one
/// every few seconds, so more is a storm that must not crowd out learning.
const IGMP_QUERIES_PER_SEC: u8 = 16;

/// Where general queries go.
const ALL_HOSTS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 1);

impl<B: PacketBuf> Pipeline<B> {
    /// Encapsulates a BUM frame of VNI `vni` to its group `g`; `hash` is
    /// its flow hash (the UDP source port spreads flows as for unicast).
    pub(super) fn encap_to_group<IO: PortIo<Buf = B>>(
        &mut self,
        io: &mut IO,
        env: &Env,
        vni: Vni,
        g: &GroupPlan,
        hash: u32,
        mut pkt: B,
    ) {
        let u = &env.snap.underlay;
        let inner_len = pkt.len();
        if inner_len + OUTER_IP_OVERHEAD > usize::from(u.mtu) {
            return self.discard(DropReason::MtuExceeded, pkt);
        }
        if !pkt.prepend(ENCAP_LEN) {
            return self.discard(DropReason::NoHeadroom, pkt);
        }
        self.ip_ident = self.ip_ident.wrapping_add(1);
        let sport = source_port(hash, u.src_port_min, u.src_port_max);
        if let Some(out) = pkt.data_mut().first_chunk_mut::<ENCAP_LEN>() {
            g.outer.emit(out, inner_len, self.ip_ident, sport, vni);
        }
        offload::offload_outer_ipv4_cksum(io.offloads(UNDERLAY_PORT), &mut pkt);
        self.count_group_tx((g.counter, g.addr), pkt.len());
        self.send(io, UNDERLAY_PORT, pkt);
    }

    /// The group a VXLAN frame to `dst` (outer destination MAC `dst_mac`,
    /// source `src`) came to: one of ours, to its mapped MAC, not from us.
    #[inline]
    pub(super) fn group_of<'s>(
        env: &'s Env,
        dst_mac: &[u8],
        dst: Ipv4Addr,
        src: Ipv4Addr,
    ) -> Result<&'s GroupPlan, DropReason> {
        let g = env.snap.group(dst).ok_or(DropReason::NotOurGroup)?;
        if g.mac.0[..] != *dst_mac {
            return Err(DropReason::NotOurGroup);
        }
        if src == env.snap.underlay.ip {
            return Err(DropReason::OwnSource);
        }
        Ok(g)
    }

    /// An IGMP packet to a multicast MAC we receive: a valid membership
    /// query to all hosts or to one of our groups goes to the control
    /// thread (at most [`IGMP_QUERIES_PER_SEC`] a second); the rest, such
    /// as other hosts' reports, is dropped.
    pub(super) fn igmp(&mut self, env: &Env, pkt: B) {
        let query = Ipv4Packet::new_checked(&pkt.data()[ETH_LEN..])
            .ok()
            .filter(|ip| ip.verify_checksum() && !ip.is_fragment())
            .filter(|ip| ip.dst_addr() == ALL_HOSTS || env.snap.group(ip.dst_addr()).is_some())
            .and_then(|ip| parse_query(ip.payload()).ok());
        let Some(query) = query else {
            return self.discard(DropReason::IgmpIgnored, pkt);
        };
        let (sec, count) = &mut self.igmp_budget;
        if *sec != env.now {
            (*sec, *count) = (env.now, 0);
        }
        if *count >= IGMP_QUERIES_PER_SEC {
            return self.discard(DropReason::IgmpIgnored, pkt);
        }
        *count += 1;
        self.counters.igmp_queries.inc();
        if self.events.try_send(Event::IgmpQuery(query)).is_err() {
            self.counters.events_lost.inc();
        }
        self.consume();
    }
}

#[cfg(test)]
#[path = "mcast_tests.rs"]
mod tests;
