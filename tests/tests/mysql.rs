//! The connector over a real MariaDB (MySQL protocol), through the JSON protocol.

use arrow::datatypes::DataType;
use athena_connector::protocol::{ArrowType, Constraints, Expression, Range, Scalar, ValueSet};
use integration_tests::check::{column_text, ids, same_value};
use integration_tests::*;
use sqlx::{AssertSqlSafe, Executor};

/// A fresh database for one test.
async fn database(my: &sqlx::MySqlPool, name: &str) {
    my.execute(AssertSqlSafe(format!("DROP DATABASE IF EXISTS `{name}`")))
        .await
        .unwrap();
    my.execute(AssertSqlSafe(format!("CREATE DATABASE `{name}`")))
        .await
        .unwrap();
}

fn my_default(db: &str) -> String {
    mysql_connection(db)
}

async fn my_client(db: &str, extra: &[(&str, &str)]) -> athena_connector::client::Client {
    let d = my_default(db);
    let mut vars: Vec<(&str, &str)> = vec![("default", d.as_str())];
    vars.extend_from_slice(extra);
    client(connector(&vars).await, "my").await
}

#[tokio::test]
async fn every_type_reads_as_the_database_holds_it_and_unsigned_values_never_overflow() {
    let my = mysql().await;
    database(&my, "my_types").await;
    my.execute(
        "CREATE TABLE my_types.t (id INT PRIMARY KEY, flag TINYINT(1), ti TINYINT, tu TINYINT UNSIGNED, si SMALLINT, su SMALLINT UNSIGNED,
           mi MEDIUMINT, mu MEDIUMINT UNSIGNED, i INT, iu INT UNSIGNED, bi BIGINT, bu BIGINT UNSIGNED,
           d12 DECIMAL(12,2), d38 DECIMAL(38,10), d65 DECIMAL(65,30), f FLOAT, db DOUBLE, b1 BIT(1), b8 BIT(8), y YEAR,
           dt DATE, dtm DATETIME(3), ts TIMESTAMP(3) NULL, tm TIME, c CHAR(5), vc VARCHAR(20) CHARACTER SET utf8mb4, tx TEXT,
           en ENUM('small','large'), st SET('a','b'), js JSON, bn BINARY(3), bl BLOB)",
    )
    .await
    .unwrap();
    my.execute(
        "INSERT INTO my_types.t VALUES
          (1, 1, -128, 255, -32768, 65535, -8388608, 16777215, -2147483648, 4294967295, -9223372036854775808, 18446744073709551615,
           9999999999.99, 1234567890123456789012345678.0123456789, -12345678901234567890123456789012345.123456789012345678901234567890,
           3.5, -1.7976931348623157e308, b'1', b'10100101', 1901, '1000-01-01', '1969-12-31 23:59:59.999', '2038-01-19 03:14:07.999',
           '838:59:59', 'ab', 'émile ☃', 'line\\nbreak', 'large', 'a,b', '{\"k\": [1, 2]}', 'ab', x'00ff10'),
          (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
           NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
          (3, 0, 127, 0, 32767, 0, 8388607, 0, 2147483647, 0, 9223372036854775807, 0, -0.01, -0.0000000001, 0, -0.5, 0.1, b'0', b'0',
           2155, '9999-12-31', '1970-01-01 00:00:00.001', '1970-01-01 00:00:01', '-00:00:01', '', '', '', 'small', '', 'null', '', '')",
    )
    .await
    .unwrap();
    let c = my_client("my_types", &[]).await;
    let all = [
        "id", "flag", "ti", "tu", "si", "su", "mi", "mu", "i", "iu", "bi", "bu", "d12", "d38",
        "d65", "f", "db", "b1", "b8", "y", "dt", "dtm", "ts", "tm", "c", "vc", "tx", "en", "st",
        "js", "bn", "bl",
    ];
    let r = read(&c, "my_types", "t", &all, &Constraints::default())
        .await
        .unwrap();
    let types: Vec<(&str, DataType)> = r
        .table
        .schema
        .fields()
        .iter()
        .map(|f| (f.name().as_str(), f.data_type().clone()))
        .collect();
    assert_eq!(
        types,
        vec![
            ("id", DataType::Int32),
            ("flag", DataType::Boolean),
            ("ti", DataType::Int8),
            ("tu", DataType::Int16),
            ("si", DataType::Int16),
            ("su", DataType::Int32),
            ("mi", DataType::Int32),
            ("mu", DataType::Int32),
            ("i", DataType::Int32),
            ("iu", DataType::Int64),
            ("bi", DataType::Int64),
            ("bu", DataType::Decimal128(20, 0)),
            ("d12", DataType::Decimal128(12, 2)),
            ("d38", DataType::Decimal128(38, 10)),
            ("d65", DataType::Utf8),
            ("f", DataType::Float32),
            ("db", DataType::Float64),
            ("b1", DataType::Boolean),
            ("b8", DataType::Binary),
            ("y", DataType::Date32),
            ("dt", DataType::Date32),
            ("dtm", DataType::Date64),
            ("ts", DataType::Date64),
            ("tm", DataType::Utf8),
            ("c", DataType::Utf8),
            ("vc", DataType::Utf8),
            ("tx", DataType::Utf8),
            ("en", DataType::Utf8),
            ("st", DataType::Utf8),
            ("js", DataType::Utf8),
            ("bn", DataType::Binary),
            ("bl", DataType::Binary),
        ]
    );
    let truth = [
        ("flag", "IF(flag IS NULL, NULL, IF(flag, 'true', 'false'))"),
        ("ti", "CAST(ti AS CHAR)"),
        ("tu", "CAST(tu AS CHAR)"),
        ("si", "CAST(si AS CHAR)"),
        ("su", "CAST(su AS CHAR)"),
        ("mi", "CAST(mi AS CHAR)"),
        ("mu", "CAST(mu AS CHAR)"),
        ("i", "CAST(i AS CHAR)"),
        ("iu", "CAST(iu AS CHAR)"),
        ("bi", "CAST(bi AS CHAR)"),
        ("bu", "CAST(bu AS CHAR)"),
        ("d12", "CAST(CAST(d12 * 100 AS DECIMAL(65,0)) AS CHAR)"),
        (
            "d38",
            "CAST(CAST(d38 * 10000000000 AS DECIMAL(65,0)) AS CHAR)",
        ),
        ("d65", "CAST(d65 AS CHAR)"),
        ("f", "CAST(f AS CHAR)"),
        ("db", "CAST(db AS CHAR)"),
        ("b1", "IF(b1 IS NULL, NULL, IF(b1 = 1, 'true', 'false'))"),
        ("b8", "LOWER(HEX(b8))"),
        // YEAR as the official connector reads it: January 1st of the year.
        ("y", "CAST(DATEDIFF(MAKEDATE(y, 1), '1970-01-01') AS CHAR)"),
        ("dt", "CAST(DATEDIFF(dt, '1970-01-01') AS CHAR)"),
        (
            "dtm",
            "CAST(FLOOR(TIMESTAMPDIFF(MICROSECOND, '1970-01-01', dtm) / 1000) AS CHAR)",
        ),
        (
            "ts",
            "CAST(FLOOR(TIMESTAMPDIFF(MICROSECOND, '1970-01-01', ts) / 1000) AS CHAR)",
        ),
        ("tm", "CAST(tm AS CHAR)"),
        ("c", "c"),
        ("vc", "vc"),
        ("tx", "tx"),
        ("en", "CAST(en AS CHAR)"),
        ("st", "CAST(st AS CHAR)"),
        ("js", "CAST(js AS CHAR)"),
        ("bn", "LOWER(HEX(bn))"),
        ("bl", "LOWER(HEX(bl))"),
    ];
    let got_ids = column_text(&r.batch, "id");
    let mut order: Vec<usize> = (0..3).collect();
    order.sort_by_key(|i| got_ids[*i].clone());
    for (column, sql) in truth {
        let expected: Vec<Option<String>> = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT CAST({sql} AS CHAR) FROM my_types.t ORDER BY id"
        )))
        .fetch_all(&my)
        .await
        .unwrap();
        let got = column_text(&r.batch, column);
        for (row, i) in order.iter().enumerate() {
            assert!(
                same_value(&got[*i], &expected[row]),
                "{column} row {}: connector {:?}, database {:?}",
                row + 1,
                got[*i],
                expected[row]
            );
        }
    }
}

#[tokio::test]
async fn predicates_have_athena_semantics_on_strings_and_match_the_database_elsewhere() {
    let my = mysql().await;
    database(&my, "my_preds").await;
    my.execute(
        "CREATE TABLE my_preds.t (id BIGINT PRIMARY KEY, n INT, s VARCHAR(20) CHARACTER SET utf8mb4, d DATE, u INT UNSIGNED, x DECIMAL(10,2), KEY (s))",
    )
    .await
    .unwrap();
    let words = [
        "apple", "Apple", "APPLE", "banana", "b", "apple ", "Zebra", "émile", "zz", "",
    ];
    for g in 1..=300i64 {
        my.execute(
            sqlx::query("INSERT INTO my_preds.t VALUES (?, ?, ?, ?, ?, ?)")
                .bind(g)
                .bind(if g % 7 == 0 {
                    None
                } else {
                    Some((g * 37) % 100 - 50)
                })
                .bind(if g % 11 == 0 {
                    None
                } else {
                    Some(words[(g % 10) as usize])
                })
                .bind(if g % 13 == 0 {
                    None
                } else {
                    chrono::NaiveDate::from_ymd_opt(1960, 1, 1)
                        .unwrap()
                        .checked_add_days(chrono::Days::new(((g * 97) % 30000) as u64))
                })
                .bind(if g % 5 == 0 {
                    None
                } else {
                    Some(((g * 2_654_435_761) % 4_294_967_295) as u32)
                })
                .bind(if g % 3 == 0 {
                    None
                } else {
                    Some(format!("{}.{:02}", (g * 131) % 200 - 100, g % 100))
                }),
        )
        .await
        .unwrap();
    }
    let c = my_client("my_preds", &[]).await;
    let i = |v: i32| Scalar::Int32(v);
    let r = |t: &DataType, lo: Option<(Scalar, bool)>, hi: Option<(Scalar, bool)>| {
        Range::between(t, lo, hi)
    };
    let i32t = DataType::Int32;
    let numeric: Vec<(&str, ValueSet, &str)> = vec![
        (
            "n",
            ValueSet::ranges(
                &i32t,
                vec![r(&i32t, Some((i(-10), true)), Some((i(10), false)))],
                false,
            ),
            "n >= -10 AND n < 10",
        ),
        (
            "n",
            ValueSet::ranges(
                &i32t,
                vec![
                    r(&i32t, None, Some((i(0), true))),
                    r(&i32t, Some((i(40), false)), None),
                ],
                true,
            ),
            "n <= 0 OR n > 40 OR n IS NULL",
        ),
        (
            "n",
            ValueSet::values(&i32t, &[i(-13), i(24)], false, true).unwrap(),
            "n NOT IN (-13, 24) OR n IS NULL",
        ),
        (
            "n",
            ValueSet::ranges(
                &i32t,
                vec![Range::equal(i(-13)), Range::equal(i(24))],
                false,
            ),
            "n IN (-13, 24)",
        ),
        (
            "u",
            ValueSet::ranges(
                &DataType::Int64,
                vec![r(
                    &DataType::Int64,
                    Some((Scalar::Int64(3_000_000_000), false)),
                    None,
                )],
                false,
            ),
            "u > 3000000000",
        ),
        (
            "x",
            ValueSet::ranges(
                &DataType::Decimal128(10, 2),
                vec![Range::equal(Scalar::Decimal {
                    value: -3599,
                    precision: 10,
                    scale: 2,
                })],
                false,
            ),
            "x = -35.99",
        ),
        (
            "d",
            ValueSet::ranges(
                &DataType::Date32,
                vec![r(&DataType::Date32, None, Some((Scalar::Date32(-1), true)))],
                true,
            ),
            "d <= '1969-12-31' OR d IS NULL",
        ),
    ];
    for (column, set, sql) in numeric {
        let constraints = Constraints {
            summary: [(column.to_owned(), set)].into_iter().collect(),
            ..Default::default()
        };
        let got = read(&c, "my_preds", "t", &["id"], &constraints)
            .await
            .unwrap();
        let want: Vec<i64> = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT id FROM my_preds.t WHERE {sql} ORDER BY id"
        )))
        .fetch_all(&my)
        .await
        .unwrap();
        assert_eq!(ids(&got.batch, "id"), want, "{sql}");
    }
    // Strings: Athena compares exactly, by code point. The truth is computed here from the
    // rows MariaDB holds, since its own `=` ignores case and trailing spaces.
    let rows: Vec<(i64, Option<String>)> = sqlx::query_as("SELECT id, s FROM my_preds.t")
        .fetch_all(&my)
        .await
        .unwrap();
    let s = |v: &str| Scalar::Utf8(v.into());
    let txt = DataType::Utf8;
    type Pred = Box<dyn Fn(Option<&str>) -> bool>;
    let strings: Vec<(ValueSet, Pred)> = vec![
        (
            ValueSet::ranges(&txt, vec![Range::equal(s("apple"))], false),
            Box::new(|v| v == Some("apple")),
        ),
        (
            ValueSet::values(&txt, &[s("Apple"), s("émile")], true, false).unwrap(),
            Box::new(|v| matches!(v, Some("Apple") | Some("émile"))),
        ),
        (
            ValueSet::values(&txt, &[s("apple")], false, true).unwrap(),
            Box::new(|v| v != Some("apple")),
        ),
        (
            ValueSet::ranges(
                &txt,
                vec![r(&txt, Some((s("Zebra"), false)), Some((s("b"), true)))],
                false,
            ),
            Box::new(|v| v.is_some_and(|v| v > "Zebra" && v <= "b")),
        ),
        (
            ValueSet::ranges(&txt, vec![r(&txt, None, Some((s("apple"), false)))], false),
            Box::new(|v| v.is_some_and(|v| v < "apple")),
        ),
    ];
    for (n, (set, keep)) in strings.into_iter().enumerate() {
        let constraints = Constraints {
            summary: [("s".to_owned(), set)].into_iter().collect(),
            ..Default::default()
        };
        let got = read(&c, "my_preds", "t", &["id", "s"], &constraints)
            .await
            .unwrap();
        let mut want: Vec<i64> = rows
            .iter()
            .filter(|(_, v)| keep(v.as_deref()))
            .map(|(id, _)| *id)
            .collect();
        want.sort_unstable();
        assert_eq!(ids(&got.batch, "id"), want, "string case {n}");
    }
    // LIKE is case-sensitive and `\` is no escape, as in Athena.
    let like = Expression::FunctionCall {
        arrow_type: ArrowType::Bool,
        function_name: "$like_pattern".into(),
        arguments: vec![
            Expression::Variable {
                column_name: "s".into(),
                arrow_type: ArrowType::Utf8,
            },
            Expression::Constant {
                values: athena_connector::protocol::value_block(&txt, &[s("a%")]).unwrap(),
                arrow_type: ArrowType::Utf8,
            },
        ],
    };
    let got = read(
        &c,
        "my_preds",
        "t",
        &["id"],
        &Constraints {
            expression: vec![like],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let mut want: Vec<i64> = rows
        .iter()
        .filter(|(_, v)| v.as_deref().is_some_and(|v| v.starts_with('a')))
        .map(|(id, _)| *id)
        .collect();
    want.sort_unstable();
    assert_eq!(ids(&got.batch, "id"), want);
}

#[tokio::test]
async fn partitions_are_pruned_and_large_tables_split_by_primary_key() {
    let my = mysql().await;
    database(&my, "my_parts").await;
    my.execute(
        "CREATE TABLE my_parts.p (id INT PRIMARY KEY, v INT) PARTITION BY RANGE (id) (
           PARTITION p0 VALUES LESS THAN (100), PARTITION p1 VALUES LESS THAN (200), PARTITION p2 VALUES LESS THAN MAXVALUE)",
    )
    .await
    .unwrap();
    my.execute("INSERT INTO my_parts.p SELECT seq, seq FROM seq_1_to_300")
        .await
        .unwrap();
    my.execute("CREATE TABLE my_parts.big (id BIGINT PRIMARY KEY, pad VARCHAR(255)); INSERT INTO my_parts.big SELECT seq, REPEAT('x', 200) FROM seq_1_to_20000; ANALYZE TABLE my_parts.big")
        .await
        .unwrap();
    let c = my_client("my_parts", &[("split_target_bytes", "524288")]).await;
    let all = read(&c, "my_parts", "p", &["id"], &Constraints::default())
        .await
        .unwrap();
    assert_eq!(
        (all.splits, ids(&all.batch, "id")),
        (3, (1..=300).collect::<Vec<_>>())
    );
    let second = Constraints {
        summary: [(
            "id".to_owned(),
            ValueSet::ranges(
                &DataType::Int32,
                vec![Range::between(
                    &DataType::Int32,
                    Some((Scalar::Int32(120), true)),
                    Some((Scalar::Int32(150), false)),
                )],
                false,
            ),
        )]
        .into_iter()
        .collect(),
        ..Default::default()
    };
    let pruned = read(&c, "my_parts", "p", &["id"], &second).await.unwrap();
    assert_eq!(
        (pruned.splits, ids(&pruned.batch, "id")),
        (1, (120..150).collect::<Vec<_>>())
    );
    let big = read(&c, "my_parts", "big", &["id"], &Constraints::default())
        .await
        .unwrap();
    assert!(big.splits >= 4, "{} splits", big.splits);
    assert_eq!(
        ids(&big.batch, "id"),
        (1..=20000).collect::<Vec<_>>(),
        "key ranges cover every row once"
    );
}

#[tokio::test]
async fn mixed_case_names_passthrough_and_injection() {
    let my = mysql().await;
    database(&my, "CamelDb").await;
    my.execute("CREATE TABLE CamelDb.MyTable (ID INT, Val VARCHAR(5)); INSERT INTO CamelDb.MyTable VALUES (1, 'a'), (2, 'b');
                CREATE TABLE CamelDb.Dup (a INT); CREATE TABLE CamelDb.dup (a INT);
                CREATE TABLE CamelDb.`we``ird; x` (id INT); INSERT INTO CamelDb.`we``ird; x` VALUES (42);")
        .await
        .unwrap();
    let c = my_client("CamelDb", &[]).await;
    let r = read(
        &c,
        "cameldb",
        "mytable",
        &["ID", "Val"],
        &Constraints::default(),
    )
    .await
    .unwrap();
    assert_eq!(
        (
            r.table.table_name.schema_name.as_str(),
            r.table.table_name.table_name.as_str()
        ),
        ("CamelDb", "MyTable")
    );
    assert_eq!(ids(&r.batch, "ID"), vec![1, 2]);
    let err = read(&c, "cameldb", "dup", &["a"], &Constraints::default())
        .await
        .err()
        .unwrap();
    assert!(
        err.contains("is ambiguous: CamelDb.Dup, CamelDb.dup differ only in case"),
        "{err}"
    );
    assert_eq!(
        ids(
            &read(&c, "cameldb", "we`ird; x", &["id"], &Constraints::default())
                .await
                .unwrap()
                .batch,
            "id"
        ),
        vec![42]
    );
    let err = read(
        &c,
        "cameldb",
        "mytable` ; drop table dup; --",
        &["ID"],
        &Constraints::default(),
    )
    .await
    .err()
    .unwrap();
    assert!(err.contains("not found"), "{err}");
    let args: indexmap::IndexMap<String, String> = [
        ("schemaFunctionName".to_owned(), "SYSTEM.QUERY".to_owned()),
        (
            "QUERY".to_owned(),
            "SELECT ID + 1 AS next_id, Val FROM CamelDb.MyTable".to_owned(),
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
    let split = c.splits(&t, &constraints).await.unwrap().remove(0);
    let rows = c
        .read_split(&name, t.schema.clone(), split, &constraints)
        .await
        .unwrap();
    assert_eq!(ids(&rows[0], "next_id"), vec![2, 3]);
    let write: indexmap::IndexMap<String, String> = [
        ("schemaFunctionName".to_owned(), "SYSTEM.QUERY".to_owned()),
        (
            "QUERY".to_owned(),
            "SELECT 1 AS x FROM CamelDb.MyTable FOR UPDATE".to_owned(),
        ),
    ]
    .into_iter()
    .collect();
    let constraints = Constraints {
        query_passthrough_arguments: write.clone(),
        ..Default::default()
    };
    let t = c.get_table(&name, write).await.unwrap();
    let split = c.splits(&t, &constraints).await.unwrap().remove(0);
    let err = c
        .read_split(&name, t.schema.clone(), split, &constraints)
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.contains("READ ONLY") || err.contains("read only") || err.contains("read-only"),
        "passthrough runs read-only: {err}"
    );
}

#[tokio::test]
async fn wrong_credentials_fail_without_showing_the_password() {
    let rest = mysql_url()
        .split_once('@')
        .unwrap()
        .1
        .rsplit_once('/')
        .unwrap()
        .0
        .to_owned();
    put_secret("mysql/wrong", "athena", "definitely-wrong").await;
    let conn = format!("mysql://jdbc:mysql://{rest}/athena_test?${{mysql/wrong}}");
    let c = client(connector(&[("default", conn.as_str())]).await, "my").await;
    let err = c.list_schemas().await.err().unwrap().to_string();
    assert!(
        err.contains("the database rejected the credentials of user \"athena\""),
        "{err}"
    );
    assert!(!err.contains("definitely-wrong"));
}

/// Zero dates ('0000-00-00') and dates with a zero month or day, which MySQL stores under a
/// lenient `sql_mode`, read as NULL instead of failing the read (upstream #362); the others
/// exactly as the database computes them.
#[tokio::test]
async fn zero_dates_read_as_null() {
    let my = mysql().await;
    database(&my, "zerodates").await;
    let mut conn = my.acquire().await.unwrap();
    conn.execute("SET SESSION sql_mode = ''").await.unwrap();
    conn.execute(
        "CREATE TABLE zerodates.t (id int PRIMARY KEY, d date, dt datetime(3));
         INSERT INTO zerodates.t VALUES
           (1, '0000-00-00', '0000-00-00 00:00:00'),
           (2, '2020-00-15', '2020-01-00 10:00:00'),
           (3, '2020-01-15', '2020-01-15 10:00:00.250'),
           (4, NULL, NULL)",
    )
    .await
    .unwrap();
    let c = my_client("zerodates", &[]).await;
    let r = read(
        &c,
        "zerodates",
        "t",
        &["id", "d", "dt"],
        &Constraints::default(),
    )
    .await
    .unwrap();
    let mut got: Vec<(Option<String>, Option<String>, Option<String>)> =
        column_text(&r.batch, "id")
            .into_iter()
            .zip(column_text(&r.batch, "d"))
            .zip(column_text(&r.batch, "dt"))
            .map(|((i, d), t)| (i, d, t))
            .collect();
    got.sort();
    // The database's own arithmetic on the same values (NULL where it is not a date).
    let want: Vec<(Option<String>, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT CAST(id AS CHAR), CAST(DATEDIFF(d, '1970-01-01') AS CHAR),
                CAST(TIMESTAMPDIFF(MICROSECOND, '1970-01-01', dt) DIV 1000 AS CHAR)
         FROM zerodates.t ORDER BY id",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    assert_eq!(got, want);
    assert_eq!(
        got,
        [
            (Some("1".into()), None, None),
            (Some("2".into()), None, None),
            (
                Some("3".into()),
                Some("18276".into()),
                Some("1579082400250".into())
            ),
            (Some("4".into()), None, None),
        ]
    );
    // zeroDateTimeBehavior, as Connector/J reads it: `round` gives 0001-01-01, `exception`
    // fails the read naming the column.
    let with = |behavior: &str| {
        format!(
            "{}&zeroDateTimeBehavior={behavior}",
            mysql_connection("zerodates")
        )
    };
    let round = client(connector(&[("default", &with("round"))]).await, "my").await;
    let r = read(
        &round,
        "zerodates",
        "t",
        &["id", "d", "dt"],
        &Constraints::default(),
    )
    .await
    .unwrap();
    let ids = column_text(&r.batch, "id");
    let row1 = ids.iter().position(|i| i.as_deref() == Some("1")).unwrap();
    // 0001-01-01 is day -719162 and millisecond -62135596800000 of the Unix epoch.
    assert_eq!(
        (
            column_text(&r.batch, "d")[row1].clone(),
            column_text(&r.batch, "dt")[row1].clone()
        ),
        (Some("-719162".into()), Some("-62135596800000".into()))
    );
    let strict = client(connector(&[("default", &with("EXCEPTION"))]).await, "my").await;
    let err = read(
        &strict,
        "zerodates",
        "t",
        &["id", "d"],
        &Constraints::default(),
    )
    .await
    .err()
    .unwrap();
    assert!(
        err.contains(
            "column \"d\": a zero date is not a calendar date (zeroDateTimeBehavior=exception"
        ),
        "{err}"
    );
}

/// A primary key named in upper case still splits a large table into key ranges covering
/// every row once (upstream #234); a one-row and an empty table are one split each
/// (upstream #409).
#[tokio::test]
async fn upper_case_keys_split_and_tiny_tables_are_one_split() {
    let my = mysql().await;
    database(&my, "KeyCase").await;
    my.execute("CREATE TABLE KeyCase.Keyed (ID BIGINT PRIMARY KEY, Pad VARCHAR(255)); INSERT INTO KeyCase.Keyed SELECT seq, REPEAT('x', 200) FROM seq_1_to_20000; ANALYZE TABLE KeyCase.Keyed")
        .await
        .unwrap();
    my.execute("CREATE TABLE KeyCase.One (ID INT PRIMARY KEY); INSERT INTO KeyCase.One VALUES (7); CREATE TABLE KeyCase.Empty (ID INT PRIMARY KEY)")
        .await
        .unwrap();
    let c = my_client("KeyCase", &[("split_target_bytes", "524288")]).await;
    let big = read(&c, "KeyCase", "Keyed", &["ID"], &Constraints::default())
        .await
        .unwrap();
    assert!(big.splits >= 4, "{} splits", big.splits);
    assert_eq!(ids(&big.batch, "ID"), (1..=20000).collect::<Vec<_>>());
    // A composite key splits by its leading column (TPC-H lineitem's shape).
    my.execute("CREATE TABLE KeyCase.Lines (OrderKey INT, LineNumber INT, Pad VARCHAR(255), PRIMARY KEY (OrderKey, LineNumber)); INSERT INTO KeyCase.Lines SELECT seq DIV 4, seq MOD 4, REPEAT('x', 200) FROM seq_0_to_19999; ANALYZE TABLE KeyCase.Lines")
        .await
        .unwrap();
    let lines = read(
        &c,
        "KeyCase",
        "Lines",
        &["OrderKey", "LineNumber"],
        &Constraints::default(),
    )
    .await
    .unwrap();
    assert!(lines.splits >= 4, "{} splits", lines.splits);
    let int = |v: Option<String>| v.unwrap().parse::<i64>().unwrap();
    let mut keys: Vec<(i64, i64)> = column_text(&lines.batch, "OrderKey")
        .into_iter()
        .map(int)
        .zip(column_text(&lines.batch, "LineNumber").into_iter().map(int))
        .collect();
    keys.sort();
    let want: Vec<(i64, i64)> = (0..20000).map(|i| (i / 4, i % 4)).collect();
    assert_eq!(keys, want, "every row once");
    let c = my_client("KeyCase", &[("split_target_bytes", "1")]).await;
    let one = read(&c, "KeyCase", "One", &["ID"], &Constraints::default())
        .await
        .unwrap();
    assert_eq!((one.splits, ids(&one.batch, "ID")), (1, vec![7]));
    let empty = read(&c, "KeyCase", "Empty", &["ID"], &Constraints::default())
        .await
        .unwrap();
    assert_eq!((empty.splits, empty.batch.num_rows()), (1, 0));
}

/// `iamAuth=true` on MySQL: the token would go through the cleartext plugin, so TLS is
/// required; this MariaDB has none, and the connector refuses to log in rather than send
/// the token in the clear (the error shows no token).
#[tokio::test]
async fn iam_auth_never_sends_a_token_without_tls() {
    let rest = mysql_url()
        .split_once('@')
        .unwrap()
        .1
        .rsplit_once('/')
        .unwrap()
        .0
        .to_owned();
    let conn = format!("mysql://jdbc:mysql://{rest}/athena_test?iamAuth=true&user=iam_reader");
    let c = client(connector(&[("default", conn.as_str())]).await, "my").await;
    let err = c.list_schemas().await.err().unwrap().to_string();
    assert!(err.contains("cannot connect to"), "{err}");
    assert!(err.to_ascii_lowercase().contains("tls"), "{err}");
    assert!(
        !err.contains("X-Amz") && !err.contains("Action=connect"),
        "{err}"
    );
}

/// Timestamp filters in every Arrow timestamp unit, with and without a zone, and in
/// DATEMILLI, on DATETIME(6) and TIMESTAMP(6) columns (the session's zone is UTC) holding
/// microseconds before, around and after the epoch: the rows returned are those whose value
/// as Athena sees it (whole milliseconds) satisfies the predicate, as MariaDB selects them.
#[tokio::test]
async fn timestamp_filters_of_every_unit_and_zone_select_what_athena_sees() {
    let my = mysql().await;
    database(&my, "ts_filters").await;
    my.execute("CREATE TABLE ts_filters.t (id BIGINT PRIMARY KEY, dt DATETIME(6) NULL, tsz TIMESTAMP(6) NULL)")
        .await
        .unwrap();
    for (id, t) in TIMESTAMP_ROWS {
        // TIMESTAMP holds 1970-01-01 00:00:01 UTC onwards.
        let tsz = t.filter(|t| *t >= "1970-01-01 00:00:01");
        sqlx::query("INSERT INTO ts_filters.t VALUES (?, ?, ?)")
            .bind(id)
            .bind(t)
            .bind(tsz)
            .execute(&my)
            .await
            .unwrap();
    }
    let c = my_client("ts_filters", &[]).await;
    let failures = timestamp_filter_failures(
        &c,
        "ts_filters",
        &["dt", "tsz"],
        |column| format!(
                "(FLOOR(TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', {column}) / 1000) * 1000000)"
            ),
        |sql| async {
            sqlx::query_scalar(AssertSqlSafe(sql))
                .fetch_all(&my)
                .await
                .unwrap()
        },
    )
    .await;
    let plain: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM ts_filters.t WHERE dt >= '1969-12-31 23:59:59' ORDER BY id",
    )
    .fetch_all(&my)
    .await
    .unwrap();
    assert_eq!(plain, [3, 4, 5, 6, 7, 8, 9, 10]);
    assert!(
        failures.is_empty(),
        "{} of the filters select other rows than MariaDB:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Timestamp bounds beyond what DATETIME holds (years 0 to 9999) or any calendar holds fail
/// the read with a clear error, never rows selected by a NULL or wrapped bound.
#[tokio::test]
async fn timestamp_bounds_beyond_the_calendar_fail_clearly() {
    use arrow::datatypes::TimeUnit;
    let my = mysql().await;
    database(&my, "ts_bounds").await;
    my.execute(
        "CREATE TABLE ts_bounds.t (id BIGINT PRIMARY KEY, dt DATETIME);
         INSERT INTO ts_bounds.t VALUES (1, '1969-12-31 23:59:59'), (2, '2024-01-01 00:00:00')",
    )
    .await
    .unwrap();
    let c = my_client("ts_bounds", &[]).await;
    let seconds = |v: i64| Scalar::Timestamp {
        value: v,
        unit: TimeUnit::Second,
        tz: None,
    };
    let second = DataType::Timestamp(TimeUnit::Second, None);
    for (v, t, negative) in [
        (seconds(10_000_000_000_000), second.clone(), false),
        (seconds(i64::MIN), second.clone(), true),
        // Year 10000 and year -1: beyond DATETIME, within chrono.
        (seconds(253_402_300_800), second.clone(), false),
        (seconds(-62_198_755_200), second.clone(), true),
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
                summary: [("dt".to_owned(), ValueSet::ranges(&t, vec![range], false))]
                    .into_iter()
                    .collect(),
                ..Default::default()
            };
            match read(&c, "ts_bounds", "t", &["id"], &constraints).await {
                Err(e) => assert!(e.contains("out of range"), "{v:?}: {e}"),
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
