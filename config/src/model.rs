//! The configuration model, exactly as the TOML file spells it.

use crate::l3_model::{
    is_default, ArpSuppression, Icmp, Neighbour, RoutedInterface, StaticNeighbour, StaticRoute,
    VniGateway, Vrf,
};
use crate::types::{Ipv4Cidr, MacAddr, PortRange};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

/// The whole gateway configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub dataplane: Dataplane,
    #[serde(default)]
    pub management: Management,
    pub underlay: Underlay,
    #[serde(default)]
    pub port: Vec<PortConfig>,
    #[serde(default)]
    pub vni: Vec<VniConfig>,
    #[serde(default)]
    pub igmp: Igmp,
    /// L3 gateway (issue 10): VRFs besides `default`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vrf: Vec<Vrf>,
    /// Routed physical interfaces.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub interface: Vec<RoutedInterface>,
    /// Static routes, per VRF.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub route: Vec<StaticRoute>,
    #[serde(default, skip_serializing_if = "is_default")]
    pub icmp: Icmp,
    #[serde(default, skip_serializing_if = "is_default")]
    pub neighbour: Neighbour,
    /// Neighbours with a configured MAC.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub static_neighbour: Vec<StaticNeighbour>,
}

/// Cores, DPDK arguments and buffer sizing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Dataplane {
    /// The EAL main lcore: runs the control and management threads.
    pub main_lcore: u32,
    /// One poll-mode worker per lcore; each owns a share of the ports'
    /// receive queues and one transmit queue on every port.
    pub worker_lcores: Vec<u32>,
    /// The CPU an lcore runs on, where it is not the CPU of the same number
    /// (EAL `--lcores 2@1`): e.g. `{ 2 = 1 }` runs lcore 2 on CPU 1, so a
    /// machine with fewer CPUs than lcores listed can still run them.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub lcore_cpus: BTreeMap<u32, u32>,
    /// Extra EAL arguments (vdevs, memory); the lcore layout comes from above.
    pub eal_args: Vec<String>,
    /// Packet buffers in the pool shared by all ports.
    pub mbufs: u32,
    /// Packets per RX burst.
    pub burst_size: u16,
    /// Microseconds a worker sleeps after an empty poll (0: busy poll).
    pub idle_sleep_us: u32,
    /// Slots in the shared MAC table (all VNIs together).
    pub mac_table_capacity: u32,
}

impl Default for Dataplane {
    fn default() -> Self {
        Dataplane {
            main_lcore: 0,
            worker_lcores: vec![1],
            lcore_cpus: BTreeMap::new(),
            eal_args: Vec::new(),
            mbufs: 8191,
            burst_size: 32,
            idle_sleep_us: 0,
            mac_table_capacity: 65536,
        }
    }
}

/// The management API.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Management {
    /// Where the HTTP API and `/metrics` listen.
    pub listen: SocketAddr,
    /// A file holding the bearer token that mutating API calls must present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_file: Option<PathBuf>,
    /// Most API connections open at once; when full, the connection that
    /// has waited longest outside a request is closed to make room.
    pub max_connections: u32,
    /// Seconds a client has to send a request's head (from connecting, or
    /// from its first byte after an idle keep-alive pause).
    pub header_timeout_secs: u32,
    /// Seconds an idle keep-alive connection is kept open.
    pub idle_timeout_secs: u32,
}

impl Default for Management {
    fn default() -> Self {
        Management {
            listen: SocketAddr::from(([127, 0, 0, 1], 9180)),
            token_file: None,
            max_connections: 64,
            header_timeout_secs: 10,
            idle_timeout_secs: 60,
        }
    }
}

/// What to do when the underlay MTU cannot carry an overlay's frames.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MtuCheck {
    /// Refuse the configuration.
    #[default]
    Error,
    /// Accept it with a warning (oversize frames are dropped and counted).
    Warn,
}

/// The underlay (VXLAN transport) port and this VTEP's identity.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Underlay {
    /// DPDK device: a PCI address or a vdev name such as `net_af_packet0`.
    pub device: String,
    /// This VTEP's IPv4 address and prefix.
    pub address: Ipv4Cidr,
    /// Next hop for VTEPs outside the prefix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<Ipv4Addr>,
    /// IP MTU of the underlay network.
    #[serde(default = "default_underlay_mtu")]
    pub mtu: u16,
    /// VXLAN UDP port (4789; flannel uses 8472).
    #[serde(default = "default_udp_port")]
    pub udp_port: u16,
    /// Range that the per-flow UDP source port is spread over.
    #[serde(default)]
    pub source_ports: PortRange,
    /// Outer IPv4 TTL.
    #[serde(default = "default_ttl")]
    pub ttl: u8,
    /// `error` refuses MTU-starved configs; `warn` only warns.
    #[serde(default)]
    pub mtu_check: MtuCheck,
    /// Outer IPv4 TTL of VXLAN sent to a multicast group. Not Linux's 1:
    /// that never crosses a router, and a routed (PIM) underlay is the
    /// usual home of multicast VXLAN.
    #[serde(default = "default_ttl")]
    pub multicast_ttl: u8,
}

fn default_underlay_mtu() -> u16 {
    1550
}
fn default_udp_port() -> u16 {
    4789
}
fn default_ttl() -> u8 {
    64
}
fn default_port_mtu() -> u16 {
    1500
}
fn default_true() -> bool {
    true
}
fn default_ageing() -> u32 {
    300
}
fn default_mac_limit() -> u32 {
    4096
}

/// A physical (VLAN) port.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortConfig {
    /// Name used in metrics and the API.
    pub name: String,
    /// DPDK device.
    pub device: String,
    /// IP MTU of the attached network.
    #[serde(default = "default_port_mtu")]
    pub mtu: u16,
    /// VNI for untagged (and priority-tagged) frames.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub untagged_vni: Option<u32>,
    /// Tagged VLANs and their VNIs.
    #[serde(default)]
    pub vlans: Vec<VlanBinding>,
}

/// VLAN `vlan` on a port is bridged to `vni`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VlanBinding {
    pub vlan: u16,
    pub vni: u32,
}

/// A VXLAN segment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VniConfig {
    /// The 24-bit VNI.
    pub id: u32,
    /// Head-end replication list: remote VTEPs that get BUM traffic.
    #[serde(default)]
    pub flood: Vec<Ipv4Addr>,
    /// Underlay multicast group for BUM traffic instead of `flood`
    /// (multicast core replication, RFC 7348 section 4.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<Ipv4Addr>,
    /// Learn source MACs from traffic.
    #[serde(default = "default_true")]
    pub learning: bool,
    /// Seconds an idle learned MAC is kept.
    #[serde(default = "default_ageing")]
    pub mac_ageing_secs: u32,
    /// Most learned MACs this VNI may hold.
    #[serde(default = "default_mac_limit")]
    pub mac_limit: u32,
    /// Overlay IP MTU; default: the largest MTU of its ports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u16>,
    /// MACs pinned to remote VTEPs.
    #[serde(default)]
    pub static_macs: Vec<StaticMac>,
    /// The L3 gateway's interface in this VNI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<VniGateway>,
    /// `off` (default), `reply` (on behalf of known hosts) or `proxy`.
    #[serde(default, skip_serializing_if = "ArpSuppression::is_off")]
    pub arp_suppression: ArpSuppression,
}

/// A MAC reachable through a remote VTEP, configured rather than learned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticMac {
    pub mac: MacAddr,
    pub vtep: Ipv4Addr,
}

/// IGMP version the gateway speaks as a host on the underlay.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub enum IgmpVersion {
    /// RFC 2236.
    V2,
    /// RFC 3376 (falls back to v2 while a v2 querier is heard).
    #[default]
    V3,
}

impl TryFrom<u8> for IgmpVersion {
    type Error = String;
    fn try_from(v: u8) -> Result<Self, String> {
        match v {
            2 => Ok(IgmpVersion::V2),
            3 => Ok(IgmpVersion::V3),
            _ => Err(format!("IGMP version {v} is not supported; use 2 or 3")),
        }
    }
}

impl From<IgmpVersion> for u8 {
    fn from(v: IgmpVersion) -> u8 {
        match v {
            IgmpVersion::V2 => 2,
            IgmpVersion::V3 => 3,
        }
    }
}

/// IGMP host settings for the groups of `vni[].group` (RFC 3376 section
/// 8 and RFC 2236 section 8 defaults).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Igmp {
    /// 3 (default) or 2.
    pub version: IgmpVersion,
    /// Robustness Variable: unsolicited reports and leaves are sent this often.
    pub robustness: u8,
    /// Gap between the repeated unsolicited reports of a join or leave.
    pub unsolicited_report_interval_ms: u32,
    /// Query Interval, assumed until a querier says otherwise (v3 QQIC).
    pub query_interval_secs: u32,
    /// Query Response Interval, for the older-version-querier timeout.
    pub query_response_interval_ms: u32,
}

impl Default for Igmp {
    fn default() -> Self {
        Igmp {
            version: IgmpVersion::V3,
            robustness: 2,
            unsolicited_report_interval_ms: 1000,
            query_interval_secs: 125,
            query_response_interval_ms: 10_000,
        }
    }
}
