//! `/api/v1/config`: the running configuration, whole.

use super::body;
use super::error::ApiError;
use super::{apply, changed};
use crate::apply::SaveError;
use crate::server::AppState;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::header::{CONTENT_TYPE, ETAG};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

#[derive(Deserialize)]
pub struct Format {
    /// `toml` for the config file's form; `json` (the default) otherwise.
    format: Option<String>,
}

/// `GET /api/v1/config[?format=toml]`.
pub async fn get(State(s): State<AppState>, Query(q): Query<Format>) -> Result<Response, ApiError> {
    let running = s.applier.config();
    match q.format.as_deref() {
        Some("toml") => Ok((
            [(CONTENT_TYPE, "application/toml")],
            running.to_toml_string(),
        )
            .into_response()),
        None | Some("json") => Ok(Json(running.as_ref().clone()).into_response()),
        Some(other) => Err(ApiError::bad_request(
            "format",
            format!("\"{other}\" is not a format; use json or toml"),
        )),
    }
}

/// `PUT /api/v1/config`: replaces the whole running config (JSON, or TOML
/// with `Content-Type: application/toml`).
pub async fn put(
    State(s): State<AppState>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let new = body::config(&headers, &bytes)?;
    let ((), applied) = apply(&s, |c| {
        *c = new;
        Ok(())
    })
    .await?;
    Ok(changed(&applied, &applied))
}

/// `POST /api/v1/config/validate`: checks a candidate; applies nothing.
pub async fn validate(
    State(s): State<AppState>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let candidate = body::config(&headers, &bytes)?;
    let running = s.applier.config();
    Ok(Json(s.applier.verdict(&running, &candidate)).into_response())
}

/// `POST /api/v1/config/save`: writes the running config to the file the
/// gateway was started with.
pub async fn save(State(s): State<AppState>) -> Result<Response, ApiError> {
    let expected = super::precondition::expected();
    match s.applier.save(&s.shared, &expected).await {
        Ok((path, generation)) => {
            let body = Json(serde_json::json!({"path": path, "generation": generation}));
            Ok(([(ETAG, super::precondition::etag(generation))], body).into_response())
        }
        Err(SaveError::NoFile) => Err(ApiError::conflict(
            "",
            "the gateway was not started from a config file",
        )),
        Err(SaveError::Apply(e)) => Err(e.into()),
        Err(SaveError::Write(e)) => Err(ApiError::internal(e)),
    }
}
