//! Harness for the integration tests: real PostgreSQL and MariaDB (as `scripts/test.sh`
//! provides them), moto's server for the AWS APIs, and the connector driven through the
//! same JSON protocol Athena speaks.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use arrow::array::RecordBatch;
use arrow::datatypes::{Field, Schema, SchemaRef};
use athena_connector::client::{Client, InProcess};
use athena_connector::config::Config;
use athena_connector::handler::Connector;
use athena_connector::protocol::{Constraints, GetTableResponse, TableName};

pub mod check;
pub mod provisioning;
pub mod stand_ins;
pub mod tds;

pub const REGION: &str = "us-east-1";

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

/// `postgres://…` of the test server (as `scripts/services.sh` sets it up).
pub fn postgres_url() -> String {
    env_or(
        "ATHENA_TEST_POSTGRES",
        "postgres://athena:athena@127.0.0.1:5432/athena_test",
    )
}

pub fn mysql_url() -> String {
    env_or(
        "ATHENA_TEST_MYSQL",
        "mysql://athena:athena@127.0.0.1:3306/athena_test",
    )
}

/// `host:port` of the test MariaDB server.
pub fn mysql_server() -> String {
    let url = mysql_url();
    let rest = url.split_once('@').map_or(url.as_str(), |(_, r)| r);
    rest.split_once('/').map_or(rest, |(h, _)| h).to_owned()
}

/// The connector's connection string for database `db` of the test MariaDB server.
pub fn mysql_connection(db: &str) -> String {
    format!(
        "mysql://jdbc:mysql://{}/{db}?user=athena&password=athena",
        mysql_server()
    )
}

/// The connector's connection string for the test PostgreSQL database.
pub fn postgres_connection() -> String {
    let url = postgres_url();
    let hostport = url.split_once('@').map_or(url.as_str(), |(_, r)| r);
    format!("postgres://jdbc:postgresql://{hostport}?user=athena&password=athena")
}

/// A PostgreSQL connection for setting up and cross-checking; fails with what to run.
pub async fn postgres() -> sqlx::PgPool {
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(4)
        .connect(&postgres_url())
        .await
        .unwrap_or_else(|e| {
            panic!(
                "PostgreSQL at {} is not reachable ({e}); run scripts/test.sh",
                postgres_url()
            )
        })
}

pub async fn mysql() -> sqlx::MySqlPool {
    sqlx::mysql::MySqlPoolOptions::new()
        .max_connections(4)
        .connect(&mysql_url())
        .await
        .unwrap_or_else(|e| {
            panic!(
                "MariaDB at {} is not reachable ({e}); run scripts/test.sh",
                mysql_url()
            )
        })
}

/// Starts `program args` for the rest of this test process: spawned from a thread that lives
/// as long as the process, so the parent-death signal ends it with the process, not with the
/// test that started it.
pub fn spawn_for_process(
    program: &str,
    args: &[&str],
    envs: &[(&str, &str)],
    log: Option<std::path::PathBuf>,
) -> std::io::Result<Child> {
    let (tx, rx) = std::sync::mpsc::channel();
    let program = program.to_owned();
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    let envs: Vec<(String, String)> = envs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    std::thread::spawn(move || {
        let mut cmd = Command::new(&program);
        cmd.args(&args).envs(envs).stdout(Stdio::null());
        match &log {
            Some(path) => match std::fs::File::create(path) {
                Ok(f) => {
                    cmd.stderr(f.try_clone().map(Stdio::from).unwrap_or(Stdio::null()));
                    cmd.stdout(f);
                }
                Err(_) => {
                    cmd.stderr(Stdio::null());
                }
            },
            None => {
                cmd.stderr(Stdio::null());
            }
        }
        #[cfg(target_os = "linux")]
        unsafe {
            use std::os::unix::process::CommandExt;
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
        let _ = tx.send(cmd.spawn());
        loop {
            std::thread::park();
        }
    });
    rx.recv().expect("spawner thread")
}

/// A free TCP port on loopback.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Waits until something listens on `port`.
pub fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} did not listen on port {port}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

struct Moto {
    url: String,
    _child: Option<Child>,
}

/// moto's server: `ATHENA_TEST_MOTO_URL` if set, else one started for this test process
/// from `.venv/bin/moto_server` (or `ATHENA_TEST_MOTO`), which dies with the process.
pub fn moto_url() -> &'static str {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    &MOTO
        .get_or_init(|| {
            if let Ok(url) = std::env::var("ATHENA_TEST_MOTO_URL") {
                return Moto { url, _child: None };
            }
            let bin = std::env::var("ATHENA_TEST_MOTO").unwrap_or_else(|_| {
                concat!(env!("CARGO_MANIFEST_DIR"), "/../.venv/bin/moto_server").to_owned()
            });
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free port")
                .port();
            // Spawned from a thread that lives as long as the process, so that the
            // parent-death signal fires when the test process ends, not when a test does.
            let (tx, rx) = std::sync::mpsc::channel();
            let b = bin.clone();
            std::thread::spawn(move || {
                let mut cmd = Command::new(&b);
                cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null());
                #[cfg(target_os = "linux")]
                unsafe {
                    use std::os::unix::process::CommandExt;
                    cmd.pre_exec(|| {
                        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                        Ok(())
                    });
                }
                let _ = tx.send(cmd.spawn());
                loop {
                    std::thread::park();
                }
            });
            let child = rx
                .recv()
                .expect("moto spawner")
                .unwrap_or_else(|e| panic!("cannot start moto ({bin}: {e}); run scripts/test.sh"));
            let url = format!("http://127.0.0.1:{port}");
            let deadline = Instant::now() + Duration::from_secs(30);
            while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
                assert!(Instant::now() < deadline, "moto did not listen on {url}");
                std::thread::sleep(Duration::from_millis(100));
            }
            Moto {
                url,
                _child: Some(child),
            }
        })
        .url
}

/// What a spawned program needs to reach moto (as `AWS_ENDPOINT_URL` does for any SDK).
pub fn moto_env() -> [(&'static str, &'static str); 4] {
    [
        ("AWS_ENDPOINT_URL", moto_url()),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_REGION", REGION),
    ]
}

/// AWS SDK configuration for moto: fixed test credentials, one region.
pub async fn aws() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(REGION))
        .endpoint_url(moto_url())
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "testing", "testing", None, None, "tests",
        ))
        .load()
        .await
}

pub async fn s3() -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&aws().await)
            .force_path_style(true)
            .build(),
    )
}

/// An object's bytes, from moto's S3.
pub async fn s3_object(bucket: &str, key: &str) -> Vec<u8> {
    s3().await
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("s3://{bucket}/{key}: {e:?}"))
        .body
        .collect()
        .await
        .unwrap()
        .to_vec()
}

pub async fn create_bucket(name: &str) {
    let _ = s3().await.create_bucket().bucket(name).send().await;
}

/// Creates or overwrites a secret holding `username` and `password`.
pub async fn put_secret(name: &str, username: &str, password: &str) {
    let sm = aws_sdk_secretsmanager::Client::new(&aws().await);
    let value = serde_json::json!({"username": username, "password": password}).to_string();
    if sm
        .create_secret()
        .name(name)
        .secret_string(&value)
        .send()
        .await
        .is_err()
    {
        sm.put_secret_value()
            .secret_id(name)
            .secret_string(&value)
            .send()
            .await
            .expect("put secret");
    }
}

/// A connector configured from `vars` (as Lambda environment variables), AWS at moto.
pub async fn connector(vars: &[(&str, &str)]) -> Arc<Connector> {
    let config = Config::from_vars(vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    Arc::new(Connector::with_aws(config, aws().await))
}

/// A client (Athena's side) for `catalog` of `connector`, with S3 for spilled blocks.
pub async fn client(connector: Arc<Connector>, catalog: &str) -> Client {
    let mut c = Client::new(Arc::new(InProcess(connector)), catalog);
    c.store = Some(std::sync::Arc::new(
        athena_connector::spill::store::S3Store::new(s3().await),
    ));
    c.ping().await.expect("ping");
    c
}

/// POSTs `body` (JSON) to `url` (plain HTTP on loopback, e.g. moto's control API).
pub async fn http_post(url: &str, body: &str) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").expect("an http:// URL");
    let (host, path) = rest
        .split_once('/')
        .map(|(h, p)| (h, format!("/{p}")))
        .unwrap_or((rest, "/".into()));
    let mut s = tokio::net::TcpStream::connect(host).await.expect("connect");
    let request = format!("POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
    s.write_all(request.as_bytes()).await.expect("write");
    let mut response = Vec::new();
    s.read_to_end(&mut response).await.expect("read");
    assert!(
        response.starts_with(b"HTTP/1.1 2") || response.starts_with(b"HTTP/1.0 2"),
        "{}",
        String::from_utf8_lossy(&response)
    );
}

/// A binary of the workspace, built by `cargo test --workspace`.
pub fn workspace_binary(name: &str) -> std::path::PathBuf {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/debug")
        .join(name);
    assert!(
        path.is_file(),
        "{} is missing: run `cargo build --workspace` (scripts/test.sh does)",
        path.display()
    );
    path
}

/// A query's result: every split read and concatenated.
pub struct Read {
    pub table: GetTableResponse,
    pub splits: usize,
    pub batch: RecordBatch,
}

/// Reads `projection` of `schema.table` under `constraints`, as Athena would.
pub async fn read(
    client: &Client,
    schema: &str,
    table: &str,
    projection: &[&str],
    constraints: &Constraints,
) -> Result<Read, String> {
    let t = client
        .get_table(&TableName::new(schema, table), Default::default())
        .await
        .map_err(|e| e.to_string())?;
    let fields: Vec<Field> = projection
        .iter()
        .map(|p| {
            t.schema
                .field_with_name(p)
                .cloned()
                .map_err(|e| e.to_string())
        })
        .collect::<Result<_, _>>()?;
    let out: SchemaRef = Arc::new(Schema::new(fields));
    let splits = client
        .splits(&t, constraints)
        .await
        .map_err(|e| e.to_string())?;
    let mut batches = Vec::new();
    for s in splits.clone() {
        batches.extend(
            client
                .read_split(&t.table_name, out.clone(), s, constraints)
                .await
                .map_err(|e| e.to_string())?,
        );
    }
    let batch = arrow::compute::concat_batches(&out, &batches).map_err(|e| e.to_string())?;
    Ok(Read {
        table: t,
        splits: splits.len(),
        batch,
    })
}

/// Rows of the timestamp-filter tests: id and wall clock (UTC), microsecond precision,
/// before, around and after the epoch, some between two milliseconds.
pub const TIMESTAMP_ROWS: &[(i64, Option<&str>)] = &[
    (1, Some("1900-01-01 00:00:00")),
    (2, Some("1960-06-15 12:00:00.123456")),
    (3, Some("1969-12-31 23:59:59")),
    (4, Some("1969-12-31 23:59:59.5")),
    (5, Some("1969-12-31 23:59:59.999999")),
    (6, Some("1970-01-01 00:00:00")),
    (7, Some("1970-01-01 00:00:00.000001")),
    (8, Some("1970-01-01 00:00:01")),
    (9, Some("1999-12-31 23:59:59.9995")),
    (10, Some("2024-02-29 13:45:10.25")),
    (11, None),
    (12, Some("1960-06-15 12:00:00.123")),
];

/// One timestamp filter: what it is, the value set Athena would send, and the same
/// predicate as SQL over `{x}`, the column's value as Athena sees it (whole milliseconds,
/// floored, as DATEMILLI) in nanoseconds since the epoch, and `{c}`, the column.
pub struct TimestampCase {
    pub label: String,
    pub set: athena_connector::protocol::ValueSet,
    pub truth: String,
}

/// Filters on a timestamp column in every Arrow timestamp unit (second … nanosecond), without
/// a zone and with `UTC`, `+02:00` and `America/New_York` (an Arrow timestamp is an instant
/// counted from the UTC epoch whatever its zone), and in DATEMILLI, at instants before,
/// around and after the epoch, some between two milliseconds.
pub fn timestamp_cases() -> Vec<TimestampCase> {
    use arrow::datatypes::{DataType, TimeUnit};
    use athena_connector::protocol::{Range, Scalar, ValueSet};
    const S: i64 = 1_000_000_000;
    let at = |t: &str| -> i64 {
        let t = chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S%.f").unwrap();
        t.and_utc().timestamp_nanos_opt().unwrap()
    };
    let instants: Vec<i64> = vec![
        at("1900-01-01 00:00:00"),
        at("1960-06-15 12:00:00.123"),
        at("1960-06-15 12:00:00.123456"),
        at("1960-06-15 12:00:00.123456789"),
        -S,
        -S / 2,
        -S / 2 - 1,
        -1_000,
        -1,
        0,
        1,
        1_000,
        S,
        at("1999-12-31 23:59:59.999"),
        at("1999-12-31 23:59:59.9995"),
        at("2024-02-29 13:45:10.25"),
    ];
    // (type, nanoseconds per unit, a value of the type)
    let mut types: Vec<(DataType, i64)> = vec![(DataType::Date64, 1_000_000)];
    for (unit, per) in [
        (TimeUnit::Second, S),
        (TimeUnit::Millisecond, 1_000_000),
        (TimeUnit::Microsecond, 1_000),
        (TimeUnit::Nanosecond, 1),
    ] {
        for tz in [None, Some("UTC"), Some("+02:00"), Some("America/New_York")] {
            types.push((DataType::Timestamp(unit, tz.map(Into::into)), per));
        }
    }
    let scalar = |t: &DataType, ns: i64, per: i64| -> Scalar {
        match t {
            DataType::Date64 => Scalar::Date64(ns / per),
            DataType::Timestamp(unit, tz) => Scalar::Timestamp {
                value: ns / per,
                unit: *unit,
                tz: tz.clone(),
            },
            _ => unreachable!(),
        }
    };
    let mut cases = Vec::new();
    for (t, per) in &types {
        let zoned = matches!(t, DataType::Timestamp(_, Some(_)));
        let exact: Vec<i64> = instants.iter().copied().filter(|v| v % per == 0).collect();
        for &v in &exact {
            let s = || scalar(t, v, *per);
            let mut ops: Vec<(&str, ValueSet)> = vec![
                (
                    ">=",
                    ValueSet::ranges(t, vec![Range::between(t, Some((s(), true)), None)], false),
                ),
                (
                    "<=",
                    ValueSet::ranges(t, vec![Range::between(t, None, Some((s(), true)))], false),
                ),
            ];
            if !zoned {
                ops.extend([
                    (
                        ">",
                        ValueSet::ranges(
                            t,
                            vec![Range::between(t, Some((s(), false)), None)],
                            false,
                        ),
                    ),
                    (
                        "<",
                        ValueSet::ranges(
                            t,
                            vec![Range::between(t, None, Some((s(), false)))],
                            false,
                        ),
                    ),
                    ("=", ValueSet::ranges(t, vec![Range::equal(s())], false)),
                ]);
            }
            for (op, set) in ops {
                cases.push(TimestampCase {
                    label: format!("{t} {op} {v} ns"),
                    set,
                    truth: format!("{{x}} {op} {v}"),
                });
            }
        }
        // Lists and ranges with both ends, with NULL allowed or not.
        let sub = |v: i64| scalar(t, v - v.rem_euclid(*per), *per);
        let (a, b) = (exact[1], exact[exact.len() - 2]);
        let list = [instants[2], instants[5], 0, instants[15]];
        let list_ns: Vec<String> = list
            .iter()
            .map(|v| (v - v.rem_euclid(*per)).to_string())
            .collect();
        let list_ns = list_ns.join(", ");
        let values: Vec<Scalar> = list.iter().map(|v| sub(*v)).collect();
        cases.extend([
            TimestampCase {
                label: format!("{t} > {a} AND <= {b} ns, or NULL"),
                set: ValueSet::ranges(
                    t,
                    vec![Range::between(
                        t,
                        Some((scalar(t, a, *per), false)),
                        Some((scalar(t, b, *per), true)),
                    )],
                    true,
                ),
                truth: format!("({{x}} > {a} AND {{x}} <= {b}) OR {{c}} IS NULL"),
            },
            TimestampCase {
                label: format!("{t} IN ({list_ns}) ns"),
                set: ValueSet::values(t, &values, true, false).unwrap(),
                truth: format!("{{x}} IN ({list_ns})"),
            },
            TimestampCase {
                label: format!("{t} NOT IN ({list_ns}) ns, or NULL"),
                set: ValueSet::values(t, &values, false, true).unwrap(),
                truth: format!("{{x}} NOT IN ({list_ns}) OR {{c}} IS NULL"),
            },
            TimestampCase {
                label: format!("{t} IN points ({list_ns}) ns"),
                set: ValueSet::ranges(t, values.iter().cloned().map(Range::equal).collect(), false),
                truth: format!("{{x}} IN ({list_ns})"),
            },
        ]);
    }
    cases
}

/// Comparisons of a timestamp column with a constant as federation expressions (the
/// column on either side), as (label, expression, truth over `{x}` as in [`TimestampCase`]).
pub fn timestamp_expression_cases(
    column: &str,
) -> Vec<(String, athena_connector::protocol::Expression, String)> {
    use arrow::datatypes::{DataType, TimeUnit};
    use athena_connector::protocol::{value_block, ArrowType, Expression, Scalar};
    let instants: [i64; 6] = [
        -2_208_988_800_000_000_000,
        -301_233_599_876_543_211, // 1960-06-15 12:00:00.123456789
        -500_000_001,
        -1,
        0,
        946_684_799_999_500_000, // 1999-12-31 23:59:59.9995
    ];
    let mut out = Vec::new();
    for (t, per) in [
        (DataType::Date64, 1_000_000),
        (DataType::Timestamp(TimeUnit::Microsecond, None), 1_000),
        (
            DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())),
            1,
        ),
    ] {
        for v in instants {
            let v = v - v.rem_euclid(per);
            let s = match &t {
                DataType::Date64 => Scalar::Date64(v / per),
                DataType::Timestamp(unit, tz) => Scalar::Timestamp {
                    value: v / per,
                    unit: *unit,
                    tz: tz.clone(),
                },
                _ => unreachable!(),
            };
            let constant = Expression::Constant {
                values: value_block(&t, &[s]).unwrap(),
                arrow_type: ArrowType::from_data_type(&t).unwrap(),
            };
            let variable = Expression::Variable {
                column_name: column.into(),
                arrow_type: ArrowType::from_data_type(&DataType::Date64).unwrap(),
            };
            for (f, op, flipped) in [
                ("$less_than_or_equal", "<=", ">="),
                ("$greater_than", ">", "<"),
                ("$equal", "=", "="),
                ("$not_equal", "<>", "<>"),
            ] {
                for (args, op) in [
                    (vec![variable.clone(), constant.clone()], op),
                    (vec![constant.clone(), variable.clone()], flipped),
                ] {
                    let constant_first = matches!(args[0], Expression::Constant { .. });
                    out.push((
                        format!("{f}({t} {v} ns, constant first: {constant_first})"),
                        Expression::FunctionCall {
                            arrow_type: ArrowType::Bool,
                            function_name: f.into(),
                            arguments: args,
                        },
                        format!("{{x}} {op} {v}"),
                    ));
                }
            }
            // NOT(x = v): a row with NULL stays out, the others are compared.
            out.push((
                format!("$not($equal({t} {v} ns))"),
                Expression::FunctionCall {
                    arrow_type: ArrowType::Bool,
                    function_name: "$not".into(),
                    arguments: vec![Expression::FunctionCall {
                        arrow_type: ArrowType::Bool,
                        function_name: "$equal".into(),
                        arguments: vec![variable.clone(), constant.clone()],
                    }],
                },
                format!("NOT ({{x}} = {v})"),
            ));
        }
    }
    out
}

/// Reads `schema.t` under every timestamp filter case on each of `columns`, and returns
/// one line per case whose ids differ from the database's own answer: `database_ids` runs
/// `SELECT id … WHERE <truth> ORDER BY id`, the truth written with `{x}` replaced by
/// `epoch_ns(column)` (the value Athena sees, in nanoseconds) and `{c}` by the column.
pub async fn timestamp_filter_failures<F, Fut>(
    client: &Client,
    schema: &str,
    columns: &[&str],
    epoch_ns: impl Fn(&str) -> String,
    database_ids: F,
) -> Vec<String>
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Vec<i64>>,
{
    let mut cases: Vec<(String, String, Constraints, String)> = Vec::new();
    for column in columns {
        for case in timestamp_cases() {
            let constraints = Constraints {
                summary: [((*column).to_owned(), case.set)].into_iter().collect(),
                ..Default::default()
            };
            cases.push((case.label, (*column).to_owned(), constraints, case.truth));
        }
        for (label, e, truth) in timestamp_expression_cases(column) {
            let constraints = Constraints {
                expression: vec![e],
                ..Default::default()
            };
            cases.push((label, (*column).to_owned(), constraints, truth));
        }
    }
    let mut failures = Vec::new();
    for (label, column, constraints, truth) in cases {
        let truth = truth
            .replace("{x}", &epoch_ns(&column))
            .replace("{c}", &column);
        let want = database_ids(format!(
            "SELECT id FROM {schema}.t WHERE {truth} ORDER BY id"
        ))
        .await;
        match read(client, schema, "t", &["id"], &constraints).await {
            Ok(got) if check::ids(&got.batch, "id") == want => {}
            Ok(got) => failures.push(format!(
                "{column}: {label}: got {:?}, want {want:?}",
                check::ids(&got.batch, "id")
            )),
            Err(e) => failures.push(format!("{column}: {label}: {e}")),
        }
    }
    failures
}
