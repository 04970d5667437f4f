use crate::testkit::{Lab, CONFIG};
use serde_json::json;
use vtepgw_gateway::wire::{checksum, ArpRepr, Mac, ARP_LEN, ARP_REQUEST};

const HOST_MAC: [u8; 6] = [2, 0, 0, 0, 3, 1];
const HOST_IP: [u8; 4] = [203, 0, 113, 1];
const GW_IP: [u8; 4] = [203, 0, 113, 254];
/// The echo request's untagged frame: Ethernet, IPv4, ICMP with 8 bytes.
const ECHO_LEN: usize = 14 + 20 + 16;

/// The standard lab with VNI 100's gateway, a routed interface on VLAN 20
/// of phys0, a static route through the host, and a VRF with no interface.
fn config() -> String {
    let with_gateway = CONFIG.replace(
        "id = 100\n",
        "id = 100\ngateway = { address = \"203.0.113.254/24\" }\n",
    );
    format!(
        "{with_gateway}\n[[vrf]]\nname = \"red\"\n\n\
         [[interface]]\nname = \"core\"\nport = \"phys0\"\nvlan = 20\naddress = \"192.0.2.193/26\"\n\n\
         [[route]]\nprefix = \"198.51.100.0/24\"\nnext_hop = \"203.0.113.1\"\n"
    )
}

/// A frame from the host on VLAN 10: `dst`, ethertype, payload.
fn tagged(dst: [u8; 6], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = dst.to_vec();
    f.extend_from_slice(&HOST_MAC);
    f.extend_from_slice(&[0x81, 0x00, 0, 10]);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// The host asks for the gateway's MAC.
fn arp_request() -> Vec<u8> {
    let mut arp = [0u8; ARP_LEN];
    ArpRepr {
        op: ARP_REQUEST,
        sender_mac: Mac(HOST_MAC),
        sender_ip: HOST_IP.into(),
        target_mac: Mac::ZERO,
        target_ip: GW_IP.into(),
    }
    .emit(&mut arp);
    tagged([0xff; 6], 0x0806, &arp)
}

/// The host pings the gateway, sent to `gw_mac`.
fn echo_request(gw_mac: [u8; 6]) -> Vec<u8> {
    let mut icmp = vec![8, 0, 0, 0, 0, 1, 0, 1];
    icmp.extend_from_slice(b"vtepgw!!");
    let sum = checksum(&icmp).to_be_bytes();
    icmp[2..4].copy_from_slice(&sum);
    let total = (20 + icmp.len()) as u16;
    let mut ip = vec![0x45, 0];
    ip.extend_from_slice(&total.to_be_bytes());
    ip.extend_from_slice(&[0, 1, 0, 0, 64, 1, 0, 0]);
    ip.extend_from_slice(&HOST_IP);
    ip.extend_from_slice(&GW_IP);
    let sum = checksum(&ip).to_be_bytes();
    ip[10..12].copy_from_slice(&sum);
    ip.extend_from_slice(&icmp);
    tagged(gw_mac, 0x0800, &ip)
}

/// The gateway answered the host's ARP (and learned it), then its ping.
async fn lab_after_ping() -> (Lab, serde_json::Value) {
    let mut lab = Lab::with(&config(), None, None);
    lab.settle();
    lab.receive(1, &arp_request());
    assert_eq!(lab.sent(1).len(), 1, "the ARP reply");
    lab.settle();
    let ifaces = lab.get("/api/v1/interfaces").await.json;
    let mac: Vec<u8> = ifaces[0]["mac"]
        .as_str()
        .unwrap()
        .split(':')
        .map(|b| u8::from_str_radix(b, 16).unwrap())
        .collect();
    lab.receive(1, &echo_request(mac.try_into().unwrap()));
    assert_eq!(lab.sent(1).len(), 1, "the echo reply");
    lab.settle();
    (lab, ifaces)
}

#[tokio::test]
async fn interfaces_with_their_routed_traffic() {
    let (lab, before) = lab_after_ping().await;
    let f = &before[0];
    assert_eq!(before.as_array().unwrap().len(), 2, "{before}");
    assert_eq!(
        (&f["name"], &f["vrf"], &f["address"], &f["vni"]),
        (
            &json!("vni100"),
            &json!("default"),
            &json!("203.0.113.254/24"),
            &json!(100)
        )
    );
    assert!(f["mtu"].as_u64().is_some_and(|m| m > 0), "{f}");
    assert_eq!((&f["port"], &f["vlan"]), (&json!(null), &json!(null)));
    let core = &before[1];
    assert_eq!(
        (&core["name"], &core["address"], &core["vni"]),
        (&json!("core"), &json!("192.0.2.193/26"), &json!(null))
    );
    assert_eq!(
        (&core["port"], &core["vlan"]),
        (&json!("phys0"), &json!(20))
    );
    assert_eq!(core["in_packets"], 0);
    let r = lab.get("/api/v1/interfaces").await;
    let f = &r.json[0];
    assert_eq!(
        (f["in_packets"].as_u64(), f["out_packets"].as_u64()),
        (Some(1), Some(1)),
        "the echo request in, its reply out: {f}"
    );
    assert_eq!(f["in_bytes"], ECHO_LEN as u64);
    assert_eq!(f["out_bytes"], ECHO_LEN as u64);
    // Without a gateway, no interfaces.
    assert_eq!(Lab::new().get("/api/v1/interfaces").await.json, json!([]));
}

#[tokio::test]
async fn routes_by_vrf_connected_and_static() {
    let lab = Lab::with(&config(), None, None);
    let r = lab.get("/api/v1/routes").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.json,
        json!([
            {"vrf": "default", "prefix": "192.0.2.192/26", "kind": "connected",
             "next_hop": null, "interface": "core"},
            {"vrf": "default", "prefix": "198.51.100.0/24", "kind": "static",
             "next_hop": "203.0.113.1", "interface": "vni100"},
            {"vrf": "default", "prefix": "203.0.113.0/24", "kind": "connected",
             "next_hop": null, "interface": "vni100"},
        ])
    );
    assert_eq!(lab.get("/api/v1/routes?vrf=default").await.json, r.json);
    assert_eq!(lab.get("/api/v1/routes?vrf=red").await.json, json!([]));
    let r = lab.get("/api/v1/routes?vrf=blue").await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.json["errors"][0]["path"], "vrf");
    assert!(r.text.contains("blue"), "{}", r.text);
}

#[tokio::test]
async fn neighbours_learned_from_arp_with_filters() {
    let (lab, _) = lab_after_ping().await;
    let r = lab.get("/api/v1/neighbours").await;
    assert_eq!(r.json.as_array().unwrap().len(), 1, "{}", r.text);
    let n = &r.json[0];
    assert_eq!(
        (&n["vrf"], &n["interface"], &n["ip"], &n["mac"]),
        (
            &json!("default"),
            &json!("vni100"),
            &json!("203.0.113.1"),
            &json!("02:00:00:00:03:01")
        )
    );
    assert!(n["age_secs"].is_u64(), "{n}");
    for q in [
        "vrf=default",
        "interface=vni100",
        "vrf=default&interface=vni100",
    ] {
        assert_eq!(
            lab.get(&format!("/api/v1/neighbours?{q}")).await.json,
            r.json,
            "{q}"
        );
    }
    assert_eq!(lab.get("/api/v1/neighbours?vrf=red").await.json, json!([]));
    for (q, path) in [("vrf=blue", "vrf"), ("interface=vni999", "interface")] {
        let r = lab.get(&format!("/api/v1/neighbours?{q}")).await;
        assert_eq!(r.status, 400, "{q}: {}", r.text);
        assert_eq!(r.json["errors"][0]["path"], path, "{q}");
    }
}

#[tokio::test]
async fn metrics_of_the_l3_gateway() {
    let (lab, _) = lab_after_ping().await;
    let text = lab.get("/metrics").await.text;
    let bytes = ECHO_LEN;
    for line in [
        "vtepgw_routed_packets_total{direction=\"in\",interface=\"vni100\",vrf=\"default\"} 1"
            .to_string(),
        "vtepgw_routed_packets_total{direction=\"out\",interface=\"vni100\",vrf=\"default\"} 1"
            .into(),
        format!(
            "vtepgw_routed_bytes_total{{direction=\"in\",interface=\"vni100\",vrf=\"default\"}} {bytes}"
        ),
        "vtepgw_neighbours{vrf=\"default\"} 1".into(),
        "vtepgw_neighbours{vrf=\"red\"} 0".into(),
        "vtepgw_neighbour_events_total{event=\"learned\"} 1".into(),
        "vtepgw_neighbour_events_total{event=\"table_full\"} 0".into(),
        "vtepgw_gateway_arp_replies_sent_total 1".into(),
        "vtepgw_gateway_arp_requests_sent_total 0".into(),
        "vtepgw_icmp_sent_total{type=\"echo_reply\"} 1".into(),
        "vtepgw_icmp_sent_total{type=\"frag_needed\"} 0".into(),
        "vtepgw_icmp_sent_total{type=\"time_exceeded\"} 0".into(),
        "vtepgw_icmp_rate_limited_total 0".into(),
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line}:\n{text}");
    }
    let types = text
        .lines()
        .filter(|l| l.starts_with("vtepgw_icmp_sent_total{"))
        .count();
    assert_eq!(types, 5, "echo_reply and the four errors:\n{text}");
}
