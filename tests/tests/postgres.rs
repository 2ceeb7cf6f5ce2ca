//! The connector over a real PostgreSQL, through the JSON protocol.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field};
use athena_connector::protocol::{Constraints, Range, Scalar, ValueSet};
use integration_tests::check::{column_text, ids, same_value};
use integration_tests::*;
use sqlx::{AssertSqlSafe, Executor, Row};

/// A fresh schema for one test.
async fn schema(pg: &sqlx::PgPool, name: &str) {
    pg.execute(AssertSqlSafe(format!(
        "DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}"
    )))
    .await
    .unwrap();
}

fn pg_default() -> String {
    let u = postgres_url();
    // postgres://athena:athena@host:port/db → the JDBC form the connector takes.
    let rest = u.split_once('@').unwrap().1;
    format!("postgres://jdbc:postgresql://{rest}?user=athena&password=athena")
}

async fn pg_client(extra: &[(&str, &str)]) -> athena_connector::client::Client {
    let d = pg_default();
    let mut vars: Vec<(&str, &str)> = vec![("default", d.as_str())];
    vars.extend_from_slice(extra);
    client(connector(&vars).await, "pg").await
}

fn list(t: DataType) -> DataType {
    DataType::List(std::sync::Arc::new(Field::new("", t, true)))
}

#[tokio::test]
async fn every_type_reads_as_the_database_holds_it() {
    let pg = postgres().await;
    schema(&pg, "types_cov").await;
    pg.execute(
        "CREATE TYPE types_cov.mood AS ENUM ('sad', 'happy');
         CREATE TABLE types_cov.t (
           id int PRIMARY KEY, b bool, i2 int2, i4 int4, i8 int8, f4 float4, f8 float8,
           n12 numeric(12,2), nbig numeric(38,10), nunb numeric, nhuge numeric(50,5), m money,
           c char(5), vc varchar(10), tx text, d date, ts timestamp, tstz timestamptz, tm time, iv interval,
           ba bytea, u uuid, j json, jb jsonb, e types_cov.mood, bits bit(4), ir int4range,
           ai int4[], at text[], an numeric(10,2)[], au uuid[]);
         INSERT INTO types_cov.t VALUES
          (1, true, -32768, 2147483647, -9223372036854775808, 3.4e38, -1.7976931348623157e308,
           9999999999.99, 1234567890123456789012345678.0123456789, 12345.6, 1e44, 1234.56,
           'ab', 'héllo', E'multi\\nline ''quoted''', '1900-02-28', '1969-12-31 23:59:59.999', '2024-03-10 12:00:00+05',
           '23:59:59.5', '1 year 2 days', '\\x00ff10', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{\"k\": [1, 2]}', '{\"k\": 1}',
           'happy', B'1010', '[1,10)', '{1,NULL,3}', '{a,\"b c\"}', '{1.5,NULL}', '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}'),
          (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
           NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
          (3, false, 32767, -2147483648, 9223372036854775807, -1.5, 0.1, -0.01, -0.0000000001, -0.5, -1.5, -0.01,
           'abcde', '', '', '0001-01-01', '2262-04-11 23:47:16.854', '1970-01-01 00:00:00.001+00', '00:00', '-1 second',
           '\\x', '00000000-0000-0000-0000-000000000000', 'null', '[]', 'sad', B'0000', 'empty', '{}', '{}', '{}', '{}')",
    )
    .await
    .unwrap();
    let c = pg_client(&[]).await;
    let all = [
        "id", "b", "i2", "i4", "i8", "f4", "f8", "n12", "nbig", "nunb", "nhuge", "m", "c", "vc",
        "tx", "d", "ts", "tstz", "tm", "iv", "ba", "u", "j", "jb", "e", "bits", "ir", "ai", "at",
        "an", "au",
    ];
    let r = read(&c, "types_cov", "t", &all, &Constraints::default())
        .await
        .unwrap();
    let types: Vec<(&str, DataType)> = r
        .table
        .schema
        .fields()
        .iter()
        .map(|f| (f.name().as_str(), f.data_type().clone()))
        .collect();
    let expected = vec![
        ("id", DataType::Int32),
        ("b", DataType::Boolean),
        ("i2", DataType::Int16),
        ("i4", DataType::Int32),
        ("i8", DataType::Int64),
        ("f4", DataType::Float32),
        ("f8", DataType::Float64),
        ("n12", DataType::Decimal128(12, 2)),
        ("nbig", DataType::Decimal128(38, 10)),
        ("nunb", DataType::Decimal128(38, 0)),
        ("nhuge", DataType::Utf8),
        ("m", DataType::Decimal128(19, 2)),
        ("c", DataType::Utf8),
        ("vc", DataType::Utf8),
        ("tx", DataType::Utf8),
        ("d", DataType::Date32),
        ("ts", DataType::Date64),
        ("tstz", DataType::Date64),
        ("tm", DataType::Utf8),
        ("iv", DataType::Utf8),
        ("ba", DataType::Binary),
        ("u", DataType::Utf8),
        ("j", DataType::Utf8),
        ("jb", DataType::Utf8),
        ("e", DataType::Utf8),
        ("bits", DataType::Utf8),
        ("ir", DataType::Utf8),
        ("ai", list(DataType::Int32)),
        ("at", list(DataType::Utf8)),
        ("an", list(DataType::Decimal128(10, 2))),
        ("au", list(DataType::Utf8)),
    ];
    assert_eq!(types, expected);
    assert_eq!(r.batch.num_rows(), 3);
    // What PostgreSQL itself says, in the form column_text renders ours.
    let truth = [
        ("b", "b::text"),
        ("i2", "i2::text"),
        ("i4", "i4::text"),
        ("i8", "i8::text"),
        ("f4", "f4::text"),
        ("f8", "f8::text"),
        ("n12", "(n12 * 100)::numeric(40,0)::text"),
        ("nbig", "(nbig * 10000000000)::numeric(60,0)::text"),
        ("nunb", "round(nunb)::text"),
        ("nhuge", "nhuge::text"),
        ("m", "(m::numeric * 100)::numeric(30,0)::text"),
        ("c", "rtrim(c)"),
        ("vc", "vc"),
        ("tx", "tx"),
        ("d", "(d - date '1970-01-01')::text"),
        ("ts", "floor(extract(epoch from ts) * 1000)::int8::text"),
        ("tstz", "floor(extract(epoch from tstz) * 1000)::int8::text"),
        ("tm", "tm::text"),
        ("iv", "iv::text"),
        ("ba", "encode(ba, 'hex')"),
        ("u", "u::text"),
        ("j", "j::text"),
        ("jb", "jb::text"),
        ("e", "e::text"),
        ("bits", "bits::text"),
        ("ir", "ir::text"),
        ("ai", "ai::text"),
        ("at", "array_to_string(at, ',', 'NULL')"),
        ("an", "an::text"),
        ("au", "au::text"),
    ];
    let mut order: Vec<usize> = (0..3).collect();
    let got_ids = column_text(&r.batch, "id");
    order.sort_by_key(|i| got_ids[*i].clone());
    for (column, sql) in truth {
        let expected: Vec<Option<String>> = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT {sql} FROM types_cov.t ORDER BY id"
        )))
        .fetch_all(&pg)
        .await
        .unwrap();
        let got = column_text(&r.batch, column);
        for (row, i) in order.iter().enumerate() {
            let mut ours = got[*i].clone();
            if column == "at" {
                ours = ours.map(|s| s.trim_matches(['{', '}']).to_owned());
            }
            assert!(
                same_value(&ours, &expected[row]),
                "{column} row {}: connector {:?}, database {:?}",
                row + 1,
                ours,
                expected[row]
            );
        }
    }
}

#[tokio::test]
async fn predicates_select_exactly_the_rows_the_database_selects() {
    let pg = postgres().await;
    schema(&pg, "preds").await;
    pg.execute(
        "CREATE TABLE preds.t (id int8 PRIMARY KEY, n int4, s text, d date, ts timestamp, x numeric(10,2), f float8, b bool);
         INSERT INTO preds.t SELECT g,
            CASE WHEN g % 7 = 0 THEN NULL ELSE (g * 37) % 100 - 50 END,
            CASE WHEN g % 11 = 0 THEN NULL ELSE (ARRAY['apple','Apple','APPLE','banana','b','apple ','Zebra','émile','zz',''])[g % 10 + 1] END,
            CASE WHEN g % 13 = 0 THEN NULL ELSE date '1960-01-01' + (g * 97) % 30000 END,
            CASE WHEN g % 17 = 0 THEN NULL ELSE timestamp '1965-06-01 00:00:00' + (g * 7919) * interval '1 hour' END,
            CASE WHEN g % 5 = 0 THEN NULL ELSE ((g * 131) % 20000 - 10000) / 100.0 END,
            CASE WHEN g % 19 = 0 THEN NULL ELSE (g * 1.25) - 200 END,
            CASE WHEN g % 3 = 0 THEN NULL ELSE g % 2 = 0 END
          FROM generate_series(1, 400) g",
    )
    .await
    .unwrap();
    let c = pg_client(&[]).await;
    let int = |v: i32| Scalar::Int32(v);
    let s = |v: &str| Scalar::Utf8(v.into());
    let day = |y: i32, m: u32, d: u32| {
        Scalar::Date32(
            (chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap()
                - chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap())
            .num_days() as i32,
        )
    };
    let ms = |t: &str| {
        Scalar::Date64(
            chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S")
                .unwrap()
                .and_utc()
                .timestamp_millis(),
        )
    };
    let dec = |v: i128| Scalar::Decimal {
        value: v,
        precision: 10,
        scale: 2,
    };
    let r = |t: &DataType, lo: Option<(Scalar, bool)>, hi: Option<(Scalar, bool)>| {
        Range::between(t, lo, hi)
    };
    let (i32t, txt, dt, tst, dect, f64t) = (
        DataType::Int32,
        DataType::Utf8,
        DataType::Date32,
        DataType::Date64,
        DataType::Decimal128(10, 2),
        DataType::Float64,
    );
    let cases: Vec<(&str, ValueSet, &str)> = vec![
        (
            "n",
            ValueSet::ranges(
                &i32t,
                vec![r(&i32t, Some((int(-10), true)), Some((int(10), false)))],
                false,
            ),
            "n >= -10 AND n < 10",
        ),
        (
            "n",
            ValueSet::ranges(
                &i32t,
                vec![
                    r(&i32t, None, Some((int(0), true))),
                    r(&i32t, Some((int(40), false)), None),
                ],
                true,
            ),
            "n <= 0 OR n > 40 OR n IS NULL",
        ),
        (
            "n",
            ValueSet::ranges(
                &i32t,
                vec![
                    Range::equal(int(-13)),
                    Range::equal(int(24)),
                    Range::equal(int(11)),
                ],
                false,
            ),
            "n IN (-13, 24, 11)",
        ),
        (
            "n",
            ValueSet::values(&i32t, &[int(-13), int(24)], false, false).unwrap(),
            "n NOT IN (-13, 24)",
        ),
        (
            "n",
            ValueSet::values(&i32t, &[int(-13), int(24)], false, true).unwrap(),
            "n NOT IN (-13, 24) OR n IS NULL",
        ),
        ("n", ValueSet::ranges(&i32t, vec![], true), "n IS NULL"),
        (
            "n",
            ValueSet::ranges(&i32t, vec![r(&i32t, None, None)], false),
            "n IS NOT NULL",
        ),
        (
            "n",
            ValueSet::AllOrNone {
                arrow_type: athena_connector::protocol::ArrowType::Int {
                    bit_width: 32,
                    signed: true,
                },
                all: false,
                null_allowed: false,
            },
            "false",
        ),
        (
            "s",
            ValueSet::ranges(&txt, vec![Range::equal(s("apple"))], false),
            "s = 'apple'",
        ),
        (
            "s",
            ValueSet::ranges(
                &txt,
                vec![r(&txt, Some((s("Zebra"), false)), Some((s("b"), true)))],
                false,
            ),
            "s COLLATE \"C\" > 'Zebra' AND s COLLATE \"C\" <= 'b'",
        ),
        (
            "s",
            ValueSet::values(&txt, &[s("apple"), s("émile"), s("")], true, true).unwrap(),
            "s IN ('apple', 'émile', '') OR s IS NULL",
        ),
        (
            "s",
            ValueSet::values(&txt, &[s("apple")], false, false).unwrap(),
            "s <> 'apple'",
        ),
        (
            "d",
            ValueSet::ranges(
                &dt,
                vec![r(
                    &dt,
                    Some((day(1969, 12, 31), true)),
                    Some((day(1990, 1, 1), false)),
                )],
                false,
            ),
            "d >= '1969-12-31' AND d < '1990-01-01'",
        ),
        (
            "d",
            ValueSet::ranges(
                &dt,
                vec![r(&dt, None, Some((day(1965, 3, 1), false)))],
                true,
            ),
            "d < '1965-03-01' OR d IS NULL",
        ),
        (
            "ts",
            ValueSet::ranges(
                &tst,
                vec![r(
                    &tst,
                    Some((ms("1969-01-01 00:00:00"), false)),
                    Some((ms("2000-01-01 00:00:00"), true)),
                )],
                false,
            ),
            "ts > '1969-01-01' AND ts <= '2000-01-01'",
        ),
        (
            "x",
            ValueSet::ranges(
                &dect,
                vec![r(&dect, Some((dec(-2550), true)), Some((dec(1999), true)))],
                false,
            ),
            "x BETWEEN -25.50 AND 19.99",
        ),
        (
            "x",
            ValueSet::ranges(&dect, vec![Range::equal(dec(-9869))], false),
            "x = -98.69",
        ),
        (
            "f",
            ValueSet::ranges(
                &f64t,
                vec![r(&f64t, Some((Scalar::Float64(-100.5), false)), None)],
                false,
            ),
            "f > -100.5",
        ),
        (
            "b",
            ValueSet::ranges(
                &DataType::Boolean,
                vec![Range::equal(Scalar::Bool(true))],
                true,
            ),
            "b OR b IS NULL",
        ),
    ];
    for (column, set, sql) in cases {
        let constraints = Constraints {
            summary: [(column.to_owned(), set)].into_iter().collect(),
            ..Default::default()
        };
        let got = read(&c, "preds", "t", &["id", column], &constraints)
            .await
            .unwrap();
        let want: Vec<i64> = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT id FROM preds.t WHERE {sql} ORDER BY id"
        )))
        .fetch_all(&pg)
        .await
        .unwrap();
        assert_eq!(ids(&got.batch, "id"), want, "{sql}");
    }
}

#[tokio::test]
async fn mixed_case_names_resolve_and_ambiguous_ones_fail() {
    let pg = postgres().await;
    pg.execute("DROP SCHEMA IF EXISTS \"CaseTest\" CASCADE; CREATE SCHEMA \"CaseTest\";
        CREATE TABLE \"CaseTest\".\"MyTable\" (\"ID\" int, \"CamelCol\" text);
        INSERT INTO \"CaseTest\".\"MyTable\" VALUES (1, 'x'), (2, 'y');
        CREATE TABLE \"CaseTest\".\"Dup\" (a int); CREATE TABLE \"CaseTest\".dup (a int);
        CREATE VIEW \"CaseTest\".\"TheView\" AS SELECT \"ID\" * 10 AS \"Tenfold\" FROM \"CaseTest\".\"MyTable\";
        CREATE MATERIALIZED VIEW \"CaseTest\".mat AS SELECT 1 AS one;")
        .await
        .unwrap();
    let c = pg_client(&[]).await;
    // Athena lower-cases everything; the connector answers with the real names.
    let r = read(
        &c,
        "casetest",
        "mytable",
        &["ID", "CamelCol"],
        &Constraints::default(),
    )
    .await
    .unwrap();
    assert_eq!(r.table.table_name.schema_name, "CaseTest");
    assert_eq!(r.table.table_name.table_name, "MyTable");
    assert_eq!(ids(&r.batch, "ID"), vec![1, 2]);
    let v = read(
        &c,
        "casetest",
        "theview",
        &["Tenfold"],
        &Constraints::default(),
    )
    .await
    .unwrap();
    assert_eq!(ids(&v.batch, "Tenfold"), vec![10, 20]);
    let m = read(&c, "casetest", "mat", &["one"], &Constraints::default())
        .await
        .unwrap();
    assert_eq!(ids(&m.batch, "one"), vec![1]);
    let err = read(&c, "casetest", "dup", &["a"], &Constraints::default())
        .await
        .err()
        .unwrap();
    assert!(err.contains("table name \"CaseTest.dup\" is ambiguous: CaseTest.Dup, CaseTest.dup differ only in case"), "{err}");
    let tables = c.list_tables("casetest", 2).await.unwrap();
    let names: Vec<&str> = tables.iter().map(|t| t.table_name.as_str()).collect();
    assert_eq!(
        names,
        ["Dup", "MyTable", "TheView", "dup", "mat"],
        "paged two at a time, code-point order"
    );
    let err = read(&c, "casetest", "nosuch", &["a"], &Constraints::default())
        .await
        .err()
        .unwrap();
    assert!(err.contains("table CaseTest.nosuch not found"), "{err}");
    let schemas = c.list_schemas().await.unwrap();
    assert!(
        schemas.contains(&"CaseTest".to_owned())
            && !schemas
                .iter()
                .any(|s| s == "pg_catalog" || s == "information_schema"),
        "{schemas:?}"
    );
}

#[tokio::test]
async fn partitions_become_splits_and_are_pruned_by_the_planner() {
    let pg = postgres().await;
    schema(&pg, "parts").await;
    pg.execute("CREATE TABLE parts.m (id int, day date) PARTITION BY RANGE (day);
        CREATE TABLE parts.m_2024_01 PARTITION OF parts.m FOR VALUES FROM ('2024-01-01') TO ('2024-02-01');
        CREATE TABLE parts.m_2024_02 PARTITION OF parts.m FOR VALUES FROM ('2024-02-01') TO ('2024-03-01');
        CREATE TABLE parts.m_2024_03 PARTITION OF parts.m FOR VALUES FROM ('2024-03-01') TO ('2024-04-01');
        INSERT INTO parts.m SELECT g, date '2024-01-01' + (g % 90) FROM generate_series(1, 900) g;
        CREATE TABLE parts.parent (id int); CREATE TABLE parts.child (extra int) INHERITS (parts.parent);
        INSERT INTO parts.parent VALUES (1), (2); INSERT INTO parts.child VALUES (3, 0);")
        .await
        .unwrap();
    let c = pg_client(&[]).await;
    let all = read(&c, "parts", "m", &["id"], &Constraints::default())
        .await
        .unwrap();
    assert_eq!(all.splits, 3);
    assert_eq!(ids(&all.batch, "id"), (1..=900).collect::<Vec<_>>());
    let feb = chrono::NaiveDate::from_ymd_opt(2024, 2, 10).unwrap()
        - chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
    let only_feb = Constraints {
        summary: [(
            "day".to_owned(),
            ValueSet::ranges(
                &DataType::Date32,
                vec![Range::equal(Scalar::Date32(feb.num_days() as i32))],
                false,
            ),
        )]
        .into_iter()
        .collect(),
        ..Default::default()
    };
    let pruned = read(&c, "parts", "m", &["id", "day"], &only_feb)
        .await
        .unwrap();
    assert_eq!(pruned.splits, 1, "the planner reads one partition");
    let want: Vec<i64> =
        sqlx::query_scalar("SELECT id::int8 FROM parts.m WHERE day = '2024-02-10' ORDER BY id")
            .fetch_all(&pg)
            .await
            .unwrap();
    assert_eq!(ids(&pruned.batch, "id"), want);
    let inherited = read(&c, "parts", "parent", &["id"], &Constraints::default())
        .await
        .unwrap();
    assert_eq!(
        (inherited.splits, ids(&inherited.batch, "id")),
        (2, vec![1, 2, 3]),
        "parent's own rows once, child once"
    );
}

#[tokio::test]
async fn large_tables_split_into_page_ranges_covering_every_row_once() {
    let pg = postgres().await;
    schema(&pg, "big").await;
    pg.execute("CREATE TABLE big.t (id int8, pad text); INSERT INTO big.t SELECT g, repeat('x', 200) FROM generate_series(1, 20000) g; ANALYZE big.t;")
        .await
        .unwrap();
    let c = pg_client(&[("split_target_bytes", "524288")]).await;
    let r = read(&c, "big", "t", &["id"], &Constraints::default())
        .await
        .unwrap();
    assert!(r.splits >= 8, "{} splits", r.splits);
    assert_eq!(
        ids(&r.batch, "id"),
        (1..=20000).collect::<Vec<_>>(),
        "disjoint splits covering the table"
    );
    // count(*): no columns, every row counted.
    let count = read(&c, "big", "t", &[], &Constraints::default())
        .await
        .unwrap();
    assert_eq!(
        (count.batch.num_columns(), count.batch.num_rows()),
        (0, 20000)
    );
    // LIMIT is only pushed to a single split, so it is exact.
    let limited = read(
        &c,
        "big",
        "t",
        &["id"],
        &Constraints {
            limit: 7,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!((limited.splits, limited.batch.num_rows()), (1, 7));
    let top = Constraints {
        limit: 3,
        order_by: vec![athena_connector::protocol::OrderByField {
            column_name: "id".into(),
            direction: athena_connector::protocol::SortDirection::DescNullsLast,
        }],
        ..Default::default()
    };
    let top3 = read(&c, "big", "t", &["id"], &top).await.unwrap();
    assert_eq!(
        column_text(&top3.batch, "id"),
        vec![
            Some("20000".into()),
            Some("19999".into()),
            Some("19998".into())
        ]
    );
}

#[tokio::test]
async fn injection_through_names_and_values_is_inert() {
    let pg = postgres().await;
    schema(&pg, "inj").await;
    pg.execute("CREATE TABLE inj.victim (id int, s text); INSERT INTO inj.victim VALUES (1, 'a'), (2, 'b');
                CREATE TABLE inj.\"we\"\"ird; name\" (id int); INSERT INTO inj.\"we\"\"ird; name\" VALUES (42);")
        .await
        .unwrap();
    let c = pg_client(&[]).await;
    let err = read(
        &c,
        "inj",
        "victim\"; drop table inj.victim; --",
        &["id"],
        &Constraints::default(),
    )
    .await
    .err()
    .unwrap();
    assert!(err.contains("not found"), "{err}");
    let weird = read(&c, "inj", "we\"ird; name", &["id"], &Constraints::default())
        .await
        .unwrap();
    assert_eq!(ids(&weird.batch, "id"), vec![42]);
    let hostile = Constraints {
        summary: [(
            "s".to_owned(),
            ValueSet::ranges(
                &DataType::Utf8,
                vec![Range::equal(Scalar::Utf8("a' OR '1'='1".into()))],
                false,
            ),
        )]
        .into_iter()
        .collect(),
        ..Default::default()
    };
    let none = read(&c, "inj", "victim", &["id"], &hostile).await.unwrap();
    assert_eq!(none.batch.num_rows(), 0);
    let still: i64 = sqlx::query_scalar("SELECT count(*) FROM inj.victim")
        .fetch_one(&pg)
        .await
        .unwrap();
    assert_eq!(still, 2);
}

#[tokio::test]
async fn passthrough_queries_run_read_only() {
    let pg = postgres().await;
    schema(&pg, "qpt").await;
    pg.execute("CREATE TABLE qpt.t (id int, amount numeric(8,3)); INSERT INTO qpt.t VALUES (1, 1.5), (2, 2.25);").await.unwrap();
    let c = pg_client(&[]).await;
    let args: indexmap::IndexMap<String, String> = [
        ("schemaFunctionName".to_owned(), "SYSTEM.QUERY".to_owned()),
        (
            "QUERY".to_owned(),
            "SELECT id * 2 AS twice, amount FROM qpt.t ORDER BY id;".to_owned(),
        ),
    ]
    .into_iter()
    .collect();
    let name = athena_connector::protocol::TableName::new("system", "query");
    let t = c.get_table(&name, args.clone()).await.unwrap();
    let types: Vec<(String, DataType)> = t
        .schema
        .fields()
        .iter()
        .map(|f| (f.name().clone(), f.data_type().clone()))
        .collect();
    assert_eq!(
        types,
        vec![
            ("twice".into(), DataType::Int32),
            ("amount".into(), DataType::Decimal128(8, 3))
        ]
    );
    let constraints = Constraints {
        query_passthrough_arguments: args,
        ..Default::default()
    };
    let splits = c.splits(&t, &constraints).await.unwrap();
    assert_eq!(splits.len(), 1);
    let rows = c
        .read_split(&name, t.schema.clone(), splits[0].clone(), &constraints)
        .await
        .unwrap();
    assert_eq!(
        column_text(&rows[0], "twice"),
        vec![Some("2".into()), Some("4".into())]
    );
    assert_eq!(
        column_text(&rows[0], "amount"),
        vec![Some("1500".into()), Some("2250".into())]
    );
    let write: indexmap::IndexMap<String, String> = [
        ("schemaFunctionName".to_owned(), "system.query".to_owned()),
        (
            "QUERY".to_owned(),
            "DELETE FROM qpt.t RETURNING id".to_owned(),
        ),
    ]
    .into_iter()
    .collect();
    let err = c.get_table(&name, write).await.err().unwrap().to_string();
    assert!(err.contains("GetTableRequest failed"), "{err}");
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM qpt.t")
        .fetch_one(&pg)
        .await
        .unwrap();
    assert_eq!(left, 2, "a passthrough query cannot write");
}

#[tokio::test]
async fn large_results_spill_encrypted_to_s3() {
    let pg = postgres().await;
    schema(&pg, "spill").await;
    pg.execute("CREATE TABLE spill.t (id int8, s text); INSERT INTO spill.t SELECT g, md5(g::text) FROM generate_series(1, 30000) g;").await.unwrap();
    create_bucket("spill-bucket").await;
    let mut c = pg_client(&[
        ("spill_bucket", "spill-bucket"),
        ("spill_prefix", "athena-spill"),
    ])
    .await;
    c.max_block_size = 200_000;
    c.max_inline_block_size = 100_000;
    let r = read(&c, "spill", "t", &["id", "s"], &Constraints::default())
        .await
        .unwrap();
    assert_eq!(ids(&r.batch, "id"), (1..=30000).collect::<Vec<_>>());
    let want: Vec<String> = sqlx::query_scalar("SELECT s FROM spill.t ORDER BY id")
        .fetch_all(&pg)
        .await
        .unwrap();
    let mut got: Vec<(i64, String)> = column_text(&r.batch, "id")
        .into_iter()
        .zip(column_text(&r.batch, "s"))
        .map(|(i, s)| (i.unwrap().parse().unwrap(), s.unwrap()))
        .collect();
    got.sort();
    assert_eq!(got.into_iter().map(|(_, s)| s).collect::<Vec<_>>(), want);
    // The objects are really encrypted: their bytes are not an Arrow message.
    let listed = s3()
        .await
        .list_objects_v2()
        .bucket("spill-bucket")
        .prefix(format!("athena-spill/{}/", c.query_id))
        .send()
        .await
        .unwrap();
    let keys: Vec<String> = listed
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect();
    assert!(keys.len() >= 3, "{keys:?}");
    assert!(
        keys.iter().all(|k| k
            .rsplit_once('.')
            .is_some_and(|(_, n)| n.parse::<u32>().is_ok())),
        "{keys:?}"
    );
    let body = s3_object("spill-bucket", &keys[0]).await;
    assert!(athena_connector::protocol::ipc::decode_batch(&body, &r.batch.schema()).is_err());
}

#[tokio::test]
async fn credentials_come_from_secrets_manager_and_survive_rotation() {
    let pg = postgres().await;
    schema(&pg, "rot").await;
    pg.execute("DO $$ BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'rotating') THEN DROP OWNED BY rotating; DROP ROLE rotating; END IF; END $$;
                CREATE ROLE rotating LOGIN PASSWORD 'first-pw' IN ROLE athena_password_auth;").await.unwrap();
    pg.execute("CREATE TABLE rot.t (id int); INSERT INTO rot.t VALUES (1), (2); GRANT USAGE ON SCHEMA rot TO rotating; GRANT SELECT ON rot.t TO rotating;")
        .await
        .unwrap();
    put_secret("db/rotating", "rotating", "first-pw").await;
    let hostport = postgres_url().split_once('@').unwrap().1.to_owned();
    let conn = format!("postgres://jdbc:postgresql://{hostport}?${{db/rotating}}");
    let c = client(connector(&[("default", conn.as_str())]).await, "pg").await;
    assert_eq!(
        ids(
            &read(&c, "rot", "t", &["id"], &Constraints::default())
                .await
                .unwrap()
                .batch,
            "id"
        ),
        vec![1, 2]
    );
    // Rotate: the database and the secret change; the cached password is now wrong.
    pg.execute("ALTER ROLE rotating PASSWORD 'second-pw'; SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'rotating';").await.unwrap();
    put_secret("db/rotating", "rotating", "second-pw").await;
    assert_eq!(
        ids(
            &read(&c, "rot", "t", &["id"], &Constraints::default())
                .await
                .unwrap()
                .batch,
            "id"
        ),
        vec![1, 2]
    );
    // A secret naming a wrong password, and a missing secret: clear errors, no password.
    put_secret("db/wrong", "rotating", "not-the-password").await;
    let bad = format!("postgres://jdbc:postgresql://{hostport}?${{db/wrong}}");
    let c = client(connector(&[("default", bad.as_str())]).await, "pg").await;
    let err = c.list_schemas().await.err().unwrap().to_string();
    assert!(
        err.contains("the database rejected the credentials of user \"rotating\""),
        "{err}"
    );
    assert!(!err.contains("not-the-password"), "{err}");
    let missing = format!("postgres://jdbc:postgresql://{hostport}?${{db/none}}");
    let c = client(connector(&[("default", missing.as_str())]).await, "pg").await;
    let err = c.list_schemas().await.err().unwrap().to_string();
    assert!(
        err.contains("secret \"db/none\" not found in Secrets Manager"),
        "{err}"
    );
}

#[tokio::test]
async fn a_dropped_connection_fails_the_read() {
    let pg = postgres().await;
    schema(&pg, "drop").await;
    pg.execute("CREATE VIEW drop.slow AS SELECT CASE WHEN pg_sleep(0.002)::text = '' THEN g END AS id FROM generate_series(1, 2000) g;").await.unwrap();
    let c = pg_client(&[("spill_bucket", "")]).await;
    let killer = {
        let pg = pg.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(700)).await;
            pg.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'COPY (SELECT \"id\" FROM \"drop\".\"slow\"%'").await.unwrap();
        })
    };
    let err = read(&c, "drop", "slow", &["id"], &Constraints::default())
        .await
        .err()
        .expect("the read must fail, not return part of the rows");
    killer.await.unwrap();
    assert!(
        err.contains("ReadRecordsRequest failed")
            && err.contains("the connection to the database was lost"),
        "{err}"
    );
}

#[tokio::test]
async fn sql_is_generated_with_bound_values() {
    let pg = postgres().await;
    schema(&pg, "gen").await;
    pg.execute("CREATE TABLE gen.t (id int8, name text)")
        .await
        .unwrap();
    let d = pg_default();
    let connector = connector(&[("default", d.as_str())]).await;
    let c = client(connector.clone(), "pg").await;
    let t = c
        .get_table(
            &athena_connector::protocol::TableName::new("gen", "t"),
            Default::default(),
        )
        .await
        .unwrap();
    let constraints = Constraints {
        summary: [(
            "name".to_owned(),
            ValueSet::ranges(
                &DataType::Utf8,
                vec![Range::equal(Scalar::Utf8("x'y".into()))],
                false,
            ),
        )]
        .into_iter()
        .collect(),
        ..Default::default()
    };
    let split = c.splits(&t, &constraints).await.unwrap().remove(0);
    let request = athena_connector::protocol::ReadRecordsRequest {
        header: athena_connector::protocol::RequestHeader {
            identity: c.identity.clone(),
            query_id: "q".into(),
            catalog_name: "pg".into(),
        },
        table_name: t.table_name.clone(),
        schema: t.schema.clone(),
        split,
        constraints,
        max_block_size: 1,
        max_inline_block_size: 1,
    };
    let q = connector.read_sql(&request).await.unwrap();
    assert_eq!(q.sql, "COPY (SELECT \"id\", \"name\" FROM \"gen\".\"t\" WHERE (\"name\" = (SELECT current_setting('athena.p1')::text))) TO STDOUT (FORMAT binary)");
    assert_eq!(q.params, vec![Scalar::Utf8("x'y".into())]);
    let _ = pg.fetch_one("SELECT 1").await.unwrap().get::<i32, _>(0);
}

#[tokio::test]
async fn splits_page_through_continuation_tokens() {
    let pg = postgres().await;
    schema(&pg, "pages").await;
    pg.execute("CREATE TABLE pages.m (id int, k int) PARTITION BY LIST (k);
        CREATE TABLE pages.m0 PARTITION OF pages.m FOR VALUES IN (0); CREATE TABLE pages.m1 PARTITION OF pages.m FOR VALUES IN (1);
        CREATE TABLE pages.m2 PARTITION OF pages.m FOR VALUES IN (2); CREATE TABLE pages.m3 PARTITION OF pages.m FOR VALUES IN (3);
        CREATE TABLE pages.m4 PARTITION OF pages.m FOR VALUES IN (4);
        INSERT INTO pages.m SELECT g, g % 5 FROM generate_series(1, 50) g;")
        .await
        .unwrap();
    let c = pg_client(&[("splits_per_page", "2")]).await;
    let r = read(&c, "pages", "m", &["id"], &Constraints::default())
        .await
        .unwrap();
    assert_eq!(r.splits, 5, "three pages of at most two splits");
    assert_eq!(ids(&r.batch, "id"), (1..=50).collect::<Vec<_>>());
}

#[tokio::test]
async fn uuid_and_json_columns_filter_as_their_text() {
    let pg = postgres().await;
    schema(&pg, "texty").await;
    pg.execute("CREATE TABLE texty.t (id int, u uuid, j jsonb);
        INSERT INTO texty.t VALUES (1, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{\"a\": 1}'), (2, '00000000-0000-0000-0000-000000000000', '[]'), (3, NULL, NULL);")
        .await
        .unwrap();
    let c = pg_client(&[]).await;
    let eq = |col: &str, v: &str| Constraints {
        summary: [(
            col.to_owned(),
            ValueSet::ranges(
                &DataType::Utf8,
                vec![Range::equal(Scalar::Utf8(v.into()))],
                false,
            ),
        )]
        .into_iter()
        .collect(),
        ..Default::default()
    };
    let by_uuid = read(
        &c,
        "texty",
        "t",
        &["id"],
        &eq("u", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
    )
    .await
    .unwrap();
    assert_eq!(
        ids(&by_uuid.batch, "id"),
        vec![1],
        "uuid = varchar works (upstream #442)"
    );
    let by_json = read(&c, "texty", "t", &["id"], &eq("j", "[]"))
        .await
        .unwrap();
    assert_eq!(ids(&by_json.batch, "id"), vec![2]);
}

#[tokio::test]
async fn a_failed_spill_write_fails_the_read() {
    let pg = postgres().await;
    schema(&pg, "nospill").await;
    pg.execute("CREATE TABLE nospill.t (id int8, s text); INSERT INTO nospill.t SELECT g, md5(g::text) FROM generate_series(1, 20000) g;").await.unwrap();
    let mut c = pg_client(&[("spill_bucket", "bucket-that-does-not-exist")]).await;
    c.max_block_size = 100_000;
    c.max_inline_block_size = 50_000;
    let err = read(&c, "nospill", "t", &["id", "s"], &Constraints::default())
        .await
        .err()
        .expect("no partial answer");
    assert!(
        err.contains("ReadRecordsRequest failed")
            && err.contains("spill write to s3://bucket-that-does-not-exist/"),
        "{err}"
    );
    assert!(err.contains("NoSuchBucket"), "{err}");
}

#[tokio::test]
async fn capabilities_advertise_exactly_what_is_pushed_down() {
    let c = pg_client(&[]).await;
    let caps = c
        .send(
            athena_connector::protocol::Request::GetDataSourceCapabilities(
                athena_connector::protocol::GetDataSourceCapabilitiesRequest {
                    header: athena_connector::protocol::RequestHeader {
                        identity: c.identity.clone(),
                        query_id: "q".into(),
                        catalog_name: "pg".into(),
                    },
                },
            ),
        )
        .await
        .unwrap();
    let athena_connector::protocol::Response::GetDataSourceCapabilities(caps) = caps else {
        panic!()
    };
    let summary: Vec<(String, Vec<String>)> = caps
        .capabilities
        .iter()
        .map(|(k, v)| (k.clone(), v.iter().map(|s| s.sub_type.clone()).collect()))
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                "supports_filter_pushdown".to_owned(),
                vec![
                    "sorted_range_set".to_owned(),
                    "equatable_range_set".into(),
                    "all_or_none_value_set".into(),
                    "nullable_comparison".into()
                ]
            ),
            (
                "supports_complex_expression_pushdown".to_owned(),
                vec!["supported_function_expression_types".to_owned()]
            ),
            (
                "supports_limit_pushdown".to_owned(),
                vec!["integer_constant".to_owned()]
            ),
            (
                "supports_top_n_pushdown".to_owned(),
                vec!["SUPPORTS_ORDER_BY".to_owned()]
            ),
            (
                "SYSTEM.QUERY".to_owned(),
                vec![
                    "query_passthrough_schema".to_owned(),
                    "query_passthrough_name".into(),
                    "query_passthrough_arguments".into()
                ]
            ),
        ]
    );
    assert_eq!(
        caps.capabilities["supports_complex_expression_pushdown"][0]
            .properties
            .len(),
        21
    );
    let off = pg_client(&[("enable_query_passthrough", "false")]).await;
    let r = off
        .send(
            athena_connector::protocol::Request::GetDataSourceCapabilities(
                athena_connector::protocol::GetDataSourceCapabilitiesRequest {
                    header: athena_connector::protocol::RequestHeader {
                        identity: off.identity.clone(),
                        query_id: "q".into(),
                        catalog_name: "pg".into(),
                    },
                },
            ),
        )
        .await
        .unwrap();
    let athena_connector::protocol::Response::GetDataSourceCapabilities(r) = r else {
        panic!()
    };
    assert!(!r.capabilities.contains_key("SYSTEM.QUERY"));
}

#[tokio::test]
async fn kms_data_keys_encrypt_spilled_blocks() {
    let pg = postgres().await;
    schema(&pg, "kms").await;
    pg.execute("CREATE TABLE kms.t (id int8, s text); INSERT INTO kms.t SELECT g, md5(g::text) FROM generate_series(1, 5000) g;").await.unwrap();
    create_bucket("kms-spill").await;
    let kms = aws_sdk_kms::Client::new(&aws().await);
    let key = kms
        .create_key()
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .key_id;
    let mut c = pg_client(&[("spill_bucket", "kms-spill"), ("kms_key_id", key.as_str())]).await;
    c.max_block_size = 50_000;
    c.max_inline_block_size = 10_000;
    let t = c
        .get_table(
            &athena_connector::protocol::TableName::new("kms", "t"),
            Default::default(),
        )
        .await
        .unwrap();
    let splits = c.splits(&t, &Constraints::default()).await.unwrap();
    let k = splits[0].encryption_key.as_ref().expect("a key per split");
    assert_eq!(
        (k.key.len(), k.nonce.len()),
        (16, 12),
        "KMS AES-128 data key and a 12-byte nonce"
    );
    let r = read(&c, "kms", "t", &["id"], &Constraints::default())
        .await
        .unwrap();
    assert_eq!(ids(&r.batch, "id"), (1..=5000).collect::<Vec<_>>());
}

/// A read that fails inside its transaction (here: division by zero on the second row of a
/// passthrough query) does not leave its pooled connection in an aborted transaction: the
/// reads after it work (upstream #3495: "current transaction is aborted, commands ignored
/// until end of transaction block").
#[tokio::test]
async fn a_failed_read_does_not_poison_the_connection_pool() {
    let pg = postgres().await;
    schema(&pg, "qpool").await;
    pg.execute("CREATE TABLE qpool.t (id int); INSERT INTO qpool.t VALUES (1), (2);")
        .await
        .unwrap();
    let c = pg_client(&[]).await;
    let args: indexmap::IndexMap<String, String> = [
        ("schemaFunctionName".to_owned(), "system.query".to_owned()),
        (
            "QUERY".to_owned(),
            "SELECT 1 / (id - 2) AS x FROM qpool.t ORDER BY id".to_owned(),
        ),
    ]
    .into_iter()
    .collect();
    let name = athena_connector::protocol::TableName::new("system", "query");
    let t = c.get_table(&name, args.clone()).await.unwrap();
    let constraints = Constraints {
        query_passthrough_arguments: args,
        ..Default::default()
    };
    let splits = c.splits(&t, &constraints).await.unwrap();
    let err = c
        .read_split(&name, t.schema.clone(), splits[0].clone(), &constraints)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("division by zero"), "{err}");
    for _ in 0..5 {
        let r = read(&c, "qpool", "t", &["id"], &Constraints::default())
            .await
            .unwrap();
        assert_eq!(ids(&r.batch, "id"), [1, 2]);
    }
}

/// `spill_put_request_headers` (upstream PR #718, #1320): every spilled object is written
/// with the configured headers, here server-side encryption and a tag.
#[tokio::test]
async fn spill_writes_carry_the_configured_headers() {
    let pg = postgres().await;
    schema(&pg, "spillhdr").await;
    pg.execute("CREATE TABLE spillhdr.t (id int8, s text); INSERT INTO spillhdr.t SELECT g, md5(g::text) FROM generate_series(1, 20000) g;").await.unwrap();
    create_bucket("spill-headers").await;
    let mut c = pg_client(&[
        ("spill_bucket", "spill-headers"),
        (
            "spill_put_request_headers",
            r#"{"x-amz-server-side-encryption": "AES256", "x-amz-tagging": "team=data"}"#,
        ),
    ])
    .await;
    c.max_block_size = 200_000;
    c.max_inline_block_size = 100_000;
    let r = read(&c, "spillhdr", "t", &["id", "s"], &Constraints::default())
        .await
        .unwrap();
    assert_eq!(ids(&r.batch, "id"), (1..=20000).collect::<Vec<_>>());
    let s3 = s3().await;
    let listed = s3
        .list_objects_v2()
        .bucket("spill-headers")
        .prefix(format!(
            "{}/{}/",
            athena_connector::config::DEFAULT_SPILL_PREFIX,
            c.query_id
        ))
        .send()
        .await
        .unwrap();
    let keys: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert!(keys.len() >= 2, "{keys:?}");
    for key in keys {
        let head = s3
            .head_object()
            .bucket("spill-headers")
            .key(key)
            .send()
            .await
            .unwrap();
        assert_eq!(
            head.server_side_encryption().map(|e| e.as_str()),
            Some("AES256"),
            "{key}"
        );
        let tags = s3
            .get_object_tagging()
            .bucket("spill-headers")
            .key(key)
            .send()
            .await
            .unwrap();
        let tags: Vec<(&str, &str)> = tags
            .tag_set()
            .iter()
            .map(|t| (t.key(), t.value()))
            .collect();
        assert_eq!(tags, [("team", "data")], "{key}");
    }
}

/// Filters on numerics compare the values Athena sees: an unbounded `numeric` at
/// `default_scale` (12345.6 reads as 12346, and `= 12346` finds it), and `numeric(19,0)`
/// keys beyond a double's precision exactly (upstream #360, #732); each answer is the
/// database's own for the same predicate.
#[tokio::test]
async fn numeric_filters_compare_the_values_athena_sees() {
    let pg = postgres().await;
    schema(&pg, "numf").await;
    pg.execute(
        "CREATE TABLE numf.t (id int, u numeric, k numeric(19,0));
         INSERT INTO numf.t VALUES (1, 12345.6, -7821704872881582871),
           (2, 12345.4, -7821704872881582870), (3, -0.5, 9223372036854775807), (4, NULL, NULL)",
    )
    .await
    .unwrap();
    let c = pg_client(&[]).await;
    let dec = |value: i128, precision: u8| Scalar::Decimal {
        value,
        precision,
        scale: 0,
    };
    let on = |col: &str, t: DataType, r: Range| Constraints {
        summary: [(col.to_owned(), ValueSet::ranges(&t, vec![r], false))]
            .into_iter()
            .collect(),
        ..Default::default()
    };
    let u = DataType::Decimal128(38, 0);
    let k = DataType::Decimal128(19, 0);
    for (constraints, sql, want) in [
        (
            on("u", u.clone(), Range::equal(dec(12346, 38))),
            "round(u) = 12346",
            vec![1],
        ),
        (
            on(
                "u",
                u.clone(),
                Range::between(&u, Some((dec(12345, 38), false)), None),
            ),
            "round(u) > 12345",
            vec![1],
        ),
        (
            on("u", u.clone(), Range::equal(dec(-1, 38))),
            "round(u) = -1",
            vec![3],
        ),
        (
            on("k", k.clone(), Range::equal(dec(-7821704872881582871, 19))),
            "k = -7821704872881582871",
            vec![1],
        ),
        (
            on(
                "k",
                k.clone(),
                Range::between(&k, Some((dec(-7821704872881582871, 19), false)), None),
            ),
            "k > -7821704872881582871",
            vec![2, 3],
        ),
    ] {
        let got = read(&c, "numf", "t", &["id"], &constraints).await.unwrap();
        let db: Vec<i32> = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT id FROM numf.t WHERE {sql} ORDER BY id"
        )))
        .fetch_all(&pg)
        .await
        .unwrap();
        assert_eq!(ids(&got.batch, "id"), want, "{sql}");
        assert_eq!(
            db.into_iter().map(i64::from).collect::<Vec<_>>(),
            want,
            "{sql} on the database"
        );
    }
}

/// Tiny tables are one split each, even with a one-byte split target (upstream #409); an
/// upper-case primary key does not matter to page-range splits (upstream #234).
#[tokio::test]
async fn tiny_tables_are_one_split_and_upper_case_keys_split() {
    let pg = postgres().await;
    schema(&pg, "tiny").await;
    pg.execute(
        "CREATE TABLE tiny.one (\"ID\" int PRIMARY KEY); INSERT INTO tiny.one VALUES (7);
         CREATE TABLE tiny.empty (\"ID\" int PRIMARY KEY);
         CREATE TABLE tiny.\"Keyed\" (\"ID\" int8 PRIMARY KEY, pad text);
         INSERT INTO tiny.\"Keyed\" SELECT g, repeat('x', 200) FROM generate_series(1, 20000) g;
         ANALYZE tiny.\"Keyed\"",
    )
    .await
    .unwrap();
    let c = pg_client(&[("split_target_bytes", "1")]).await;
    let one = read(&c, "tiny", "one", &["ID"], &Constraints::default())
        .await
        .unwrap();
    assert_eq!((one.splits, ids(&one.batch, "ID")), (1, vec![7]));
    let empty = read(&c, "tiny", "empty", &["ID"], &Constraints::default())
        .await
        .unwrap();
    assert_eq!((empty.splits, empty.batch.num_rows()), (1, 0));
    let c = pg_client(&[("split_target_bytes", "524288")]).await;
    let big = read(&c, "tiny", "Keyed", &["ID"], &Constraints::default())
        .await
        .unwrap();
    assert!(big.splits >= 4, "{} splits", big.splits);
    assert_eq!(ids(&big.batch, "ID"), (1..=20000).collect::<Vec<_>>());
}

/// Arrays read through a view keep their element types (upstream #181), and `citext`
/// compares as the text Athena sees: exact, not case-insensitive.
#[tokio::test]
async fn views_keep_array_types_and_citext_compares_exactly() {
    let pg = postgres().await;
    schema(&pg, "viewarr").await;
    pg.execute(
        "CREATE EXTENSION IF NOT EXISTS citext;
         CREATE TABLE viewarr.t (id int, ai int4[], at text[], s citext);
         INSERT INTO viewarr.t VALUES (1, '{1,NULL,3}', '{a,\"b c\"}', 'Apple'), (2, '{}', '{}', 'apple');
         CREATE VIEW viewarr.v AS SELECT id, ai, at, s FROM viewarr.t",
    )
    .await
    .unwrap();
    let c = pg_client(&[]).await;
    let all = read(
        &c,
        "viewarr",
        "v",
        &["id", "ai", "at", "s"],
        &Constraints::default(),
    )
    .await
    .unwrap();
    let types: Vec<DataType> = all
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
            list(DataType::Int32),
            list(DataType::Utf8),
            DataType::Utf8
        ]
    );
    assert_eq!(
        column_text(&all.batch, "ai"),
        [Some("{1,NULL,3}".into()), Some("{}".into())]
    );
    let eq = Constraints {
        summary: [(
            "s".to_owned(),
            ValueSet::ranges(
                &DataType::Utf8,
                vec![Range::equal(Scalar::Utf8("apple".into()))],
                false,
            ),
        )]
        .into_iter()
        .collect(),
        ..Default::default()
    };
    let exact = read(&c, "viewarr", "v", &["id"], &eq).await.unwrap();
    assert_eq!(ids(&exact.batch, "id"), [2], "Athena's = is case-sensitive");
}

/// `iamAuth=true&user=…` (upstream #721): the connector logs in as that user with an RDS IAM
/// token made from its AWS credentials. This PostgreSQL is not RDS, so it rejects the token:
/// the error names the user and the database's answer, and never shows the token.
/// (The token itself is checked against the AWS SDK's in `rds_auth::tests`.)
#[tokio::test]
async fn iam_auth_logs_in_with_a_token_and_a_rejection_shows_no_token() {
    let pg = postgres().await;
    pg.execute("DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'iam_reader') THEN CREATE ROLE iam_reader LOGIN PASSWORD 'not-a-token' IN ROLE athena_password_auth; END IF; END $$;")
        .await
        .unwrap();
    let hostport = postgres_url().split_once('@').unwrap().1.to_owned();
    let conn = format!("postgres://jdbc:postgresql://{hostport}?iamAuth=true&user=iam_reader");
    let c = client(connector(&[("default", conn.as_str())]).await, "pg").await;
    let err = c.list_schemas().await.err().unwrap().to_string();
    assert!(
        err.contains("the database rejected the credentials of user \"iam_reader\""),
        "{err}"
    );
    assert!(
        !err.contains("X-Amz") && !err.contains("Action=connect"),
        "the token reached an error: {err}"
    );
    // Combined with a secret, the configuration is refused before any login.
    let both = format!("postgres://jdbc:postgresql://{hostport}?iamAuth=true&${{db/x}}");
    let c = client(connector(&[("default", both.as_str())]).await, "pg").await;
    let err = c.list_schemas().await.err().unwrap().to_string();
    assert!(
        err.contains("iamAuth=true cannot be combined with a ${secret}: the token is the password"),
        "{err}"
    );
}

/// A schema with more tables than a page (apache/superset#22487: more than 50 tables timed
/// out in listing; upstream #287: a metadata refresh cost thousands of invocations): 120
/// tables come back sorted and complete in exactly 3 ListTables calls of 50, or 1 call
/// unpaged (page size -1, as Athena sends when it wants everything).
#[tokio::test]
async fn many_tables_list_in_few_calls() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    struct Counting {
        inner: athena_connector::client::InProcess,
        calls: AtomicUsize,
    }
    #[async_trait::async_trait]
    impl athena_connector::client::Transport for Counting {
        async fn call(
            &self,
            request: Vec<u8>,
        ) -> Result<Vec<u8>, athena_connector::protocol::FunctionError> {
            if String::from_utf8_lossy(&request).contains("ListTablesRequest") {
                self.calls.fetch_add(1, Ordering::SeqCst);
            }
            self.inner.call(request).await
        }
    }
    let pg = postgres().await;
    schema(&pg, "many").await;
    let create: String = (0..120)
        .map(|i| format!("CREATE TABLE many.t{i:03} (id int);"))
        .collect();
    pg.execute(AssertSqlSafe(create)).await.unwrap();
    let d = pg_default();
    let transport = Arc::new(Counting {
        inner: athena_connector::client::InProcess(connector(&[("default", d.as_str())]).await),
        calls: AtomicUsize::new(0),
    });
    let c = athena_connector::client::Client::new(transport.clone(), "pg");
    let want: Vec<String> = (0..120).map(|i| format!("t{i:03}")).collect();
    for (page, calls) in [(50, 3), (-1, 1)] {
        transport.calls.store(0, Ordering::SeqCst);
        let tables = c.list_tables("many", page).await.unwrap();
        let names: Vec<String> = tables.iter().map(|t| t.table_name.clone()).collect();
        assert_eq!(names, want, "page size {page}");
        assert_eq!(
            transport.calls.load(Ordering::SeqCst),
            calls,
            "page size {page}"
        );
    }
}

/// Ping and start-up do no database work (upstream #334, a several-second fixed overhead):
/// with the database unreachable, Ping still answers; the first request that needs the
/// database says which one it could not reach.
#[tokio::test]
async fn ping_needs_no_database() {
    let unreachable = "postgres://jdbc:postgresql://127.0.0.1:1/db?user=u&password=p";
    let mut c = client(connector(&[("default", unreachable)]).await, "pg").await; // pings
    assert_eq!(c.ping().await.unwrap(), 5);
    let err = c.list_schemas().await.err().unwrap().to_string();
    assert!(err.contains("cannot connect to 127.0.0.1:1/db"), "{err}");
    assert!(
        err.contains("Connection refused"),
        "the reason, not a timeout: {err}"
    );
}

/// Timestamp filters in every Arrow timestamp unit, with and without a zone, and in
/// DATEMILLI, on `timestamp` and `timestamptz` columns holding microseconds before, around
/// and after the epoch: the rows returned are those whose value as Athena sees it (whole
/// milliseconds) satisfies the predicate, as PostgreSQL itself selects them.
#[tokio::test]
async fn timestamp_filters_of_every_unit_and_zone_select_what_athena_sees() {
    let pg = postgres().await;
    schema(&pg, "ts_filters").await;
    pg.execute(
        "CREATE TABLE ts_filters.t (id int8 PRIMARY KEY, ts timestamp(6), tstz timestamptz)",
    )
    .await
    .unwrap();
    for (id, t) in TIMESTAMP_ROWS {
        sqlx::query(
            "INSERT INTO ts_filters.t VALUES ($1, $2::timestamp, $2::timestamp AT TIME ZONE 'UTC')",
        )
        .bind(id)
        .bind(t)
        .execute(&pg)
        .await
        .unwrap();
    }
    let c = pg_client(&[]).await;
    let failures = timestamp_filter_failures(
        &c,
        "ts_filters",
        &["ts", "tstz"],
        |column| format!("(floor(extract(epoch from {column}) * 1000) * 1000000)"),
        |sql| async {
            sqlx::query_scalar(AssertSqlSafe(sql))
                .fetch_all(&pg)
                .await
                .unwrap()
        },
    )
    .await;
    // And as a person would write it.
    let plain: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM ts_filters.t WHERE ts >= '1969-12-31 23:59:59' ORDER BY id",
    )
    .fetch_all(&pg)
    .await
    .unwrap();
    assert_eq!(plain, [3, 4, 5, 6, 7, 8, 9, 10]);
    assert!(
        failures.is_empty(),
        "{} of the filters select other rows than PostgreSQL:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Timestamp bounds no calendar holds (a seconds value that overflows in microseconds,
/// DATEMILLI far beyond year 262143) fail the read with a clear error: never a panic, never
/// rows selected by a wrapped value.
#[tokio::test]
async fn timestamp_bounds_beyond_any_calendar_fail_clearly() {
    use arrow::datatypes::TimeUnit;
    let pg = postgres().await;
    schema(&pg, "ts_bounds").await;
    pg.execute(
        "CREATE TABLE ts_bounds.t (id int8 PRIMARY KEY, ts timestamp);
         INSERT INTO ts_bounds.t VALUES (1, '1969-12-31 23:59:59'), (2, '2024-01-01 00:00:00')",
    )
    .await
    .unwrap();
    let c = pg_client(&[]).await;
    let seconds = |v: i64| Scalar::Timestamp {
        value: v,
        unit: TimeUnit::Second,
        tz: None,
    };
    let second = DataType::Timestamp(TimeUnit::Second, None);
    for (v, t, negative) in [
        // 10^13 s: 10^19 µs overflows i64 (the old `value * 1_000_000`).
        (seconds(10_000_000_000_000), second.clone(), false),
        (seconds(-10_000_000_000_000), second.clone(), true),
        (seconds(i64::MAX), second.clone(), false),
        (seconds(i64::MIN), second.clone(), true),
        (Scalar::Date64(i64::MAX), DataType::Date64, false),
        (Scalar::Date64(i64::MIN), DataType::Date64, true),
    ] {
        for lower in [true, false] {
            let range = if lower {
                Range::between(&t, Some((v.clone(), true)), None)
            } else {
                Range::between(&t, None, Some((v.clone(), false)))
            };
            let constraints = Constraints {
                summary: [("ts".to_owned(), ValueSet::ranges(&t, vec![range], false))]
                    .into_iter()
                    .collect(),
                ..Default::default()
            };
            match read(&c, "ts_bounds", "t", &["id"], &constraints).await {
                Err(e) => assert!(e.contains("out of range"), "{v:?}: {e}"),
                // A correct answer would do as well: every row above a bound far below,
                // or below a bound far above; none otherwise.
                Ok(r) => assert_eq!(
                    ids(&r.batch, "id"),
                    if lower == negative {
                        vec![1, 2]
                    } else {
                        vec![]
                    },
                    "{v:?}, lower bound: {lower}"
                ),
            }
        }
    }
}
