//! `GET /api/v1/groups`, the multicast metrics and live group changes.

use super::refused_unchanged;
use crate::testkit::{tagged_broadcast, Lab, CONFIG};
use serde_json::json;

const HOST: [u8; 6] = [2, 0, 0, 0, 3, 1];

/// VNI 100 floods to 239.1.1.1; VNI 200 head-end.
fn grouped() -> String {
    CONFIG.replace(
        "flood = [\"192.0.2.1\", \"192.0.2.2\"]",
        "group = \"239.1.1.1\"\n\n[[vni]]\nid = 200\nflood = [\"192.0.2.1\"]",
    )
}

/// UDP frames (VXLAN) among `frames`.
fn vxlan(frames: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    frames.into_iter().filter(|f| f[23] == 17).collect()
}

#[tokio::test]
async fn groups_show_membership_querier_and_traffic() {
    let mut lab = Lab::with(&grouped(), None, None);
    lab.settle();
    lab.sent(0);
    lab.receive(1, &tagged_broadcast(HOST, 10, 100));
    assert_eq!(vxlan(lab.sent(0)).len(), 1, "one copy to the group");
    lab.settle();
    let r = lab.get("/api/v1/groups").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let g = &r.json["groups"][0];
    assert_eq!(
        (&g["group"], &g["vnis"], &g["tx_packets"]),
        (&json!("239.1.1.1"), &json!([100]), &json!(1)),
        "{}",
        r.text
    );
    assert!(["joining", "member"].contains(&g["state"].as_str().unwrap()));
    assert!(g["last_report_ms_ago"].is_u64(), "{}", r.text);
    assert_eq!(r.json["querier_version"], json!(null));
    assert_eq!(r.json["report_version"], 3);
    assert_eq!(r.json["receive_mode"], "unfiltered");
    assert!(r.json["igmp"]["v3_reports_sent"].as_u64().unwrap() >= 1);

    let text = lab.get("/metrics").await.text;
    for line in [
        "vtepgw_group_packets_total{direction=\"tx\",group=\"239.1.1.1\"} 1",
        "vtepgw_igmp_groups 1",
        "vtepgw_multicast_receive_mode{mode=\"unfiltered\"} 1",
        "vtepgw_igmp_queries_received_total{version=\"3\"} 0",
        "vtepgw_drops_total{reason=\"wrong_group\"} 0",
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line}:\n{text}");
    }
    assert!(text.contains("vtepgw_igmp_reports_sent_total{version=\"3\"}"));
}

#[tokio::test]
async fn a_vni_moves_to_another_group_live_and_bad_groups_are_refused() {
    let mut lab = Lab::with(&grouped(), None, None);
    lab.settle();
    let r = lab
        .send("PATCH", "/api/v1/vnis/100", json!({"group": "239.1.1.2"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    lab.settle();
    let r = lab.get("/api/v1/groups").await;
    assert_eq!(r.json["groups"].as_array().unwrap().len(), 1);
    assert_eq!(r.json["groups"][0]["group"], "239.1.1.2");
    assert!(
        r.json["igmp"]["leaves_sent"].as_u64().unwrap() >= 1,
        "{}",
        r.text
    );
    refused_unchanged(
        &lab,
        vec![
            (
                "PATCH",
                "/api/v1/vnis/100",
                json!({"group": "192.0.2.77"}),
                422,
                "vni[0].group",
            ),
            (
                "PATCH",
                "/api/v1/vnis/100",
                json!({"group": "224.0.0.5"}),
                422,
                "vni[0].group",
            ),
            (
                "PATCH",
                "/api/v1/vnis/200",
                json!({"group": "239.1.1.1"}),
                422,
                "vni[1].group",
            ),
        ],
    )
    .await;
}
