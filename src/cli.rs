//! Command-line interface.

use clap::{Parser, Subcommand, ValueEnum};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// A DPDK VXLAN VTEP gateway: bridges VLANs on physical ports to VXLAN VNIs.
#[derive(Parser)]
#[command(version, about, long_about = None)]
pub struct Cli {
    /// Log format on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Human, global = true)]
    pub log_format: LogFormat,
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

#[derive(Subcommand)]
pub enum Command {
    /// Start the gateway: validate the config, start DPDK, run until SIGINT/SIGTERM.
    Run {
        /// The configuration file (TOML; see config/README.md).
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Validate a configuration file offline (including MTU rules) and exit:
    /// 0 if it is valid, 1 with the reasons if not. Starts nothing.
    CheckConfig {
        /// The configuration file to check.
        file: PathBuf,
    },
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
