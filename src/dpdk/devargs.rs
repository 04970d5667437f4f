//! Device strings checked before DPDK sees them, so that a start-up
//! failure names its cause instead of the errno DPDK ends up with (a
//! missing interface surfaces as "Operation not permitted", an oversized
//! af_packet frame as "Cannot allocate memory").

use std::path::Path;
use vtepgw_config::Config;

/// What net_af_packet keeps of each frame slot for itself: a frame of
/// `framesz` bytes carries at most `framesz - 32` bytes of packet
/// (TPACKET2_HDRLEN less the sockaddr_ll).
const AF_PACKET_FRAME_OVERHEAD: usize = 32;
/// net_af_packet's default block size (the page size here).
const AF_PACKET_DEFAULT_BLOCKSZ: usize = 4096;
/// Device arguments that name a kernel interface.
const IFACE_KEYS: [&str; 4] = ["iface", "rx_iface", "rx_iface_in", "tx_iface"];

/// Every device string DPDK will see, with the field it comes from: the
/// `--vdev` EAL arguments and the ports' devices that carry arguments.
fn specs(config: &Config) -> Vec<(String, String)> {
    let eal = &config.dataplane.eal_args;
    let vdevs = eal.iter().enumerate().filter_map(|(i, a)| {
        let spec = match a.strip_prefix("--vdev") {
            Some("") => eal.get(i + 1).map(|s| (i + 1, s.clone())),
            Some(v) => v.strip_prefix('=').map(|s| (i, s.to_string())),
            None => None,
        };
        spec.map(|(j, s)| (format!("dataplane.eal_args[{j}]"), s))
    });
    let ports = std::iter::once(("underlay.device".to_string(), &config.underlay.device)).chain(
        config
            .port
            .iter()
            .enumerate()
            .map(|(i, p)| (format!("port[{i}].device"), &p.device)),
    );
    let with_args = ports
        .filter(|(_, d)| d.contains(','))
        .map(|(f, d)| (f, d.clone()));
    vdevs.chain(with_args).collect()
}

/// Checks the device strings of `config` against this host (`iface_exists`)
/// and the packet buffers (`data_room` bytes each).
pub fn preflight(
    config: &Config,
    data_room: u16,
    iface_exists: impl Fn(&str) -> bool,
) -> Result<(), String> {
    for (field, spec) in specs(config) {
        check(&spec, usize::from(data_room), &iface_exists)
            .map_err(|why| format!("{field}: device \"{spec}\": {why}"))?;
    }
    Ok(())
}

/// Whether the kernel has a network interface called `name`.
pub fn kernel_iface_exists(name: &str) -> bool {
    !name.contains('/') && Path::new("/sys/class/net").join(name).exists()
}

fn check(spec: &str, data_room: usize, iface_exists: &impl Fn(&str) -> bool) -> Result<(), String> {
    let mut parts = spec.split(',');
    let driver = parts.next().unwrap_or_default().trim();
    let args: Vec<(&str, &str)> = parts.filter_map(|kv| kv.split_once('=')).collect();
    let arg = |key: &str| args.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
    for (key, iface) in args.iter().filter(|(k, _)| IFACE_KEYS.contains(k)) {
        if !iface_exists(iface) {
            return Err(format!(
                "the kernel interface \"{iface}\" ({key}=) does not exist \
                 (no /sys/class/net/{iface}); create it or fix {key}="
            ));
        }
    }
    if !driver.starts_with("net_af_packet") {
        return Ok(());
    }
    let number = |key: &str, default: usize| match arg(key) {
        None => Ok(default),
        Some(v) => v
            .parse::<usize>()
            .map_err(|_| format!("{key}={v} is not a number of bytes")),
    };
    let framesz = number("framesz", 2048)?;
    let blocksz = number("blocksz", AF_PACKET_DEFAULT_BLOCKSZ)?;
    let carried = framesz.saturating_sub(AF_PACKET_FRAME_OVERHEAD);
    if carried > data_room {
        return Err(format!(
            "framesz={framesz} hands over packets of up to {carried} bytes \
             (framesz less {AF_PACKET_FRAME_OVERHEAD} of AF_PACKET header), but a packet \
             buffer holds {data_room} (the largest underlay or port MTU plus its L2 \
             header, at least 2048); use framesz={} or less, or leave framesz out",
            data_room + AF_PACKET_FRAME_OVERHEAD
        ));
    }
    if framesz > blocksz {
        return Err(format!(
            "framesz={framesz} is larger than blocksz={blocksz} (default {AF_PACKET_DEFAULT_BLOCKSZ}); \
             an AF_PACKET block holds whole frames: set blocksz= to a multiple of framesz"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(eal: &str, device: &str) -> Config {
        Config::from_toml_str(&format!(
            "[dataplane]\neal_args = [{eal}]\n[underlay]\ndevice = \"{device}\"\naddress = \"192.0.2.10/24\"\n"
        ))
        .unwrap()
    }

    fn verdict(eal: &str, device: &str) -> Result<(), String> {
        preflight(&config(eal, device), 2048, |i| i == "veth0")
    }

    #[test]
    fn a_missing_kernel_interface_is_named_with_its_field() {
        let e = verdict(
            r#""--vdev", "net_af_packet0,iface=nope0""#,
            "net_af_packet0",
        )
        .unwrap_err();
        assert!(
            e.starts_with("dataplane.eal_args[1]: device \"net_af_packet0,iface=nope0\""),
            "{e}"
        );
        assert!(e.contains("\"nope0\" (iface=) does not exist"), "{e}");
        let e = verdict("", "net_pcap0,rx_iface=veth0,tx_iface=nope1").unwrap_err();
        assert!(
            e.starts_with("underlay.device:") && e.contains("tx_iface="),
            "{e}"
        );
        verdict(r#""--vdev=net_af_packet0,iface=veth0""#, "net_af_packet0").unwrap();
        verdict("", "0000:03:00.0").unwrap();
    }

    #[test]
    fn an_af_packet_frame_larger_than_the_buffers_is_explained() {
        let e = verdict("", "net_af_packet0,iface=veth0,framesz=16384,blocksz=16384").unwrap_err();
        assert!(
            e.contains("up to 16352 bytes") && e.contains("holds 2048"),
            "{e}"
        );
        assert!(e.contains("framesz=2080 or less"), "{e}");
        verdict("", "net_af_packet0,iface=veth0,framesz=2080").unwrap();
        let e = verdict("", "net_af_packet0,iface=veth0,framesz=2096").unwrap_err();
        assert!(e.contains("2064 bytes"), "{e}");
        let e = verdict("", "net_af_packet0,iface=veth0,blocksz=1024").unwrap_err();
        assert!(e.contains("larger than blocksz=1024"), "{e}");
        let e = verdict("", "net_af_packet0,iface=veth0,framesz=big").unwrap_err();
        assert!(e.contains("framesz=big is not a number"), "{e}");
    }
}
