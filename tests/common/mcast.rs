//! The multicast lab: an underlay switch that snoops IGMP and is the
//! querier, so group traffic reaches a port only if that port joined.
//!
//! ```text
//!  ph<t>:  eth0 203.0.113.3  (VLAN 10 access) ── vg<t>p [gateway phys0: VLAN 10 <-> VNI 100]
//!  pq<t>:  eth0 198.51.100.13 (VLAN 20 access) ── vg<t>q [gateway phys1: VLAN 20 <-> VNI 200]
//!                                                  vg<t>u [gateway underlay 192.0.2.10]
//!                                                    │ (root ns; bridge port "gw": mcast_flood off)
//!  sw<t>: br0 (IGMP snooping + querier) ── hv1<t>: 192.0.2.1, vxlan100 group 239.1.1.1 ── h1<t> 203.0.113.1
//!                                     ├── hv2<t>: 192.0.2.2, vxlan100 group 239.1.1.1 ── h2<t> 203.0.113.2
//!                                     └── hv3<t>: 192.0.2.3, vxlan200 head-end to the gateway ── h3<t> 198.51.100.3
//! ```
//!
//! The kernel VTEPs of VNI 100 learn (no `nolearning`): BUM goes to the
//! group, known unicast to the VTEP they learned it from.

use super::*;

/// The group of VNI 100, and a second one to move it to.
pub const GROUP: &str = "239.1.1.1";
pub const GROUP2: &str = "239.1.1.2";
pub const HV3_IP: &str = "192.0.2.3";
pub const H3_IP: &str = "198.51.100.3";
pub const PQ_IP: &str = "198.51.100.13";
pub const H3_MAC: &str = "02:00:00:00:05:01";
pub const PQ_MAC: &str = "02:00:00:00:06:01";
pub const VLAN2: u16 = 20;
pub const VNI2: u32 = 200;

/// Querier timers on the switch (centiseconds, as `ip link` takes them):
/// queries every 2 s with 1 s to answer, memberships kept 5 s, so a member
/// that stopped answering drops out of the mdb within seconds.
const SNOOPING: &str = "mcast_snooping 1 mcast_querier 1 mcast_igmp_version 3 \
     mcast_query_interval 200 mcast_query_response_interval 100 \
     mcast_membership_interval 500 mcast_startup_query_interval 100";

pub struct McastLab {
    pub tag: String,
    pub sw: Netns,
    pub hv1: Netns,
    pub hv2: Netns,
    pub hv3: Netns,
    pub h1: Netns,
    pub h2: Netns,
    pub h3: Netns,
    pub ph: Netns,
    pub pq: Netns,
}

impl McastLab {
    pub fn new() -> McastLab {
        let t = unique_tag();
        let ns = |p: &str| Netns::new(&format!("{p}{t}"));
        let lab = McastLab {
            sw: ns("sw"),
            hv1: ns("hv1"),
            hv2: ns("hv2"),
            hv3: ns("hv3"),
            h1: ns("h1"),
            h2: ns("h2"),
            h3: ns("h3"),
            ph: ns("ph"),
            pq: ns("pq"),
            tag: t,
        };
        lab.build();
        lab
    }

    pub fn underlay_if(&self) -> String {
        format!("vg{}u", self.tag)
    }
    pub fn physical_if(&self) -> String {
        format!("vg{}p", self.tag)
    }
    pub fn physical2_if(&self) -> String {
        format!("vg{}q", self.tag)
    }

    fn build(&self) {
        let (ul, pl, ql) = (self.underlay_if(), self.physical_if(), self.physical2_if());
        for dev in [&ul, &pl, &ql] {
            let _ = try_sh(&format!("ip link del {dev} 2>/dev/null"));
        }
        self.sw.run(&format!(
            "sysctl -qw net.bridge.bridge-nf-call-iptables=0 2>/dev/null; \
             ip link add br0 type bridge stp_state 0 {SNOOPING} nf_call_iptables 0 && \
             ip link set br0 up"
        ));
        sh(&format!(
            "ip link add {ul} type veth peer name gw netns {}",
            self.sw.name
        ));
        quiet_root_veth(&ul);
        self.sw.run(&format!(
            "ethtool -K gw {OFFLOADS_OFF} >/dev/null && ip link set gw master br0 up && \
             bridge link set dev gw mcast_flood off"
        ));

        let kernel_vteps = [
            (
                1,
                &self.hv1,
                &self.h1,
                H1_MAC,
                H1_IP,
                VNI,
                format!("group {GROUP} dev u1 ttl 5"),
            ),
            (
                2,
                &self.hv2,
                &self.h2,
                H2_MAC,
                H2_IP,
                VNI,
                format!("group {GROUP} dev u1 ttl 5"),
            ),
            (
                3,
                &self.hv3,
                &self.h3,
                H3_MAC,
                H3_IP,
                VNI2,
                "nolearning".to_string(),
            ),
        ];
        for (i, hv, h, mac, ip, vni, mode) in kernel_vteps {
            sh(&format!(
                "ip link add u1 netns {} type veth peer name hv{i} netns {}",
                hv.name, self.sw.name
            ));
            self.sw.run(&format!("ip link set hv{i} master br0 up"));
            sh(&format!(
                "ip link add eth0 netns {} type veth peer name p1 netns {}",
                h.name, hv.name
            ));
            hv.run(&format!(
                "ip addr add 192.0.2.{i}/24 dev u1 && ethtool -K u1 tx off >/dev/null && \
                 ip link set u1 up && \
                 ip link add br0 type bridge {QUIET_BRIDGE} && \
                 ip link add vxlan{vni} type vxlan id {vni} dstport 4789 local 192.0.2.{i} {mode} && \
                 ip link set vxlan{vni} master br0 && ip link set p1 master br0 && \
                 ip link set vxlan{vni} up && ip link set p1 up && ip link set br0 up"
            ));
            if vni == VNI2 {
                hv.run(&format!(
                    "bridge fdb append 00:00:00:00:00:00 dev vxlan{vni} dst {GW_IP}"
                ));
            }
            h.run(&format!(
                "ip link set eth0 address {mac} && ip addr add {ip}/24 dev eth0 && \
                 ip link set eth0 mtu 1450 up"
            ));
        }

        for (host, dev, mac, ip, vlan) in [
            (&self.ph, &pl, PH_MAC, PH_IP, VLAN),
            (&self.pq, &ql, PQ_MAC, PQ_IP, VLAN2),
        ] {
            sh(&format!(
                "ip link add {dev} type veth peer name eth0 netns {}",
                host.name
            ));
            quiet_root_veth(dev);
            host.run(&format!(
                "ip link set eth0 address {mac} && ip addr add {ip}/24 dev eth0 && \
                 ethtool -K eth0 {OFFLOADS_OFF} rxvlan off txvlan off >/dev/null && \
                 ip link set eth0 mtu 1450 up"
            ));
            sh(&format!(
                "{}/scripts/vlan_access.sh {} eth0 {vlan}",
                env!("CARGO_MANIFEST_DIR"),
                host.name
            ));
        }
    }

    /// The switch's mdb: (port, group) pairs.
    pub fn mdb(&self) -> Vec<(String, String)> {
        self.sw
            .run("bridge mdb show")
            .lines()
            .filter_map(|l| {
                let w: Vec<&str> = l.split_whitespace().collect();
                let port = w.iter().position(|&x| x == "port")?;
                let grp = w.iter().position(|&x| x == "grp")?;
                Some((w.get(port + 1)?.to_string(), w.get(grp + 1)?.to_string()))
            })
            .collect()
    }

    /// Whether the switch's port `port` is a member of `group`.
    pub fn member(&self, port: &str, group: &str) -> bool {
        self.mdb().iter().any(|(p, g)| p == port && g == group)
    }

    /// Moves the kernel VTEPs of VNI 100 to `group` (their vxlan devices
    /// made again: the kernel cannot change a device's group in place).
    pub fn move_kernel_vteps(&self, group: &str) {
        for (i, hv) in [(1, &self.hv1), (2, &self.hv2)] {
            hv.run(&format!(
                "ip link del vxlan{VNI} && \
                 ip link add vxlan{VNI} type vxlan id {VNI} dstport 4789 local 192.0.2.{i} \
                 group {group} dev u1 ttl 5 && \
                 ip link set vxlan{VNI} master br0 && ip link set vxlan{VNI} up"
            ));
        }
    }

    /// Sends one VXLAN datagram for VNI 999 (which no VTEP here serves)
    /// from hv1 to `group`, by a plain socket (no kernel VTEP involved).
    pub fn probe_group(&self, group: &str) {
        self.hv1.run(&format!(
            "python3 -c \"import socket as s; k = s.socket(s.AF_INET, s.SOCK_DGRAM); \
             k.setsockopt(s.IPPROTO_IP, s.IP_MULTICAST_IF, s.inet_aton('192.0.2.1')); \
             k.sendto(bytes([8, 0, 0, 0, 0, 3, 0xe7, 0]) + bytes(60), ('{group}', 4789))\""
        ));
    }

    /// Switches the querier to IGMP `version` (2 or 3).
    pub fn querier_version(&self, version: u8) {
        self.sw.run(&format!(
            "ip link set br0 type bridge mcast_igmp_version {version}"
        ));
    }

    /// A gateway config for this lab: VNI 100 floods to `group`, VNI 200
    /// head-end to hv3; `extra` appended.
    pub fn gateway_config(&self, group: &str, extra: &str) -> String {
        format!(
            r#"[dataplane]
main_lcore = 0
worker_lcores = [1]
eal_args = ["--no-huge", "-m", "512", "--no-pci", "--file-prefix", "vtepgw{t}", "--vdev", "{ul}", "--vdev", "{pl}", "--vdev", "{ql}"]
mbufs = 8191
idle_sleep_us = 50

[management]
listen = "127.0.0.1:{mgmt}"

[underlay]
device = "net_pcap0"
address = "{GW_IP}/24"

[[port]]
name = "phys0"
device = "net_pcap1"
vlans = [{{ vlan = {VLAN}, vni = {VNI} }}]

[[port]]
name = "phys1"
device = "net_pcap2"
vlans = [{{ vlan = {VLAN2}, vni = {VNI2} }}]

[[vni]]
id = {VNI}
group = "{group}"

[[vni]]
id = {VNI2}
flood = ["{HV3_IP}"]
{extra}
"#,
            t = self.tag,
            ul = veth_vdev(0, &self.underlay_if()),
            pl = veth_vdev(1, &self.physical_if()),
            ql = veth_vdev(2, &self.physical2_if()),
            mgmt = free_port(),
        )
    }
}

impl Drop for McastLab {
    fn drop(&mut self) {
        let _ = try_sh(&format!(
            "ip link del {} 2>/dev/null; ip link del {} 2>/dev/null; ip link del {} 2>/dev/null; true",
            self.underlay_if(),
            self.physical_if(),
            self.physical2_if()
        ));
    }
}
