//! An owned mbuf: one packet, freed on drop.

use super::ffi::{self, rte_mbuf};
use std::ptr::NonNull;
use vtepgw_gateway::buf::PacketBuf;

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
}

impl Drop for Mbuf {
    fn drop(&mut self) {
        // SAFETY: we own the mbuf (and its chain) and give it back once.
        unsafe { ffi::rte_pktmbuf_free(self.0.as_ptr()) };
    }
}
