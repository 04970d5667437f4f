//! The L3 gateway's part of the configuration model (issue 10): VRFs, the
//! gateway interface of a VNI, routed physical interfaces, static routes,
//! ARP suppression, ICMP and neighbour settings. Checked in `l3.rs`.

use crate::types::{Ipv4Cidr, MacAddr};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

/// The VRF every gateway has, and the one an interface or route without
/// a `vrf` is in.
pub const DEFAULT_VRF: &str = "default";

/// Second octet of a derived gateway MAC: marks it as vtepgw's, and keeps
/// it apart from other derived schemes (Docker's 02:42:<IPv4>).
pub const DERIVED_MAC_TAG: u8 = 0x76;

/// The gateway MAC of every VNI that does not set one: `02:76:` and the
/// four octets of the underlay address. 0x02 makes it locally administered
/// and unicast; the underlay address makes it differ between gateways and
/// stay the same across restarts.
pub fn derived_gateway_mac(underlay: Ipv4Addr) -> MacAddr {
    let [a, b, c, d] = underlay.octets();
    MacAddr([0x02, DERIVED_MAC_TAG, a, b, c, d])
}

fn default_vrf() -> String {
    DEFAULT_VRF.to_string()
}

/// `[[vrf]]`: a routing table of its own, so tenants stay apart.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vrf {
    pub name: String,
}

/// `vni[].gateway`: the gateway's own address and MAC in a VNI; its hosts
/// use it as their default router.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VniGateway {
    /// The gateway address and the VNI's subnet, e.g. `198.51.100.1/24`.
    pub address: Ipv4Cidr,
    /// Default: [`derived_gateway_mac`], the same on every VNI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<MacAddr>,
    #[serde(default = "default_vrf")]
    pub vrf: String,
}

/// `vni[].arp_suppression`: whether the gateway answers ARP requests in
/// the VNI instead of flooding them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ArpSuppression {
    /// Requests are flooded like any broadcast.
    #[default]
    Off,
    /// Reply-on-behalf: a request for a host the gateway knows is answered
    /// with that host's own MAC; a miss is flooded.
    Reply,
    /// Proxy: every request is answered with the gateway MAC, so all
    /// traffic, same subnet included, is routed hop by hop.
    Proxy,
}

impl ArpSuppression {
    pub fn is_off(&self) -> bool {
        *self == ArpSuppression::Off
    }
}

/// `[[interface]]`: a routed (not bridged) port, or a VLAN on one: the
/// uplink to the physical routed network.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutedInterface {
    /// Name used by routes, metrics and the API.
    pub name: String,
    /// A `[[port]]` name.
    pub port: String,
    /// 802.1Q VLAN on the port; untagged when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vlan: Option<u16>,
    /// The gateway's address and the connected prefix.
    pub address: Ipv4Cidr,
    #[serde(default = "default_vrf")]
    pub vrf: String,
    /// IP MTU; default: the port's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u16>,
}

/// `[[route]]`: a static route in a VRF, to a next hop, to a connected
/// interface, or to a next hop on a given interface.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticRoute {
    #[serde(default = "default_vrf")]
    pub vrf: String,
    /// Destination; `0.0.0.0/0` is the default route.
    pub prefix: Ipv4Prefix,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_hop: Option<Ipv4Addr>,
    /// A routed interface's `name`, or `vni<ID>` for a VNI's gateway
    /// interface.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
}

/// `[icmp]`: ICMP errors (time exceeded, unreachable, fragmentation
/// needed) leave through a token bucket, as Linux's `icmp_msgs_per_sec`
/// and `icmp_msgs_burst` (whose defaults these are). Echo replies are not
/// limited.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Icmp {
    /// Tokens added per second; 0 sends no ICMP errors at all.
    pub rate_per_sec: u32,
    /// Bucket size: the most errors sent back to back.
    pub burst: u32,
}

impl Default for Icmp {
    fn default() -> Self {
        Icmp {
            rate_per_sec: 1000,
            burst: 50,
        }
    }
}

/// `[neighbour]`: the ARP table of the routed interfaces.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Neighbour {
    /// Seconds a neighbour is used without being refreshed before it is
    /// asked again (ARP request) and, unanswered, removed.
    pub ageing_secs: u32,
    /// ARP requests sent for an unresolved neighbour before it fails.
    pub retries: u8,
    /// Milliseconds between those requests (Linux's `retrans_time_ms`).
    pub retry_interval_ms: u32,
    /// Packets held per unresolved neighbour until it resolves (Linux's
    /// old `unres_qlen`): a few, so the first ping is not lost.
    pub queue_len: u16,
}

impl Default for Neighbour {
    fn default() -> Self {
        Neighbour {
            ageing_secs: 300,
            retries: 3,
            retry_interval_ms: 1000,
            queue_len: 3,
        }
    }
}

/// `[[static_neighbour]]`: a host whose MAC is configured, never asked
/// for by ARP, never aged out, never changed by what traffic says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticNeighbour {
    /// The L3 interface it is on: `vni<ID>` or a routed interface's name.
    pub interface: String,
    pub ip: Ipv4Addr,
    pub mac: MacAddr,
}

/// Whether a section has its default value (left out when serialised, so
/// the file and API forms of a config without L3 do not change).
pub(crate) fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

/// A route destination, written `addr/len` with a length of 0 to 32.
/// Host bits are kept as written so that validation can refuse them by
/// field, not the parser at the first one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Ipv4Prefix {
    pub addr: Ipv4Addr,
    pub len: u8,
}

impl Ipv4Prefix {
    /// The network address: `addr` without its host bits.
    pub fn network(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) & prefix_mask(self.len))
    }

    /// Whether `addr` has bits set past the prefix length.
    pub fn has_host_bits(&self) -> bool {
        self.network() != self.addr
    }
}

/// The mask of a prefix length (0 to 32) as a host-order integer.
pub fn prefix_mask(len: u8) -> u32 {
    u32::MAX
        .checked_shl(32 - u32::from(len.min(32)))
        .unwrap_or(0)
}

impl FromStr for Ipv4Prefix {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (addr, len) =
            crate::types::parse_addr_len(s, "PREFIX/LENGTH, e.g. \"192.0.2.128/25\"", 0)?;
        Ok(Ipv4Prefix { addr, len })
    }
}

impl fmt::Display for Ipv4Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl TryFrom<String> for Ipv4Prefix {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl From<Ipv4Prefix> for String {
    fn from(p: Ipv4Prefix) -> String {
        p.to_string()
    }
}

impl crate::Config {
    /// The MAC of a VNI's gateway interface: its own, else the derived one.
    pub fn gateway_mac(&self, gateway: &VniGateway) -> MacAddr {
        gateway
            .mac
            .unwrap_or_else(|| derived_gateway_mac(self.underlay.address.addr))
    }
}
