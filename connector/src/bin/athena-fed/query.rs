//! `athena-fed query "SQL"`: DataFusion plays Athena over the registered catalogs.

use std::io::{IsTerminal, Write};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use athena_connector::client::{InProcess, Transport};
use athena_connector::config::Config;
use athena_connector::engine::lambda::LambdaTransport;
use athena_connector::engine::{demo, Engine, SpillReader};
use athena_connector::handler::Connector;
use athena_connector::spill::store::{BlockStore, S3Store, TempSpillDir};
use datafusion::error::DataFusionError;
use datafusion::physical_plan::displayable;
use futures_util::TryStreamExt;

use crate::{Failure, UsageError};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Csv,
    Json,
    Arrow,
}

pub struct Args {
    pub sql: String,
    pub catalogs: Vec<String>,
    pub lambdas: Vec<String>,
    pub parallelism: usize,
    pub format: Format,
    pub explain: bool,
}

fn split_pair(flag: &str, text: &str) -> Result<(String, String), UsageError> {
    match text.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() && !value.trim().is_empty() => {
            Ok((name.trim().to_owned(), value.trim().to_owned()))
        }
        _ => Err(UsageError(format!(
            "{flag} takes NAME=VALUE, found \"{text}\""
        ))),
    }
}

/// Configuration variables (the environment plus the flags) and the catalogs they define.
struct Catalogs {
    vars: Vec<(String, String)>,
    names: Vec<String>,
}

fn catalogs(args: &Args) -> Result<Catalogs, UsageError> {
    let mut vars: Vec<(String, String)> = std::env::vars().collect();
    for c in &args.catalogs {
        let (name, conn) = split_pair("--catalog", c)?;
        vars.push((format!("{name}_connection_string"), conn));
    }
    let mut names: Vec<String> = Vec::new();
    for (k, v) in &vars {
        if v.trim().is_empty() {
            continue;
        }
        if k == "default" {
            names.push("default".into());
        } else if let Some(n) = k
            .strip_suffix("_connection_string")
            .filter(|n| !n.is_empty())
        {
            names.push(n.to_ascii_lowercase());
        }
    }
    names.sort();
    names.dedup();
    Ok(Catalogs { vars, names })
}

fn failure(e: DataFusionError) -> Failure {
    let root = e.find_root();
    match root {
        DataFusionError::External(_)
        | DataFusionError::ArrowError(..)
        | DataFusionError::IoError(_)
        | DataFusionError::Execution(_) => Failure::Connector(e.to_string()),
        _ => Failure::Usage(UsageError(e.to_string())),
    }
}

pub async fn run(args: Args) -> Result<String, Failure> {
    let Catalogs {
        mut vars,
        mut names,
    } = catalogs(&args)?;
    if names.is_empty() && args.lambdas.is_empty() {
        // The embedded default: a demo database, created on first use.
        let path = demo::default_path();
        demo::ensure(&path).await.map_err(Failure::Connector)?;
        vars.push((
            "demo_connection_string".into(),
            format!("sqlite://{}", path.display()),
        ));
        names.push("demo".into());
    }
    let engine = Engine::new(args.parallelism);
    let spill_bucket = vars
        .iter()
        .any(|(k, v)| k == "spill_bucket" && !v.trim().is_empty());
    let needs_aws =
        spill_bucket || !args.lambdas.is_empty() || vars.iter().any(|(_, v)| v.contains("${"));
    let aws = if needs_aws {
        Some(aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await)
    } else {
        None
    };
    let s3 = aws
        .as_ref()
        .map(|a| Arc::new(S3Store::from_config(a)) as Arc<dyn BlockStore>);
    // Without a spill bucket, in-process catalogs spill to a directory of this run's,
    // removed when the query ends (this guard lives until then).
    let spill_dir = if spill_bucket || names.is_empty() {
        None
    } else {
        let home = demo::home_dir();
        Some(TempSpillDir::new(&home).map_err(|e| {
            Failure::Connector(format!(
                "cannot create a spill directory under {}: {e} (set ATHENA_FED_HOME to a writable directory)",
                home.display()
            ))
        })?)
    };
    let config = Config::from_vars(vars);
    let mut connector = match &aws {
        Some(a) => Connector::with_aws(config, a.clone()),
        None => Connector::new(config),
    };
    let in_process_spill = match &spill_dir {
        Some(dir) => {
            connector = connector.with_local_spill(dir.store());
            SpillReader {
                store: Some(dir.store()),
                delete_after_read: true,
            }
        }
        None => SpillReader {
            store: s3.clone(),
            delete_after_read: false,
        },
    };
    let connector = Arc::new(connector);
    let mut registered: Vec<(String, Vec<String>)> = Vec::new();
    for name in &names {
        let transport: Arc<dyn Transport> = Arc::new(InProcess(connector.clone()));
        let schemas = engine
            .register(name, transport, in_process_spill.clone())
            .await
            .map_err(|e| Failure::Connector(format!("catalog {name}: {e}")))?;
        registered.push((name.clone(), schemas));
    }
    for l in &args.lambdas {
        let (name, function) = split_pair("--lambda", l)?;
        let aws = aws
            .clone()
            .expect("AWS configuration is loaded when --lambda is given");
        let transport: Arc<dyn Transport> = Arc::new(LambdaTransport {
            client: aws_sdk_lambda::Client::new(&aws),
            function,
        });
        let spill = SpillReader {
            store: s3.clone(),
            delete_after_read: false,
        };
        let schemas = engine
            .register(&name, transport, spill)
            .await
            .map_err(|e| Failure::Connector(format!("catalog {name}: {e}")))?;
        registered.push((name.to_ascii_lowercase(), schemas));
    }
    // Unqualified names resolve in the first catalog's main schema.
    if let Some((catalog, schemas)) = registered.first() {
        let schema = ["main", "public", "default"]
            .iter()
            .find_map(|p| schemas.iter().find(|s| s.eq_ignore_ascii_case(p)))
            .or_else(|| schemas.first())
            .cloned()
            .unwrap_or_default();
        let state = engine.ctx.state_ref();
        let mut state = state.write();
        let options = state.config_mut().options_mut();
        options.catalog.default_catalog = catalog.clone();
        options.catalog.default_schema = schema.to_lowercase();
    }
    let df = engine.sql(&args.sql).await.map_err(failure)?;
    if args.explain {
        let plan = df.create_physical_plan().await.map_err(failure)?;
        let mut out = String::from("Pushed down to the connectors:\n");
        for line in engine.explain_scans(&plan).await {
            out.push_str(&line);
            out.push('\n');
        }
        out.push_str("\nEvaluated by DataFusion (physical plan):\n");
        out.push_str(&displayable(plan.as_ref()).indent(true).to_string());
        return Ok(out);
    }
    let progress = engine.progress.clone();
    let started = Instant::now();
    let reporter = std::io::stderr().is_terminal().then(|| {
        let progress = progress.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            loop {
                let rows = progress.rows.load(Ordering::Relaxed);
                let secs = started.elapsed().as_secs_f64().max(0.001);
                eprint!(
                    "\r{}/{} splits, {rows} rows, {:.0} rows/s   ",
                    progress.splits_done.load(Ordering::Relaxed),
                    progress.splits_total.load(Ordering::Relaxed),
                    rows as f64 / secs
                );
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        })
    });
    let schema = df.schema().inner().clone();
    let mut stream = df.execute_stream().await.map_err(failure)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let write_err =
        |e: &dyn std::fmt::Display| Failure::Connector(format!("cannot write the result: {e}"));
    let result = async {
        match args.format {
            Format::Table => {
                let mut batches = Vec::new();
                while let Some(b) = stream.try_next().await.map_err(failure)? {
                    batches.push(b);
                }
                stop(reporter.as_ref());
                if batches.is_empty() {
                    batches.push(arrow::array::RecordBatch::new_empty(schema.clone()));
                }
                let table = arrow::util::pretty::pretty_format_batches(&batches)
                    .map_err(|e| write_err(&e))?;
                let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
                writeln!(out, "{table}\n{rows} row(s)").map_err(|e| write_err(&e))?;
            }
            Format::Csv => {
                let mut w = arrow::csv::WriterBuilder::new()
                    .with_header(true)
                    .build(&mut out);
                let mut any = false;
                while let Some(b) = stream.try_next().await.map_err(failure)? {
                    w.write(&b).map_err(|e| write_err(&e))?;
                    any = true;
                }
                if !any {
                    w.write(&arrow::array::RecordBatch::new_empty(schema.clone()))
                        .map_err(|e| write_err(&e))?;
                }
            }
            Format::Json => {
                let mut w = arrow::json::ArrayWriter::new(&mut out);
                while let Some(b) = stream.try_next().await.map_err(failure)? {
                    w.write(&b).map_err(|e| write_err(&e))?;
                }
                w.finish().map_err(|e| write_err(&e))?;
                writeln!(out).map_err(|e| write_err(&e))?;
            }
            Format::Arrow => {
                let mut w = arrow::ipc::writer::StreamWriter::try_new(&mut out, &schema)
                    .map_err(|e| write_err(&e))?;
                while let Some(b) = stream.try_next().await.map_err(failure)? {
                    w.write(&b).map_err(|e| write_err(&e))?;
                }
                w.finish().map_err(|e| write_err(&e))?;
            }
        }
        out.flush().map_err(|e| write_err(&e))?;
        Ok::<(), Failure>(())
    }
    .await;
    stop(reporter.as_ref());
    drop(stream);
    drop(engine);
    drop(spill_dir);
    result.map(|()| String::new())
}

fn stop(reporter: Option<&tokio::task::JoinHandle<()>>) {
    if let Some(r) = reporter {
        if !r.is_finished() {
            r.abort();
            eprint!("\r\x1b[2K");
        }
    }
}
