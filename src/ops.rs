//! Operator commands: each one is a call (or a few) to the running
//! gateway's management API, printed as tables or, with `--json`, as the
//! API's own JSON.

use crate::cli::{ApiArgs, ConfigCmd, MacCmd, Show, VlanCmd, VniCmd, VniSettings, VtepCmd};
use crate::client::{Client, Response};
use crate::table::{cell, cells, listing, Table};
use serde_json::{json, Map, Value};
use std::process::ExitCode;

/// A connection to the API plus the output mode.
pub struct Ops {
    client: Client,
    json: bool,
}

/// Runs `f` with a client for `api`; prints its error and exits 1 on failure.
pub fn run(api: &ApiArgs, f: impl FnOnce(&Ops) -> Result<(), String>) -> ExitCode {
    let token = match &api.token_file {
        Some(path) => match vtepgw_mgmt::read_token(path) {
            Ok(t) => Some(t),
            Err(e) => return fail(&e),
        },
        None => None,
    };
    let ops = match Client::new(&api.api, token) {
        Ok(client) => Ops {
            client: client.with_if_match(api.if_match),
            json: api.json,
        },
        Err(e) => return fail(&e),
    };
    match f(&ops) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("vtepgw: {message}");
    ExitCode::FAILURE
}

/// The API's error body as lines: the summary, then every field's reason
/// when there is more than one.
fn api_error(r: &Response) -> String {
    let Ok(body) = r.json() else {
        return format!("HTTP {}: {}", r.status, r.text());
    };
    let mut out = match body["error"].as_str() {
        Some(e) => e.to_string(),
        None => format!("HTTP {}", r.status),
    };
    let errors = body["errors"].as_array().map_or(&[][..], Vec::as_slice);
    if errors.len() > 1 {
        for e in errors {
            out.push_str(&format!("\n  {}: {}", cell(&e["path"]), cell(&e["reason"])));
        }
    }
    if r.status == 412 {
        out.push_str(
            "\n  --if-match is stale: `vtepgw show config` shows the running config and its generation",
        );
    }
    out
}

impl Ops {
    fn checked(&self, r: Result<Response, String>) -> Result<Response, String> {
        let r = r?;
        if r.ok() {
            Ok(r)
        } else {
            Err(api_error(&r))
        }
    }

    fn get(&self, path: &str) -> Result<Value, String> {
        self.checked(self.client.get(path))?.json()
    }

    /// A change: prints `done` (and the new generation), or the JSON reply.
    fn change(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        done: &str,
    ) -> Result<(), String> {
        let text = body.map(|b| b.to_string());
        let body = text.as_deref().map(|t| ("application/json", t.as_bytes()));
        let r = self.checked(self.client.request(method, path, body))?;
        if self.json {
            println!("{}", r.text());
        } else {
            match r.generation {
                Some(g) => println!("{done} (config generation {g})"),
                None => println!("{done}"),
            }
            for w in &r.warnings {
                println!("warning: {w}");
            }
        }
        Ok(())
    }

    fn print(&self, value: &Value, table: impl FnOnce(&Value) -> String) {
        if self.json {
            println!("{value}");
        } else {
            print!("{}", table(value));
        }
    }
}

fn rows(v: &Value) -> &[Value] {
    v.as_array().map_or(&[][..], Vec::as_slice)
}

/// `vtepgw show ...`.
pub fn show(ops: &Ops, what: &Show) -> Result<(), String> {
    match what {
        Show::Vnis => show_vnis(ops),
        Show::Vni { vni } => {
            let v = ops.get(&format!("/api/v1/vnis/{vni}"))?;
            ops.print(&v, |v| {
                format!("{}\n", serde_json::to_string_pretty(v).unwrap_or_default())
            });
            Ok(())
        }
        Show::Macs { vni, mac, vtep } => {
            let query: Vec<String> = [
                vni.map(|v| format!("vni={v}")),
                mac.as_ref().map(|m| format!("mac={}", encode(m))),
                vtep.map(|v| format!("vtep={v}")),
            ]
            .into_iter()
            .flatten()
            .collect();
            let v = ops.get(&format!("/api/v1/macs?{}", query.join("&")))?;
            ops.print(&v, macs_table);
            Ok(())
        }
        Show::Counters => show_counters(ops),
        Show::Ports => {
            let v = ops.get("/api/v1/ports")?;
            ops.print(&v, |v| {
                let mut t = Table::new(&["PORT", "DEVICE", "MTU", "UNTAGGED", "VLAN->VNI"]);
                for p in rows(v) {
                    let vlans: Vec<String> = rows(&p["vlans"])
                        .iter()
                        .map(|b| format!("{}->{}", b["vlan"], b["vni"]))
                        .collect();
                    let mut r = cells(p, &["name", "device", "mtu", "untagged_vni"]);
                    r.push(if vlans.is_empty() {
                        "-".into()
                    } else {
                        vlans.join(",")
                    });
                    t.row(r);
                }
                t.render()
            });
            Ok(())
        }
        Show::Config if !ops.json => {
            let r = ops.checked(ops.client.get("/api/v1/config?format=toml"))?;
            if let Some(g) = r.generation {
                println!("# config generation {g} (for --if-match)");
            }
            print!("{}", r.text());
            Ok(())
        }
        Show::Config => {
            println!("{}", ops.get("/api/v1/config")?);
            Ok(())
        }
        Show::Mtu => {
            let v = ops.get("/api/v1/mtu")?;
            ops.print(&v, |v| listing(MTU_COLUMNS, rows(v)));
            Ok(())
        }
        Show::Vteps => {
            let v = ops.get("/api/v1/vteps")?;
            ops.print(&v, |v| listing(VTEP_COLUMNS, rows(v)));
            Ok(())
        }
        Show::Groups => {
            let v = ops.get("/api/v1/groups")?;
            ops.print(&v, |v| {
                let t = listing(GROUP_COLUMNS, rows(&v["groups"]));
                let g = &v["igmp"];
                format!(
                    "{t}IGMP: querier version {}, reports in v{}, receive mode {}; sent {} v3 / {} v2 reports, {} leaves; queries v1/v2/v3 {}/{}/{}\n",
                    cell(&v["querier_version"]),
                    cell(&v["report_version"]),
                    cell(&v["receive_mode"]),
                    cell(&g["v3_reports_sent"]),
                    cell(&g["v2_reports_sent"]),
                    cell(&g["leaves_sent"]),
                    cell(&g["v1_queries"]),
                    cell(&g["v2_queries"]),
                    cell(&g["v3_queries"]),
                )
            });
            Ok(())
        }
        Show::Interfaces => {
            let v = ops.get("/api/v1/interfaces")?;
            ops.print(&v, |v| listing(INTERFACE_COLUMNS, rows(v)));
            Ok(())
        }
        Show::Route { vrf } => {
            let v = ops.get(&with_vrf("/api/v1/routes", vrf.as_deref()))?;
            ops.print(&v, |v| listing(ROUTE_COLUMNS, rows(v)));
            Ok(())
        }
        Show::Arp { vrf } => {
            let v = ops.get(&with_vrf("/api/v1/neighbours", vrf.as_deref()))?;
            ops.print(&v, |v| listing(NEIGHBOUR_COLUMNS, rows(v)));
            Ok(())
        }
        Show::Workers => {
            let v = ops.get("/api/v1/workers")?;
            ops.print(&v, |v| {
                let t = listing(WORKER_COLUMNS, rows(&v["workers"]));
                format!("{t}TSC: {} Hz\n", cell(&v["tsc_hz"]))
            });
            Ok(())
        }
    }
}

const MTU_COLUMNS: &[(&str, &str)] = &[
    ("VNI", "vni"),
    ("OVERLAY", "overlay_mtu"),
    ("UNDERLAY", "underlay_mtu"),
    ("REQUIRED", "required_underlay_mtu"),
    ("MARGIN", "margin"),
];

const VTEP_COLUMNS: &[(&str, &str)] = &[
    ("VTEP", "ip"),
    ("STATE", "state"),
    ("NEXT-HOP", "next_hop"),
    ("NEXT-HOP-MAC", "next_hop_mac"),
    ("FLOOD-VNIS", "flood_vnis"),
    ("STATIC-MACS", "static_macs"),
    ("RX-PKTS", "rx_packets"),
    ("TX-PKTS", "tx_packets"),
];

const GROUP_COLUMNS: &[(&str, &str)] = &[
    ("GROUP", "group"),
    ("VNIS", "vnis"),
    ("STATE", "state"),
    ("LAST-REPORT-MS", "last_report_ms_ago"),
    ("RX-PKTS", "rx_packets"),
    ("TX-PKTS", "tx_packets"),
];

const INTERFACE_COLUMNS: &[(&str, &str)] = &[
    ("INTERFACE", "name"),
    ("VRF", "vrf"),
    ("ADDRESS", "address"),
    ("MAC", "mac"),
    ("MTU", "mtu"),
    ("VNI", "vni"),
    ("PORT", "port"),
    ("VLAN", "vlan"),
    ("IN-PKTS", "in_packets"),
    ("IN-BYTES", "in_bytes"),
    ("OUT-PKTS", "out_packets"),
    ("OUT-BYTES", "out_bytes"),
];

const ROUTE_COLUMNS: &[(&str, &str)] = &[
    ("VRF", "vrf"),
    ("PREFIX", "prefix"),
    ("KIND", "kind"),
    ("NEXT-HOP", "next_hop"),
    ("INTERFACE", "interface"),
];

const NEIGHBOUR_COLUMNS: &[(&str, &str)] = &[
    ("VRF", "vrf"),
    ("INTERFACE", "interface"),
    ("IP", "ip"),
    ("MAC", "mac"),
    ("AGE-SECS", "age_secs"),
];

/// `path`, with `?vrf=NAME` when a VRF is given (encoded: a name cannot
/// change the request).
fn with_vrf(path: &str, vrf: Option<&str>) -> String {
    match vrf {
        Some(v) => format!("{path}?vrf={}", encode(v)),
        None => path.to_string(),
    }
}

const WORKER_COLUMNS: &[(&str, &str)] = &[
    ("WORKER", "worker"),
    ("PACKETS", "packets"),
    ("BUSY-CYCLES", "busy_cycles"),
    ("POLLS", "polls"),
    ("CYCLES/PKT", "cycles_per_packet"),
];

const VNI_STATS_COLUMNS: &[(&str, &str)] = &[
    ("VNI", "vni"),
    ("ENCAP-PKTS", "encap_packets"),
    ("ENCAP-BYTES", "encap_bytes"),
    ("DECAP-PKTS", "decap_packets"),
    ("DECAP-BYTES", "decap_bytes"),
    ("FLOOD-VTEP", "flood_to_vteps"),
    ("FLOOD-PORT", "flood_to_ports"),
    ("MACS", "mac_entries"),
    ("LEARNED", "macs_learned"),
    ("MOVES", "mac_moves"),
    ("AGED", "macs_aged"),
    ("LIMIT-HITS", "mac_limit_hits"),
];

const VTEP_TRAFFIC_COLUMNS: &[(&str, &str)] = &[
    ("REMOTE-VTEP", "ip"),
    ("RX-PKTS", "rx_packets"),
    ("RX-BYTES", "rx_bytes"),
    ("TX-PKTS", "tx_packets"),
    ("TX-BYTES", "tx_bytes"),
];

const DROP_COLUMNS: &[(&str, &str)] = &[
    ("DROP-REASON", "reason"),
    ("PACKETS", "packets"),
    ("MEANING", "help"),
];

fn show_vnis(ops: &Ops) -> Result<(), String> {
    if ops.json {
        println!("{}", ops.get("/api/v1/vnis")?);
        return Ok(());
    }
    let config = ops.get("/api/v1/config")?;
    let stats = ops.get("/api/v1/stats/vnis")?;
    let mut t = Table::new(&[
        "VNI",
        "VLANS",
        "FLOOD",
        "GROUP",
        "LEARNING",
        "AGEING",
        "MAC-LIMIT",
        "MACS",
        "ENCAP-PKTS",
        "DECAP-PKTS",
    ]);
    for v in rows(&config["vni"]) {
        let id = &v["id"];
        let mut bindings = Vec::new();
        for p in rows(&config["port"]) {
            let name = cell(&p["name"]);
            if p["untagged_vni"] == *id {
                bindings.push(format!("{name}:untagged"));
            }
            for b in rows(&p["vlans"]).iter().filter(|b| b["vni"] == *id) {
                bindings.push(format!("{name}:{}", b["vlan"]));
            }
        }
        let s = rows(&stats)
            .iter()
            .find(|s| s["vni"] == *id)
            .cloned()
            .unwrap_or(Value::Null);
        let mut row = vec![cell(id), cell(&json!(bindings))];
        row.extend(cells(
            v,
            &["flood", "group", "learning", "mac_ageing_secs", "mac_limit"],
        ));
        row.extend(cells(
            &s,
            &["mac_entries", "encap_packets", "decap_packets"],
        ));
        t.row(row);
    }
    print!("{}", t.render());
    Ok(())
}

fn macs_table(v: &Value) -> String {
    let mut t = Table::new(&["VNI", "MAC", "TYPE", "WHERE", "IDLE"]);
    for m in rows(v) {
        let place = match (&m["port"], &m["vlan"], &m["vtep"]) {
            (Value::String(p), Value::Null, _) => format!("{p} untagged"),
            (Value::String(p), vlan, _) => format!("{p} vlan {vlan}"),
            (_, _, vtep) => format!("vtep {}", cell(vtep)),
        };
        let idle = m["idle_secs"]
            .as_u64()
            .map_or("-".into(), |s| format!("{s}s"));
        t.row(vec![
            cell(&m["vni"]),
            cell(&m["mac"]),
            cell(&m["type"]),
            place,
            idle,
        ]);
    }
    t.render()
}

fn show_counters(ops: &Ops) -> Result<(), String> {
    let ports = ops.get("/api/v1/stats/ports")?;
    let vnis = ops.get("/api/v1/stats/vnis")?;
    let vteps = ops.get("/api/v1/vteps")?;
    let drops = ops.get("/api/v1/stats/drops")?;
    if ops.json {
        let mut all = Map::new();
        all.insert("ports".into(), ports);
        all.insert("vnis".into(), vnis);
        all.insert("vteps".into(), vteps);
        all.insert("drops".into(), drops);
        println!("{}", Value::Object(all));
        return Ok(());
    }
    let traffic = ["rx_packets", "rx_bytes", "tx_packets", "tx_bytes"];
    let mut t = Table::new(&[
        "PORT",
        "RX-PKTS",
        "RX-BYTES",
        "TX-PKTS",
        "TX-BYTES",
        "NIC-MISSED",
        "NIC-RX-ERR",
        "NIC-NOMBUF",
    ]);
    for p in rows(&ports) {
        let mut r = vec![cell(&p["port"])];
        r.extend(cells(p, &traffic));
        r.extend(cells(&p["nic"], &["rx_missed", "rx_errors", "rx_nombuf"]));
        t.row(r);
    }
    println!("{}", t.render());
    println!("{}", listing(VNI_STATS_COLUMNS, rows(&vnis)));
    println!("{}", listing(VTEP_TRAFFIC_COLUMNS, rows(&vteps)));
    let dropped: Vec<Value> = rows(&drops)
        .iter()
        .filter(|d| d["packets"] != 0)
        .cloned()
        .collect();
    if dropped.is_empty() {
        println!("no drops");
    } else {
        print!("{}", listing(DROP_COLUMNS, &dropped));
    }
    Ok(())
}

/// One change: method, path, JSON body, and what to print when done.
pub struct Change {
    method: &'static str,
    path: String,
    body: Option<Value>,
    done: String,
}

impl Change {
    fn post(path: String, body: Value, done: String) -> Change {
        Change {
            method: "POST",
            path,
            body: Some(body),
            done,
        }
    }

    fn delete(path: String, done: String) -> Change {
        Change {
            method: "DELETE",
            path,
            body: None,
            done,
        }
    }
}

/// Sends a change.
pub fn send(ops: &Ops, c: Change) -> Result<(), String> {
    ops.change(c.method, &c.path, c.body, &c.done)
}

/// Adds the settings that are given to a VNI body.
fn settings(body: &mut Value, s: &VniSettings) {
    let given = [
        ("mac_ageing_secs", s.ageing.map(Value::from)),
        ("mac_limit", s.mac_limit.map(Value::from)),
        ("mtu", s.mtu.map(Value::from)),
        ("group", s.group.map(|g| Value::from(g.to_string()))),
    ];
    for (key, value) in given {
        if let Some(v) = value {
            body[key] = v;
        }
    }
}

/// `vtepgw vni ...`.
pub fn vni(cmd: &VniCmd) -> Result<Change, String> {
    Ok(match cmd {
        VniCmd::Add {
            vni,
            flood,
            no_learning,
            settings: s,
        } => {
            let mut body = json!({"id": vni, "flood": flood, "learning": !no_learning});
            settings(&mut body, s);
            Change::post("/api/v1/vnis".into(), body, format!("VNI {vni} added"))
        }
        VniCmd::Set {
            vni,
            learning,
            settings: s,
        } => {
            let mut body = json!({});
            if let Some(l) = learning {
                body["learning"] = (*l).into();
            }
            settings(&mut body, s);
            if body.as_object().is_some_and(Map::is_empty) {
                return Err(
                    "nothing to change: give --learning, --ageing, --mac-limit or --mtu".into(),
                );
            }
            Change {
                method: "PATCH",
                path: format!("/api/v1/vnis/{vni}"),
                body: Some(body),
                done: format!("VNI {vni} changed"),
            }
        }
        VniCmd::Remove { vni } => {
            Change::delete(format!("/api/v1/vnis/{vni}"), format!("VNI {vni} removed"))
        }
    })
}

/// `vtepgw vtep ...`.
pub fn vtep(cmd: &VtepCmd) -> Change {
    match cmd {
        VtepCmd::Add { vni, ip } => Change::post(
            format!("/api/v1/vnis/{vni}/vteps"),
            json!({"ip": ip}),
            format!("VTEP {ip} added to VNI {vni}"),
        ),
        VtepCmd::Remove { vni, ip } => Change::delete(
            format!("/api/v1/vnis/{vni}/vteps/{ip}"),
            format!("VTEP {ip} removed from VNI {vni}"),
        ),
    }
}

/// `vtepgw mac ...`.
pub fn mac(cmd: &MacCmd) -> Change {
    match cmd {
        MacCmd::Add { vni, mac, vtep } => Change::post(
            format!("/api/v1/vnis/{vni}/static-macs"),
            json!({"mac": mac, "vtep": vtep}),
            format!("MAC {mac} pinned to {vtep} in VNI {vni}"),
        ),
        MacCmd::Remove { vni, mac } => Change::delete(
            format!("/api/v1/vnis/{vni}/static-macs/{mac}"),
            format!("static MAC {mac} removed from VNI {vni}"),
        ),
    }
}

/// Percent-encodes a path segment or query value (RFC 3986 unreserved
/// characters pass as they are), so a port name or filter cannot change
/// the request.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~:".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `vtepgw vlan ...`.
pub fn vlan(cmd: &VlanCmd) -> Change {
    match cmd {
        VlanCmd::Add { port, vlan, vni } => Change::post(
            format!("/api/v1/ports/{}/vlans", encode(port)),
            json!({"vlan": vlan, "vni": vni}),
            format!("VLAN {vlan} on {port} bound to VNI {vni}"),
        ),
        VlanCmd::Remove { port, vlan } => Change::delete(
            format!("/api/v1/ports/{}/vlans/{vlan}", encode(port)),
            format!("VLAN {vlan} on {port} unbound"),
        ),
    }
}

/// `vtepgw config ...`.
pub fn config(ops: &Ops, cmd: &ConfigCmd) -> Result<(), String> {
    let read = |file: &std::path::Path| {
        std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))
    };
    match cmd {
        ConfigCmd::Validate { file } => {
            let text = read(file)?;
            let r = ops.checked(ops.client.request(
                "POST",
                "/api/v1/config/validate",
                Some(("application/toml", &text)),
            ))?;
            let v = r.json()?;
            if ops.json {
                println!("{v}");
            } else {
                print_verdict(&file.display().to_string(), &v);
            }
            if v["valid"] == true {
                Ok(())
            } else {
                Err(format!("{} is invalid", file.display()))
            }
        }
        ConfigCmd::Apply { file } => {
            let text = read(file)?;
            let r = ops.checked(ops.client.request(
                "PUT",
                "/api/v1/config",
                Some(("application/toml", &text)),
            ))?;
            let v = r.json()?;
            if ops.json {
                println!("{v}");
            } else {
                for w in rows(&v["warnings"]) {
                    println!("warning: {}: {}", cell(&w["path"]), cell(&w["message"]));
                }
                match v["changed"] == true {
                    true => println!("applied (config generation {})", cell(&v["generation"])),
                    false => println!("unchanged (config generation {})", cell(&v["generation"])),
                }
            }
            Ok(())
        }
        ConfigCmd::Save => {
            let r = ops.checked(ops.client.request("POST", "/api/v1/config/save", None))?;
            let v = r.json()?;
            ops.print(&v, |v| {
                format!(
                    "saved generation {} to {}\n",
                    cell(&v["generation"]),
                    cell(&v["path"])
                )
            });
            Ok(())
        }
    }
}

fn print_verdict(name: &str, v: &Value) {
    for w in rows(&v["warnings"]) {
        println!("warning: {}: {}", cell(&w["path"]), cell(&w["message"]));
    }
    if v["valid"] != true {
        println!("{name}: invalid");
    } else if v["applicable_live"] == true {
        println!("{name}: valid; can be applied to the running gateway");
    } else {
        println!("{name}: valid, but applying it needs a restart:");
    }
    for e in rows(&v["errors"]).iter().chain(rows(&v["needs_restart"])) {
        println!("  {}: {}", cell(&e["path"]), cell(&e["reason"]));
    }
}

#[cfg(test)]
mod tests {
    use super::encode;

    #[test]
    fn url_parts_are_percent_encoded() {
        assert_eq!(encode("02:00:00:00:01:01"), "02:00:00:00:01:01");
        assert_eq!(encode("phys 0/a&vni=1"), "phys%200%2Fa%26vni%3D1");
    }

    #[test]
    fn a_vrf_filter_is_a_query() {
        assert_eq!(super::with_vrf("/api/v1/routes", None), "/api/v1/routes");
        assert_eq!(
            super::with_vrf("/api/v1/neighbours", Some("red&x")),
            "/api/v1/neighbours?vrf=red%26x"
        );
    }
}
