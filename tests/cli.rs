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

/// `vtepgw run` on a config of null devices with `[management]` lines
/// `management`, expected to fail before DPDK starts: (exit code, stderr).
/// Asserts DPDK left no runtime directory behind.
fn run_refused(management: &str) -> (i32, String) {
    let prefix = format!("vtepgw-refused-{}-{}", std::process::id(), management.len());
    let path = common::temp_path("toml");
    std::fs::write(
        &path,
        format!(
            r#"[dataplane]
worker_lcores = [1]
eal_args = ["--no-huge", "-m", "512", "--no-pci", "--file-prefix", "{prefix}", "--vdev", "net_null0", "--vdev", "net_null1"]
[management]
{management}
[underlay]
device = "net_null0"
address = "192.0.2.10/24"
[[port]]
name = "phys0"
device = "net_null1"
"#
        ),
    )
    .unwrap();
    let log = path.with_extension("log");
    let mut child = common::ChildGuard::new(
        Command::new(env!("CARGO_BIN_EXE_vtepgw"))
            .args(["run", "--config"])
            .arg(&path)
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
        Some(log),
    );
    let status = child.wait_timeout(std::time::Duration::from_secs(60));
    let runtime_dir = std::path::Path::new("/var/run/dpdk").join(&prefix);
    let started_dpdk = runtime_dir.exists();
    let _ = std::fs::remove_dir_all(&runtime_dir);
    let stderr = child.output();
    assert!(!started_dpdk, "DPDK was started: {stderr}");
    (status.and_then(|s| s.code()).unwrap_or(-1), stderr)
}

#[test]
fn a_taken_management_port_is_found_before_dpdk_starts() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let (code, err) = run_refused(&format!("listen = \"{addr}\""));
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!("management.listen: cannot listen on {addr}")),
        "{err}"
    );
}

#[test]
fn a_token_file_others_can_read_is_refused_with_the_fix() {
    let token = common::temp_path("token");
    std::fs::write(&token, "s3cret\n").unwrap(); // 0644 under the usual umask
    let mode = |m| std::os::unix::fs::PermissionsExt::from_mode(m);
    std::fs::set_permissions(&token, mode(0o644)).unwrap();
    let (code, err) = run_refused(&format!("token_file = \"{}\"", token.display()));
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!("chmod 600 {}", token.display())),
        "{err}"
    );
}

// ------------------------------------------------ operator commands (live)

mod common;

use common::{Gateway, Lab, H1_IP, H1_MAC, PH_IP, PH_MAC};

/// `vtepgw ARGS`: (exit code, stdout, stderr).
fn vtepgw(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_vtepgw"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// An operator command against `gw`.
fn op(gw: &Gateway, args: &[&str]) -> (i32, String, String) {
    let api = format!("http://{}", gw.mgmt);
    let mut all = vec!["--api", api.as_str()];
    all.extend_from_slice(args);
    vtepgw(&all)
}

/// Runs an operator command that must succeed; returns stdout.
fn ok(gw: &Gateway, args: &[&str]) -> String {
    let (code, out, err) = op(gw, args);
    assert_eq!(code, 0, "vtepgw {args:?}: {out}{err}");
    out
}

/// Runs an operator command that must fail; returns stderr.
fn refused(gw: &Gateway, args: &[&str], needle: &str) -> String {
    let (code, out, err) = op(gw, args);
    assert_eq!(code, 1, "vtepgw {args:?} should fail: {out}{err}");
    assert!(
        err.contains(needle),
        "vtepgw {args:?}: {needle:?} not in {err}"
    );
    err
}

/// The table row whose first column is `key`.
fn row<'a>(table: &'a str, key: &str) -> &'a str {
    table
        .lines()
        .find(|l| l.split_whitespace().next() == Some(key))
        .unwrap_or_else(|| panic!("no row {key} in\n{table}"))
}

#[test]
fn operator_commands_change_and_show_the_running_gateway() {
    let lab = Lab::new();
    let gw = Gateway::start(&lab.gateway_config(""));
    assert!(lab.ph.ping(H1_IP, 2));

    let vnis = ok(&gw, &["show", "vnis"]);
    assert!(vnis.starts_with("VNI "), "{vnis}");
    let r = row(&vnis, "100");
    assert!(
        r.contains("phys0:10") && r.contains("192.0.2.1,192.0.2.2"),
        "{r}"
    );

    let out = ok(
        &gw,
        &[
            "vni",
            "add",
            "200",
            "--flood",
            "192.0.2.2",
            "--mac-limit",
            "50",
        ],
    );
    assert_eq!(out, "VNI 200 added (config generation 2)\n");
    refused(&gw, &["vni", "add", "200"], "already exists");
    let err = refused(&gw, &["vni", "add", "16777216"], "vni[2].id");
    assert!(err.contains("16777215"), "{err}");
    ok(&gw, &["vlan", "add", "phys0", "20", "200"]);
    refused(
        &gw,
        &["vlan", "add", "phys0", "10", "200"],
        "already bound to VNI 100",
    );
    refused(
        &gw,
        &["vlan", "add", "phys0", "30", "999"],
        "port[0].vlans[2].vni",
    );
    ok(&gw, &["vtep", "add", "200", "192.0.2.1"]);
    refused(
        &gw,
        &["vtep", "remove", "200", "192.0.2.9"],
        "not in VNI 200",
    );
    refused(
        &gw,
        &["vtep", "add", "200", "192.0.2.10"],
        "own VTEP address",
    );
    ok(
        &gw,
        &["mac", "add", "100", "02:00:00:00:09:01", "192.0.2.2"],
    );
    refused(
        &gw,
        &["mac", "add", "100", "02:00:00:00:09", "192.0.2.2"],
        "mac",
    );
    ok(
        &gw,
        &["vni", "set", "200", "--learning", "false", "--ageing", "60"],
    );
    refused(&gw, &["vni", "set", "200"], "nothing to change");
    refused(&gw, &["vni", "remove", "100"], "remove the binding first");

    let vnis = ok(&gw, &["show", "vnis"]);
    let r = row(&vnis, "200");
    for cell in ["phys0:20", "192.0.2.2,192.0.2.1", "no", "60", "50"] {
        assert!(r.split_whitespace().any(|c| c == cell), "{cell} not in {r}");
    }
    let vni: serde_json::Value = serde_json::from_str(&ok(&gw, &["show", "vni", "200"])).unwrap();
    assert_eq!(vni["learning"], false);
    let json: serde_json::Value =
        serde_json::from_str(&ok(&gw, &["show", "vnis", "--json"])).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 2);

    wait_for_static_mac(&gw);
    let macs = ok(&gw, &["show", "macs", "--vni", "100"]);
    assert!(row(&macs, "100").starts_with("100"), "{macs}");
    let has = |mac: &str, what: &str| macs.lines().any(|l| l.contains(mac) && l.contains(what));
    assert!(has("02:00:00:00:09:01", "static"), "{macs}");
    assert!(has(&H1_MAC.to_lowercase(), "vtep 192.0.2.1"), "{macs}");
    assert!(has(&PH_MAC.to_lowercase(), "phys0 vlan 10"), "{macs}");
    let behind = ok(&gw, &["show", "macs", "--vtep", "192.0.2.2"]);
    assert_eq!(
        behind.lines().count(),
        2,
        "header and the static MAC: {behind}"
    );

    let ports = ok(&gw, &["show", "ports"]);
    assert!(row(&ports, "phys0").contains("10->100,20->200"), "{ports}");
    let mtu = ok(&gw, &["show", "mtu"]);
    assert!(
        row(&mtu, "100")
            .split_whitespace()
            .eq(["100", "1500", "1550", "1550", "0"]),
        "{mtu}"
    );
    let vteps = ok(&gw, &["show", "vteps"]);
    assert!(row(&vteps, "192.0.2.1").contains("resolved"), "{vteps}");
    let workers = ok(&gw, &["show", "workers"]);
    assert!(
        row(&workers, "0").split_whitespace().count() == 5,
        "{workers}"
    );
    assert!(workers.contains("TSC: "), "{workers}");
    let counters = ok(&gw, &["show", "counters"]);
    assert!(
        counters.contains("\nDROP-REASON") || counters.ends_with("no drops\n"),
        "{counters}"
    );
    for header in ["PORT", "VNI", "REMOTE-VTEP"] {
        assert!(
            counters.lines().any(|l| l.starts_with(header)),
            "{header}: {counters}"
        );
    }
    assert!(
        row(&counters, "phys0")
            .split_whitespace()
            .nth(1)
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 2
    );

    // The whole config: show it, validate variants, apply, save.
    let running = ok(&gw, &["show", "config"]);
    let file = common::temp_path("toml");
    std::fs::write(&file, &running).unwrap();
    let f = file.to_str().unwrap();
    let out = ok(&gw, &["config", "validate", f]);
    assert!(
        out.contains("can be applied to the running gateway"),
        "{out}"
    );
    std::fs::write(&file, running.replace("id = 200", "id = 16777216")).unwrap();
    let (code, out, _) = op(&gw, &["config", "validate", f]);
    assert_eq!(code, 1);
    assert!(
        out.contains("invalid") && out.contains("vni[1].id"),
        "{out}"
    );
    std::fs::write(&file, running.replace("mbufs = 8191", "mbufs = 4096")).unwrap();
    let out = ok(&gw, &["config", "validate", f]);
    assert!(
        out.contains("needs a restart") && out.contains("dataplane.mbufs"),
        "{out}"
    );
    refused(&gw, &["config", "apply", f], "dataplane.mbufs");
    std::fs::write(&file, format!("{running}\n[[vni]]\nid = 300\n")).unwrap();
    assert!(ok(&gw, &["config", "apply", f]).starts_with("applied (config generation"));
    assert!(ok(&gw, &["config", "apply", f]).starts_with("unchanged"));
    let out = ok(&gw, &["config", "save"]);
    assert!(out.contains(gw.config_path.to_str().unwrap()), "{out}");
    assert!(std::fs::read_to_string(&gw.config_path)
        .unwrap()
        .contains("id = 300"));

    ok(&gw, &["mac", "remove", "100", "02:00:00:00:09:01"]);
    refused(
        &gw,
        &["mac", "remove", "100", "02:00:00:00:09:01"],
        "not a static MAC",
    );
    ok(&gw, &["vlan", "remove", "phys0", "20"]);
    ok(&gw, &["vtep", "remove", "200", "192.0.2.1"]);
    ok(&gw, &["vni", "remove", "200"]);
    refused(&gw, &["vni", "remove", "200"], "not configured");
    assert!(lab.ph.ping(H1_IP, 2), "traffic after the changes");
    let (code, _, err) = vtepgw(&["--api", "http://127.0.0.1:1", "show", "vnis"]);
    assert_eq!(code, 1);
    assert!(err.contains("cannot reach"), "{err}");
}

fn wait_for_static_mac(gw: &Gateway) {
    common::wait_until(std::time::Duration::from_secs(5), "static MAC", || {
        ok(gw, &["show", "macs", "--mac", "02:00:00:00:09:01"]).contains("static")
    });
}

#[test]
fn changes_from_the_cli_need_the_token_file() {
    let lab = Lab::new();
    let token = common::temp_path("token");
    common::write_secret(&token, "cli-token-77\n");
    let config = lab.gateway_config("").replace(
        "[management]\n",
        &format!("[management]\ntoken_file = \"{}\"\n", token.display()),
    );
    let gw = Gateway::start(&config);
    refused(&gw, &["vni", "add", "200"], "Authorization: Bearer");
    let wrong = common::temp_path("token");
    common::write_secret(&wrong, "nope");
    refused(
        &gw,
        &["--token-file", wrong.to_str().unwrap(), "vni", "add", "200"],
        "wrong bearer token",
    );
    assert!(
        !ok(&gw, &["show", "vnis"]).contains("\n200 "),
        "reads need no token"
    );
    ok(
        &gw,
        &["--token-file", token.to_str().unwrap(), "vni", "add", "200"],
    );
    assert!(ok(&gw, &["show", "vnis"])
        .lines()
        .any(|l| l.starts_with("200 ")));
}

/// Two operators at once: each change with `--if-match` applies only to
/// the generation it names; the stale one fails, changing nothing.
#[test]
fn a_stale_if_match_fails_and_changes_nothing() {
    let lab = Lab::new();
    let gw = Gateway::start(&lab.gateway_config(""));
    let shown = ok(&gw, &["show", "config"]);
    assert!(
        shown.starts_with("# config generation 1 (for --if-match)\n"),
        "{shown}"
    );
    let out = ok(&gw, &["--if-match", "1", "vni", "add", "200"]);
    assert!(out.contains("(config generation 2)"), "{out}");
    let err = refused(
        &gw,
        &["--if-match", "1", "vni", "add", "300"],
        "generation 2",
    );
    assert!(err.contains("--if-match is stale"), "{err}");
    let err = refused(
        &gw,
        &["vtep", "add", "200", "192.0.2.9", "--if-match", "1"],
        "If-Match",
    );
    assert!(err.contains("nothing changed"), "{err}");
    let vnis = ok(&gw, &["show", "vnis"]);
    assert!(!vnis.lines().any(|l| l.starts_with("300 ")), "{vnis}");
    assert!(!vnis.contains("192.0.2.9"), "{vnis}");
    ok(&gw, &["--if-match", "2", "vtep", "add", "200", "192.0.2.9"]);
}

/// The L3 gateway's listings: VNI 100 with a gateway interface, a VRF
/// with none; the physical host pings the gateway and becomes its neighbour.
#[test]
fn l3_show_commands_list_interfaces_routes_and_neighbours() {
    let lab = Lab::new();
    let gw = Gateway::start(&lab.gateway_config(
        "gateway = { address = \"203.0.113.254/24\" }\n\n[[vrf]]\nname = \"red\"\n",
    ));
    let ifaces = ok(&gw, &["show", "interfaces"]);
    assert!(ifaces.starts_with("INTERFACE "), "{ifaces}");
    let r = row(&ifaces, "vni100");
    for cell in ["default", "203.0.113.254/24", "100"] {
        assert!(r.split_whitespace().any(|c| c == cell), "{cell} not in {r}");
    }
    let routes = ok(&gw, &["show", "route"]);
    assert!(
        routes.lines().any(|l| l.split_whitespace().eq([
            "default",
            "203.0.113.0/24",
            "connected",
            "-",
            "vni100"
        ])),
        "{routes}"
    );
    let red = ok(&gw, &["show", "route", "--vrf", "red"]);
    assert_eq!(red.lines().count(), 1, "the header alone: {red}");
    refused(
        &gw,
        &["show", "route", "--vrf", "blue"],
        "vrf: no VRF \"blue\"",
    );

    assert!(lab.ph.ping("203.0.113.254", 2), "the gateway answers ping");
    let mut arp = String::new();
    common::wait_until(
        std::time::Duration::from_secs(5),
        "ph is a neighbour",
        || {
            arp = ok(&gw, &["show", "arp", "--vrf", "default"]);
            arp.contains(PH_IP)
        },
    );
    let r = row(&arp, "default");
    for cell in ["vni100", PH_IP, &PH_MAC.to_lowercase()] {
        assert!(r.split_whitespace().any(|c| c == cell), "{cell} not in {r}");
    }
    let json: serde_json::Value =
        serde_json::from_str(&ok(&gw, &["show", "arp", "--json"])).unwrap();
    assert_eq!(json[0]["ip"], PH_IP, "{json}");
}

#[test]
fn help_explains_every_command() {
    let (code, out, _) = vtepgw(&["--help"]);
    assert_eq!(code, 0);
    for cmd in [
        "run",
        "check-config",
        "show",
        "vni",
        "vtep",
        "mac",
        "vlan",
        "config",
    ] {
        assert!(
            out.lines().any(|l| l.trim_start().starts_with(cmd)),
            "{cmd}: {out}"
        );
    }
    let (_, run, _) = vtepgw(&["run", "--help"]);
    assert!(
        run.contains("Authorization: Bearer") && run.contains("token_file"),
        "{run}"
    );
    let (_, add, _) = vtepgw(&["vni", "add", "--help"]);
    assert!(
        add.contains("--flood <IP>") && add.contains("--group <GROUP>") && add.contains("--api"),
        "{add}"
    );
    let (_, show, _) = vtepgw(&["show", "--help"]);
    for what in [
        "vnis",
        "macs",
        "counters",
        "config",
        "mtu",
        "vteps",
        "groups",
        "workers",
        "interfaces",
        "route",
        "arp",
    ] {
        assert!(show.contains(what), "{what}: {show}");
    }
    let (code, _, err) = vtepgw(&["vni", "add", "not-a-number"]);
    assert_eq!(code, 2, "usage errors exit 2: {err}");
}

#[test]
fn logs_are_json_lines_with_the_flag() {
    let lab = Lab::new();
    let gw = Gateway::start_with_args(&lab.gateway_config(""), &["--log-format", "json"]);
    ok(&gw, &["vni", "add", "4242"]);
    let log = gw.log();
    // DPDK's EAL prints its own plain lines; everything from vtepgw is JSON.
    let ours: Vec<serde_json::Value> = log
        .lines()
        .filter(|l| !l.starts_with("EAL:") && !l.starts_with("TELEMETRY:"))
        .filter(|l| l.contains("vtepgw"))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let message = |m: &str| {
        ours.iter().any(|v| {
            v["level"] == "INFO"
                && v["fields"]["message"]
                    .as_str()
                    .is_some_and(|s| s.contains(m))
        })
    };
    assert!(message("port started"), "{log}");
    assert!(message("configuration changed"), "{log}");
}

// ------------------------------------------------ start-up that must fail

/// A config for `run` with its own file prefix: the underlay on `device`
/// with `eal` more EAL arguments, on a free management port.
fn run_config(prefix: &str, eal: &str, device: &str) -> String {
    format!(
        r#"[dataplane]
eal_args = ["--no-huge", "-m", "512", "--no-pci", "--file-prefix", "{prefix}"{eal}]
[management]
listen = "127.0.0.1:{port}"
[underlay]
device = "{device}"
address = "192.0.2.10/24"
"#,
        port = common::free_port()
    )
}

/// `vtepgw run` on `config`, which must exit with status 1 within 30 s
/// and leave no DPDK runtime directory; returns its output.
fn run_fails(prefix: &str, config: &str) -> String {
    let path = common::temp_path("toml");
    let log = path.with_extension("log");
    std::fs::write(&path, config).unwrap();
    let out = std::fs::File::create(&log).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_vtepgw"))
        .args(["run", "--config"])
        .arg(&path)
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap();
    let mut child = common::ChildGuard::new(child, Some(log.clone()));
    let status = child.wait_timeout(std::time::Duration::from_secs(30));
    let output = std::fs::read_to_string(&log).unwrap();
    assert_eq!(status.and_then(|s| s.code()), Some(1), "{output}");
    let dir = std::path::Path::new("/var/run/dpdk").join(prefix);
    assert!(!dir.exists(), "{} left behind: {output}", dir.display());
    output
}

#[test]
fn failed_starts_leave_no_dpdk_runtime_directory() {
    // The EAL itself fails (after creating its directory).
    let prefix = format!("vtepgw{}", common::unique_tag());
    let config = run_config(&prefix, "", "net_null0").replace("\"512\"", "\"99999999\"");
    let out = run_fails(&prefix, &config);
    assert!(out.contains("starting DPDK"), "{out}");
    // A port fails to start after the EAL is up.
    let config = run_config(&prefix, "", "net_null0,no-such-arg=1");
    let out = run_fails(&prefix, &config);
    assert!(out.contains("port underlay"), "{out}");
}

#[test]
fn check_config_refuses_what_run_would_refuse() {
    let minimal = std::fs::read_to_string(format!(
        "{}/config/examples/minimal.toml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    for (text, needle) in [
        (
            format!("[dataplane]\nmain_lcore = 1024\n{minimal}"),
            "dataplane.main_lcore: lcore 1024 is not below DPDK's RTE_MAX_LCORE (128)",
        ),
        (
            format!("[management]\ntoken_file = \"\"\n{minimal}"),
            "management.token_file: an empty path",
        ),
        (
            minimal.replace("192.0.2.2\"]", "192.0.2.255\"]"),
            "vni[0].flood[1]: 192.0.2.255 is the broadcast address of 192.0.2.10/24",
        ),
        (
            minimal.replace("phys0", &"p".repeat(3000)),
            "port[0].name: 3000 bytes long; at most 64",
        ),
    ] {
        let (code, out) = check_config(&text);
        assert_eq!(code, 1, "{out}");
        assert!(out.contains(needle), "{needle} not in {out}");
    }
    let path = common::temp_path("toml");
    std::fs::write(&path, b"[underlay]\ndevice = \"\xc3\x28\"\n").unwrap();
    let (code, out, _) = vtepgw(&["check-config", path.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("invalid byte 0xc3 at byte offset 21 (line 2)"),
        "{out}"
    );
}

#[test]
fn a_missing_interface_is_named_before_dpdk_starts() {
    let prefix = format!("vtepgw{}", common::unique_tag());
    let iface = format!("vgno{}", common::unique_tag());
    let vdev = format!(r#", "--vdev", "net_af_packet0,iface={iface}""#);
    let out = run_fails(&prefix, &run_config(&prefix, &vdev, "net_af_packet0"));
    let says = format!(
        "dataplane.eal_args[7]: device \"net_af_packet0,iface={iface}\": the kernel interface \
         \"{iface}\" (iface=) does not exist (no /sys/class/net/{iface}); create it or fix iface="
    );
    assert!(out.contains(&says), "{out}");
    assert!(!out.contains("EAL:"), "DPDK never started: {out}");
}

#[test]
fn an_af_packet_frame_size_beyond_the_buffers_is_explained() {
    let lab = Lab::new();
    let prefix = format!("vtepgw{}", lab.tag);
    let device = format!(
        "net_af_packet0,iface={},framesz=16384,blocksz=16384",
        lab.underlay_if()
    );
    let out = run_fails(&prefix, &run_config(&prefix, "", &device));
    for says in [
        "underlay.device: device",
        "framesz=16384 hands over packets of up to 16352 bytes",
        "a packet buffer holds 2048",
        "use framesz=2080 or less",
    ] {
        assert!(out.contains(says), "{says} not in {out}");
    }
    assert!(!out.contains("Cannot allocate memory"), "{out}");
}
