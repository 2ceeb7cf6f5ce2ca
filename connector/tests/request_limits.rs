//! Crafted requests (issue 11, item 10) answered with an error that names the problem, never
//! a panic or an abort: declared lengths checked before anything is allocated, the request
//! schema checked against the table, every request-driven size bounded.

mod demo_requests;

use std::sync::Arc;

use arrow::array::{NullArray, RecordBatch, RecordBatchOptions};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use athena_connector::protocol::{
    ipc, parse_request, Block, Framing, GetSplitsRequest, ReadRecordsRequest, Request, TableName,
    ValueSet,
};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use demo_requests::*;
use serde_json::Value;

/// A row count that appears nowhere else in an encoded batch, to patch.
const MARK: i64 = 0x0005_A5A5;

/// `batch` (of `MARK` rows) encoded with every `MARK` replaced by `rows`: a block that
/// declares `rows` rows over the same few bytes.
fn declaring(batch: &RecordBatch, rows: i64) -> Vec<u8> {
    let mut bytes = ipc::encode_batch(batch, Framing::Modern).unwrap();
    let (from, to) = (MARK.to_le_bytes(), rows.to_le_bytes());
    let mut patched = 0;
    for i in 0..bytes.len() - 8 {
        if bytes[i..i + 8] == from {
            bytes[i..i + 8].copy_from_slice(&to);
            patched += 1;
        }
    }
    assert!(patched > 0);
    bytes
}

fn zero_columns() -> RecordBatch {
    RecordBatch::try_new_with_options(
        Arc::new(Schema::empty()),
        vec![],
        &RecordBatchOptions::new().with_row_count(Some(MARK as usize)),
    )
    .unwrap()
}

fn null_column(name: &str) -> RecordBatch {
    RecordBatch::try_new(
        Arc::new(Schema::new(vec![Field::new(name, DataType::Null, true)])),
        vec![Arc::new(NullArray::new(MARK as usize))],
    )
    .unwrap()
}

fn schema_b64(schema: &SchemaRef) -> String {
    BASE64.encode(ipc::encode_schema(schema, Framing::Modern).unwrap())
}

async fn handle(request: &[u8]) -> Result<Value, String> {
    connector()
        .handle(request)
        .await
        .map(|b| serde_json::from_slice(&b).unwrap())
        .map_err(|e| e.to_string())
}

fn recorded(kind: &str) -> Value {
    let (_, bytes) = requests()
        .iter()
        .find(|(name, _)| name.ends_with(kind))
        .unwrap();
    serde_json::from_slice(bytes).unwrap()
}

fn read_with_schema(r: &ReadRecordsRequest, fields: Vec<Field>) -> Vec<u8> {
    let mut r = r.clone();
    r.schema = Arc::new(Schema::new(fields));
    to_json(&Request::ReadRecords(r))
}

fn field(r: &ReadRecordsRequest, name: &str) -> Field {
    r.schema.field_with_name(name).unwrap().clone()
}

// --- Declared lengths -------------------------------------------------------------------

#[tokio::test]
async fn a_partitions_block_declaring_2_pow_40_rows_is_refused_before_allocating() {
    for (what, batch) in [
        ("no columns", zero_columns()),
        ("a null column", null_column("partition_name")),
    ] {
        let mut v = recorded("GetSplitsRequest");
        v["partitions"]["schema"] = Value::String(schema_b64(&batch.schema()));
        v["partitions"]["records"] = Value::String(BASE64.encode(declaring(&batch, 1 << 40)));
        let err = handle(&serde_json::to_vec(&v).unwrap())
            .await
            .expect_err(what);
        assert!(
            err.contains("1099511627776 rows") && err.contains("2147483647"),
            "{what}: {err}"
        );
    }
}

#[tokio::test]
async fn a_partitions_block_of_more_partitions_than_the_limit_is_refused() {
    // Within the block limit, but more partitions than any table has (a null column costs
    // nothing to send, and each row would become a property map).
    let batch = null_column("partition_name");
    let mut v = recorded("GetSplitsRequest");
    v["partitions"]["schema"] = Value::String(schema_b64(&batch.schema()));
    v["partitions"]["records"] = Value::String(BASE64.encode(declaring(&batch, 1 << 30)));
    let err = handle(&serde_json::to_vec(&v).unwrap()).await.unwrap_err();
    assert!(
        err.contains("1073741824 partitions") && err.contains("1000000"),
        "{err}"
    );
}

#[test]
fn declared_row_counts_and_buffers_are_checked_against_the_bytes() {
    let schema = zero_columns().schema();
    for (rows, why) in [
        (1_i64 << 40, "declares 1099511627776 rows"),
        (-5, "declares -5 rows"),
    ] {
        let err = ipc::decode_batch(&declaring(&zero_columns(), rows), &schema).unwrap_err();
        assert!(err.contains(why), "{err}");
    }
    // A null column declaring more rows than its batch.
    let batch = null_column("x");
    let err = ipc::decode_batch(&declaring(&batch, 1 << 40), &batch.schema()).unwrap_err();
    assert!(err.contains("1099511627776 rows"), "{err}");
}

#[tokio::test]
async fn a_value_block_declaring_2_pow_40_rows_is_refused() {
    let batch = null_column("col1");
    let mut v = recorded("ReadRecordsRequest");
    let set = &mut v["constraints"]["summary"]["status"];
    assert_eq!(set["@type"], "EquatableValueSet");
    set["valueBlock"]["schema"] = Value::String(schema_b64(&batch.schema()));
    set["valueBlock"]["records"] = Value::String(BASE64.encode(declaring(&batch, 1 << 40)));
    let err = handle(&serde_json::to_vec(&v).unwrap()).await.unwrap_err();
    assert!(err.contains("1099511627776 rows"), "{err}");
    // Within the limits the block is read; a null-typed IN list is then refused, not walked.
    v["constraints"]["summary"]["status"]["valueBlock"]["records"] =
        Value::String(BASE64.encode(declaring(&batch, 1 << 30)));
    let started = std::time::Instant::now();
    let err = handle(&serde_json::to_vec(&v).unwrap()).await.unwrap_err();
    assert!(
        started.elapsed().as_secs() < 10,
        "took {:?}",
        started.elapsed()
    );
    assert!(err.contains("status"), "{err}");
}

// --- The request schema against the table -----------------------------------------------

#[tokio::test]
async fn a_column_declared_non_nullable_over_a_nullable_column_is_an_error_naming_it() {
    // The confirmed case: `note` holds NULLs in the demo database.
    let r = read_records();
    let fields = r
        .schema
        .fields()
        .iter()
        .map(|f| f.as_ref().clone().with_nullable(f.name() != "note"))
        .collect();
    let err = handle(&read_with_schema(&r, fields)).await.unwrap_err();
    assert!(
        err.contains("\"note\"") && err.contains("non-nullable"),
        "{err}"
    );
    // Even a column without NULLs: the table does not promise it.
    let fields = vec![field(&r, "id").with_nullable(false)];
    let err = handle(&read_with_schema(&r, fields)).await.unwrap_err();
    assert!(
        err.contains("\"id\"") && err.contains("non-nullable"),
        "{err}"
    );
}

#[tokio::test]
async fn a_column_declared_with_another_type_is_an_error_naming_both_types() {
    let r = read_records();
    for t in [
        DataType::Int64,
        DataType::Decimal128(38, 2),
        DataType::Null,
        DataType::Decimal256(60, 2),
    ] {
        let fields = vec![Field::new("note", t.clone(), true)];
        let err = handle(&read_with_schema(&r, fields)).await.unwrap_err();
        assert!(
            err.contains("\"note\"") && err.contains(&t.to_string()) && err.contains("Utf8"),
            "{t}: {err}"
        );
    }
}

#[tokio::test]
async fn a_passthrough_schema_declaring_decimal_60_2_is_refused_naming_the_column() {
    let r = passthrough_read();
    let fields = vec![
        field(&r, "id"),
        Field::new("shipping_fee", DataType::Decimal128(60, 2), true),
    ];
    let err = handle(&read_with_schema(&r, fields)).await.unwrap_err();
    assert!(
        err.contains("\"shipping_fee\"") && err.contains("60") && err.contains("38"),
        "{err}"
    );
}

#[tokio::test]
async fn a_passthrough_schema_is_checked_against_the_query_columns() {
    let r = passthrough_read();
    // Non-nullable over a column with NULLs (note), another type, an unknown column.
    let cases = [
        (field(&r, "note").with_nullable(false), "non-nullable"),
        (Field::new("note", DataType::Int64, true), "Int64"),
        (Field::new("nope", DataType::Utf8, true), "nope"),
    ];
    for (f, want) in cases {
        let err = handle(&read_with_schema(&r, vec![f])).await.unwrap_err();
        assert!(err.contains(want), "{want}: {err}");
    }
    // And the valid request still reads.
    let ok = handle(&to_json(&Request::ReadRecords(r))).await.unwrap();
    assert_eq!(ok["@type"], "ReadRecordsResponse");
}

#[tokio::test]
async fn the_valid_recorded_requests_still_succeed() {
    for (name, bytes) in requests() {
        let result = handle(bytes).await;
        if name.ends_with("UserDefinedFunctionRequest") {
            assert!(result.unwrap_err().contains("no user-defined functions"));
        } else {
            assert!(result.is_ok(), "{name}: {result:?}");
        }
    }
}

#[test]
fn the_recorded_requests_cover_every_request_type() {
    let mut kinds: Vec<&str> = requests()
        .iter()
        .map(|(_, b)| parse_request(b).unwrap().message.type_name())
        .collect();
    kinds.sort();
    kinds.dedup();
    let mut all = Request::TYPES.to_vec();
    all.sort();
    assert_eq!(kinds, all);
    // GetSplits carries a real partitions block, ReadRecords a real IN list.
    let Request::GetSplits(GetSplitsRequest { partitions, .. }) =
        parse_request(&serde_json::to_vec(&recorded("GetSplitsRequest")).unwrap())
            .unwrap()
            .message
    else {
        unreachable!()
    };
    assert!(partitions.num_rows() > 0);
    let _: Block = partitions;
    assert!(matches!(
        read_records().constraints.summary["status"],
        ValueSet::Equatable { .. }
    ));
    assert_eq!(read_records().table_name, TableName::new("main", "orders"));
}
