//! The L3 model (issue 10): every accept and refuse case, refusals by
//! field path.

use super::*;

const L3: &str = include_str!("../examples/l3.toml");

/// Two VNIs with gateways, a routed VLAN and a default route.
const BASE: &str = r#"
[underlay]
device = "u0"
address = "192.0.2.10/26"

[[port]]
name = "phys0"
device = "p0"
vlans = [{ vlan = 10, vni = 100 }]

[[vni]]
id = 100
gateway = { address = "203.0.113.1/24" }

[[vni]]
id = 200
gateway = { address = "198.51.100.1/24" }

[[interface]]
name = "core"
port = "phys0"
vlan = 30
address = "192.0.2.65/26"

[[route]]
prefix = "0.0.0.0/0"
next_hop = "192.0.2.126"
"#;

fn errors(text: &str) -> Vec<ConfigError> {
    Config::from_toml_str(text)
        .expect_err("the config is refused")
        .0
}

/// Panics unless the config is valid.
fn accepted(text: &str) {
    if let Err(e) = Config::from_toml_str(text) {
        panic!("refused: {e}");
    }
}

/// The only error, at `path`; its reason.
fn refused(text: &str, path: &str) -> String {
    let e = errors(text);
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].path, path, "{e:?}");
    e[0].reason.clone()
}

/// The only error, at `path`, with `needle` in its reason.
fn refused_with(text: &str, path: &str, needle: &str) {
    let why = refused(text, path);
    assert!(why.contains(needle), "{why}");
}

fn base(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "{from}");
    BASE.replace(from, to)
}

fn plus(extra: &str) -> String {
    format!("{BASE}\n{extra}\n")
}

#[test]
fn the_example_is_valid_and_round_trips() {
    accepted(L3);
    let c = Config::parse_toml(L3).unwrap();
    assert_eq!(Config::parse_toml(&c.to_toml_string()).unwrap(), c);
}

#[test]
fn defaults_and_the_derived_gateway_mac() {
    let c = Config::parse_toml(BASE).unwrap();
    assert_eq!(
        c.icmp,
        Icmp {
            rate_per_sec: 1000,
            burst: 50
        }
    );
    assert_eq!(
        (
            c.neighbour.ageing_secs,
            c.neighbour.retries,
            c.neighbour.queue_len
        ),
        (300, 3, 3)
    );
    let (g0, g1) = (
        c.vni[0].gateway.as_ref().unwrap(),
        c.vni[1].gateway.as_ref().unwrap(),
    );
    assert_eq!(g0.vrf, DEFAULT_VRF);
    assert_eq!(c.vni[0].arp_suppression, ArpSuppression::Off);
    assert_eq!(c.route[0].vrf, DEFAULT_VRF);
    // 02:76 and the underlay address 192.0.2.10, the same on every VNI.
    let derived: MacAddr = "02:76:c0:00:02:0a".parse().unwrap();
    assert_eq!(c.gateway_mac(g0), derived);
    assert_eq!(c.gateway_mac(g1), derived);
    assert!(
        !derived.is_multicast() && derived.0[0] & 2 == 2,
        "local unicast"
    );
    let own = Config::parse_toml(&base(
        "\"198.51.100.1/24\" }",
        "\"198.51.100.1/24\", mac = \"02:00:5e:10:00:c8\" }",
    ))
    .unwrap();
    let g = own.vni[1].gateway.as_ref().unwrap();
    assert_eq!(own.gateway_mac(g).to_string(), "02:00:5e:10:00:c8");
}

#[test]
fn a_config_without_l3_serialises_as_before() {
    let c = Config::from_toml_str(include_str!("../examples/gateway.toml")).unwrap();
    let text = c.to_toml_string();
    for key in [
        "vrf",
        "interface",
        "route",
        "icmp",
        "neighbour",
        "arp_suppression",
    ] {
        assert!(!text.contains(key), "{key} in:\n{text}");
    }
}

#[test]
fn every_part_of_l3_is_accepted() {
    accepted(BASE);
    let routed = BASE[..BASE.find("[[interface]]").unwrap()].to_string()
        + "[[vrf]]\nname = \"red\"\n\n[[route]]\nprefix = \"192.0.2.128/25\"\nnext_hop = \"203.0.113.9\"\n";
    let c = Config::from_toml_str(&routed).unwrap();
    assert_eq!((c.vrf.len(), c.route.len()), (1, 1));
    let arp_only = include_str!("../examples/minimal.toml")
        .replace("id = 100", "id = 100\narp_suppression = \"reply\"");
    refused_with(&arp_only, "vni[0].arp_suppression", "needs a `gateway`");
    // Settings alone change nothing yet and are not refused.
    let settings = format!(
        "{}\n[icmp]\nrate_per_sec = 10\n",
        include_str!("../examples/minimal.toml")
    );
    Config::from_toml_str(&settings).unwrap();
}

#[test]
fn gateway_addresses_must_be_hosts_of_their_prefix() {
    let at = |addr: &str| base("\"203.0.113.1/24\"", &format!("\"{addr}\""));
    for (addr, needle) in [
        ("203.0.113.0/24", "network address of 203.0.113.0/24"),
        ("203.0.113.255/24", "broadcast address of 203.0.113.255/24"),
        ("203.0.113.1/32", "a /32 leaves no other host"),
        ("224.0.0.1/24", "not a unicast host address"),
        ("127.0.0.1/8", "not a unicast host address"),
    ] {
        let why = refused(&at(addr), "vni[0].gateway.address");
        assert!(why.contains(needle), "{addr}: {why}");
    }
    // A /31 has no network or broadcast address (RFC 3021).
    accepted(&at("203.0.113.0/31"));
    refused_with(
        &base(
            "\"203.0.113.1/24\" }",
            "\"203.0.113.1/24\", mac = \"01:00:5e:00:00:01\" }",
        ),
        "vni[0].gateway.mac",
        "not a unicast MAC",
    );
    // Nor pinned to a VTEP in the same VNI, derived or not.
    let pinned = base(
        "id = 200\n",
        "id = 200\nstatic_macs = [{ mac = \"02:76:c0:00:02:0a\", vtep = \"192.0.2.1\" }]\n",
    );
    refused_with(&pinned, "vni[1].gateway.mac", "also vni[1].static_macs[0]");
}

#[test]
fn one_address_and_one_prefix_per_vrf() {
    refused_with(
        &base("\"198.51.100.1/24\"", "\"203.0.113.1/24\""),
        "vni[1].gateway.address",
        "already the address of vni100",
    );
    refused_with(
        &base("\"198.51.100.1/24\"", "\"203.0.113.200/25\""),
        "vni[1].gateway.address",
        "overlaps vni100's connected prefix 203.0.113.1/24",
    );
    refused_with(
        &base("\"192.0.2.65/26\"", "\"198.51.100.2/30\"")
            .replace("\"192.0.2.126\"", "\"198.51.100.254\""),
        "interface[0].address",
        "overlaps vni200's",
    );
    // The same prefix, even the same address, in two VRFs is fine.
    let red = base(
        "\"198.51.100.1/24\" }",
        "\"203.0.113.1/24\", vrf = \"red\" }",
    );
    accepted(&format!("[[vrf]]\nname = \"red\"\n{red}"));
}

#[test]
fn vrfs_must_be_declared_once() {
    refused_with(
        &base(
            "\"198.51.100.1/24\" }",
            "\"198.51.100.1/24\", vrf = \"blue\" }",
        ),
        "vni[1].gateway.vrf",
        "VRF \"blue\" is not declared",
    );
    refused(
        &base(
            "address = \"192.0.2.65/26\"",
            "address = \"192.0.2.65/26\"\nvrf = \"blue\"",
        ),
        "interface[0].vrf",
    );
    refused(
        &plus("[[route]]\nvrf = \"blue\"\nprefix = \"192.0.2.0/24\"\ninterface = \"core\""),
        "route[1].vrf",
    );
    let twice = format!("[[vrf]]\nname = \"red\"\n[[vrf]]\nname = \"red\"\n{BASE}");
    refused_with(&twice, "vrf[1].name", "declared twice");
    refused(&format!("[[vrf]]\nname = \"a b\"\n{BASE}"), "vrf[0].name");
    // Naming the default VRF is allowed.
    accepted(&format!("[[vrf]]\nname = \"default\"\n{BASE}"));
}

#[test]
fn next_hops_must_be_on_a_connected_link() {
    let hop = |ip: &str| base("\"192.0.2.126\"", &format!("\"{ip}\""));
    let why = refused(&hop("203.0.114.1"), "route[0].next_hop");
    assert!(
        why.starts_with(
            "unreachable: 203.0.114.1 is not inside any connected prefix of VRF \"default\""
        ),
        "{why}"
    );
    refused_with(
        &hop("198.51.100.1"),
        "route[0].next_hop",
        "this gateway's own address on vni200",
    );
    refused_with(
        &hop("192.0.2.127"),
        "route[0].next_hop",
        "broadcast address of 192.0.2.65/26",
    );
    refused(&hop("255.255.255.255"), "route[0].next_hop");
    // With an interface, the next hop must be on that one.
    let via = base(
        "next_hop = \"192.0.2.126\"",
        "next_hop = \"198.51.100.9\"\ninterface = \"core\"",
    );
    refused_with(
        &via,
        "route[0].next_hop",
        "not inside core's prefix 192.0.2.65/26",
    );
    // A next hop in another VRF's prefix is unreachable.
    let red = format!(
        "[[vrf]]\nname = \"red\"\n{}",
        base(
            "\"198.51.100.1/24\" }",
            "\"198.51.100.1/24\", vrf = \"red\" }"
        )
    );
    accepted(&red);
    let red = red.replace("\"192.0.2.126\"", "\"198.51.100.9\"");
    let why = refused(&red, "route[0].next_hop");
    assert!(why.starts_with("unreachable"), "{why}");
}

#[test]
fn route_prefixes_are_networks_once_per_vrf() {
    let why = refused(
        &base("\"0.0.0.0/0\"", "\"192.0.2.130/25\""),
        "route[0].prefix",
    );
    assert_eq!(
        why,
        "192.0.2.130/25 has host bits set; the network is 192.0.2.128/25"
    );
    let twice = plus("[[route]]\nprefix = \"0.0.0.0/0\"\nnext_hop = \"192.0.2.100\"");
    refused_with(
        &twice,
        "route[1].prefix",
        "route[0] already goes to 0.0.0.0/0",
    );
    // The same prefix in another VRF is another route.
    let red = format!(
        "[[vrf]]\nname = \"red\"\n{}\n[[route]]\nvrf = \"red\"\nprefix = \"0.0.0.0/0\"\nnext_hop = \"198.51.100.9\"\n",
        base("\"198.51.100.1/24\" }", "\"198.51.100.1/24\", vrf = \"red\" }")
    );
    accepted(&red);
    let shadow = plus("[[route]]\nprefix = \"198.51.100.0/24\"\nnext_hop = \"192.0.2.100\"");
    refused_with(&shadow, "route[1].prefix", "vni200's connected prefix");
    // More specific than a connected prefix, or a host route: fine.
    accepted(&plus("[[route]]\nprefix = \"198.51.100.128/25\"\nnext_hop = \"192.0.2.100\"\n[[route]]\nprefix = \"203.0.113.7/32\"\ninterface = \"core\""));
    let e = errors(&base("\"0.0.0.0/0\"", "\"0.0.0.0/33\""));
    assert_eq!(e[0].path, "route[0].prefix");
    assert!(e[0].reason.contains("between 0 and 32"), "{e:?}");
}

#[test]
fn a_route_names_its_next_hop_or_interface() {
    refused(&base("next_hop = \"192.0.2.126\"", ""), "route[0]");
    accepted(&base(
        "next_hop = \"192.0.2.126\"",
        "interface = \"vni100\"",
    ));
    refused_with(
        &base("next_hop = \"192.0.2.126\"", "interface = \"vni300\""),
        "route[0].interface",
        "no interface \"vni300\"",
    );
    let red = format!(
        "[[vrf]]\nname = \"red\"\n{}",
        base(
            "\"198.51.100.1/24\" }",
            "\"198.51.100.1/24\", vrf = \"red\" }"
        )
        .replace("next_hop = \"192.0.2.126\"", "interface = \"vni200\"")
    );
    let why = refused(&red, "route[0].interface");
    assert_eq!(
        why,
        "interface \"vni200\" is in VRF \"red\", not \"default\""
    );
    // An interface refused for its own fields is not refused again here.
    let bad = base("\"192.0.2.65/26\"", "\"192.0.2.64/26\"")
        .replace("next_hop = \"192.0.2.126\"", "interface = \"core\"");
    refused(&bad, "interface[0].address");
}

#[test]
fn routed_interfaces_need_a_free_link_on_a_port() {
    refused_with(
        &base("port = \"phys0\"", "port = \"phys9\""),
        "interface[0].port",
        "no [[port]] is named \"phys9\"",
    );
    refused_with(
        &base("vlan = 30", "vlan = 10"),
        "interface[0].vlan",
        "VLAN 10 of port \"phys0\" is bridged to VNI 100",
    );
    refused(&base("vlan = 30", "vlan = 4095"), "interface[0].vlan");
    // Untagged: free unless the port bridges its untagged frames.
    accepted(&base("vlan = 30\n", ""));
    let native =
        base("vlan = 30\n", "").replace("device = \"p0\"", "device = \"p0\"\nuntagged_vni = 200");
    refused_with(&native, "interface[0].vlan", "untagged_vni");
    let twice = plus("[[interface]]\nname = \"core2\"\nport = \"phys0\"\nvlan = 30\naddress = \"192.0.2.129/26\"");
    refused_with(&twice, "interface[1].vlan", "already routes this VLAN");
    let named = plus(
        "[[interface]]\nname = \"core\"\nport = \"phys0\"\nvlan = 31\naddress = \"192.0.2.129/26\"",
    );
    refused(&named, "interface[1].name");
    refused_with(
        &base("name = \"core\"", "name = \"vni7\""),
        "interface[0].name",
        "VNI 7's gateway interface",
    );
}

#[test]
fn interface_mtu_fits_its_port() {
    let mtu = |m: u16| base("vlan = 30", &format!("vlan = 30\nmtu = {m}"));
    accepted(&mtu(1500));
    accepted(&mtu(68));
    refused_with(&mtu(1501), "interface[0].mtu", "port \"phys0\"'s mtu 1500");
    refused(&mtu(67), "interface[0].mtu");
}

#[test]
fn arp_suppression_modes() {
    let mode = |m: &str| {
        base(
            "id = 100\n",
            &format!("id = 100\narp_suppression = \"{m}\"\n"),
        )
    };
    accepted(&mode("reply"));
    accepted(&mode("proxy"));
    let c = Config::parse_toml(&mode("proxy")).unwrap();
    assert_eq!(c.vni[0].arp_suppression, ArpSuppression::Proxy);
    let e = errors(&mode("always"));
    assert_eq!(e[0].path, "vni[0].arp_suppression", "{e:?}");
    // Proxy answers with the gateway MAC: it needs a gateway.
    let minimal = include_str!("../examples/minimal.toml")
        .replace("id = 100", "id = 100\narp_suppression = \"proxy\"");
    refused_with(&minimal, "vni[0].arp_suppression", "needs a `gateway`");
}

#[test]
fn icmp_and_neighbour_ranges() {
    for (section, path) in [
        ("[icmp]\nburst = 0", "icmp.burst"),
        ("[icmp]\nrate_per_sec = 2000000", "icmp.rate_per_sec"),
        ("[neighbour]\nqueue_len = 65", "neighbour.queue_len"),
        ("[neighbour]\nretries = 0", "neighbour.retries"),
        ("[neighbour]\nageing_secs = 0", "neighbour.ageing_secs"),
        (
            "[neighbour]\nretry_interval_ms = 5",
            "neighbour.retry_interval_ms",
        ),
    ] {
        refused(&plus(section), path);
    }
    let e = errors(&plus("[neighbour]\nqueue = 3"));
    assert_eq!(e[0].path, "neighbour.queue", "{e:?}");
}

#[test]
fn every_l3_error_is_reported_at_once() {
    let text = base("\"203.0.113.1/24\"", "\"203.0.113.0/24\"")
        .replace("port = \"phys0\"", "port = \"nope\"")
        .replace("\"192.0.2.126\"", "\"192.0.2.200\"");
    let paths: Vec<String> = errors(&text).into_iter().map(|e| e.path).collect();
    assert_eq!(
        paths,
        [
            "vni[0].gateway.address",
            "interface[0].port",
            "route[0].next_hop"
        ]
    );
}

#[test]
fn static_neighbours_are_hosts_of_a_connected_link() {
    let n = |iface: &str, ip: &str, mac: &str| {
        plus(&format!(
            "[[static_neighbour]]\ninterface = \"{iface}\"\nip = \"{ip}\"\nmac = \"{mac}\"\n"
        ))
    };
    accepted(&n("vni100", "203.0.113.7", "02:00:00:00:00:07"));
    accepted(&n("core", "192.0.2.126", "02:00:00:00:00:07"));
    refused_with(
        &n("vni300", "203.0.113.7", "02:00:00:00:00:07"),
        "static_neighbour[0].interface",
        "no L3 interface",
    );
    refused_with(
        &n("vni100", "198.51.100.7", "02:00:00:00:00:07"),
        "static_neighbour[0].ip",
        "not on vni100's link",
    );
    refused_with(
        &n("vni100", "203.0.113.1", "02:00:00:00:00:07"),
        "static_neighbour[0].ip",
        "own address",
    );
    refused_with(
        &n("vni100", "203.0.113.255", "02:00:00:00:00:07"),
        "static_neighbour[0].ip",
        "broadcast",
    );
    refused_with(
        &n("vni100", "203.0.113.7", "01:00:5e:00:00:07"),
        "static_neighbour[0].mac",
        "unicast",
    );
    let twice = n("vni100", "203.0.113.7", "02:00:00:00:00:07")
        + "[[static_neighbour]]\ninterface = \"vni100\"\nip = \"203.0.113.7\"\nmac = \"02:00:00:00:00:08\"\n";
    refused_with(&twice, "static_neighbour[1].ip", "twice");
}
