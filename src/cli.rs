//! Command-line interface: the gateway itself (`run`), offline config
//! checks (`check-config`), and operator commands that talk to a running
//! gateway's management API.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// A DPDK VXLAN VTEP gateway: bridges VLANs on physical ports to VXLAN VNIs.
///
/// `vtepgw run` starts the gateway. The other commands except
/// `check-config` are operator commands: they talk to a running gateway's
/// management API (http://127.0.0.1:9180 by default; see `--api`). Every
/// change goes through the gateway's validation and is applied
/// all-or-nothing; a refused change prints the reason for each offending
/// field and exits with status 1.
#[derive(Parser)]
#[command(version, about, long_about)]
pub struct Cli {
    /// Log format on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Human, global = true)]
    pub log_format: LogFormat,
    #[command(flatten)]
    pub api: ApiArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Human,
    /// One JSON object per line, for log collectors.
    Json,
}

/// How operator commands reach the gateway.
#[derive(Args, Clone)]
#[command(next_help_heading = "Operator command options")]
pub struct ApiArgs {
    /// Base URL of the gateway's management API (`management.listen`).
    #[arg(long, global = true, default_value = "http://127.0.0.1:9180")]
    pub api: String,
    /// File holding the bearer token, when the gateway has
    /// `management.token_file` set (the same file works). Needed for
    /// changes only; reads never need it.
    #[arg(long, global = true, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Print the API's JSON instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    /// Change only if the running config is still this generation (as
    /// printed by the last change or `show config`); sent as `If-Match`.
    /// Another operator's change in between makes it fail, changing nothing.
    #[arg(long, global = true, value_name = "GENERATION")]
    pub if_match: Option<u64>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Start the gateway: validate the config, start DPDK, run until SIGINT/SIGTERM.
    ///
    /// SIGHUP re-reads FILE and applies it all-or-nothing, like
    /// `config apply`; a refused file is logged by field and changes nothing.
    ///
    /// The management API and /metrics listen on `management.listen`
    /// (127.0.0.1:9180 by default). When `management.token_file` is set,
    /// every API request other than GET must carry
    /// `Authorization: Bearer <token>` (the file's content, trimmed);
    /// otherwise it is refused with 401 and changes nothing.
    /// `POST /api/v1/config/save` writes the running config back to FILE.
    Run {
        /// The configuration file (TOML; see config/examples/).
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Validate a configuration file offline (including MTU rules) and exit:
    /// 0 if it is valid, 1 with the reasons if not. Starts nothing.
    CheckConfig {
        /// The configuration file to check.
        file: PathBuf,
    },
    /// Show state of the running gateway: VNIs, MACs, counters, routes, config...
    Show {
        #[command(subcommand)]
        what: Show,
    },
    /// Add, change or remove a VNI.
    Vni {
        #[command(subcommand)]
        cmd: VniCmd,
    },
    /// Add or remove a remote VTEP in a VNI's replication (flood) list.
    Vtep {
        #[command(subcommand)]
        cmd: VtepCmd,
    },
    /// Pin a MAC to a remote VTEP (static MAC), or unpin it.
    Mac {
        #[command(subcommand)]
        cmd: MacCmd,
    },
    /// Bind a VLAN of a physical port to a VNI, or unbind it.
    Vlan {
        #[command(subcommand)]
        cmd: VlanCmd,
    },
    /// Validate, apply or save the running gateway's whole configuration.
    Config {
        #[command(subcommand)]
        cmd: ConfigCmd,
    },
}

#[derive(Subcommand)]
pub enum Show {
    /// VNIs: bindings, replication list, learning, MAC count, traffic.
    Vnis,
    /// One VNI's configuration.
    Vni {
        /// The VNI.
        vni: u32,
    },
    /// The MAC tables (learned and static), optionally filtered.
    Macs {
        /// Only this VNI.
        #[arg(long)]
        vni: Option<u32>,
        /// Only this MAC.
        #[arg(long)]
        mac: Option<String>,
        /// Only MACs behind this remote VTEP.
        #[arg(long)]
        vtep: Option<Ipv4Addr>,
    },
    /// Traffic per port, VNI and remote VTEP, and drops by reason.
    Counters,
    /// Physical ports: device, MTU, VLAN bindings.
    Ports,
    /// The running configuration, in the config file's TOML form.
    Config,
    /// Per VNI: overlay MTU, underlay MTU, what the underlay needs, margin.
    Mtu,
    /// Remote VTEPs: next hop, ARP state, traffic.
    Vteps,
    /// Underlay multicast groups: VNIs, IGMP membership, querier, traffic.
    Groups,
    /// Workers: packets, busy cycles, polls, cycles per packet.
    Workers,
    /// L3 interfaces (VNI gateway and routed interfaces): VRF, address, MAC, MTU, routed traffic.
    Interfaces,
    /// The L3 gateway's IPv4 routes (connected and static), by VRF and prefix.
    Route {
        /// Only this VRF.
        #[arg(long, value_name = "NAME")]
        vrf: Option<String>,
    },
    /// The L3 gateway's neighbours (its ARP table): interface, IP, MAC, age.
    Arp {
        /// Only this VRF.
        #[arg(long, value_name = "NAME")]
        vrf: Option<String>,
    },
}

/// VNI settings that `vni add` and `vni set` share.
#[derive(Args)]
pub struct VniSettings {
    /// Seconds an idle learned MAC is kept (default 300).
    #[arg(long, value_name = "SECS")]
    pub ageing: Option<u32>,
    /// Most learned MACs (default 4096).
    #[arg(long, value_name = "N")]
    pub mac_limit: Option<u32>,
    /// Overlay IP MTU (default: the largest MTU of its ports).
    #[arg(long)]
    pub mtu: Option<u16>,
    /// Underlay multicast group for BUM instead of a flood list.
    #[arg(long)]
    pub group: Option<Ipv4Addr>,
}

#[derive(Subcommand)]
pub enum VniCmd {
    /// Add a VNI (it carries traffic once a VLAN is bound to it).
    Add {
        /// The VNI, 1 to 16777215.
        vni: u32,
        /// A remote VTEP that gets the VNI's BUM traffic (repeatable).
        #[arg(long = "flood", value_name = "IP")]
        flood: Vec<Ipv4Addr>,
        /// Do not learn MACs (only static MACs and flooding).
        #[arg(long)]
        no_learning: bool,
        #[command(flatten)]
        settings: VniSettings,
    },
    /// Change some settings of a VNI; the others stay.
    Set {
        /// The VNI.
        vni: u32,
        /// Learn MACs from traffic (true or false).
        #[arg(long)]
        learning: Option<bool>,
        #[command(flatten)]
        settings: VniSettings,
    },
    /// Remove a VNI (refused while a port VLAN is bound to it).
    Remove {
        /// The VNI.
        vni: u32,
    },
}

#[derive(Subcommand)]
pub enum VtepCmd {
    /// Add a remote VTEP to a VNI's replication list.
    Add {
        /// The VNI.
        vni: u32,
        /// The remote VTEP's underlay address.
        ip: Ipv4Addr,
    },
    /// Remove a remote VTEP from a VNI's replication list.
    Remove {
        /// The VNI.
        vni: u32,
        /// The remote VTEP's underlay address.
        ip: Ipv4Addr,
    },
}

#[derive(Subcommand)]
pub enum MacCmd {
    /// Pin MAC (in VNI) to a remote VTEP: never learned elsewhere, never aged.
    Add {
        /// The VNI.
        vni: u32,
        /// The MAC, e.g. 02:00:00:00:00:01.
        mac: String,
        /// The remote VTEP it lives behind.
        vtep: Ipv4Addr,
    },
    /// Remove a static MAC.
    Remove {
        /// The VNI.
        vni: u32,
        /// The MAC.
        mac: String,
    },
}

#[derive(Subcommand)]
pub enum VlanCmd {
    /// Bridge VLAN on PORT to VNI.
    Add {
        /// The port's name.
        port: String,
        /// The VLAN id, 1 to 4094.
        vlan: u16,
        /// The VNI (it must exist).
        vni: u32,
    },
    /// Remove the binding of VLAN on PORT.
    Remove {
        /// The port's name.
        port: String,
        /// The VLAN id.
        vlan: u16,
    },
}

#[derive(Subcommand)]
pub enum ConfigCmd {
    /// Check FILE against the rules and the running gateway (what could be
    /// applied live, what needs a restart); applies nothing. Exit 1 if it
    /// is invalid.
    Validate {
        /// A TOML config file.
        file: PathBuf,
    },
    /// Replace the running configuration with FILE, all-or-nothing.
    Apply {
        /// A TOML config file.
        file: PathBuf,
    },
    /// Write the running configuration to the gateway's config file.
    Save,
}

/// Sets up `tracing` on stderr; `RUST_LOG` overrides the default `info` level.
pub fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colours only on a terminal: log files and journald get plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// `vtepgw check-config FILE`.
pub fn check_config(file: &Path) -> ExitCode {
    match vtepgw_config::Config::load(file) {
        Ok(config) => {
            for w in config.validate().unwrap_or_default() {
                println!("warning: {w}");
            }
            println!(
                "{}: valid ({} ports, {} VNIs)",
                file.display(),
                config.port.len(),
                config.vni.len()
            );
            ExitCode::SUCCESS
        }
        Err(errors) => {
            println!("{}: invalid", file.display());
            for e in &errors.0 {
                println!("  {e}");
            }
            ExitCode::FAILURE
        }
    }
}
