//! `provision grant FILE` / `provision revoke FILE`: the producer then the consumer steps,
//! in-process, for the subscription details in FILE (the shape the governance step produces).

use std::path::PathBuf;
use std::process::ExitCode;

use athena_provisioning::context::{Context, Settings};
use athena_provisioning::steps;
use athena_provisioning::subscription::SubscriptionDetails;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "provision",
    version,
    about = "Grant or revoke a consumer environment's access to a subscribed table"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create or reuse the environment's database user, grant SELECT, share the credentials.
    Grant { file: PathBuf },
    /// Revoke what the grant gave; the last asset drops the user and schedules the secrets' deletion.
    Revoke { file: PathBuf },
    /// Set a fresh password: producer secret, database, consumer copy.
    Rotate { file: PathBuf },
    /// Create the DynamoDB tracking tables (for a local setup; SAM creates them in AWS).
    Init,
    /// Map tables of a JDBC database into a Glue database (no crawler): one Glue table per
    /// source table, with the connector's types; a rerun with nothing changed writes nothing.
    MapAssets {
        /// The Glue connection of the source database (its JDBC URL and admin secret).
        #[arg(long)]
        connection: String,
        /// The project the connection and its admin secret must be tagged for.
        #[arg(long)]
        project: String,
        /// The Glue database to write the tables to (created when missing).
        #[arg(long)]
        database: String,
        /// `schema.table` patterns, `*` for any run of characters (MySQL: `database.table`).
        #[arg(long = "tables", required = true, num_args = 1..)]
        tables: Vec<String>,
        /// Remove mapped tables whose source table is gone.
        #[arg(long)]
        prune: bool,
        /// Overwrite tables edited by hand since they were mapped.
        #[arg(long)]
        overwrite: bool,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let settings = Settings::from_env();
    let producer = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let ctx = Context::new(settings, producer).await;
    let read = |file: &PathBuf| -> Result<SubscriptionDetails, String> {
        let bytes =
            std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        serde_json::from_slice(&bytes)
            .map_err(|e| format!("{}: not subscription details: {e}", file.display()))
    };
    let result: Result<serde_json::Value, (u8, String)> = match cli.command {
        Command::Grant { file } => match read(&file) {
            Ok(d) => steps::grant(&ctx, &d).await.map(|r| serde_json::to_value(r).expect("serializable")).map_err(|e| (1, e.to_string())),
            Err(e) => Err((2, e)),
        },
        Command::Revoke { file } => match read(&file) {
            Ok(d) => steps::revoke(&ctx, &d).await.map(|r| serde_json::to_value(r).expect("serializable")).map_err(|e| (1, e.to_string())),
            Err(e) => Err((2, e)),
        },
        Command::Rotate { file } => match read(&file) {
            Ok(d) => steps::rotate(&ctx, &d).await.map(|r| serde_json::to_value(r).expect("serializable")).map_err(|e| (1, e.to_string())),
            Err(e) => Err((2, e)),
        },
        Command::MapAssets {
            connection,
            project,
            database,
            tables,
            prune,
            overwrite,
        } => athena_provisioning::map_assets::map_assets(
            &ctx,
            &athena_provisioning::map_assets::MapRequest {
                connection,
                producer_project: project,
                database,
                tables,
                prune,
                overwrite,
            },
        )
        .await
        .map(|r| serde_json::to_value(r).expect("serializable"))
        .map_err(|e| (1, e.to_string())),
        Command::Init => athena_provisioning::tracking::create_tables(&ctx.dynamodb(), &ctx.settings)
            .await
            .map(|()| serde_json::json!({"tables": [ctx.settings.users_table, ctx.settings.subscriptions_table, ctx.settings.mappings_table]}))
            .map_err(|e| (1, e.to_string())),
    };
    match result {
        Ok(v) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&v).expect("serializable")
            );
            ExitCode::SUCCESS
        }
        Err((code, message)) => {
            eprintln!("error: {}", message.replace('\n', " "));
            ExitCode::from(code)
        }
    }
}
