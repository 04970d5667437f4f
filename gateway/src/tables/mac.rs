//! The MAC tables of all VNIs, in one lock-free map keyed by (VNI slot, MAC).
//!
//! Workers look destinations up and refresh "last seen" in place; new and
//! moved MACs travel to the control thread as events, and it alone writes
//! (learning, limits, ageing, static entries). See `atomic_map` for why that
//! is safe without locks.

use super::atomic_map::{AtomicMap, Hit, KEY_TAG};
use super::tunnel::TunnelId;
use crate::types::{PortId, VniSlot};
use crate::wire::Mac;

/// Where a MAC lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MacDest {
    /// Behind a physical port, on one of the VNI's bindings there.
    Local { port: PortId, vlan: Option<u16> },
    /// Behind a remote VTEP, by its tunnel id (see `tables::tunnel`).
    Remote { tunnel: TunnelId },
}

/// A table entry's destination and whether it is static (never aged or moved).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MacEntry {
    pub dest: MacDest,
    pub is_static: bool,
}

const KIND_LOCAL: u64 = 1 << 62;
const KIND_REMOTE: u64 = 2 << 62;
const KIND_MASK: u64 = 3 << 62;
const STATIC: u64 = 1 << 61;
const TAGGED: u64 = 1 << 20;

impl MacEntry {
    /// Packs the entry into a map value.
    pub fn encode(self) -> u64 {
        let flags = if self.is_static { STATIC } else { 0 };
        flags
            | match self.dest {
                MacDest::Local { port, vlan } => {
                    KIND_LOCAL
                        | u64::from(port.0)
                        | vlan.map_or(0, |v| TAGGED | (u64::from(v & 0xfff) << 8))
                }
                MacDest::Remote { tunnel } => KIND_REMOTE | tunnel.index() as u64,
            }
    }

    /// Unpacks a map value written by [`MacEntry::encode`].
    pub fn decode(v: u64) -> Option<MacEntry> {
        let dest = match v & KIND_MASK {
            KIND_LOCAL => MacDest::Local {
                port: PortId(v as u8),
                vlan: (v & TAGGED != 0).then_some(((v >> 8) & 0xfff) as u16),
            },
            KIND_REMOTE => MacDest::Remote {
                tunnel: TunnelId::from_index(usize::from(v as u16)),
            },
            _ => return None,
        };
        Some(MacEntry {
            dest,
            is_static: v & STATIC != 0,
        })
    }
}

/// Largest number of VNI slots the key encoding allows.
pub const MAX_VNI_SLOTS: usize = 1 << 15;

/// The map key for a MAC in a VNI slot: tag bit, 15-bit slot, 48-bit MAC.
#[inline]
pub fn mac_key(vni_slot: VniSlot, mac: &Mac) -> u64 {
    let mut m = [0u8; 8];
    m[2..].copy_from_slice(&mac.0);
    KEY_TAG | (u64::from(vni_slot.0 & 0x7fff) << 48) | u64::from_be_bytes(m)
}

/// Splits a key made by [`mac_key`].
pub fn split_mac_key(key: u64) -> (VniSlot, Mac) {
    let b = key.to_be_bytes();
    let mut mac = Mac::ZERO;
    mac.0.copy_from_slice(&b[2..]);
    (VniSlot(((key >> 48) & 0x7fff) as u16), mac)
}

/// Readers' view of the MAC tables.
pub struct MacTable {
    map: std::sync::Arc<AtomicMap>,
}

/// A lookup result: the entry and where to refresh it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MacHit {
    pub entry: MacEntry,
    /// The map cell it lives in (not a VNI slot).
    pub index: usize,
}

impl MacTable {
    /// Wraps the shared map.
    pub fn new(map: std::sync::Arc<AtomicMap>) -> Self {
        MacTable { map }
    }

    /// Starts loading where [`Self::lookup`] of `mac` will look first.
    #[inline]
    pub fn prefetch(&self, vni_slot: VniSlot, mac: &Mac) {
        self.map.prefetch(mac_key(vni_slot, mac));
    }

    /// Finds `mac` in a VNI slot.
    #[inline]
    pub fn lookup(&self, vni_slot: VniSlot, mac: &Mac) -> Option<MacHit> {
        let Hit { value, index } = self.map.get(mac_key(vni_slot, mac))?;
        Some(MacHit {
            entry: MacEntry::decode(value)?,
            index,
        })
    }

    /// Records that the entry in map cell `index` was seen at second `now`.
    #[inline]
    pub fn touch(&self, index: usize, now: u32) {
        self.map.touch(index, now);
    }

    /// The underlying map (for scans by the API and the ager).
    pub fn map(&self) -> &AtomicMap {
        &self.map
    }

    /// Every live entry: (VNI slot, MAC, entry, last seen second).
    pub fn entries(&self) -> impl Iterator<Item = (VniSlot, Mac, MacEntry, u32)> + '_ {
        (0..self.map.capacity()).filter_map(|s| {
            let (k, v) = self.map.entry_at(s)?;
            let (vni_slot, mac) = split_mac_key(k);
            Some((vni_slot, mac, MacEntry::decode(v)?, self.map.seen(s)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_through_encoding() {
        let cases = [
            MacEntry {
                dest: MacDest::Local {
                    port: PortId(3),
                    vlan: Some(4094),
                },
                is_static: false,
            },
            MacEntry {
                dest: MacDest::Local {
                    port: PortId(255),
                    vlan: None,
                },
                is_static: false,
            },
            MacEntry {
                dest: MacDest::Remote {
                    tunnel: TunnelId::from_index(1),
                },
                is_static: true,
            },
            MacEntry {
                dest: MacDest::Remote {
                    tunnel: TunnelId::from_index(u16::MAX.into()),
                },
                is_static: false,
            },
        ];
        for e in cases {
            assert_eq!(MacEntry::decode(e.encode()), Some(e));
        }
        assert_eq!(MacEntry::decode(0), None);
    }

    #[test]
    fn keys_separate_vnis_and_round_trip() {
        let mac = Mac([0x02, 0, 0, 0, 0, 1]);
        assert_ne!(mac_key(VniSlot(1), &mac), mac_key(VniSlot(2), &mac));
        assert_eq!(
            split_mac_key(mac_key(VniSlot(0x7fff), &mac)),
            (VniSlot(0x7fff), mac)
        );
        assert_ne!(mac_key(VniSlot(0), &Mac([0; 6])) & KEY_TAG, 0);
    }
}
