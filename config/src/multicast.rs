//! Multicast core replication: each VNI's underlay `group` and the IGMP
//! host settings, checked with the rest of the config.

use crate::model::Config;
use crate::validate::Report;
use std::net::Ipv4Addr;

/// Why `group` cannot carry a VNI's BUM traffic, if it cannot.
pub fn group_problem(group: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = group.octets();
    if !group.is_multicast() {
        Some("not a multicast address (224.0.0.0/4)")
    } else if (a, b, c) == (224, 0, 0) {
        Some("224.0.0.0/24 is link-local: routers never forward it")
    } else if a == 232 {
        Some("232.0.0.0/8 is source-specific multicast, which needs source lists (not supported)")
    } else {
        None
    }
}

/// Distinct groups the VNIs may use at once (the data plane keeps
/// counters for each).
pub const MAX_GROUPS: usize = 256;

pub(crate) fn validate(config: &Config, r: &mut Report) {
    let mut distinct = std::collections::BTreeSet::new();
    for (i, v) in config.vni.iter().enumerate() {
        let Some(group) = v.group else { continue };
        if distinct.insert(group) && distinct.len() == MAX_GROUPS + 1 {
            r.error(
                format!("vni[{i}].group"),
                format!("{group}: more than {MAX_GROUPS} distinct groups; let VNIs share groups"),
            );
        }
        if let Some(why) = group_problem(group) {
            r.error(format!("vni[{i}].group"), format!("{group}: {why}"));
        }
        if !v.flood.is_empty() {
            r.error(
                format!("vni[{i}].group"),
                "a VNI floods either to its group or to its head-end `flood` list, not both",
            );
        }
    }
    if config.underlay.multicast_ttl == 0 {
        r.error(
            "underlay.multicast_ttl",
            "a TTL of 0 would be dropped by the first router",
        );
    }
    let g = &config.igmp;
    let ranges: [(&str, u64, u64, u64); 4] = [
        ("igmp.robustness", g.robustness.into(), 1, 7),
        (
            "igmp.unsolicited_report_interval_ms",
            g.unsolicited_report_interval_ms.into(),
            100,
            60_000,
        ),
        (
            "igmp.query_interval_secs",
            g.query_interval_secs.into(),
            1,
            3600,
        ),
        (
            "igmp.query_response_interval_ms",
            g.query_response_interval_ms.into(),
            100,
            25_500,
        ),
    ];
    for (path, value, min, max) in ranges {
        if !(min..=max).contains(&value) {
            r.error(path, format!("{value} is not between {min} and {max}"));
        }
    }
    if u64::from(g.query_response_interval_ms) >= u64::from(g.query_interval_secs) * 1000 {
        r.error(
            "igmp.query_response_interval_ms",
            "must be shorter than igmp.query_interval_secs (RFC 3376 section 8.3)",
        );
    }
}
