//! The `feedletter` binary: parse the command line, start logging, run the
//! command, and turn an error into one line per cause and exit code 2.

use clap::Parser;
use feedletter::cli::{self, Cli};
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    feedletter::telemetry::init(cli.log_format);
    match cli::run(cli).await {
        Ok(code) => code,
        Err(e) => {
            // One line per cause, the outermost first.
            eprintln!("error: {}", format!("{e:#}").replace('\n', "\n  "));
            ExitCode::from(2)
        }
    }
}
