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
