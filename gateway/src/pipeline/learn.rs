//! Source-MAC learning on the packet path: refresh known entries in place,
//! report new or moved ones to the control thread (the only table writer).

use super::{Env, Pipeline};
use crate::buf::PacketBuf;
use crate::events::Event;
use crate::snapshot::VniPlan;
use crate::tables::mac::{mac_key, MacEntry};
use crate::tables::MacDest;
use crate::wire::MacBytes;

impl<B: PacketBuf> Pipeline<B> {
    /// Learns that `mac` in VNI slot `slot` lives at `dest`.
    #[inline]
    pub(super) fn learn(
        &mut self,
        env: &Env,
        slot: u16,
        vni: &VniPlan,
        mac: MacBytes,
        dest: MacDest,
    ) {
        if !vni.learning {
            return;
        }
        match self.shared.macs.lookup(slot, &mac) {
            Some(hit) if hit.entry.dest == dest => self.shared.macs.touch(hit.slot, env.now),
            // Static entries win over what traffic suggests.
            Some(hit) if hit.entry.is_static => {}
            _ => {
                let value = MacEntry {
                    dest,
                    is_static: false,
                }
                .encode();
                let event = Event::Learn {
                    vni_slot: slot,
                    mac,
                    dest,
                };
                self.notify(env, mac_key(slot, &mac), value, event);
            }
        }
    }
}

const FILTER_SLOTS: usize = 256;

/// A small direct-mapped memory of events sent this second. A new MAC is
/// reported once, not once per packet until the control thread catches up;
/// a MAC refused by the limit is retried once a second.
pub(super) struct RecentFilter {
    keys: [u64; FILTER_SLOTS],
    values: [u64; FILTER_SLOTS],
    secs: [u32; FILTER_SLOTS],
}

impl Default for RecentFilter {
    fn default() -> Self {
        RecentFilter {
            keys: [0; FILTER_SLOTS],
            values: [0; FILTER_SLOTS],
            secs: [0; FILTER_SLOTS],
        }
    }
}

impl RecentFilter {
    /// True if (key, value) was recorded during second `now`; records it otherwise.
    #[inline]
    pub(super) fn seen_recently(&mut self, key: u64, value: u64, now: u32) -> bool {
        let i = (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as usize % FILTER_SLOTS;
        if self.keys[i] == key && self.values[i] == value && self.secs[i] == now {
            return true;
        }
        self.keys[i] = key;
        self.values[i] = value;
        self.secs[i] = now;
        false
    }
}
