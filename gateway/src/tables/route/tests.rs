use super::*;
use vtepgw_config::Config;

fn v4(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn via(addr: &str, iface: IfaceId) -> NextHop {
    NextHop::Via {
        addr: IpAddr::V4(v4(addr)),
        iface,
    }
}

/// VRF 0 with a connected /24 on interface 0, a /16 and a /25 via
/// interface 1, and a default route.
fn table() -> RouteTable {
    let mut t = RouteTable::new(2);
    let add = |t: &mut RouteTable, p: &str, len, hop| t.insert(0, IpPrefix::v4(v4(p), len), hop);
    add(&mut t, "0.0.0.0", 0, via("192.0.2.126", 1)).unwrap();
    add(&mut t, "198.51.0.0", 16, via("192.0.2.100", 1)).unwrap();
    add(&mut t, "198.51.100.0", 24, NextHop::Connected { iface: 0 }).unwrap();
    add(&mut t, "198.51.100.128", 25, via("192.0.2.101", 1)).unwrap();
    t
}

#[test]
fn the_longest_match_wins() {
    let t = table();
    assert_eq!(
        t.lookup_v4(0, v4("198.51.100.7")),
        Some(NextHop::Connected { iface: 0 })
    );
    assert_eq!(
        t.lookup_v4(0, v4("198.51.100.200")),
        Some(via("192.0.2.101", 1))
    );
    assert_eq!(
        t.lookup_v4(0, v4("198.51.7.1")),
        Some(via("192.0.2.100", 1))
    );
    assert_eq!(t.len(0), 4);
}

#[test]
fn the_default_route_catches_the_rest() {
    let t = table();
    assert_eq!(
        t.lookup_v4(0, v4("203.0.113.9")),
        Some(via("192.0.2.126", 1))
    );
    let mut no_default = RouteTable::new(1);
    no_default
        .insert(
            0,
            IpPrefix::v4(v4("198.51.100.0"), 24),
            NextHop::Connected { iface: 0 },
        )
        .unwrap();
    assert_eq!(no_default.lookup_v4(0, v4("203.0.113.9")), None);
}

#[test]
fn a_host_route_beats_its_connected_prefix() {
    let mut t = table();
    t.insert(
        0,
        IpPrefix::v4(v4("198.51.100.9"), 32),
        via("192.0.2.102", 1),
    )
    .unwrap();
    assert_eq!(
        t.lookup_v4(0, v4("198.51.100.9")),
        Some(via("192.0.2.102", 1))
    );
    // Its neighbours stay on the connected link.
    for other in ["198.51.100.8", "198.51.100.10"] {
        assert_eq!(
            t.lookup_v4(0, v4(other)),
            Some(NextHop::Connected { iface: 0 })
        );
    }
    // The packet's neighbour: the destination when connected, else the hop.
    let dst = IpAddr::V4(v4("198.51.100.8"));
    assert_eq!(NextHop::Connected { iface: 0 }.neighbour(dst), dst);
    assert_eq!(
        via("192.0.2.102", 1).neighbour(dst),
        IpAddr::V4(v4("192.0.2.102"))
    );
}

#[test]
fn vrfs_are_isolated() {
    let mut t = table();
    assert_eq!(t.lookup_v4(1, v4("198.51.100.7")), None, "VRF 1 is empty");
    t.insert(
        1,
        IpPrefix::v4(v4("198.51.100.0"), 24),
        NextHop::Connected { iface: 5 },
    )
    .unwrap();
    assert_eq!(
        t.lookup_v4(1, v4("198.51.100.200")),
        Some(NextHop::Connected { iface: 5 })
    );
    assert_eq!(
        t.lookup_v4(0, v4("198.51.100.7")),
        Some(NextHop::Connected { iface: 0 })
    );
    assert_eq!(t.lookup_v4(2, v4("198.51.100.7")), None, "no such VRF");
}

#[test]
fn bad_inserts_are_refused_and_the_first_route_stays() {
    let mut t = table();
    let p = IpPrefix::v4(v4("198.51.100.5"), 24);
    assert_eq!(
        t.insert(0, p, via("192.0.2.9", 1)),
        Err(RouteError::Duplicate(p))
    );
    assert_eq!(
        t.lookup_v4(0, v4("198.51.100.5")),
        Some(NextHop::Connected { iface: 0 })
    );
    let long = IpPrefix::v4(v4("192.0.2.1"), 33);
    assert_eq!(
        t.insert(0, long, via("192.0.2.9", 1)),
        Err(RouteError::BadLength(long))
    );
    assert_eq!(
        t.insert(7, p, via("192.0.2.9", 1)),
        Err(RouteError::UnknownVrf(7))
    );
}

#[test]
fn ipv6_has_its_own_map() {
    let mut t = RouteTable::new(1);
    let net: Ipv6Addr = "2001:db8::".parse().unwrap();
    let hop = NextHop::Via {
        addr: IpAddr::V6("2001:db8::1".parse().unwrap()),
        iface: 2,
    };
    t.insert(
        0,
        IpPrefix {
            addr: IpAddr::V6(net),
            len: 32,
        },
        hop,
    )
    .unwrap();
    let dst: IpAddr = "2001:db8:1::9".parse().unwrap();
    assert_eq!(t.lookup(0, dst), Some(hop));
    assert_eq!(t.lookup(0, IpAddr::V4(v4("32.1.13.184"))), None);
    assert_eq!(hop.iface(), 2);
}

#[test]
fn the_example_config_compiles_to_routes() {
    let c = Config::parse_toml(include_str!("../../../../config/examples/l3.toml")).unwrap();
    assert_eq!(vrf_names(&c), ["default", "red"]);
    let ifaces = interfaces(&c);
    let names: Vec<&str> = ifaces.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["vni100", "vni200", "vni300", "core"]);
    assert_eq!(ifaces[2].vrf, 1);
    let t = RouteTable::from_config(&c);
    let conn = |iface| Some(NextHop::Connected { iface });
    for (vrf, dst, hop) in [
        // Connected, in the VNIs and on the uplink.
        (0, "203.0.113.50", conn(0)),
        (0, "192.0.2.70", conn(3)),
        // Static: the routed network, the default route, an on-link route.
        (0, "192.0.2.130", Some(via("192.0.2.126", 3))),
        (0, "8.8.8.8", Some(via("192.0.2.126", 3))),
        (0, "192.0.2.200", conn(3)),
        // VRF red: its own 203.0.113.128/25, a route through a host in it,
        // and nothing of VNI 100 (in default).
        (1, "203.0.113.200", conn(2)),
        (1, "198.51.100.7", Some(via("203.0.113.254", 2))),
        (1, "203.0.113.50", None),
    ] {
        assert_eq!(t.lookup_v4(vrf, v4(dst)), hop, "VRF {vrf} {dst}");
    }
    assert_eq!((t.len(0), t.len(1)), (6, 2));
}

#[test]
fn a_vrf_lists_its_ipv4_routes_in_prefix_order() {
    let mut t = table();
    // Host bits are cleared in the listing, as they are ignored in lookups.
    t.insert(
        1,
        IpPrefix::v4(v4("192.0.2.77"), 24),
        NextHop::Connected { iface: 2 },
    )
    .unwrap();
    let listed = t.routes_v4(0);
    let prefixes: Vec<(Ipv4Addr, u8)> = listed
        .iter()
        .map(|(p, _)| match p.addr {
            IpAddr::V4(a) => (a, p.len),
            IpAddr::V6(_) => unreachable!("an IPv4 listing"),
        })
        .collect();
    assert_eq!(
        prefixes,
        [
            (v4("0.0.0.0"), 0),
            (v4("198.51.0.0"), 16),
            (v4("198.51.100.0"), 24),
            (v4("198.51.100.128"), 25),
        ]
    );
    assert_eq!(listed[2].1, NextHop::Connected { iface: 0 });
    assert_eq!(listed[3].1, via("192.0.2.101", 1));
    assert_eq!(
        t.routes_v4(1),
        [(
            IpPrefix::v4(v4("192.0.2.0"), 24),
            NextHop::Connected { iface: 2 }
        )]
    );
    assert!(t.routes_v4(7).is_empty(), "an unknown VRF has none");
}
