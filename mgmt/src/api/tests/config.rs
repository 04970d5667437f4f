use super::{error_paths, refused_unchanged};
use crate::testkit::{vni, Lab, CONFIG};
use serde_json::json;
use vtepgw_config::Config;

const TOML: [(&str, &str); 1] = [("content-type", "application/toml")];

#[tokio::test]
async fn running_config_in_both_forms() {
    let lab = Lab::new();
    let r = lab.get("/api/v1/config").await;
    assert_eq!(r.json["vni"][0]["id"], 100);
    let r = lab.get("/api/v1/config?format=toml").await;
    assert_eq!(Config::parse_toml(&r.text).unwrap(), lab.config());
    let r = lab.get("/api/v1/config?format=yaml").await;
    assert_eq!(
        (r.status.as_u16(), r.json["errors"][0]["path"].clone()),
        (400, json!("format"))
    );
}

#[tokio::test]
async fn whole_config_replacement() {
    let lab = Lab::new();
    let text = format!("{CONFIG}\n[[vni]]\nid = 200\n");
    let r = lab.call("PUT", "/api/v1/config", &TOML, &text).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.json,
        json!({"generation": 2, "changed": true, "warnings": []})
    );
    assert!(lab.shared.snapshot.load().vni_slot(vni(200)).is_some());

    // The same config again: accepted, nothing published.
    let r = lab.call("PUT", "/api/v1/config", &TOML, &text).await;
    assert_eq!(r.json["changed"], false);
    assert_eq!(lab.generation(), 2);

    // JSON works too, and an MTU-starved config is accepted with a warning
    // only when the override asks for it.
    let mut c = serde_json::to_value(lab.config()).unwrap();
    c["underlay"]["mtu"] = 1500.into();
    refused_unchanged(
        &lab,
        vec![("PUT", "/api/v1/config", c.clone(), 422, "underlay.mtu")],
    )
    .await;
    c["underlay"]["mtu_check"] = "warn".into();
    let r = lab.send("PUT", "/api/v1/config", c).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["warnings"][0]["path"], "underlay.mtu");

    // Malformed bodies name the field, or the line.
    refused_unchanged(
        &lab,
        vec![(
            "PUT",
            "/api/v1/config",
            json!({"underlay": {"device": 5}}),
            400,
            "underlay.device",
        )],
    )
    .await;
    let before = lab.generation();
    let r = lab
        .call("PUT", "/api/v1/config", &TOML, "[underlay\n")
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(
        r.json["error"].as_str().unwrap().contains("line 1"),
        "{}",
        r.text
    );
    let r = lab.call("PUT", "/api/v1/config", &[], "{").await;
    assert_eq!(r.status, 400);
    assert_eq!(lab.generation(), before);
    let mut c = serde_json::to_value(lab.config()).unwrap();
    c["dataplane"]["worker_lcores"] = json!([1, 2]);
    refused_unchanged(
        &lab,
        vec![("PUT", "/api/v1/config", c, 422, "dataplane.worker_lcores")],
    )
    .await;
}

#[tokio::test]
async fn validate_applies_nothing() {
    let lab = Lab::new();
    let mut c = serde_json::to_value(lab.config()).unwrap();
    c["vni"][0]["id"] = 16777216.into();
    c["management"]["listen"] = "127.0.0.1:1".into();
    let r = lab.send("POST", "/api/v1/config/validate", c).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["valid"], false);
    assert_eq!(r.json["applicable_live"], false);
    let paths = error_paths(&r.json);
    assert!(
        paths.contains(&"vni[0].id") && paths.contains(&"port[0].vlans[0].vni"),
        "{paths:?}"
    );
    assert_eq!(r.json["needs_restart"][0]["path"], "management.listen");

    let r = lab
        .call("POST", "/api/v1/config/validate", &TOML, CONFIG)
        .await;
    assert_eq!(
        r.json,
        json!({"valid": true, "errors": [], "warnings": [], "applicable_live": true, "needs_restart": []})
    );
    let r = lab
        .call(
            "POST",
            "/api/v1/config/validate",
            &TOML,
            "[[vni]]\nid = \"x\"\n",
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(lab.generation(), 1);
}

#[tokio::test]
async fn save_writes_the_running_config() {
    let lab = Lab::new();
    let r = lab.call("POST", "/api/v1/config/save", &[], "").await;
    assert_eq!(r.status, 409, "no file to save to: {}", r.text);

    let dir = std::env::temp_dir().join(format!("vtepgw-save-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("gw.toml");
    std::fs::write(&file, CONFIG).unwrap();
    let lab = Lab::with(CONFIG, Some(file.clone()), None);
    lab.send(
        "POST",
        "/api/v1/vnis",
        json!({"id": 300, "flood": ["192.0.2.7"]}),
    )
    .await;
    let r = lab.call("POST", "/api/v1/config/save", &[], "").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json, json!({"path": file, "generation": 2}));
    let saved = Config::load(&file).unwrap();
    assert_eq!(saved, lab.config());
    assert_eq!(
        saved.vni[1].flood,
        ["192.0.2.7".parse::<std::net::Ipv4Addr>().unwrap()]
    );
    assert!(!file.with_extension("toml.tmp").exists());

    // An unwritable target: an error, and the old file stays.
    let gone = Lab::with(CONFIG, Some(dir.join("missing/gw.toml")), None);
    let r = gone.call("POST", "/api/v1/config/save", &[], "").await;
    assert_eq!(r.status, 500, "{}", r.text);
    std::fs::remove_dir_all(&dir).unwrap();
}
