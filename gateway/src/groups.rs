//! The underlay multicast groups of the VNIs (multicast core replication,
//! RFC 7348 section 4.2), compiled for the data plane: each group's mapped
//! MAC, its ready outer header (no ARP: the destination MAC is the mapped
//! one) and a counter entry that stays the group's across config changes.

use crate::pipeline::encap::OuterTemplate;
use crate::snapshot::BuildError;
use crate::wire::igmp::multicast_mac;
use crate::wire::Mac;
use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use vtepgw_config::Config;

/// Distinct groups at once (per-group counters are preallocated for each;
/// config validation refuses more).
pub const MAX_GROUPS: usize = vtepgw_config::multicast::MAX_GROUPS;

/// One group some VNI floods to.
#[derive(Clone, Debug)]
pub struct GroupPlan {
    pub addr: Ipv4Addr,
    /// 01:00:5e and the group's low 23 bits.
    pub mac: Mac,
    /// Its entry in the per-group counters; kept while the group stays in use.
    pub counter: u16,
    /// Outer headers of VXLAN to the group: our MAC and address, the mapped
    /// MAC, `underlay.multicast_ttl`, DF.
    pub outer: OuterTemplate,
}

/// The groups of `config`'s VNIs, sorted by address. A group keeps the
/// counter entry it had in `previous`; new ones take the lowest free one.
pub fn plan(
    config: &Config,
    previous: Option<&[GroupPlan]>,
    underlay_mac: Mac,
) -> Result<Vec<GroupPlan>, BuildError> {
    let addrs: BTreeSet<Ipv4Addr> = config.vni.iter().filter_map(|v| v.group).collect();
    if addrs.len() > MAX_GROUPS {
        return Err(BuildError(format!(
            "vni: {} distinct groups, at most {MAX_GROUPS} are supported",
            addrs.len()
        )));
    }
    let previous = previous.unwrap_or(&[]);
    let kept = |a: Ipv4Addr| previous.iter().find(|g| g.addr == a).map(|g| g.counter);
    let mut used = [false; MAX_GROUPS];
    for &a in &addrs {
        if let Some(s) = kept(a) {
            used[usize::from(s)] = true;
        }
    }
    let u = &config.underlay;
    let mut out = Vec::with_capacity(addrs.len());
    for addr in addrs {
        let counter = match kept(addr) {
            Some(s) => s,
            None => {
                // At most MAX_GROUPS groups, so a free entry exists.
                let free = used.iter().position(|&u| !u).unwrap_or(0);
                used[free] = true;
                free as u16
            }
        };
        let mac = multicast_mac(addr);
        out.push(GroupPlan {
            addr,
            mac,
            counter,
            outer: OuterTemplate::new(
                underlay_mac,
                mac,
                u.address.addr,
                addr,
                u.udp_port,
                u.multicast_ttl,
            ),
        });
    }
    Ok(out)
}

/// Whether an underlay frame to `mac` is for us as a group member: a
/// group's mapped MAC, or all-hosts (01:00:5e:00:00:01, general queries).
/// `macs` is sorted, as [`receive_macs`] makes it.
#[inline]
pub fn receives_mac(macs: &[Mac], mac: &Mac) -> bool {
    macs.binary_search(mac).is_ok()
}

/// 224.0.0.1's MAC, where general queries go.
pub const ALL_HOSTS_MAC: Mac = Mac([0x01, 0x00, 0x5e, 0, 0, 1]);

/// The MACs the underlay NIC must receive for `groups` (none without groups).
pub fn receive_macs(groups: &[GroupPlan]) -> Vec<Mac> {
    let mut macs: Vec<Mac> = groups.iter().map(|g| g.mac).collect();
    if !macs.is_empty() {
        macs.push(ALL_HOSTS_MAC);
    }
    macs.sort_unstable();
    macs.dedup();
    macs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(groups: &[&str]) -> Config {
        let mut text = String::from(
            "[underlay]\ndevice = \"u0\"\naddress = \"192.0.2.10/24\"\nmulticast_ttl = 9\n",
        );
        for (i, g) in groups.iter().enumerate() {
            text += &format!("[[vni]]\nid = {}\ngroup = \"{g}\"\n", 100 + i);
        }
        Config::from_toml_str(&text).unwrap()
    }

    #[test]
    fn groups_keep_their_counter_entries_across_changes() {
        let mac = Mac([2, 0, 0, 0, 0, 1]);
        let a = plan(&config(&["239.1.1.3", "239.1.1.1"]), None, mac).unwrap();
        let addrs: Vec<_> = a.iter().map(|g| (g.addr.to_string(), g.counter)).collect();
        assert_eq!(
            addrs,
            [("239.1.1.1".into(), 0), ("239.1.1.3".into(), 1)] as [(String, u16); 2]
        );
        // 239.1.1.2 sorts between them but takes the free entry, not theirs.
        let b = plan(
            &config(&["239.1.1.3", "239.1.1.2", "239.1.1.1"]),
            Some(&a),
            mac,
        )
        .unwrap();
        let counters: Vec<_> = b.iter().map(|g| g.counter).collect();
        assert_eq!(counters, [0, 2, 1]);
        // Shared groups are one entry.
        let c = plan(&config(&["239.1.1.1", "239.1.1.1"]), Some(&b), mac).unwrap();
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].mac, [0x01, 0, 0x5e, 1, 1, 1]);
    }

    #[test]
    fn the_outer_header_goes_to_the_mapped_mac_with_the_multicast_ttl() {
        let g = &plan(&config(&["239.129.2.3"]), None, Mac([2, 0, 0, 0, 0, 1])).unwrap()[0];
        let mut out = [0u8; crate::pipeline::encap::ENCAP_LEN];
        g.outer
            .emit(&mut out, 60, 7, 50000, crate::types::Vni::new(100).unwrap());
        assert_eq!(&out[..6], &[0x01, 0, 0x5e, 1, 2, 3], "low 23 bits only");
        assert_eq!(out[22], 9, "multicast_ttl");
        assert_eq!(&out[30..34], &[239, 129, 2, 3]);
        assert_eq!(crate::wire::checksum(&out[14..34]), 0);
        assert_eq!(
            receive_macs(std::slice::from_ref(g)),
            [ALL_HOSTS_MAC, g.mac]
        );
        assert!(receive_macs(&[]).is_empty(), "no groups, no filter entries");
    }
}
