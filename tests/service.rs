//! The gateway as a service: SIGHUP reloads the config file through the
//! API's all-or-nothing path; readiness goes to $NOTIFY_SOCKET.

mod common;

use common::{Gateway, Lab, H1_IP};
use std::time::Duration;

/// `GET /healthz`'s config generation.
fn generation(gw: &Gateway) -> u64 {
    let (status, body) = gw.http_get("/healthz");
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    v["config_generation"].as_u64().unwrap()
}

fn hangup(gw: &Gateway) {
    common::sh(&format!("kill -HUP {}", gw.pid().unwrap()));
}

/// Rewrites the config file, sends SIGHUP and waits for the log line that
/// says how the reload went (the `n`th such line).
fn reload(gw: &Gateway, text: &str, n: usize) -> String {
    std::fs::write(&gw.config_path, text).unwrap();
    hangup(gw);
    let mut line = String::new();
    common::wait_until(Duration::from_secs(10), "the reload's log line", || {
        let log = gw.log();
        let lines: Vec<&str> = log.lines().filter(|l| l.contains("SIGHUP:")).collect();
        line = lines.get(n).map(|l| l.to_string()).unwrap_or_default();
        !line.is_empty()
    });
    line
}

#[test]
fn sighup_applies_the_file_or_refuses_it_and_keeps_running() {
    let lab = Lab::new();
    let config = lab.gateway_config("");
    let gw = Gateway::start(&config);
    assert_eq!(generation(&gw), 1);

    let line = reload(&gw, &format!("{config}\n[[vni]]\nid = 200\n"), 0);
    assert!(line.contains("reloaded"), "{line}");
    assert_eq!(generation(&gw), 2);
    let (_, vni) = gw.http_get("/api/v1/vnis/200");
    assert!(vni.contains("\"id\":200"), "{vni}");

    // Invalid, then needing a restart: both refused by field, nothing changes.
    let bad = format!("{config}\n[[vni]]\nid = 16777216\n");
    let line = reload(&gw, &bad, 1);
    assert!(
        line.contains("refused") && line.contains("vni[1].id"),
        "{line}"
    );
    let restart = config.replace("mbufs = 8191", "mbufs = 4096");
    let line = reload(&gw, &restart, 2);
    assert!(
        line.contains("refused") && line.contains("dataplane.mbufs"),
        "{line}"
    );
    assert_eq!(generation(&gw), 2, "the refused files changed nothing");
    let (status, _) = gw.http_get("/api/v1/vnis/200");
    assert_eq!(status, 200, "VNI 200 is still configured");
    assert!(lab.ph.ping(H1_IP, 2), "traffic keeps flowing");
    assert!(gw.stop(), "SIGTERM is still an orderly stop (exit 0)");
}
