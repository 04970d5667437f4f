//! `vtepgw`: a DPDK VXLAN VTEP gateway.

mod app;
mod cli;
mod dpdk;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    cli::init_logging(cli.log_format);
    match cli.command {
        cli::Command::Run { config } => match app::load_config(&config).and_then(app::run) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("vtepgw: {e:#}");
                ExitCode::FAILURE
            }
        },
        cli::Command::CheckConfig { file } => cli::check_config(&file),
    }
}
