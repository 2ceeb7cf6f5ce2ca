//! `athena-fed`: the connector's command-line companion.
//!
//! `decode` reads any federation message and prints it re-serialized or explained;
//! `invoke` handles one request exactly as the Lambda would; `sql` prints the statement a
//! ReadRecordsRequest would run.

mod decode;
mod explain;
mod invoke;
mod query;

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
    /// Handle one request JSON as the Lambda would (configuration from the environment:
    /// `default`, `<catalog>_connection_string`, `spill_bucket`, …) and print the response.
    Invoke {
        /// The request; `-` or nothing reads standard input.
        file: Option<PathBuf>,
    },
    /// Run SQL over the registered catalogs, with DataFusion playing Athena: every table
    /// is read through the federation protocol. Without any catalog configured, a demo
    /// SQLite database (catalog `demo`) is created and used.
    Query {
        /// The SQL (DataFusion dialect); tables as catalog.schema.table, or unqualified in
        /// the first catalog's main schema.
        sql: String,
        /// A catalog and its connection string (repeatable), e.g.
        /// pg=postgres://jdbc:postgresql://localhost:5432/db?${secret}. The Lambda's
        /// variables (`default`, `<catalog>_connection_string`, …) are read too.
        #[arg(long = "catalog", value_name = "NAME=CONNECTION_STRING")]
        catalogs: Vec<String>,
        /// A deployed connector reached through lambda:Invoke (repeatable).
        #[arg(long = "lambda", value_name = "NAME=FUNCTION")]
        lambdas: Vec<String>,
        /// Splits read at once.
        #[arg(long, default_value_t = 4)]
        parallelism: usize,
        /// Output format.
        #[arg(long, value_enum, default_value_t = query::Format::Table)]
        format: query::Format,
        /// Print each split's pushed-down SQL and what DataFusion evaluates itself.
        #[arg(long)]
        explain: bool,
    },
    /// Print the SQL and parameters a ReadRecordsRequest would run.
    Sql {
        /// The request; `-` or nothing reads standard input.
        file: Option<PathBuf>,
    },
}

/// Input that cannot be used: exit status 2 and one `error:` line.
pub struct UsageError(pub String);

/// A failure of the connector itself: exit status 1 and one `error:` line.
pub enum Failure {
    Usage(UsageError),
    Connector(String),
}

impl From<UsageError> for Failure {
    fn from(e: UsageError) -> Failure {
        Failure::Usage(e)
    }
}

/// glibc gives each thread that allocates under contention an arena of its own (up to 8
/// per core) and keeps what is freed in each; block buffers allocated on one thread and
/// freed on another (spill reads run on the blocking pool) then pile up as retained memory.
/// Two arenas keep the engine's peak set by its blocks in flight, not by how many threads
/// happened to touch them.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; called before the work starts.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

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

#[tokio::main]
async fn main() -> ExitCode {
    limit_malloc_arenas();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "error".into()),
        )
        .with_writer(std::io::stderr)
        // Colour codes only for a person reading a terminal, never in a captured log.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    let result: Result<String, Failure> = match cli.command {
        Command::Decode {
            serde_version,
            explain,
            file,
        } => read_input(file.as_ref())
            .and_then(|bytes| decode::run(&bytes, serde_version, explain))
            .map_err(Failure::from),
        Command::Invoke { file } => match read_input(file.as_ref()) {
            Ok(bytes) => invoke::invoke(&bytes).await,
            Err(e) => Err(e.into()),
        },
        Command::Query {
            sql,
            catalogs,
            lambdas,
            parallelism,
            format,
            explain,
        } => {
            query::run(query::Args {
                sql,
                catalogs,
                lambdas,
                parallelism,
                format,
                explain,
            })
            .await
        }
        Command::Sql { file } => match read_input(file.as_ref()) {
            Ok(bytes) => invoke::sql(&bytes).await,
            Err(e) => Err(e.into()),
        },
    };
    match result {
        Ok(output) => {
            print!("{output}");
            ExitCode::SUCCESS
        }
        Err(Failure::Usage(UsageError(message))) => {
            eprintln!("error: {}", message.replace('\n', " "));
            ExitCode::from(2)
        }
        Err(Failure::Connector(message)) => {
            eprintln!("error: {}", message.replace('\n', " "));
            ExitCode::from(1)
        }
    }
}
