//! `vtepgw`: a DPDK VXLAN VTEP gateway.

mod app;
mod cli;
mod client;
mod dpdk;
mod ops;
mod service;
mod table;

use clap::Parser;
use cli::Command;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    cli::init_logging(cli.log_format);
    match cli.command {
        Command::Run { config: file } => {
            match app::load_config(&file).and_then(|c| app::run(c, &file)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("vtepgw: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::CheckConfig { file } => cli::check_config(&file),
        Command::Show { what } => ops::run(&cli.api, |o| ops::show(o, &what)),
        Command::Vni { cmd } => ops::run(&cli.api, |o| ops::send(o, ops::vni(&cmd)?)),
        Command::Vtep { cmd } => ops::run(&cli.api, |o| ops::send(o, ops::vtep(&cmd))),
        Command::Mac { cmd } => ops::run(&cli.api, |o| ops::send(o, ops::mac(&cmd))),
        Command::Vlan { cmd } => ops::run(&cli.api, |o| ops::send(o, ops::vlan(&cmd))),
        Command::Config { cmd } => ops::run(&cli.api, |o| ops::config(o, &cmd)),
    }
}
