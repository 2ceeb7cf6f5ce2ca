//! Memory stays bounded however large the table (upstream #420): one-split reads of
//! ~33 MB and ~130 MB by `athena-fed invoke` (the connector's request handler, one process
//! per request, as in Lambda), spilled to S3 in 4 MB blocks, peak at about the same memory.
//! Its own test binary, so the peak (`RUSAGE_CHILDREN`) is only these processes'.

use std::io::Write;
use std::sync::Arc;

use async_trait::async_trait;
use athena_connector::client::{Client, Transport};
use athena_connector::protocol::{Constraints, FunctionError, TableName};
use integration_tests::*;
use sqlx::Executor;

/// Each request handled by a fresh `athena-fed invoke -` with the connector's environment.
struct InvokeProcess {
    env: Vec<(String, String)>,
}

#[async_trait]
impl Transport for InvokeProcess {
    async fn call(&self, request: Vec<u8>) -> Result<Vec<u8>, FunctionError> {
        let env = self.env.clone();
        tokio::task::spawn_blocking(move || {
            let mut child = std::process::Command::new(workspace_binary("athena-fed"))
                .args(["invoke", "-"])
                .envs(env)
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .map_err(|e| FunctionError::new("Spawn", e.to_string()))?;
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(&request)
                .map_err(|e| FunctionError::new("Stdin", e.to_string()))?;
            let out = child
                .wait_with_output()
                .map_err(|e| FunctionError::new("Wait", e.to_string()))?;
            if out.status.success() {
                Ok(out.stdout)
            } else {
                Err(FunctionError::new(
                    "Invoke",
                    String::from_utf8_lossy(&out.stderr).into_owned(),
                ))
            }
        })
        .await
        .map_err(|e| FunctionError::new("Join", e.to_string()))?
    }
}

/// The largest resident set of any child process waited for so far, in MiB.
fn children_peak_mib() -> f64 {
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes into the struct we own.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    assert_eq!(rc, 0);
    usage.ru_maxrss as f64 / 1024.0 // Linux reports KiB
}

/// Reads `schema.t` as one split through `athena-fed invoke` processes, spilling 4 MB
/// blocks; checks every row came back once and returns the spilled bytes.
async fn read_spilled(schema: &str, rows: i64, env: &[(String, String)]) -> u64 {
    let mut c = Client::new(Arc::new(InvokeProcess { env: env.to_vec() }), "pg");
    c.store = Some(std::sync::Arc::new(
        athena_connector::spill::store::S3Store::new(s3().await),
    ));
    c.max_block_size = 4_000_000;
    c.max_inline_block_size = 1_000_000;
    let t = c
        .get_table(&TableName::new(schema, "t"), Default::default())
        .await
        .unwrap();
    let splits = c.splits(&t, &Constraints::default()).await.unwrap();
    assert_eq!(splits.len(), 1);
    let batches = c
        .read_split(
            &t.table_name,
            t.schema.clone(),
            splits[0].clone(),
            &Constraints::default(),
        )
        .await
        .unwrap();
    let count: usize = batches.iter().map(|b| b.num_rows()).sum();
    let ids: i64 = batches
        .iter()
        .map(|b| {
            arrow::compute::sum(
                b.column(0)
                    .as_any()
                    .downcast_ref::<arrow::array::Int64Array>()
                    .unwrap(),
            )
            .unwrap_or(0)
        })
        .sum();
    assert_eq!(
        (count as i64, ids),
        (rows, rows * (rows + 1) / 2),
        "every row once"
    );
    let spilled = s3()
        .await
        .list_objects_v2()
        .bucket("memory-spill")
        .prefix(format!(
            "{}/{}/",
            athena_connector::config::DEFAULT_SPILL_PREFIX,
            c.query_id
        ))
        .send()
        .await
        .unwrap();
    assert!(!spilled.is_truncated().unwrap_or(false));
    spilled
        .contents()
        .iter()
        .map(|o| o.size().unwrap_or(0) as u64)
        .sum()
}

#[tokio::test]
async fn a_large_split_spills_in_bounded_memory() {
    let pg = postgres().await;
    for (schema, rows) in [("mem_small", 100_000), ("mem_large", 400_000)] {
        pg.execute(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema};
             CREATE TABLE {schema}.t (id int8, pad text);
             INSERT INTO {schema}.t SELECT g, repeat(md5(g::text), 10) FROM generate_series(1, {rows}) g;"
        )))
        .await
        .unwrap();
    }
    create_bucket("memory-spill").await;
    let rest = postgres_url().split_once('@').unwrap().1.to_owned();
    let env: Vec<(String, String)> = [
        (
            "default",
            format!("postgres://jdbc:postgresql://{rest}?user=athena&password=athena"),
        ),
        ("spill_bucket", "memory-spill".to_owned()),
        // (Encryption is tested elsewhere; in a debug build it only slows this test.)
        ("disable_spill_encryption", "true".to_owned()),
        // One split for the whole table: one process holds the whole read.
        ("split_target_bytes", "100000000000".to_owned()),
        ("AWS_ENDPOINT_URL", moto_url().to_owned()),
        ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
        ("AWS_REGION", REGION.to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let small_bytes = read_spilled("mem_small", 100_000, &env).await;
    let small_peak = children_peak_mib();
    let large_bytes = read_spilled("mem_large", 400_000, &env).await;
    let large_peak = children_peak_mib();
    let mib = |b: u64| b as f64 / f64::from(1 << 20);
    eprintln!(
        "spilled {:.0} MiB with a peak of {small_peak:.0} MiB; {:.0} MiB with a peak of {large_peak:.0} MiB",
        mib(small_bytes),
        mib(large_bytes)
    );
    assert!(mib(large_bytes) > 120.0, "{large_bytes}");
    // Four times the data, about the same memory: it depends on the block size, not the table.
    assert!(
        large_peak - small_peak < 16.0 && large_peak < 128.0,
        "peak RSS {small_peak:.0} MiB for {:.0} MiB, {large_peak:.0} MiB for {:.0} MiB: memory grows with the table",
        mib(small_bytes),
        mib(large_bytes)
    );
}
