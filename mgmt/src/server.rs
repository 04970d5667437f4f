//! The HTTP server: shared state, the router built from the route table,
//! and the two routes outside `/api/v1` (`/metrics`, `/healthz`).

use crate::api::error::ApiError;
use crate::api::{auth, precondition, routes, Verb};
use crate::apply::Applier;
use crate::conns::Limits;
use crate::devices::Devices;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::{Method, Uri};
use axum::response::IntoResponse;
use axum::{Json, Router};
use std::net::SocketAddr;
use std::sync::Arc;
use vtepgw_gateway::shared::Shared;

/// What every handler can see.
#[derive(Clone)]
pub struct AppState {
    pub shared: Arc<Shared>,
    pub devices: Arc<dyn Devices>,
    pub applier: Arc<Applier>,
    /// The bearer token changes must present, if one is configured.
    pub token: Option<Arc<str>>,
}

impl AppState {
    /// State without a token (every change allowed).
    pub fn new(shared: Arc<Shared>, devices: Arc<dyn Devices>, applier: Applier) -> Self {
        AppState {
            shared,
            devices,
            applier: Arc::new(applier),
            token: None,
        }
    }

    /// Requires `Authorization: Bearer <token>` on every change.
    pub fn with_token(mut self, token: Option<String>) -> Self {
        self.token = token.map(Arc::from);
        self
    }
}

/// The router with every route of [`routes`], behind the token check.
pub fn router(state: AppState) -> Router {
    let mut r = Router::new();
    for route in routes() {
        let mut m = route.method_router();
        if route.etag && route.verb == Verb::Get {
            m = m.layer(axum::middleware::from_fn_with_state(
                state.clone(),
                precondition::tag_reads,
            ));
        }
        r = r.route(route.path, m);
    }
    r.fallback(no_route)
        .layer(axum::middleware::from_fn(precondition::parse_if_match))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ))
        .layer(axum::middleware::from_fn(crate::api::error::json_errors))
        .with_state(state)
}

async fn no_route(method: Method, uri: Uri) -> ApiError {
    ApiError::not_found(
        "",
        format!(
            "no route {method} {}; GET /api/v1/openapi.json lists them",
            uri.path()
        ),
    )
}

/// `GET /metrics`: rendered off the async workers (it walks every counter).
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let body =
        tokio::task::spawn_blocking(move || crate::metrics::render(&state.shared, &*state.devices))
            .await
            .unwrap_or_default();
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        body,
    )
}

/// `GET /healthz`.
pub async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    let snap = state.shared.snapshot.load();
    Json(serde_json::json!({
        "status": if state.shared.stopping() { "stopping" } else { "ok" },
        "workers": state.shared.workers.len(),
        "config_generation": snap.generation,
        "vnis": snap.vni_slots().len(),
    }))
}

/// Binds the API's socket, so the caller can do it before starting
/// anything else: a port in use is then reported at once.
pub fn bind(listen: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let listener = std::net::TcpListener::bind(listen)?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// Serves the API on `listener` (from [`bind`]) within `limits` until
/// `shutdown` completes.
pub async fn serve(
    listener: std::net::TcpListener,
    limits: Limits,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let listen = listener.local_addr()?;
    tracing::info!(%listen, ?limits, "management API listening");
    crate::conns::serve(listener, router(state), limits, shutdown).await;
    Ok(())
}
