use std::process::ExitCode;

use clap::Parser;

use sm_kernel::cli::Cli;
use sm_kernel::commands;
use sm_kernel::ui::Ui;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let ui = Ui::new(&cli.global);
    let code = match commands::run(&cli, &ui) {
        Ok(()) => 0,
        Err(e) => {
            ui.error(&e.to_string());
            e.exit_code()
        }
    };
    ExitCode::from(code as u8)
}
