use super::refused_unchanged;
use crate::testkit::{vni, Lab};
use serde_json::{json, Value};

#[tokio::test]
async fn vni_lifecycle() {
    let mut lab = Lab::new();
    let body = json!({"id": 200, "flood": ["192.0.2.1"]});
    let r = lab.send("POST", "/api/v1/vnis", body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.location.as_deref(), Some("/api/v1/vnis/200"));
    assert_eq!(r.generation, Some(2));
    assert_eq!(r.json["learning"], true, "defaults filled in");
    let snap = lab.shared.snapshot.load_full();
    assert_eq!(snap.generation, 2);
    assert!(
        snap.vni_slot(vni(200)).is_some(),
        "the data plane has VNI 200"
    );

    let r = lab.get("/api/v1/vnis/200").await;
    assert_eq!(r.json["flood"], json!(["192.0.2.1"]));
    assert_eq!(
        lab.get("/api/v1/vnis").await.json.as_array().unwrap().len(),
        2
    );

    let r = lab
        .send("PUT", "/api/v1/vnis/200", json!({"mac_limit": 10}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["flood"], json!([]), "PUT replaces the whole VNI");
    assert_eq!(lab.config().vni[1].mac_limit, 10);

    let r = lab
        .send("PATCH", "/api/v1/vnis/200", json!({"learning": false}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        (&r.json["learning"], &r.json["mac_limit"]),
        (&json!(false), &json!(10))
    );
    let snap = lab.shared.snapshot.load_full();
    assert!(!snap.vni(snap.vni_slot(vni(200)).unwrap()).unwrap().learning);

    let r = lab.call("DELETE", "/api/v1/vnis/200", &[], "").await;
    assert_eq!(r.status, 204);
    assert_eq!(r.generation, Some(5));
    lab.settle();
    assert!(lab.shared.snapshot.load().vni_slot(vni(200)).is_none());
    let r = lab.get("/api/v1/vnis/200").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json["errors"][0]["path"], "vni");
}

#[tokio::test]
async fn refused_vni_changes_change_nothing() {
    let lab = Lab::new();
    let null = Value::Null;
    let replies = refused_unchanged(
        &lab,
        vec![
            ("POST", "/api/v1/vnis", json!({"id": 100}), 409, "id"),
            (
                "POST",
                "/api/v1/vnis",
                json!({"id": 16777216}),
                422,
                "vni[1].id",
            ),
            (
                "POST",
                "/api/v1/vnis",
                json!({"id": 3, "flood": ["10.0.0.1", "x"]}),
                400,
                "flood[1]",
            ),
            (
                "POST",
                "/api/v1/vnis",
                json!({"id": 300, "colour": "red"}),
                400,
                "colour",
            ),
            (
                "POST",
                "/api/v1/vnis",
                json!({"id": 3, "mac_ageing_secs": 0}),
                422,
                "vni[1].mac_ageing_secs",
            ),
            ("PUT", "/api/v1/vnis/100", json!({"id": 101}), 400, "id"),
            ("PUT", "/api/v1/vnis/999", json!({}), 404, "vni"),
            ("PATCH", "/api/v1/vnis/100", json!({"id": 5}), 400, "id"),
            (
                "PATCH",
                "/api/v1/vnis/100",
                json!({"mac_limit": -1}),
                400,
                "mac_limit",
            ),
            ("DELETE", "/api/v1/vnis/999", null.clone(), 404, "vni"),
            ("DELETE", "/api/v1/vnis/x", null.clone(), 400, "vni"),
            ("DELETE", "/api/v1/vnis/100", null, 409, "port[0].vlans[0]"),
        ],
    )
    .await;
    assert!(replies[0]["error"]
        .as_str()
        .unwrap()
        .contains("already exists"));
    assert!(replies[1]["errors"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("16777215"));
    assert!(replies[11]["error"].as_str().unwrap().contains("VLAN 10"));
}

#[tokio::test]
async fn replication_list() {
    let mut lab = Lab::new();
    let r = lab
        .send("POST", "/api/v1/vnis/100/vteps", json!({"ip": "192.0.2.3"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        r.location.as_deref(),
        Some("/api/v1/vnis/100/vteps/192.0.2.3")
    );
    let r = lab.get("/api/v1/vnis/100/vteps").await;
    let expected = json!([{"ip": "192.0.2.1"}, {"ip": "192.0.2.2"}, {"ip": "192.0.2.3"}]);
    assert_eq!(r.json, expected);
    lab.settle();
    let new_vtep = "192.0.2.3".parse().unwrap();
    assert!(
        lab.shared.tunnels.lookup(new_vtep).is_some(),
        "being resolved"
    );

    let null = Value::Null;
    let uri = "/api/v1/vnis/100/vteps";
    refused_unchanged(
        &lab,
        vec![
            ("POST", uri, json!({"ip": "192.0.2.3"}), 409, "ip"),
            (
                "POST",
                uri,
                json!({"ip": "192.0.2.10"}),
                422,
                "vni[0].flood[3]",
            ),
            (
                "POST",
                uri,
                json!({"ip": "224.0.0.1"}),
                422,
                "vni[0].flood[3]",
            ),
            ("POST", uri, json!({"ip": "300.1.1.1"}), 400, "ip"),
            (
                "POST",
                "/api/v1/vnis/7/vteps",
                json!({"ip": "192.0.2.4"}),
                404,
                "vni",
            ),
            (
                "DELETE",
                "/api/v1/vnis/100/vteps/192.0.2.9",
                null.clone(),
                404,
                "ip",
            ),
            ("DELETE", "/api/v1/vnis/100/vteps/nope", null, 400, "ip"),
        ],
    )
    .await;

    let r = lab
        .call("DELETE", "/api/v1/vnis/100/vteps/192.0.2.1", &[], "")
        .await;
    assert_eq!(r.status, 204);
    let snap = lab.shared.snapshot.load();
    let plan = snap.vni(snap.vni_slot(vni(100)).unwrap()).unwrap();
    let left: Vec<String> = plan.flood_vteps.iter().map(|ip| ip.to_string()).collect();
    assert_eq!(left, ["192.0.2.2", "192.0.2.3"]);
}

#[tokio::test]
async fn static_macs_reach_the_mac_table() {
    let mut lab = Lab::new();
    let uri = "/api/v1/vnis/100/static-macs";
    let body = json!({"mac": "02:00:00:00:99:01", "vtep": "192.0.2.2"});
    let r = lab.send("POST", uri, body.clone()).await;
    assert_eq!(r.status, 201, "{}", r.text);
    lab.settle();
    let r = lab.get("/api/v1/macs?vni=100").await;
    let entry =
        json!({"vni": 100, "mac": "02:00:00:00:99:01", "type": "static", "vtep": "192.0.2.2"});
    assert_eq!(r.json, json!([entry]));
    assert_eq!(lab.get(uri).await.json, json!([body]));

    let pinned = |mac: &str, vtep: &str| json!({"mac": mac, "vtep": vtep});
    let null = Value::Null;
    refused_unchanged(
        &lab,
        vec![
            (
                "POST",
                uri,
                pinned("02:00:00:00:99:01", "192.0.2.1"),
                409,
                "mac",
            ),
            (
                "POST",
                uri,
                pinned("01:00:5e:00:00:01", "192.0.2.1"),
                422,
                "vni[0].static_macs[1].mac",
            ),
            (
                "POST",
                uri,
                pinned("02:00:00:00:99", "192.0.2.1"),
                400,
                "mac",
            ),
            ("POST", uri, json!({"mac": "02:00:00:00:99:02"}), 400, ""),
            (
                "DELETE",
                "/api/v1/vnis/100/static-macs/02:00:00:00:99:09",
                null,
                404,
                "mac",
            ),
        ],
    )
    .await;

    let r = lab
        .call(
            "DELETE",
            "/api/v1/vnis/100/static-macs/02:00:00:00:99:01",
            &[],
            "",
        )
        .await;
    assert_eq!(r.status, 204);
    lab.settle();
    assert_eq!(lab.get("/api/v1/macs").await.json, json!([]));
}
