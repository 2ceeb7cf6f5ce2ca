//! SQL Server through the whole path: the connector logs in with tiberius, reads the
//! catalog, plans splits and streams rows, against the TDS stand-in (`integration_tests::tds`,
//! hand-written: no SQL Server runs here). What the stand-in received is checked as the
//! SQL Server would get it: statements, parameters, transactions.
//!
//! `real_server_*` run against a real SQL Server when `MSSQL_URL` is set at build time
//! (`jdbc:sqlserver://host:port;databaseName=db;user=…;password=…;encrypt=false`); without
//! it they are reported as ignored.

use arrow::array::RecordBatch;
use arrow::datatypes::DataType;
use athena_connector::client::Client;
use athena_connector::protocol::{Constraints, Range, Scalar, TableName, ValueSet};
use integration_tests::check::column_text;
use integration_tests::tds::{Answer, Col, TdsStandIn, Ty, Val};
use integration_tests::*;

const USER: &str = "athena";
const PASSWORD: &str = "s3cret;pass";
/// SQL Server's default (as the official connector's) matches names exactly; Athena sends
/// them lower-cased, so a mixed-case table needs a search.
const CASING: (&str, &str) = ("casing_mode", "case_insensitive_search");

fn col(name: &str, ty: Ty) -> Col {
    Col {
        name: name.into(),
        ty,
    }
}

fn text(s: &str) -> Val {
    Val::Text(s.into())
}

/// The catalog answers for `dbo.Orders`, its columns as `sys.columns` lists them.
fn catalog(server: &TdsStandIn, columns: &[(&str, &str, i64, i64)]) {
    let names = |n: &[&str]| {
        Answer::Rows(
            vec![col("name", Ty::NVarChar(Some(128)))],
            n.iter().map(|n| vec![text(n)]).collect(),
        )
    };
    server
        .on("FROM sys.schemas WHERE LOWER(name)", names(&["dbo"]))
        .on("FROM sys.schemas WHERE schema_id", names(&["dbo", "sales"]))
        .on("AND LOWER(name) = LOWER(@P2)", names(&["Orders"]))
        .on(
            "type IN ('U', 'V') ORDER BY",
            names(&["Customers", "Orders"]),
        )
        .on(
            "FROM sys.columns c JOIN sys.types",
            Answer::Rows(
                vec![
                    col("name", Ty::NVarChar(Some(128))),
                    col("type", Ty::NVarChar(Some(128))),
                    col("precision", Ty::Int),
                    col("scale", Ty::Int),
                ],
                columns
                    .iter()
                    .map(|(n, t, p, s)| vec![text(n), text(t), Val::Int(*p), Val::Int(*s)])
                    .collect(),
            ),
        );
}

/// A passthrough query's rows, as Athena reads them (GetTable, splits, ReadRecords).
async fn passthrough(c: &Client, query: &str) -> Result<RecordBatch, String> {
    let constraints = Constraints {
        query_passthrough_arguments: [
            ("schemaFunctionName".to_owned(), "system.query".to_owned()),
            ("QUERY".to_owned(), query.to_owned()),
        ]
        .into_iter()
        .collect(),
        ..Default::default()
    };
    let name = TableName::new("system", "query");
    let t = c
        .get_table(&name, constraints.query_passthrough_arguments.clone())
        .await
        .map_err(|e| e.to_string())?;
    let mut batches = Vec::new();
    for split in c
        .splits(&t, &constraints)
        .await
        .map_err(|e| e.to_string())?
    {
        batches.extend(
            c.read_split(&name, t.schema.clone(), split, &constraints)
                .await
                .map_err(|e| e.to_string())?,
        );
    }
    arrow::compute::concat_batches(&t.schema, &batches).map_err(|e| e.to_string())
}

fn connection(server: &TdsStandIn) -> String {
    format!(
        "sqlserver://jdbc:sqlserver://127.0.0.1:{};databaseName=sales;encrypt=false;user={USER};password={{{PASSWORD}}}",
        server.port
    )
}

/// Every type of the type-mapping table, from the wire to Arrow.
#[tokio::test]
async fn every_type_is_read_from_the_wire_into_arrow() {
    let server = TdsStandIn::start(USER, &PASSWORD.replace(['{', '}'], "")).await;
    let columns = [
        ("id", "int", 10, 0),
        ("Customer", "nvarchar", 0, 0),
        ("amount", "decimal", 10, 2),
        ("price", "money", 19, 4),
        ("placed", "date", 10, 0),
        ("created", "datetime", 23, 3),
        ("updated", "datetime2", 27, 7),
        ("seen", "datetimeoffset", 34, 7),
        ("booked", "smalldatetime", 16, 0),
        ("active", "bit", 1, 0),
        ("qty", "tinyint", 3, 0),
        ("ratio", "real", 24, 0),
        ("score", "float", 53, 0),
        ("uid", "uniqueidentifier", 0, 0),
        ("notes", "nvarchar", 0, 0),
        ("payload", "varbinary", 0, 0),
        ("big", "bigint", 19, 0),
        ("small", "smallint", 5, 0),
        ("doc", "xml", 0, 0),
    ];
    catalog(&server, &columns);
    server
        .on(
            "FROM sys.tables t",
            Answer::Rows(
                vec![
                    col("f", Ty::NVarChar(Some(128))),
                    col("c", Ty::NVarChar(Some(128))),
                    col("n", Ty::Int),
                ],
                vec![],
            ),
        )
        .on(
            "sys.dm_db_partition_stats",
            Answer::Rows(vec![col("bytes", Ty::BigInt)], vec![vec![Val::Int(65536)]]),
        );
    // What the server sends for the SELECT: each column as the type mapping selects it
    // (money converted to decimal(19,4), uniqueidentifier and xml to text by the server).
    let wire = vec![
        col("id", Ty::Int),
        col("Customer", Ty::NVarChar(Some(50))),
        col("amount", Ty::Decimal(10, 2)),
        col("price", Ty::Decimal(19, 4)),
        col("placed", Ty::Date),
        col("created", Ty::DateTime),
        col("updated", Ty::DateTime2(7)),
        col("seen", Ty::DateTimeOffset(7)),
        col("booked", Ty::SmallDateTime),
        col("active", Ty::Bit),
        col("qty", Ty::TinyInt),
        col("ratio", Ty::Real),
        col("score", Ty::Float),
        col("uid", Ty::NVarChar(Some(36))),
        col("notes", Ty::NVarChar(None)),
        col("payload", Ty::VarBinary(None)),
        col("big", Ty::BigInt),
        col("small", Ty::SmallInt),
        col("doc", Ty::NVarChar(None)),
    ];
    let long_note = "ünïcødé 🚀 ".repeat(700);
    server.on(
        "FROM [dbo].[Orders]",
        Answer::Rows(
            wire,
            vec![
                vec![
                    Val::Int(1),
                    text("Alice"),
                    Val::Decimal(1999),
                    Val::Decimal(9_223_372_036_854_775_807),
                    // 2024-02-29
                    Val::Date(738_944),
                    // 1969-12-31 23:59:59.997
                    Val::DateTime(25_566, 25_919_999),
                    // 2024-02-29 12:00:00.1234567
                    Val::DateTime2(738_944, 432_001_234_567, 0),
                    // the same instant, written at +02:00
                    Val::DateTime2(738_944, 432_001_234_567, 120),
                    // 1970-01-01 00:01
                    Val::SmallDateTime(25_567, 1),
                    Val::Bool(true),
                    Val::Int(255),
                    Val::Float(0.5),
                    Val::Float(-1e300),
                    text("6F9619FF-8B86-D011-B42D-00C04FC964FF"),
                    text(&long_note),
                    Val::Bytes(vec![0, 1, 2, 255]),
                    Val::Int(i64::MIN),
                    Val::Int(-32768),
                    text("<a>1</a>"),
                ],
                vec![Val::Int(2); 1]
                    .into_iter()
                    .chain(std::iter::repeat_n(Val::Null, 18))
                    .collect(),
                vec![
                    Val::Int(3),
                    text(""),
                    Val::Decimal(-1),
                    Val::Decimal(-9_223_372_036_854_775_808),
                    // 0001-01-01 and 9999-12-31
                    Val::Date(0),
                    Val::DateTime(0, 0),
                    Val::DateTime2(3_652_058, 863_999_999_999, 0),
                    Val::DateTime2(0, 0, -840),
                    Val::SmallDateTime(0, 0),
                    Val::Bool(false),
                    Val::Int(0),
                    Val::Float(-0.0),
                    Val::Float(f64::MAX),
                    text("00000000-0000-0000-0000-000000000000"),
                    text(""),
                    Val::Bytes(vec![]),
                    Val::Int(i64::MAX),
                    Val::Int(32767),
                    text(""),
                ],
            ],
        ),
    );
    let c = client(
        connector(&[("default", connection(&server).as_str()), CASING]).await,
        "ms",
    )
    .await;
    assert_eq!(c.list_schemas().await.unwrap(), vec!["dbo", "sales"]);
    let projection: Vec<&str> = columns.iter().map(|(n, ..)| *n).collect();
    // Athena's lower-cased table name finds the table.
    let r = read(&c, "dbo", "orders", &projection, &Constraints::default())
        .await
        .unwrap();
    assert_eq!(r.table.table_name.table_name, "Orders");
    assert_eq!(r.splits, 1);
    let types: Vec<DataType> = r
        .table
        .schema
        .fields()
        .iter()
        .map(|f| f.data_type().clone())
        .collect();
    assert_eq!(
        types,
        [
            DataType::Int32,
            DataType::Utf8,
            DataType::Decimal128(10, 2),
            DataType::Decimal128(19, 4),
            DataType::Date32,
            DataType::Date64,
            DataType::Date64,
            DataType::Date64,
            DataType::Date64,
            DataType::Boolean,
            DataType::Int16,
            DataType::Float32,
            DataType::Float64,
            DataType::Utf8,
            DataType::Utf8,
            DataType::Binary,
            DataType::Int64,
            DataType::Int16,
            DataType::Utf8,
        ]
    );
    let s = |v: &str| Some(v.to_owned());
    let got = |name: &str| column_text(&r.batch, name);
    assert_eq!(got("id"), [s("1"), s("2"), s("3")]);
    assert_eq!(got("Customer"), [s("Alice"), None, s("")]);
    assert_eq!(got("amount"), [s("1999"), None, s("-1")]);
    assert_eq!(
        got("price"),
        [s("9223372036854775807"), None, s("-9223372036854775808")]
    );
    // Days since 1970: 2024-02-29, 0001-01-01.
    assert_eq!(got("placed"), [s("19782"), None, s("-719162")]);
    assert_eq!(got("created"), [s("-3"), None, s("-2208988800000")]);
    let noon = "1709208000123";
    assert_eq!(got("updated"), [s(noon), None, s("253402300799999")]);
    // A datetimeoffset is its instant: 0001-01-01 00:00 UTC whatever its offset.
    assert_eq!(got("seen"), [s(noon), None, s("-62135596800000")]);
    assert_eq!(got("booked"), [s("60000"), None, s("-2208988800000")]);
    assert_eq!(got("active"), [s("true"), None, s("false")]);
    assert_eq!(got("qty"), [s("255"), None, s("0")]);
    assert_eq!(got("ratio"), [s("0.5"), None, s("-0.0")]);
    assert_eq!(
        got("score"),
        [s("-1e300"), None, s("1.7976931348623157e308")]
    );
    assert_eq!(
        got("uid"),
        [
            s("6F9619FF-8B86-D011-B42D-00C04FC964FF"),
            None,
            s("00000000-0000-0000-0000-000000000000")
        ]
    );
    assert_eq!(got("notes"), [Some(long_note), None, s("")]);
    assert_eq!(got("payload"), [s("000102ff"), None, s("")]);
    assert_eq!(
        got("big"),
        [s(&i64::MIN.to_string()), None, s(&i64::MAX.to_string())]
    );
    assert_eq!(got("small"), [s("-32768"), None, s("32767")]);
    assert_eq!(got("doc"), [s("<a>1</a>"), None, s("")]);
    let read_sql = server
        .received()
        .into_iter()
        .find(|r| r.sql.contains("FROM [dbo].[Orders]"))
        .unwrap();
    assert_eq!(
        read_sql.sql,
        "SELECT [id], [Customer], [amount], CONVERT(DECIMAL(19,4), [price]) AS [price], [placed], [created], [updated], [seen], [booked], [active], [qty], [ratio], [score], CONVERT(CHAR(36), [uid]) AS [uid], [notes], [payload], [big], [small], CONVERT(NVARCHAR(MAX), [doc]) AS [doc] FROM [dbo].[Orders]"
    );
}

/// Constraints become T-SQL with every value a parameter: ranges, exact and binary string
/// comparison, NULL ordering emulated, TOP and OFFSET … FETCH.
#[tokio::test]
async fn constraints_are_pushed_down_as_parameterised_t_sql() {
    let server = TdsStandIn::start(USER, "pw").await;
    catalog(
        &server,
        &[
            ("id", "int", 10, 0),
            ("name", "varchar", 0, 0),
            ("placed", "datetime2", 27, 7),
        ],
    );
    server
        .on(
            "FROM sys.tables t",
            Answer::Rows(vec![col("f", Ty::NVarChar(Some(128)))], vec![]),
        )
        .on(
            "sys.dm_db_partition_stats",
            Answer::Error {
                number: 297,
                message: "The user does not have permission to perform this action.".into(),
            },
        )
        .on(
            "FROM [dbo].[Orders]",
            Answer::Rows(vec![col("id", Ty::Int)], vec![vec![Val::Int(2)]]),
        );
    let conn = format!(
        "sqlserver://jdbc:sqlserver://127.0.0.1:{};databaseName=sales;encrypt=false;user={USER};password=pw",
        server.port
    );
    let c = client(connector(&[("default", conn.as_str()), CASING]).await, "ms").await;
    let mut constraints = Constraints {
        summary: [
            (
                "id".to_owned(),
                ValueSet::ranges(
                    &DataType::Int32,
                    vec![Range::between(
                        &DataType::Int32,
                        Some((Scalar::Int32(1), true)),
                        Some((Scalar::Int32(10), false)),
                    )],
                    false,
                ),
            ),
            (
                "name".to_owned(),
                ValueSet::ranges(
                    &DataType::Utf8,
                    vec![Range::equal(Scalar::Utf8("Bob's [x]".into()))],
                    true,
                ),
            ),
        ]
        .into_iter()
        .collect(),
        ..Default::default()
    };
    let r = read(&c, "dbo", "orders", &["id"], &constraints)
        .await
        .unwrap();
    // Without VIEW DATABASE STATE the table's size is unknown: one split, no failure.
    assert_eq!(r.splits, 1);
    assert_eq!(column_text(&r.batch, "id"), [Some("2".to_owned())]);
    let sent = |server: &TdsStandIn| {
        server
            .received()
            .into_iter()
            .rfind(|r| r.sql.contains("FROM [dbo].[Orders]"))
            .unwrap()
    };
    let q = sent(&server);
    assert_eq!(
        q.sql,
        "SELECT [id] FROM [dbo].[Orders] WHERE (([id] >= @P1 AND [id] < @P2)) AND ([name] IS NULL OR ([name] = @P3 AND ([name] COLLATE Latin1_General_100_BIN2) = (@P4 COLLATE Latin1_General_100_BIN2)))"
    );
    // The declaration, then the values (the stand-in renders each as text).
    assert_eq!(&q.params[1..], ["1", "10", "Bob's [x]", "Bob's [x]"]);

    // A LIMIT alone is TOP (n); with ORDER BY it is OFFSET … FETCH, NULLs placed as Athena.
    constraints.summary.clear();
    constraints.limit = 5;
    read(&c, "dbo", "orders", &["id"], &constraints)
        .await
        .unwrap();
    assert_eq!(sent(&server).sql, "SELECT TOP (5) [id] FROM [dbo].[Orders]");
    constraints.order_by = vec![athena_connector::protocol::OrderByField {
        column_name: "name".into(),
        direction: athena_connector::protocol::SortDirection::DescNullsLast,
    }];
    read(&c, "dbo", "orders", &["id"], &constraints)
        .await
        .unwrap();
    assert_eq!(
        sent(&server).sql,
        "SELECT [id] FROM [dbo].[Orders] ORDER BY CASE WHEN ([name] COLLATE Latin1_General_100_BIN2) IS NULL THEN 1 ELSE 0 END, ([name] COLLATE Latin1_General_100_BIN2) DESC OFFSET 0 ROWS FETCH NEXT 5 ROWS ONLY"
    );
}

/// A partitioned table is read one partition per split; a predicate on the partitioning
/// column keeps only the partitions the server's partition function maps it to.
#[tokio::test]
async fn partitions_become_splits_pruned_by_the_partition_function() {
    let server = TdsStandIn::start(USER, "pw").await;
    catalog(&server, &[("id", "int", 10, 0), ("Year", "int", 10, 0)]);
    server
        .on(
            "FROM sys.tables t",
            Answer::Rows(
                vec![
                    col("f", Ty::NVarChar(Some(128))),
                    col("c", Ty::NVarChar(Some(128))),
                    col("n", Ty::Int),
                ],
                (1..=4)
                    .map(|n| vec![text("pf_year"), text("Year"), Val::Int(n)])
                    .collect(),
            ),
        )
        // 2021 falls in partition 2, 2022 in partition 3.
        .on(
            "SELECT $PARTITION.[pf_year](@P1)",
            Answer::Rows(vec![col("p", Ty::Int)], vec![vec![Val::Int(2)]]),
        )
        .on(
            "FROM [dbo].[Orders]",
            Answer::Rows(vec![col("id", Ty::Int)], vec![vec![Val::Int(7)]]),
        );
    let conn = format!(
        "sqlserver://jdbc:sqlserver://127.0.0.1:{};databaseName=sales;encrypt=false;user={USER};password=pw",
        server.port
    );
    let c = client(connector(&[("default", conn.as_str()), CASING]).await, "ms").await;
    let all = read(&c, "dbo", "orders", &["id"], &Constraints::default())
        .await
        .unwrap();
    assert_eq!(all.splits, 4);
    let reads: Vec<_> = server
        .received()
        .into_iter()
        .filter(|r| r.sql.contains("FROM [dbo].[Orders]"))
        .collect();
    assert_eq!(
        reads[0].sql,
        "SELECT [id] FROM [dbo].[Orders] WHERE $PARTITION.[pf_year]([Year]) >= @P1 AND $PARTITION.[pf_year]([Year]) < @P2"
    );
    let bounds: Vec<Vec<String>> = reads.iter().map(|r| r.params[1..].to_vec()).collect();
    assert_eq!(bounds, [["1", "2"], ["2", "3"], ["3", "4"], ["4", "5"]]);
    let year = Constraints {
        summary: [(
            "year".to_owned(),
            ValueSet::ranges(
                &DataType::Int32,
                vec![Range::equal(Scalar::Int32(2021))],
                false,
            ),
        )]
        .into_iter()
        .collect(),
        ..Default::default()
    };
    let pruned = read(&c, "dbo", "orders", &["id"], &year).await.unwrap();
    assert_eq!(pruned.splits, 1, "only partition 2 can hold Year = 2021");
}

/// A table larger than `split_target_bytes` with an integer primary key is read in key
/// ranges, the first and last open-ended.
#[tokio::test]
async fn large_tables_are_read_in_primary_key_ranges() {
    let server = TdsStandIn::start(USER, "pw").await;
    catalog(
        &server,
        &[("id", "bigint", 19, 0), ("name", "nvarchar", 0, 0)],
    );
    server
        .on(
            "FROM sys.tables t",
            Answer::Rows(vec![col("f", Ty::NVarChar(Some(128)))], vec![]),
        )
        .on(
            "sys.dm_db_partition_stats",
            Answer::Rows(
                vec![col("bytes", Ty::BigInt)],
                vec![vec![Val::Int(5_000_000)]],
            ),
        )
        .on(
            "i.is_primary_key = 1",
            Answer::Rows(
                vec![col("name", Ty::NVarChar(Some(128)))],
                vec![vec![text("id")]],
            ),
        )
        .on(
            "CAST(MIN([id]) AS BIGINT)",
            Answer::Rows(
                vec![col("lo", Ty::BigInt), col("hi", Ty::BigInt)],
                vec![vec![Val::Int(1), Val::Int(100)]],
            ),
        )
        .on(
            "FROM [dbo].[Orders]",
            Answer::Rows(vec![col("id", Ty::BigInt)], vec![vec![Val::Int(1)]]),
        );
    let conn = format!(
        "sqlserver://jdbc:sqlserver://127.0.0.1:{};databaseName=sales;encrypt=false;user={USER};password=pw",
        server.port
    );
    let c = client(
        connector(&[
            ("default", conn.as_str()),
            CASING,
            ("split_target_bytes", "1000000"),
        ])
        .await,
        "ms",
    )
    .await;
    let r = read(&c, "dbo", "orders", &["id"], &Constraints::default())
        .await
        .unwrap();
    // 5 MB in 1 MB splits over keys 1..=100: steps of 20.
    assert_eq!(r.splits, 5);
    let reads: Vec<_> = server
        .received()
        .into_iter()
        .filter(|r| r.sql.starts_with("SELECT [id] FROM [dbo].[Orders]"))
        .map(|r| (r.sql, r.params[1..].to_vec()))
        .collect();
    assert_eq!(
        reads[0].0,
        "SELECT [id] FROM [dbo].[Orders] WHERE [id] < @P1"
    );
    assert_eq!(reads[0].1, ["21"]);
    assert_eq!(
        reads[2].0,
        "SELECT [id] FROM [dbo].[Orders] WHERE [id] >= @P1 AND [id] < @P2"
    );
    assert_eq!(reads[2].1, ["41", "61"]);
    assert_eq!(
        reads[4].0,
        "SELECT [id] FROM [dbo].[Orders] WHERE [id] >= @P1"
    );
    assert_eq!(reads[4].1, ["81"]);
    // Every range read exactly once: together they cover the keys, without overlap.
    let mut ranges: Vec<Vec<String>> = reads.iter().map(|r| r.1.clone()).collect();
    ranges.sort();
    assert_eq!(
        ranges,
        [
            vec!["21"],
            vec!["21", "41"],
            vec!["41", "61"],
            vec!["61", "81"],
            vec!["81"]
        ]
    );
}

/// Passthrough runs one SELECT in a transaction that is rolled back; anything else is
/// refused before it reaches the server.
#[tokio::test]
async fn passthrough_runs_one_select_and_leaves_nothing_behind() {
    let server = TdsStandIn::start(USER, "pw").await;
    server
        .on(
            "sys.dm_exec_describe_first_result_set",
            Answer::Rows(
                vec![
                    col("name", Ty::NVarChar(Some(128))),
                    col("system_type_name", Ty::NVarChar(Some(128))),
                ],
                vec![
                    vec![text("n"), text("int")],
                    vec![text("total"), text("decimal(12,2)")],
                ],
            ),
        )
        .on("BEGIN TRANSACTION", Answer::Done)
        .on("ROLLBACK", Answer::Done)
        .on(
            "FROM (SELECT",
            Answer::Rows(
                vec![col("n", Ty::Int), col("total", Ty::Decimal(12, 2))],
                vec![vec![Val::Int(3), Val::Decimal(12345)]],
            ),
        );
    let conn = format!(
        "sqlserver://jdbc:sqlserver://127.0.0.1:{};databaseName=sales;encrypt=false;user={USER};password=pw",
        server.port
    );
    let c = client(connector(&[("default", conn.as_str()), CASING]).await, "ms").await;
    let batch = passthrough(
        &c,
        "SELECT COUNT(*) AS n, SUM(amount) AS total FROM dbo.Orders;",
    )
    .await
    .unwrap();
    assert_eq!(column_text(&batch, "n"), [Some("3".to_owned())]);
    assert_eq!(column_text(&batch, "total"), [Some("12345".to_owned())]);
    let sqls: Vec<String> = server
        .received()
        .into_iter()
        .map(|r| r.sql)
        .filter(|s| !s.contains("describe_first_result_set"))
        .collect();
    assert_eq!(
        sqls,
        [
            "SET XACT_ABORT ON; BEGIN TRANSACTION",
            "SELECT q.[n], q.[total] FROM (SELECT COUNT(*) AS n, SUM(amount) AS total FROM dbo.Orders) AS q",
            "ROLLBACK"
        ]
    );
    let e = passthrough(&c, "SELECT 1 AS n; DELETE FROM dbo.Orders")
        .await
        .unwrap_err();
    assert!(
        e.contains("a SQL Server passthrough query must be one statement: it may not contain ';'"),
        "{e}"
    );
    assert!(!server.received().iter().any(|r| r.sql.contains("DELETE")));
}

/// Wrong credentials end in the server's own message, named as a login failure.
#[tokio::test]
async fn a_rejected_login_is_reported_with_the_servers_message() {
    let server = TdsStandIn::start(USER, "right").await;
    let conn = format!(
        "sqlserver://jdbc:sqlserver://127.0.0.1:{};databaseName=sales;encrypt=false;user={USER};password=wrong",
        server.port
    );
    let c = client(connector(&[("default", conn.as_str()), CASING]).await, "ms").await;
    let e = c.list_schemas().await.unwrap_err().to_string();
    assert!(
        e.contains("the database rejected the credentials of user \"athena\": Login failed for user 'athena'."),
        "{e}"
    );
    assert!(!e.contains("wrong"), "no password in errors: {e}");
    assert_eq!(server.logins(), 0);
}

/// Against a real SQL Server (`MSSQL_URL`): every mapped type, cross-checked with the
/// server's own answer to the same query.
#[tokio::test]
#[cfg_attr(not(mssql_server), ignore = "MSSQL_URL is unset: did not run")]
async fn real_server_types_match_the_servers_own_answer() {
    use tiberius::{AuthMethod, Client, Config};
    use tokio_util::compat::TokioAsyncWriteCompatExt;
    let url = std::env::var("MSSQL_URL").expect("MSSQL_URL");
    let jdbc = athena_connector::config::JdbcUrl::parse(&url).expect("a jdbc:sqlserver:// URL");
    let mut config = Config::new();
    config.host(&jdbc.host);
    config.port(jdbc.port_or_default());
    config.database(jdbc.database.clone().unwrap_or_default());
    config.authentication(AuthMethod::sql_server(
        jdbc.user.clone().unwrap_or_default(),
        jdbc.password.as_ref().map(|p| p.expose()).unwrap_or(""),
    ));
    config.trust_cert();
    let tcp = tokio::net::TcpStream::connect(config.get_addr())
        .await
        .unwrap();
    let mut ms = Client::connect(config, tcp.compat_write()).await.unwrap();
    ms.simple_query(
        "IF OBJECT_ID('dbo.AthenaTypes') IS NOT NULL DROP TABLE dbo.AthenaTypes;
         CREATE TABLE dbo.AthenaTypes (id INT PRIMARY KEY, Name NVARCHAR(50), amount DECIMAL(38,10),
           price MONEY, placed DATE, created DATETIME, updated DATETIME2(7), seen DATETIMEOFFSET,
           active BIT, qty TINYINT, ratio REAL, uid UNIQUEIDENTIFIER, doc XML, v SQL_VARIANT);
         INSERT INTO dbo.AthenaTypes VALUES
           (1, N'Ünï', 1234567890123456789012345678.0123456789, 922337203685477.5807, '0001-01-01',
            '1969-12-31 23:59:59.997', '9999-12-31 23:59:59.9999999', '2024-02-29 14:00:00 +02:00',
            1, 255, 0.5, '6F9619FF-8B86-D011-B42D-00C04FC964FF', '<a>1</a>', 42),
           (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);",
    )
    .await
    .unwrap()
    .into_results()
    .await
    .unwrap();
    let c = client(
        connector(&[("default", format!("sqlserver://{url}").as_str())]).await,
        "ms",
    )
    .await;
    let columns = [
        "id", "Name", "amount", "price", "placed", "created", "updated", "seen", "active", "qty",
        "ratio", "uid", "doc", "v",
    ];
    let r = read(&c, "dbo", "athenatypes", &columns, &Constraints::default())
        .await
        .unwrap();
    let s = |v: &str| Some(v.to_owned());
    assert_eq!(
        column_text(&r.batch, "amount")[0],
        s("12345678901234567890123456780123456789")
    );
    assert_eq!(column_text(&r.batch, "price")[0], s("9223372036854775807"));
    assert_eq!(column_text(&r.batch, "placed")[0], s("-719162"));
    assert_eq!(column_text(&r.batch, "created")[0], s("-3"));
    assert_eq!(column_text(&r.batch, "seen")[0], s("1709208000000"));
    assert_eq!(column_text(&r.batch, "qty")[0], s("255"));
    assert_eq!(
        column_text(&r.batch, "uid")[0],
        s("6F9619FF-8B86-D011-B42D-00C04FC964FF")
    );
    assert_eq!(column_text(&r.batch, "v")[0], s("42"));
    assert!(column_text(&r.batch, "Name")[1].is_none());
}

/// `athena-fed query` on SQL Server, as the README shows it: the stand-in program serves
/// `sales.dbo.orders`, DataFusion plays Athena over the connector.
#[tokio::test]
async fn athena_fed_queries_sql_server_through_the_stand_in() {
    use std::io::BufRead;
    let mut stand_in = std::process::Command::new(workspace_binary("tds-stand-in"))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("tds-stand-in runs");
    let mut line = String::new();
    std::io::BufReader::new(stand_in.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let catalog = format!("ms={}", line.trim());
    let run = |sql: &str| {
        std::process::Command::new(workspace_binary("athena-fed"))
            .args(["query", "--catalog", &catalog, "--format", "csv", sql])
            .output()
            .expect("athena-fed runs")
    };
    let out = run("select customer, count(*) as n, sum(amount) as total, min(placed) as first from ms.dbo.orders group by customer order by customer");
    let filtered = run("select id from ms.dbo.orders where amount > 0");
    stand_in.kill().unwrap();
    stand_in.wait().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "customer,n,total,first\nAlice,2,19.98,0001-01-01\nBob,1,5.00,1969-12-31\n"
    );
    // The stand-in evaluates no WHERE: it says so rather than answer wrongly.
    assert!(!filtered.status.success());
    assert!(
        String::from_utf8_lossy(&filtered.stderr)
            .contains("the SQL Server stand-in evaluates no WHERE"),
        "{}",
        String::from_utf8_lossy(&filtered.stderr)
    );
}

/// The official connector's form: `${secret}` names a Secrets Manager secret (moto here)
/// holding the login; the password may hold `;` and `}` (no quoting needed there).
#[tokio::test]
async fn credentials_come_from_a_secrets_manager_secret() {
    let password = "p;w}d{1";
    let server = TdsStandIn::start(USER, password).await;
    server.on(
        "FROM sys.schemas WHERE schema_id",
        Answer::Rows(
            vec![col("name", Ty::NVarChar(Some(128)))],
            vec![vec![text("dbo")]],
        ),
    );
    put_secret("sqlserver/stand-in", USER, password).await;
    let conn = format!(
        "sqlserver://jdbc:sqlserver://127.0.0.1:{};databaseName=sales;encrypt=false;${{sqlserver/stand-in}}",
        server.port
    );
    let c = client(connector(&[("default", conn.as_str())]).await, "ms").await;
    assert_eq!(c.list_schemas().await.unwrap(), vec!["dbo"]);
    assert_eq!(server.logins(), 1);
}
