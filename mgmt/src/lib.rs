//! The management plane: an HTTP server on the main lcore (never on a
//! worker core) serving Prometheus metrics and health, reading the data
//! plane's counters only when asked.

pub mod api;
mod devices;
pub mod metrics;
pub mod server;

pub use devices::{Devices, NicStats, PoolStats};
pub use server::{serve, AppState};
