//! The HTTP server: routes and shared state.

use crate::devices::Devices;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use std::net::SocketAddr;
use std::sync::Arc;
use vtepgw_gateway::shared::Shared;

/// What every handler can see.
#[derive(Clone)]
pub struct AppState {
    pub shared: Arc<Shared>,
    pub devices: Arc<dyn Devices>,
}

/// The router with every route.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/api/v1/config", get(crate::api::config))
        .route("/api/v1/mtu", get(crate::api::mtu))
        .with_state(state)
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let body =
        tokio::task::spawn_blocking(move || crate::metrics::render(&state.shared, &*state.devices))
            .await
            .unwrap_or_default();
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        body,
    )
}

async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    let snap = state.shared.snapshot.load();
    Json(serde_json::json!({
        "status": if state.shared.stopping() { "stopping" } else { "ok" },
        "workers": state.shared.workers.len(),
        "config_generation": snap.generation,
        "vnis": snap.vni_slots().len(),
    }))
}

/// Serves the API on `listen` until `shutdown` completes.
pub async fn serve(
    listen: SocketAddr,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    tracing::info!(%listen, "management API listening");
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}
