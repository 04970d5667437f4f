//! A whole data plane in memory for unit tests: config → snapshot → shared
//! state → one worker on [`MemIo`] and the control thread, driven by hand;
//! plus builders for the frames tests inject.

use crate::control::Control;
use crate::io::MemIo;
use crate::shared::{self, Shared};
use crate::snapshot::Snapshot;
use crate::wire::{
    write_udp_header, write_vxlan_header, ArpRepr, Ipv4Repr, Mac, ARP_LEN, ARP_REPLY, PROTO_UDP,
};
use crate::worker::{Worker, WorkerOptions};
use std::net::Ipv4Addr;
use std::sync::Arc;
use vtepgw_config::Config;

pub const GW_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
pub const VTEP1: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
pub const VTEP2: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
pub const UNDERLAY_MAC: Mac = Mac([0x02, 0, 0, 0, 0, 0x10]);
pub const PHYS0_MAC: Mac = Mac([0x02, 0, 0, 0, 0, 0x11]);
pub const PHYS1_MAC: Mac = Mac([0x02, 0, 0, 0, 0, 0x12]);
pub const VTEP1_MAC: Mac = Mac([0x02, 0, 0, 0, 0x0a, 0x01]);
pub const VTEP2_MAC: Mac = Mac([0x02, 0, 0, 0, 0x0a, 0x02]);
/// Hosts: one on each physical port, one behind each VTEP.
pub const HOST_P0: Mac = Mac([0x02, 0, 0, 0, 0x03, 0x01]);
pub const HOST_P1: Mac = Mac([0x02, 0, 0, 0, 0x04, 0x01]);
pub const HOST_V1: Mac = Mac([0x02, 0, 0, 0, 0x01, 0x01]);
pub const HOST_V2: Mac = Mac([0x02, 0, 0, 0, 0x02, 0x01]);
pub const BROADCAST: Mac = Mac([0xff; 6]);

/// Two physical ports: VNI 100 on phys0 VLAN 10 and phys1 VLAN 20, flooded
/// to two VTEPs; VNI 200 untagged on phys0, limited to 2 MACs, ageing 30 s.
pub const CONFIG: &str = r#"
[underlay]
device = "u0"
address = "192.0.2.10/24"
source_ports = "50000-50999"
ttl = 33

[[port]]
name = "phys0"
device = "p0"
untagged_vni = 200
vlans = [{ vlan = 10, vni = 100 }]

[[port]]
name = "phys1"
device = "p1"
vlans = [{ vlan = 20, vni = 100 }]

[[vni]]
id = 100
flood = ["192.0.2.1", "192.0.2.2"]

[[vni]]
id = 200
flood = ["192.0.2.1"]
mac_limit = 2
mac_ageing_secs = 30
"#;

pub struct Rig {
    pub shared: Arc<Shared>,
    pub control: Control,
    pub worker: Worker<MemIo>,
    /// Test time: coarse seconds and milliseconds.
    pub now: u32,
    pub now_ms: u64,
}

impl Rig {
    pub fn new(config: &str) -> Rig {
        let config = Config::from_toml_str(config).expect("test config is valid");
        let macs = [UNDERLAY_MAC, PHYS0_MAC, PHYS1_MAC];
        let snapshot = Snapshot::build(&config, &macs[..config.port.len() + 1], None, 1).unwrap();
        let ports = snapshot.ports.len();
        let (shared, control_parts, mut workers) = shared::build(snapshot, 1, 4096);
        shared.clock.set(1);
        let control = Control::new(shared.clone(), control_parts);
        let options = WorkerOptions {
            burst: 32,
            idle_sleep_us: 0,
        };
        let worker = Worker::new(
            MemIo::new(ports),
            shared.clone(),
            workers.remove(0),
            options,
        );
        Rig {
            shared,
            control,
            worker,
            now: 1,
            now_ms: 1000,
        }
    }

    /// The standard two-port rig with both flood VTEPs resolved.
    pub fn resolved() -> Rig {
        let mut rig = Rig::new(CONFIG);
        rig.resolve(VTEP1, VTEP1_MAC);
        rig.resolve(VTEP2, VTEP2_MAC);
        rig.run();
        rig.take(0);
        rig
    }

    /// Answers the gateway's ARP for `ip`, as the VTEP would.
    pub fn resolve(&mut self, ip: Ipv4Addr, mac: Mac) {
        self.inject(0, &arp_frame(ARP_REPLY, mac, ip, UNDERLAY_MAC, GW_IP));
    }

    pub fn inject(&mut self, port: u8, frame: &[u8]) {
        self.worker.io_mut().inject(port, frame);
    }

    /// Makes the gateway learn `host` of `vni` behind `vtep` (by a broadcast
    /// from it, whose local copies are discarded).
    pub fn learn_remote(&mut self, vtep: Ipv4Addr, vtep_mac: Mac, vni: u32, host: Mac) {
        let bum = host_udp(BROADCAST, host, 1, 10);
        self.inject(0, &vxlan_from(vtep, vtep_mac, vni, &bum));
        self.run();
        for port in 1..self.worker.io_mut().tx.len() {
            self.take(port as u8);
        }
    }

    /// Worker poll, control tick, worker poll: enough for events to land.
    pub fn run(&mut self) {
        self.worker.poll_once();
        self.control.tick_at(self.now, self.now_ms);
        self.worker.poll_once();
    }

    /// Moves time forward and runs the control thread's timers.
    pub fn advance(&mut self, secs: u32) {
        for _ in 0..secs * 10 {
            self.now_ms += 100;
            self.now = (self.now_ms / 1000) as u32;
            self.control.tick_at(self.now, self.now_ms);
        }
        self.worker.poll_once();
    }

    /// Packets the worker holds for unresolved neighbours.
    pub fn worker_held(&self) -> usize {
        self.worker.held_packets()
    }

    /// Frames sent on `port` so far.
    pub fn take(&mut self, port: u8) -> Vec<Vec<u8>> {
        self.worker.io_mut().take_tx(port)
    }

    pub fn drops(&self, reason: crate::counters::DropReason) -> u64 {
        self.shared.workers[0].drops_for(reason)
    }

    pub fn slot(&self, vni: u32) -> crate::types::VniSlot {
        self.shared
            .snapshot
            .load()
            .vni_slot(crate::types::Vni::new(vni).unwrap())
            .unwrap()
    }

    /// The tunnel id of a tracked VTEP.
    pub fn tunnel(&self, vtep: Ipv4Addr) -> crate::tables::TunnelId {
        self.shared
            .tunnels
            .id(vtep.into())
            .expect("VTEP is tracked")
    }

    pub fn lookup(&self, vni: u32, mac: &Mac) -> Option<crate::tables::MacDest> {
        self.shared
            .macs
            .lookup(self.slot(vni), mac)
            .map(|h| h.entry.dest)
    }
}

/// An Ethernet frame, optionally 802.1Q-tagged.
pub fn ethernet(
    dst: impl Into<Mac>,
    src: impl Into<Mac>,
    vlan: Option<u16>,
    ethertype: u16,
    payload: &[u8],
) -> Vec<u8> {
    let mut f = Vec::with_capacity(18 + payload.len());
    f.extend_from_slice(&dst.into().0);
    f.extend_from_slice(&src.into().0);
    if let Some(vid) = vlan {
        f.extend_from_slice(&0x8100u16.to_be_bytes());
        f.extend_from_slice(&vid.to_be_bytes());
    }
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// IPv4 + UDP with `payload_len` bytes of payload.
pub fn ipv4_udp(src: Ipv4Addr, dst: Ipv4Addr, sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0u8; 28 + payload.len()];
    Ipv4Repr {
        src,
        dst,
        protocol: PROTO_UDP,
        ttl: 64,
        dont_frag: false,
        ident: 1,
        payload_len: 8 + payload.len(),
    }
    .emit(&mut p);
    write_udp_header(&mut p[20..], sport, dport, payload.len());
    p[28..].copy_from_slice(payload);
    p
}

/// An overlay host's UDP frame (untagged), 203.0.113.0/24.
pub fn host_udp(dst: Mac, src: Mac, sport: u16, len: usize) -> Vec<u8> {
    let ip = ipv4_udp(
        Ipv4Addr::new(203, 0, 113, src.0[4]),
        Ipv4Addr::new(203, 0, 113, dst.0[4]),
        sport,
        7000,
        &vec![0xab; len],
    );
    ethernet(dst, src, None, 0x0800, &ip)
}

/// Inserts an 802.1Q tag into an untagged frame.
pub fn tag(frame: &[u8], vid: u16) -> Vec<u8> {
    let mut f = frame[..12].to_vec();
    f.extend_from_slice(&0x8100u16.to_be_bytes());
    f.extend_from_slice(&vid.to_be_bytes());
    f.extend_from_slice(&frame[12..]);
    f
}

/// A VXLAN frame from a remote VTEP to the gateway.
pub fn vxlan_from(vtep: Ipv4Addr, vtep_mac: Mac, vni: u32, inner: &[u8]) -> Vec<u8> {
    let mut v = vec![0u8; 8];
    write_vxlan_header(&mut v, vni);
    v.extend_from_slice(inner);
    let ip = ipv4_udp(vtep, GW_IP, 54321, 4789, &v);
    ethernet(UNDERLAY_MAC, vtep_mac, None, 0x0800, &ip)
}

/// An ARP frame (broadcast for requests).
pub fn arp_frame(
    op: u16,
    smac: impl Into<Mac>,
    sip: Ipv4Addr,
    tmac: impl Into<Mac>,
    tip: Ipv4Addr,
) -> Vec<u8> {
    let (smac, tmac) = (smac.into(), tmac.into());
    let mut arp = [0u8; ARP_LEN];
    ArpRepr {
        op,
        sender_mac: smac,
        sender_ip: sip,
        target_mac: tmac,
        target_ip: tip,
    }
    .emit(&mut arp);
    let dst = if op == ARP_REPLY { tmac } else { BROADCAST };
    ethernet(dst, smac, None, 0x0806, &arp)
}
