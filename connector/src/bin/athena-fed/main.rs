//! `athena-fed`: the connector's command-line companion.
//!
//! `decode` reads any federation message and prints it re-serialized or explained.

mod decode;
mod explain;

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "athena-fed",
    version,
    about = "Athena Query Federation, on a laptop"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Read a federation message (request, response or function error) and print it
    /// re-serialized in the canonical form of a serde version.
    Decode {
        /// Serde version to write (2-6); default: the one the message itself implies.
        #[arg(long, value_name = "N")]
        serde_version: Option<i64>,
        /// Print the message for a person: schemas, rows, constraints as a predicate.
        #[arg(long)]
        explain: bool,
        /// The message; `-` or nothing reads standard input.
        file: Option<PathBuf>,
    },
}

/// Input that cannot be used: exit status 2 and one `error:` line.
pub struct UsageError(pub String);

fn read_input(file: Option<&PathBuf>) -> Result<Vec<u8>, UsageError> {
    match file {
        Some(path) if path.as_os_str() != "-" => std::fs::read(path)
            .map_err(|e| UsageError(format!("cannot read {}: {e}", path.display()))),
        _ => {
            let mut buf = Vec::new();
            std::io::stdin()
                .read_to_end(&mut buf)
                .map_err(|e| UsageError(format!("cannot read standard input: {e}")))?;
            Ok(buf)
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Decode {
            serde_version,
            explain,
            file,
        } => {
            read_input(file.as_ref()).and_then(|bytes| decode::run(&bytes, serde_version, explain))
        }
    };
    match result {
        Ok(output) => {
            print!("{output}");
            ExitCode::SUCCESS
        }
        Err(UsageError(message)) => {
            eprintln!("error: {}", message.replace('\n', " "));
            ExitCode::from(2)
        }
    }
}
