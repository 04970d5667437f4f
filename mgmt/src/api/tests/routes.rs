use crate::api::routes;
use crate::testkit::Lab;

/// Every route in the table is served for its method: the answer never
/// comes from the fallback (404 "no route") or the method check (405).
#[tokio::test]
async fn every_route_in_the_table_is_served() {
    let lab = Lab::new();
    for r in routes() {
        let path = r
            .path
            .replace("{vni}", "100")
            .replace("{name}", "phys0")
            .replace("{ip}", "192.0.2.1")
            .replace("{mac}", "02:00:00:00:00:01")
            .replace("{vlan}", "10");
        let reply = lab.call(r.verb.as_str(), &path, &[], "").await;
        assert_ne!(reply.status, 405, "{} {path}", r.verb.as_str());
        assert!(
            !reply.text.contains("no route"),
            "{} {path}: {}",
            r.verb.as_str(),
            reply.text
        );
    }
    let r = lab.call("PATCH", "/api/v1/vnis", &[], "").await;
    assert_eq!(r.status, 405);
    let r = lab.get("/api/v1/nothing").await;
    assert_eq!(r.status, 404);
    assert!(r.json["error"].as_str().unwrap().contains("no route"));
}

#[tokio::test]
async fn openapi_document_is_served() {
    let lab = Lab::new();
    let r = lab.get("/api/v1/openapi.json").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["openapi"], "3.0.3");
    assert!(r.json["paths"]["/api/v1/vnis/{vni}/static-macs/{mac}"]["delete"].is_object());
}

/// Errors that axum answers by itself are JSON like every other error.
#[tokio::test]
async fn framework_errors_are_json_too() {
    let lab = Lab::new();
    let r = lab.call("PATCH", "/api/v1/config", &[], "{}").await;
    assert_eq!(r.status, 405, "{}", r.text);
    assert!(
        r.json["error"]
            .as_str()
            .unwrap()
            .contains("PATCH is not allowed"),
        "{}",
        r.text
    );
    let r = lab.get("/api/v1/config?format=toml&format=json").await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.json["errors"][0]["reason"].is_string(), "{}", r.text);
    let big = "x".repeat(3 << 20);
    let r = lab.call("PUT", "/api/v1/config", &[], &big).await;
    assert_eq!(r.status, 413, "{}", r.text);
    assert!(r.json["error"].is_string(), "{}", r.text);
}

/// A VNI out of range in a URL is a bad request, not a missing VNI.
#[tokio::test]
async fn out_of_range_vnis_in_urls_are_bad_requests() {
    let lab = Lab::new();
    for vni in ["0", "16777216"] {
        let r = lab.get(&format!("/api/v1/vnis/{vni}")).await;
        assert_eq!(r.status, 400, "{vni}: {}", r.text);
        assert_eq!(r.json["errors"][0]["path"], "vni");
    }
}
