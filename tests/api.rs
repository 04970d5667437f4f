//! The read-only REST routes on the running gateway.

mod common;

use common::*;

#[test]
fn running_config_and_mtu_report() {
    let lab = Lab::new();
    let gw = Gateway::start(&lab.gateway_config(""));

    let (status, body) = gw.http_get("/api/v1/config");
    assert_eq!(status, 200);
    assert!(body.contains(r#""id":100"#), "{body}");
    assert!(
        body.contains(r#""flood":["192.0.2.1","192.0.2.2"]"#),
        "{body}"
    );

    let (status, toml) = gw.http_get("/api/v1/config?format=toml");
    assert_eq!(status, 200);
    assert!(
        toml.contains("[[vni]]") && toml.contains("address = \"192.0.2.10/24\""),
        "{toml}"
    );
    // The file form round-trips: the gateway accepts it as a config file.
    std::fs::write(gw.config_path.with_extension("saved.toml"), &toml).unwrap();
    let check = std::process::Command::new(env!("CARGO_BIN_EXE_vtepgw"))
        .arg("check-config")
        .arg(gw.config_path.with_extension("saved.toml"))
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );

    let (status, mtu) = gw.http_get("/api/v1/mtu");
    assert_eq!(status, 200);
    assert_eq!(
        mtu,
        r#"[{"vni":100,"overlay_mtu":1500,"underlay_mtu":1550,"required_underlay_mtu":1550,"margin":0}]"#
    );
}
