//! The gateway as a service: SIGHUP reloads the config file through the
//! API's all-or-nothing path; readiness goes to $NOTIFY_SOCKET.

mod common;

use common::{Gateway, Lab, H1_IP};
use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
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

/// The next datagram on the notify socket (within 30 s).
fn next_notice(socket: &UnixDatagram, log: &std::path::Path) -> String {
    let mut buf = [0u8; 4096];
    match socket.recv(&mut buf) {
        Ok(n) => String::from_utf8_lossy(&buf[..n]).into_owned(),
        Err(e) => panic!(
            "no sd_notify message ({e}); log:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        ),
    }
}

#[test]
fn readiness_reload_and_stop_are_notified() {
    let lab = Lab::new();
    let config = lab.gateway_config("");
    let path = common::temp_path("toml");
    let log = path.with_extension("log");
    let socket_path = path.with_extension("sock");
    std::fs::write(&path, &config).unwrap();
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let out = std::fs::File::create(&log).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_vtepgw"))
        .args(["run", "--config"])
        .arg(&path)
        .env("NOTIFY_SOCKET", &socket_path)
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap();
    let mut gw = common::ChildGuard::new(child, Some(log.clone()));

    let ready = next_notice(&socket, &log);
    assert!(ready.lines().any(|l| l == "READY=1"), "{ready}");
    // Ready means serving: the API answers at once, every worker polls.
    let mgmt = config
        .lines()
        .find_map(|l| l.strip_prefix("listen = \""))
        .and_then(|l| l.strip_suffix('"'))
        .unwrap()
        .parse()
        .unwrap();
    let (status, body) = common::http(mgmt, "GET", "/api/v1/workers", &[], "").unwrap();
    assert_eq!(status, 200, "{body}");
    let workers: serde_json::Value = serde_json::from_str(&body).unwrap();
    let workers = workers["workers"].as_array().unwrap();
    assert!(!workers.is_empty(), "{body}");
    assert!(
        workers.iter().all(|w| w["polls"].as_u64() > Some(0)),
        "{body}"
    );

    std::fs::write(&path, format!("{config}\n[[vni]]\nid = 300\n")).unwrap();
    gw.signal("HUP");
    let reloading = next_notice(&socket, &log);
    assert!(reloading.lines().any(|l| l == "RELOADING=1"), "{reloading}");
    assert!(reloading.contains("MONOTONIC_USEC="), "{reloading}");
    let again = next_notice(&socket, &log);
    assert!(again.lines().any(|l| l == "READY=1"), "{again}");
    let (status, _) = common::http(mgmt, "GET", "/api/v1/vnis/300", &[], "").unwrap();
    assert_eq!(status, 200, "the reload was applied before READY=1");

    gw.signal("TERM");
    let stopping = next_notice(&socket, &log);
    assert!(stopping.lines().any(|l| l == "STOPPING=1"), "{stopping}");
    let status = gw.wait_timeout(Duration::from_secs(10));
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
}

#[test]
fn the_unit_file_passes_systemd_analyze_verify() {
    let unit = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/config/systemd/vtepgw.service"
    ))
    .unwrap();
    for line in ["Type=notify", "ExecReload=/bin/kill -HUP $MAINPID"] {
        assert!(unit.lines().any(|l| l == line), "{line} missing");
    }
    // verify insists that ExecStart exists: point it at the binary built here.
    let unit = unit.replace("/usr/local/bin/vtepgw", env!("CARGO_BIN_EXE_vtepgw"));
    let dir = common::temp_path("units");
    std::fs::create_dir(&dir).unwrap();
    let file = dir.join("vtepgw.service");
    std::fs::write(&file, unit).unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&file)
        .output()
        .expect("systemd-analyze (scripts/setup.sh installs systemd)");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{said}");
    assert!(said.trim().is_empty(), "no warnings either: {said}");
}
