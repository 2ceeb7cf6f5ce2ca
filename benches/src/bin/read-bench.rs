//! `read-bench CONNECTION SCHEMA.TABLE [SPLIT_TARGET_BYTES] [PARALLEL]`: reads a whole table
//! into Arrow record batches through the connector's own read path (the splits GetSplits
//! would plan, each read as ReadRecords reads it), then drops them, and prints one JSON line:
//! rows, Arrow bytes, splits and the read time. `benches/run.sh` runs it beside its peers.
//!
//! `read-bench --full …` (same arguments) measures what Athena pays for instead: each split
//! as a ReadRecords request through the Lambda handler, from request JSON to response JSON:
//! the read, Arrow IPC encoding, AES-GCM encryption (unless `disable_spill_encryption=true`)
//! and the PutObject of every spilled block to `spill_bucket` (at `AWS_ENDPOINT_URL`). After
//! the clock stops the blocks are deleted, or with `BENCH_VERIFY=1` read back, counted and
//! deleted (`rows` is then the count, else null).

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
    if let Some(("--full", rest)) = args.split_first().map(|(f, r)| (f.as_str(), r)) {
        return full_path(rest).await;
    }
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
                .map_err(|e| e.to_string())?
                .iter()
                .map(athena_connector::source::TableSlice::to_properties),
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

/// The Lambda's whole path per split: ReadRecords JSON in, spilled blocks in S3, JSON out.
async fn full_path(args: &[String]) -> Result<String, String> {
    use athena_connector::client::{Client, InProcess};
    use athena_connector::protocol::Response;
    use athena_connector::spill::store::S3Store;
    use std::sync::Arc;

    let [connection, table, target, parallel] = args else {
        return Err(
            "usage: read-bench --full CONNECTION SCHEMA.TABLE SPLIT_TARGET_BYTES PARALLEL".into(),
        );
    };
    let parallel: usize = parallel
        .parse()
        .map_err(|_| format!("PARALLEL: not a number: {parallel}"))?;
    let (schema, name) = table
        .split_once('.')
        .ok_or_else(|| format!("expected SCHEMA.TABLE, found {table}"))?;
    let mut vars: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| {
            [
                "spill_bucket",
                "spill_prefix",
                "disable_spill_encryption",
                "MAX_BLOCK_SIZE_BYTES",
            ]
            .contains(&k.as_str())
        })
        .collect();
    vars.push(("default".to_owned(), connection.clone()));
    vars.push(("split_target_bytes".to_owned(), target.clone()));
    let config = Config::from_vars(vars).map_err(|e| e.to_string())?;
    if config.spill.bucket.is_none() {
        return Err("--full needs spill_bucket (and AWS_ENDPOINT_URL for a local S3)".into());
    }
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let connector = Arc::new(Connector::with_aws(Ok(config), aws.clone()));
    let mut client = Client::new(Arc::new(InProcess(connector)), "default");
    client.store = Some(Arc::new(S3Store::from_config(&aws)));
    client.delete_after_read = true;
    let constraints = Constraints::default();
    let started = Instant::now();
    let t = client
        .get_table(&TableName::new(schema, name), Default::default())
        .await
        .map_err(|e| e.to_string())?;
    let splits = client
        .splits(&t, &constraints)
        .await
        .map_err(|e| e.to_string())?;
    let responses: Vec<Response> = stream::iter(splits.iter().cloned())
        .map(|split| {
            let (client, t, constraints) = (&client, &t, &constraints);
            async move {
                client
                    .read_records(&t.table_name, t.schema.clone(), split, constraints)
                    .await
                    .map_err(|e| e.to_string())
            }
        })
        .buffer_unordered(parallel.max(1))
        .try_collect()
        .await?;
    let seconds = started.elapsed().as_secs_f64();
    // Outside the clock: the blocks deleted, or read back (and deleted) to count the rows.
    let verify = std::env::var("BENCH_VERIFY").is_ok_and(|v| v == "1");
    let store = client.store.clone().ok_or("no spill store")?;
    let (mut rows, mut blocks) = (0usize, 0usize);
    for r in responses {
        let Response::RemoteReadRecords(remote) = &r else {
            if let Response::ReadRecords(inline) = &r {
                rows += inline.records.num_rows();
            }
            continue;
        };
        blocks += remote.remote_blocks.len();
        if verify {
            rows += client
                .blocks(r)
                .map_err(|e| e.to_string())?
                .try_fold(0, |n, b| async move { Ok(n + b.num_rows()) })
                .await
                .map_err(|e| e.to_string())?;
        } else {
            for block in &remote.remote_blocks {
                store.delete(block).await.map_err(|e| e.to_string())?;
            }
        }
    }
    Ok(serde_json::json!({
        "rows": verify.then_some(rows),
        "splits": splits.len(),
        "spilled_blocks": blocks,
        "read_s": (seconds * 1000.0).round() / 1000.0,
    })
    .to_string())
}

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // BENCH_RUNTIME=current_thread: one thread polls the socket itself (no hand-off between
    // worker threads on every wake-up); the default is tokio's multi-thread runtime, as in
    // the Lambda.
    let runtime = match std::env::var("BENCH_RUNTIME").as_deref() {
        Ok("current_thread") => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
        _ => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build(),
    };
    let runtime = match runtime {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    match runtime.block_on(run(&args)) {
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
