//! MAC learning on the writer side: limits, moves, ageing, static entries.

use crate::shared::Shared;
use crate::snapshot::{Snapshot, VNI_SLOTS};
use crate::tables::atomic_map::MapWriter;
use crate::tables::mac::{mac_key, split_mac_key, MacEntry};
use crate::tables::{MacDest, TunnelId, TunnelWriter};
use crate::types::VniSlot;
use crate::wire::Mac;
use std::sync::atomic::Ordering::Relaxed;

/// Sweeps the whole table once per this many timer steps.
const AGEING_SWEEP_STEPS: usize = 10;

pub(super) struct Learning {
    writer: MapWriter,
    /// Entries per VNI slot (learned and static).
    counts: Vec<u32>,
    /// Next slot of the map the ager looks at.
    sweep_pos: usize,
}

impl Learning {
    pub(super) fn new(writer: MapWriter) -> Self {
        Learning {
            writer,
            counts: vec![0; VNI_SLOTS],
            sweep_pos: 0,
        }
    }

    fn set_count(&mut self, shared: &Shared, slot: VniSlot, count: u32) {
        self.counts[slot.index()] = count;
        shared.mac_stats[slot.index()]
            .entries
            .store(u64::from(count), Relaxed);
    }

    /// Applies a worker's learning event, keeping the tunnels' reference
    /// counts in step with the entries that point at them.
    // One argument per part of the event plus the two tables it touches.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn learn(
        &mut self,
        shared: &Shared,
        snap: &Snapshot,
        tunnels: &mut TunnelWriter,
        slot: VniSlot,
        mac: Mac,
        dest: MacDest,
        now: u32,
    ) {
        let Some(vni) = snap.vni(slot) else {
            return;
        };
        if !vni.learning {
            return;
        }
        let stats = &shared.mac_stats[slot.index()];
        let key = mac_key(slot, &mac);
        let entry = MacEntry {
            dest,
            is_static: false,
        };
        match self
            .writer
            .map()
            .get(key)
            .and_then(|h| MacEntry::decode(h.value))
        {
            Some(old) if old.is_static => {}
            Some(old) if old.dest == dest => {}
            Some(old) => {
                // A move: the MAC showed up somewhere else.
                let _ = self.writer.insert(key, entry.encode(), now);
                unref(tunnels, old.dest);
                add_ref(tunnels, dest);
                stats.moved.inc();
            }
            None => {
                let count = self.counts[slot.index()];
                if count >= vni.mac_limit {
                    stats.limit_hits.inc();
                    return;
                }
                if self.writer.len() * 2 >= self.writer.map().capacity() {
                    shared.control.mac_table_full.inc();
                    return;
                }
                if self.writer.insert(key, entry.encode(), now).is_err() {
                    shared.control.mac_table_full.inc();
                    return;
                }
                add_ref(tunnels, dest);
                stats.learned.inc();
                self.set_count(shared, slot, count + 1);
            }
        }
    }

    /// Removes dynamic entries idle longer than their VNI's ageing time,
    /// looking at a tenth of the table per call.
    pub(super) fn age_step(
        &mut self,
        shared: &Shared,
        snap: &Snapshot,
        tunnels: &mut TunnelWriter,
        now: u32,
    ) {
        let capacity = self.writer.map().capacity();
        let step = capacity.div_ceil(AGEING_SWEEP_STEPS);
        let end = (self.sweep_pos + step).min(capacity);
        for s in self.sweep_pos..end {
            let Some((key, value)) = self.writer.map().entry_at(s) else {
                continue;
            };
            let Some(entry) = MacEntry::decode(value) else {
                continue;
            };
            if entry.is_static {
                continue;
            }
            let (slot, _) = split_mac_key(key);
            let ageing = snap.vni(slot).map_or(0, |v| v.ageing_secs);
            let idle = now.saturating_sub(self.writer.map().seen(s));
            if idle >= ageing {
                self.writer.remove_at(s);
                unref(tunnels, entry.dest);
                shared.mac_stats[slot.index()].aged.inc();
                let count = self.counts[slot.index()].saturating_sub(1);
                self.set_count(shared, slot, count);
            }
        }
        self.sweep_pos = if end == capacity { 0 } else { end };
    }

    /// Brings the table in line with a new config: flushes VNIs that are
    /// gone (or whose learning was turned off), and installs static entries
    /// (their VTEPs are interned already: `tunnel_of` has their ids).
    pub(super) fn sync(
        &mut self,
        shared: &Shared,
        snap: &Snapshot,
        old: Option<&Snapshot>,
        tunnels: &mut TunnelWriter,
        tunnel_of: impl Fn(std::net::Ipv4Addr) -> Option<TunnelId>,
        now: u32,
    ) {
        let keep = |slot: VniSlot, mac: &Mac, entry: &MacEntry| -> bool {
            let Some(vni) = snap.vni(slot) else {
                return false;
            };
            let same_vni = old
                .and_then(|o| o.vni(slot))
                .is_some_and(|o| o.vni == vni.vni);
            if entry.is_static {
                // Kept (not briefly removed) if the new config still has it.
                return same_vni
                    && vni.static_macs.iter().any(|&(m, vtep)| {
                        m == *mac
                            && tunnel_of(vtep).map(|tunnel| MacDest::Remote { tunnel })
                                == Some(entry.dest)
                    });
            }
            same_vni && vni.learning && snap.serves(slot, &entry.dest)
        };
        if old.is_some() {
            for s in 0..self.writer.map().capacity() {
                let Some((key, value)) = self.writer.map().entry_at(s) else {
                    continue;
                };
                let (slot, mac) = split_mac_key(key);
                let Some(entry) = MacEntry::decode(value) else {
                    continue;
                };
                if !keep(slot, &mac, &entry) {
                    self.writer.remove_at(s);
                    unref(tunnels, entry.dest);
                    let count = self.counts[slot.index()].saturating_sub(1);
                    self.set_count(shared, slot, count);
                }
            }
        }
        for (slot, vni) in snap.vnis.iter().enumerate() {
            let Some(vni) = vni else { continue };
            let slot = VniSlot(slot as u16);
            for &(mac, vtep) in &vni.static_macs {
                let Some(tunnel) = tunnel_of(vtep) else {
                    continue;
                };
                let entry = MacEntry {
                    dest: MacDest::Remote { tunnel },
                    is_static: true,
                };
                match self.writer.insert(mac_key(slot, &mac), entry.encode(), now) {
                    Ok(None) => {
                        add_ref(tunnels, entry.dest);
                        let count = self.counts[slot.index()] + 1;
                        self.set_count(shared, slot, count);
                    }
                    Ok(Some(old)) => {
                        if let Some(old) = MacEntry::decode(old) {
                            unref(tunnels, old.dest);
                        }
                        add_ref(tunnels, entry.dest);
                    }
                    Err(_) => shared.control.mac_table_full.inc(),
                }
            }
        }
    }
}

/// A MAC entry now points at `dest`: a tunnel keeps its id while it does.
fn add_ref(tunnels: &mut TunnelWriter, dest: MacDest) {
    if let MacDest::Remote { tunnel } = dest {
        tunnels.add_ref(tunnel);
    }
}

/// A MAC entry no longer points at `dest`.
fn unref(tunnels: &mut TunnelWriter, dest: MacDest) {
    if let MacDest::Remote { tunnel } = dest {
        tunnels.drop_ref(tunnel);
    }
}
