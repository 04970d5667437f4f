//! EAL start-up, shutdown and running closures on worker lcores.

use super::{ffi, DpdkError};
use std::ffi::{c_int, c_void, CString};
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

/// The initialised EAL. Cleaned up when dropped, runtime directory included.
pub struct Eal {
    runtime_dir: Option<PathBuf>,
}

/// Where DPDK 22.11 keeps this process's runtime files (`config`, the
/// multi-process socket): `/var/run/dpdk/<file-prefix>` for root, else
/// under `$XDG_RUNTIME_DIR` or `/tmp`. None when the args ask for none.
fn runtime_dir(args: &[String]) -> Option<PathBuf> {
    if args
        .iter()
        .any(|a| a == "--in-memory" || a == "--no-shconf")
    {
        return None;
    }
    let prefix = args
        .iter()
        .enumerate()
        .find_map(|(i, a)| match a.strip_prefix("--file-prefix") {
            Some("") => args.get(i + 1).cloned(),
            Some(v) => v.strip_prefix('=').map(String::from),
            None => None,
        })
        .unwrap_or_else(|| "rte".into());
    let root = std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
    let base = match std::env::var_os("XDG_RUNTIME_DIR") {
        _ if root => PathBuf::from("/var/run"),
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from("/tmp"),
    };
    Some(base.join("dpdk").join(prefix))
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
        // A directory that was there before may be another process's: a
        // failed start removes only the one it created.
        let runtime_dir = runtime_dir(args);
        let created = runtime_dir.clone().filter(|d| !d.exists());
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
            let e = DpdkError::from_errno("rte_eal_init");
            created.map(std::fs::remove_dir_all);
            return Err(e);
        }
        // The EAL may keep pointers into argv for the process lifetime.
        std::mem::forget(owned);
        Ok(Eal { runtime_dir })
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
        // The EAL leaves its runtime directory behind; as the primary
        // process (init succeeded) it is ours to remove.
        if let Some(dir) = &self.runtime_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::runtime_dir;

    fn dir(args: &[&str]) -> Option<String> {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        runtime_dir(&args).map(|d| d.file_name().unwrap().to_string_lossy().into_owned())
    }

    #[test]
    fn the_runtime_directory_follows_the_file_prefix() {
        assert_eq!(dir(&["--no-huge"]).as_deref(), Some("rte"));
        assert_eq!(dir(&["--file-prefix", "gw1"]).as_deref(), Some("gw1"));
        assert_eq!(
            dir(&["--file-prefix=gw2", "-m", "512"]).as_deref(),
            Some("gw2")
        );
        assert_eq!(dir(&["--in-memory", "--file-prefix", "x"]), None);
        assert_eq!(dir(&["--no-shconf"]), None);
    }
}
