//! The kernel interface behind a virtual device (`net_pcap` or
//! `net_af_packet` on a veth): the kernel drops frames longer than that
//! interface's MTU before the device can read them, so it is sized the way
//! real NICs are, to the largest frame the packet buffers hold. The data
//! plane then sees every oversize frame and counts it (`mtu_exceeded`).
//!
//! Only virtual interfaces (veth, tap: no `device` link in sysfs) are
//! changed, and the old MTU is put back when the port closes: a physical
//! NIC the host also uses keeps the MTU its network was planned with.

use std::path::PathBuf;

const SYS_NET: &str = "/sys/class/net";

/// A kernel interface whose MTU we changed, and the MTU it had.
#[derive(Debug)]
pub struct SizedIface {
    pub name: String,
    old_mtu: String,
}

impl SizedIface {
    /// Puts the old MTU back.
    pub fn restore(&self) {
        if let Err(e) = std::fs::write(mtu_path(&self.name), &self.old_mtu) {
            tracing::warn!(iface = %self.name, "could not restore the kernel MTU: {e}");
        }
    }
}

fn mtu_path(name: &str) -> PathBuf {
    [SYS_NET, name, "mtu"].iter().collect()
}

/// The name of the kernel interface with index `ifindex`, if any.
fn name_of(ifindex: u32) -> Option<String> {
    std::fs::read_dir(SYS_NET)
        .ok()?
        .flatten()
        .find_map(|entry| {
            let index = std::fs::read_to_string(entry.path().join("ifindex")).ok()?;
            (index.trim().parse() == Ok(ifindex))
                .then(|| entry.file_name().to_string_lossy().into())
        })
}

/// Sets the MTU of virtual kernel interface `ifindex` to `mtu` (through
/// sysfs, as `ip link set mtu` does). Ok(None) when the device has no kernel
/// interface, it is a physical NIC, or the MTU is already right.
pub fn set_mtu(ifindex: u32, mtu: u16) -> std::io::Result<Option<SizedIface>> {
    let Some(name) = (ifindex != 0).then(|| name_of(ifindex)).flatten() else {
        return Ok(None);
    };
    let physical = [SYS_NET, &name, "device"]
        .iter()
        .collect::<PathBuf>()
        .exists();
    let old_mtu = std::fs::read_to_string(mtu_path(&name))?.trim().to_string();
    if physical || old_mtu == mtu.to_string() {
        return Ok(None);
    }
    std::fs::write(mtu_path(&name), mtu.to_string())?;
    Ok(Some(SizedIface { name, old_mtu }))
}
