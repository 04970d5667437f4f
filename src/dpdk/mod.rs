//! The DPDK layer: the only code in vtepgw that uses `unsafe`.
//!
//! It wraps EAL start-up, lcore launch, the mbuf pool, ports and bursts in
//! safe types, and implements the data plane's `PacketBuf`/`PortIo` traits
//! over them.

pub mod devargs;
mod eal;
pub mod ffi;
mod io;
mod kernel_if;
mod mbuf;
mod mempool;
mod port;

pub use eal::Eal;
pub use io::{DpdkIo, FLOOD_SHARE_MIN};
pub use mbuf::Mbuf;
pub use mempool::Mempool;
pub use port::Port;

use std::ffi::CStr;

/// A DPDK call that failed, with DPDK's own explanation.
#[derive(Debug)]
pub struct DpdkError {
    pub what: String,
    pub code: i32,
}

impl DpdkError {
    /// Wraps a negative errno-style return code.
    pub fn from_code(what: impl Into<String>, code: i32) -> Self {
        DpdkError {
            what: what.into(),
            code: code.abs(),
        }
    }

    /// Uses `rte_errno` as set by the last failed call on this thread.
    pub fn from_errno(what: impl Into<String>) -> Self {
        // SAFETY: reads a thread-local integer through a C shim.
        let code = unsafe { ffi::vtepgw_rte_errno() };
        Self::from_code(what, code)
    }
}

impl std::fmt::Display for DpdkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // SAFETY: rte_strerror returns a pointer to a static or thread-local
        // NUL-terminated string for any code.
        let msg = unsafe { CStr::from_ptr(ffi::rte_strerror(self.code)) };
        write!(
            f,
            "{}: {} (errno {})",
            self.what,
            msg.to_string_lossy(),
            self.code
        )
    }
}

impl std::error::Error for DpdkError {}

/// TSC cycles since boot.
#[inline]
pub fn rdtsc() -> u64 {
    // SAFETY: reads the time-stamp counter; no memory is touched.
    unsafe { ffi::rte_rdtsc() }
}

/// TSC frequency in Hz, as measured by the EAL (0 before EAL init).
pub fn tsc_hz() -> u64 {
    // SAFETY: reads a value the EAL computed at init.
    unsafe { ffi::rte_get_tsc_hz() }
}
