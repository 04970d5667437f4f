//! The REST API on the real running gateway (DPDK `net_pcap` ports,
//! Linux kernel VTEPs in namespaces; see `common::Lab`): every route with
//! its error cases, auth, the all-or-nothing rule, zero loss through live
//! changes, and metrics that pass `promtool` and match the traffic sent.

mod common;

use common::*;
use serde_json::{json, Value};
use std::cell::RefCell;
use std::time::Duration;

/// Calls the API and remembers (method, path, status) for the coverage check.
struct Api<'a> {
    gw: &'a Gateway,
    auth: Vec<(&'static str, String)>,
    calls: RefCell<Vec<(String, String, u16)>>,
}

impl<'a> Api<'a> {
    fn new(gw: &'a Gateway) -> Self {
        Api {
            gw,
            auth: Vec::new(),
            calls: RefCell::new(Vec::new()),
        }
    }

    /// A request with a raw body and content type: (status, body text).
    fn raw(&self, method: &str, path: &str, content_type: &str, body: &str) -> (u16, String) {
        let mut headers: Vec<(&str, &str)> = vec![("Content-Type", content_type)];
        headers.extend(self.auth.iter().map(|(k, v)| (*k, v.as_str())));
        let (status, text) = self.gw.request(method, path, &headers, body);
        let bare = path.split('?').next().unwrap().to_string();
        self.calls
            .borrow_mut()
            .push((method.to_string(), bare, status));
        (status, text)
    }

    /// A JSON request (no body for `Value::Null`): (status, JSON or Null).
    fn call(&self, method: &str, path: &str, body: Value) -> (u16, Value) {
        let text = if body.is_null() {
            String::new()
        } else {
            body.to_string()
        };
        let (status, reply) = self.raw(method, path, "application/json", &text);
        (status, serde_json::from_str(&reply).unwrap_or(Value::Null))
    }

    /// A JSON change sent with `If-Match: if_match`: (status, JSON).
    fn conditional(&self, method: &str, path: &str, if_match: &str, body: Value) -> (u16, Value) {
        let mut headers = vec![("Content-Type", "application/json"), ("If-Match", if_match)];
        headers.extend(self.auth.iter().map(|(k, v)| (*k, v.as_str())));
        let (status, text) = self.gw.request(method, path, &headers, &body.to_string());
        let call = (method.to_string(), path.to_string(), status);
        self.calls.borrow_mut().push(call);
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Asserts the status; returns the JSON.
    fn expect(&self, method: &str, path: &str, body: Value, status: u16) -> Value {
        let (got, reply) = self.call(method, path, body);
        assert_eq!(got, status, "{method} {path}: {reply}");
        if status >= 400 {
            assert!(reply["error"].is_string(), "{method} {path}: {reply}");
            assert!(reply["errors"].is_array(), "{method} {path}: {reply}");
        }
        reply
    }

    fn get(&self, path: &str) -> Value {
        self.expect("GET", path, Value::Null, 200)
    }

    fn config(&self) -> Value {
        self.get("/api/v1/config")
    }
}

/// The paths of every error of a reply.
fn error_paths(reply: &Value) -> Vec<String> {
    reply["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap().to_string())
        .collect()
}

/// `vtepgw check-config FILE` accepts the file.
fn assert_valid_file(file: &std::path::Path) {
    let check = std::process::Command::new(env!("CARGO_BIN_EXE_vtepgw"))
        .arg("check-config")
        .arg(file)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&check.stdout);
    assert!(check.status.success(), "{}: {out}", file.display());
}

/// Whether a concrete path matches an OpenAPI template.
fn matches(template: &str, path: &str) -> bool {
    let (t, p): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    t.len() == p.len() && t.iter().zip(&p).all(|(t, p)| t.starts_with('{') || t == p)
}

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
    let saved = gw.config_path.with_extension("saved.toml");
    std::fs::write(&saved, &toml).unwrap();
    assert_valid_file(&saved);

    let (status, mtu) = gw.http_get("/api/v1/mtu");
    assert_eq!(status, 200);
    assert_eq!(
        mtu,
        r#"[{"vni":100,"overlay_mtu":1500,"underlay_mtu":1550,"required_underlay_mtu":1550,"margin":0}]"#
    );
}

/// Reads: every GET route, with its error cases.
fn walk_reads(api: &Api) {
    let health = api.get("/healthz");
    assert_eq!(health["status"], "ok");
    let (status, metrics) = api.raw("GET", "/metrics", "text/plain", "");
    assert_eq!(status, 200);
    assert!(
        metrics.contains("vtepgw_remote_vtep_packets_total"),
        "{metrics}"
    );
    assert_eq!(api.get("/api/v1/openapi.json")["openapi"], "3.0.3");
    assert_eq!(api.config()["vni"][0]["id"], 100);
    let (status, toml) = api.raw("GET", "/api/v1/config?format=toml", "", "");
    assert_eq!(status, 200);
    assert!(toml.contains("[[port]]"), "{toml}");
    api.expect("GET", "/api/v1/config?format=xml", Value::Null, 400);
    assert_eq!(api.get("/api/v1/mtu")[0]["margin"], 0);
    // No VNI on a group here (tests/multicast.rs has the groups).
    let groups = api.get("/api/v1/groups");
    assert_eq!(
        (&groups["groups"], &groups["receive_mode"]),
        (&json!([]), &json!("none"))
    );
    // No L3 here (tests/l3.rs and tests/cli.rs have it): empty listings,
    // and a VRF that does not exist is refused by name.
    assert_eq!(api.get("/api/v1/interfaces"), json!([]));
    assert_eq!(api.get("/api/v1/routes"), json!([]));
    assert_eq!(api.get("/api/v1/neighbours"), json!([]));
    for path in ["/api/v1/routes?vrf=red", "/api/v1/neighbours?vrf=red"] {
        let e = api.expect("GET", path, Value::Null, 400);
        assert!(e["error"].as_str().unwrap().contains("vrf"), "{e}");
    }

    assert_eq!(api.get("/api/v1/vnis")[0]["id"], 100);
    assert_eq!(api.get("/api/v1/vnis/100")["learning"], true);
    api.expect("GET", "/api/v1/vnis/7", Value::Null, 404);
    api.expect("GET", "/api/v1/vnis/abc", Value::Null, 400);
    assert_eq!(
        api.get("/api/v1/vnis/100/vteps"),
        json!([{"ip": HV1_IP}, {"ip": HV2_IP}])
    );
    api.expect("GET", "/api/v1/vnis/7/vteps", Value::Null, 404);
    assert_eq!(api.get("/api/v1/vnis/100/static-macs"), json!([]));
    api.expect("GET", "/api/v1/vnis/7/static-macs", Value::Null, 404);
    assert_eq!(api.get("/api/v1/ports")[0]["name"], "phys0");
    assert_eq!(api.get("/api/v1/ports/phys0")["device"], "net_pcap1");
    api.expect("GET", "/api/v1/ports/nope", Value::Null, 404);
    assert_eq!(
        api.get("/api/v1/ports/phys0/vlans"),
        json!([{"vlan": 10, "vni": 100}])
    );
    api.expect("GET", "/api/v1/ports/nope/vlans", Value::Null, 404);
    assert_eq!(api.get("/api/v1/underlay")["address"], "192.0.2.10/24");

    // After the pings: h1 behind hv1, ph on phys0 VLAN 10.
    let macs = api.get("/api/v1/macs");
    let h1 = json!({"vni": 100, "mac": H1_MAC, "type": "learned", "vtep": HV1_IP});
    let found = |list: &Value, mac: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|m| m["mac"] == mac)
            .cloned()
    };
    let entry = found(&macs, H1_MAC).expect("h1 learned");
    for k in ["vni", "mac", "type", "vtep"] {
        assert_eq!(entry[k], h1[k], "{macs}");
    }
    let ph = found(&macs, PH_MAC).expect("ph learned");
    assert_eq!((&ph["port"], &ph["vlan"]), (&json!("phys0"), &json!(10)));
    let behind_hv1 = api.get(&format!("/api/v1/macs?vni=100&vtep={HV1_IP}"));
    assert!(found(&behind_hv1, H1_MAC).is_some() && found(&behind_hv1, PH_MAC).is_none());
    assert_eq!(
        api.get(&format!("/api/v1/macs?mac={PH_MAC}"))
            .as_array()
            .unwrap()
            .len(),
        1
    );
    api.expect("GET", "/api/v1/macs?mac=bad", Value::Null, 400);

    let ports = api.get("/api/v1/stats/ports");
    assert_eq!(ports[1]["port"], "phys0");
    assert!(ports[1]["rx_packets"].as_u64().unwrap() >= 3, "{ports}");
    assert!(
        ports[1]["nic"]["rx_packets"].as_u64().unwrap() >= 3,
        "{ports}"
    );
    let vnis = api.get("/api/v1/stats/vnis");
    assert!(vnis[0]["encap_packets"].as_u64().unwrap() >= 3, "{vnis}");
    let drops = api.get("/api/v1/stats/drops");
    assert!(drops
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["reason"] == "mtu_exceeded"));
    let workers = api.get("/api/v1/workers");
    assert!(workers["workers"][0]["packets"].as_u64().unwrap() > 0);
    assert!(workers["workers"][0]["cycles_per_packet"].as_f64().unwrap() > 0.0);
    let vteps = api.get("/api/v1/vteps");
    let hv1 = &vteps
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["ip"] == HV1_IP)
        .unwrap();
    assert_eq!(hv1["state"], "resolved", "{vteps}");
    assert!(hv1["tx_packets"].as_u64().unwrap() >= 3, "{vteps}");
    assert!(hv1["rx_packets"].as_u64().unwrap() >= 3, "{vteps}");
}

/// VNIs, replication lists and static MACs, each with its error cases.
fn walk_vnis(api: &Api) {
    let vni200 = json!({"id": 200, "flood": [HV2_IP]});
    api.expect("POST", "/api/v1/vnis", vni200.clone(), 201);
    api.expect("POST", "/api/v1/vnis", vni200, 409);
    let e = api.expect("POST", "/api/v1/vnis", json!({"id": 16777216}), 422);
    assert_eq!(error_paths(&e), ["vni[2].id"]);
    let (status, _) = api.raw("POST", "/api/v1/vnis", "application/json", "{");
    assert_eq!(status, 400);

    let body = json!({"flood": [HV1_IP, HV2_IP], "mac_limit": 100});
    assert_eq!(
        api.expect("PUT", "/api/v1/vnis/200", body.clone(), 200)["mac_limit"],
        100
    );
    api.expect("PUT", "/api/v1/vnis/300", body, 404);
    api.expect("PUT", "/api/v1/vnis/200", json!({"id": 201}), 400);
    api.expect("PATCH", "/api/v1/vnis/200", json!({"learning": false}), 200);
    api.expect("PATCH", "/api/v1/vnis/300", json!({"learning": false}), 404);
    let e = api.expect("PATCH", "/api/v1/vnis/200", json!({"mac_limit": "x"}), 400);
    assert_eq!(error_paths(&e), ["mac_limit"]);
    assert_eq!(api.get("/api/v1/vnis/200")["learning"], false);

    let vtep = json!({"ip": "192.0.2.3"});
    api.expect("POST", "/api/v1/vnis/200/vteps", vtep.clone(), 201);
    api.expect("POST", "/api/v1/vnis/200/vteps", vtep.clone(), 409);
    let e = api.expect("POST", "/api/v1/vnis/200/vteps", json!({"ip": GW_IP}), 422);
    assert_eq!(error_paths(&e), ["vni[1].flood[3]"]);
    api.expect("POST", "/api/v1/vnis/300/vteps", vtep, 404);
    api.expect("POST", "/api/v1/vnis/200/vteps", json!({"ip": "x"}), 400);
    api.expect(
        "DELETE",
        "/api/v1/vnis/200/vteps/192.0.2.3",
        Value::Null,
        204,
    );
    api.expect(
        "DELETE",
        "/api/v1/vnis/200/vteps/192.0.2.3",
        Value::Null,
        404,
    );
    api.expect("DELETE", "/api/v1/vnis/200/vteps/x", Value::Null, 400);

    let mac = json!({"mac": "02:00:00:00:09:01", "vtep": HV2_IP});
    api.expect("POST", "/api/v1/vnis/100/static-macs", mac.clone(), 201);
    api.expect("POST", "/api/v1/vnis/100/static-macs", mac.clone(), 409);
    let multicast = json!({"mac": "01:00:5e:00:00:01", "vtep": HV2_IP});
    api.expect("POST", "/api/v1/vnis/100/static-macs", multicast, 422);
    api.expect("POST", "/api/v1/vnis/300/static-macs", mac, 404);
    let bad = json!({"mac": "02:00", "vtep": HV2_IP});
    api.expect("POST", "/api/v1/vnis/100/static-macs", bad, 400);
    wait_until(
        Duration::from_secs(5),
        "the static MAC in the table",
        || {
            api.get("/api/v1/macs?mac=02:00:00:00:09:01")
                .as_array()
                .is_some_and(|l| l.len() == 1 && l[0]["type"] == "static")
        },
    );
    let path = "/api/v1/vnis/100/static-macs/02:00:00:00:09:01";
    api.expect("DELETE", path, Value::Null, 204);
    api.expect("DELETE", path, Value::Null, 404);
    api.expect(
        "DELETE",
        "/api/v1/vnis/100/static-macs/zz",
        Value::Null,
        400,
    );
}

/// Ports, VLAN bindings and the underlay, each with its error cases.
fn walk_ports(api: &Api) {
    let binding = json!({"vlan": 20, "vni": 200});
    api.expect("POST", "/api/v1/ports/phys0/vlans", binding.clone(), 201);
    api.expect("POST", "/api/v1/ports/phys0/vlans", binding.clone(), 409);
    let e = api.expect(
        "POST",
        "/api/v1/ports/phys0/vlans",
        json!({"vlan": 30, "vni": 999}),
        422,
    );
    assert_eq!(error_paths(&e), ["port[0].vlans[2].vni"]);
    api.expect(
        "POST",
        "/api/v1/ports/phys0/vlans",
        json!({"vlan": 70000, "vni": 200}),
        400,
    );
    api.expect("POST", "/api/v1/ports/nope/vlans", binding, 404);
    api.expect("DELETE", "/api/v1/ports/phys0/vlans/20", Value::Null, 204);
    api.expect("DELETE", "/api/v1/ports/phys0/vlans/20", Value::Null, 404);
    api.expect("DELETE", "/api/v1/ports/phys0/vlans/x", Value::Null, 400);

    let port = json!({"mtu": 1400, "vlans": [{"vlan": 10, "vni": 100}]});
    assert_eq!(
        api.expect("PUT", "/api/v1/ports/phys0", port.clone(), 200)["mtu"],
        1400
    );
    let e = api.expect(
        "PUT",
        "/api/v1/ports/phys0",
        json!({"device": "net_af_packet9"}),
        422,
    );
    assert!(
        e["error"].as_str().unwrap().contains("needs a restart"),
        "{e}"
    );
    api.expect("PUT", "/api/v1/ports/nope", port, 404);
    let (status, _) = api.raw("PUT", "/api/v1/ports/phys0", "application/json", "[");
    assert_eq!(status, 400);
    api.expect("PATCH", "/api/v1/ports/phys0", json!({"mtu": 1500}), 200);
    api.expect("PATCH", "/api/v1/ports/phys0", json!({"mtu": 9000}), 422);
    api.expect("PATCH", "/api/v1/ports/nope", json!({"mtu": 1500}), 404);
    api.expect("PATCH", "/api/v1/ports/phys0", json!({"mtu": "x"}), 400);
    let new_port = json!({"name": "phys1", "device": "net_af_packet9"});
    let e = api.expect("POST", "/api/v1/ports", new_port, 422);
    assert_eq!(error_paths(&e), ["port"]);
    api.expect(
        "POST",
        "/api/v1/ports",
        json!({"name": "phys0", "device": "x"}),
        409,
    );
    let (status, _) = api.raw("POST", "/api/v1/ports", "application/json", "{");
    assert_eq!(status, 400);
    api.expect("DELETE", "/api/v1/ports/phys0", Value::Null, 422);
    api.expect("DELETE", "/api/v1/ports/nope", Value::Null, 404);

    let mut underlay = api.get("/api/v1/underlay");
    underlay["ttl"] = 32.into();
    assert_eq!(
        api.expect("PUT", "/api/v1/underlay", underlay.clone(), 200)["ttl"],
        32
    );
    underlay["address"] = "bad".into();
    api.expect("PUT", "/api/v1/underlay", underlay, 400);
    let e = api.expect("PATCH", "/api/v1/underlay", json!({"mtu": 1500}), 422);
    let reason = e["errors"][0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("1550") && reason.contains("50 bytes"),
        "{reason}"
    );
    api.expect("PATCH", "/api/v1/underlay", json!({"ttl": 64}), 200);
    api.expect("PATCH", "/api/v1/underlay", json!({"device": "x"}), 422);
    api.expect("PATCH", "/api/v1/underlay", json!({"ttl": "x"}), 400);

    api.expect("DELETE", "/api/v1/vnis/100", Value::Null, 409);
    api.expect("DELETE", "/api/v1/vnis/200", Value::Null, 204);
    api.expect("DELETE", "/api/v1/vnis/200", Value::Null, 404);
    api.expect("DELETE", "/api/v1/vnis/x", Value::Null, 400);
}

/// The whole config: validate, replace (TOML and JSON), save.
fn walk_config(api: &Api, gw: &Gateway) {
    let toml = "application/toml";
    let (_, running) = api.raw("GET", "/api/v1/config?format=toml", "", "");
    let (status, verdict) = api.raw("POST", "/api/v1/config/validate", toml, &running);
    assert_eq!(status, 200);
    let verdict: Value = serde_json::from_str(&verdict).unwrap();
    assert_eq!(
        (&verdict["valid"], &verdict["applicable_live"]),
        (&json!(true), &json!(true))
    );
    let (status, _) = api.raw("POST", "/api/v1/config/validate", toml, "[x");
    assert_eq!(status, 400);

    let with_300 = format!("{running}\n[[vni]]\nid = 300\n");
    let (status, reply) = api.raw("PUT", "/api/v1/config", toml, &with_300);
    assert_eq!(status, 200, "{reply}");
    let (status, _) = api.raw("PUT", "/api/v1/config", "application/json", "{");
    assert_eq!(status, 400);
    let mut dup = api.config();
    dup["port"][0]["vlans"] = json!([{"vlan": 10, "vni": 100}, {"vlan": 10, "vni": 300}]);
    let e = api.expect("PUT", "/api/v1/config", dup, 422);
    assert_eq!(error_paths(&e), ["port[0].vlans[1].vlan"]);

    // A change meant for generation 1 (long replaced) is refused, changing
    // nothing; one meant for the running generation applies.
    let (before, generation) = (
        api.config(),
        api.get("/healthz")["config_generation"].clone(),
    );
    let stale = json!({"ttl": 33});
    let (status, e) = api.conditional("PATCH", "/api/v1/underlay", "\"1\"", stale.clone());
    assert_eq!(
        (status, error_paths(&e)),
        (412, vec!["If-Match".to_string()]),
        "{e}"
    );
    assert_eq!(api.config(), before);
    let (status, reply) = api.conditional(
        "PATCH",
        "/api/v1/underlay",
        &format!("\"{generation}\""),
        stale,
    );
    assert_eq!((status, &reply["ttl"]), (200, &json!(33)), "{reply}");

    // Save fails where the file cannot be replaced (a directory is in the
    // way), then succeeds; the file then holds the running config.
    std::fs::remove_file(&gw.config_path).unwrap();
    std::fs::create_dir_all(gw.config_path.join("blocker")).unwrap();
    api.expect("POST", "/api/v1/config/save", Value::Null, 500);
    std::fs::remove_dir_all(&gw.config_path).unwrap();
    let saved = api.expect("POST", "/api/v1/config/save", Value::Null, 200);
    assert_eq!(saved["path"], gw.config_path.to_str().unwrap());
    let text = std::fs::read_to_string(&gw.config_path).unwrap();
    assert!(text.contains("id = 300"), "{text}");
    assert_valid_file(&gw.config_path);
}

#[test]
fn every_route_with_its_error_cases() {
    let lab = Lab::new();
    let gw = Gateway::start(&lab.gateway_config(""));
    assert!(lab.ph.ping(H1_IP, 3), "traffic before the changes");
    assert!(lab.h1.ping(PH_IP, 1));
    let api = Api::new(&gw);
    walk_reads(&api);
    walk_vnis(&api);
    walk_ports(&api);
    walk_config(&api, &gw);
    assert!(lab.ph.ping(H1_IP, 3), "traffic after the changes");

    // Coverage: every documented route answered with success and, where it
    // documents client errors, with one of those too.
    let doc = api.get("/api/v1/openapi.json");
    let never_succeeds = [
        ("post", "/api/v1/ports"),
        ("delete", "/api/v1/ports/{name}"),
    ];
    let calls = api.calls.borrow();
    let mut routes = 0;
    for (template, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            routes += 1;
            let statuses: Vec<u16> = calls
                .iter()
                .filter(|(m, p, _)| m.eq_ignore_ascii_case(method) && matches(template, p))
                .map(|c| c.2)
                .collect();
            let documented = op["responses"].as_object().unwrap();
            let client_errors = documented.keys().any(|s| s.starts_with('4') && s != "401");
            if !never_succeeds.contains(&(method.as_str(), template.as_str())) {
                assert!(
                    statuses.iter().any(|s| (200..300).contains(s)),
                    "{method} {template}: no success in {statuses:?}"
                );
            }
            if client_errors {
                assert!(
                    statuses.iter().any(|&s| s >= 400),
                    "{method} {template}: no error case in {statuses:?}"
                );
            }
            for s in &statuses {
                assert!(
                    documented.contains_key(&s.to_string()),
                    "{method} {template}: {s} undocumented"
                );
            }
        }
    }
    assert!(routes >= 38, "{routes} routes");
}

#[test]
fn changes_need_the_bearer_token() {
    let lab = Lab::new();
    let token_file = temp_path("token");
    write_secret(&token_file, "  tok-3f9a\n");
    let extra = format!("token_file = \"{}\"\n", token_file.display());
    let config = lab
        .gateway_config("")
        .replace("[management]\n", &format!("[management]\n{extra}"));
    let gw = Gateway::start(&config);
    let mut api = Api::new(&gw);
    let before = api.config();
    let add = json!({"id": 200});
    for auth in ["", "Bearer wrong", "tok-3f9a", "Bearer tok-3f9a-more"] {
        api.auth = if auth.is_empty() {
            vec![]
        } else {
            vec![("Authorization", auth.to_string())]
        };
        api.expect("POST", "/api/v1/vnis", add.clone(), 401);
        api.expect(
            "DELETE",
            "/api/v1/vnis/100/vteps/192.0.2.1",
            Value::Null,
            401,
        );
        let (status, _) = api.raw("PUT", "/api/v1/config", "application/toml", &config);
        assert_eq!(status, 401);
        api.expect("POST", "/api/v1/config/save", Value::Null, 401);
    }
    assert_eq!(api.config(), before, "nothing changed");
    assert_eq!(api.get("/healthz")["config_generation"], 1);
    assert!(gw.metrics().contains("vtepgw_config_generation 1"));

    api.auth = vec![("Authorization", "Bearer tok-3f9a".to_string())];
    api.expect("POST", "/api/v1/vnis", add, 201);
    assert_eq!(api.get("/healthz")["config_generation"], 2);
}

/// Parses `ping -q` output: (transmitted, received).
fn ping_summary(output: &str) -> (u32, u32) {
    let line = output
        .lines()
        .find(|l| l.contains("packets transmitted"))
        .unwrap_or_else(|| panic!("no ping summary in {output}"));
    let n: Vec<u32> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse().ok())
        .collect();
    (n[0], n[1])
}

/// `ping -i 0.05` from ph to h1 in the background.
fn background_ping(lab: &Lab, count: u32) -> ChildGuard {
    lab.ph
        .spawn(&format!("ping -n -q -i 0.05 -W 1 -c {count} {H1_IP}"))
}

/// Waits until echo replies of a background ping cross the gateway.
fn wait_for_ping_under_way(gw: &Gateway) {
    let decap = r#"vtepgw_vni_packets_total{direction="decap",vni="100"}"#;
    let before = gw.metric(decap);
    wait_until(Duration::from_secs(5), "the ping under way", || {
        gw.metric(decap) >= before + 3.0
    });
}

fn finish_ping(mut ping: ChildGuard) -> (u32, u32) {
    ping.wait_timeout(Duration::from_secs(60));
    ping_summary(&ping.output())
}

#[test]
fn rejected_changes_leave_config_and_traffic_as_before() {
    let lab = Lab::new();
    let gw = Gateway::start(&lab.gateway_config(""));
    assert!(lab.ph.ping(H1_IP, 2));
    let api = Api::new(&gw);
    let before = api.config();
    let (_, toml_before) = api.raw("GET", "/api/v1/config?format=toml", "", "");
    let ping = background_ping(&lab, 100);
    wait_for_ping_under_way(&gw);

    let toml = "application/toml";
    let refused: Vec<(u16, String)> = vec![
        api.raw(
            "PUT",
            "/api/v1/config",
            toml,
            &toml_before.replace("id = 100", "id = 16777216"),
        ),
        api.raw(
            "PUT",
            "/api/v1/config",
            toml,
            &toml_before.replace("49152-65535", "2000-1000"),
        ),
        api.raw(
            "PUT",
            "/api/v1/config",
            toml,
            &toml_before.replace(
                "vni = 100\n",
                "vni = 100\n\n[[port.vlans]]\nvlan = 10\nvni = 100\n",
            ),
        ),
        api.raw(
            "PUT",
            "/api/v1/config",
            toml,
            &toml_before.replace("idle_sleep_us = 50", "idle_sleep_us = 0"),
        ),
        api.raw(
            "PUT",
            "/api/v1/config",
            "application/json",
            "{\"underlay\": 5}",
        ),
        api.raw(
            "POST",
            "/api/v1/ports/phys0/vlans",
            "application/json",
            r#"{"vlan": 10, "vni": 100}"#,
        ),
        api.raw(
            "POST",
            "/api/v1/ports/phys0/vlans",
            "application/json",
            r#"{"vlan": 20, "vni": 4242}"#,
        ),
        api.raw(
            "POST",
            "/api/v1/vnis",
            "application/json",
            r#"{"id": 16777216}"#,
        ),
        api.raw(
            "POST",
            "/api/v1/vnis",
            "application/json",
            r#"{"id": 5, "flood": ["192.0.2.1", "192.0.2.1"]}"#,
        ),
        api.raw(
            "PATCH",
            "/api/v1/underlay",
            "application/json",
            r#"{"mtu": 1500}"#,
        ),
        api.raw(
            "PATCH",
            "/api/v1/underlay",
            "application/json",
            r#"{"source_ports": "0-10"}"#,
        ),
        api.raw("DELETE", "/api/v1/vnis/100", "", ""),
        api.raw(
            "POST",
            "/api/v1/vnis/100/vteps",
            "application/json",
            "not json",
        ),
    ];
    for (i, (status, body)) in refused.iter().enumerate() {
        assert!(
            (400..500).contains(status),
            "change {i} was not refused: {status} {body}"
        );
        let reply: Value = serde_json::from_str(body).unwrap();
        assert!(!error_paths(&reply).is_empty(), "change {i}: {body}");
        assert_eq!(api.config(), before, "change {i} left the config as it was");
    }
    assert_eq!(
        api.get("/healthz")["config_generation"],
        1,
        "nothing was published"
    );
    let (sent, received) = finish_ping(ping);
    assert_eq!((sent, received), (100, 100), "traffic untouched");
}

#[test]
fn continuous_ping_through_live_changes_loses_nothing() {
    let lab = Lab::new();
    let gw = Gateway::start(&lab.gateway_config(""));
    assert!(lab.ph.ping(H1_IP, 2));
    let api = Api::new(&gw);
    let ping = background_ping(&lab, 200);
    wait_for_ping_under_way(&gw);
    // Spread the changes over the ping's 10 s (pacing, not a wait for a fact).
    let step = || std::thread::sleep(Duration::from_millis(150));
    let changes: Vec<(&str, String, Value)> = vec![
        (
            "POST",
            "/api/v1/vnis".into(),
            json!({"id": 200, "flood": [HV2_IP]}),
        ),
        (
            "POST",
            "/api/v1/ports/phys0/vlans".into(),
            json!({"vlan": 20, "vni": 200}),
        ),
        (
            "POST",
            "/api/v1/vnis/200/vteps".into(),
            json!({"ip": HV1_IP}),
        ),
        (
            "POST",
            "/api/v1/vnis/100/static-macs".into(),
            json!({"mac": "02:00:00:00:09:09", "vtep": HV2_IP}),
        ),
        (
            "PATCH",
            "/api/v1/vnis/100".into(),
            json!({"mac_limit": 1000, "mac_ageing_secs": 600}),
        ),
        (
            "POST",
            "/api/v1/vnis/100/vteps".into(),
            json!({"ip": "192.0.2.3"}),
        ),
        ("PATCH", "/api/v1/underlay".into(), json!({"ttl": 32})),
        (
            "PATCH",
            "/api/v1/vnis/200".into(),
            json!({"learning": false}),
        ),
        (
            "DELETE",
            "/api/v1/vnis/100/vteps/192.0.2.3".into(),
            Value::Null,
        ),
        (
            "DELETE",
            "/api/v1/vnis/100/static-macs/02:00:00:00:09:09".into(),
            Value::Null,
        ),
        ("DELETE", "/api/v1/ports/phys0/vlans/20".into(), Value::Null),
        ("DELETE", "/api/v1/vnis/200".into(), Value::Null),
        ("PATCH", "/api/v1/underlay".into(), json!({"ttl": 64})),
    ];
    let n = changes.len() as u64;
    for (method, path, body) in changes {
        let (status, reply) = api.call(method, &path, body);
        assert!(
            (200..300).contains(&status),
            "{method} {path}: {status} {reply}"
        );
        step();
    }
    assert_eq!(api.get("/healthz")["config_generation"], 1 + n);
    let (sent, received) = finish_ping(ping);
    assert_eq!(
        (sent, received),
        (200, 200),
        "no echo lost while the config changed {n} times"
    );
}

/// Sends `count` copies of a UDP frame with scapy in `ns`.
fn send_udp(ns: &Netns, src_mac: &str, dst_mac: &str, src_ip: &str, payload: usize, count: u32) {
    scapy(
        ns,
        &format!(
            r#"f = Ether(src="{src_mac}", dst="{dst_mac}")/IP(src="{src_ip}", dst="203.0.113.99")/UDP(sport=4000, dport=9)/Raw(b"x"*{payload})
sendp([f]*{count}, iface="eth0")"#
        ),
    );
}

#[test]
fn metrics_pass_promtool_and_match_the_traffic() {
    let lab = Lab::new();
    // A VNI on a group too, so the multicast series are there, with a
    // gateway interface, so the routed ones are.
    let gw = Gateway::start(&lab.gateway_config(
        "[[vni]]\nid = 300\ngroup = \"239.1.1.9\"\ngateway = { address = \"198.51.100.1/24\" }\n",
    ));
    let api = Api::new(&gw);
    wait_until(Duration::from_secs(10), "both VTEPs resolved", || {
        let v = api.get("/api/v1/vteps");
        v.as_array()
            .unwrap()
            .iter()
            .all(|v| v["state"] == "resolved")
    });
    let series = [
        r#"vtepgw_remote_vtep_packets_total{direction="rx",remote_vtep="192.0.2.1"}"#,
        r#"vtepgw_remote_vtep_bytes_total{direction="rx",remote_vtep="192.0.2.1"}"#,
        r#"vtepgw_remote_vtep_packets_total{direction="tx",remote_vtep="192.0.2.1"}"#,
        r#"vtepgw_remote_vtep_bytes_total{direction="tx",remote_vtep="192.0.2.1"}"#,
        r#"vtepgw_remote_vtep_packets_total{direction="tx",remote_vtep="192.0.2.2"}"#,
        r#"vtepgw_vni_packets_total{direction="decap",vni="100"}"#,
        r#"vtepgw_vni_bytes_total{direction="decap",vni="100"}"#,
        r#"vtepgw_vni_packets_total{direction="encap",vni="100"}"#,
        r#"vtepgw_vni_bytes_total{direction="encap",vni="100"}"#,
        r#"vtepgw_port_packets_total{direction="rx",port="phys0"}"#,
        r#"vtepgw_port_bytes_total{direction="rx",port="phys0"}"#,
        r#"vtepgw_port_packets_total{direction="tx",port="phys0"}"#,
        r#"vtepgw_flood_replications_total{target="port",vni="100"}"#,
    ];
    let read = || {
        let text = gw.metrics();
        series.map(|s| metric_value(&text, s) as u64)
    };
    let before = read();

    // 15 frames from h1 to a MAC nobody has (142-byte inner frames, so
    // flooded to phys0), then 20 frames ph -> h1 (242 bytes untagged, 246
    // tagged on the wire; h1 is learned behind hv1 by then).
    send_udp(&lab.h1, H1_MAC, "02:00:00:00:09:09", H1_IP, 100, 15);
    wait_until(Duration::from_secs(5), "h1 learned", || {
        api.get(&format!("/api/v1/macs?mac={H1_MAC}"))
            .as_array()
            .unwrap()
            .len()
            == 1
    });
    send_udp(&lab.ph, PH_MAC, H1_MAC, PH_IP, 200, 20);
    let expected_delta: [u64; 13] = [
        15,
        15 * (142 + 50),
        20,
        20 * (242 + 50),
        0,
        15,
        15 * 142,
        20,
        20 * 242,
        20,
        20 * 246,
        15,
        15,
    ];
    let delta = || {
        let now = read();
        std::array::from_fn::<u64, 13, _>(|i| now[i] - before[i])
    };
    // Every series reaches its count (workers may count in any order);
    // then none may be over it.
    wait_until(Duration::from_secs(5), "the counters", || {
        delta()
            .iter()
            .zip(&expected_delta)
            .all(|(got, want)| got >= want)
    });
    let got = delta();
    for i in 0..series.len() {
        assert_eq!(got[i], expected_delta[i], "{}", series[i]);
    }

    let text = gw.metrics();
    for must in [
        "vtepgw_worker_busy_cycles_total{worker=\"0\"}",
        "vtepgw_worker_packets_total{worker=\"0\"}",
        "vtepgw_mac_table_entries{vni=\"100\"}",
        "vtepgw_arp_requests_sent_total",
        "vtepgw_nic_rx_missed_total{port=\"underlay\"}",
        "vtepgw_mempool_mbufs{state=\"in_use\"}",
        "vtepgw_drops_total{reason=\"mtu_exceeded\"}",
        "vtepgw_mac_limit_hits_total{vni=\"100\"}",
    ] {
        assert!(text.contains(must), "{must} missing");
    }
    assert!(metric_value(&text, "vtepgw_worker_busy_cycles_total{worker=\"0\"}") > 0.0);
    assert_eq!(
        metric_value(&text, "vtepgw_mac_table_entries{vni=\"100\"}"),
        2.0
    );
    let file = temp_path("prom");
    std::fs::write(&file, &text).unwrap();
    let out = sh(&format!(
        "promtool check metrics < {} 2>&1; echo rc=$?",
        file.display()
    ));
    assert!(out.trim_end().ends_with("rc=0"), "promtool: {out}");

    // The shipped dashboard charts only metrics the gateway exports, and
    // the shipped scrape config is valid.
    let root = env!("CARGO_MANIFEST_DIR");
    let dashboard =
        std::fs::read_to_string(format!("{root}/config/grafana-dashboard.json")).unwrap();
    serde_json::from_str::<Value>(&dashboard).expect("dashboard is JSON");
    let names: std::collections::BTreeSet<&str> = dashboard
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("vtepgw_"))
        .collect();
    assert!(names.len() > 10, "{names:?}");
    for name in names {
        assert!(
            text.lines()
                .any(|l| l.starts_with(&format!("# TYPE {name} "))),
            "the dashboard uses {name}, which /metrics does not export"
        );
    }
    let out = sh(&format!(
        "promtool check config {root}/config/prometheus.yml 2>&1; echo rc=$?"
    ));
    assert!(out.trim_end().ends_with("rc=0"), "promtool: {out}");
}

/// A gateway on null devices (the API needs no traffic), with a token and
/// these `[management]` lines.
fn gateway_on_null_devices(token_file: &std::path::Path, management: &str) -> Gateway {
    let prefix = format!("vtepgw-api-{}", unique_tag());
    Gateway::start(&format!(
        r#"[dataplane]
worker_lcores = [1]
eal_args = ["--no-huge", "-m", "512", "--no-pci", "--file-prefix", "{prefix}",
            "--vdev", "net_null0,no-rx=1", "--vdev", "net_null1,no-rx=1"]
[management]
listen = "127.0.0.1:{}"
token_file = "{}"
{management}
[underlay]
device = "net_null0"
address = "192.0.2.10/24"
[[port]]
name = "phys0"
device = "net_null1"
vlans = [{{ vlan = 10, vni = 100 }}]
[[vni]]
id = 100
"#,
        free_port(),
        token_file.display()
    ))
}

#[test]
fn idle_connections_beyond_the_cap_cannot_lock_out_the_operator() {
    use std::os::unix::fs::PermissionsExt;
    let token_file = temp_path("token");
    std::fs::write(&token_file, "tok-limits\n").unwrap();
    std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    // Long timeouts: only the cap can save the operator here.
    let gw = gateway_on_null_devices(
        &token_file,
        "max_connections = 16\nheader_timeout_secs = 300\nidle_timeout_secs = 300",
    );
    // The file descriptor limit of the report; then more idle connections,
    // opened without a token and never sending a byte, than it allows.
    sh(&format!(
        "prlimit --pid {} --nofile=256:256",
        gw.pid().unwrap()
    ));
    let idle: Vec<std::net::TcpStream> = (0..300)
        .map(|_| std::net::TcpStream::connect(gw.mgmt).unwrap())
        .collect();
    let auth = [
        ("Authorization", "Bearer tok-limits"),
        ("Content-Type", "application/json"),
    ];
    let (status, body) = gw.request("POST", "/api/v1/vnis", &auth, r#"{"id": 200}"#);
    assert_eq!(status, 201, "an authorised change: {body}");
    let (status, body) = gw.http_get("/api/v1/vnis/200");
    assert_eq!(status, 200, "{body}");
    let (status, body) = gw.http_get("/healthz");
    assert_eq!(status, 200, "{body}");
    assert!(!gw.log().contains("Too many open files"), "{}", gw.log());
    drop(idle);
    let _ = std::fs::remove_file(token_file);
}
