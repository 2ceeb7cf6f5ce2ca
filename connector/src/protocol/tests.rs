//! The project's own protocol vectors, written from SPEC.md (the Java fixtures are checked
//! separately, in place, by `tests/conformance.rs`).

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, Date32Array, Date64Array, Decimal128Array, Int32Array, Int32Builder,
    ListArray, MapBuilder, RecordBatch, RecordBatchOptions, StringArray, StringBuilder,
    StructArray, TimestampMillisecondArray,
};
use arrow::datatypes::{DataType, Field, Int32Type, Schema};
use indexmap::IndexMap;
use serde_json::{json, Value};

use super::*;

fn identity() -> FederatedIdentity {
    FederatedIdentity {
        id: Some("UNKNOWN".into()),
        principal: Some("UNKNOWN".into()),
        account: Some("123456789012".into()),
        arn: Some("arn:aws:iam::123456789012:user/alice".into()),
        ..Default::default()
    }
}

fn header() -> RequestHeader {
    RequestHeader {
        identity: identity(),
        query_id: "q-1".into(),
        catalog_name: "pg".into(),
    }
}

fn text(v: &Value) -> String {
    serde_json::to_string(v).unwrap()
}

fn keys(v: &Value) -> Vec<&str> {
    v.as_object().unwrap().keys().map(String::as_str).collect()
}

fn int_batch(name: &str, values: Vec<Option<i32>>) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![Field::new(name, DataType::Int32, true)]));
    RecordBatch::try_new(schema, vec![Arc::new(Int32Array::from(values))]).unwrap()
}

fn value_block(v: i32) -> Block {
    Block::new("a", int_batch("col1", vec![Some(v)]))
}

fn parse_err(v: Value) -> String {
    parse_message(text(&v).as_bytes()).unwrap_err().to_string()
}

#[test]
fn responses_are_written_in_the_sdk_member_order() {
    let ping = Response::Ping(PingResponse {
        catalog_name: "pg".into(),
        query_id: "q-1".into(),
        source_type: "postgres".into(),
        capabilities: SDK_CAPABILITIES,
        serde_version: 5,
    });
    assert_eq!(
        text(&ping.to_json(SerDeVersion::V5).unwrap()),
        r#"{"@type":"PingResponse","catalogName":"pg","queryId":"q-1","sourceType":"postgres","capabilities":24,"serDeVersion":5}"#
    );
    let tables = Response::ListTables(ListTablesResponse {
        tables: vec![TableName::new("public", "orders")],
        catalog_name: "pg".into(),
        next_token: None,
    });
    assert_eq!(
        text(&tables.to_json(SerDeVersion::V5).unwrap()),
        r#"{"@type":"ListTablesResponse","tables":[{"schemaName":"public","tableName":"orders"}],"catalogName":"pg","nextToken":null}"#
    );
    let splits = Response::GetSplits(GetSplitsResponse {
        catalog_name: "pg".into(),
        splits: vec![Split {
            spill_location: Some(SpillLocation {
                bucket: "b".into(),
                key: "spill/q-1/s0".into(),
                directory: true,
            }),
            encryption_key: None,
            properties: IndexMap::from([("part".to_owned(), "p0".to_owned())]),
        }],
        continuation_token: None,
    });
    assert_eq!(
        text(&splits.to_json(SerDeVersion::V5).unwrap()),
        r#"{"@type":"GetSplitsResponse","catalogName":"pg","splits":[{"spillLocation":{"@type":"S3SpillLocation","bucket":"b","key":"spill/q-1/s0","directory":true},"encryptionKey":null,"properties":{"part":"p0"}}],"continuationToken":null}"#
    );
    let remote = Response::RemoteReadRecords(RemoteReadRecordsResponse {
        catalog_name: "pg".into(),
        schema: int_batch("x", vec![]).schema(),
        remote_blocks: vec![],
        encryption_key: Some(EncryptionKey {
            key: vec![1; 16],
            nonce: vec![2; 12],
        }),
    });
    let v = remote.to_json(SerDeVersion::V5).unwrap();
    assert_eq!(
        keys(&v),
        [
            "@type",
            "catalogName",
            "schema",
            "remoteBlocks",
            "encryptionKey"
        ]
    );
    assert_eq!(
        v["encryptionKey"],
        json!({"key": "AQEBAQEBAQEBAQEBAQEBAQ==", "nonce": "AgICAgICAgICAgIC"})
    );
}

#[test]
fn capabilities_match_the_mysql_connector_shape() {
    let caps = Response::GetDataSourceCapabilities(GetDataSourceCapabilitiesResponse {
        catalog_name: "c".into(),
        capabilities: IndexMap::from([
            (
                "supports_filter_pushdown".to_owned(),
                vec![
                    OptimizationSubType::new("sorted_range_set", &[]),
                    OptimizationSubType::new("nullable_comparison", &[]),
                ],
            ),
            (
                "SYSTEM.QUERY".to_owned(),
                vec![OptimizationSubType::new(
                    "query_passthrough_schema",
                    &["system"],
                )],
            ),
        ]),
    });
    assert_eq!(
        text(&caps.to_json(SerDeVersion::V4).unwrap()),
        r#"{"@type":"GetDataSourceCapabilitiesResponse","catalogName":"c","capabilities":{"supports_filter_pushdown":[{"subType":"sorted_range_set","properties":[]},{"subType":"nullable_comparison","properties":[]}],"SYSTEM.QUERY":[{"subType":"query_passthrough_schema","properties":["system"]}]}}"#
    );
    let all: Vec<&str> = StandardFunction::ALL.iter().map(|f| f.as_str()).collect();
    assert_eq!(all.len(), 21);
    assert_eq!((all[0], all[20]), ("$and", "$array"));
}

fn constraints() -> Constraints {
    let range = Range {
        low: Marker {
            value_block: value_block(10),
            bound: Bound::Exactly,
            null_value: false,
        },
        high: Marker {
            value_block: Block::new("a", int_batch("col1", vec![])),
            bound: Bound::Below,
            null_value: true,
        },
    };
    Constraints {
        summary: IndexMap::from([(
            "id".to_owned(),
            ValueSet::SortedRange {
                arrow_type: ArrowType::Int {
                    bit_width: 32,
                    signed: true,
                },
                ranges: vec![range],
                null_allowed: false,
            },
        )]),
        expression: vec![Expression::FunctionCall {
            arrow_type: ArrowType::Bool,
            function_name: "$equal".into(),
            arguments: vec![
                Expression::Variable {
                    column_name: "id".into(),
                    arrow_type: ArrowType::Int {
                        bit_width: 32,
                        signed: true,
                    },
                },
                Expression::Constant {
                    values: value_block(7),
                    arrow_type: ArrowType::Int {
                        bit_width: 32,
                        signed: true,
                    },
                },
            ],
        }],
        order_by: vec![OrderByField {
            column_name: "id".into(),
            direction: SortDirection::DescNullsLast,
        }],
        limit: 5,
        query_passthrough_arguments: IndexMap::new(),
        query_plan: None,
    }
}

#[test]
fn constraint_members_grow_with_the_version() {
    let c = constraints();
    let members = |v| keys(&c.write(SerDeVersion::new(v).unwrap()).unwrap()).join(",");
    assert_eq!(members(2), "summary");
    assert_eq!(members(3), "summary");
    assert_eq!(members(4), "summary,expression,orderByClause,limit");
    assert_eq!(
        members(5),
        "summary,expression,orderByClause,limit,queryPassthroughArguments"
    );
    assert_eq!(
        members(6),
        "summary,expression,orderByClause,limit,queryPassthroughArguments,queryPlan"
    );
    assert_eq!(c.write(SerDeVersion::V6).unwrap()["queryPlan"], Value::Null);
    assert_eq!(c.summary["id"].describe("id"), "id >= 10");
    assert_eq!(c.expression[0].to_string(), "(id = 7)");
    assert_eq!(c.limit(), Some(5));
}

fn read_records(version: SerDeVersion) -> Value {
    Request::ReadRecords(ReadRecordsRequest {
        header: header(),
        table_name: TableName::new("public", "orders"),
        schema: int_batch("id", vec![]).schema(),
        split: Split {
            spill_location: None,
            encryption_key: None,
            properties: IndexMap::new(),
        },
        constraints: constraints(),
        max_block_size: 16_000_000,
        max_inline_block_size: 5_242_880,
    })
    .to_json(version)
    .unwrap()
}

#[test]
fn read_records_request_has_string_typed_sizes_and_version_framing() {
    let v2 = read_records(SerDeVersion::V2);
    assert_eq!(
        keys(&v2),
        [
            "@type",
            "identity",
            "queryId",
            "catalogName",
            "tableName",
            "schema",
            "split",
            "constraints",
            "maxBlockSize",
            "maxInlineBlockSize"
        ]
    );
    assert_eq!(v2["maxBlockSize"], json!("16000000"));
    assert_eq!(v2["maxInlineBlockSize"], json!("5242880"));
    use base64::Engine;
    let schema = |v: &Value| {
        base64::engine::general_purpose::STANDARD
            .decode(v["schema"].as_str().unwrap())
            .unwrap()
    };
    assert_ne!(schema(&v2)[..4], [0xFF; 4], "v2 uses legacy framing");
    assert_eq!(
        schema(&read_records(SerDeVersion::V3))[..4],
        [0xFF; 4],
        "v3 uses modern framing"
    );
}

#[test]
fn versions_are_inferred_from_fields_and_framing() {
    let infer = |v: &Value| {
        parse_message(text(v).as_bytes())
            .unwrap()
            .detected
            .inferred()
            .get()
    };
    for version in 2..=6u8 {
        assert_eq!(
            infer(&read_records(
                SerDeVersion::new(i64::from(version)).unwrap()
            )),
            version
        );
    }
    let mut get_table = json!({"@type": "GetTableRequest", "identity": {}, "queryId": "q", "catalogName": "c",
        "tableName": {"schemaName": "s", "tableName": "t"}});
    assert_eq!(infer(&get_table), 2);
    get_table["queryPassthroughArguments"] =
        json!({"schemaFunctionName": "SYSTEM.QUERY", "QUERY": "select 1"});
    assert_eq!(infer(&get_table), 5);
    let Message::Request(Request::GetTable(r)) =
        parse_message(text(&get_table).as_bytes()).unwrap().message
    else {
        panic!()
    };
    assert_eq!(r.query_passthrough_arguments["QUERY"], "select 1");
}

#[test]
fn requests_are_read_in_any_member_order_with_optional_members_absent() {
    // Members reversed, no configOptions/tags/groups, v2 constraints, sizes as numbers.
    let v = read_records(SerDeVersion::V2);
    let reversed: serde_json::Map<String, Value> = v
        .as_object()
        .unwrap()
        .iter()
        .rev()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut reversed = Value::Object(reversed);
    reversed["identity"] = json!({"account": "1", "arn": "a"});
    reversed["maxBlockSize"] = json!(100);
    let parsed = parse_request(text(&reversed).as_bytes()).unwrap();
    let Request::ReadRecords(r) = parsed.message else {
        panic!()
    };
    assert_eq!(r.max_block_size, 100);
    assert_eq!(
        r.constraints.limit, NO_LIMIT,
        "v2 constraints have no limit"
    );
    assert!(r.constraints.expression.is_empty());
    assert_eq!(r.header.identity.account.as_deref(), Some("1"));
    // ListTables from an old engine: no nextToken, no pageSize, null schema.
    let list = json!({"@type": "ListTablesRequest", "identity": {}, "queryId": "q", "catalogName": "c", "schemaName": null});
    let Request::ListTables(l) = parse_request(text(&list).as_bytes()).unwrap().message else {
        panic!()
    };
    assert_eq!(
        (l.schema_name, l.next_token, l.page_size),
        (None, None, UNLIMITED_PAGE_SIZE)
    );
}

#[test]
fn zero_rows_are_an_empty_string_and_zero_columns_keep_their_row_count() {
    let empty = Block::new("a", int_batch("x", vec![]));
    assert_eq!(empty.write(Framing::Modern).unwrap()["records"], json!(""));
    let no_columns = RecordBatch::try_new_with_options(
        Arc::new(Schema::empty()),
        vec![],
        &RecordBatchOptions::new().with_row_count(Some(42)),
    )
    .unwrap();
    let response = Response::ReadRecords(ReadRecordsResponse {
        catalog_name: "c".into(),
        records: Block::new("a", no_columns),
    });
    for version in [SerDeVersion::V2, SerDeVersion::V5] {
        let json = text(&response.to_json(version).unwrap());
        let Message::Response(Response::ReadRecords(back)) =
            parse_message(json.as_bytes()).unwrap().message
        else {
            panic!()
        };
        assert_eq!(
            (back.records.num_rows(), back.records.batch.num_columns()),
            (42, 0)
        );
    }
}

#[test]
fn every_supported_arrow_type_round_trips_in_both_framings() {
    let list = ListArray::from_iter_primitive::<Int32Type, _, _>(vec![
        Some(vec![Some(1), None]),
        None,
        Some(vec![]),
    ]);
    let list_type = DataType::List(Arc::new(Field::new("", DataType::Int32, true)));
    let list = ListArray::new(
        Arc::new(Field::new("", DataType::Int32, true)),
        list.offsets().clone(),
        list.values().clone(),
        list.nulls().cloned(),
    );
    let strukt = StructArray::from(vec![(
        Arc::new(Field::new("a", DataType::Utf8, true)),
        Arc::new(StringArray::from(vec![Some("x"), None, Some("z")])) as ArrayRef,
    )]);
    let mut map = MapBuilder::new(None, StringBuilder::new(), Int32Builder::new());
    map.keys().append_value("k");
    map.values().append_value(1);
    map.append(true).unwrap();
    map.append(false).unwrap();
    map.append(true).unwrap();
    let map = map.finish();
    let columns: Vec<(&str, ArrayRef)> = vec![
        (
            "dec",
            Arc::new(
                Decimal128Array::from(vec![Some(-12345), None, Some(i128::from(i64::MAX))])
                    .with_precision_and_scale(38, 4)
                    .unwrap(),
            ),
        ),
        (
            "day",
            Arc::new(Date32Array::from(vec![Some(-719162), Some(0), None])),
        ),
        (
            "ts",
            Arc::new(Date64Array::from(vec![
                Some(-1),
                Some(0),
                Some(253402300799000),
            ])),
        ),
        (
            "tstz",
            Arc::new(
                TimestampMillisecondArray::from(vec![Some(1), None, Some(-5)]).with_timezone("UTC"),
            ),
        ),
        ("list", Arc::new(list)),
        ("struct", Arc::new(strukt)),
        ("map", Arc::new(map)),
    ];
    let fields: Vec<Field> = columns
        .iter()
        .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
        .collect();
    let batch = RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns.into_iter().map(|(_, a)| a).collect(),
    )
    .unwrap();
    assert_eq!(batch.schema().field(4).data_type(), &list_type);
    for version in [SerDeVersion::V2, SerDeVersion::V6] {
        let response = Response::ReadRecords(ReadRecordsResponse {
            catalog_name: "c".into(),
            records: Block::new("a", batch.clone()),
        });
        let json = text(&response.to_json(version).unwrap());
        let Message::Response(Response::ReadRecords(back)) =
            parse_message(json.as_bytes()).unwrap().message
        else {
            panic!()
        };
        assert_eq!(back.records.batch, batch, "v{version}");
    }
}

#[test]
fn malformed_input_names_the_field_and_the_problem() {
    let good = read_records(SerDeVersion::V5);
    let with = |path: &[&str], value: Value| {
        let mut v = good.clone();
        let mut target = &mut v;
        for p in &path[..path.len() - 1] {
            target = &mut target[*p];
        }
        target[path[path.len() - 1]] = value;
        parse_err(v)
    };
    assert_eq!(
        parse_message(b"{\"@type\":").unwrap_err().to_string(),
        "not valid JSON: EOF while parsing a value at line 1 column 9"
    );
    assert_eq!(parse_err(json!([1])), "expected an object, found an array");
    assert_eq!(parse_err(json!({})), "@type: missing field");
    assert_eq!(
        parse_err(json!({"@type": 3})),
        "@type: expected a string, found a number"
    );
    assert_eq!(
        parse_err(json!({"@type": "DropTableRequest"})),
        "@type: unknown @type \"DropTableRequest\""
    );
    assert_eq!(
        with(&["queryId"], json!(7)),
        "queryId: expected a string, found a number"
    );
    assert_eq!(
        with(&["maxBlockSize"], json!("lots")),
        "maxBlockSize: expected a decimal integer, found \"lots\""
    );
    assert_eq!(
        with(&["maxBlockSize"], json!(true)),
        "maxBlockSize: expected a string holding an integer, found a boolean"
    );
    assert_eq!(
        with(&["tableName", "tableName"], Value::Null),
        "tableName.tableName: expected a string, found null"
    );
    assert!(with(&["schema"], json!("@@@")).starts_with("schema: invalid base64: "));
    assert_eq!(
        with(&["schema"], json!("")),
        "schema: invalid Arrow IPC message: empty schema"
    );
    assert_eq!(
        with(&["schema"], json!("/////wAQAAA=")),
        "schema: invalid Arrow IPC message: truncated: metadata length 4096 but only 0 bytes follow"
    );
    assert_eq!(
        with(
            &["constraints", "summary", "id", "@type"],
            json!("RangeSet")
        ),
        "constraints.summary.id.@type: unknown @type \"RangeSet\""
    );
    assert_eq!(
        with(&["constraints", "orderByClause"], json!([{"columnName": "id", "direction": "UP"}])),
        "constraints.orderByClause[0].direction: expected one of ASC_NULLS_FIRST, ASC_NULLS_LAST, DESC_NULLS_FIRST, DESC_NULLS_LAST, found \"UP\""
    );
    assert_eq!(
        with(
            &["constraints", "expression"],
            json!([{"@type": "VariableExpression", "columnName": "id", "type": {"@type": "Int", "bitWidth": 7, "isSigned": true}}])
        ),
        "constraints.expression[0].type: Int bitWidth must be 8, 16, 32 or 64, found 7"
    );
    assert_eq!(
        with(
            &["split", "encryptionKey"],
            json!({"key": "AA==", "nonce": 5})
        ),
        "split.encryptionKey.nonce: expected a string, found a number"
    );
    let mut records = good.clone();
    records["constraints"]["summary"]["id"]["ranges"][0]["low"]["valueBlock"]["records"] =
        json!("");
    assert_eq!(
        parse_err(records),
        "constraints.summary.id.ranges[0].low: a bounded marker (nullValue false) has no value: its valueBlock is empty"
    );
}

#[test]
fn function_calls_with_missing_arguments_are_shown_not_a_panic() {
    // `$in` with no arguments (issue 11, item 10) and every other function short of its
    // arguments: `decode --explain` prints a `?` where one is missing.
    let bool_type = ArrowType::from_data_type(&DataType::Boolean).unwrap();
    for name in StandardFunction::ALL
        .iter()
        .map(|f| f.as_str())
        .chain(["$unknown"])
    {
        for n in 0..2 {
            let call = Expression::FunctionCall {
                arrow_type: bool_type.clone(),
                function_name: name.into(),
                arguments: (0..n)
                    .map(|i| Expression::Variable {
                        column_name: format!("c{i}"),
                        arrow_type: bool_type.clone(),
                    })
                    .collect(),
            };
            let _ = call.to_string();
        }
    }
    let call = |n: usize| Expression::FunctionCall {
        arrow_type: bool_type.clone(),
        function_name: "$in".into(),
        arguments: (0..n)
            .map(|_| Expression::Variable {
                column_name: "id".into(),
                arrow_type: bool_type.clone(),
            })
            .collect(),
    };
    assert_eq!(call(0).to_string(), "(? IN ())");
    assert_eq!(call(1).to_string(), "(id IN ())");
    assert_eq!(call(3).to_string(), "(id IN (id, id))");
}
