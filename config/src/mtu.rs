//! MTU rules shared by the config file, the API and the CLI.
//!
//! An overlay frame of IP MTU `m` is `m + 14` bytes of inner Ethernet. VXLAN
//! over IPv4 wraps it in outer IPv4 (20) + UDP (8) + VXLAN (8) headers, so the
//! underlay's IP MTU must be at least `m + 14 + 36 = m + 50`; over IPv6 the
//! outer header is 40 bytes (`m + 70`); each underlay VLAN tag adds 4 more.

use crate::model::Config;
use serde::Serialize;

/// Inner Ethernet + outer IPv4 + UDP + VXLAN.
pub const VXLAN_OVERHEAD_IPV4: u16 = 50;
/// Inner Ethernet + outer IPv6 + UDP + VXLAN.
pub const VXLAN_OVERHEAD_IPV6: u16 = 70;
/// One 802.1Q tag on the underlay.
pub const VLAN_TAG_LEN: u16 = 4;
/// Ethernet header bytes of an underlay frame on top of its IP MTU (untagged).
pub const UNDERLAY_L2_LEN: usize = 14;
/// Ethernet header bytes of a physical-port frame on top of its IP MTU (one tag).
pub const PORT_L2_LEN: usize = 18;
/// Overlay MTU of a VNI bound to no port and configured without one.
pub const DEFAULT_OVERLAY_MTU: u16 = 1500;

/// Bytes VXLAN adds on top of an overlay IP MTU.
pub fn overhead(ipv6_underlay: bool, underlay_vlan_tags: u16) -> u16 {
    let base = if ipv6_underlay {
        VXLAN_OVERHEAD_IPV6
    } else {
        VXLAN_OVERHEAD_IPV4
    };
    base + VLAN_TAG_LEN * underlay_vlan_tags
}

/// How one VNI's frames fit the underlay.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VniMtu {
    pub vni: u32,
    /// Largest overlay IP packet the VNI carries.
    pub overlay_mtu: u16,
    pub underlay_mtu: u16,
    /// Underlay MTU needed to carry `overlay_mtu`.
    pub required_underlay_mtu: u32,
    /// `underlay_mtu - required_underlay_mtu`; negative means starved.
    pub margin: i32,
}

/// The overlay MTU of VNI `index`: its own setting, else its ports' largest.
pub fn overlay_mtu(config: &Config, index: usize) -> u16 {
    let v = &config.vni[index];
    if let Some(mtu) = v.mtu {
        return mtu;
    }
    config
        .port
        .iter()
        .filter(|p| p.untagged_vni == Some(v.id) || p.vlans.iter().any(|b| b.vni == v.id))
        .map(|p| p.mtu)
        .max()
        .unwrap_or(DEFAULT_OVERLAY_MTU)
}

/// Per-VNI MTU report, in config order.
pub fn report(config: &Config) -> Vec<VniMtu> {
    let overhead = u32::from(overhead(false, 0));
    (0..config.vni.len())
        .map(|i| {
            let overlay = overlay_mtu(config, i);
            let required = u32::from(overlay) + overhead;
            VniMtu {
                vni: config.vni[i].id,
                overlay_mtu: overlay,
                underlay_mtu: config.underlay.mtu,
                required_underlay_mtu: required,
                margin: i32::from(config.underlay.mtu) - required as i32,
            }
        })
        .collect()
}

/// The message for a starved VNI, with the numbers.
pub fn starved_message(r: &VniMtu) -> String {
    format!(
        "underlay MTU {} cannot carry VNI {}'s overlay MTU {}: VXLAN over IPv4 adds {} bytes, \
         so the underlay needs at least {} (short by {})",
        r.underlay_mtu,
        r.vni,
        r.overlay_mtu,
        VXLAN_OVERHEAD_IPV4,
        r.required_underlay_mtu,
        -r.margin
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overheads() {
        assert_eq!(overhead(false, 0), 50);
        assert_eq!(overhead(false, 1), 54);
        assert_eq!(overhead(true, 0), 70);
        assert_eq!(overhead(true, 2), 78);
    }
}
