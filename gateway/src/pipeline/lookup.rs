//! The lookup stage of a burst: the source and destination MACs of every
//! staged frame are looked up before any frame is acted on. The lookups
//! are independent of each other, so the CPU overlaps their cache misses
//! instead of waiting for each in turn (as l3fwd's bulk lookup does); the
//! act stage then needs no table access but the refresh of a hit.
//!
//! Before the lookups, a prefetch pass starts loading every line the
//! lookups and the act stage will read at random: each MAC's first table
//! cell, the VNI's plan and its counter block (then, once the plan is in,
//! its member list). With many MACs and VNIs those are cache misses, and
//! a burst's misses then overlap instead of queueing one after another.

use crate::counters::VniCounters;
use crate::snapshot::Snapshot;
use crate::tables::{MacHit, MacTable};
use crate::types::{Mac, VniSlot};
use prefetch_index::prefetch_index;

/// A staged frame's VNI slot and inner MACs, and what the table says of them.
pub(super) struct MacPair {
    pub slot: VniSlot,
    pub src: Mac,
    pub dst: Mac,
    /// The source's entry (looked up only where the VNI learns).
    pub src_hit: Option<MacHit>,
    /// The destination's entry (not looked up for group addresses).
    pub dst_hit: Option<MacHit>,
}

impl MacPair {
    pub fn new(slot: VniSlot, src: Mac, dst: Mac) -> Self {
        MacPair {
            slot,
            src,
            dst,
            src_hit: None,
            dst_hit: None,
        }
    }

    #[inline]
    fn prefetch(&self, macs: &MacTable) {
        macs.prefetch(self.slot, &self.src);
        if !self.dst.is_multicast() {
            macs.prefetch(self.slot, &self.dst);
        }
    }

    #[inline]
    fn look_up(&mut self, macs: &MacTable, snap: &Snapshot) {
        if let Some(vni) = snap.vni(self.slot) {
            prefetch_index(&vni.members, 0);
            if vni.learning {
                self.src_hit = macs.lookup(self.slot, &self.src);
            }
        }
        if !self.dst.is_multicast() {
            self.dst_hit = macs.lookup(self.slot, &self.dst);
        }
    }
}

/// Looks up the MACs of every staged frame (`macs` of each entry's second
/// part), after prefetching what the lookups and the act stage read.
#[inline]
pub(super) fn look_up_all<B, T>(
    staged: &mut [(B, T)],
    macs: &MacTable,
    snap: &Snapshot,
    counters: &[VniCounters],
    pair: impl Fn(&mut T) -> &mut MacPair,
) {
    let mut last_slot = None;
    for (_, t) in staged.iter_mut() {
        let p = pair(t);
        p.prefetch(macs);
        // Frames of a burst mostly share a VNI: its lines once are enough.
        if last_slot != Some(p.slot) {
            last_slot = Some(p.slot);
            prefetch_index(&snap.vnis, p.slot.index());
            prefetch_index(counters, p.slot.index());
        }
    }
    for (_, t) in staged.iter_mut() {
        pair(t).look_up(macs, snap);
    }
}
