use crate::testkit::{Lab, CONFIG};
use serde_json::json;

#[tokio::test]
async fn changes_need_the_token_reads_do_not() {
    let lab = Lab::with(CONFIG, None, Some("s3cret"));
    let body = json!({"id": 200}).to_string();
    let json_ct = ("content-type", "application/json");
    for headers in [
        vec![json_ct],
        vec![json_ct, ("authorization", "Bearer wrong")],
        vec![json_ct, ("authorization", "s3cret")],
        vec![json_ct, ("authorization", "Basic czNjcmV0")],
    ] {
        let r = lab.call("POST", "/api/v1/vnis", &headers, &body).await;
        assert_eq!(r.status, 401, "{headers:?}: {}", r.text);
        assert!(r.json["error"].is_string());
        assert_eq!(lab.generation(), 1, "nothing changed");
    }
    for (method, uri) in [
        ("DELETE", "/api/v1/vnis/100"),
        ("PUT", "/api/v1/config"),
        ("POST", "/api/v1/config/save"),
        ("POST", "/api/v1/config/validate"),
        ("PATCH", "/api/v1/underlay"),
    ] {
        assert_eq!(
            lab.call(method, uri, &[], "{}").await.status,
            401,
            "{method} {uri}"
        );
    }
    assert_eq!(lab.config().vni.len(), 1);

    assert_eq!(lab.get("/api/v1/vnis").await.status, 200);
    assert_eq!(lab.get("/metrics").await.status, 200);

    let auth = ("authorization", "Bearer s3cret");
    let r = lab
        .call("POST", "/api/v1/vnis", &[json_ct, auth], &body)
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(lab.generation(), 2);
}
