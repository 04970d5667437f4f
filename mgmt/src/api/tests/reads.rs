use crate::testkit::{tagged_broadcast, Lab};
use serde_json::json;

const HOST: [u8; 6] = [2, 0, 0, 0, 3, 1];
const FRAME_LEN: usize = 100;

/// Resolves both flood VTEPs, then one broadcast from a host on VLAN 10:
/// flooded (encapsulated) to both, and the host learned on phys0.
fn lab_after_traffic() -> Lab {
    let mut lab = Lab::new();
    lab.settle();
    lab.resolve([192, 0, 2, 1], [2, 0, 0, 0, 0xa, 1]);
    lab.resolve([192, 0, 2, 2], [2, 0, 0, 0, 0xa, 2]);
    lab.sent(0);
    lab.receive(1, &tagged_broadcast(HOST, 10, FRAME_LEN));
    assert_eq!(lab.sent(0).len(), 2, "one copy per VTEP");
    lab.settle();
    lab
}

#[tokio::test]
async fn learned_macs_with_filters() {
    let lab = lab_after_traffic();
    let r = lab.get("/api/v1/macs").await;
    assert_eq!(r.json.as_array().unwrap().len(), 1, "{}", r.text);
    let m = &r.json[0];
    assert_eq!(
        (&m["vni"], &m["mac"], &m["type"], &m["port"], &m["vlan"]),
        (
            &json!(100),
            &json!("02:00:00:00:03:01"),
            &json!("learned"),
            &json!("phys0"),
            &json!(10)
        )
    );
    assert!(m["idle_secs"].is_u64());
    assert_eq!(
        lab.get("/api/v1/macs?mac=02:00:00:00:03:01&vni=100")
            .await
            .json,
        r.json
    );
    assert_eq!(
        lab.get("/api/v1/macs?mac=02:00:00:00:03:02").await.json,
        json!([])
    );
    assert_eq!(lab.get("/api/v1/macs?vni=200").await.json, json!([]));
    assert_eq!(lab.get("/api/v1/macs?vtep=192.0.2.1").await.json, json!([]));
    for (q, path) in [("vni=x", "vni"), ("mac=zz", "mac"), ("vtep=1.2.3", "vtep")] {
        let r = lab.get(&format!("/api/v1/macs?{q}")).await;
        assert_eq!(r.status, 400, "{q}");
        assert_eq!(r.json["errors"][0]["path"], path);
    }
}

#[tokio::test]
async fn statistics_match_the_traffic() {
    let lab = lab_after_traffic();
    let outer = (FRAME_LEN - 4 + 50) as u64;
    let r = lab.get("/api/v1/vteps").await;
    let vteps = r.json.as_array().unwrap();
    assert_eq!(vteps.len(), 2, "{}", r.text);
    for (v, last) in vteps.iter().zip([1, 2]) {
        assert_eq!(v["ip"], format!("192.0.2.{last}"));
        assert_eq!(v["state"], "resolved");
        assert_eq!(v["next_hop"], v["ip"]);
        assert_eq!(v["next_hop_mac"], format!("02:00:00:00:0a:0{last}"));
        assert_eq!(v["flood_vnis"], json!([100]));
        assert_eq!(
            (v["tx_packets"].as_u64(), v["tx_bytes"].as_u64()),
            (Some(1), Some(outer))
        );
        assert_eq!(v["rx_packets"], 0);
    }

    let r = lab.get("/api/v1/stats/vnis").await;
    let v = &r.json[0];
    assert_eq!(
        (v["vni"].as_u64(), v["encap_packets"].as_u64()),
        (Some(100), Some(1))
    );
    assert_eq!(v["encap_bytes"], (FRAME_LEN - 4) as u64);
    assert_eq!(
        (v["flood_to_vteps"].as_u64(), v["mac_entries"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(v["macs_learned"], 1);

    let r = lab.get("/api/v1/stats/ports").await;
    let p = &r.json[1];
    assert_eq!(
        (p["port"].as_str(), p["rx_packets"].as_u64()),
        (Some("phys0"), Some(1))
    );
    assert_eq!(p["rx_bytes"], FRAME_LEN as u64);
    assert_eq!(p["nic"]["rx_packets"], 1001);
    assert_eq!(r.json[0]["port"], "underlay");

    let r = lab.get("/api/v1/stats/drops").await;
    let drops = r.json.as_array().unwrap();
    assert_eq!(drops.len(), vtepgw_gateway::counters::DropReason::COUNT);
    assert!(drops
        .iter()
        .all(|d| d["help"].as_str().is_some_and(|h| !h.is_empty())));

    let r = lab.get("/api/v1/workers").await;
    assert_eq!(r.json["tsc_hz"], 2_000_000_000u64);
    let w = &r.json["workers"][0];
    assert!(
        w["packets"].as_u64().unwrap() >= 3,
        "two ARP replies and the frame: {w}"
    );
    assert!(w["polls"].as_u64().unwrap() >= w["packets"].as_u64().unwrap() / 32);
    assert!(w["cycles_per_packet"].is_number());

    let r = lab.get("/api/v1/mtu").await;
    assert_eq!(r.json[0]["margin"], 0);
}

#[tokio::test]
async fn metrics_cover_remote_vteps_and_follow_conventions() {
    let lab = lab_after_traffic();
    let text = lab.get("/metrics").await.text;
    let outer = FRAME_LEN - 4 + 50;
    for line in [
        "vtepgw_remote_vtep_packets_total{direction=\"tx\",remote_vtep=\"192.0.2.1\"} 1"
            .to_string(),
        format!(
            "vtepgw_remote_vtep_bytes_total{{direction=\"tx\",remote_vtep=\"192.0.2.2\"}} {outer}"
        ),
        "vtepgw_flood_replications_total{target=\"vtep\",vni=\"100\"} 2".into(),
        "vtepgw_mac_table_entries{vni=\"100\"} 1".into(),
        "vtepgw_nic_rx_missed_total{port=\"phys0\"} 7".into(),
        "vtepgw_mempool_mbufs{state=\"in_use\"} 12".into(),
        "vtepgw_config_generation 1".into(),
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line}:\n{text}");
    }
    let mut names = std::collections::HashSet::new();
    for line in text.lines().filter(|l| l.starts_with("# TYPE")) {
        let parts: Vec<&str> = line.split_whitespace().collect();
        let (name, kind) = (parts[2], parts[3]);
        assert!(name.starts_with("vtepgw_"), "{name}");
        assert_eq!(
            name.ends_with("_total"),
            kind == "counter",
            "{name} is a {kind}"
        );
        assert!(
            text.contains(&format!("# HELP {name} ")),
            "{name} has no help"
        );
        names.insert(name);
    }
    assert!(names.len() >= 30, "{names:?}");
}

/// The shipped Grafana dashboard queries only metrics that exist.
#[tokio::test]
async fn the_grafana_dashboard_uses_real_metrics() {
    let lab = lab_after_traffic();
    let mut text = lab.get("/metrics").await.text;
    // Group series exist where a VNI has a group.
    let grouped = format!(
        "{}\n[[vni]]\nid = 300\ngroup = \"239.1.1.9\"\n",
        crate::testkit::CONFIG
    );
    text += &Lab::with(&grouped, None, None).get("/metrics").await.text;
    // Routed series exist where a VNI has a gateway interface.
    let routed = crate::testkit::CONFIG.replace(
        "id = 100\n",
        "id = 100\ngateway = { address = \"203.0.113.254/24\" }\n",
    );
    text += &Lab::with(&routed, None, None).get("/metrics").await.text;
    let dashboard: serde_json::Value =
        serde_json::from_str(include_str!("../../../../config/grafana-dashboard.json")).unwrap();
    let mut used = std::collections::BTreeSet::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().into_iter().flatten() {
            let expr = target["expr"].as_str().unwrap();
            for (i, _) in expr.match_indices("vtepgw_") {
                let name: String = expr[i..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                used.insert(name);
            }
        }
    }
    assert!(used.len() >= 20, "{used:?}");
    for name in &used {
        assert!(
            text.contains(&format!("# TYPE {name} ")),
            "{name} is not exposed"
        );
    }
}
