//! The packet-buffer abstraction the pipeline works on.
//!
//! A buffer is one contiguous frame with headroom in front (an mbuf's single
//! segment in DPDK). Encapsulation grows it at the front, decapsulation
//! shrinks it there, so neither copies the payload.

/// A driver's verdict on a received frame's IPv4 header checksum.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RxCksum {
    /// Not checked by the device (check in software).
    #[default]
    Unknown,
    Good,
    Bad,
}

/// One packet: a contiguous frame with headroom (a received one; a flood
/// copy may be a chain whose first segment holds the front, see
/// `PortIo::flood_copy`).
///
/// The metadata methods are what a device's offloads put in or read from
/// the buffer; their defaults say "no offload", and the pipeline trusts
/// them only where the port has the offload on ([`crate::offload`]).
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
    /// Frame length in bytes (of the whole chain, where it is one).
    fn len(&self) -> usize {
        self.data().len()
    }
    /// Bytes the frame takes on the wire: [`PacketBuf::len`] plus a tag the
    /// device is asked to insert.
    fn wire_len(&self) -> usize {
        self.len()
    }
    /// The driver's verdict on the IPv4 header checksum.
    fn rx_ipv4_cksum(&self) -> RxCksum {
        RxCksum::Unknown
    }
    /// The driver's RSS hash, if it delivered one.
    fn rss_hash(&self) -> Option<u32> {
        None
    }
    /// The VLAN TCI the driver stripped from the frame, if it did.
    fn rx_vlan_tci(&self) -> Option<u16> {
        None
    }
    /// Asks the device to compute the IPv4 header checksum of a frame with
    /// `l2_len` bytes of L2 header and `l3_len` of IPv4 header; false if
    /// this buffer cannot carry the request.
    fn request_tx_ipv4_cksum(&mut self, _l2_len: usize, _l3_len: usize) -> bool {
        false
    }
    /// Asks the device to insert a VLAN tag with `tci` after the MAC
    /// addresses; false if this buffer cannot carry the request (then the
    /// tag goes into the bytes).
    fn request_tx_vlan(&mut self, _tci: u16) -> bool {
        false
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
    if buf.data().len() < at || !buf.prepend(len) {
        return false;
    }
    buf.data_mut().copy_within(len..len + at, 0);
    true
}

/// Removes `len` bytes that follow the first `at` bytes of the frame, by
/// moving those `at` bytes back. Used to strip a VLAN tag.
pub fn remove_gap<B: PacketBuf>(buf: &mut B, at: usize, len: usize) -> bool {
    if buf.data().len() < at + len {
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
    /// Offload metadata, as a device would set and read it in an mbuf.
    pub meta: Meta,
}

/// A [`VecBuf`]'s simulated offload metadata: what a driver delivered on
/// receive (tests set it) and what the pipeline asked of the device on
/// transmit (tests read it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Meta {
    pub rx_ipv4_cksum: RxCksum,
    pub rss_hash: Option<u32>,
    pub rx_vlan_tci: Option<u16>,
    /// (l2_len, l3_len) of a requested IPv4 checksum.
    pub tx_ipv4_cksum: Option<(u8, u16)>,
    /// The TCI of a requested tag insert.
    pub tx_vlan: Option<u16>,
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
            meta: Meta::default(),
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
    fn wire_len(&self) -> usize {
        self.len() + if self.meta.tx_vlan.is_some() { 4 } else { 0 }
    }
    fn rx_ipv4_cksum(&self) -> RxCksum {
        self.meta.rx_ipv4_cksum
    }
    fn rss_hash(&self) -> Option<u32> {
        self.meta.rss_hash
    }
    fn rx_vlan_tci(&self) -> Option<u16> {
        self.meta.rx_vlan_tci
    }
    fn request_tx_ipv4_cksum(&mut self, l2_len: usize, l3_len: usize) -> bool {
        self.meta.tx_ipv4_cksum = Some((l2_len as u8, l3_len as u16));
        true
    }
    fn request_tx_vlan(&mut self, tci: u16) -> bool {
        self.meta.tx_vlan = Some(tci);
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
