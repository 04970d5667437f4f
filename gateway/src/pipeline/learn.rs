//! Source-MAC learning on the packet path: refresh known entries in place,
//! report new or moved ones to the control thread (the only table writer).

use super::{Env, Pipeline};
use crate::buf::PacketBuf;
use crate::events::Event;
use crate::tables::mac::{mac_key, MacEntry, MacHit};
use crate::tables::{MacDest, TunnelId};
use crate::types::{PortId, VniSlot};
use crate::wire::Mac;
use std::net::Ipv4Addr;

/// Where a frame came from, as learning sees it.
#[derive(Clone, Copy)]
pub(super) enum Source {
    /// A physical port's binding.
    Port { port: PortId, vlan: Option<u16> },
    /// A remote VTEP; `tunnel` is its id if the control thread tracks it.
    Tunnel {
        vtep: Ipv4Addr,
        tunnel: Option<TunnelId>,
    },
}

impl<B: PacketBuf> Pipeline<B> {
    /// Learns that `mac` in VNI slot `slot` (a VNI that learns) lives at
    /// `source`, given what the table said of `mac` (`hit`, looked up by
    /// the burst's lookup stage).
    #[inline]
    pub(super) fn learn_from(
        &mut self,
        env: &Env,
        slot: VniSlot,
        mac: Mac,
        source: Source,
        hit: Option<MacHit>,
    ) {
        let dest = match source {
            Source::Port { port, vlan } => Some(MacDest::Local { port, vlan }),
            Source::Tunnel { tunnel, .. } => tunnel.map(|tunnel| MacDest::Remote { tunnel }),
        };
        match hit {
            Some(hit) if Some(hit.entry.dest) == dest => self.shared.macs.touch(hit.index, env.now),
            // Static entries win over what traffic suggests.
            Some(hit) if hit.entry.is_static => {}
            _ => {
                let (value, event) = match source {
                    Source::Port { port, vlan } => {
                        let dest = MacDest::Local { port, vlan };
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
                        (value, event)
                    }
                    Source::Tunnel { vtep, .. } => {
                        // Apart from every encoded entry (whose top bits are set).
                        let value = u64::from(u32::from(vtep));
                        let event = Event::LearnRemote {
                            vni_slot: slot,
                            mac,
                            vtep,
                        };
                        (value, event)
                    }
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
