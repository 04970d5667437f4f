//! Routing, the centralized L3 gateway's stage: a frame to a VNI's
//! gateway MAC (from a port, or decapsulated) is an IPv4 packet to route.
//! Its sender is learned as a neighbour; a packet to a gateway address is
//! answered here (ICMP echo); any other goes by longest-prefix match in
//! the ingress interface's VRF to an egress interface, its TTL less one
//! (incremental checksum), fragmented if it is too big for the egress
//! MTU and DF is clear ([`super::fragment`]), to the neighbour's MAC ([`super::hold`] keeps
//! it while the neighbour is resolved), and into the egress VNI as an L2
//! frame from the gateway MAC: bridged to a port or encapsulated.

use super::{destination_of, wire_drop, Env, Pipeline};
use crate::buf::{PacketBuf, RxCksum};
use crate::counters::DropReason;
use crate::events::Event;
use crate::io::PortIo;
use crate::l3::{Attach, GatewayPlan, IfaceId, IfacePlan, NextHop};
use crate::offload;
use crate::snapshot::{Member, UNDERLAY_PORT};
use crate::tables::MacDest;
use crate::types::Mac;
use crate::wire::ethernet::{ETHERTYPE_IPV4, HEADER_LEN as ETH_LEN};
use crate::wire::icmpv4::{is_echo_request, turn_echo_request_into_reply, IcmpError};
use crate::wire::ipv4::{decrement_ttl, Ipv4Packet};
use std::net::{IpAddr, Ipv4Addr};

impl<B: PacketBuf> Pipeline<B> {
    /// Routes an untagged frame that came in on interface `gw` (a VNI's
    /// gateway interface, or a routed port), sent to its MAC by `src_mac`.
    /// `cksum`: the driver's verdict on its IPv4 header (Unknown for a
    /// decapsulated frame: the device checked only the outer one).
    pub(super) fn route_in<IO: PortIo<Buf = B>>(
        &mut self,
        io: &mut IO,
        env: &Env,
        gw: GatewayPlan,
        src_mac: Mac,
        cksum: RxCksum,
        mut pkt: B,
    ) {
        self.count_routed(gw.counter, pkt.len(), true);
        let data = pkt.data();
        if data.get(12..14) != Some(&ETHERTYPE_IPV4.to_be_bytes()[..]) {
            return self.discard(DropReason::NotRoutable, pkt);
        }
        let (src, dst, ttl) = match Ipv4Packet::new_checked(&data[ETH_LEN..]) {
            Ok(ip) if !offload::ipv4_checksum_ok(cksum, || ip.verify_checksum()) => {
                return self.discard(DropReason::BadIpv4Checksum, pkt)
            }
            Ok(ip) => (ip.src_addr(), ip.dst_addr(), ip.ttl()),
            Err(e) => return self.discard(wire_drop(e, DropReason::MalformedIpv4), pkt),
        };
        // Anything after the IP packet (Ethernet padding) is not routed on.
        let ip_len = usize::from(u16::from_be_bytes([data[ETH_LEN + 2], data[ETH_LEN + 3]]));
        let padding = pkt.len() - ETH_LEN - ip_len;
        if padding > 0 && !pkt.trim(padding) {
            return self.discard(DropReason::Truncated, pkt);
        }
        if let Some(f) = env.snap.l3.iface(gw.iface) {
            if f.is_neighbour(src) {
                self.heard_from(env, gw.iface, src, src_mac);
            }
        }
        let Some(hop) = self.route_of(env, gw.vrf, dst) else {
            self.icmp_error(io, env, gw, IcmpError::NetUnreachable, pkt.data());
            return self.discard(DropReason::NoRoute, pkt);
        };
        if let NextHop::Connected { iface } = hop {
            if env.snap.l3.iface(iface).is_some_and(|f| f.ip == dst) {
                return self.for_gateway(io, env, gw, pkt);
            }
        }
        if ttl <= 1 {
            self.icmp_error(io, env, gw, IcmpError::TimeExceeded, pkt.data());
            return self.discard(DropReason::TtlExceeded, pkt);
        }
        self.route_out(io, env, hop, dst, Some(gw), pkt, true);
    }

    /// The route to `dst` in `vrf`, remembered from the last packet: the
    /// packets of a burst mostly share a destination.
    #[inline]
    fn route_of(&mut self, env: &Env, vrf: crate::l3::VrfId, dst: Ipv4Addr) -> Option<NextHop> {
        let generation = env.snap.generation;
        if let Some((g, v, d, hop)) = self.last_route {
            if (g, v, d) == (generation, vrf, dst) {
                return Some(hop);
            }
        }
        let hop = env.snap.l3.routes.lookup_v4(vrf, dst)?;
        self.last_route = Some((generation, vrf, dst, hop));
        Some(hop)
    }

    /// A packet to one of the gateway's addresses: ICMP echo requests are
    /// answered (the reply routed back like any packet), the rest dropped.
    fn for_gateway<IO: PortIo<Buf = B>>(
        &mut self,
        io: &mut IO,
        env: &Env,
        gw: GatewayPlan,
        mut pkt: B,
    ) {
        let ip = &mut pkt.data_mut()[ETH_LEN..];
        if !is_echo_request(ip) || turn_echo_request_into_reply(ip).is_err() {
            return self.discard(DropReason::GatewayIgnored, pkt);
        }
        let dst = Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]);
        let Some(hop) = env.snap.l3.routes.lookup_v4(gw.vrf, dst) else {
            return self.discard(DropReason::NoRoute, pkt);
        };
        self.counters.gateway_echo_replies_sent.inc();
        self.route_out(io, env, hop, dst, None, pkt, false);
    }

    /// Sends a packet towards `dst` by `hop`: to its neighbour's MAC, or
    /// held until the neighbour is resolved. `forward`: a routed packet,
    /// whose TTL goes down by one (the gateway's own keep theirs); `from`:
    /// the interface it came in on, which errors about it go back to.
    #[allow(clippy::too_many_arguments)] // distinct inputs, as `flood`'s
    pub(super) fn route_out<IO: PortIo<Buf = B>>(
        &mut self,
        io: &mut IO,
        env: &Env,
        hop: NextHop,
        dst: Ipv4Addr,
        from: Option<GatewayPlan>,
        mut pkt: B,
        forward: bool,
    ) {
        let id = hop.iface();
        let Some(out) = env.snap.l3.iface(id) else {
            return self.discard(DropReason::NoRoute, pkt);
        };
        let IpAddr::V4(neighbour) = hop.neighbour(IpAddr::V4(dst)) else {
            return self.discard(DropReason::NoRoute, pkt);
        };
        if pkt.len() - ETH_LEN > usize::from(out.mtu) {
            let mtu = out.mtu;
            let df = pkt.data().get(ETH_LEN + 6).is_some_and(|b| b & 0x40 != 0);
            if df {
                if let Some(gw) = from {
                    let error = IcmpError::FragNeeded { mtu };
                    self.icmp_error(io, env, gw, error, pkt.data());
                }
                return self.discard(DropReason::FragNeeded, pkt);
            }
            if forward {
                decrement_ttl(&mut pkt.data_mut()[ETH_LEN..]);
            }
            return self.fragment(io, env, mtu, pkt, |this, io, env, f| {
                this.send_to_neighbour(io, env, id, neighbour, from, f)
            });
        }
        if forward {
            decrement_ttl(&mut pkt.data_mut()[ETH_LEN..]);
        }
        self.send_to_neighbour(io, env, id, neighbour, from, pkt);
    }

    /// Sends a packet ready to leave by interface `id` to `neighbour`'s
    /// MAC, or holds it until the neighbour is resolved.
    fn send_to_neighbour<IO: PortIo<Buf = B>>(
        &mut self,
        io: &mut IO,
        env: &Env,
        id: IfaceId,
        neighbour: Ipv4Addr,
        from: Option<GatewayPlan>,
        pkt: B,
    ) {
        let Some(out) = env.snap.l3.iface(id) else {
            return self.discard(DropReason::NoRoute, pkt);
        };
        match self.shared.neighbours.lookup(id, neighbour) {
            Some(hit) => self.send_routed(io, env, out, hit.mac, pkt),
            None => self.hold(io, env, id, neighbour, from, pkt),
        }
    }

    /// The last step of routing: the frame goes from `out`'s MAC to `mac`:
    /// into `out`'s VNI (to the port or tunnel the MAC table names, or
    /// flooded in the VNI if the MAC is unknown there), or out of its
    /// routed port.
    pub(super) fn send_routed<IO: PortIo<Buf = B>>(
        &mut self,
        io: &mut IO,
        env: &Env,
        out: &IfacePlan,
        mac: Mac,
        mut pkt: B,
    ) {
        let data = pkt.data_mut();
        data[..6].copy_from_slice(&mac.0);
        data[6..12].copy_from_slice(&out.mac.0);
        self.count_routed(out.counter, pkt.len(), false);
        let slot = match out.attach {
            Attach::Vni(slot) => slot,
            Attach::Port(member) => return self.deliver_local(io, env, member, pkt),
        };
        let Some(vni) = env.snap.vni(slot) else {
            return self.discard(DropReason::NoRoute, pkt);
        };
        let hit = self.shared.macs.lookup(slot, &mac);
        match destination_of(env, slot, hit) {
            Some(MacDest::Local { port, vlan }) => {
                self.deliver_local(io, env, Member { port, vlan }, pkt)
            }
            Some(MacDest::Remote { tunnel }) => {
                self.encap_unicast(io, env, slot, vni, tunnel, UNDERLAY_PORT, pkt)
            }
            None => self.flood(
                io,
                env,
                slot,
                vni,
                None,
                super::flood::FloodScope::PortsAndVteps,
                pkt,
            ),
        }
    }

    /// Records that `ip` on `iface` has `mac`: refreshes the neighbour if
    /// the table already says so, else tells the control thread (at most
    /// once a second per host and MAC).
    pub(super) fn heard_from(&mut self, env: &Env, iface: IfaceId, ip: Ipv4Addr, mac: Mac) {
        if mac.is_multicast() || mac.is_zero() {
            return;
        }
        let heard = (iface, ip, mac, env.now);
        if self.last_heard == Some(heard) {
            return;
        }
        match self.shared.neighbours.lookup(iface, ip) {
            Some(hit) if hit.mac == mac => {
                self.shared.neighbours.touch(hit.index, env.now);
                self.last_heard = Some(heard);
            }
            _ => {
                // Apart from MAC keys in the event filter: VNI slot bits 0x7ffe,
                // which no MAC key has (slots stay below 4096).
                let key = crate::tables::neighbour::neighbour_key(iface, ip) | (0x7ffe << 48);
                let value = crate::tables::neighbour::encode(mac);
                self.notify(env, key, value, Event::Neighbour { iface, ip, mac });
            }
        }
    }
}
