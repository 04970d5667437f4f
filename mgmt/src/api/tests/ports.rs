use super::refused_unchanged;
use crate::testkit::{vni, Lab};
use serde_json::{json, Value};

#[tokio::test]
async fn vlan_bindings() {
    let lab = Lab::new();
    lab.send("POST", "/api/v1/vnis", json!({"id": 200})).await;
    let uri = "/api/v1/ports/phys0/vlans";
    let r = lab.send("POST", uri, json!({"vlan": 20, "vni": 200})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.location.as_deref(), Some("/api/v1/ports/phys0/vlans/20"));
    let snap = lab.shared.snapshot.load();
    assert_eq!(snap.ports[1].vni_slot(Some(20)), snap.vni_slot(vni(200)));
    let r = lab.get(uri).await;
    assert_eq!(
        r.json,
        json!([{"vlan": 10, "vni": 100}, {"vlan": 20, "vni": 200}])
    );

    // Duplicate VLAN, unknown VNI, a second binding of one VNI, bad VLAN ids.
    let bind = |vlan: u32, vni: u32| json!({"vlan": vlan, "vni": vni});
    let null = Value::Null;
    let replies = refused_unchanged(
        &lab,
        vec![
            ("POST", uri, bind(10, 200), 409, "vlan"),
            ("POST", uri, bind(30, 300), 422, "port[0].vlans[2].vni"),
            ("POST", uri, bind(30, 100), 422, "port[0].vlans[2].vni"),
            ("POST", uri, bind(4095, 200), 422, "port[0].vlans[2].vlan"),
            ("POST", uri, bind(70000, 200), 400, "vlan"),
            (
                "POST",
                "/api/v1/ports/phys9/vlans",
                bind(30, 200),
                404,
                "name",
            ),
            (
                "DELETE",
                "/api/v1/ports/phys0/vlans/30",
                null.clone(),
                404,
                "vlan",
            ),
            ("DELETE", "/api/v1/ports/phys0/vlans/x", null, 400, "vlan"),
        ],
    )
    .await;
    assert!(replies[0]["error"]
        .as_str()
        .unwrap()
        .contains("already bound to VNI 100"));

    let r = lab
        .call("DELETE", "/api/v1/ports/phys0/vlans/20", &[], "")
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(lab.shared.snapshot.load().ports[1].vni_slot(Some(20)), None);
    assert_eq!(lab.send("POST", "/api/v1vnis", json!({})).await.status, 404);
}

#[tokio::test]
async fn port_settings() {
    let lab = Lab::new();
    assert_eq!(lab.get("/api/v1/ports").await.json[0]["name"], "phys0");
    let body = json!({"mtu": 1400, "untagged_vni": 100});
    let r = lab.send("PUT", "/api/v1/ports/phys0", body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["device"], "p0", "device filled in");
    assert_eq!(r.json["vlans"], json!([]), "PUT replaces the bindings");
    let snap = lab.shared.snapshot.load();
    assert_eq!(snap.ports[1].mtu, 1400);
    assert_eq!(snap.ports[1].vni_slot(None), snap.vni_slot(vni(100)));

    let patch = json!({"untagged_vni": null, "vlans": [{"vlan": 10, "vni": 100}]});
    let r = lab.send("PATCH", "/api/v1/ports/phys0", patch).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["mtu"], 1400, "untouched by the patch");
    assert_eq!(lab.get("/api/v1/ports/phys0").await.json, r.json);
    assert_eq!(lab.get("/api/v1/ports/nope").await.status, 404);
}

#[tokio::test]
async fn start_time_port_settings_need_a_restart() {
    let lab = Lab::new();
    // Valid (the override lets the underlay be short of 9050), but
    // 9018-byte frames do not fit the 2048-byte buffers.
    let r = lab
        .send("PATCH", "/api/v1/underlay", json!({"mtu_check": "warn"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let uri = "/api/v1/ports/phys0";
    let port = |name: &str, device: &str| json!({"name": name, "device": device});
    let null = Value::Null;
    let replies = refused_unchanged(
        &lab,
        vec![
            ("PATCH", uri, json!({"device": "p7"}), 422, "port[0].device"),
            ("PATCH", uri, json!({"name": "phys7"}), 422, "port[0].name"),
            ("PUT", uri, json!({"name": "phys7"}), 400, "name"),
            ("PATCH", uri, json!({"mtu": 9000}), 422, "port[0].mtu"),
            ("POST", "/api/v1/ports", port("phys1", "p1"), 422, "port"),
            ("POST", "/api/v1/ports", port("phys0", "p1"), 409, "name"),
            (
                "POST",
                "/api/v1/ports",
                port("phys1", "p0"),
                422,
                "port[1].device",
            ),
            ("DELETE", uri, null.clone(), 422, "port"),
            ("DELETE", "/api/v1/ports/phys9", null, 404, "name"),
        ],
    )
    .await;
    assert!(replies[0]["error"]
        .as_str()
        .unwrap()
        .contains("needs a restart"));
    let reason = replies[3]["errors"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("9018 bytes"), "{reason}");
}

#[tokio::test]
async fn underlay_settings() {
    let lab = Lab::new();
    assert_eq!(
        lab.get("/api/v1/underlay").await.json["address"],
        "192.0.2.10/24"
    );
    let r = lab
        .send(
            "PATCH",
            "/api/v1/underlay",
            json!({"udp_port": 8472, "ttl": 10}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let snap = lab.shared.snapshot.load();
    assert_eq!((snap.underlay.udp_port, snap.underlay.ttl), (8472, 10));
    let body = json!({"address": "192.0.2.20/24", "mtu": 1600});
    let r = lab.send("PUT", "/api/v1/underlay", body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["udp_port"], 4789, "PUT resets what it leaves out");
    assert_eq!(
        lab.shared.snapshot.load().underlay.ip.to_string(),
        "192.0.2.20"
    );

    let uri = "/api/v1/underlay";
    let replies = refused_unchanged(
        &lab,
        vec![
            (
                "PATCH",
                uri,
                json!({"source_ports": "2000-1000"}),
                400,
                "source_ports",
            ),
            (
                "PATCH",
                uri,
                json!({"device": "u9"}),
                422,
                "underlay.device",
            ),
            ("PATCH", uri, json!({"mtu": 1500}), 422, "underlay.mtu"),
            ("PATCH", uri, json!({"mtu": 4000}), 422, "underlay.mtu"),
            ("PUT", uri, json!({"address": "192.0.2.20"}), 400, "address"),
        ],
    )
    .await;
    let reason = replies[2]["errors"][0]["reason"].as_str().unwrap();
    for n in ["1500", "1550", "50"] {
        assert!(reason.contains(n), "{n} missing in {reason}");
    }
}

#[tokio::test]
async fn a_change_accepted_with_a_warning_says_so() {
    let lab = Lab::new();
    let r = lab
        .send("PATCH", "/api/v1/underlay", json!({"mtu_check": "warn"}))
        .await;
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    let r = lab
        .send("PATCH", "/api/v1/underlay", json!({"mtu": 1500}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
    assert!(
        r.warnings[0].starts_with("underlay.mtu: ") && r.warnings[0].contains("1550"),
        "{:?}",
        r.warnings
    );
}
