//! Ethernet ports: attach by device string, configure queues, start, stats.

use super::{ffi, kernel_if, DpdkError, Mempool};
use std::ffi::CString;
use vtepgw_gateway::offload::Offloads;
use vtepgw_gateway::types::Mac;

// Offload bits (RTE_BIT64 macros bindgen cannot evaluate), DPDK 22.11.
const RX_VLAN_STRIP: u64 = 1 << 0;
const RX_IPV4_CKSUM: u64 = 1 << 1;
const RX_RSS_HASH: u64 = 1 << 19;
const TX_VLAN_INSERT: u64 = 1 << 0;
const TX_IPV4_CKSUM: u64 = 1 << 1;
const TX_MULTI_SEGS: u64 = 1 << 15;

/// The offloads to enable, given what the device has (`rx_capa`,
/// `tx_capa`), whether it can deliver an RSS hash at all (`rss`: it hashes
/// some IP flow type) and whether the port is a physical one (tags are
/// stripped and inserted there only; on the underlay a tag is a drop).
fn wanted_offloads(rx_capa: u64, tx_capa: u64, rss: bool, physical: bool) -> (u64, u64) {
    let vlan = if physical { RX_VLAN_STRIP } else { 0 };
    let rss = if rss { RX_RSS_HASH } else { 0 };
    let tx_vlan = if physical { TX_VLAN_INSERT } else { 0 };
    (
        rx_capa & (RX_IPV4_CKSUM | vlan | rss),
        tx_capa & (TX_IPV4_CKSUM | tx_vlan | TX_MULTI_SEGS),
    )
}

/// What the data plane may rely on, from the offloads enabled.
fn offloads_on(rx: u64, tx: u64) -> Offloads {
    Offloads {
        rx_ipv4_cksum: rx & RX_IPV4_CKSUM != 0,
        rx_vlan_strip: rx & RX_VLAN_STRIP != 0,
        rx_rss_hash: rx & RX_RSS_HASH != 0,
        tx_ipv4_cksum: tx & TX_IPV4_CKSUM != 0,
        tx_vlan_insert: tx & TX_VLAN_INSERT != 0,
        tx_multi_segs: tx & TX_MULTI_SEGS != 0,
    }
}

/// Drivers that transmit chained mbufs correctly without advertising
/// `RTE_ETH_TX_OFFLOAD_MULTI_SEGS` in 22.11: `net_pcap` reads a chain with
/// `rte_pktmbuf_read` (up to its 9018-byte snap length, more than a frame
/// here can be) and `net_null` only frees it. Sharing flood payloads does
/// not pay on them (net_pcap copies the chain anyway; perf/README.md), so
/// it is only for measurements that ask for it.
fn takes_chained_tx(driver: &str) -> bool {
    matches!(driver, "net_pcap" | "net_null")
}

/// Receive/transmit descriptors per queue (adjusted to the device's limits).
const RX_DESC: u16 = 1024;
const TX_DESC: u16 = 1024;

// RSS hash types (DPDK defines these with a function-like macro bindgen
// cannot evaluate): IPv4/IPv6 and their TCP/UDP/other flows.
const RSS_IP_TCP_UDP: u64 = (1 << 2)
    | (1 << 3)
    | (1 << 4)
    | (1 << 5)
    | (1 << 7)
    | (1 << 8)
    | (1 << 9)
    | (1 << 10)
    | (1 << 11)
    | (1 << 13);

/// Drivers whose receive queues are fixed by the device string and all
/// receive: every `qpairs=` socket of `net_af_packet` is in the fanout
/// group, every `rx_*` source of `net_pcap` is a queue. A queue left
/// unconfigured there would be traffic nobody reads, so all are polled.
const ALL_QUEUES_RECEIVE: [&str; 2] = ["net_af_packet", "net_pcap"];

/// A started port.
pub struct Port {
    pub id: u16,
    pub name: String,
    pub driver: String,
    /// Receive queues configured (see [`rx_queue_count`]).
    pub rx_queues: u16,
    /// The veth (or tap) whose kernel MTU we raised, restored on close.
    sized_iface: Option<kernel_if::SizedIface>,
    /// The offloads enabled on it.
    pub offloads: Offloads,
    /// It takes chained frames in software ([`takes_chained_tx`]).
    pub software_chains: bool,
}

/// How many receive queues a port gets for `workers` workers: one per
/// worker, RSS spreading flows over them; fewer where the device has fewer
/// (fewer workers poll it); on drivers whose queues all receive, all of them.
fn rx_queue_count(driver: &str, max_rx_queues: u16, workers: u16) -> u16 {
    if ALL_QUEUES_RECEIVE.contains(&driver) {
        max_rx_queues
    } else {
        workers.min(max_rx_queues)
    }
}

/// The NIC's own counters.
#[derive(Clone, Copy, Debug, Default)]
pub struct PortStats {
    pub rx_packets: u64,
    pub tx_packets: u64,
    pub rx_bytes: u64,
    pub tx_bytes: u64,
    pub rx_missed: u64,
    pub rx_errors: u64,
    pub tx_errors: u64,
    pub rx_nombuf: u64,
}

fn check(what: impl FnOnce() -> String, rc: i32) -> Result<(), DpdkError> {
    if rc < 0 {
        Err(DpdkError::from_code(what(), rc))
    } else {
        Ok(())
    }
}

impl Port {
    /// Attaches the device described by `devargs` (a vdev spec such as
    /// `net_af_packet0,iface=eth1`, or a PCI address) and returns its port.
    pub fn attach(devargs: &str) -> Result<u16, DpdkError> {
        let name = devargs.split(',').next().unwrap_or(devargs).trim();
        let cname = CString::new(name).expect("device name has no NUL");
        let mut id = 0u16;
        // SAFETY: valid C string and out-pointer.
        if unsafe { ffi::rte_eth_dev_get_port_by_name(cname.as_ptr(), &mut id) } == 0 {
            return Ok(id); // already attached (e.g. via EAL -a/--vdev)
        }
        let cargs = CString::new(devargs).expect("device string has no NUL");
        // SAFETY: valid C string; the EAL is initialised.
        let rc = unsafe { ffi::rte_dev_probe(cargs.as_ptr()) };
        check(
            || {
                let mut what = format!("attaching device \"{devargs}\"");
                if name.starts_with("net_af_packet") {
                    // DPDK 22.11 derives the AF_PACKET fanout group from
                    // (PID ^ ifindex); another DPDK process on this host can
                    // already own that group id (EINVAL in the EAL log).
                    what.push_str(
                        " (if the EAL log says PACKET_FANOUT: another DPDK \
                         af_packet process holds the same fanout group; restart vtepgw)",
                    );
                }
                what
            },
            rc,
        )?;
        // SAFETY: as above.
        let rc = unsafe { ffi::rte_eth_dev_get_port_by_name(cname.as_ptr(), &mut id) };
        check(
            || format!("device \"{devargs}\" attached but has no ethdev port \"{name}\""),
            rc,
        )?;
        Ok(id)
    }

    /// Configures receive queues for `workers` workers ([`rx_queue_count`],
    /// RSS across them) and one transmit queue per worker (see
    /// `vtepgw_gateway::queues`), enables the offloads the device has
    /// ([`wanted_offloads`]), sets the NIC's MTU to the first of `mtus` the
    /// driver takes (largest first), and starts the port. A `physical` port
    /// is promiscuous and gets the VLAN offloads.
    pub fn start(
        id: u16,
        name: &str,
        workers: u16,
        mtus: &[u16],
        physical: bool,
        pool: Mempool,
    ) -> Result<Port, DpdkError> {
        let promiscuous = physical;
        let mut info = ffi::rte_eth_dev_info::default();
        // SAFETY: valid port id and out-pointer.
        check(|| format!("port {name}: dev_info"), unsafe {
            ffi::rte_eth_dev_info_get(id, &mut info)
        })?;
        // SAFETY: driver_name is a static C string of the driver.
        let driver = unsafe { std::ffi::CStr::from_ptr(info.driver_name) }
            .to_string_lossy()
            .into_owned();
        let tx_queues = workers;
        if info.max_tx_queues < tx_queues || info.max_rx_queues == 0 {
            return Err(DpdkError::from_code(
                format!(
                    "port {name}: {workers} workers need {workers} transmit queues (one each), \
                     the device has {} rx / {} tx (for net_af_packet add qpairs={workers} to the device string)",
                    info.max_rx_queues, info.max_tx_queues
                ),
                22,
            ));
        }
        let rx_queues = rx_queue_count(&driver, info.max_rx_queues, workers);
        let mut conf = ffi::rte_eth_conf::default();
        let rss_hf = RSS_IP_TCP_UDP & info.flow_type_rss_offloads;
        let (rx_on, tx_on) = wanted_offloads(
            info.rx_offload_capa,
            info.tx_offload_capa,
            rss_hf != 0,
            physical,
        );
        // RSS spreads flows over the queues, and where the device delivers
        // the hash it is the flow hash for the outer source port, even on
        // one queue.
        if rx_queues > 1 || rx_on & RX_RSS_HASH != 0 {
            conf.rxmode.mq_mode = ffi::rte_eth_rx_mq_mode_RTE_ETH_MQ_RX_RSS;
            conf.rx_adv_conf.rss_conf.rss_hf = rss_hf;
        }
        conf.rxmode.offloads = rx_on;
        conf.txmode.offloads = tx_on;
        let offloads = offloads_on(rx_on, tx_on);
        let software_chains = takes_chained_tx(&driver);
        // SAFETY: valid port id and config.
        check(|| format!("port {name}: configure"), unsafe {
            ffi::rte_eth_dev_configure(id, rx_queues, tx_queues, &conf)
        })?;
        let (mut rxd, mut txd) = (RX_DESC, TX_DESC);
        // SAFETY: valid port id and out-pointers.
        check(|| format!("port {name}: descriptors"), unsafe {
            ffi::rte_eth_dev_adjust_nb_rx_tx_desc(id, &mut rxd, &mut txd)
        })?;
        // SAFETY: valid port id.
        let socket = unsafe { ffi::rte_eth_dev_socket_id(id) }.max(0) as u32;
        for q in 0..rx_queues {
            // SAFETY: valid port/queue ids; NULL conf means driver defaults;
            // the pool outlives the port.
            check(|| format!("port {name}: rx queue {q}"), unsafe {
                ffi::rte_eth_rx_queue_setup(id, q, rxd, socket, std::ptr::null(), pool.as_ptr())
            })?;
        }
        for q in 0..tx_queues {
            // SAFETY: valid port/queue ids; NULL conf means driver defaults.
            check(|| format!("port {name}: tx queue {q}"), unsafe {
                ffi::rte_eth_tx_queue_setup(id, q, txd, socket, std::ptr::null())
            })?;
        }
        // Virtual drivers may not support (large) MTUs; the data plane
        // enforces the configured MTU in software either way.
        // SAFETY: valid port id, port not started yet.
        let nic_mtu = mtus
            .iter()
            .find(|&&mtu| unsafe { ffi::rte_eth_dev_set_mtu(id, mtu) } == 0);
        match nic_mtu {
            Some(mtu) => tracing::debug!(port = name, mtu, "NIC MTU set"),
            None => tracing::debug!(
                port = name,
                ?mtus,
                "driver took none of the MTUs; enforced in software"
            ),
        }
        // A vdev on a kernel interface (veth) reads only what that
        // interface's MTU lets in: size it like a NIC, to the buffers.
        let mut sized_iface = None;
        if let Some(&largest) = mtus.first() {
            match kernel_if::set_mtu(info.if_index, largest) {
                Ok(Some(iface)) => {
                    tracing::debug!(port = name, iface = %iface.name, mtu = largest, "kernel MTU set");
                    sized_iface = Some(iface);
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(
                    port = name,
                    mtu = largest,
                    "could not set the kernel interface's MTU ({e}); frames over its MTU are dropped by the kernel uncounted"
                ),
            }
        }
        // SAFETY: valid, configured port.
        check(|| format!("port {name}: start"), unsafe {
            ffi::rte_eth_dev_start(id)
        })?;
        if promiscuous {
            // SAFETY: valid, started port.
            let rc = unsafe { ffi::rte_eth_promiscuous_enable(id) };
            if rc < 0 {
                tracing::warn!(port = name, rc, "could not enable promiscuous mode");
            }
        }
        Ok(Port {
            id,
            name: name.to_string(),
            driver,
            rx_queues,
            sized_iface,
            offloads,
            software_chains,
        })
    }

    /// Makes the port receive the multicast MACs `macs` (an empty list
    /// stops it), and says how: `mac_filter` (the NIC's multicast filter
    /// holds them), `all_multicast` (the device cannot filter, so it takes
    /// every multicast frame; net_pcap answers so), `promiscuous` or
    /// `unfiltered` (a driver with neither mode: it gets what it gets),
    /// `none` for an empty list. Control thread only.
    pub fn receive_multicast(id: u16, macs: &[Mac]) -> &'static str {
        let mut list: Vec<ffi::rte_ether_addr> = macs
            .iter()
            .map(|&Mac(addr_bytes)| ffi::rte_ether_addr { addr_bytes })
            .collect();
        let n = list.len() as u32;
        let ptr = if list.is_empty() {
            std::ptr::null_mut()
        } else {
            list.as_mut_ptr()
        };
        // SAFETY: valid started port; `ptr` points at `n` addresses that
        // outlive the call (DPDK copies them), or is null with `n` 0.
        let filtered = unsafe { ffi::rte_eth_dev_set_mc_addr_list(id, ptr, n) } == 0;
        if macs.is_empty() {
            // SAFETY: valid port id; disabling a mode never enabled is harmless.
            unsafe { ffi::rte_eth_allmulticast_disable(id) };
            return "none";
        }
        if filtered {
            return "mac_filter";
        }
        // SAFETY: valid started port.
        if unsafe { ffi::rte_eth_allmulticast_enable(id) } == 0 {
            return "all_multicast";
        }
        // SAFETY: valid port id; a read of the port's mode.
        if unsafe { ffi::rte_eth_promiscuous_get(id) } == 1 {
            "promiscuous"
        } else {
            "unfiltered"
        }
    }

    /// The port's MAC address.
    pub fn mac(&self) -> Mac {
        let mut addr = ffi::rte_ether_addr::default();
        // SAFETY: valid port id and out-pointer.
        unsafe { ffi::rte_eth_macaddr_get(self.id, &mut addr) };
        Mac(addr.addr_bytes)
    }

    /// The NIC's counters.
    pub fn stats(&self) -> PortStats {
        let mut s = ffi::rte_eth_stats::default();
        // SAFETY: valid port id and out-pointer; stats reads are safe from any thread.
        if unsafe { ffi::rte_eth_stats_get(self.id, &mut s) } != 0 {
            return PortStats::default();
        }
        PortStats {
            rx_packets: s.ipackets,
            tx_packets: s.opackets,
            rx_bytes: s.ibytes,
            tx_bytes: s.obytes,
            rx_missed: s.imissed,
            rx_errors: s.ierrors,
            tx_errors: s.oerrors,
            rx_nombuf: s.rx_nombuf,
        }
    }

    /// Stops and closes the port.
    pub fn close(&self) {
        // SAFETY: valid port id; no worker uses it any more.
        unsafe {
            ffi::rte_eth_dev_stop(self.id);
            ffi::rte_eth_dev_close(self.id);
        }
        if let Some(iface) = &self.sized_iface {
            iface.restore();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offloads_are_enabled_where_the_device_has_them() {
        // net_pcap: multi-segment TX only.
        let (rx, tx) = wanted_offloads(0, TX_MULTI_SEGS, false, true);
        assert_eq!(
            offloads_on(rx, tx),
            Offloads {
                tx_multi_segs: true,
                ..Offloads::NONE
            }
        );
        // A NIC with everything (and more): the VLAN ones on physical ports only.
        let all = u64::MAX;
        let phys = offloads_on(
            wanted_offloads(all, all, true, true).0,
            wanted_offloads(all, all, true, true).1,
        );
        assert!(phys.rx_vlan_strip && phys.tx_vlan_insert && phys.rx_rss_hash);
        assert!(phys.rx_ipv4_cksum && phys.tx_ipv4_cksum && phys.tx_multi_segs);
        let (rx, tx) = wanted_offloads(all, all, true, false);
        assert_eq!(rx, RX_IPV4_CKSUM | RX_RSS_HASH);
        assert_eq!(tx, TX_IPV4_CKSUM | TX_MULTI_SEGS);
        // No IP flow type hashed: no RSS hash to trust.
        assert_eq!(wanted_offloads(all, 0, false, true).0 & RX_RSS_HASH, 0);
    }

    #[test]
    fn a_port_gets_a_receive_queue_per_worker_where_it_has_them() {
        assert_eq!(rx_queue_count("net_ice", 64, 4), 4);
        assert_eq!(
            rx_queue_count("net_ice", 2, 4),
            2,
            "fewer: fewer workers poll it"
        );
        // Every af_packet socket is in the fanout group: all are read.
        assert_eq!(rx_queue_count("net_af_packet", 2, 1), 2);
        assert_eq!(rx_queue_count("net_af_packet", 2, 2), 2);
        assert_eq!(rx_queue_count("net_pcap", 1, 2), 1);
    }
}
