//! Fixed-size packet batches: what one rx/tx burst carries.
//!
//! Slots are `Option<B>` so a batch can hand its prefix to a driver and get
//! back the unsent rest without unsafe code; for mbuf pointers `Option<B>`
//! is a nullable pointer, so the DPDK layer passes the slot array as is.

use crate::buf::PacketBuf;

/// Largest burst the data plane uses.
pub const MAX_BURST: usize = 64;

/// Up to [`MAX_BURST`] packets, packed at the front.
pub struct Batch<B> {
    slots: [Option<B>; MAX_BURST],
    len: usize,
}

impl<B: PacketBuf> Default for Batch<B> {
    fn default() -> Self {
        Batch {
            slots: std::array::from_fn(|_| None),
            len: 0,
        }
    }
}

impl<B: PacketBuf> Batch<B> {
    /// Number of packets held.
    pub fn len(&self) -> usize {
        self.len
    }
    /// Whether the batch holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// Whether no more packets fit.
    pub fn is_full(&self) -> bool {
        self.len == MAX_BURST
    }
    /// Adds a packet; gives it back when the batch is full.
    pub fn push(&mut self, pkt: B) -> Result<(), B> {
        if self.is_full() {
            return Err(pkt);
        }
        self.slots[self.len] = Some(pkt);
        self.len += 1;
        Ok(())
    }
    /// The empty slots after the held packets, for a driver to fill
    /// (at most `limit`); then call [`Batch::filled`] with the count.
    pub fn free_slots(&mut self, limit: usize) -> &mut [Option<B>] {
        let end = MAX_BURST.min(self.len + limit);
        &mut self.slots[self.len..end]
    }
    /// Records that a driver filled `n` slots returned by [`Batch::free_slots`].
    pub fn filled(&mut self, n: usize) {
        debug_assert!(self.slots[self.len..self.len + n]
            .iter()
            .all(Option::is_some));
        self.len += n;
    }
    /// The held packets' slots, for a driver to take a prefix of.
    pub fn held_slots(&mut self) -> &mut [Option<B>] {
        &mut self.slots[..self.len]
    }
    /// After a driver took (set to `None`) the first `sent` slots, moves the
    /// rest to the front.
    pub fn consumed(&mut self, sent: usize) {
        debug_assert!(self.slots[..sent].iter().all(Option::is_none));
        if sent < self.len {
            self.slots[..self.len].rotate_left(sent);
        }
        self.len -= sent;
    }
    /// Takes every packet out, in order.
    pub fn drain(&mut self) -> impl Iterator<Item = B> + '_ {
        let len = std::mem::take(&mut self.len);
        self.slots[..len].iter_mut().filter_map(Option::take)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buf::VecBuf;

    #[test]
    fn push_until_full_then_consume_a_prefix() {
        let mut b = Batch::default();
        for i in 0..MAX_BURST {
            assert!(b.push(VecBuf::from_frame(&[i as u8])).is_ok());
        }
        assert!(b.push(VecBuf::from_frame(&[0])).is_err());
        for slot in &mut b.held_slots()[..10] {
            slot.take();
        }
        b.consumed(10);
        assert_eq!(b.len(), MAX_BURST - 10);
        let firsts: Vec<u8> = b.drain().map(|p| p.data()[0]).collect();
        assert_eq!(firsts[0], 10);
        assert_eq!(firsts.len(), MAX_BURST - 10);
        assert!(b.is_empty());
    }

    #[test]
    fn free_slots_are_bounded_by_limit_and_capacity() {
        let mut b: Batch<VecBuf> = Batch::default();
        assert_eq!(b.free_slots(32).len(), 32);
        b.free_slots(2)[0] = Some(VecBuf::from_frame(&[1]));
        b.free_slots(2)[1] = Some(VecBuf::from_frame(&[2]));
        b.filled(2);
        assert_eq!(b.free_slots(100).len(), MAX_BURST - 2);
    }
}
