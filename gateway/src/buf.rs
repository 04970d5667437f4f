//! The packet-buffer abstraction the pipeline works on.
//!
//! A buffer is one contiguous frame with headroom in front (an mbuf's single
//! segment in DPDK). Encapsulation grows it at the front, decapsulation
//! shrinks it there, so neither copies the payload.

/// One packet: a contiguous frame with headroom.
pub trait PacketBuf: Sized + Send {
    /// The frame's bytes.
    fn data(&self) -> &[u8];
    /// The frame's bytes, writable.
    fn data_mut(&mut self) -> &mut [u8];
    /// Grows the frame by `n` bytes at the front; false if the headroom is too small.
    fn prepend(&mut self, n: usize) -> bool;
    /// Removes `n` bytes from the front; false if the frame is shorter.
    fn adj(&mut self, n: usize) -> bool;
    /// Removes `n` bytes from the end; false if the frame is shorter.
    fn trim(&mut self, n: usize) -> bool;
    /// Grows the frame by `n` bytes at the end; false if the tailroom is too small.
    fn append(&mut self, n: usize) -> bool;
    /// Whether the whole frame is in `data()` (true for single-segment buffers).
    fn is_contiguous(&self) -> bool {
        true
    }
    /// Frame length in bytes.
    fn len(&self) -> usize {
        self.data().len()
    }
    /// Whether the frame is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Inserts `len` bytes right after the first `at` bytes of the frame, by
/// moving those `at` bytes forward into the headroom. Used to add a VLAN tag
/// after the MAC addresses.
pub fn insert_gap<B: PacketBuf>(buf: &mut B, at: usize, len: usize) -> bool {
    if buf.len() < at || !buf.prepend(len) {
        return false;
    }
    buf.data_mut().copy_within(len..len + at, 0);
    true
}

/// Removes `len` bytes that follow the first `at` bytes of the frame, by
/// moving those `at` bytes back. Used to strip a VLAN tag.
pub fn remove_gap<B: PacketBuf>(buf: &mut B, at: usize, len: usize) -> bool {
    if buf.len() < at + len {
        return false;
    }
    buf.data_mut().copy_within(0..at, len);
    buf.adj(len)
}

/// A heap-backed buffer for tests and benchmarks of the pipeline without DPDK.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VecBuf {
    storage: Vec<u8>,
    start: usize,
    end: usize,
}

impl VecBuf {
    /// Default headroom, as DPDK's RTE_PKTMBUF_HEADROOM.
    pub const HEADROOM: usize = 128;
    /// Default capacity (headroom + room for a 2 KiB frame).
    pub const CAPACITY: usize = 2176;

    /// An empty buffer with the default headroom and capacity.
    pub fn empty() -> Self {
        VecBuf {
            storage: vec![0; Self::CAPACITY],
            start: Self::HEADROOM,
            end: Self::HEADROOM,
        }
    }

    /// A buffer holding a copy of `frame`.
    pub fn from_frame(frame: &[u8]) -> Self {
        let mut buf = Self::empty();
        assert!(buf.append(frame.len()), "test frame too large");
        buf.data_mut().copy_from_slice(frame);
        buf
    }
}

impl PacketBuf for VecBuf {
    fn data(&self) -> &[u8] {
        &self.storage[self.start..self.end]
    }
    fn data_mut(&mut self) -> &mut [u8] {
        &mut self.storage[self.start..self.end]
    }
    fn prepend(&mut self, n: usize) -> bool {
        if n > self.start {
            return false;
        }
        self.start -= n;
        true
    }
    fn adj(&mut self, n: usize) -> bool {
        if n > self.end - self.start {
            return false;
        }
        self.start += n;
        true
    }
    fn trim(&mut self, n: usize) -> bool {
        if n > self.end - self.start {
            return false;
        }
        self.end -= n;
        true
    }
    fn append(&mut self, n: usize) -> bool {
        if self.end + n > self.storage.len() {
            return false;
        }
        self.end += n;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepend_adj_trim_append_respect_bounds() {
        let mut b = VecBuf::from_frame(&[1, 2, 3, 4]);
        assert!(b.prepend(2));
        assert_eq!(b.len(), 6);
        assert!(!b.prepend(VecBuf::HEADROOM));
        assert!(b.adj(3));
        assert_eq!(b.data()[1..], [3, 4]);
        assert!(!b.adj(4));
        assert!(b.trim(1));
        assert_eq!(b.data()[1..], [3]);
        assert!(!b.trim(3));
        assert!(!b.append(VecBuf::CAPACITY));
    }

    #[test]
    fn gaps_insert_and_remove_a_tag_after_the_macs() {
        let frame: Vec<u8> = (0u8..20).collect();
        let mut b = VecBuf::from_frame(&frame);
        assert!(insert_gap(&mut b, 12, 4));
        assert_eq!(b.len(), 24);
        assert_eq!(b.data()[..12], frame[..12]);
        assert_eq!(b.data()[16..], frame[12..]);
        assert!(remove_gap(&mut b, 12, 4));
        assert_eq!(b.data(), &frame[..]);
        assert!(!remove_gap(&mut b, 18, 4));
    }
}
