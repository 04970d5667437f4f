//! The management plane: an HTTP server on the main lcore (never on a
//! worker core) serving the `/api/v1` REST API, Prometheus metrics and
//! health, reading the data plane's counters only when asked and changing
//! its configuration only through [`apply::Applier`].

pub mod api;
pub mod apply;
mod conns;
mod devices;
mod live;
pub mod metrics;
mod reload;
pub mod server;
#[cfg(test)]
mod testkit;
pub mod totals;

pub use api::auth::{open_door_warning, read_token};
pub use apply::Applier;
pub use conns::Limits;
pub use devices::{Devices, NicStats, PoolStats};
pub use server::{bind, serve, AppState};
