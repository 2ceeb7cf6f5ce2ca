//! The built Lambda binary against a real Lambda Runtime API (cargo-lambda's emulator),
//! driven with the federation call sequence over HTTP.

use std::sync::Arc;

use arrow::datatypes::DataType;
use async_trait::async_trait;
use athena_connector::client::{Client, Transport};
use athena_connector::protocol::{
    parse_message, Constraints, FunctionError, Message, Range, Scalar, TableName, ValueSet,
};
use integration_tests::check::ids;
use integration_tests::*;
use sqlx::Executor;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Invokes function `_` through the emulator's invoke endpoint.
struct RuntimeApi {
    port: u16,
}

#[async_trait]
impl Transport for RuntimeApi {
    async fn call(&self, request: Vec<u8>) -> Result<Vec<u8>, FunctionError> {
        let io = |e: std::io::Error| FunctionError::new("HttpError", e.to_string());
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .map_err(io)?;
        let head = format!(
            "POST /2015-03-31/functions/_/invocations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            request.len()
        );
        s.write_all(head.as_bytes()).await.map_err(io)?;
        s.write_all(&request).await.map_err(io)?;
        let mut response = Vec::new();
        s.read_to_end(&mut response).await.map_err(io)?;
        let split = response
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .ok_or_else(|| FunctionError::new("HttpError", "no HTTP header"))?;
        let (head, body) = (
            String::from_utf8_lossy(&response[..split]).into_owned(),
            response[split + 4..].to_vec(),
        );
        let body = if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            dechunk(&body)
        } else {
            body
        };
        if head.starts_with("HTTP/1.1 200") {
            Ok(body)
        } else {
            match parse_message(&body).map(|p| p.message) {
                Ok(Message::Error(e)) => Err(e),
                _ => Err(FunctionError::new(
                    "HttpError",
                    format!("{head}: {}", String::from_utf8_lossy(&body)),
                )),
            }
        }
    }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(i) = b.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(String::from_utf8_lossy(&b[..i]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.extend_from_slice(&b[i + 2..i + 2 + size]);
        b = &b[i + 2 + size + 2..];
    }
    out
}

fn cargo_lambda() -> String {
    std::env::var("ATHENA_TEST_CARGO_LAMBDA").unwrap_or_else(|_| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../.venv-lambda/bin/cargo-lambda"
        )
        .to_owned()
    })
}

/// The emulator on a free port and the bootstrap binary connected to it with `env`.
async fn lambda(env: &[(&str, &str)], log: &std::path::Path) -> (u16, Vec<std::process::Child>) {
    let port = free_port();
    let emulator = spawn_for_process(
        &cargo_lambda(),
        &[
            "lambda",
            "watch",
            "--only-lambda-apis",
            "-A",
            "127.0.0.1",
            "-P",
            &port.to_string(),
        ],
        &[],
        None,
    )
    .unwrap_or_else(|e| {
        panic!(
            "cannot start cargo-lambda ({}: {e}); run scripts/test.sh",
            cargo_lambda()
        )
    });
    wait_for_port(port, "cargo lambda watch");
    let runtime = format!("http://127.0.0.1:{port}/.rt");
    let mut vars = vec![
        ("AWS_LAMBDA_FUNCTION_VERSION", "1"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512"),
        ("AWS_LAMBDA_RUNTIME_API", runtime.as_str()),
        ("AWS_LAMBDA_FUNCTION_NAME", "_"),
    ];
    vars.extend_from_slice(env);
    let bootstrap = spawn_for_process(
        workspace_binary("bootstrap").to_str().unwrap(),
        &[],
        &vars,
        Some(log.to_owned()),
    )
    .expect("bootstrap starts");
    (port, vec![emulator, bootstrap])
}

#[tokio::test]
async fn ping_get_table_and_read_records_through_the_runtime_api() {
    let pg = postgres().await;
    pg.execute("DROP SCHEMA IF EXISTS lam CASCADE; CREATE SCHEMA lam; CREATE TABLE lam.t (id int, name text); INSERT INTO lam.t SELECT g, 'n' || g FROM generate_series(1, 100) g;")
        .await
        .unwrap();
    let hostport = postgres_url().split_once('@').unwrap().1.to_owned();
    let conn =
        format!("postgres://jdbc:postgresql://{hostport}?user=athena&password=Never-In-Logs-42");
    let log = std::env::temp_dir().join(format!("bootstrap-{}.log", std::process::id()));
    let (port, mut children) = lambda(
        &[
            ("default", conn.as_str()),
            ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
        ],
        &log,
    )
    .await;
    let mut c = Client::new(Arc::new(RuntimeApi { port }), "pg");
    let version = c.ping().await.expect("Ping through the Runtime API");
    assert_eq!(version, 5);
    let t = c
        .get_table(&TableName::new("lam", "t"), Default::default())
        .await
        .unwrap();
    assert_eq!(
        t.schema
            .fields()
            .iter()
            .map(|f| f.data_type().clone())
            .collect::<Vec<_>>(),
        [DataType::Int32, DataType::Utf8]
    );
    let constraints = Constraints {
        summary: [(
            "id".to_owned(),
            ValueSet::ranges(
                &DataType::Int32,
                vec![Range::between(
                    &DataType::Int32,
                    Some((Scalar::Int32(90), false)),
                    None,
                )],
                false,
            ),
        )]
        .into_iter()
        .collect(),
        ..Default::default()
    };
    let splits = c.splits(&t, &constraints).await.unwrap();
    let mut rows = Vec::new();
    for s in splits {
        rows.extend(
            c.read_split(&t.table_name, t.schema.clone(), s, &constraints)
                .await
                .unwrap(),
        );
    }
    let batch = arrow::compute::concat_batches(&t.schema, &rows).unwrap();
    assert_eq!(ids(&batch, "id"), (91..=100).collect::<Vec<_>>());
    let err = c
        .get_table(&TableName::new("lam", "missing"), Default::default())
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("GetTableRequest on pg.lam.missing: table lam.missing not found"),
        "{err}"
    );
    for child in &mut children {
        let _ = child.kill();
    }
    let logs = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<serde_json::Value> = logs
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["fields"]["request"] == "ReadRecordsRequest"
                && l["fields"]["query_id"].is_string()
                && l["fields"]["duration_ms"].is_u64()),
        "{logs}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l["fields"]["message"] == "read split" && l["fields"]["rows"] == 10),
        "{logs}"
    );
    assert!(
        !logs.contains("Never-In-Logs-42"),
        "a password reached the logs"
    );
}

#[tokio::test]
async fn a_configuration_error_is_reported_on_the_first_request() {
    let log = std::env::temp_dir().join(format!("bootstrap-bad-{}.log", std::process::id()));
    let (port, mut children) = lambda(&[("default", "postgres://not-a-jdbc-url")], &log).await;
    let mut c = Client::new(Arc::new(RuntimeApi { port }), "pg");
    c.ping().await.expect("Ping still answers");
    let err = c.list_schemas().await.err().unwrap().to_string();
    assert!(
        err.contains("environment variable default: unsupported JDBC URL"),
        "{err}"
    );
    for child in &mut children {
        let _ = child.kill();
    }
}

/// `athena-fed query --lambda`: the real `lambda:Invoke` client, pointed at the emulator
/// (it serves the same Invoke REST path as AWS Lambda).
#[tokio::test]
async fn athena_fed_queries_a_lambda_through_invoke() {
    let lite = std::env::temp_dir().join(format!("lambda-invoke-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&lite);
    let pool = sqlx::SqlitePool::connect_with(
        sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&lite)
            .create_if_missing(true),
    )
    .await
    .unwrap();
    pool.execute("CREATE TABLE t (id INTEGER, name TEXT); INSERT INTO t VALUES (1, 'one'), (2, 'two'), (3, 'three');").await.unwrap();
    pool.close().await;
    let conn = format!("sqlite://{}", lite.display());
    let log = std::env::temp_dir().join(format!("bootstrap-invoke-{}.log", std::process::id()));
    let (port, mut children) = lambda(&[("default", conn.as_str())], &log).await;
    let endpoint = format!("http://127.0.0.1:{port}");
    let out = std::process::Command::new(workspace_binary("athena-fed"))
        .args([
            "query",
            "--lambda",
            "remote=_",
            "--format",
            "arrow",
            "SELECT id, name FROM remote.main.t WHERE id >= 2 ORDER BY id",
        ])
        .env("AWS_ENDPOINT_URL", &endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", REGION)
        .output()
        .unwrap();
    for child in &mut children {
        let _ = child.kill();
    }
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reader =
        arrow::ipc::reader::StreamReader::try_new(std::io::Cursor::new(out.stdout), None).unwrap();
    let batches: Vec<_> = reader.collect::<Result<_, _>>().unwrap();
    let batch = arrow::compute::concat_batches(&batches[0].schema(), &batches).unwrap();
    assert_eq!(
        integration_tests::check::column_text(&batch, "name"),
        vec![Some("two".to_owned()), Some("three".to_owned())]
    );
}
