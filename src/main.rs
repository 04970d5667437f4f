//! `vtepgw`: a DPDK VXLAN VTEP gateway.

// `run` (app, service, dpdk) is the gateway and links DPDK; the rest is
// the operator CLI, which builds without it (`--no-default-features`).
#[cfg(feature = "dpdk")]
mod app;
mod cli;
mod client;
// The DPDK layer is the one place that may use `unsafe` (FFI into DPDK);
// the workspace denies it everywhere else, and every block here carries a
// `// SAFETY:` comment (clippy::undocumented_unsafe_blocks).
#[cfg(feature = "dpdk")]
#[allow(unsafe_code)]
mod dpdk;
mod ops;
#[cfg(feature = "dpdk")]
mod service;
mod table;

use clap::Parser;
use cli::Command;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    cli::init_logging(cli.log_format);
    match cli.command {
        Command::Run { config: file } => run(&file),
        Command::CheckConfig { file } => cli::check_config(&file),
        Command::Show { what } => ops::run(&cli.api, |o| ops::show(o, &what)),
        Command::Vni { cmd } => ops::run(&cli.api, |o| ops::send(o, ops::vni(&cmd)?)),
        Command::Vtep { cmd } => ops::run(&cli.api, |o| ops::send(o, ops::vtep(&cmd))),
        Command::Mac { cmd } => ops::run(&cli.api, |o| ops::send(o, ops::mac(&cmd))),
        Command::Vlan { cmd } => ops::run(&cli.api, |o| ops::send(o, ops::vlan(&cmd))),
        Command::Config { cmd } => ops::run(&cli.api, |o| ops::config(o, &cmd)),
    }
}

/// `vtepgw run`: the gateway, until SIGINT or SIGTERM.
#[cfg(feature = "dpdk")]
fn run(file: &std::path::Path) -> ExitCode {
    match app::load_config(file).and_then(|c| app::run(c, file)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vtepgw: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `vtepgw run` in a build without the data plane.
#[cfg(not(feature = "dpdk"))]
fn run(_file: &std::path::Path) -> ExitCode {
    eprintln!(
        "vtepgw: this build is the operator CLI only (built without the `dpdk` feature); \
         `run` needs the default build, which links DPDK"
    );
    ExitCode::FAILURE
}
