//! The kernel interface behind a virtual device (`net_pcap` or
//! `net_af_packet` on a veth): the kernel drops frames longer than that
//! interface's MTU before the device can read them, so it is sized the way
//! real NICs are, to the largest frame the packet buffers hold. The data
//! plane then sees every oversize frame and counts it (`mtu_exceeded`).

use std::path::PathBuf;

const SYS_NET: &str = "/sys/class/net";

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

/// Sets the MTU of kernel interface `ifindex` to `mtu` (through sysfs, as
/// `ip link set mtu` does). Ok(None) when the device has no kernel interface.
pub fn set_mtu(ifindex: u32, mtu: u16) -> std::io::Result<Option<String>> {
    let Some(name) = (ifindex != 0).then(|| name_of(ifindex)).flatten() else {
        return Ok(None);
    };
    let path: PathBuf = [SYS_NET, &name, "mtu"].iter().collect();
    let current = std::fs::read_to_string(&path)?;
    if current.trim() != mtu.to_string() {
        std::fs::write(&path, mtu.to_string())?;
    }
    Ok(Some(name))
}
