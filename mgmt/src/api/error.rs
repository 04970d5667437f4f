//! API errors: a status and JSON `{"error": "...", "errors": [{"path",
//! "reason"}]}`, where `path` names the offending field.

use crate::apply::{ApplyError, Expected};
use axum::http::header::WWW_AUTHENTICATE;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use vtepgw_config::ConfigError;

/// An error response.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    /// One line for humans.
    pub error: String,
    /// Every problem, by field path.
    pub errors: Vec<ConfigError>,
}

impl ApiError {
    fn new(status: StatusCode, error: impl Into<String>, errors: Vec<ConfigError>) -> Self {
        ApiError {
            status,
            error: error.into(),
            errors,
        }
    }

    fn one(status: StatusCode, path: &str, reason: impl Into<String>) -> Self {
        let reason = reason.into();
        let error = if path.is_empty() {
            reason.clone()
        } else {
            format!("{path}: {reason}")
        };
        ApiError::new(
            status,
            error,
            vec![ConfigError {
                path: path.into(),
                reason,
            }],
        )
    }

    /// 400: the request itself is malformed (body, path or query).
    pub fn bad_request(path: &str, reason: impl Into<String>) -> Self {
        ApiError::one(StatusCode::BAD_REQUEST, path, reason)
    }

    /// 404: no such VNI, port, VTEP, MAC or binding.
    pub fn not_found(path: &str, reason: impl Into<String>) -> Self {
        ApiError::one(StatusCode::NOT_FOUND, path, reason)
    }

    /// 409: it already exists, or something else still uses it.
    pub fn conflict(path: &str, reason: impl Into<String>) -> Self {
        ApiError::one(StatusCode::CONFLICT, path, reason)
    }

    /// 401: a change without the right bearer token.
    pub fn unauthorized(reason: impl Into<String>) -> Self {
        ApiError::one(StatusCode::UNAUTHORIZED, "", reason)
    }

    /// 500: the gateway failed to do something it should be able to.
    pub fn internal(reason: impl Into<String>) -> Self {
        ApiError::one(StatusCode::INTERNAL_SERVER_ERROR, "", reason)
    }
}

impl From<ApplyError> for ApiError {
    fn from(e: ApplyError) -> Self {
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        match e {
            ApplyError::Invalid(errors) => {
                let n = errors.0.len();
                let first = errors.0.first().map(ToString::to_string);
                let error = match (n, first) {
                    (1, Some(first)) => format!("invalid configuration: {first}"),
                    (_, Some(first)) => {
                        format!("invalid configuration ({n} problems): {first}; ...")
                    }
                    _ => "invalid configuration".into(),
                };
                ApiError::new(status, error, errors.0)
            }
            ApplyError::NeedsRestart(errors) => {
                let fields: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
                let error = format!(
                    "cannot be changed on a running gateway (needs a restart): {}",
                    fields.join(", ")
                );
                ApiError::new(status, error, errors)
            }
            ApplyError::Build(reason) => ApiError::one(status, "", reason),
            ApplyError::Stale { running, expected } => {
                let wanted = match expected {
                    Expected::OneOf(list) if !list.is_empty() => {
                        let tags: Vec<String> = list.iter().map(|g| format!("\"{g}\"")).collect();
                        format!("If-Match wants {}", tags.join(" or "))
                    }
                    _ => "If-Match names no generation".into(),
                };
                ApiError::one(
                    StatusCode::PRECONDITION_FAILED,
                    "If-Match",
                    format!(
                        "the running config is generation {running} (ETag \"{running}\"), \
                         {wanted}: it changed since it was read; nothing changed, read it \
                         again and retry"
                    ),
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(serde_json::json!({
            "error": self.error,
            "errors": self.errors,
        }));
        if self.status == StatusCode::UNAUTHORIZED {
            (self.status, [(WWW_AUTHENTICATE, "Bearer")], body).into_response()
        } else {
            (self.status, body).into_response()
        }
    }
}

/// Middleware: errors that axum answers by itself (a method the route does
/// not have, a body over the size limit, a query or path it cannot parse)
/// come as plain text; this turns them into the same JSON as every other
/// error, keeping the status and headers such as `Allow`.
pub async fn json_errors(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let (method, path) = (req.method().clone(), req.uri().path().to_string());
    let response = next.run(req).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    let reason = match text.trim() {
        "" if status == StatusCode::METHOD_NOT_ALLOWED => {
            format!("{method} is not allowed on {path}; GET /api/v1/openapi.json lists the routes")
        }
        "" => status.canonical_reason().unwrap_or("error").to_string(),
        text => text.to_string(),
    };
    let json = ApiError::one(status, "", reason).into_response();
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    parts.headers.remove(axum::http::header::CONTENT_TYPE);
    let (json_parts, json_body) = json.into_parts();
    parts.headers.extend(json_parts.headers);
    Response::from_parts(parts, json_body)
}
