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

/// The emulator on a free port and the connector's bootstrap connected to it with `env`.
async fn lambda(env: &[(&str, &str)], log: &std::path::Path) -> (u16, Vec<std::process::Child>) {
    lambda_binary("bootstrap", env, log).await
}

/// The emulator on a free port and the Lambda binary `binary` connected to it with `env`.
async fn lambda_binary(
    binary: &str,
    env: &[(&str, &str)],
    log: &std::path::Path,
) -> (u16, Vec<std::process::Child>) {
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
        workspace_binary(binary).to_str().unwrap(),
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

/// The deployed form of `sam/connector-connection.yaml`: the function has only
/// `glue_connection`, and reads its connection string and variables from Glue at start.
#[tokio::test]
async fn the_lambda_configures_itself_from_a_glue_connection() {
    use aws_sdk_glue::types::{ConnectionInput, ConnectionPropertyKey, ConnectionType};
    let pg = postgres().await;
    pg.execute("DROP SCHEMA IF EXISTS lamglue CASCADE; CREATE SCHEMA lamglue; CREATE TABLE lamglue.t (id int); INSERT INTO lamglue.t SELECT generate_series(1, 5)")
        .await
        .unwrap();
    put_secret("lamglue-reader", "athena", "athena").await;
    let hostport = postgres_url().split_once('@').unwrap().1.to_owned();
    let glue = aws_sdk_glue::Client::new(&aws().await);
    let _ = glue
        .delete_connection()
        .connection_name("lamglue")
        .send()
        .await;
    glue.create_connection()
        .connection_input(
            ConnectionInput::builder()
                .name("lamglue")
                .connection_type(ConnectionType::Jdbc)
                .connection_properties(
                    ConnectionPropertyKey::JdbcConnectionUrl,
                    format!("jdbc:postgresql://{hostport}"),
                )
                .connection_properties(ConnectionPropertyKey::SecretId, "lamglue-reader")
                .athena_properties("partition_columns", "true")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let log = std::env::temp_dir().join(format!("bootstrap-glue-{}.log", std::process::id()));
    let endpoint = moto_url();
    let (port, mut children) = lambda(
        &[
            ("glue_connection", "lamglue"),
            ("AWS_ENDPOINT_URL", endpoint),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_REGION", REGION),
        ],
        &log,
    )
    .await;
    let c = Client::new(Arc::new(RuntimeApi { port }), "pg");
    let t = c
        .get_table(&TableName::new("lamglue", "t"), Default::default())
        .await
        .unwrap();
    // partition_columns came from the connection's AthenaProperties.
    assert_eq!(
        t.partition_columns,
        ["partition_schema_name", "partition_name"]
    );
    let mut rows = Vec::new();
    for s in c.splits(&t, &Constraints::default()).await.unwrap() {
        rows.extend(
            c.read_split(&t.table_name, t.schema.clone(), s, &Constraints::default())
                .await
                .unwrap(),
        );
    }
    let batch = arrow::compute::concat_batches(&t.schema, &rows).unwrap();
    assert_eq!(ids(&batch, "id"), (1..=5).collect::<Vec<_>>());
    for child in &mut children {
        let _ = child.kill();
    }
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

/// The provisioning Lambda binary as the governance account runs it, configured with the
/// variables `sam/governance.yaml` sets: a deleted environment's recorded grant becomes a
/// revoke routed to its producer account's workflow (the configured role and state machine
/// names, an execution name carrying the event), a table in an account not served is
/// refused, and a bad request is a function error naming the problem.
#[tokio::test]
async fn the_governance_function_routes_revokes_as_its_template_configures_it() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let settings = athena_provisioning::context::Settings {
        subscriptions_table: "lambda_gov_subscriptions".into(),
        users_table: "lambda_gov_users".into(),
        mappings_table: "lambda_gov_mappings".into(),
        ..integration_tests::provisioning::settings()
    };
    let dynamodb = aws_sdk_dynamodb::Client::new(&aws().await);
    athena_provisioning::tracking::create_tables(&dynamodb, &settings)
        .await
        .unwrap();
    for (env, asset, account) in [
        ("envL1", "assetL1", "111111111111"),
        ("envL2", "assetL2", "999999999999"),
    ] {
        let mut details = integration_tests::provisioning::details(env, asset, "t");
        details
            .asset_details
            .glue_table_details
            .as_mut()
            .unwrap()
            .account_id = account.into();
        dynamodb
            .put_item()
            .table_name("lambda_gov_subscriptions")
            .item("environment_id", AttributeValue::S(env.into()))
            .item("asset_id", AttributeValue::S(asset.into()))
            .item(
                "subscription_details",
                AttributeValue::S(serde_json::to_string(&details).unwrap()),
            )
            .send()
            .await
            .unwrap();
    }
    let log = std::env::temp_dir().join(format!("governance-{}.log", std::process::id()));
    let (port, mut children) = lambda_binary(
        "provisioning-lambda",
        &[
            &[
                ("ALLOWED_BLUEPRINTS", "DefaultDataLake"),
                ("PRODUCER_ACCOUNT_IDS", "111111111111,222222222222"),
                ("PRODUCER_WORKFLOW_ROLE_NAME", "wf-role"),
                ("SUBSCRIPTION_STATE_MACHINE_NAME", "sub-sm"),
                ("SUBSCRIPTIONS_TABLE", "lambda_gov_subscriptions"),
            ][..],
            &moto_env(),
        ]
        .concat(),
        &log,
    )
    .await;
    let api = RuntimeApi { port };
    let invoke = |event: serde_json::Value| {
        let api = &api;
        async move {
            api.call(event.to_string().into_bytes())
                .await
                .map(|body| serde_json::from_slice::<serde_json::Value>(&body).unwrap())
        }
    };
    let deleted = |env: &str| {
        serde_json::json!({"Step": "FanOut", "Event": {"id": "evt-7", "detail-type": "Environment Deletion Started",
            "detail": {"metadata": {"domain": "dzd_test"}, "data": {"environmentId": env}}}})
    };
    let out = invoke(deleted("envL1")).await.unwrap();
    let inputs = out["Inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 1, "{out}");
    assert_eq!(inputs[0]["Action"], "Revoke");
    assert_eq!(
        inputs[0]["Target"],
        serde_json::json!({
            "StateMachineArn": format!("arn:aws:states:{REGION}:111111111111:stateMachine:sub-sm"),
            "RoleArn": "arn:aws:iam::111111111111:role/wf-role"
        })
    );
    let name = inputs[0]["ExecutionName"].as_str().unwrap();
    assert!(
        name.starts_with("Revoke-envL1-assetL1-1-")
            && name.len() == "Revoke-envL1-assetL1-1-".len() + 16,
        "{name}"
    );
    let out = invoke(deleted("envL2")).await.unwrap();
    assert_eq!(
        out["Inputs"][0]["Refused"],
        "producer account 999999999999 is not served by this deployment (PRODUCER_ACCOUNT_IDS: 111111111111, 222222222222)"
    );
    assert!(out["Inputs"][0].get("Target").is_none(), "{out}");
    let err = invoke(serde_json::json!({"Step": "Nope"}))
        .await
        .unwrap_err();
    assert_eq!(err.error_type.as_deref(), Some("InvalidInput"));
    let message = err.error_message.unwrap_or_default();
    assert!(
        message.starts_with("invalid input: unknown Step \"Nope\""),
        "{message}"
    );
    for child in &mut children {
        let _ = child.kill();
    }
}

/// The built provisioning Lambda answers a toolkit product's custom resource request as
/// CloudFormation sends it: the ids of the launching role, PUT to the response URL.
#[tokio::test]
async fn the_provisioning_lambda_answers_a_product_launch() {
    use integration_tests::provisioning::{
        cfn_response_url, launch_request, product_stack, user_role,
    };
    user_role(
        "datazone_usr_lambda1",
        &[
            ("AmazonDataZoneDomain", "dzd_l"),
            ("AmazonDataZoneProject", "projL"),
            ("AmazonDataZoneEnvironment", "envLambda1"),
        ],
    )
    .await;
    let stack = product_stack(
        "SC-123456789012-pp-lambda1",
        Some("arn:aws:sts::123456789012:assumed-role/datazone_usr_lambda1/carol"),
    )
    .await;
    let log = std::env::temp_dir().join(format!("launch-ids-{}.log", std::process::id()));
    let (port, mut children) = lambda_binary("provisioning-lambda", &moto_env(), &log).await;
    let (url, got) = cfn_response_url().await;
    let request = launch_request(
        "Create",
        &url,
        &stack,
        serde_json::json!({"ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:athena-fed-launch-ids"}),
    );
    let answer = RuntimeApi { port }
        .call(request.to_string().into_bytes())
        .await
        .unwrap();
    let (_, body) = got.await.unwrap();
    for child in &mut children {
        let _ = child.kill();
    }
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&answer).unwrap(),
        body
    );
    assert_eq!(body["Status"], "SUCCESS", "{body}");
    assert_eq!(body["Data"]["EnvironmentId"], "envLambda1");
    assert_eq!(body["Data"]["ProjectId"], "projL");
    assert_eq!(body["Data"]["SecretPrefix"], "athena-fed-c-envLambda1-");
}
