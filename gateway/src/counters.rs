//! Per-worker counters, summed only when metrics are scraped.
//!
//! Each worker owns its counters and is their only writer, so an increment
//! is a relaxed load and store (a plain `mov` on x86) instead of a locked
//! read-modify-write, and no cache line bounces between cores.

use std::net::Ipv4Addr;
use std::sync::atomic::{fence, AtomicU64, Ordering::*};

/// A counter with one writer thread and any number of readers.
#[derive(Default, Debug)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Adds `n`. Only the owning thread may call this.
    #[inline]
    pub fn add(&self, n: u64) {
        self.0.store(self.0.load(Relaxed).wrapping_add(n), Relaxed);
    }
    /// Adds one. Only the owning thread may call this.
    #[inline]
    pub fn inc(&self) {
        self.add(1);
    }
    /// Current value (any thread).
    pub fn get(&self) -> u64 {
        self.0.load(Relaxed)
    }
    /// Resets to zero (owner thread, or while the owner is known not to write).
    pub fn reset(&self) {
        self.0.store(0, Relaxed);
    }
}

/// A counter any thread may increment (for rare events off the packet path).
#[derive(Default, Debug)]
pub struct SharedCounter(AtomicU64);

impl SharedCounter {
    /// Adds `n` atomically.
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Relaxed);
    }
    /// Adds one atomically.
    pub fn inc(&self) {
        self.add(1);
    }
    /// Current value.
    pub fn get(&self) -> u64 {
        self.0.load(Relaxed)
    }
    /// Starts over at zero.
    pub fn reset(&self) {
        self.0.store(0, Relaxed);
    }
}

macro_rules! drop_reasons {
    ($($variant:ident => $label:literal: $help:literal,)*) => {
        /// Why the data plane dropped a packet. Every drop has exactly one reason.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[repr(u8)]
        pub enum DropReason { $($variant,)* }

        impl DropReason {
            /// Every reason, in counter order.
            pub const ALL: &'static [DropReason] = &[$(DropReason::$variant,)*];
            /// Number of reasons.
            pub const COUNT: usize = Self::ALL.len();
            /// The `reason` label value in metrics.
            pub fn label(self) -> &'static str {
                match self { $(DropReason::$variant => $label,)* }
            }
            /// One line for operators: what the reason means.
            pub fn help(self) -> &'static str {
                match self { $(DropReason::$variant => $help,)* }
            }
        }
    };
}

drop_reasons! {
    Truncated => "truncated": "a header is cut short",
    MultiSegment => "multi_segment": "frame arrived in several buffers (mbuf data room smaller than the frame)",
    MalformedL2 => "malformed_l2": "double VLAN tag or other unparsable Ethernet header",
    NotOurMac => "not_our_mac": "underlay frame addressed to another MAC",
    UnderlayVlanTag => "underlay_vlan_tag": "VLAN-tagged frame on the untagged underlay",
    UnsupportedEthertype => "unsupported_ethertype": "underlay frame neither IPv4 nor ARP",
    MalformedIpv4 => "malformed_ipv4": "bad IPv4 version, header length or total length",
    BadIpv4Checksum => "bad_ipv4_checksum": "IPv4 header checksum is wrong (outer, or of a packet to route)",
    NotOurVtepIp => "not_our_vtep_ip": "outer IPv4 destination is not our VTEP address",
    BadOuterSource => "bad_outer_source": "outer IPv4 source is ours, broadcast, multicast, 0/8, loopback or reserved (never a VTEP)",
    OuterFragment => "outer_fragment": "outer IPv4 packet is a fragment (VTEPs must not fragment)",
    NotVxlan => "not_vxlan": "IPv4 to our VTEP address that is neither VXLAN nor ICMP echo",
    WrongUdpPort => "wrong_udp_port": "UDP to our VTEP address on another port than the VXLAN port",
    BadVxlanFlags => "bad_vxlan_flags": "VXLAN header without the I (valid VNI) flag",
    UnknownVni => "unknown_vni": "VXLAN VNI not configured here",
    InnerVlanTag => "inner_vlan_tag": "decapsulated frame carries a VLAN tag",
    BadSourceMac => "bad_source_mac": "source MAC is multicast or zero",
    SplitHorizon => "split_horizon": "overlay frame to a MAC behind another VTEP (never tunnel to tunnel)",
    UnknownVlan => "unknown_vlan": "physical-port VLAN (or untagged frame) not bound to a VNI",
    FloodNoTarget => "flood_no_target": "BUM or unknown-unicast frame with no other member to go to",
    SameSegment => "same_segment": "destination MAC was learned on the segment the frame came from",
    VtepUnresolved => "vtep_unresolved": "remote VTEP's next-hop MAC not yet resolved by ARP",
    MtuExceeded => "mtu_exceeded": "frame larger than the egress MTU allows (never fragmented)",
    NoHeadroom => "no_headroom": "buffer has no room to add headers",
    NoMbuf => "no_mbuf": "packet pool empty while replicating",
    TxQueueFull => "tx_queue_full": "NIC transmit queue full",
    ArpIgnored => "arp_ignored": "ARP not for our VTEP address, or malformed",
    IcmpIgnored => "icmp_ignored": "ICMP to our VTEP address other than a valid echo request",
    NotOurGroup => "not_our_group": "IPv4 multicast to a group no VNI here uses, or to a MAC its group does not map to",
    WrongGroup => "wrong_group": "VXLAN to one of our groups for a VNI that floods to another group (or to none)",
    OwnSource => "own_source": "VXLAN to a group from our own VTEP address (our copy looped back by the underlay)",
    NotRoutable => "not_routable": "frame to a gateway MAC that is neither IPv4 nor ARP",
    NoRoute => "no_route": "no prefix of the ingress interface's VRF covers the destination",
    TtlExceeded => "ttl_exceeded": "routed packet whose TTL ran out",
    NeighbourUnresolved => "neighbour_unresolved": "packet held for a neighbour that did not answer ARP",
    NeighbourQueueFull => "neighbour_queue_full": "no room to hold a packet for an unresolved neighbour",
    FragNeeded => "frag_needed": "routed packet larger than the egress interface's MTU with DF set, or one that cannot be fragmented (IP options)",
    NotForInterface => "not_for_interface": "frame on a routed interface neither to its MAC nor ARP for it (nothing is bridged there)",
    GatewayIgnored => "gateway_ignored": "packet to a gateway address other than a valid ICMP echo request",
    IgmpIgnored => "igmp_ignored": "IGMP other than a valid membership query (other hosts' reports), or queries beyond the per-second limit",
}

/// Packet and byte counts of one port. Each counter block is aligned to a
/// cache line, so one worker's writes never share a line with another
/// worker's (or with unrelated data a scrape reads).
#[derive(Default, Debug)]
#[repr(align(64))]
pub struct PortCounters {
    pub rx_packets: Counter,
    pub rx_bytes: Counter,
    pub tx_packets: Counter,
    pub tx_bytes: Counter,
}

/// Traffic of one VNI, by direction through the tunnel.
#[derive(Default, Debug)]
#[repr(align(64))]
pub struct VniCounters {
    /// Frames from physical ports sent into the overlay (one per frame, not per replica).
    pub encap_packets: Counter,
    pub encap_bytes: Counter,
    /// Frames from the overlay delivered to physical ports.
    pub decap_packets: Counter,
    pub decap_bytes: Counter,
    /// Extra copies sent to remote VTEPs by head-end replication.
    pub flood_to_vteps: Counter,
    /// Copies sent to local ports by flooding.
    pub flood_to_ports: Counter,
}

/// Routed traffic of one VNI's gateway interface (by VNI slot, apart
/// from [`VniCounters`] so that the L2 path's counters stay one cache line).
#[derive(Default, Debug)]
#[repr(align(64))]
pub struct RoutedCounters {
    /// Packets that came in to be routed (or to the gateway address).
    pub in_packets: Counter,
    pub in_bytes: Counter,
    /// Packets routed out of the interface (routed or sent by the gateway).
    pub out_packets: Counter,
    pub out_bytes: Counter,
}

impl RoutedCounters {
    /// Starts over (owning worker only), when the slot gets a new VNI.
    pub fn reset(&self) {
        for c in [
            &self.in_packets,
            &self.in_bytes,
            &self.out_packets,
            &self.out_bytes,
        ] {
            c.reset();
        }
    }
}

impl VniCounters {
    /// Starts over (owning worker only), when the slot gets a new VNI.
    pub fn reset(&self) {
        for c in [
            &self.encap_packets,
            &self.encap_bytes,
            &self.decap_packets,
            &self.decap_bytes,
            &self.flood_to_vteps,
            &self.flood_to_ports,
        ] {
            c.reset();
        }
    }
}

/// Traffic exchanged with one remote VTEP, in the worker's per-tunnel
/// array indexed by [`crate::tables::TunnelId`]. The control thread may hand
/// an id to another VTEP after the first is forgotten, so the entry records
/// whose counts it holds and starts over for a new owner.
#[derive(Default, Debug)]
#[repr(align(64))]
pub struct TunnelCounters {
    /// Tagged IPv4 address of the VTEP counted here (0: none yet). Odd
    /// states are never visible: the owner is cleared while counts reset.
    owner: AtomicU64,
    /// VXLAN packets received from the VTEP (whole outer frames).
    pub rx_packets: Counter,
    pub rx_bytes: Counter,
    /// VXLAN packets encapsulated to the VTEP (whole outer frames).
    pub tx_packets: Counter,
    pub tx_bytes: Counter,
}

const OWNER_TAG: u64 = 1 << 32;

impl TunnelCounters {
    /// Makes `vtep` the owner, resetting the counts if the entry held
    /// another VTEP's. Only the owning worker may call this.
    #[inline]
    fn claim(&self, vtep: Ipv4Addr) {
        let owner = OWNER_TAG | u64::from(u32::from(vtep));
        if self.owner.load(Relaxed) != owner {
            self.owner.store(0, Relaxed);
            fence(Release);
            for c in [
                &self.rx_packets,
                &self.rx_bytes,
                &self.tx_packets,
                &self.tx_bytes,
            ] {
                c.reset();
            }
            self.owner.store(owner, Release);
        }
    }

    /// Counts a packet of `bytes` received from `vtep` (owning worker only).
    #[inline]
    pub fn count_rx(&self, vtep: Ipv4Addr, bytes: usize) {
        self.add_rx(vtep, 1, bytes as u64);
    }

    /// Counts a packet of `bytes` sent to `vtep` (owning worker only).
    #[inline]
    pub fn count_tx(&self, vtep: Ipv4Addr, bytes: usize) {
        self.add_tx(vtep, 1, bytes as u64);
    }

    /// Counts `packets` totalling `bytes` received from `vtep` (owning worker only).
    #[inline]
    pub fn add_rx(&self, vtep: Ipv4Addr, packets: u64, bytes: u64) {
        self.claim(vtep);
        self.rx_packets.add(packets);
        self.rx_bytes.add(bytes);
    }

    /// Counts `packets` totalling `bytes` sent to `vtep` (owning worker only).
    #[inline]
    pub fn add_tx(&self, vtep: Ipv4Addr, packets: u64, bytes: u64) {
        self.claim(vtep);
        self.tx_packets.add(packets);
        self.tx_bytes.add(bytes);
    }

    /// (VTEP, rx packets, rx bytes, tx packets, tx bytes), read by any
    /// thread; None if unused or if the owner changed during the read.
    pub fn read(&self) -> Option<(Ipv4Addr, [u64; 4])> {
        let owner = self.owner.load(Acquire);
        let counts = [
            self.rx_packets.get(),
            self.rx_bytes.get(),
            self.tx_packets.get(),
            self.tx_bytes.get(),
        ];
        fence(Acquire);
        (owner != 0 && self.owner.load(Relaxed) == owner)
            .then(|| (Ipv4Addr::from(owner as u32), counts))
    }
}

/// Traffic of one underlay multicast group, by its counter entry
/// ([`crate::groups::GroupPlan::counter`]), owned by the group's address like
/// a tunnel's: rx is VXLAN decapsulated from the group, tx the BUM copies
/// sent to it.
pub type GroupCounters = TunnelCounters;

/// Drop counts by [`DropReason`], in a block of whole cache lines.
#[derive(Debug)]
#[repr(align(64))]
pub struct DropCounters([Counter; DropReason::COUNT]);

impl Default for DropCounters {
    fn default() -> Self {
        DropCounters(std::array::from_fn(|_| Counter::default()))
    }
}

impl std::ops::Deref for DropCounters {
    type Target = [Counter];
    fn deref(&self) -> &[Counter] {
        &self.0
    }
}

/// Everything one worker counts (one writer: the worker; readers: scrapes).
/// Cache-line aligned, like each of its counter blocks.
#[derive(Debug)]
#[repr(align(64))]
pub struct WorkerCounters {
    /// By port index (0 is the underlay).
    pub ports: Box<[PortCounters]>,
    /// By VNI slot.
    pub vnis: Box<[VniCounters]>,
    /// By VNI slot: its gateway interface's routed traffic; then the
    /// routed interfaces' (see `l3::IfacePlan::counter`).
    pub routed: Box<[RoutedCounters]>,
    /// By tunnel id (see [`crate::tables::TunnelId`]).
    pub tunnels: Box<[TunnelCounters]>,
    /// By group counter entry (see [`GroupCounters`]).
    pub groups: Box<[GroupCounters]>,
    /// By [`DropReason`].
    pub drops: Box<DropCounters>,
    /// TSC cycles spent in loop iterations that handled at least one packet.
    pub busy_cycles: Counter,
    /// Packets received and handled.
    pub packets: Counter,
    /// Loop iterations.
    pub polls: Counter,
    pub arp_replies_sent: Counter,
    pub icmp_echo_replies_sent: Counter,
    /// The L3 gateway's ARP: replies for gateway addresses, requests to
    /// resolve neighbours; its ICMP echo replies.
    pub gateway_arp_replies_sent: Counter,
    pub gateway_arp_requests_sent: Counter,
    pub gateway_echo_replies_sent: Counter,
    /// ARP suppression: requests answered for another host, by mode
    /// (0: reply-on-behalf, 1: proxy), and reply-mode misses (flooded).
    pub arp_suppression_replies: [Counter; 2],
    pub arp_suppression_misses: Counter,
    /// ICMP errors sent about routed packets, by kind
    /// (`pipeline::icmp_error::ALL` order), and those the rate limit held back.
    pub icmp_errors: [Counter; 4],
    pub icmp_errors_limited: Counter,
    /// Neighbours this worker is resolving now, and the packets it holds
    /// for them (gauges, written by the owning worker only).
    pub neighbours_waiting: std::sync::atomic::AtomicU64,
    pub packets_held: std::sync::atomic::AtomicU64,
    /// Routed packets fragmented for their egress MTU, and the fragments made.
    pub fragmented: Counter,
    pub fragments_made: Counter,
    /// ARP packets passed to the control thread (replies and requests to us).
    pub arp_seen: Counter,
    /// IGMP membership queries passed to the control thread.
    pub igmp_queries: Counter,
    /// Learning or resolution events lost because the control queue was full.
    pub events_lost: Counter,
    /// Control-plane frames (ARP requests) this worker transmitted.
    pub control_frames_sent: Counter,
    /// Packets that left the pipeline with no verdict (sent, dropped or
    /// consumed): a bug, caught here in release builds (debug builds assert).
    pub no_verdict: Counter,
}

impl WorkerCounters {
    /// Counters for `ports` ports and `vni_slots` VNI slots.
    pub fn new(ports: usize, vni_slots: usize) -> Self {
        WorkerCounters {
            ports: (0..ports).map(|_| PortCounters::default()).collect(),
            vnis: (0..vni_slots).map(|_| VniCounters::default()).collect(),
            routed: (0..vni_slots + crate::l3::MAX_ROUTED_IFACES)
                .map(|_| RoutedCounters::default())
                .collect(),
            tunnels: (0..crate::shared::TUNNEL_IDS)
                .map(|_| TunnelCounters::default())
                .collect(),
            groups: (0..crate::groups::MAX_GROUPS)
                .map(|_| GroupCounters::default())
                .collect(),
            drops: Box::default(),
            busy_cycles: Counter::default(),
            packets: Counter::default(),
            polls: Counter::default(),
            arp_replies_sent: Counter::default(),
            icmp_echo_replies_sent: Counter::default(),
            gateway_arp_replies_sent: Counter::default(),
            gateway_arp_requests_sent: Counter::default(),
            gateway_echo_replies_sent: Counter::default(),
            icmp_errors: Default::default(),
            arp_suppression_replies: Default::default(),
            arp_suppression_misses: Counter::default(),
            icmp_errors_limited: Counter::default(),
            neighbours_waiting: Default::default(),
            packets_held: Default::default(),
            fragmented: Counter::default(),
            fragments_made: Counter::default(),
            arp_seen: Counter::default(),
            igmp_queries: Counter::default(),
            events_lost: Counter::default(),
            control_frames_sent: Counter::default(),
            no_verdict: Counter::default(),
        }
    }

    /// Counts one dropped packet.
    #[inline]
    pub fn drop_packet(&self, reason: DropReason) {
        self.drops[reason as usize].inc();
    }

    /// Drops counted for `reason` so far.
    pub fn drops_for(&self, reason: DropReason) -> u64 {
        self.drops[reason as usize].get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_unique_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for r in DropReason::ALL {
            assert!(seen.insert(r.label()), "duplicate label {}", r.label());
            assert!(r
                .label()
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'));
            assert!(!r.help().is_empty());
        }
        assert_eq!(
            DropReason::ALL[DropReason::UnknownVni as usize],
            DropReason::UnknownVni
        );
    }

    #[test]
    fn a_vtep_entry_starts_over_for_a_new_owner() {
        let c = TunnelCounters::default();
        assert_eq!(c.read(), None);
        let (a, b) = (Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(192, 0, 2, 2));
        c.count_rx(a, 100);
        c.count_tx(a, 60);
        c.count_tx(a, 60);
        assert_eq!(c.read(), Some((a, [1, 100, 2, 120])));
        c.count_tx(b, 70);
        assert_eq!(c.read(), Some((b, [0, 0, 1, 70])));
    }

    #[test]
    fn counter_blocks_fill_whole_cache_lines() {
        use std::mem::{align_of, size_of};
        assert_eq!(align_of::<PortCounters>(), 64);
        assert_eq!(size_of::<VniCounters>() % 64, 0);
        assert_eq!(size_of::<TunnelCounters>() % 64, 0);
        assert_eq!(size_of::<DropCounters>() % 64, 0);
        let c = WorkerCounters::new(3, 2);
        for addr in [
            std::ptr::from_ref(&c.ports[1]) as usize,
            std::ptr::from_ref(&c.vnis[1]) as usize,
            std::ptr::from_ref(&c.tunnels[1]) as usize,
            std::ptr::from_ref(&*c.drops) as usize,
        ] {
            assert_eq!(addr % 64, 0);
        }
    }

    #[test]
    fn drops_are_counted_by_reason() {
        let c = WorkerCounters::new(2, 4);
        c.drop_packet(DropReason::UnknownVni);
        c.drop_packet(DropReason::UnknownVni);
        assert_eq!(c.drops_for(DropReason::UnknownVni), 2);
        assert_eq!(c.drops_for(DropReason::Truncated), 0);
    }
}
