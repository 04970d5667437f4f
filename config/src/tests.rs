use super::*;
use std::net::Ipv4Addr;

const MINIMAL: &str = include_str!("../examples/minimal.toml");

fn errors(text: &str) -> Vec<ConfigError> {
    Config::from_toml_str(text)
        .expect_err("config should be refused")
        .0
}

fn paths(text: &str) -> Vec<String> {
    errors(text).into_iter().map(|e| e.path).collect()
}

#[test]
fn examples_are_valid() {
    for (name, text) in [
        ("minimal", MINIMAL),
        ("gateway", include_str!("../examples/gateway.toml")),
        ("flannel", include_str!("../examples/flannel.toml")),
        ("l3-vnis", include_str!("../examples/l3-vnis.toml")),
    ] {
        if let Err(e) = Config::from_toml_str(text) {
            panic!("{name}.toml: {e}");
        }
    }
}

#[test]
fn defaults_are_filled_in() {
    let c = Config::from_toml_str(MINIMAL).unwrap();
    assert_eq!(c.underlay.udp_port, 4789);
    assert_eq!(
        c.underlay.source_ports,
        PortRange {
            min: 49152,
            max: 65535
        }
    );
    assert_eq!(c.underlay.ttl, 64);
    assert_eq!(c.underlay.mtu, 1550);
    assert_eq!(c.port[0].mtu, 1500);
    assert!(c.vni[0].learning);
    assert_eq!(c.vni[0].mac_ageing_secs, 300);
    assert_eq!(c.vni[0].mac_limit, 4096);
    assert_eq!(c.management.listen.to_string(), "127.0.0.1:9180");
    assert_eq!(c.dataplane.worker_lcores, vec![1]);
}

#[test]
fn round_trips_through_toml() {
    let c = Config::from_toml_str(include_str!("../examples/gateway.toml")).unwrap();
    let again = Config::from_toml_str(&c.to_toml_string()).unwrap();
    assert_eq!(c, again);
}

#[test]
fn unknown_field_is_named() {
    let text = MINIMAL.replace("id = 100", "id = 100\nfloood = []");
    let e = errors(&text);
    assert_eq!(e[0].path, "vni[0].floood");
    assert!(e[0].reason.contains("floood"), "{}", e[0].reason);
}

#[test]
fn wrong_type_is_named_with_line() {
    let text = MINIMAL.replace("address = \"192.0.2.10/24\"", "address = \"192.0.2.10\"");
    let e = errors(&text);
    assert_eq!(e[0].path, "underlay.address");
    assert!(e[0].reason.contains("ADDRESS/PREFIX"), "{}", e[0].reason);
    assert!(e[0].reason.contains("line 5"), "{}", e[0].reason);
}

#[test]
fn missing_section_is_reported() {
    let e = errors("[[vni]]\nid = 1\n");
    assert!(e[0].reason.contains("underlay"), "{}", e[0].reason);
}

#[test]
fn vni_out_of_range_and_duplicates() {
    let text = format!("{MINIMAL}\n[[vni]]\nid = 16777216\n[[vni]]\nid = 100\n");
    assert_eq!(paths(&text), vec!["vni[1].id", "vni[2].id"]);
}

#[test]
fn vlan_binding_errors() {
    let text = MINIMAL.replace(
        "vlans = [{ vlan = 10, vni = 100 }]",
        "vlans = [{ vlan = 10, vni = 100 }, { vlan = 10, vni = 100 }, { vlan = 4095, vni = 7 }]",
    );
    let e = errors(&text);
    let got: Vec<&str> = e.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        got,
        vec![
            "port[0].vlans[1].vlan",
            "port[0].vlans[1].vni",
            "port[0].vlans[2].vlan",
            "port[0].vlans[2].vni"
        ]
    );
    assert!(e[3].reason.contains("VNI 7 is not configured"));
}

#[test]
fn untagged_vni_must_exist() {
    let text = MINIMAL.replace(
        "device = \"0000:03:00.1\"",
        "device = \"0000:03:00.1\"\nuntagged_vni = 5",
    );
    assert_eq!(paths(&text), vec!["port[0].untagged_vni"]);
}

#[test]
fn flood_list_errors() {
    let text = MINIMAL.replace(
        "flood = [\"192.0.2.1\", \"192.0.2.2\"]",
        "flood = [\"192.0.2.1\", \"192.0.2.1\", \"192.0.2.10\", \"239.1.1.1\"]",
    );
    assert_eq!(
        paths(&text),
        vec!["vni[0].flood[1]", "vni[0].flood[2]", "vni[0].flood[3]"]
    );
}

#[test]
fn port_range_and_device_errors() {
    let text = MINIMAL.replace(
        "address = \"192.0.2.10/24\"",
        "address = \"192.0.2.10/24\"\nsource_ports = \"60000-50000\"",
    );
    let e = errors(&text);
    assert_eq!(e[0].path, "underlay.source_ports");
    assert!(e[0].reason.contains("empty"));

    let text = MINIMAL.replace("device = \"0000:03:00.1\"", "device = \"0000:03:00.0\"");
    assert_eq!(paths(&text), vec!["port[0].device"]);
}

#[test]
fn gateway_must_be_on_link() {
    let text = MINIMAL.replace(
        "address = \"192.0.2.10/24\"",
        "address = \"192.0.2.10/24\"\ngateway = \"198.51.100.1\"",
    );
    assert_eq!(paths(&text), vec!["underlay.gateway"]);
    let ok = MINIMAL.replace(
        "address = \"192.0.2.10/24\"",
        "address = \"192.0.2.10/24\"\ngateway = \"192.0.2.254\"",
    );
    assert_eq!(
        Config::from_toml_str(&ok).unwrap().underlay.gateway,
        Some(Ipv4Addr::new(192, 0, 2, 254))
    );
}

#[test]
fn reserved_eal_args_are_refused() {
    let text = format!(
        "[dataplane]\neal_args = [\"--no-pci\", \"-l\", \"0-3\"]\nworker_lcores = [0]\n{MINIMAL}"
    );
    assert_eq!(
        paths(&text),
        vec!["dataplane.worker_lcores[0]", "dataplane.eal_args[1]"]
    );
}

#[test]
fn all_errors_are_collected() {
    let text = MINIMAL
        .replace("id = 100", "id = 100\nmac_limit = 0\nmac_ageing_secs = 0")
        .replace("name = \"phys0\"", "name = \"underlay\"");
    assert_eq!(
        paths(&text),
        vec!["vni[0].mac_ageing_secs", "vni[0].mac_limit", "port[0].name"]
    );
}

#[test]
fn static_mac_errors() {
    let text = MINIMAL.replace(
        "id = 100",
        "id = 100\nstatic_macs = [{ mac = \"01:00:5e:00:00:01\", vtep = \"192.0.2.1\" }, \
         { mac = \"02:00:00:00:00:01\", vtep = \"192.0.2.10\" }]",
    );
    assert_eq!(
        paths(&text),
        vec!["vni[0].static_macs[0].mac", "vni[0].static_macs[1].vtep"]
    );
}

#[test]
fn mtu_starved_config_is_refused_with_numbers() {
    let text = MINIMAL.replace(
        "address = \"192.0.2.10/24\"",
        "address = \"192.0.2.10/24\"\nmtu = 1500",
    );
    let e = errors(&text);
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].path, "underlay.mtu");
    for number in ["1500", "100", "50", "1550", "short by 50"] {
        assert!(
            e[0].reason.contains(number),
            "{number} missing in: {}",
            e[0].reason
        );
    }
}

#[test]
fn mtu_check_warn_downgrades_to_warning() {
    let text = MINIMAL.replace(
        "address = \"192.0.2.10/24\"",
        "address = \"192.0.2.10/24\"\nmtu = 1500\nmtu_check = \"warn\"",
    );
    let c = Config::from_toml_str(&text).unwrap();
    let warnings = c.validate().unwrap();
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].message.contains("1550"));
}

#[test]
fn mtu_report_uses_largest_port_mtu() {
    let text = MINIMAL
        .replace(
            "address = \"192.0.2.10/24\"",
            "address = \"192.0.2.10/24\"\nmtu = 9000",
        )
        .replace("name = \"phys0\"", "name = \"phys0\"\nmtu = 8000");
    let c = Config::from_toml_str(&text).unwrap();
    let r = mtu::report(&c);
    assert_eq!(r[0].overlay_mtu, 8000);
    assert_eq!(r[0].required_underlay_mtu, 8050);
    assert_eq!(r[0].margin, 950);
}

#[test]
fn api_connection_limits_have_defaults_and_ranges() {
    let c = Config::from_toml_str(MINIMAL).unwrap();
    assert_eq!(c.management.max_connections, 64);
    assert_eq!(c.management.header_timeout_secs, 10);
    assert_eq!(c.management.idle_timeout_secs, 60);
    let text = MINIMAL.replace(
        "[underlay]",
        "[management]\nmax_connections = 0\nheader_timeout_secs = 0\nidle_timeout_secs = 3601\n\n[underlay]",
    );
    let e = errors(&text);
    let p: Vec<&str> = e.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        p,
        [
            "management.max_connections",
            "management.header_timeout_secs",
            "management.idle_timeout_secs"
        ]
    );
    assert!(
        e[0].reason.contains("between 1 and 4096"),
        "{}",
        e[0].reason
    );
}

/// The only error of `text`, which must be at `path`.
fn only_error(text: &str, path: &str) -> String {
    let e = errors(text);
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].path, path, "{e:?}");
    e[0].reason.clone()
}

#[test]
fn lcores_must_be_below_rte_max_lcore() {
    let text = format!("[dataplane]\nmain_lcore = 1024\n{MINIMAL}");
    let why = only_error(&text, "dataplane.main_lcore");
    assert!(why.contains("RTE_MAX_LCORE (128)"), "{why}");

    let text = format!("[dataplane]\nworker_lcores = [1, 128]\n{MINIMAL}");
    only_error(&text, "dataplane.worker_lcores[1]");

    let many: Vec<String> = (1..=1000).map(|l| l.to_string()).collect();
    let text = format!(
        "[dataplane]\nworker_lcores = [{}]\n{MINIMAL}",
        many.join(",")
    );
    let e = errors(&text);
    assert_eq!(e[0].path, "dataplane.worker_lcores", "{e:?}");
    assert!(e[0]
        .reason
        .starts_with("1000 worker lcores listed; at most 127"));
    assert_eq!(
        e.len(),
        1,
        "one error for the list, not one per entry: {e:?}"
    );
}

#[test]
fn an_empty_token_file_is_refused() {
    let text = format!("[management]\ntoken_file = \"\"\n{MINIMAL}");
    only_error(&text, "management.token_file");
}

#[test]
fn static_macs_must_fit_half_the_mac_table() {
    let macs = |n: u32| -> String {
        (0..n)
            .map(|i| {
                let b = i.to_be_bytes();
                format!(
                    "{{ mac = \"02:00:{:02x}:{:02x}:{:02x}:{:02x}\", vtep = \"192.0.2.1\" }}",
                    b[0], b[1], b[2], b[3]
                )
            })
            .collect::<Vec<_>>()
            .join(",")
    };
    let table = "[dataplane]\nmac_table_capacity = 4096\n";
    let fits = format!("{table}{MINIMAL}static_macs = [{}]\n", macs(2048));
    assert!(Config::from_toml_str(&fits).is_ok());
    let text = format!(
        "{table}{MINIMAL}static_macs = [{}]\n[[vni]]\nid = 200\nstatic_macs = [{}]\n",
        macs(2000),
        macs(100)
    );
    let why = only_error(&text, "vni[1].static_macs[48]");
    assert!(
        why.contains("2100 static MACs") && why.contains("mac_table_capacity (4096)"),
        "{why}"
    );
}

#[test]
fn network_and_broadcast_addresses_are_not_hosts() {
    let at = |from: &str, to: &str| MINIMAL.replace(from, to);
    let address = "address = \"192.0.2.10/24\"";
    for (text, path, role) in [
        (at(address, "address = \"192.0.2.0/24\""), "underlay.address", "network"),
        (at(address, "address = \"192.0.2.255/24\""), "underlay.address", "broadcast"),
        (
            at(address, "address = \"192.0.2.10/24\"\ngateway = \"192.0.2.0\""),
            "underlay.gateway",
            "network",
        ),
        (at("\"192.0.2.2\"]", "\"192.0.2.255\"]"), "vni[0].flood[1]", "broadcast"),
        (
            format!("{MINIMAL}static_macs = [{{ mac = \"02:00:00:00:00:01\", vtep = \"192.0.2.0\" }}]\n"),
            "vni[0].static_macs[0].vtep",
            "network",
        ),
    ] {
        let why = only_error(&text, path);
        assert!(why.contains(&format!("{role} address of 192.0.2.")), "{why}");
    }
    // A /31 has no network or broadcast address; outside the subnet we cannot tell.
    let p2p = at(address, "address = \"192.0.2.0/31\"");
    let p2p = p2p.replace("[\"192.0.2.1\", \"192.0.2.2\"]", "[\"198.51.100.0\"]");
    let p2p = p2p.replace(
        "address = \"192.0.2.0/31\"",
        "address = \"192.0.2.0/31\"\ngateway = \"192.0.2.1\"",
    );
    Config::from_toml_str(&p2p).unwrap();
}

#[test]
fn port_names_are_short_label_and_path_safe() {
    let named = |name: &str| MINIMAL.replace("name = \"phys0\"", &format!("name = \"{name}\""));
    let long = "p".repeat(10 << 20);
    let why = only_error(&named(&long), "port[0].name");
    assert_eq!(why, "10485760 bytes long; at most 64");
    only_error(&named(&"p".repeat(65)), "port[0].name");
    Config::from_toml_str(&named(&"p".repeat(64))).unwrap();
    for bad in ["..", ".hidden", "-x", "a/b", "a b", "é"] {
        only_error(&named(bad), "port[0].name");
    }
    let dev = format!("net_null{}", "0".repeat(60));
    let why = only_error(&MINIMAL.replace("0000:03:00.1", &dev), "port[0].device");
    assert!(why.contains("RTE_DEV_NAME_MAX_LEN"), "{why}");
}

#[test]
fn at_most_31_ports_for_rte_max_ethports() {
    let ports: String = (0..32)
        .map(|i| format!("[[port]]\nname = \"p{i}\"\ndevice = \"net_null{i}\"\n"))
        .collect();
    let text = format!("[underlay]\ndevice = \"u\"\naddress = \"192.0.2.10/24\"\n{ports}");
    let why = only_error(&text, "port");
    assert!(why.contains("RTE_MAX_ETHPORTS is 32"), "{why}");
}

#[test]
fn a_non_utf8_file_is_refused_with_its_byte_offset() {
    let path = std::env::temp_dir().join(format!("vtepgw-utf8-{}.toml", std::process::id()));
    let mut bytes = MINIMAL.as_bytes().to_vec();
    let at = MINIMAL.find("phys0").unwrap();
    bytes[at] = 0xff;
    std::fs::write(&path, &bytes).unwrap();
    let e = Config::load(&path).unwrap_err().0;
    std::fs::remove_file(&path).unwrap();
    let line = MINIMAL[..at].matches('\n').count() + 1;
    assert_eq!(
        e[0].reason,
        format!("not UTF-8 text: invalid byte 0xff at byte offset {at} (line {line})")
    );
}

#[test]
fn lcores_can_be_mapped_to_other_cpus() {
    let text = format!("[dataplane]\nworker_lcores = [1, 2]\nlcore_cpus = {{ 2 = 0 }}\n{MINIMAL}");
    let c = Config::from_toml_str(&text).unwrap();
    assert_eq!(c.dataplane.lcore_cpus.get(&2), Some(&0));
    // It survives a save (the API's config save writes it back).
    let again = Config::from_toml_str(&toml::to_string(&c).unwrap()).unwrap();
    assert_eq!(again, c);

    let text = format!("[dataplane]\nlcore_cpus = {{ 5 = 0 }}\n{MINIMAL}");
    let why = only_error(&text, "dataplane.lcore_cpus.5");
    assert!(why.contains("neither the main lcore nor a worker"), "{why}");
    let text = format!("[dataplane]\nlcore_cpus = {{ 1 = 128 }}\n{MINIMAL}");
    only_error(&text, "dataplane.lcore_cpus.1");
}

#[test]
fn multicast_groups_and_igmp_defaults() {
    let c = Config::from_toml_str(MINIMAL).unwrap();
    assert_eq!(
        c.underlay.multicast_ttl, 64,
        "crosses routers, unlike Linux's 1"
    );
    assert_eq!(c.igmp.version, crate::IgmpVersion::V3);
    assert_eq!(
        (
            c.igmp.robustness,
            c.igmp.query_interval_secs,
            c.igmp.query_response_interval_ms
        ),
        (2, 125, 10_000)
    );
    assert_eq!(c.vni[0].group, None);
    let grouped = MINIMAL.replace(
        "flood = [\"192.0.2.1\", \"192.0.2.2\"]",
        "group = \"239.1.1.1\"",
    );
    let c = Config::from_toml_str(&grouped).unwrap();
    assert_eq!(c.vni[0].group, Some("239.1.1.1".parse().unwrap()));
    assert_eq!(c.underlay.multicast_ttl, 64, "not Linux's 1");
    assert!(c.vni[0].flood.is_empty());
    let text = format!("{MINIMAL}\n[igmp]\nversion = 2\n");
    let c = Config::from_toml_str(&text).unwrap();
    assert_eq!(c.igmp.version, crate::IgmpVersion::V2);
    // The running config's TOML form round-trips.
    let again = Config::from_toml_str(&c.to_toml_string()).unwrap();
    assert_eq!(again, c);
}

#[test]
fn bad_groups_and_igmp_settings_are_refused_by_field() {
    let with_group = |g: &str| {
        MINIMAL.replace(
            "flood = [\"192.0.2.1\", \"192.0.2.2\"]",
            &format!("group = \"{g}\""),
        )
    };
    for (g, needle) in [
        ("192.0.2.77", "not a multicast address"),
        ("224.0.0.5", "link-local"),
        ("232.1.1.1", "source-specific"),
    ] {
        let why = only_error(&with_group(g), "vni[0].group");
        assert!(why.contains(needle), "{g}: {why}");
    }
    let both = MINIMAL.replace(
        "flood = [\"192.0.2.1\", \"192.0.2.2\"]",
        "flood = [\"192.0.2.1\"]\ngroup = \"239.1.1.1\"",
    );
    let why = only_error(&both, "vni[0].group");
    assert!(why.contains("not both"), "{why}");
    // Groups may be shared; 256 distinct ones at most.
    let mut many = MINIMAL.replace(
        "flood = [\"192.0.2.1\", \"192.0.2.2\"]",
        "group = \"239.1.0.0\"",
    );
    for k in 1..=256u32 {
        many += &format!(
            "\n[[vni]]\nid = {}\ngroup = \"239.1.{}.{}\"\n",
            1000 + k,
            k / 256,
            k % 256
        );
    }
    let why = only_error(&many, "vni[256].group");
    assert!(why.contains("more than 256 distinct groups"), "{why}");
    let shared = many.replace("239.1.1.0", "239.1.0.1");
    assert!(
        Config::from_toml_str(&shared).is_ok(),
        "a shared group is not another"
    );
    let igmp = |body: &str| format!("{MINIMAL}\n[igmp]\n{body}\n");
    only_error(&igmp("robustness = 0"), "igmp.robustness");
    only_error(
        &igmp("query_response_interval_ms = 30000"),
        "igmp.query_response_interval_ms",
    );
    only_error(
        &igmp("query_interval_secs = 5\nquery_response_interval_ms = 6000"),
        "igmp.query_response_interval_ms",
    );
    let e = errors(&igmp("version = 1"));
    assert!(e[0].reason.contains("use 2 or 3"), "{e:?}");
    only_error(
        &MINIMAL.replace("[underlay]", "[underlay]\nmulticast_ttl = 0"),
        "underlay.multicast_ttl",
    );
}
