//! The packet-buffer pool.

use super::{ffi, DpdkError, Mbuf};
use std::ffi::CString;
use std::ptr::NonNull;

/// An mbuf pool, shared by all ports and workers. Lives as long as the EAL.
#[derive(Clone, Copy)]
pub struct Mempool(NonNull<ffi::rte_mempool>);

// SAFETY: rte_mempool is designed for concurrent use from many threads
// (per-lcore caches, lock-free ring underneath).
unsafe impl Send for Mempool {}
// SAFETY: as above.
unsafe impl Sync for Mempool {}

impl Mempool {
    /// Creates a pool of `n` mbufs whose data rooms hold `data_room` bytes
    /// after the standard headroom.
    pub fn new(name: &str, n: u32, data_room: u16, socket: i32) -> Result<Mempool, DpdkError> {
        let cname = CString::new(name).expect("pool name has no NUL");
        let room = data_room.saturating_add(ffi::RTE_PKTMBUF_HEADROOM as u16);
        let cache = 256.min(n / 8);
        // SAFETY: the name is a valid C string; the EAL is initialised.
        let pool =
            unsafe { ffi::rte_pktmbuf_pool_create(cname.as_ptr(), n, cache, 0, room, socket) };
        NonNull::new(pool).map(Mempool).ok_or_else(|| {
            DpdkError::from_errno(format!("creating mbuf pool of {n} x {room} bytes"))
        })
    }

    /// The raw pool, for queue setup.
    pub fn as_ptr(&self) -> *mut ffi::rte_mempool {
        self.0.as_ptr()
    }

    /// A fresh, empty mbuf, or None if the pool is exhausted.
    #[inline]
    pub fn alloc(&self) -> Option<Mbuf> {
        // SAFETY: the pool is valid for the process lifetime.
        let m = unsafe { ffi::rte_pktmbuf_alloc(self.0.as_ptr()) };
        // SAFETY: a freshly allocated mbuf is owned by nobody else.
        NonNull::new(m).map(|m| unsafe { Mbuf::from_raw(m) })
    }

    /// Mbufs in use (allocated, on rings or in flight).
    pub fn in_use(&self) -> u32 {
        // SAFETY: read-only query of a valid pool.
        unsafe { ffi::rte_mempool_in_use_count(self.0.as_ptr()) }
    }

    /// Mbufs free.
    pub fn available(&self) -> u32 {
        // SAFETY: read-only query of a valid pool.
        unsafe { ffi::rte_mempool_avail_count(self.0.as_ptr()) }
    }
}
