//! `athena-fed decode`, run as a user would: the binary, files and standard input.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use arrow::array::{Decimal128Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use athena_connector::protocol::*;
use common::*;
use indexmap::IndexMap;
use serde_json::Value;

fn athena_fed(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_athena-fed"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("athena-fed runs");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or_default()).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    assert!(
        o.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).unwrap()
}

/// Exit status 2 and exactly one `error:` line.
fn usage_error(o: &Output) -> String {
    assert_eq!(
        o.status.code(),
        Some(2),
        "stdout: {}",
        String::from_utf8_lossy(&o.stdout)
    );
    let err = String::from_utf8(o.stderr.clone()).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(o.stdout.is_empty());
    err.trim_end().to_owned()
}

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

/// The shipped example: a v5 ReadRecordsRequest over a realistic orders table.
fn example_read_records() -> Request {
    let schema = Arc::new(Schema::new(vec![
        Field::new("order_id", DataType::Int64, true),
        Field::new("customer", DataType::Utf8, true),
        Field::new("amount", DataType::Decimal128(12, 2), true),
    ]));
    let single = |name: &str, a: arrow::array::ArrayRef| {
        Block::new(
            "example",
            RecordBatch::try_new(
                Arc::new(Schema::new(vec![Field::new(
                    name,
                    a.data_type().clone(),
                    true,
                )])),
                vec![a],
            )
            .unwrap(),
        )
    };
    let amount = |v: i128| {
        Arc::new(
            Decimal128Array::from(vec![v])
                .with_precision_and_scale(12, 2)
                .unwrap(),
        ) as arrow::array::ArrayRef
    };
    let empty_amount = Arc::new(
        Decimal128Array::from(Vec::<i128>::new())
            .with_precision_and_scale(12, 2)
            .unwrap(),
    ) as arrow::array::ArrayRef;
    let constraints = Constraints {
        summary: IndexMap::from([
            (
                "amount".to_owned(),
                ValueSet::SortedRange {
                    arrow_type: ArrowType::Decimal {
                        precision: 12,
                        scale: 2,
                    },
                    ranges: vec![Range {
                        low: Marker {
                            value_block: single("col1", amount(10000)),
                            bound: Bound::Exactly,
                            null_value: false,
                        },
                        high: Marker {
                            value_block: single("col1", empty_amount),
                            bound: Bound::Below,
                            null_value: true,
                        },
                    }],
                    null_allowed: false,
                },
            ),
            (
                "status".to_owned(),
                ValueSet::Equatable {
                    values: single(
                        "col1",
                        Arc::new(StringArray::from(vec!["shipped", "delivered"])),
                    ),
                    white_list: true,
                    null_allowed: false,
                },
            ),
        ]),
        expression: vec![Expression::FunctionCall {
            arrow_type: ArrowType::Bool,
            function_name: "$like_pattern".into(),
            arguments: vec![
                Expression::Variable {
                    column_name: "customer".into(),
                    arrow_type: ArrowType::Utf8,
                },
                Expression::Constant {
                    values: single("col1", Arc::new(StringArray::from(vec!["A%"]))),
                    arrow_type: ArrowType::Utf8,
                },
            ],
        }],
        order_by: vec![OrderByField {
            column_name: "amount".into(),
            direction: SortDirection::DescNullsLast,
        }],
        limit: 10,
        query_passthrough_arguments: IndexMap::new(),
        query_plan: None,
    };
    let _ = Int64Array::from(Vec::<i64>::new());
    Request::ReadRecords(ReadRecordsRequest {
        header: RequestHeader {
            identity: FederatedIdentity {
                id: Some("UNKNOWN".into()),
                principal: Some("UNKNOWN".into()),
                account: Some("123456789012".into()),
                arn: Some("arn:aws:sts::123456789012:assumed-role/analyst/alice".into()),
                ..Default::default()
            },
            query_id: "4c1d2f0e-example".into(),
            catalog_name: "shop".into(),
        },
        table_name: TableName::new("public", "orders"),
        schema,
        split: Split {
            spill_location: Some(SpillLocation {
                bucket: "my-spill-bucket".into(),
                key: "athena-spill/4c1d2f0e-example/split-0".into(),
                directory: true,
            }),
            encryption_key: Some(EncryptionKey {
                key: vec![7; 32],
                nonce: vec![9; 12],
            }),
            properties: IndexMap::from([("partition_name".to_owned(), "*".to_owned())]),
        },
        constraints,
        max_block_size: 16_000_000,
        max_inline_block_size: 5_242_880,
    })
}

/// `examples/read-records-request.json` is what the API writes today
/// (`UPDATE_EXAMPLES=1 cargo test` rewrites it).
#[test]
fn shipped_example_is_current() {
    let path = examples_dir().join("read-records-request.json");
    let json =
        serde_json::to_string_pretty(&example_read_records().to_json(SerDeVersion::V5).unwrap())
            .unwrap()
            + "\n";
    if std::env::var_os("UPDATE_EXAMPLES").is_some() {
        std::fs::write(&path, &json).unwrap();
    }
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        json,
        "run UPDATE_EXAMPLES=1 cargo test --workspace"
    );
}

#[test]
fn explain_prints_constraints_as_a_predicate() {
    let path = examples_dir().join("read-records-request.json");
    let out = stdout(&athena_fed(
        &["decode", "--explain", path.to_str().unwrap()],
        None,
    ));
    assert!(
        out.starts_with("ReadRecordsRequest (serde v5, modern Arrow framing)\n"),
        "{out}"
    );
    assert!(out.contains("  table: public.orders\n"), "{out}");
    assert!(out.contains("    amount: Decimal128(12, 2)\n"), "{out}");
    assert!(
        out.contains("    where: amount >= 100.00 AND status IN ('shipped', 'delivered') AND (customer LIKE 'A%')\n"),
        "{out}"
    );
    assert!(
        out.contains("    order by: amount DESC NULLS LAST\n    limit: 10\n"),
        "{out}"
    );
    assert!(out.contains("split: spill to s3://my-spill-bucket/athena-spill/4c1d2f0e-example/split-0 (encrypted); {partition_name=*}"), "{out}");
    assert!(
        !out.contains("BwcHBwcH"),
        "key material must not be printed"
    );
}

#[test]
fn decode_reads_standard_input_and_rewrites_in_the_requested_version() {
    let input = std::fs::read(examples_dir().join("read-records-request.json")).unwrap();
    let v2: Value = serde_json::from_str(&stdout(&athena_fed(
        &["decode", "--serde-version", "2", "-"],
        Some(&input),
    )))
    .unwrap();
    assert_eq!(
        v2["constraints"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["summary"]
    );
    assert_eq!(schema_of(v2["schema"].as_str().unwrap()).1, Framing::Legacy);
    let v6: Value = serde_json::from_str(&stdout(&athena_fed(
        &["decode", "--serde-version", "6"],
        Some(&input),
    )))
    .unwrap();
    assert_eq!(v6["constraints"]["queryPlan"], Value::Null);
    assert_eq!(v6["constraints"]["limit"], 10);
    let same: Value =
        serde_json::from_str(&stdout(&athena_fed(&["decode"], Some(&input)))).unwrap();
    assert_eq!(same, serde_json::from_slice::<Value>(&input).unwrap());
}

#[test]
fn bad_input_exits_2_with_one_error_line() {
    assert_eq!(
        usage_error(&athena_fed(
            &["decode"],
            Some(b"{\"@type\": \"PingRequest\"}")
        )),
        "error: identity: missing field"
    );
    assert_eq!(
        usage_error(&athena_fed(&["decode"], Some(b"not json"))),
        "error: not valid JSON: expected ident at line 1 column 2"
    );
    assert_eq!(
        usage_error(&athena_fed(&["decode"], Some(b""))),
        "error: not valid JSON: EOF while parsing a value at line 1 column 0"
    );
    assert_eq!(
        usage_error(&athena_fed(
            &["decode", "--serde-version", "9"],
            Some(b"{}")
        )),
        "error: --serde-version must be 2 to 6, found 9"
    );
    assert!(
        usage_error(&athena_fed(&["decode", "/nonexistent/x.json"], None))
            .starts_with("error: cannot read /nonexistent/x.json: ")
    );
    let corrupt = br#"{"@type":"GetTableResponse","catalogName":"c","tableName":{"schemaName":"s","tableName":"t"},"schema":"/////wABAAAQAAAAAAAKAA4ABgANAAgACgAAAAAABAAQAAAAAAEKAAwAAAAIAAQACgAAAAgAAAAIAAAAAAAAAAEAAAAEAAAA7P///xQAAAAUAAAAFAAAAAAAAn8UAAAAAAAAAAAAAAAAAAAAAgAAAGlkAAAAAAAAAAAAAA==","partitionColumns":[]}"#;
    assert!(usage_error(&athena_fed(&["decode"], Some(corrupt)))
        .starts_with("error: schema: invalid Arrow IPC message: "));
}

/// The issue's acceptance check: `athena-fed decode` round-trips every fixture.
#[test]
#[cfg_attr(
    not(shared_fixtures),
    ignore = "../shared/protocol/fixtures is absent: did not run"
)]
fn decode_round_trips_every_fixture() {
    for f in all_fixtures() {
        let path = fixtures_dir().join(&f);
        let out = stdout(&athena_fed(&["decode", path.to_str().unwrap()], None));
        let actual: Value = serde_json::from_str(&out).unwrap();
        let mut expected: Value = serde_json::from_slice(&fixture(&f)).unwrap();
        if let (Value::Object(e), Value::Object(a)) = (&mut expected, &actual) {
            while let Some(k) = e
                .keys()
                .next_back()
                .filter(|k| !a.contains_key(*k))
                .cloned()
            {
                e.remove(&k);
            }
        }
        let d = diff(&expected, &actual);
        assert!(d.is_empty(), "{f}: {}", d.join("\n"));
        let explained = stdout(&athena_fed(
            &["decode", "--explain", path.to_str().unwrap()],
            None,
        ));
        assert!(explained.lines().count() >= 2, "{f}: {explained}");
    }
}
