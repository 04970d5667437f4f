//! Packets waiting for a neighbour: a routed packet whose next hop has no
//! MAC yet is held (at most `neighbour.queue_len` per neighbour, as Linux's
//! `unres_qlen`) while this worker asks for it: an ARP request from the
//! gateway address, flooded into the egress VNI (ports and VTEPs), again
//! every `retry_interval_ms` up to `retries` times. When the neighbour
//! table has the MAC (whichever worker heard the reply, through the
//! control thread), the packets go on; when the tries run out, they are
//! dropped as `neighbour_unresolved`. So the first ping is not lost.
//!
//! The waiting list is a fixed set of entries whose packet queues are
//! reserved once: holding allocates nothing.

use super::flood::FloodScope;
use super::{Env, Pipeline};
use crate::buf::PacketBuf;
use crate::counters::DropReason;
use crate::io::{copy_into_new, PortIo};
use crate::l3::{Attach, GatewayPlan, IfaceId, IfacePlan};
use crate::types::VniSlot;
use crate::wire::arp::request_frame;
use crate::wire::icmpv4::IcmpError;
use crate::wire::Mac;
use std::net::Ipv4Addr;

/// Neighbours one worker resolves at once; more are dropped as
/// `neighbour_queue_full` until one resolves or fails.
pub(super) const MAX_WAITING: usize = 32;
/// Packets held per neighbour at most (the config allows up to this).
const MAX_HELD: usize = 64;

/// One neighbour being resolved and its packets.
struct Waiting<B> {
    active: bool,
    iface: IfaceId,
    /// What the interface was attached to when the wait began: if the id
    /// names another interface after a config change, the packets are not
    /// sent there.
    attach: Attach,
    ip: Ipv4Addr,
    /// The packets, each with the interface it came in on (for the host
    /// unreachable error if the wait fails).
    packets: Vec<(B, Option<GatewayPlan>)>,
    /// ARP requests sent so far, and when the next one is due.
    tries: u8,
    next_ms: u64,
}

/// The worker's waiting list.
pub(super) struct Held<B> {
    entries: Vec<Waiting<B>>,
    active: usize,
}

impl<B> Default for Held<B> {
    fn default() -> Self {
        Held {
            entries: (0..MAX_WAITING)
                .map(|_| Waiting {
                    active: false,
                    iface: 0,
                    attach: Attach::Vni(VniSlot(0)),
                    ip: Ipv4Addr::UNSPECIFIED,
                    packets: Vec::with_capacity(MAX_HELD),
                    tries: 0,
                    next_ms: 0,
                })
                .collect(),
            active: 0,
        }
    }
}

impl<B> Held<B> {
    /// Whether no neighbour is being waited for (the per-poll check).
    #[inline]
    pub(super) fn is_empty(&self) -> bool {
        self.active == 0
    }

    /// Packets held now.
    pub(super) fn packets(&self) -> usize {
        self.entries.iter().map(|e| e.packets.len()).sum()
    }
}

impl<B: PacketBuf> Pipeline<B> {
    /// Holds `pkt` until `ip` on interface `iface` is resolved; asks for
    /// it if nobody is waiting for it yet.
    pub(super) fn hold<IO: PortIo<Buf = B>>(
        &mut self,
        io: &mut IO,
        env: &Env,
        iface: IfaceId,
        ip: Ipv4Addr,
        from: Option<GatewayPlan>,
        pkt: B,
    ) {
        let Some(out) = env.snap.l3.iface(iface) else {
            return self.discard(DropReason::NoRoute, pkt);
        };
        let limit = usize::from(env.snap.l3.neighbour.queue_len).min(MAX_HELD);
        let entries = &mut self.held.entries;
        if let Some(w) = entries
            .iter_mut()
            .find(|w| w.active && w.iface == iface && w.ip == ip)
        {
            if w.packets.len() >= limit {
                return self.discard(DropReason::NeighbourQueueFull, pkt);
            }
            w.packets.push((pkt, from));
            self.consume();
            return self.publish_held();
        }
        let Some(w) = entries.iter_mut().find(|w| !w.active) else {
            return self.discard(DropReason::NeighbourQueueFull, pkt);
        };
        let now_ms = self.shared.clock.coarse_ms();
        w.active = true;
        w.iface = iface;
        w.attach = out.attach;
        w.ip = ip;
        w.tries = 1;
        w.next_ms = now_ms + u64::from(env.snap.l3.neighbour.retry_interval_ms);
        if limit > 0 {
            w.packets.push((pkt, from));
            self.consume();
        } else {
            self.discard(DropReason::NeighbourQueueFull, pkt);
        }
        self.held.active += 1;
        self.publish_held();
        self.ask_for(io, env, out, ip);
    }

    /// Publishes the waiting list's size (on changes only: holding and
    /// releasing are rare).
    fn publish_held(&self) {
        use std::sync::atomic::Ordering::Relaxed;
        let c = &self.counters;
        c.neighbours_waiting.store(self.held.active as u64, Relaxed);
        c.packets_held.store(self.held.packets() as u64, Relaxed);
    }

    /// Once per poll while neighbours are awaited: sends the packets of
    /// those now resolved, asks again for the others when due, and drops
    /// the packets of those that never answered.
    pub(super) fn poll_held<IO: PortIo<Buf = B>>(&mut self, io: &mut IO, env: &Env) {
        if self.held.is_empty() {
            return;
        }
        let now_ms = self.shared.clock.coarse_ms();
        let plan = env.snap.l3.neighbour;
        for i in 0..self.held.entries.len() {
            let w = &self.held.entries[i];
            if !w.active {
                continue;
            }
            let (iface, ip, attach, tries, due) = (w.iface, w.ip, w.attach, w.tries, w.next_ms);
            let out = env
                .snap
                .l3
                .iface(iface)
                .filter(|f| f.attach == attach && f.is_neighbour(ip));
            let mac = out
                .as_ref()
                .and_then(|_| self.shared.neighbours.lookup(iface, ip));
            match (out, mac) {
                (Some(out), Some(hit)) => self.release(io, env, i, Some((out, hit.mac))),
                (None, _) => self.release(io, env, i, None),
                (Some(out), None) if now_ms >= due => {
                    if tries >= plan.retries {
                        self.release(io, env, i, None);
                    } else {
                        let w = &mut self.held.entries[i];
                        w.tries += 1;
                        w.next_ms = now_ms + u64::from(plan.retry_interval_ms);
                        self.ask_for(io, env, out, ip);
                    }
                }
                (Some(_), None) => {}
            }
        }
    }

    /// Ends entry `i`'s wait: its packets go to `to` (interface, MAC), or
    /// are dropped as unresolved.
    fn release<IO: PortIo<Buf = B>>(
        &mut self,
        io: &mut IO,
        env: &Env,
        i: usize,
        to: Option<(&IfacePlan, Mac)>,
    ) {
        let w = &mut self.held.entries[i];
        let mut packets = std::mem::take(&mut w.packets);
        // While its packets go, the entry stays taken but matches no
        // neighbour: an ICMP error routed to this same neighbour starts a
        // wait of its own instead of landing in the emptied list (which
        // would allocate, and be overwritten below).
        w.ip = Ipv4Addr::UNSPECIFIED;
        for (pkt, from) in packets.drain(..) {
            // A held packet had its verdict ("consumed"); it comes back as a new one.
            self.ledger.entered += 1;
            match to {
                Some((out, mac)) => self.send_routed(io, env, out, mac, pkt),
                None => {
                    if let Some(gw) = from {
                        self.icmp_error(io, env, gw, IcmpError::HostUnreachable, pkt.data());
                    }
                    self.discard(DropReason::NeighbourUnresolved, pkt)
                }
            }
        }
        let w = &mut self.held.entries[i];
        w.packets = packets;
        w.active = false;
        self.held.active -= 1;
        self.publish_held();
    }

    /// Sends an ARP request for `ip` on `out`'s link: flooded into its
    /// VNI, or out of its routed port.
    fn ask_for<IO: PortIo<Buf = B>>(
        &mut self,
        io: &mut IO,
        env: &Env,
        out: &IfacePlan,
        ip: Ipv4Addr,
    ) {
        self.ledger.entered += 1;
        let Some(pkt) = copy_into_new(io, &request_frame(out.mac, out.ip, ip)) else {
            return self.drop_packet(DropReason::NoMbuf);
        };
        self.counters.gateway_arp_requests_sent.inc();
        match out.attach {
            Attach::Vni(slot) => match env.snap.vni(slot) {
                Some(vni) => self.flood(io, env, slot, vni, None, FloodScope::PortsAndVteps, pkt),
                None => self.discard(DropReason::NoRoute, pkt),
            },
            Attach::Port(member) => self.deliver_local(io, env, member, pkt),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::arp::{ArpPacket, ARP_REQUEST};
    use crate::wire::ethernet::HEADER_LEN as ETH_LEN;

    #[test]
    fn the_request_asks_from_the_gateway_address() {
        let out = IfacePlan {
            name: "vni200".into(),
            vrf: 0,
            ip: Ipv4Addr::new(198, 51, 100, 1),
            prefix_len: 24,
            mac: Mac([2, 0x76, 192, 0, 2, 10]),
            mtu: 1450,
            attach: Attach::Vni(VniSlot(1)),
            counter: 1,
        };
        let f = request_frame(out.mac, out.ip, Ipv4Addr::new(198, 51, 100, 2));
        assert_eq!(&f[..6], &[0xff; 6]);
        assert_eq!(&f[6..12], &out.mac.0);
        let a = ArpPacket::new_checked(&f[ETH_LEN..]).unwrap();
        assert_eq!(a.operation(), ARP_REQUEST);
        assert_eq!((a.sender_ip(), a.sender_mac()), (out.ip, out.mac));
        assert_eq!(a.target_ip(), Ipv4Addr::new(198, 51, 100, 2));
    }
}
