//! The L3 lab (issue 10): two VNIs on two subnets, the gateway their
//! default router, routing between them.
//!
//! ```text
//!  ph<t>:  eth0 203.0.113.3 (VLAN 10 access) ── vg<t>p  [gateway phys0: VLAN 10 <-> VNI 100]
//!                                               vg<t>u  [gateway underlay 192.0.2.10;
//!                                                 │       VNI 100 gateway 203.0.113.254/24,
//!                                                 │       VNI 200 gateway 198.51.100.1/24]
//!                                                 │ (root ns)
//!  sw<t>: bridge br0 ── hv1<t>: u1 192.0.2.1, br0 = vxlan100 + p1 ── h1<t>: eth0 203.0.113.1
//!                   └── hv2<t>: u1 192.0.2.2, br0 = vxlan200 + p1 ── h2<t>: eth0 198.51.100.2
//!  rt<t>: eth0 192.0.2.126/26 ── vg<t>r  [gateway uplink: routed interface "core" 192.0.2.65/26]
//!         lo: 192.0.2.129 (the routed network; route 192.0.2.128/25 via 192.0.2.126)
//! ```
//!
//! Every host's default route is its VNI's gateway address. Each kernel
//! VTEP head-end replicates only to the gateway, and the VNIs meet only
//! there: h1 and ph reach h2 only if the gateway routes. The VLAN host is
//! built exactly as in [`Lab`] (no 802.1Q module here: `vlan_access.sh`).

use super::*;

/// VNI 200: h2's segment, behind hv2.
pub const L3_VNI2: u32 = 200;
/// h2's address on VNI 200 (in [`Lab`] h2 is on VNI 100 instead).
pub const L3_H2_IP: &str = "198.51.100.2";
/// The gateway addresses of VNI 100 and VNI 200.
pub const GW1_IP: &str = "203.0.113.254";
pub const GW2_IP: &str = "198.51.100.1";
/// An address on VNI 200's subnet that no host has.
pub const NOBODY_IP: &str = "198.51.100.77";
/// The gateway MAC when `gateway.mac` is unset: 02:76 and the four octets
/// of the underlay address ([`GW_IP`], 192.0.2.10).
pub const GW_MAC: &str = "02:76:c0:00:02:0a";
/// The routed uplink: the gateway's address on it, the physical router's,
/// and a host of the routed network behind the router.
pub const UPLINK_IP: &str = "192.0.2.65";
pub const ROUTER_IP: &str = "192.0.2.126";
pub const ROUTER_MAC: &str = "02:00:00:00:09:01";
pub const ROUTED_HOST_IP: &str = "192.0.2.129";

pub struct L3Lab {
    pub tag: String,
    pub sw: Netns,
    pub hv1: Netns,
    pub hv2: Netns,
    pub h1: Netns,
    pub h2: Netns,
    pub ph: Netns,
    /// The physical router behind the gateway's routed uplink.
    pub rt: Netns,
}

impl L3Lab {
    pub fn new() -> L3Lab {
        let t = unique_tag();
        let ns = |p: &str| Netns::new(&format!("{p}{t}"));
        let lab = L3Lab {
            sw: ns("sw"),
            hv1: ns("hv1"),
            hv2: ns("hv2"),
            h1: ns("h1"),
            h2: ns("h2"),
            ph: ns("ph"),
            rt: ns("rt"),
            tag: t,
        };
        // On a panic below, dropping `lab` removes whatever was built.
        lab.build();
        lab
    }

    /// The gateway's underlay veth (root namespace).
    pub fn underlay_if(&self) -> String {
        format!("vg{}u", self.tag)
    }

    /// The gateway's physical-port veth (root namespace).
    pub fn physical_if(&self) -> String {
        format!("vg{}p", self.tag)
    }

    /// The gateway's routed-uplink veth (root namespace).
    pub fn uplink_if(&self) -> String {
        format!("vg{}r", self.tag)
    }

    /// All namespaces of the lab.
    pub fn namespaces(&self) -> [&Netns; 7] {
        [
            &self.sw, &self.hv1, &self.hv2, &self.h1, &self.h2, &self.ph, &self.rt,
        ]
    }

    fn build(&self) {
        gateway_switch(&self.sw, &self.ph, &self.underlay_if(), &self.physical_if());

        // One kernel VTEP per VNI, each with one host whose default
        // router is the gateway address of its VNI.
        for (i, hv, h, vni, mac, cidr, router) in [
            (
                1,
                &self.hv1,
                &self.h1,
                VNI,
                H1_MAC,
                "203.0.113.1/24",
                GW1_IP,
            ),
            (
                2,
                &self.hv2,
                &self.h2,
                L3_VNI2,
                H2_MAC,
                "198.51.100.2/24",
                GW2_IP,
            ),
        ] {
            sh(&format!(
                "ip link add u1 netns {} type veth peer name hv{i} netns {}",
                hv.name, self.sw.name
            ));
            self.sw.run(&format!("ip link set hv{i} master br0 up"));
            sh(&format!(
                "ip link add eth0 netns {} type veth peer name p1 netns {}",
                h.name, hv.name
            ));
            // `tx off` on u1: otherwise outer and inner UDP checksums stay
            // partial (unfilled) for an AF_PACKET reader such as DPDK.
            hv.run(&format!(
                "ip addr add 192.0.2.{i}/24 dev u1 && ethtool -K u1 tx off >/dev/null && \
                 ip link set u1 up && \
                 ip link add br0 type bridge {QUIET_BRIDGE} && \
                 ip link add vxlan{vni} type vxlan id {vni} dstport 4789 local 192.0.2.{i} nolearning && \
                 ip link set vxlan{vni} master br0 && ip link set p1 master br0 && \
                 ip link set vxlan{vni} up && ip link set p1 up && ip link set br0 up && \
                 bridge fdb append 00:00:00:00:00:00 dev vxlan{vni} dst {GW_IP}"
            ));
            h.run(&format!(
                "ip link set eth0 address {mac} && ip addr add {cidr} dev eth0 && \
                 ip link set eth0 mtu 1450 up && ip route add default via {router}"
            ));
        }

        // The physical router on the gateway's routed uplink, with the
        // routed network behind it (ROUTED_HOST_IP on its loopback: this
        // kernel has no dummy devices) and
        // routes back to the VNIs' prefixes through the gateway.
        let rl = self.uplink_if();
        let _ = try_sh(&format!("ip link del {rl} 2>/dev/null")); // stale
        sh(&format!(
            "ip link add {rl} type veth peer name eth0 netns {}",
            self.rt.name
        ));
        quiet_root_veth(&rl);
        self.rt.run(&format!(
            "ip link set eth0 address {ROUTER_MAC} && ip addr add {ROUTER_IP}/26 dev eth0 && \
             ethtool -K eth0 {OFFLOADS_OFF} >/dev/null && ip link set eth0 up && \
             ip link set lo up && ip addr add {ROUTED_HOST_IP}/32 dev lo && \
             ip route add 203.0.113.0/24 via {UPLINK_IP} && \
             ip route add 198.51.100.0/24 via {UPLINK_IP}"
        ));

        // The physical host on a VLAN 10 access port, exactly as in `Lab`.
        self.ph.run(&format!(
            "ip link set eth0 address {PH_MAC} && ip addr add {PH_IP}/24 dev eth0 && \
             ethtool -K eth0 {OFFLOADS_OFF} rxvlan off txvlan off >/dev/null && \
             ip link set eth0 mtu 1450 up && ip route add default via {GW1_IP}"
        ));
        sh(&format!(
            "{}/scripts/vlan_access.sh {} eth0 {VLAN}",
            env!("CARGO_MANIFEST_DIR"),
            self.ph.name
        ));
    }

    /// The gateway config for this lab: VNI 100 (VLAN 10 on phys0, flood
    /// to hv1) with gateway 203.0.113.254/24 and VNI 200 (flood to hv2)
    /// with gateway 198.51.100.1/24, both in VRF `default` with the derived
    /// MAC. `vni_extra_100` and `vni_extra_200` are more lines in each
    /// `[[vni]]`, `extra` more sections at the end.
    pub fn gateway_config(&self, vni_extra_100: &str, vni_extra_200: &str, extra: &str) -> String {
        self.render(
            &format!(r#"gateway = {{ address = "{GW2_IP}/24" }}"#),
            vni_extra_100,
            vni_extra_200,
            extra,
        )
    }

    /// [`L3Lab::gateway_config`] with VNI 200's gateway in VRF `vrf`
    /// (declared in a `[[vrf]]` section), VNI 100's in `default`.
    pub fn vrf_config(&self, vrf: &str, extra: &str) -> String {
        self.render(
            &format!(r#"gateway = {{ address = "{GW2_IP}/24", vrf = "{vrf}" }}"#),
            "",
            "",
            &format!("[[vrf]]\nname = \"{vrf}\"\n\n{extra}"),
        )
    }

    /// The config with `gateway_200` as VNI 200's gateway line.
    fn render(
        &self,
        gateway_200: &str,
        vni_extra_100: &str,
        vni_extra_200: &str,
        extra: &str,
    ) -> String {
        let (ul_dev, pl_dev, rl_dev) = (
            veth_vdev(0, &self.underlay_if()),
            veth_vdev(1, &self.physical_if()),
            veth_vdev(2, &self.uplink_if()),
        );
        format!(
            r#"[dataplane]
main_lcore = 0
worker_lcores = [1]
eal_args = ["--no-huge", "-m", "512", "--no-pci", "--file-prefix", "vtepgw{t}", "--vdev", "{ul_dev}", "--vdev", "{pl_dev}", "--vdev", "{rl_dev}"]
mbufs = 8191
idle_sleep_us = 50

[management]
listen = "127.0.0.1:{mgmt}"

[underlay]
device = "net_pcap0"
address = "{GW_IP}/24"
udp_port = 4789

[[port]]
name = "phys0"
device = "net_pcap1"
vlans = [{{ vlan = {VLAN}, vni = {VNI} }}]

[[port]]
name = "uplink"
device = "net_pcap2"

# The routed uplink to the physical router, and the network behind it.
[[interface]]
name = "core"
port = "uplink"
address = "{UPLINK_IP}/26"

[[route]]
prefix = "192.0.2.128/25"
next_hop = "{ROUTER_IP}"

[[vni]]
id = {VNI}
flood = ["{HV1_IP}"]
gateway = {{ address = "{GW1_IP}/24" }}
{vni_extra_100}

[[vni]]
id = {L3_VNI2}
flood = ["{HV2_IP}"]
{gateway_200}
{vni_extra_200}

{extra}
"#,
            t = self.tag,
            mgmt = free_port(),
        )
    }
}

impl Drop for L3Lab {
    fn drop(&mut self) {
        // The namespaces (dropped after this) take their veth ends along;
        // deleting the root ends here makes that immediate.
        let _ = try_sh(&format!(
            "ip link del {} 2>/dev/null; ip link del {} 2>/dev/null; ip link del {} 2>/dev/null; true",
            self.underlay_if(),
            self.physical_if(),
            self.uplink_if()
        ));
    }
}
