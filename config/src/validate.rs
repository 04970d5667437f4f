//! Whole-config validation: every problem is collected with the path of the
//! offending field (`vni[1].flood[0]`), so one run shows them all.

use crate::model::{Config, MtuCheck};
use crate::types::Ipv4Cidr;
use crate::{mtu, ConfigError, ConfigErrors, ConfigWarning};
use std::collections::{HashMap, HashSet};
use std::net::Ipv4Addr;

/// Largest VXLAN Network Identifier (24 bits).
pub const MAX_VNI: u32 = (1 << 24) - 1;
/// Most VNIs one gateway serves.
pub const MAX_VNIS: usize = 4096;
/// Most physical ports.
pub const MAX_PORTS: usize = RTE_MAX_ETHPORTS - 1;
/// Largest burst a worker handles.
pub const MAX_BURST: u16 = 64;
/// DPDK's RTE_MAX_LCORE in Debian's 22.11 build (`rte_build_config.h`):
/// lcore ids must be below it.
pub const RTE_MAX_LCORE: u32 = 128;
/// DPDK's RTE_MAX_ETHPORTS in that build: the underlay plus the ports.
pub const RTE_MAX_ETHPORTS: usize = 32;
/// DPDK's RTE_DEV_NAME_MAX_LEN, with its terminating NUL.
const RTE_DEV_NAME_MAX_LEN: usize = 64;
/// Longest port name: it appears in every metric label and API path.
pub const MAX_PORT_NAME: usize = 64;
/// EAL options that the `dataplane` section sets itself.
const RESERVED_EAL_ARGS: [&str; 5] = ["-l", "--lcores", "-c", "--main-lcore", "--master-lcore"];

#[derive(Default)]
pub(crate) struct Report {
    errors: Vec<ConfigError>,
    warnings: Vec<ConfigWarning>,
}

impl Report {
    pub(crate) fn error(&mut self, path: impl Into<String>, reason: impl Into<String>) {
        self.errors.push(ConfigError {
            path: path.into(),
            reason: reason.into(),
        });
    }

    pub(crate) fn warn(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.warnings.push(ConfigWarning {
            path: path.into(),
            message: message.into(),
        });
    }
}

/// Checks a parsed config; returns its warnings, or every error found.
pub fn validate(config: &Config) -> Result<Vec<ConfigWarning>, ConfigErrors> {
    let mut r = Report::default();
    dataplane(config, &mut r);
    management(config, &mut r);
    underlay(config, &mut r);
    let vnis = vnis(config, &mut r);
    ports(config, &vnis, &mut r);
    mtus(config, &mut r);
    crate::multicast::validate(config, &mut r);
    crate::l3::validate(config, &mut r);
    if r.errors.is_empty() {
        Ok(r.warnings)
    } else {
        Err(ConfigErrors(r.errors))
    }
}

fn dataplane(config: &Config, r: &mut Report) {
    let d = &config.dataplane;
    if d.worker_lcores.is_empty() {
        r.error(
            "dataplane.worker_lcores",
            "at least one worker lcore is needed",
        );
    }
    if d.main_lcore >= RTE_MAX_LCORE {
        r.error(
            "dataplane.main_lcore",
            format!(
                "lcore {} is not below DPDK's RTE_MAX_LCORE ({RTE_MAX_LCORE})",
                d.main_lcore
            ),
        );
    }
    let most = RTE_MAX_LCORE as usize - 1;
    if d.worker_lcores.len() > most {
        r.error(
            "dataplane.worker_lcores",
            format!(
                "{} worker lcores listed; at most {most} (DPDK's RTE_MAX_LCORE is {RTE_MAX_LCORE}, one of them the main lcore)",
                d.worker_lcores.len()
            ),
        );
    }
    let mut seen = HashSet::new();
    // A list that long is reported once above, not per entry.
    for (i, &l) in d.worker_lcores.iter().enumerate().take(most) {
        if l >= RTE_MAX_LCORE {
            r.error(
                format!("dataplane.worker_lcores[{i}]"),
                format!("lcore {l} is not below DPDK's RTE_MAX_LCORE ({RTE_MAX_LCORE})"),
            );
        } else if l == d.main_lcore {
            r.error(
                format!("dataplane.worker_lcores[{i}]"),
                format!("lcore {l} is the main lcore; workers need their own"),
            );
        } else if !seen.insert(l) {
            r.error(
                format!("dataplane.worker_lcores[{i}]"),
                format!("lcore {l} is listed twice"),
            );
        }
    }
    for (&lcore, &cpu) in &d.lcore_cpus {
        let path = format!("dataplane.lcore_cpus.{lcore}");
        if lcore != d.main_lcore && !d.worker_lcores.contains(&lcore) {
            r.error(
                path,
                format!("lcore {lcore} is neither the main lcore nor a worker lcore"),
            );
        } else if cpu >= RTE_MAX_LCORE {
            r.error(
                path,
                format!("CPU {cpu} is not below DPDK's RTE_MAX_LCORE ({RTE_MAX_LCORE})"),
            );
        }
    }
    for (i, a) in d.eal_args.iter().enumerate() {
        let name = a.split('=').next().unwrap_or(a);
        if RESERVED_EAL_ARGS.contains(&name) {
            r.error(
                format!("dataplane.eal_args[{i}]"),
                format!("\"{a}\" is set from dataplane.main_lcore, worker_lcores and lcore_cpus; remove it"),
            );
        }
    }
    if d.mbufs < 1024 {
        r.error(
            "dataplane.mbufs",
            format!("{} is too few; at least 1024", d.mbufs),
        );
    }
    if d.burst_size == 0 || d.burst_size > MAX_BURST {
        r.error(
            "dataplane.burst_size",
            format!("{} is not between 1 and {MAX_BURST}", d.burst_size),
        );
    }
    if d.idle_sleep_us > 100_000 {
        r.error("dataplane.idle_sleep_us", "at most 100000 (100 ms)");
    }
    if !(1024..=1 << 26).contains(&d.mac_table_capacity) {
        r.error(
            "dataplane.mac_table_capacity",
            format!(
                "{} is not between 1024 and {}",
                d.mac_table_capacity,
                1 << 26
            ),
        );
    }
}

/// Most API connections one gateway keeps open.
pub const MAX_API_CONNECTIONS: u32 = 4096;

fn management(config: &Config, r: &mut Report) {
    let m = &config.management;
    if m.token_file
        .as_deref()
        .is_some_and(|p| p.as_os_str().is_empty())
    {
        r.error(
            "management.token_file",
            "an empty path; name the token file, or remove the key to run without a token",
        );
    }
    if !(1..=MAX_API_CONNECTIONS).contains(&m.max_connections) {
        r.error(
            "management.max_connections",
            format!(
                "{} is not between 1 and {MAX_API_CONNECTIONS}",
                m.max_connections
            ),
        );
    }
    if !(1..=300).contains(&m.header_timeout_secs) {
        r.error(
            "management.header_timeout_secs",
            format!("{} is not between 1 and 300", m.header_timeout_secs),
        );
    }
    if !(1..=3600).contains(&m.idle_timeout_secs) {
        r.error(
            "management.idle_timeout_secs",
            format!("{} is not between 1 and 3600", m.idle_timeout_secs),
        );
    }
}

/// A DPDK device string: non-empty, with a name DPDK can hold.
fn device_problem(device: &str) -> Option<String> {
    let name = device.split(',').next().unwrap_or(device).trim();
    if name.is_empty() {
        Some("a DPDK device is needed, e.g. \"0000:03:00.0\" or \"net_af_packet0\"".into())
    } else if name.len() >= RTE_DEV_NAME_MAX_LEN {
        Some(format!(
            "the device name is {} bytes; DPDK's RTE_DEV_NAME_MAX_LEN allows {}",
            name.len(),
            RTE_DEV_NAME_MAX_LEN - 1
        ))
    } else {
        None
    }
}

/// Why `ip` cannot be a host address on `subnet`'s link, if it cannot.
fn on_link_problem(subnet: Ipv4Cidr, ip: Ipv4Addr) -> Option<String> {
    subnet
        .reserved_role(ip)
        .map(|role| format!("{ip} is the {role} address of {subnet}, not a host"))
}

/// A unicast host address a VTEP could use.
fn unicast_problem(ip: Ipv4Addr) -> Option<&'static str> {
    if ip.is_unspecified() {
        Some("0.0.0.0 is not a usable address")
    } else if ip.is_broadcast() {
        Some("the broadcast address is not a usable address")
    } else if ip.is_multicast() {
        Some("a multicast address is not a VTEP address")
    } else if ip.is_loopback() {
        Some("a loopback address is not a VTEP address")
    } else {
        None
    }
}

fn underlay(config: &Config, r: &mut Report) {
    let u = &config.underlay;
    if let Some(why) = device_problem(&u.device) {
        r.error("underlay.device", why);
    }
    if let Some(why) = unicast_problem(u.address.addr) {
        r.error("underlay.address", why);
    } else if let Some(why) = on_link_problem(u.address, u.address.addr) {
        r.error("underlay.address", why);
    }
    if let Some(gw) = u.gateway {
        if let Some(why) = unicast_problem(gw) {
            r.error("underlay.gateway", why);
        } else if let Some(why) = on_link_problem(u.address, gw) {
            r.error("underlay.gateway", why);
        } else if gw == u.address.addr {
            r.error("underlay.gateway", "the gateway is this VTEP's own address");
        } else if !u.address.contains(gw) {
            r.error(
                "underlay.gateway",
                format!(
                    "{gw} is not inside {} so it cannot be reached directly",
                    u.address
                ),
            );
        }
    }
    if u.udp_port == 0 {
        r.error("underlay.udp_port", "0 is not a UDP port");
    }
    if u.ttl == 0 {
        r.error(
            "underlay.ttl",
            "a TTL of 0 would be dropped by the first router",
        );
    }
    if !(576..=9216).contains(&u.mtu) {
        r.error(
            "underlay.mtu",
            format!("{} is not between 576 and 9216", u.mtu),
        );
    }
}

/// Checks the VNIs; returns the configured VNI ids.
fn vnis(config: &Config, r: &mut Report) -> HashSet<u32> {
    let subnet = config.underlay.address;
    let ours = subnet.addr;
    let mut ids = HashSet::new();
    if config.vni.len() > MAX_VNIS {
        r.error(
            "vni",
            format!("{} VNIs configured; at most {MAX_VNIS}", config.vni.len()),
        );
    }
    for (i, v) in config.vni.iter().enumerate() {
        let at = |field: &str| format!("vni[{i}].{field}");
        if v.id == 0 || v.id > MAX_VNI {
            r.error(
                at("id"),
                format!("{} is not between 1 and {MAX_VNI} (24 bits)", v.id),
            );
        } else if !ids.insert(v.id) {
            r.error(at("id"), format!("VNI {} is configured twice", v.id));
        }
        let mut flood = HashSet::new();
        for (j, &ip) in v.flood.iter().enumerate() {
            let path = format!("vni[{i}].flood[{j}]");
            if let Some(why) = unicast_problem(ip) {
                r.error(path, why);
            } else if let Some(why) = on_link_problem(subnet, ip) {
                r.error(path, why);
            } else if ip == ours {
                r.error(path, format!("{ip} is this gateway's own VTEP address"));
            } else if !flood.insert(ip) {
                r.error(path, format!("{ip} is listed twice"));
            }
        }
        if v.mac_ageing_secs == 0 || v.mac_ageing_secs > 1_000_000 {
            r.error(
                at("mac_ageing_secs"),
                format!("{} is not between 1 and 1000000", v.mac_ageing_secs),
            );
        }
        if v.mac_limit == 0 || v.mac_limit > config.dataplane.mac_table_capacity {
            r.error(
                at("mac_limit"),
                format!(
                    "{} is not between 1 and dataplane.mac_table_capacity ({})",
                    v.mac_limit, config.dataplane.mac_table_capacity
                ),
            );
        }
        if let Some(mtu) = v.mtu {
            if !(68..=9216).contains(&mtu) {
                r.error(at("mtu"), format!("{mtu} is not between 68 and 9216"));
            }
        }
        let mut macs = HashSet::new();
        for (j, s) in v.static_macs.iter().enumerate() {
            let path = |f: &str| format!("vni[{i}].static_macs[{j}].{f}");
            if s.mac.is_multicast() || s.mac.is_zero() {
                r.error(path("mac"), format!("{} is not a unicast MAC", s.mac));
            } else if !macs.insert(s.mac) {
                r.error(
                    path("mac"),
                    format!("{} is configured twice in this VNI", s.mac),
                );
            }
            if let Some(why) = unicast_problem(s.vtep) {
                r.error(path("vtep"), why);
            } else if let Some(why) = on_link_problem(subnet, s.vtep) {
                r.error(path("vtep"), why);
            } else if s.vtep == ours {
                r.error(
                    path("vtep"),
                    format!("{} is this gateway's own VTEP address", s.vtep),
                );
            }
        }
    }
    static_mac_room(config, r);
    ids
}

/// Static MACs may fill at most half the MAC table (learning stops at
/// half load), so every one of them always finds a slot.
fn static_mac_room(config: &Config, r: &mut Report) {
    let capacity = config.dataplane.mac_table_capacity as usize;
    let room = capacity / 2;
    let total: usize = config.vni.iter().map(|v| v.static_macs.len()).sum();
    if total <= room {
        return;
    }
    // Name the first entry past the limit.
    let mut seen = 0;
    for (i, v) in config.vni.iter().enumerate() {
        if seen + v.static_macs.len() > room {
            r.error(
                format!("vni[{i}].static_macs[{}]", room - seen),
                format!(
                    "{total} static MACs in all VNIs; at most {room}, half of \
                     dataplane.mac_table_capacity ({capacity})"
                ),
            );
            return;
        }
        seen += v.static_macs.len();
    }
}

fn ports(config: &Config, vnis: &HashSet<u32>, r: &mut Report) {
    if config.port.len() > MAX_PORTS {
        r.error(
            "port",
            format!(
                "{} ports configured; at most {MAX_PORTS} (DPDK's RTE_MAX_ETHPORTS is \
                 {RTE_MAX_ETHPORTS}, one of them the underlay)",
                config.port.len()
            ),
        );
    }
    let mut names = HashSet::new();
    let mut devices =
        HashMap::from([(config.underlay.device.as_str(), "the underlay".to_string())]);
    for (i, p) in config.port.iter().enumerate() {
        let at = |field: &str| format!("port[{i}].{field}");
        if let Some(why) = port_name_problem(&p.name) {
            r.error(at("name"), why);
        } else if p.name == "underlay" {
            r.error(at("name"), "\"underlay\" is reserved for the underlay port");
        } else if !names.insert(p.name.as_str()) {
            r.error(
                at("name"),
                format!("port name \"{}\" is used twice", p.name),
            );
        }
        if let Some(why) = device_problem(&p.device) {
            r.error(at("device"), why);
        } else if let Some(owner) = devices.insert(p.device.as_str(), format!("port[{i}]")) {
            r.error(
                at("device"),
                format!("device \"{}\" is already used by {owner}", p.device),
            );
        }
        if !(68..=9216).contains(&p.mtu) {
            r.error(at("mtu"), format!("{} is not between 68 and 9216", p.mtu));
        }
        let mut bound: HashMap<u32, String> = HashMap::new();
        if let Some(vni) = p.untagged_vni {
            if !vnis.contains(&vni) {
                r.error(
                    at("untagged_vni"),
                    format!("VNI {vni} is not configured in [[vni]]"),
                );
            }
            bound.insert(vni, "untagged".into());
        }
        let mut vlans = HashSet::new();
        for (j, b) in p.vlans.iter().enumerate() {
            let path = |f: &str| format!("port[{i}].vlans[{j}].{f}");
            if !(1..=4094).contains(&b.vlan) {
                r.error(
                    path("vlan"),
                    format!("{} is not a VLAN id between 1 and 4094", b.vlan),
                );
            } else if !vlans.insert(b.vlan) {
                r.error(
                    path("vlan"),
                    format!("VLAN {} is bound twice on port \"{}\"", b.vlan, p.name),
                );
            }
            if !vnis.contains(&b.vni) {
                r.error(
                    path("vni"),
                    format!("VNI {} is not configured in [[vni]]", b.vni),
                );
            } else if let Some(other) = bound.insert(b.vni, format!("VLAN {}", b.vlan)) {
                r.error(
                    path("vni"),
                    format!(
                        "VNI {} is already bound to {other} on this port; one binding per port",
                        b.vni
                    ),
                );
            }
        }
    }
}

/// A port name is a metric label value and an API path segment: short,
/// and letters, digits, '_', '-' or '.', starting with a letter or digit.
pub(crate) fn port_name_problem(name: &str) -> Option<String> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || "_-.".contains(c);
    if name.len() > MAX_PORT_NAME {
        Some(format!(
            "{} bytes long; at most {MAX_PORT_NAME}",
            name.len()
        ))
    } else if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) || !name.chars().all(ok_char) {
        Some(format!(
            "\"{}\" must start with a letter or digit and have only letters, digits, '_', '-' or '.'",
            name.escape_debug()
        ))
    } else {
        None
    }
}

fn mtus(config: &Config, r: &mut Report) {
    for (i, m) in mtu::report(config).iter().enumerate() {
        if m.margin >= 0 {
            continue;
        }
        let message = mtu::starved_message(m);
        match config.underlay.mtu_check {
            MtuCheck::Error => r.error("underlay.mtu", format!("{message} (vni[{i}])")),
            MtuCheck::Warn => r.warn(
                "underlay.mtu",
                format!("{message}; oversize frames will be dropped"),
            ),
        }
    }
}
