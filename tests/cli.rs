//! The `vtepgw` command line, offline parts.

use std::process::Command;

fn check_config(text: &str) -> (i32, String) {
    let path = std::env::temp_dir().join(format!(
        "vtepgw-cli-{}-{}.toml",
        std::process::id(),
        text.len()
    ));
    std::fs::write(&path, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_vtepgw"))
        .arg("check-config")
        .arg(&path)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(path);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn example_configs_are_valid() {
    for name in ["minimal", "gateway", "flannel"] {
        let text = std::fs::read_to_string(format!(
            "{}/config/examples/{name}.toml",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let (code, out) = check_config(&text);
        assert_eq!(code, 0, "{name}: {out}");
        assert!(out.contains("valid"), "{out}");
    }
}

#[test]
fn an_mtu_starved_config_is_refused_with_the_numbers() {
    let text = std::fs::read_to_string(format!(
        "{}/config/examples/minimal.toml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
    .replace(
        "address = \"192.0.2.10/24\"",
        "address = \"192.0.2.10/24\"\nmtu = 1500",
    );
    let (code, out) = check_config(&text);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("underlay.mtu"), "{out}");
    for number in ["1500", "1550", "50"] {
        assert!(out.contains(number), "{number} missing: {out}");
    }
    // The explicit override downgrades it to a warning.
    let (code, out) = check_config(&text.replace("mtu = 1500", "mtu = 1500\nmtu_check = \"warn\""));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("warning: underlay.mtu"), "{out}");
}

#[test]
fn every_error_is_listed_by_field() {
    let text = r#"
[underlay]
device = "u"
address = "192.0.2.10/24"
source_ports = "49152-65535"
[[port]]
name = "p"
device = "p"
vlans = [{ vlan = 10, vni = 100 }, { vlan = 10, vni = 200 }]
[[vni]]
id = 100
[[vni]]
id = 16777216
"#;
    let (code, out) = check_config(text);
    assert_eq!(code, 1);
    for path in ["vni[1].id", "port[0].vlans[1].vlan", "port[0].vlans[1].vni"] {
        assert!(out.contains(path), "{path} missing: {out}");
    }
}
