//! What the management plane needs from the NIC layer, without depending on it.

/// A NIC's own counters (what the driver saw, before the pipeline).
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct NicStats {
    pub rx_packets: u64,
    pub tx_packets: u64,
    pub rx_bytes: u64,
    pub tx_bytes: u64,
    /// Packets the NIC dropped because the rx queue was full.
    pub rx_missed: u64,
    pub rx_errors: u64,
    pub tx_errors: u64,
    /// Receive failures for lack of mbufs.
    pub rx_nombuf: u64,
}

/// Packet-buffer pool usage.
#[derive(Clone, Copy, Debug, Default)]
pub struct PoolStats {
    pub in_use: u64,
    pub available: u64,
}

/// Device-level information, implemented by the DPDK layer.
pub trait Devices: Send + Sync {
    /// NIC counters by port index (0 is the underlay).
    fn nic_stats(&self) -> Vec<NicStats>;
    /// The packet pool.
    fn pool(&self) -> PoolStats;
    /// Cycle-counter frequency, to turn busy cycles into time.
    fn tsc_hz(&self) -> u64;
}
