//! An owned mbuf: one packet, freed on drop.

use super::ffi::{self, rte_mbuf};
use super::Mempool;
use std::ptr::NonNull;
use vtepgw_gateway::buf::{PacketBuf, RxCksum};

/// One mbuf. `repr(transparent)` over a non-null pointer, so `Option<Mbuf>`
/// has the layout of `*mut rte_mbuf` and burst arrays pass to DPDK as is.
#[repr(transparent)]
pub struct Mbuf(NonNull<rte_mbuf>);

// SAFETY: an Mbuf is uniquely owned; moving it to another thread moves the
// ownership, and mempools are thread-safe.
unsafe impl Send for Mbuf {}

impl Mbuf {
    /// Takes ownership of a raw mbuf.
    ///
    /// # Safety
    /// `m` must be a valid mbuf that nothing else owns.
    pub unsafe fn from_raw(m: NonNull<rte_mbuf>) -> Self {
        Mbuf(m)
    }

    #[inline]
    fn raw(&self) -> &rte_mbuf {
        // SAFETY: we own a valid mbuf.
        unsafe { self.0.as_ref() }
    }

    #[inline]
    fn raw_mut(&mut self) -> &mut rte_mbuf {
        // SAFETY: we own a valid mbuf, uniquely.
        unsafe { self.0.as_mut() }
    }

    /// Offload flags set by the driver.
    pub fn ol_flags(&self) -> u64 {
        self.raw().ol_flags
    }

    /// The VLAN TCI a driver stripped, if it did.
    pub fn stripped_vlan(&self) -> Option<u16> {
        let flags = u64::from(ffi::RTE_MBUF_F_RX_VLAN_STRIPPED);
        (self.ol_flags() & flags != 0).then_some(self.raw().vlan_tci)
    }

    /// Clears the driver's VLAN flags after the tag went back into the data.
    pub fn clear_vlan_flags(&mut self) {
        let flags = u64::from(ffi::RTE_MBUF_F_RX_VLAN_STRIPPED | ffi::RTE_MBUF_F_RX_VLAN);
        self.raw_mut().ol_flags &= !flags;
    }

    /// A copy sharing the payload: a fresh direct mbuf from `pool` holding
    /// the first `head` bytes, chained to an indirect clone (refcounted,
    /// no bytes copied) of the rest. The head has the pool's full headroom
    /// for outer headers or a tag. None if the pool is empty, the frame is
    /// not longer than `head`, or the chain would be too long.
    pub fn shared_copy(&self, pool: &Mempool, head: usize) -> Option<Mbuf> {
        let front = self.data().get(..head)?;
        if self.len() <= head {
            return None;
        }
        let mut first = pool.alloc()?;
        if !first.append(head) {
            return None;
        }
        first.data_mut().copy_from_slice(front);
        // SAFETY: self is a valid mbuf (its chain included) and the pool
        // is valid; the clone is a fresh indirect mbuf attached to self's
        // buffers, whose refcounts it raises, owned by nobody else.
        let rest = unsafe { ffi::rte_pktmbuf_clone(self.0.as_ptr(), pool.as_ptr()) };
        // SAFETY: as just said, the clone is ours.
        let mut rest = NonNull::new(rest).map(|m| unsafe { Mbuf::from_raw(m) })?;
        if !rest.adj(head) {
            return None;
        }
        // SAFETY: both are valid mbufs we own; on success `first` owns
        // the chain (freed with it), on failure nothing changed.
        if unsafe { ffi::rte_pktmbuf_chain(first.0.as_ptr(), rest.0.as_ptr()) } != 0 {
            return None;
        }
        std::mem::forget(rest);
        Some(first)
    }

    /// Whether other mbufs share this one's data (a clone attached to it,
    /// or it is itself attached to another's): then nothing may move its
    /// bytes, e.g. a driver's software tag insert.
    fn is_shared(&self) -> bool {
        let m = self.raw();
        if m.ol_flags & ffi::RTE_MBUF_F_INDIRECT != 0 {
            return true;
        }
        // SAFETY: refcnt is a u16 the mbuf library updates atomically
        // (rte_mbuf_refcnt_update); reading it through an atomic of the
        // same size and alignment is what rte_mbuf_refcnt_read does.
        let refcnt = unsafe {
            std::sync::atomic::AtomicU16::from_ptr(std::ptr::addr_of!(m.refcnt).cast_mut())
        };
        refcnt.load(std::sync::atomic::Ordering::Acquire) > 1
    }

    fn tailroom(&self) -> usize {
        let m = self.raw();
        usize::from(m.buf_len) - usize::from(m.data_off) - usize::from(m.data_len)
    }
}

impl PacketBuf for Mbuf {
    #[inline]
    fn data(&self) -> &[u8] {
        let m = self.raw();
        // SAFETY: buf_addr + data_off .. + data_len lies inside the mbuf's
        // buffer, which we own for as long as the borrow of self lasts.
        unsafe {
            std::slice::from_raw_parts(
                m.buf_addr.cast::<u8>().add(usize::from(m.data_off)),
                usize::from(m.data_len),
            )
        }
    }

    #[inline]
    fn data_mut(&mut self) -> &mut [u8] {
        let m = self.raw_mut();
        // SAFETY: as in data(), and the borrow of self is unique.
        unsafe {
            std::slice::from_raw_parts_mut(
                m.buf_addr.cast::<u8>().add(usize::from(m.data_off)),
                usize::from(m.data_len),
            )
        }
    }

    #[inline]
    fn prepend(&mut self, n: usize) -> bool {
        let m = self.raw_mut();
        if n > usize::from(m.data_off) {
            return false;
        }
        m.data_off -= n as u16;
        m.data_len += n as u16;
        m.pkt_len += n as u32;
        true
    }

    #[inline]
    fn adj(&mut self, n: usize) -> bool {
        let m = self.raw_mut();
        if n > usize::from(m.data_len) {
            return false;
        }
        m.data_off += n as u16;
        m.data_len -= n as u16;
        m.pkt_len -= n as u32;
        true
    }

    #[inline]
    fn trim(&mut self, n: usize) -> bool {
        let m = self.raw_mut();
        if n > usize::from(m.data_len) || m.nb_segs != 1 {
            return false;
        }
        m.data_len -= n as u16;
        m.pkt_len -= n as u32;
        true
    }

    #[inline]
    fn append(&mut self, n: usize) -> bool {
        if n > self.tailroom() || self.raw().nb_segs != 1 {
            return false;
        }
        let m = self.raw_mut();
        m.data_len += n as u16;
        m.pkt_len += n as u32;
        true
    }

    #[inline]
    fn is_contiguous(&self) -> bool {
        self.raw().nb_segs == 1
    }

    /// The whole chain's length (pkt_len), not just the first segment's.
    #[inline]
    fn len(&self) -> usize {
        self.raw().pkt_len as usize
    }

    #[inline]
    fn wire_len(&self) -> usize {
        let tag = self.raw().ol_flags & ffi::RTE_MBUF_F_TX_VLAN != 0;
        self.len() + if tag { 4 } else { 0 }
    }

    #[inline]
    fn rx_ipv4_cksum(&self) -> RxCksum {
        match self.ol_flags() & u64::from(ffi::RTE_MBUF_F_RX_IP_CKSUM_MASK) {
            f if f == u64::from(ffi::RTE_MBUF_F_RX_IP_CKSUM_GOOD) => RxCksum::Good,
            f if f == u64::from(ffi::RTE_MBUF_F_RX_IP_CKSUM_BAD) => RxCksum::Bad,
            _ => RxCksum::Unknown, // unknown, or NONE (not a valid header to check)
        }
    }

    #[inline]
    fn rss_hash(&self) -> Option<u32> {
        let m = self.raw();
        if m.ol_flags & u64::from(ffi::RTE_MBUF_F_RX_RSS_HASH) == 0 {
            return None;
        }
        // SAFETY: with RX_RSS_HASH set the driver wrote the hash union as
        // `rss`; any u32 is a valid value anyway.
        Some(unsafe { m.__bindgen_anon_2.hash.rss })
    }

    #[inline]
    fn rx_vlan_tci(&self) -> Option<u16> {
        self.stripped_vlan()
    }

    #[inline]
    fn request_tx_ipv4_cksum(&mut self, l2_len: usize, l3_len: usize) -> bool {
        // tx_offload: l2_len is bits 0..7, l3_len bits 7..16.
        if l2_len >= 1 << 7 || l3_len >= 1 << 9 {
            return false;
        }
        let m = self.raw_mut();
        m.__bindgen_anon_3.tx_offload = l2_len as u64 | (l3_len as u64) << 7;
        m.ol_flags |= ffi::RTE_MBUF_F_TX_IPV4 | ffi::RTE_MBUF_F_TX_IP_CKSUM;
        true
    }

    #[inline]
    fn request_tx_vlan(&mut self, tci: u16) -> bool {
        // Drivers that insert in software (af_packet: rte_vlan_insert)
        // refuse, and drop, a frame whose data is shared.
        if self.is_shared() {
            return false;
        }
        let m = self.raw_mut();
        m.vlan_tci = tci;
        m.ol_flags |= ffi::RTE_MBUF_F_TX_VLAN;
        true
    }
}

impl Drop for Mbuf {
    fn drop(&mut self) {
        // SAFETY: we own the mbuf (and its chain) and give it back once.
        unsafe { ffi::rte_pktmbuf_free(self.0.as_ptr()) };
    }
}
