//! Which configuration changes a running gateway cannot take: the ones
//! that DPDK fixed at start (cores, EAL, pool, devices and their queues,
//! the listening socket) and MTUs whose frames would not fit the packet
//! buffers allocated at start.

use serde::Serialize;
use vtepgw_config::{Config, ConfigError};

use vtepgw_config::mtu::{PORT_L2_LEN, UNDERLAY_L2_LEN};

/// Every difference between `running` and `candidate` that needs a
/// restart, by field path; empty when the candidate can be applied live.
/// `data_room` is the packet buffers' data room in bytes.
pub fn restart_needed(running: &Config, candidate: &Config, data_room: usize) -> Vec<ConfigError> {
    let mut out = Vec::new();
    let mut refuse = |path: String, reason: String| {
        out.push(ConfigError {
            path,
            reason: format!("{reason}; it needs a restart (change the file and restart)"),
        })
    };
    for field in changed_fields(&running.dataplane, &candidate.dataplane) {
        refuse(
            format!("dataplane.{field}"),
            "the data plane's cores, EAL arguments and buffers are set up at start".into(),
        );
    }
    for field in changed_fields(&running.management, &candidate.management) {
        refuse(
            format!("management.{field}"),
            "the management listener and its token are set up at start".into(),
        );
    }
    if running.underlay.device != candidate.underlay.device {
        refuse(
            "underlay.device".into(),
            format!(
                "the underlay device is \"{}\" and DPDK attached it at start",
                running.underlay.device
            ),
        );
    }
    if running.port.len() != candidate.port.len() {
        let what = if candidate.port.len() > running.port.len() {
            "adding"
        } else {
            "removing"
        };
        refuse(
            "port".into(),
            format!(
                "{what} ports: the gateway runs {} physical port(s), each started with its own queues",
                running.port.len()
            ),
        );
    } else {
        for (i, (old, new)) in running.port.iter().zip(&candidate.port).enumerate() {
            if old.name != new.name {
                refuse(
                    format!("port[{i}].name"),
                    format!("renaming port \"{}\" to \"{}\"", old.name, new.name),
                );
            }
            if old.device != new.device {
                refuse(
                    format!("port[{i}].device"),
                    format!(
                        "port \"{}\" runs on device \"{}\", attached at start",
                        old.name, old.device
                    ),
                );
            }
        }
    }
    let mut fits = |path: String, mtu: u16, l2: usize| {
        let frame = usize::from(mtu) + l2;
        if frame > data_room {
            refuse(
                path,
                format!(
                    "MTU {mtu} means frames of up to {frame} bytes, more than the {data_room}-byte \
                     packet buffers allocated at start"
                ),
            );
        }
    };
    if candidate.underlay.mtu != running.underlay.mtu {
        fits(
            "underlay.mtu".into(),
            candidate.underlay.mtu,
            UNDERLAY_L2_LEN,
        );
    }
    for (i, p) in candidate.port.iter().enumerate() {
        if running.port.get(i).is_none_or(|old| old.mtu != p.mtu) {
            fits(format!("port[{i}].mtu"), p.mtu, PORT_L2_LEN);
        }
    }
    out
}

/// The top-level fields of two values of a section that differ.
fn changed_fields<T: Serialize>(old: &T, new: &T) -> Vec<String> {
    let (Ok(serde_json::Value::Object(old)), Ok(serde_json::Value::Object(new))) =
        (serde_json::to_value(old), serde_json::to_value(new))
    else {
        return Vec::new();
    };
    let mut keys: Vec<&String> = old.keys().chain(new.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| old.get(*k) != new.get(*k))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Config {
        Config::from_toml_str(crate::testkit::CONFIG).unwrap()
    }

    fn paths(errors: &[ConfigError]) -> Vec<&str> {
        errors.iter().map(|e| e.path.as_str()).collect()
    }

    #[test]
    fn live_changes_pass() {
        let old = base();
        let mut new = old.clone();
        new.vni[0].flood.push("192.0.2.3".parse().unwrap());
        new.underlay.udp_port = 8472;
        new.underlay.mtu = 2000;
        new.port[0].mtu = 1400;
        new.port[0].vlans[0].vlan = 20;
        assert!(restart_needed(&old, &new, 2048).is_empty());
    }

    #[test]
    fn start_time_settings_are_named() {
        let old = base();
        let mut new = old.clone();
        new.dataplane.worker_lcores = vec![1, 2];
        new.dataplane.mbufs = 4096;
        new.management.listen = "127.0.0.1:1".parse().unwrap();
        new.underlay.device = "u1".into();
        new.port[0].name = "renamed".into();
        new.port[0].device = "p9".into();
        let errors = restart_needed(&old, &new, 2048);
        assert_eq!(
            paths(&errors),
            [
                "dataplane.mbufs",
                "dataplane.worker_lcores",
                "management.listen",
                "underlay.device",
                "port[0].name",
                "port[0].device"
            ]
        );
        assert!(errors.iter().all(|e| e.reason.contains("needs a restart")));
    }

    #[test]
    fn adding_and_removing_ports_is_refused() {
        let old = base();
        let mut more = old.clone();
        let mut extra = old.port[0].clone();
        extra.name = "phys1".into();
        extra.device = "p1".into();
        more.port.push(extra);
        let errors = restart_needed(&old, &more, 2048);
        assert_eq!(paths(&errors), ["port"]);
        assert!(errors[0].reason.starts_with("adding ports"));
        let mut fewer = old.clone();
        fewer.port.clear();
        assert!(restart_needed(&old, &fewer, 2048)[0]
            .reason
            .starts_with("removing ports"));
    }

    #[test]
    fn mtus_must_fit_the_buffers() {
        let old = base();
        let mut new = old.clone();
        new.underlay.mtu = 2035;
        new.port[0].mtu = 2031;
        let errors = restart_needed(&old, &new, 2048);
        assert_eq!(paths(&errors), ["underlay.mtu", "port[0].mtu"]);
        assert!(errors[0].reason.contains("2049 bytes"), "{}", errors[0]);
        assert!(errors[0].reason.contains("2048-byte"), "{}", errors[0]);
        new.underlay.mtu = 2034;
        new.port[0].mtu = 2030;
        assert!(restart_needed(&old, &new, 2048).is_empty());
    }
}
