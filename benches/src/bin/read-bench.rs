//! `read-bench CONNECTION SCHEMA.TABLE [SPLIT_TARGET_BYTES] [PARALLEL]`: reads a whole table
//! into Arrow record batches through the connector's own read path (the splits GetSplits
//! would plan, each read as ReadRecords reads it), then drops them, and prints one JSON line:
//! rows, Arrow bytes, splits and the read time. `benches/run.sh` runs it beside its peers.

use std::time::Instant;

use arrow::array::RecordBatch;
use async_trait::async_trait;
use athena_connector::config::Config;
use athena_connector::handler::Connector;
use athena_connector::protocol::{Constraints, TableName};
use athena_connector::source::{BatchSink, ReadPlan, SourceError};
use futures_util::{stream, StreamExt, TryStreamExt};

/// Counts what a split produced, as a consumer that keeps nothing.
#[derive(Default)]
struct Count {
    rows: usize,
    bytes: usize,
}

#[async_trait]
impl BatchSink for Count {
    async fn push(&mut self, batch: RecordBatch) -> Result<(), SourceError> {
        self.rows += batch.num_rows();
        self.bytes += batch.get_array_memory_size();
        Ok(())
    }
}

async fn run(args: &[String]) -> Result<String, String> {
    let [connection, table, rest @ ..] = args else {
        return Err(
            "usage: read-bench CONNECTION SCHEMA.TABLE [SPLIT_TARGET_BYTES] [PARALLEL]".into(),
        );
    };
    let target = rest
        .first()
        .cloned()
        .unwrap_or_else(|| (128u64 << 20).to_string());
    let parallel: usize = match rest.get(1) {
        Some(p) => p
            .parse()
            .map_err(|_| format!("PARALLEL: not a number: {p}"))?,
        None => 2,
    };
    let (schema, name) = table
        .split_once('.')
        .ok_or_else(|| format!("expected SCHEMA.TABLE, found {table}"))?;
    let config = Config::from_vars([
        ("default".to_owned(), connection.clone()),
        ("split_target_bytes".to_owned(), target.clone()),
    ])
    .map_err(|e| e.to_string())?;
    let target: u64 = target
        .parse()
        .map_err(|_| "SPLIT_TARGET_BYTES: not a number")?;
    let connector = Connector::new(Ok(config));
    let started = Instant::now();
    let (source, _) = connector
        .source("default")
        .await
        .map_err(|e| e.to_string())?;
    let info = source
        .table(&TableName::new(schema, name))
        .await
        .map_err(|e| e.to_string())?;
    let constraints = Constraints::default();
    let mut splits = Vec::new();
    for partition in source
        .partitions(&info, &constraints)
        .await
        .map_err(|e| e.to_string())?
    {
        splits.extend(
            source
                .split_partition(&info, &partition, target)
                .await
                .map_err(|e| e.to_string())?,
        );
    }
    let schema_ref = info.schema();
    let counts: Vec<Count> = stream::iter(splits.iter())
        .map(|split| {
            let (source, info, schema_ref, constraints) =
                (source.clone(), &info, schema_ref.clone(), &constraints);
            async move {
                let mut count = Count::default();
                source
                    .read(
                        ReadPlan {
                            table: info,
                            schema: schema_ref,
                            constraints,
                            split,
                        },
                        &mut count,
                    )
                    .await
                    .map(|()| count)
                    .map_err(|e| e.to_string())
            }
        })
        .buffer_unordered(parallel.max(1))
        .try_collect()
        .await?;
    let seconds = started.elapsed().as_secs_f64();
    Ok(serde_json::json!({
        "rows": counts.iter().map(|c| c.rows).sum::<usize>(),
        "arrow_bytes": counts.iter().map(|c| c.bytes).sum::<usize>(),
        "splits": splits.len(),
        "read_s": (seconds * 1000.0).round() / 1000.0,
    })
    .to_string())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args).await {
        Ok(line) => {
            println!("{line}");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::from(2)
        }
    }
}
