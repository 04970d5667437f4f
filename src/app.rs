//! Start-up and shutdown: config, EAL, pool, ports, workers, control
//! thread and the management server, in that order; shutdown in reverse.

use crate::dpdk::{self, DpdkIo, Eal, Mempool, Port};
use crate::service::Signals;
use anyhow::{bail, Context, Result};
use std::path::Path;
use std::sync::Arc;
use vtepgw_config::mtu::{PORT_L2_LEN, UNDERLAY_L2_LEN};
use vtepgw_config::Config;
use vtepgw_gateway::control::Control;
use vtepgw_gateway::queues;
use vtepgw_gateway::shared;
use vtepgw_gateway::snapshot::Snapshot;
use vtepgw_gateway::worker::{Worker, WorkerOptions};
use vtepgw_mgmt::{AppState, Applier, Devices, Limits, NicStats, PoolStats};

/// Loads and validates the config file, before anything is started.
pub fn load_config(path: &Path) -> Result<Config> {
    let config = Config::load(path).map_err(|e| anyhow::anyhow!("{e}"))?;
    for w in config.validate().unwrap_or_default() {
        tracing::warn!("config: {w}");
    }
    Ok(config)
}

/// EAL arguments: the lcore layout from the config, then its extra args.
/// Lcores run on the CPU of the same number (`-l`) unless
/// `dataplane.lcore_cpus` maps them elsewhere (`--lcores 0,1,2@1`).
fn eal_args(config: &Config) -> Vec<String> {
    let d = &config.dataplane;
    let lcores = std::iter::once(d.main_lcore).chain(d.worker_lcores.iter().copied());
    let mut args = if d.lcore_cpus.is_empty() {
        let list: Vec<String> = lcores.map(|l| l.to_string()).collect();
        vec!["-l".to_string(), list.join(",")]
    } else {
        let list: Vec<String> = lcores
            .map(|l| match d.lcore_cpus.get(&l) {
                Some(cpu) => format!("{l}@{cpu}"),
                None => l.to_string(),
            })
            .collect();
        vec!["--lcores".to_string(), list.join(",")]
    };
    args.extend(["--main-lcore".to_string(), d.main_lcore.to_string()]);
    args.extend(d.eal_args.iter().cloned());
    args
}

/// Data room per mbuf: the largest frame any port carries, in one segment.
fn mbuf_data_room(config: &Config) -> u16 {
    let underlay = usize::from(config.underlay.mtu) + UNDERLAY_L2_LEN;
    let physical = config
        .port
        .iter()
        .map(|p| usize::from(p.mtu) + PORT_L2_LEN)
        .max()
        .unwrap_or(0);
    underlay.max(physical).max(2048) as u16
}

/// The IP MTU of a NIC whose frames (with `l2` bytes of Ethernet header)
/// must fit a buffer of `data_room` bytes.
fn nic_mtu(data_room: usize, l2: usize) -> u16 {
    u16::try_from(data_room - l2).unwrap_or(u16::MAX)
}

/// The NIC layer as the management plane sees it.
struct DpdkDevices {
    ports: Vec<Port>,
    pool: Mempool,
}

impl Devices for DpdkDevices {
    fn nic_stats(&self) -> Vec<NicStats> {
        self.ports
            .iter()
            .map(|p| {
                let s = p.stats();
                NicStats {
                    rx_packets: s.rx_packets,
                    tx_packets: s.tx_packets,
                    rx_bytes: s.rx_bytes,
                    tx_bytes: s.tx_bytes,
                    rx_missed: s.rx_missed,
                    rx_errors: s.rx_errors,
                    tx_errors: s.tx_errors,
                    rx_nombuf: s.rx_nombuf,
                }
            })
            .collect()
    }

    fn pool(&self) -> PoolStats {
        PoolStats {
            in_use: u64::from(self.pool.in_use()),
            available: u64::from(self.pool.available()),
        }
    }

    fn tsc_hz(&self) -> u64 {
        dpdk::tsc_hz()
    }
}

/// Runs the gateway from `config` (read from `config_file`, where
/// `POST /api/v1/config/save` writes and SIGHUP re-reads) until SIGINT
/// or SIGTERM.
pub fn run(config: Config, config_file: &Path) -> Result<()> {
    let token = match &config.management.token_file {
        Some(path) => Some(vtepgw_mgmt::read_token(path).map_err(anyhow::Error::msg)?),
        None => None,
    };
    let listen = config.management.listen;
    if let Some(warning) = vtepgw_mgmt::open_door_warning(listen, token.is_some()) {
        tracing::warn!("{warning}");
    }
    let config_file = std::path::absolute(config_file)?;
    // Before DPDK starts, so a port in use stops nothing half-started.
    let listener = vtepgw_mgmt::bind(listen)
        .with_context(|| format!("management.listen: cannot listen on {listen}"))?;
    dpdk::devargs::preflight(
        &config,
        mbuf_data_room(&config),
        dpdk::devargs::kernel_iface_exists,
    )
    .map_err(anyhow::Error::msg)?;
    let eal = Eal::init(&eal_args(&config)).context("starting DPDK")?;
    let d = &config.dataplane;
    let data_room = mbuf_data_room(&config);
    let pool = Mempool::new("vtepgw_pkts", d.mbufs, data_room, -1)?;
    let workers = d.worker_lcores.len();

    let mut ports = Vec::new();
    // The NICs get the largest MTU the buffers hold where the driver takes
    // it (else the configured one): the data plane enforces the configured
    // MTUs in software and counts what it drops, so a live MTU change
    // within the buffers never has to reconfigure a running NIC.
    let room = usize::from(data_room);
    let devices = std::iter::once((
        "underlay",
        config.underlay.device.as_str(),
        [nic_mtu(room, UNDERLAY_L2_LEN), config.underlay.mtu],
        false,
    ))
    .chain(config.port.iter().map(|p| {
        (
            p.name.as_str(),
            p.device.as_str(),
            [nic_mtu(room, PORT_L2_LEN), p.mtu],
            true,
        )
    }));
    for (name, device, mtus, promiscuous) in devices {
        let id = Port::attach(device).with_context(|| format!("port {name}"))?;
        if ports.iter().any(|p: &Port| p.id == id) {
            bail!("port {name}: device \"{device}\" is already used by another port");
        }
        let port = Port::start(
            id,
            name,
            queues::tx_queues(workers),
            &mtus,
            promiscuous,
            pool,
        )?;
        tracing::info!(port = %port.name, driver = %port.driver, rx_queues = port.rx_queues, mac = %port.mac(), offloads = ?port.offloads.names(), "port started");
        ports.push(port);
    }
    let macs: Vec<_> = ports.iter().map(Port::mac).collect();
    let snapshot = Snapshot::build(&config, &macs, None, 1)?;
    let (shared, control_parts, worker_parts) =
        shared::build(snapshot, workers, d.mac_table_capacity as usize);

    let mut control = Control::new(shared.clone(), control_parts);
    // The underlay must receive the groups' MACs: applied now and on every
    // change of the groups in use.
    let underlay = ports[0].id;
    control.set_receive_filter(Box::new(move |macs| {
        let mode = Port::receive_multicast(underlay, macs);
        tracing::info!(
            groups_macs = macs.len(),
            mode,
            "underlay multicast receive filter"
        );
        mode
    }));
    let control_thread = std::thread::Builder::new()
        .name("vtepgw-control".into())
        .spawn(move || control.run())?;

    let options = WorkerOptions {
        burst: usize::from(d.burst_size),
        idle_sleep_us: d.idle_sleep_us,
    };
    let port_ids: Vec<u16> = ports.iter().map(|p| p.id).collect();
    let share_env = std::env::var("VTEPGW_FLOOD_SHARE_MIN").ok();
    let share_min = flood_share_min(share_env.as_deref());
    // Asked for by length: also share on ports that chain in software
    // (net_pcap, net_null), to measure it there.
    let asked = share_env.is_some_and(|v| v.trim().parse::<usize>().is_ok());
    let offloads: Vec<_> = ports
        .iter()
        .map(|p| {
            let mut o = p.offloads;
            o.tx_multi_segs |= asked && p.software_chains;
            o
        })
        .collect();
    tracing::info!(
        ?share_min,
        "flood copies share the payload from this length on multi-segment ports"
    );
    let rx_queues: Vec<u16> = ports.iter().map(|p| p.rx_queues).collect();
    let assigned = queues::assign(workers, &rx_queues);
    let mut launched = Vec::new();
    for ((parts, &lcore), q) in worker_parts.into_iter().zip(&d.worker_lcores).zip(assigned) {
        let (id, tx_queue) = (parts.id, q.tx_queue);
        let polls =
            q.rx.iter()
                .map(|r| format!("{}/{}", ports[usize::from(r.port)].name, r.queue))
                .collect::<Vec<_>>()
                .join(" ");
        if q.rx.is_empty() {
            tracing::warn!(
                worker = id,
                lcore,
                "more workers than receive queues: this worker polls none (it still transmits)"
            );
        }
        let mut worker = Worker::with_queues(
            DpdkIo::new(port_ids.clone(), offloads.clone(), tx_queue, pool)
                .with_flood_share_min(share_min),
            q.rx,
            shared.clone(),
            parts,
            options,
        );
        match eal.launch(lcore, move || worker.run()) {
            Ok(()) => launched.push(lcore),
            Err(e) => {
                shared.request_stop();
                launched.iter().for_each(|&l| eal.wait(l));
                return Err(e.into());
            }
        }
        tracing::info!(worker = id, lcore, rx = %polls, tx_queue, "worker started");
    }

    let devices = Arc::new(DpdkDevices { ports, pool });
    let applier = Applier::new(config.clone(), Some(config_file), usize::from(data_room));
    let state = AppState::new(shared.clone(), devices.clone(), applier).with_token(token);
    let served = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("vtepgw-mgmt")
        .enable_all()
        .build()?
        .block_on(async {
            let signals = Signals::register()?;
            vtepgw_mgmt::serve(
                listener,
                Limits::from_config(&config.management),
                state.clone(),
                signals.serve(state),
            )
            .await
        });

    tracing::info!("stopping");
    shared.request_stop();
    launched.iter().for_each(|&l| eal.wait(l));
    let _ = control_thread.join();
    devices.ports.iter().for_each(Port::close);
    drop(eal);
    served.with_context(|| format!("management API on {listen}"))
}

/// From what length flood copies share the payload: the environment's
/// `VTEPGW_FLOOD_SHARE_MIN` (bytes, or `off` for full copies always; for
/// measurements), else [`dpdk::FLOOD_SHARE_MIN`].
fn flood_share_min(env: Option<&str>) -> Option<usize> {
    match env.map(str::trim) {
        Some("off") => None,
        Some(n) => n.parse().ok().or(Some(dpdk::FLOOD_SHARE_MIN)),
        None => Some(dpdk::FLOOD_SHARE_MIN),
    }
}

#[cfg(test)]
mod tests {
    use super::eal_args;
    use vtepgw_config::Config;

    const MINIMAL: &str = "[underlay]\ndevice = \"u0\"\naddress = \"192.0.2.10/24\"\n";

    fn args(dataplane: &str) -> String {
        let text = format!("[dataplane]\n{dataplane}\neal_args = [\"--no-pci\"]\n{MINIMAL}");
        eal_args(&Config::from_toml_str(&text).unwrap()).join(" ")
    }

    #[test]
    fn lcores_run_on_their_own_cpus_unless_mapped() {
        assert_eq!(
            args("worker_lcores = [1, 2]"),
            "-l 0,1,2 --main-lcore 0 --no-pci"
        );
        assert_eq!(
            args("worker_lcores = [1, 2]\nlcore_cpus = { 2 = 0 }"),
            "--lcores 0,1,2@0 --main-lcore 0 --no-pci"
        );
    }
}
