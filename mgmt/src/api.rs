//! The read-only start of the `/api/v1` REST API: the running config and
//! the MTU report. (Changes through the API are the next step.)

use crate::server::AppState;
use axum::extract::{Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

#[derive(Deserialize)]
pub struct ConfigQuery {
    /// `toml` for the config file's form; JSON otherwise.
    format: Option<String>,
}

/// `GET /api/v1/config`: the running configuration.
pub async fn config(State(state): State<AppState>, Query(q): Query<ConfigQuery>) -> Response {
    let snapshot = state.shared.snapshot.load();
    match q.format.as_deref() {
        Some("toml") => (
            [(CONTENT_TYPE, "application/toml")],
            snapshot.config.to_toml_string(),
        )
            .into_response(),
        _ => Json(snapshot.config.clone()).into_response(),
    }
}

/// `GET /api/v1/mtu`: per VNI, the overlay MTU, the underlay MTU, what the
/// underlay needs and the margin.
pub async fn mtu(State(state): State<AppState>) -> impl IntoResponse {
    let snapshot = state.shared.snapshot.load();
    Json(vtepgw_config::mtu::report(&snapshot.config))
}
