//! The L3 gateway's neighbours (its ARP table): the MAC of each host the
//! gateway routes to, by (L3 interface, IPv4 address). One writer (the
//! control thread, which learns from what workers report and ages
//! entries out), lock-free readers on the packet path, like the MAC table.
//! An interface belongs to one VRF, so the interface keeps VRFs apart.

use super::atomic_map::{AtomicMap, Hit, KEY_TAG};
use crate::tables::route::IfaceId;
use crate::wire::Mac;
use std::net::Ipv4Addr;
use std::sync::Arc;

/// Cells of the neighbour map (32 bytes each): room for 32,768 neighbours
/// at half load.
pub const NEIGHBOUR_CELLS: usize = 1 << 16;

/// Set in every value, so no value is 0 (a cell being replaced).
const VALID: u64 = 1 << 56;
/// Set in the values of `[[static_neighbour]]` entries.
pub const STATIC: u64 = 1 << 57;

/// The map key of a neighbour: bits 32..48 the interface, 0..32 the address.
#[inline]
pub fn neighbour_key(iface: IfaceId, ip: Ipv4Addr) -> u64 {
    KEY_TAG | u64::from(iface) << 32 | u64::from(u32::from(ip))
}

/// The interface and address of a key made by [`neighbour_key`].
pub fn split_neighbour_key(key: u64) -> (IfaceId, Ipv4Addr) {
    ((key >> 32) as IfaceId, Ipv4Addr::from(key as u32))
}

/// A MAC as a map value.
#[inline]
pub fn encode(mac: Mac) -> u64 {
    let [a, b, c, d, e, f] = mac.0;
    VALID | u64::from_be_bytes([0, 0, a, b, c, d, e, f])
}

/// A configured neighbour's MAC as a map value.
#[inline]
pub fn encode_static(mac: Mac) -> u64 {
    encode(mac) | STATIC
}

/// The MAC of a map value.
#[inline]
pub fn decode(value: u64) -> Mac {
    let b = value.to_be_bytes();
    Mac([b[2], b[3], b[4], b[5], b[6], b[7]])
}

/// A neighbour found: its MAC and the cell (to refresh it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NeighbourHit {
    pub mac: Mac,
    pub index: usize,
}

/// Readers' view of the neighbour table.
pub struct NeighbourTable {
    map: Arc<AtomicMap>,
}

impl NeighbourTable {
    pub fn new(map: Arc<AtomicMap>) -> Self {
        NeighbourTable { map }
    }

    /// The neighbour at `ip` on `iface`.
    #[inline]
    pub fn lookup(&self, iface: IfaceId, ip: Ipv4Addr) -> Option<NeighbourHit> {
        let Hit { value, index } = self.map.get(neighbour_key(iface, ip))?;
        Some(NeighbourHit {
            mac: decode(value),
            index,
        })
    }

    /// Records that the neighbour in cell `index` was heard from at `now`.
    #[inline]
    pub fn touch(&self, index: usize, now: u32) {
        self.map.touch(index, now);
    }

    /// Every neighbour: (interface, address, MAC, last heard second).
    pub fn entries(&self) -> impl Iterator<Item = (IfaceId, Ipv4Addr, Mac, u32)> + '_ {
        (0..self.map.capacity()).filter_map(|s| {
            let (k, v) = self.map.entry_at(s)?;
            let (iface, ip) = split_neighbour_key(k);
            Some((iface, ip, decode(v), self.map.seen(s)))
        })
    }

    /// The underlying map (for the ager).
    pub fn map(&self) -> &AtomicMap {
        &self.map
    }
}

#[cfg(test)]
mod tests {
    use super::super::atomic_map::MapWriter;
    use super::*;

    #[test]
    fn keys_and_values_round_trip_and_interfaces_stay_apart() {
        let ip = Ipv4Addr::new(198, 51, 100, 2);
        assert_eq!(split_neighbour_key(neighbour_key(7, ip)), (7, ip));
        let mac = Mac([0x02, 0, 0, 0, 2, 1]);
        assert_eq!(decode(encode(mac)), mac);
        assert_ne!(encode(Mac::ZERO), 0);
        let (map, mut w) = MapWriter::new(64);
        let t = NeighbourTable::new(map);
        w.insert(neighbour_key(1, ip), encode(mac), 5).unwrap();
        assert_eq!(t.lookup(1, ip).map(|h| h.mac), Some(mac));
        assert_eq!(
            t.lookup(2, ip),
            None,
            "another interface (VRF) does not see it"
        );
        let all: Vec<_> = t.entries().collect();
        assert_eq!(all, [(1, ip, mac, 5)]);
    }
}
