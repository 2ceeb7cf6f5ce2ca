//! Valid requests of every type over the demo database (`demo.main.orders`), recorded from
//! the client's real call sequence: the seeds the hardening tests mutate, and the fuzz
//! target's corpus (`connector/fuzz/seeds/handle_request`, written by
//! `FUZZ_SEEDS_DIR=… cargo test --workspace --test invoke_mutated write_fuzz_seeds`).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use arrow::array::{Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema};
use async_trait::async_trait;
use athena_connector::client::{Client, InProcess, Transport};
use athena_connector::config::Config;
use athena_connector::handler::Connector;
use athena_connector::protocol::{
    Block, Constraints, Expression, FunctionError, GetDataSourceCapabilitiesRequest,
    ReadRecordsRequest, Request, RequestHeader, Scalar, SerDeVersion, Split, TableName,
    UserDefinedFunctionRequest, ValueSet,
};
use indexmap::IndexMap;

pub const CATALOG: &str = "demo";
pub const PASSTHROUGH_QUERY: &str = "SELECT id, note, shipping_fee FROM orders WHERE id <= 20";

/// The demo database, created once per test process in a directory of its own.
pub fn demo_db() -> &'static Path {
    static DB: OnceLock<PathBuf> = OnceLock::new();
    DB.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("athena-fed-hardening-{}", std::process::id()));
        let path = dir.join("demo.db");
        let p = path.clone();
        // Its own runtime on its own thread: callers may be inside a tokio runtime.
        std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(athena_connector::engine::demo::ensure(&p))
                .unwrap()
        })
        .join()
        .unwrap();
        path
    })
}

/// The connector's variables: the demo database for every catalog, a spill bucket (so
/// splits carry spill locations) that is never reached (see [`OFFLINE_AWS`]).
pub fn connector_vars() -> Vec<(String, String)> {
    vec![
        (
            "default".into(),
            format!("sqlite://{}", demo_db().display()),
        ),
        ("spill_bucket".into(), "athena-fed-hardening".into()),
    ]
}

/// AWS settings under which any S3 call (a spill) fails at once: a local port nothing
/// listens on, static credentials, one attempt, no instance metadata.
pub const OFFLINE_AWS: &[(&str, &str)] = &[
    ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
    ("AWS_ACCESS_KEY_ID", "hardening"),
    ("AWS_SECRET_ACCESS_KEY", "hardening"),
    ("AWS_REGION", "us-east-1"),
    ("AWS_MAX_ATTEMPTS", "1"),
    ("AWS_EC2_METADATA_DISABLED", "true"),
];

pub fn connector() -> Connector {
    Connector::new(Config::from_vars(connector_vars()))
}

/// Passes calls through, keeping each request's bytes.
struct Recorder {
    inner: InProcess,
    seen: Mutex<Vec<Vec<u8>>>,
}

#[async_trait]
impl Transport for Recorder {
    async fn call(&self, request: Vec<u8>) -> Result<Vec<u8>, FunctionError> {
        self.seen.lock().unwrap().push(request.clone());
        self.inner.call(request).await
    }
}

fn header(c: &Client) -> RequestHeader {
    RequestHeader {
        identity: c.identity.clone(),
        query_id: c.query_id.clone(),
        catalog_name: c.catalog.clone(),
    }
}

fn json(r: &Request) -> Vec<u8> {
    serde_json::to_vec(&r.to_json(SerDeVersion::V5).unwrap()).unwrap()
}

/// The constraints of the recorded read: a summary (IN list, range), an expression and
/// nothing Athena would not send.
fn constraints() -> Constraints {
    let mut c = Constraints::default();
    c.summary.insert(
        "status".into(),
        ValueSet::values(
            &DataType::Utf8,
            &[
                Scalar::Utf8("shipped".into()),
                Scalar::Utf8("pending".into()),
            ],
            true,
            false,
        )
        .unwrap(),
    );
    c.summary.insert(
        "customer_id".into(),
        ValueSet::ranges(
            &DataType::Int64,
            vec![athena_connector::protocol::Range::between(
                &DataType::Int64,
                Some((Scalar::Int64(10), true)),
                Some((Scalar::Int64(60), false)),
            )],
            false,
        ),
    );
    c
}

/// Every request type, each valid over the demo database, as JSON (serde v5), by name.
pub fn requests() -> &'static [(String, Vec<u8>)] {
    static ALL: OnceLock<Vec<(String, Vec<u8>)>> = OnceLock::new();
    ALL.get_or_init(|| {
        std::thread::spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(record())
        })
        .join()
        .unwrap()
    })
}

async fn record() -> Vec<(String, Vec<u8>)> {
    let recorder = Arc::new(Recorder {
        inner: InProcess(Arc::new(connector())),
        seen: Mutex::new(Vec::new()),
    });
    let mut c = Client::new(recorder.clone(), CATALOG);
    c.query_id = "hardening-0001".into();
    c.ping().await.unwrap();
    c.list_schemas().await.unwrap();
    c.list_tables("main", 2).await.unwrap();
    let table = c
        .get_table(&TableName::new("main", "orders"), IndexMap::new())
        .await
        .unwrap();
    let constraints = constraints();
    let split = c.splits(&table, &constraints).await.unwrap().remove(0);
    c.read_split(
        &table.table_name,
        table.schema.clone(),
        split.clone(),
        &constraints,
    )
    .await
    .unwrap();
    let passthrough: IndexMap<String, String> = [
        ("schemaFunctionName", "SYSTEM.QUERY"),
        ("QUERY", PASSTHROUGH_QUERY),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let qpt = c
        .get_table(&TableName::new("system", "query"), passthrough.clone())
        .await
        .unwrap();
    let mut seen: Vec<Vec<u8>> = recorder.seen.lock().unwrap().drain(..).collect();
    // The rest by hand: a passthrough read, capabilities, a UDF call.
    seen.push(json(&Request::ReadRecords(ReadRecordsRequest {
        header: header(&c),
        table_name: qpt.table_name.clone(),
        schema: qpt.schema.clone(),
        split: Split {
            spill_location: split.spill_location.clone(),
            encryption_key: split.encryption_key.clone(),
            properties: passthrough.clone(),
        },
        constraints: Constraints {
            query_passthrough_arguments: passthrough,
            ..Constraints::default()
        },
        max_block_size: c.max_block_size,
        max_inline_block_size: c.max_inline_block_size,
    })));
    seen.push(json(&Request::GetDataSourceCapabilities(
        GetDataSourceCapabilitiesRequest { header: header(&c) },
    )));
    let input = RecordBatch::try_new(
        Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, true)])),
        vec![Arc::new(Int64Array::from(vec![Some(1), None]))],
    )
    .unwrap();
    seen.push(json(&Request::UserDefinedFunction(
        UserDefinedFunctionRequest {
            identity: c.identity.clone(),
            input_records: Block::new("udf", input),
            output_schema: Arc::new(Schema::new(vec![Field::new("y", DataType::Int64, true)])),
            method_name: "double_it".into(),
            function_type: "SCALAR".into(),
        },
    )));
    // One with an expression, so function calls are seeded too.
    let mut with_expression = athena_connector::protocol::parse_request(
        seen.iter()
            .rev()
            .find(|s| s.starts_with(br#"{"@type":"ReadRecordsRequest""#))
            .unwrap(),
    )
    .unwrap()
    .message;
    if let Request::ReadRecords(r) = &mut with_expression {
        r.constraints.expression.push(expression());
        seen.push(json(&with_expression));
    }
    seen.into_iter()
        .enumerate()
        .map(|(i, bytes)| {
            let kind = athena_connector::protocol::parse_request(&bytes)
                .unwrap()
                .message
                .type_name();
            (format!("{i:02}-{kind}"), bytes)
        })
        .collect()
}

/// `shipping_fee > 5 OR note IS NULL`, as Athena writes it.
fn expression() -> Expression {
    use athena_connector::protocol::{value_block, ArrowType};
    let var = |name: &str, t: &DataType| Expression::Variable {
        column_name: name.into(),
        arrow_type: ArrowType::from_data_type(t).unwrap(),
    };
    let bool_type = ArrowType::from_data_type(&DataType::Boolean).unwrap();
    let fee = DataType::Decimal128(8, 2);
    let call = |name: &str, arguments: Vec<Expression>| Expression::FunctionCall {
        arrow_type: bool_type.clone(),
        function_name: name.into(),
        arguments,
    };
    call(
        "$or",
        vec![
            call(
                "$greater_than",
                vec![
                    var("shipping_fee", &fee),
                    Expression::Constant {
                        values: value_block(
                            &fee,
                            &[Scalar::Decimal {
                                value: 500,
                                precision: 8,
                                scale: 2,
                            }],
                        )
                        .unwrap(),
                        arrow_type: ArrowType::from_data_type(&fee).unwrap(),
                    },
                ],
            ),
            call("$is_null", vec![var("note", &DataType::Utf8)]),
        ],
    )
}

/// The recorded ReadRecordsRequest over `orders` (every column), parsed.
pub fn read_records() -> ReadRecordsRequest {
    let (_, bytes) = requests()
        .iter()
        .find(|(name, _)| name.ends_with("ReadRecordsRequest"))
        .unwrap();
    match athena_connector::protocol::parse_request(bytes)
        .unwrap()
        .message
    {
        Request::ReadRecords(r) => r,
        _ => unreachable!(),
    }
}

/// The recorded passthrough ReadRecordsRequest, parsed.
pub fn passthrough_read() -> ReadRecordsRequest {
    requests()
        .iter()
        .filter(|(name, _)| name.ends_with("ReadRecordsRequest"))
        .map(|(_, bytes)| {
            athena_connector::protocol::parse_request(bytes)
                .unwrap()
                .message
        })
        .find_map(|m| match m {
            Request::ReadRecords(r) if r.constraints.is_query_passthrough() => Some(r),
            _ => None,
        })
        .unwrap()
}

pub fn to_json(r: &Request) -> Vec<u8> {
    json(r)
}
