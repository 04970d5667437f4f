//! Tables shared by all workers: lock-free reads, one writer.
pub mod atomic_map;
pub mod mac;
pub mod neighbour;
pub mod route;
pub mod tunnel;
pub mod vni_index;

pub use atomic_map::{AtomicMap, MapWriter};
pub use mac::{MacDest, MacEntry, MacHit, MacTable};
pub use neighbour::NeighbourTable;
pub use tunnel::{NextHop, TunnelAddr, TunnelId, TunnelTable, TunnelWriter};
