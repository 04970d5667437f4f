//! EAL start-up, shutdown and running closures on worker lcores.

use super::{ffi, DpdkError};
use std::ffi::{c_int, c_void, CString};

/// The initialised EAL. Cleaned up when dropped.
pub struct Eal {
    _private: (),
}

type LcoreJob = Box<dyn FnOnce() + Send>;

extern "C" fn run_job(arg: *mut c_void) -> c_int {
    // SAFETY: `arg` is the Box<LcoreJob> leaked by `Eal::launch`, handed to
    // exactly one lcore, so it is reclaimed exactly once here.
    let job = unsafe { Box::from_raw(arg.cast::<LcoreJob>()) };
    job();
    0
}

impl Eal {
    /// Initialises the EAL with `args` (argv[0] is added). Call once per process.
    pub fn init(args: &[String]) -> Result<Eal, DpdkError> {
        let owned: Vec<CString> = std::iter::once("vtepgw".to_string())
            .chain(args.iter().cloned())
            .map(|a| CString::new(a).expect("EAL argument contains a NUL byte"))
            .collect();
        // rte_eal_init may reorder argv, so it gets its own pointer array.
        let mut argv: Vec<*mut std::ffi::c_char> =
            owned.iter().map(|a| a.as_ptr().cast_mut()).collect();
        // SAFETY: argv holds argc valid NUL-terminated strings that outlive the call.
        let rc = unsafe { ffi::rte_eal_init(argv.len() as c_int, argv.as_mut_ptr()) };
        if rc < 0 {
            return Err(DpdkError::from_errno("rte_eal_init"));
        }
        // The EAL may keep pointers into argv for the process lifetime.
        std::mem::forget(owned);
        Ok(Eal { _private: () })
    }

    /// Runs `job` on worker lcore `lcore` (which must be idle).
    pub fn launch(&self, lcore: u32, job: impl FnOnce() + Send + 'static) -> Result<(), DpdkError> {
        let arg = Box::into_raw(Box::new(Box::new(job) as LcoreJob)).cast::<c_void>();
        // SAFETY: run_job has the lcore_function_t signature and takes
        // ownership of `arg` if and only if the launch succeeds.
        let rc = unsafe { ffi::rte_eal_remote_launch(Some(run_job), arg, lcore) };
        if rc != 0 {
            // SAFETY: the launch failed, so the job was not handed over.
            drop(unsafe { Box::from_raw(arg.cast::<LcoreJob>()) });
            return Err(DpdkError::from_code(format!("launch on lcore {lcore}"), rc));
        }
        Ok(())
    }

    /// Waits for the job on `lcore` to return.
    pub fn wait(&self, lcore: u32) {
        // SAFETY: waiting on a worker lcore id is always valid.
        unsafe { ffi::rte_eal_wait_lcore(lcore) };
    }
}

impl Drop for Eal {
    fn drop(&mut self) {
        // SAFETY: all ports are stopped and lcores idle by the time the Eal
        // (created first, dropped last) goes away.
        unsafe { ffi::rte_eal_cleanup() };
    }
}
