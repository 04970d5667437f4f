//! `ETag` and `If-Match`: a change meant for a config that another change
//! has replaced in the meantime is refused with 412 and changes nothing.

use crate::api::{routes, Verb};
use crate::testkit::{Lab, CONFIG};
use serde_json::json;

const JSON: (&str, &str) = ("content-type", "application/json");

/// A valid request for every change that honours `If-Match`, keyed by
/// its route (method and path pattern).
fn changes() -> Vec<(&'static str, &'static str, String, String)> {
    let port = json!({"name": "phys0", "device": "p0", "vlans": [{"vlan": 10, "vni": 100}]});
    let underlay = json!({"device": "u0", "address": "192.0.2.10/24"});
    let cases = [
        ("PUT", "/api/v1/config", "/api/v1/config", CONFIG.into()),
        (
            "POST",
            "/api/v1/config/save",
            "/api/v1/config/save",
            String::new(),
        ),
        (
            "POST",
            "/api/v1/vnis",
            "/api/v1/vnis",
            json!({"id": 200}).to_string(),
        ),
        (
            "PUT",
            "/api/v1/vnis/{vni}",
            "/api/v1/vnis/100",
            json!({"id": 100}).to_string(),
        ),
        (
            "PATCH",
            "/api/v1/vnis/{vni}",
            "/api/v1/vnis/100",
            json!({"mtu": 1400}).to_string(),
        ),
        (
            "DELETE",
            "/api/v1/vnis/{vni}",
            "/api/v1/vnis/100",
            String::new(),
        ),
        (
            "POST",
            "/api/v1/vnis/{vni}/vteps",
            "/api/v1/vnis/100/vteps",
            json!({"ip": "192.0.2.3"}).to_string(),
        ),
        (
            "DELETE",
            "/api/v1/vnis/{vni}/vteps/{ip}",
            "/api/v1/vnis/100/vteps/192.0.2.1",
            String::new(),
        ),
        (
            "POST",
            "/api/v1/vnis/{vni}/static-macs",
            "/api/v1/vnis/100/static-macs",
            json!({"mac": "02:00:00:00:00:09", "vtep": "192.0.2.1"}).to_string(),
        ),
        (
            "DELETE",
            "/api/v1/vnis/{vni}/static-macs/{mac}",
            "/api/v1/vnis/100/static-macs/02:00:00:00:00:09",
            String::new(),
        ),
        (
            "POST",
            "/api/v1/ports",
            "/api/v1/ports",
            json!({"name": "p1", "device": "p1"}).to_string(),
        ),
        (
            "PUT",
            "/api/v1/ports/{name}",
            "/api/v1/ports/phys0",
            port.to_string(),
        ),
        (
            "PATCH",
            "/api/v1/ports/{name}",
            "/api/v1/ports/phys0",
            json!({"mtu": 1400}).to_string(),
        ),
        (
            "DELETE",
            "/api/v1/ports/{name}",
            "/api/v1/ports/phys0",
            String::new(),
        ),
        (
            "POST",
            "/api/v1/ports/{name}/vlans",
            "/api/v1/ports/phys0/vlans",
            json!({"vlan": 20, "vni": 100}).to_string(),
        ),
        (
            "DELETE",
            "/api/v1/ports/{name}/vlans/{vlan}",
            "/api/v1/ports/phys0/vlans/10",
            String::new(),
        ),
        (
            "PUT",
            "/api/v1/underlay",
            "/api/v1/underlay",
            underlay.to_string(),
        ),
        (
            "PATCH",
            "/api/v1/underlay",
            "/api/v1/underlay",
            json!({"ttl": 32}).to_string(),
        ),
    ];
    cases
        .into_iter()
        .map(|(m, route, uri, body)| (m, route, uri.to_string(), body))
        .collect()
}

#[tokio::test]
async fn every_change_with_a_stale_if_match_is_refused_and_changes_nothing() {
    let covered: Vec<(&str, &str)> = changes().iter().map(|c| (c.0, c.1)).collect();
    for r in routes().iter().filter(|r| r.etag && r.verb != Verb::Get) {
        assert!(
            covered.contains(&(r.verb.as_str(), r.path)),
            "{} {} untested",
            r.verb.as_str(),
            r.path
        );
    }
    let lab = Lab::new();
    for (method, _, uri, body) in changes() {
        let ct = if uri == "/api/v1/config" {
            ("content-type", "application/toml")
        } else {
            JSON
        };
        for stale in ["\"2\"", "\"0\", W/\"1\""] {
            let before = lab.config();
            let r = lab
                .call(method, &uri, &[ct, ("if-match", stale)], &body)
                .await;
            assert_eq!(r.status, 412, "{method} {uri} If-Match {stale}: {}", r.text);
            assert_eq!(r.json["errors"][0]["path"], "If-Match", "{}", r.text);
            assert!(
                r.json["error"].as_str().unwrap().contains("generation 1"),
                "{}",
                r.text
            );
            assert_eq!(
                (lab.config(), lab.generation()),
                (before, 1),
                "{method} {uri}"
            );
        }
    }
}

#[tokio::test]
async fn the_etag_of_a_read_makes_the_next_change_conditional() {
    let lab = Lab::new();
    let read = lab.get("/api/v1/vnis/100").await;
    assert_eq!(read.etag.as_deref(), Some("\"1\""));
    for uri in [
        "/api/v1/config",
        "/api/v1/ports/phys0/vlans",
        "/api/v1/underlay",
    ] {
        assert_eq!(lab.get(uri).await.etag.as_deref(), Some("\"1\""), "{uri}");
    }
    // Counters are not versions of the config.
    assert_eq!(lab.get("/api/v1/stats/vnis").await.etag, None);

    let patch_mtu = |if_match: String, mtu: u16| {
        let lab = &lab;
        async move {
            let body = json!({"mtu": mtu}).to_string();
            let headers = [JSON, ("if-match", if_match.as_str())];
            lab.call("PATCH", "/api/v1/vnis/100", &headers, &body).await
        }
    };
    let tag = read.etag.unwrap();
    let r = patch_mtu(tag.clone(), 1400).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.etag.as_deref(), Some("\"2\""));
    // The second operator read generation 1 too: refused, told the current one.
    let r = patch_mtu(tag, 1300).await;
    assert_eq!(r.status, 412, "{}", r.text);
    let error = r.json["error"].as_str().unwrap();
    assert!(error.contains("generation 2 (ETag \"2\")"), "{error}");
    assert_eq!(lab.config().vni[0].mtu, Some(1400));
    // `*`, a bare number and lists are understood.
    for (if_match, mtu) in [("*", 1301), ("3", 1302), ("\"1\", \"4\"", 1303)] {
        let r = patch_mtu(if_match.into(), mtu).await;
        assert_eq!(r.status, 200, "{if_match}: {}", r.text);
    }
    assert_eq!(lab.generation(), 5);
}

#[tokio::test]
async fn a_malformed_if_match_is_a_bad_request() {
    let lab = Lab::new();
    let body = json!({"id": 200}).to_string();
    let r = lab
        .call("POST", "/api/v1/vnis", &[JSON, ("if-match", "\"1")], &body)
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.json["errors"][0]["path"], "If-Match");
    assert_eq!(lab.generation(), 1);
}

/// Two operators who read the same generation change it at once: exactly
/// one wins (the check and the apply share the Applier's lock).
#[tokio::test]
async fn of_two_concurrent_conditional_changes_one_wins() {
    let lab = Lab::new();
    let (a, b) = (
        json!({"id": 200}).to_string(),
        json!({"id": 300}).to_string(),
    );
    let headers = [JSON, ("if-match", "\"1\"")];
    let (ra, rb) = tokio::join!(
        lab.call("POST", "/api/v1/vnis", &headers, &a),
        lab.call("POST", "/api/v1/vnis", &headers, &b),
    );
    let mut statuses = [ra.status.as_u16(), rb.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, [201, 412], "{} / {}", ra.text, rb.text);
    assert_eq!((lab.generation(), lab.config().vni.len()), (2, 2));
}
