//! The lookup stage of a burst: the source and destination MACs of every
//! staged frame are looked up before any frame is acted on. The lookups
//! are independent of each other, so the CPU overlaps their cache misses
//! instead of waiting for each in turn (as l3fwd's bulk lookup does); the
//! act stage then needs no table access but the refresh of a hit.

use crate::snapshot::Snapshot;
use crate::tables::{MacHit, MacTable};
use crate::types::{Mac, VniSlot};

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
    fn look_up(&mut self, macs: &MacTable, snap: &Snapshot) {
        if snap.vni(self.slot).is_some_and(|v| v.learning) {
            self.src_hit = macs.lookup(self.slot, &self.src);
        }
        if !self.dst.is_multicast() {
            self.dst_hit = macs.lookup(self.slot, &self.dst);
        }
    }
}

/// Looks up the MACs of every staged frame (`macs` of each entry's second part).
#[inline]
pub(super) fn look_up_all<B, T>(
    staged: &mut [(B, T)],
    macs: &MacTable,
    snap: &Snapshot,
    pair: impl Fn(&mut T) -> &mut MacPair,
) {
    for (_, t) in staged.iter_mut() {
        pair(t).look_up(macs, snap);
    }
}
