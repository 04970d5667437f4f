//! Remote VTEP -> outer destination MAC (the next hop's MAC, resolved by ARP).
//!
//! The control thread resolves each remote VTEP's next hop (the VTEP itself
//! when on-link, else the underlay gateway) and writes the result here;
//! workers read it for every encapsulated frame. A VTEP present with no MAC
//! is being resolved, which tells workers not to ask again.

use super::atomic_map::{AtomicMap, KEY_TAG};
use crate::wire::MacBytes;
use std::net::Ipv4Addr;

const RESOLVED: u64 = 1 << 63;

/// Map key of a VTEP address.
pub fn vtep_key(ip: Ipv4Addr) -> u64 {
    KEY_TAG | u64::from(u32::from(ip))
}

/// Map value for a next hop: resolved MAC, or pending.
pub fn next_hop_value(mac: Option<MacBytes>) -> u64 {
    mac.map_or(0, |m| {
        let mut b = [0u8; 8];
        b[2..].copy_from_slice(&m);
        RESOLVED | u64::from_be_bytes(b)
    })
}

/// What the data plane knows of a VTEP's next hop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NextHop {
    /// Known to the control thread, resolution in progress.
    Pending,
    /// Outer destination MAC; `slot` indexes per-VTEP counters.
    Resolved { mac: MacBytes, slot: usize },
}

/// Readers' view of the VTEP next-hop table.
pub struct VtepTable {
    map: std::sync::Arc<AtomicMap>,
}

impl VtepTable {
    /// Wraps the shared map.
    pub fn new(map: std::sync::Arc<AtomicMap>) -> Self {
        VtepTable { map }
    }

    /// Looks a VTEP up; None means the control thread has not heard of it.
    #[inline]
    pub fn lookup(&self, vtep: Ipv4Addr) -> Option<NextHop> {
        let hit = self.map.get(vtep_key(vtep))?;
        if hit.value & RESOLVED == 0 {
            return Some(NextHop::Pending);
        }
        let b = hit.value.to_be_bytes();
        let mut mac = [0u8; 6];
        mac.copy_from_slice(&b[2..]);
        Some(NextHop::Resolved {
            mac,
            slot: hit.slot,
        })
    }

    /// The table slot of a VTEP (resolved or not), which also indexes
    /// the workers' per-VTEP counters.
    #[inline]
    pub fn slot(&self, vtep: Ipv4Addr) -> Option<usize> {
        self.map.get(vtep_key(vtep)).map(|hit| hit.slot)
    }

    /// Every VTEP in the table: (address, next hop, last-used second).
    pub fn entries(&self) -> impl Iterator<Item = (Ipv4Addr, NextHop, u32)> + '_ {
        (0..self.map.capacity()).filter_map(|s| {
            let (key, value) = self.map.entry_at(s)?;
            let ip = Ipv4Addr::from(key as u32);
            let next_hop = if value & RESOLVED == 0 {
                NextHop::Pending
            } else {
                let mut mac = [0u8; 6];
                mac.copy_from_slice(&value.to_be_bytes()[2..]);
                NextHop::Resolved { mac, slot: s }
            };
            Some((ip, next_hop, self.map.seen(s)))
        })
    }

    /// The underlying map.
    pub fn map(&self) -> &AtomicMap {
        &self.map
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tables::atomic_map::MapWriter;

    #[test]
    fn pending_then_resolved() {
        let (map, mut w) = MapWriter::new(16);
        let t = VtepTable::new(map);
        let ip = Ipv4Addr::new(192, 0, 2, 1);
        assert_eq!(t.lookup(ip), None);
        w.insert(vtep_key(ip), next_hop_value(None), 0).unwrap();
        assert_eq!(t.lookup(ip), Some(NextHop::Pending));
        let mac = [2, 0, 0, 0, 0, 9];
        w.insert(vtep_key(ip), next_hop_value(Some(mac)), 0)
            .unwrap();
        assert!(matches!(t.lookup(ip), Some(NextHop::Resolved { mac: m, .. }) if m == mac));
        let slot = t.slot(ip).unwrap();
        let all: Vec<_> = t.entries().collect();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].0, ip);
        assert_eq!(all[0].1, NextHop::Resolved { mac, slot });
        assert_eq!(t.slot(Ipv4Addr::new(192, 0, 2, 2)), None);
    }
}
