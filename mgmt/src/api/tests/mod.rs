//! The API end to end through the router, over a real (in-memory) data
//! plane: every change is checked in the running snapshot, and every
//! refusal is checked to have changed nothing.

mod auth;
mod config;
mod groups;
mod l3;
mod ports;
mod precondition;
mod reads;
mod routes;
mod vnis;

use crate::testkit::Lab;

/// A request that must be refused: method, URI, JSON body, status, and
/// a field path its errors must name.
pub type Refusal = (
    &'static str,
    &'static str,
    serde_json::Value,
    u16,
    &'static str,
);

/// The paths of a reply's errors.
pub fn error_paths(reply: &serde_json::Value) -> Vec<&str> {
    reply["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect()
}

/// Sends each request, asserting it is refused as expected and that the
/// running config (and its generation) did not change; returns the replies.
async fn refused_unchanged(lab: &Lab, cases: Vec<Refusal>) -> Vec<serde_json::Value> {
    let mut replies = Vec::new();
    for (method, uri, body, status, path) in cases {
        let before = (lab.config(), lab.generation());
        let r = lab.send(method, uri, body).await;
        assert_eq!(r.status, status, "{method} {uri}: {}", r.text);
        assert!(r.json["error"].is_string(), "{}", r.text);
        let paths = error_paths(&r.json);
        assert!(
            paths.contains(&path),
            "{method} {uri}: {path} not in {paths:?}: {}",
            r.text
        );
        assert_eq!(
            (lab.config(), lab.generation()),
            before,
            "{method} {uri} changed nothing"
        );
        replies.push(r.json);
    }
    replies
}
