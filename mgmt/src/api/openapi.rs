//! The OpenAPI 3 document, generated from the route table plus the
//! hand-written schemas of the bodies.

use super::{routes, Route, Verb};
use axum::Json;
use serde_json::{json, Map, Value};

/// `GET /api/v1/openapi.json`.
pub async fn serve() -> Json<Value> {
    Json(document(&routes()))
}

/// The document for `routes`.
pub fn document(routes: &[Route]) -> Value {
    let mut paths = Map::new();
    for r in routes {
        let item = paths.entry(r.path.to_string()).or_insert_with(|| json!({}));
        item[r.verb.as_str().to_ascii_lowercase()] = operation(r);
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "vtepgw management API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Configuration, state and statistics of a vtepgw VXLAN gateway. \
                Every change is validated as a whole new configuration and applied \
                all-or-nothing; errors are JSON with the offending field's path. When \
                management.token_file is set, every request other than GET needs \
                `Authorization: Bearer <token>`. Reads of the config and every change \
                answer the config generation as `ETag`; a change sent with \
                `If-Match: <that ETag>` applies only if no other change came in \
                between (else 412, nothing changed)."
        },
        "paths": paths,
        "components": {
            "schemas": schemas(),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}
        }
    })
}

fn operation(r: &Route) -> Value {
    let mut params: Vec<Value> = path_params(r.path)
        .map(|name| {
            json!({
                "name": name, "in": "path", "required": true,
                "description": param_help(name), "schema": {"type": "string"}
            })
        })
        .collect();
    params.extend(r.query.iter().map(|(name, help)| {
        json!({"name": name, "in": "query", "required": false,
               "description": help, "schema": {"type": "string"}})
    }));
    let mutates = r.verb != Verb::Get;
    let conditional = mutates && r.etag;
    if conditional {
        params.push(json!({
            "name": "If-Match", "in": "header", "required": false,
            "description": "apply only to this config generation, as its ETag gives it \
                (e.g. \"7\"); 412 when the running config is another one",
            "schema": {"type": "string"}
        }));
    }
    let mut responses = Map::new();
    let mut ok = if r.response.is_empty() {
        json!({"description": "done"})
    } else {
        json!({"description": "success", "content": content(r.response)})
    };
    if r.etag {
        ok["headers"] = json!({"ETag": {
            "description": "the config generation, quoted: send it back as If-Match",
            "schema": {"type": "string", "example": "\"7\""}
        }});
    }
    responses.insert(r.status.to_string(), ok);
    let errors = r
        .errors
        .iter()
        .chain(mutates.then_some(&401))
        .chain(conditional.then_some(&412));
    for &status in errors {
        responses.insert(
            status.to_string(),
            json!({
                "description": error_help(status),
                "content": {"application/json": {"schema": schema_ref("Error")}}
            }),
        );
    }
    let id: String = format!("{} {}", r.verb.as_str(), r.path)
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let mut op = json!({
        "summary": r.summary,
        "operationId": id.to_ascii_lowercase(),
        "parameters": params,
        "responses": responses,
    });
    if !r.request.is_empty() {
        op["requestBody"] = json!({"required": true, "content": content(r.request)});
    }
    if mutates {
        op["security"] = json!([{"bearer": []}]);
    }
    op
}

/// `{name}` segments of a path.
pub fn path_params(path: &str) -> impl Iterator<Item = &str> {
    path.split('/')
        .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
}

fn param_help(name: &str) -> &'static str {
    match name {
        "vni" => "VXLAN network identifier, 1 to 16777215",
        "ip" => "remote VTEP IPv4 address",
        "mac" => "MAC address, e.g. 02:00:00:00:00:01",
        "name" => "port name",
        "vlan" => "VLAN id, 1 to 4094",
        _ => "",
    }
}

fn error_help(status: u16) -> &'static str {
    match status {
        400 => "malformed request: body, path or query (errors name the field)",
        401 => "missing or wrong bearer token; nothing changed",
        404 => "no such VNI, port, VTEP, MAC or binding",
        409 => "already exists, or still in use",
        412 => "If-Match names another config generation than the running one; nothing changed",
        422 => "the resulting configuration is invalid or needs a restart; nothing changed",
        _ => "the gateway could not complete the request",
    }
}

fn content(media: &[(&str, &str)]) -> Value {
    let mut c = Map::new();
    for &(mime, schema) in media {
        c.insert(mime.to_string(), json!({"schema": schema_ref(schema)}));
    }
    Value::Object(c)
}

/// A reference to a named schema; `XList` is an array of `X`.
fn schema_ref(name: &str) -> Value {
    match name {
        "string" | "object" => json!({"type": name}),
        _ => match name.strip_suffix("List") {
            Some(item) => json!({"type": "array", "items": schema_ref(item)}),
            None => json!({"$ref": format!("#/components/schemas/{name}")}),
        },
    }
}

fn int() -> Value {
    json!({"type": "integer", "minimum": 0})
}
fn string() -> Value {
    json!({"type": "string"})
}
fn boolean() -> Value {
    json!({"type": "boolean"})
}
fn array(item: Value) -> Value {
    json!({"type": "array", "items": item})
}
fn enumeration(values: &[&str]) -> Value {
    json!({"type": "string", "enum": values})
}
fn nullable(mut v: Value) -> Value {
    v["nullable"] = true.into();
    v
}
fn counters(names: &[&str]) -> Vec<(String, Value)> {
    names.iter().map(|n| (n.to_string(), int())).collect()
}

/// An object schema: `required` fields first, then optional ones.
fn object(required: &[(&str, Value)], optional: &[(&str, Value)]) -> Value {
    let mut props = Map::new();
    for (k, v) in required.iter().chain(optional) {
        props.insert(k.to_string(), v.clone());
    }
    let names: Vec<&str> = required.iter().map(|(k, _)| *k).collect();
    let mut o = json!({"type": "object", "properties": props});
    if !names.is_empty() {
        o["required"] = json!(names);
    }
    o
}

fn with_counters(mut base: Value, names: &[&str]) -> Value {
    for (k, v) in counters(names) {
        base["properties"][k] = v;
    }
    base
}

fn schemas() -> Value {
    let ipv4 = json!({"type": "string", "format": "ipv4"});
    let mac = json!({"type": "string", "example": "02:00:00:00:00:01"});
    let vni = json!({"type": "integer", "minimum": 1, "maximum": 16_777_215});
    let vlan = json!({"type": "integer", "minimum": 1, "maximum": 4094});
    let cidr = json!({"type": "string", "example": "192.0.2.10/24"});
    let path_reason = object(&[("path", string()), ("reason", string())], &[]);
    let warning = object(&[("path", string()), ("message", string())], &[]);
    let traffic = ["rx_packets", "rx_bytes", "tx_packets", "tx_bytes"];
    json!({
        "Error": object(&[("error", string()), ("errors", array(path_reason.clone()))], &[]),
        // The L3 gateway's running state (`api::l3`).
        "Interface": with_counters(object(&[
            ("name", string()), ("vrf", string()), ("address", cidr.clone()),
            ("mac", mac.clone()), ("mtu", int()), ("vni", nullable(vni.clone())),
            ("port", nullable(string())), ("vlan", nullable(vlan.clone())),
        ], &[]), &["in_packets", "in_bytes", "out_packets", "out_bytes"]),
        "Route": object(&[
            ("vrf", string()), ("prefix", json!({"type": "string", "example": "192.0.2.128/25"})),
            ("kind", enumeration(&["connected", "static"])),
            ("next_hop", nullable(ipv4.clone())), ("interface", nullable(string())),
        ], &[]),
        "NeighbourEntry": object(&[
            ("vrf", string()), ("interface", string()), ("ip", ipv4.clone()),
            ("mac", mac.clone()), ("age_secs", int()),
        ], &[]),
        "Config": object(&[("underlay", schema_ref("Underlay"))], &[
            ("dataplane", schema_ref("Dataplane")),
            ("management", schema_ref("Management")),
            ("port", schema_ref("PortList")),
            ("vni", schema_ref("VniList")),
            ("igmp", schema_ref("Igmp")),
            // The L3 gateway (issue 10).
            ("vrf", schema_ref("VrfList")),
            ("interface", schema_ref("RoutedInterfaceList")),
            ("route", schema_ref("StaticRouteList")),
            ("icmp", schema_ref("Icmp")),
            ("neighbour", schema_ref("Neighbour")),
            ("static_neighbour", schema_ref("StaticNeighbourList")),
        ]),
        "StaticNeighbour": object(
            &[("interface", string()), ("ip", ipv4.clone()), ("mac", mac.clone())],
            &[],
        ),
        "Vrf": object(&[("name", string())], &[]),
        "VniGateway": object(&[("address", cidr.clone())], &[
            ("mac", mac.clone()), ("vrf", string()),
        ]),
        "RoutedInterface": object(&[
            ("name", string()), ("port", string()), ("address", cidr.clone()),
        ], &[("vlan", vlan.clone()), ("vrf", string()), ("mtu", int())]),
        "StaticRoute": object(
            &[("prefix", json!({"type": "string", "example": "192.0.2.128/25"}))],
            &[("vrf", string()), ("next_hop", ipv4.clone()), ("interface", string())],
        ),
        "Icmp": object(&[], &[("rate_per_sec", int()), ("burst", int())]),
        "Neighbour": object(&[], &[
            ("ageing_secs", int()), ("retries", int()), ("retry_interval_ms", int()),
            ("queue_len", int()),
        ]),
        "Dataplane": object(&[], &[
            ("main_lcore", int()), ("worker_lcores", array(int())),
            ("eal_args", array(string())), ("mbufs", int()), ("burst_size", int()),
            ("idle_sleep_us", int()), ("mac_table_capacity", int()),
        ]),
        "Management": object(&[], &[
            ("listen", string()), ("token_file", string()), ("max_connections", int()),
            ("header_timeout_secs", int()), ("idle_timeout_secs", int()),
        ]),
        "Underlay": object(&[("device", string()), ("address", cidr)], &[
            ("gateway", ipv4.clone()), ("mtu", int()), ("udp_port", int()),
            ("source_ports", json!({"type": "string", "example": "49152-65535"})),
            ("ttl", int()), ("mtu_check", enumeration(&["error", "warn"])),
            ("multicast_ttl", int()),
        ]),
        "Igmp": object(&[], &[
            ("version", json!({"type": "integer", "enum": [2, 3]})), ("robustness", int()),
            ("unsolicited_report_interval_ms", int()), ("query_interval_secs", int()),
            ("query_response_interval_ms", int()),
        ]),
        "Port": object(&[("name", string()), ("device", string())], &[
            ("mtu", int()), ("untagged_vni", vni.clone()), ("vlans", schema_ref("VlanBindingList")),
        ]),
        "VlanBinding": object(&[("vlan", vlan), ("vni", vni.clone())], &[]),
        "Vni": object(&[("id", vni.clone())], &[
            ("flood", array(ipv4.clone())), ("group", ipv4.clone()), ("learning", boolean()),
            ("mac_ageing_secs", int()), ("mac_limit", int()), ("mtu", int()),
            ("static_macs", schema_ref("StaticMacList")),
            ("gateway", schema_ref("VniGateway")),
            ("arp_suppression", enumeration(&["off", "reply", "proxy"])),
        ]),
        "StaticMac": object(&[("mac", mac.clone()), ("vtep", ipv4.clone())], &[]),
        "VtepRef": object(&[("ip", ipv4.clone())], &[]),
        "Applied": object(&[
            ("generation", int()), ("changed", boolean()), ("warnings", array(warning.clone())),
        ], &[]),
        "Verdict": object(&[
            ("valid", boolean()), ("errors", array(path_reason.clone())),
            ("warnings", array(warning)), ("applicable_live", boolean()),
            ("needs_restart", array(path_reason)),
        ], &[]),
        "Saved": object(&[("path", string()), ("generation", int())], &[]),
        "Health": object(&[
            ("status", enumeration(&["ok", "stopping"])),
            ("workers", int()), ("config_generation", int()), ("vnis", int()),
        ], &[]),
        "Mac": object(&[
            ("vni", vni.clone()), ("mac", mac),
            ("type", enumeration(&["learned", "static"])),
        ], &[("port", string()), ("vlan", int()), ("vtep", ipv4.clone()), ("idle_secs", int())]),
        "PortStats": with_counters(
            object(&[("port", string())], &[("nic", nullable(schema_ref("NicStats")))]),
            &traffic,
        ),
        "NicStats": with_counters(object(&[], &[]), &[
            "rx_packets", "tx_packets", "rx_bytes", "tx_bytes", "rx_missed",
            "rx_errors", "tx_errors", "rx_nombuf",
        ]),
        "VniStats": with_counters(object(&[("vni", vni)], &[]), &[
            "encap_packets", "encap_bytes", "decap_packets", "decap_bytes",
            "flood_to_vteps", "flood_to_ports", "mac_entries", "macs_learned",
            "mac_moves", "macs_aged", "mac_limit_hits",
        ]),
        "Drop": object(&[("reason", string()), ("packets", int()), ("help", string())], &[]),
        "Workers": object(&[("tsc_hz", int()), ("workers", schema_ref("WorkerList"))], &[]),
        "Worker": object(&[
            ("worker", int()), ("packets", int()), ("busy_cycles", int()), ("polls", int()),
            ("cycles_per_packet", nullable(json!({"type": "number"}))),
        ], &[]),
        "RemoteVtep": with_counters(object(&[
            ("ip", ipv4.clone()),
            ("state", enumeration(&["resolved", "pending", "unreachable", "unknown"])),
            ("next_hop", nullable(ipv4.clone())), ("next_hop_mac", nullable(string())),
            ("flood_vnis", array(int())), ("static_macs", int()), ("idle_secs", nullable(int())),
        ], &[]), &traffic),
        "Groups": object(&[
            ("querier_version", nullable(json!({"type": "integer", "enum": [1, 2, 3]}))),
            ("report_version", json!({"type": "integer", "enum": [2, 3]})),
            ("receive_mode", enumeration(&[
                "mac_filter", "all_multicast", "promiscuous", "unfiltered", "none",
            ])),
            ("igmp", with_counters(object(&[], &[]), &[
                "v2_reports_sent", "v3_reports_sent", "leaves_sent",
                "v1_queries", "v2_queries", "v3_queries",
            ])),
            ("groups", schema_ref("GroupList")),
        ], &[]),
        "Group": with_counters(object(&[
            ("group", ipv4), ("vnis", array(int())),
            ("state", enumeration(&["joining", "member", "pending"])),
            ("last_report_ms_ago", nullable(int())),
        ], &[]), &traffic),
        "Mtu": object(&[
            ("vni", int()), ("overlay_mtu", int()), ("underlay_mtu", int()),
            ("required_underlay_mtu", int()), ("margin", json!({"type": "integer"})),
        ], &[]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("$ref") {
                    out.push(r.clone());
                }
                m.values().for_each(|x| refs(x, out));
            }
            Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
            _ => {}
        }
    }

    #[test]
    fn every_route_is_documented_with_its_parameters() {
        let routes = routes();
        let doc = document(&routes);
        assert_eq!(doc["openapi"], "3.0.3");
        let mut seen = HashSet::new();
        for r in &routes {
            assert!(
                seen.insert((r.verb, r.path)),
                "{} {} twice",
                r.verb.as_str(),
                r.path
            );
            let op = &doc["paths"][r.path][r.verb.as_str().to_ascii_lowercase()];
            assert!(op.is_object(), "{} {} missing", r.verb.as_str(), r.path);
            assert!(!r.summary.is_empty());
            let declared: Vec<&str> = op["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|p| p["in"] == "path")
                .map(|p| p["name"].as_str().unwrap())
                .collect();
            assert_eq!(declared, path_params(r.path).collect::<Vec<_>>());
            for p in &declared {
                assert!(!param_help(p).is_empty(), "undocumented parameter {p}");
            }
            assert!(op["responses"][r.status.to_string()].is_object());
            if r.verb != Verb::Get {
                assert!(op["responses"]["401"].is_object(), "{}", r.path);
                assert_eq!(op["security"][0]["bearer"], json!([]));
            }
            let ok = &op["responses"][r.status.to_string()];
            assert_eq!(ok["headers"]["ETag"].is_object(), r.etag, "{}", r.path);
            let if_match = op["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["in"] == "header" && p["name"] == "If-Match");
            let conditional = r.etag && r.verb != Verb::Get;
            assert_eq!(if_match, conditional, "{}", r.path);
            assert_eq!(
                op["responses"]["412"].is_object(),
                conditional,
                "{}",
                r.path
            );
        }
        let documented: usize = doc["paths"]
            .as_object()
            .unwrap()
            .values()
            .map(|item| item.as_object().unwrap().len())
            .sum();
        assert_eq!(
            documented,
            routes.len(),
            "nothing documented that is not routed"
        );
    }

    #[test]
    fn every_schema_reference_resolves() {
        let doc = document(&routes());
        let mut all = Vec::new();
        refs(&doc, &mut all);
        assert!(all.len() > 20);
        for r in all {
            let name = r.strip_prefix("#/components/schemas/").unwrap();
            assert!(
                doc["components"]["schemas"][name].is_object(),
                "unresolved {r}"
            );
        }
    }
}
