//! Optimistic concurrency: the running config's generation is its entity
//! tag (`ETag: "7"`), and a change sent with `If-Match: "7"` applies only
//! if generation 7 is still running (else 412), so two operators cannot
//! silently overwrite each other. The check itself runs inside the
//! Applier's lock ([`crate::apply::Applier::change`]); this module parses
//! the header and tags responses.

use super::error::ApiError;
use crate::apply::Expected;
use crate::server::AppState;
use axum::extract::{Request, State};
use axum::http::header::{ETAG, IF_MATCH};
use axum::http::{HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

tokio::task_local! {
    /// The `If-Match` of the request being handled.
    static EXPECTED: Expected;
}

/// What the request being handled expects (unconditional outside one).
pub fn expected() -> Expected {
    EXPECTED.try_with(Clone::clone).unwrap_or_default()
}

/// The entity tag of a generation.
pub fn etag(generation: u64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{generation}\"")).expect("digits and quotes")
}

/// Middleware: parses `If-Match` on every request but GET/HEAD (400 when
/// malformed) and runs the handler with it in scope for [`expected`].
pub async fn parse_if_match(req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD) {
        return next.run(req).await;
    }
    match if_match(req.headers()) {
        Ok(expected) => EXPECTED.scope(expected, next.run(req)).await,
        Err(e) => e.into_response(),
    }
}

/// Middleware for reads of the config: `ETag` of the generation loaded
/// before the handler reads it, so the tag is never newer than the data.
pub async fn tag_reads(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let generation = s.shared.snapshot.load().generation;
    let mut response = next.run(req).await;
    if response.status().is_success() {
        response.headers_mut().insert(ETAG, etag(generation));
    }
    response
}

/// `If-Match` (RFC 9110 13.1.1): `*`, or a list of entity tags compared
/// strongly, so weak tags (`W/"7"`) never match. A bare number is taken
/// as the tag it names.
fn if_match(headers: &HeaderMap) -> Result<Expected, ApiError> {
    if !headers.contains_key(IF_MATCH) {
        return Ok(Expected::Any);
    }
    // Several header lines are one list.
    let text = headers
        .get_all(IF_MATCH)
        .iter()
        .map(HeaderValue::to_str)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| malformed("it is not visible ASCII"))?
        .join(",");
    if text.trim() == "*" {
        return Ok(Expected::Any);
    }
    let mut generations = Vec::new();
    let mut tags = 0;
    for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        tags += 1;
        let (weak, tag) = match item.strip_prefix("W/") {
            Some(rest) => (true, rest),
            None => (false, item),
        };
        let opaque = match tag.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
            Some(inner) if !inner.contains('"') => inner,
            _ if !weak && tag.bytes().all(|b| b.is_ascii_digit()) => tag,
            _ => return Err(malformed(&format!("{item} is not an entity tag"))),
        };
        // A tag that is not a generation is well-formed but matches nothing.
        if let (false, Ok(g)) = (weak, opaque.parse()) {
            generations.push(g);
        }
    }
    if tags == 0 {
        return Err(malformed("it is empty"));
    }
    Ok(Expected::OneOf(generations))
}

fn malformed(why: &str) -> ApiError {
    ApiError::bad_request(
        "If-Match",
        format!("{why}; send the config generation as its ETag gives it, e.g. If-Match: \"7\""),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(values: &[&str]) -> Result<Expected, String> {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(IF_MATCH, HeaderValue::from_str(v).unwrap());
        }
        if_match(&h).map_err(|e| e.error)
    }

    #[test]
    fn if_match_lists_generations() {
        assert_eq!(parse(&[]), Ok(Expected::Any));
        assert_eq!(parse(&["*"]), Ok(Expected::Any));
        assert_eq!(parse(&["\"7\""]), Ok(Expected::OneOf(vec![7])));
        assert_eq!(parse(&["7"]), Ok(Expected::OneOf(vec![7])));
        assert_eq!(
            parse(&["\"3\", \"4\"", "\"5\""]),
            Ok(Expected::OneOf(vec![3, 4, 5]))
        );
        // Strong comparison: weak and foreign tags match nothing.
        assert_eq!(parse(&["W/\"7\", \"abc\""]), Ok(Expected::OneOf(vec![])));
    }

    #[test]
    fn a_malformed_if_match_names_the_header() {
        for bad in ["\"7", "abc", "W/7", "\"a\"b\"", ","] {
            let e = parse(&[bad]).unwrap_err();
            assert!(e.starts_with("If-Match: "), "{bad}: {e}");
        }
    }

    #[test]
    fn expectations_allow_their_generations() {
        assert!(Expected::Any.allows(9));
        assert!(Expected::OneOf(vec![3, 9]).allows(9));
        assert!(!Expected::OneOf(vec![3]).allows(9));
        assert!(!Expected::OneOf(vec![]).allows(9));
    }
}
