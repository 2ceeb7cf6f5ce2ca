use arrow::datatypes::DataType;
use indexmap::IndexMap;

use super::*;
use crate::protocol::{
    ArrowType, Constraints, Expression, OrderByField, Range, Scalar, SortDirection, ValueSet,
};
use crate::sql::{MySql, Postgres, PostgresCopy, Sqlite};

fn columns(d: &dyn Dialect) -> IndexMap<String, Column> {
    [
        ("id", DataType::Int64),
        ("name", DataType::Utf8),
        ("price", DataType::Decimal128(10, 2)),
        ("day", DataType::Date32),
    ]
    .into_iter()
    .map(|(n, t)| {
        (
            n.to_owned(),
            Column {
                name: n.into(),
                select: d.quote(n).unwrap(),
                data_type: t,
                output: None,
            },
        )
    })
    .collect()
}

fn build(d: &dyn Dialect, projection: &[&str], c: Constraints) -> Query {
    let cols = columns(d);
    SelectBuilder {
        dialect: d,
        from: d.qualified("s", "t").unwrap(),
        columns: &cols,
    }
    .build(projection, &c, &[])
    .unwrap()
}

fn with(summary: Vec<(&str, ValueSet)>) -> Constraints {
    Constraints {
        summary: summary
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
        ..Default::default()
    }
}

fn i(v: i64) -> Scalar {
    Scalar::Int64(v)
}

#[test]
fn ranges_points_and_nulls_follow_the_sdk() {
    let set = ValueSet::ranges(
        &DataType::Int64,
        vec![
            Range::equal(i(1)),
            Range::equal(i(5)),
            Range::between(&DataType::Int64, Some((i(10), false)), Some((i(20), true))),
            Range::between(&DataType::Int64, Some((i(100), true)), None),
        ],
        true,
    );
    let q = build(&Postgres, &["id", "name"], with(vec![("id", set)]));
    assert_eq!(
        q.sql,
        "SELECT \"id\", \"name\" FROM \"s\".\"t\" WHERE (\"id\" IS NULL OR \"id\" IN ($1::int8, $2::int8) OR (\"id\" > $3::int8 AND \"id\" <= $4::int8) OR \"id\" >= $5::int8)"
    );
    assert_eq!(q.params, vec![i(1), i(5), i(10), i(20), i(100)]);
    let not_null = ValueSet::ranges(
        &DataType::Int64,
        vec![Range::between(&DataType::Int64, None, None)],
        false,
    );
    assert_eq!(
        build(&Postgres, &["id"], with(vec![("id", not_null)])).sql,
        "SELECT \"id\" FROM \"s\".\"t\" WHERE (\"id\" IS NOT NULL)"
    );
    let only_null = ValueSet::ranges(&DataType::Int64, vec![], true);
    assert_eq!(
        build(&Postgres, &["id"], with(vec![("id", only_null)])).sql,
        "SELECT \"id\" FROM \"s\".\"t\" WHERE (\"id\" IS NULL)"
    );
    let nothing = ValueSet::ranges(&DataType::Int64, vec![], false);
    assert_eq!(
        build(&Postgres, &["id"], with(vec![("id", nothing)])).sql,
        "SELECT \"id\" FROM \"s\".\"t\" WHERE (1 = 0)"
    );
}

#[test]
fn equatable_and_all_or_none_sets() {
    let not_in = ValueSet::values(&DataType::Int64, &[i(3), i(4)], false, true).unwrap();
    let all = ValueSet::AllOrNone {
        arrow_type: ArrowType::Int {
            bit_width: 64,
            signed: true,
        },
        all: true,
        null_allowed: false,
    };
    let q = build(&MySql, &["id"], with(vec![("id", not_in), ("day", all)]));
    assert_eq!(q.sql, "SELECT `id` FROM `s`.`t` WHERE (`id` IS NULL OR `id` NOT IN (?, ?)) AND (`day` IS NOT NULL)");
    let none_or_null = ValueSet::AllOrNone {
        arrow_type: ArrowType::Utf8,
        all: false,
        null_allowed: true,
    };
    assert_eq!(
        build(&Sqlite, &["id"], with(vec![("name", none_or_null)])).sql,
        "SELECT \"id\" FROM \"s\".\"t\" WHERE (\"name\" IS NULL)"
    );
}

#[test]
fn strings_compare_by_code_point_and_exactly() {
    let s = |v: &str| Scalar::Utf8(v.into());
    let set = ValueSet::ranges(
        &DataType::Utf8,
        vec![
            Range::equal(s("Ab")),
            Range::between(&DataType::Utf8, Some((s("m"), true)), None),
        ],
        false,
    );
    assert_eq!(
        build(&Postgres, &["id"], with(vec![("name", set.clone())])).sql,
        "SELECT \"id\" FROM \"s\".\"t\" WHERE (\"name\" = $1::text OR (\"name\" COLLATE \"C\") >= $2::text)"
    );
    let q = build(&MySql, &["id"], with(vec![("name", set)]));
    assert_eq!(
        q.sql,
        "SELECT `id` FROM `s`.`t` WHERE ((`name` = ? AND CAST(CONVERT(`name` USING utf8mb4) AS BINARY) = CAST(CONVERT(? USING utf8mb4) AS BINARY)) OR CAST(CONVERT(`name` USING utf8mb4) AS BINARY) >= CAST(CONVERT(? USING utf8mb4) AS BINARY))"
    );
    assert_eq!(q.params, vec![s("Ab"), s("Ab"), s("m")]);
}

#[test]
fn expressions_render_with_bound_constants() {
    let int = ArrowType::Int {
        bit_width: 64,
        signed: true,
    };
    let var = |n: &str, t: ArrowType| Expression::Variable {
        column_name: n.into(),
        arrow_type: t,
    };
    let constant = |vals: &[Scalar], t: &DataType, at: ArrowType| Expression::Constant {
        values: crate::protocol::value_block(t, vals).unwrap(),
        arrow_type: at,
    };
    let call = |f: &str, args: Vec<Expression>| Expression::FunctionCall {
        arrow_type: ArrowType::Bool,
        function_name: f.into(),
        arguments: args,
    };
    let e = call(
        "$and",
        vec![
            call(
                "$greater_than",
                vec![
                    call(
                        "$divide",
                        vec![
                            var("id", int.clone()),
                            constant(&[i(2)], &DataType::Int64, int.clone()),
                        ],
                    ),
                    constant(&[i(3)], &DataType::Int64, int.clone()),
                ],
            ),
            call(
                "$in",
                vec![
                    var("id", int.clone()),
                    constant(&[i(7), i(8)], &DataType::Int64, int.clone()),
                ],
            ),
            call(
                "$like_pattern",
                vec![
                    var("name", ArrowType::Utf8),
                    constant(
                        &[Scalar::Utf8("a\\_%".into())],
                        &DataType::Utf8,
                        ArrowType::Utf8,
                    ),
                ],
            ),
            call(
                "$not",
                vec![call(
                    "$is_null",
                    vec![var("day", ArrowType::Date(crate::protocol::DateUnit::Day))],
                )],
            ),
        ],
    );
    let c = Constraints {
        expression: vec![e.clone()],
        ..Default::default()
    };
    let q = build(&Postgres, &["id"], c.clone());
    assert_eq!(
        q.sql,
        "SELECT \"id\" FROM \"s\".\"t\" WHERE (((\"id\" / $1::int8) > $2::int8) AND (\"id\" IN ($3::int8, $4::int8)) AND (\"name\" LIKE $5::text ESCAPE '') AND (NOT (\"day\" IS NULL)))"
    );
    let q = build(&MySql, &["id"], c);
    assert!(q.sql.contains("((`id` DIV ?) > ?)"), "{}", q.sql);
    assert_eq!(
        q.params[4],
        Scalar::Utf8("a\\\\_%".into()),
        "MySQL's LIKE escape is neutralised"
    );
    let bad = Constraints {
        expression: vec![call("$not", vec![])],
        ..Default::default()
    };
    let cols = columns(&Postgres);
    let err = SelectBuilder {
        dialect: &Postgres,
        from: "t".into(),
        columns: &cols,
    }
    .build(&[], &bad, &[])
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "function $not takes 1 argument(s), found 0"
    );
    let unknown = Constraints {
        expression: vec![call("$cast", vec![])],
        ..Default::default()
    };
    assert_eq!(
        SelectBuilder {
            dialect: &Postgres,
            from: "t".into(),
            columns: &cols
        }
        .build(&[], &unknown, &[])
        .unwrap_err(),
        SqlError::UnsupportedFunction("$cast".into())
    );
}

#[test]
fn top_n_needs_a_limit_and_a_bare_limit_stays_bare() {
    let order = vec![OrderByField {
        column_name: "name".into(),
        direction: SortDirection::AscNullsLast,
    }];
    let top = Constraints {
        order_by: order.clone(),
        limit: 5,
        ..Default::default()
    };
    assert_eq!(
        build(&Postgres, &["id"], top).sql,
        "SELECT \"id\" FROM \"s\".\"t\" ORDER BY (\"name\" COLLATE \"C\") ASC NULLS LAST LIMIT 5"
    );
    let unordered = Constraints {
        order_by: order,
        limit: -1,
        ..Default::default()
    };
    assert_eq!(
        build(&Postgres, &["id"], unordered).sql,
        "SELECT \"id\" FROM \"s\".\"t\""
    );
    let bare = Constraints {
        limit: 3,
        ..Default::default()
    };
    assert_eq!(
        build(&MySql, &[], bare).sql,
        "SELECT 1 FROM `s`.`t` LIMIT 3"
    );
}

#[test]
fn split_ranges_and_copy_placeholders() {
    let cols = columns(&PostgresCopy);
    let q = SelectBuilder {
        dialect: &PostgresCopy,
        from: "\"s\".\"t\"".into(),
        columns: &cols,
    }
    .build(
        &["id"],
        &with(vec![(
            "price",
            ValueSet::ranges(
                &DataType::Decimal128(10, 2),
                vec![Range::equal(Scalar::Decimal {
                    value: 1999,
                    precision: 10,
                    scale: 2,
                })],
                false,
            ),
        )]),
        &[RangePredicate {
            expr: "ctid".into(),
            from: Some(Scalar::Utf8("(0,0)".into())),
            to: Some(Scalar::Utf8("(8192,0)".into())),
            cast: Some("tid"),
        }],
    )
    .unwrap();
    assert_eq!(
        q.sql,
        "SELECT \"id\" FROM \"s\".\"t\" WHERE (\"price\" = (SELECT current_setting('athena.p1')::numeric)) AND ctid >= CAST((SELECT current_setting('athena.p2')::text) AS tid) AND ctid < CAST((SELECT current_setting('athena.p3')::text) AS tid)"
    );
}

#[test]
fn unknown_columns_and_hostile_names_fail_cleanly() {
    let err = SelectBuilder {
        dialect: &Postgres,
        from: "t".into(),
        columns: &columns(&Postgres),
    }
    .build(&["nope"], &Constraints::default(), &[])
    .unwrap_err();
    assert_eq!(err, SqlError::UnknownColumn("nope".into()));
    assert_eq!(
        Postgres
            .qualified("public", "x\"; DROP TABLE t; --")
            .unwrap(),
        "\"public\".\"x\"\"; DROP TABLE t; --\""
    );
}

#[test]
fn constraints_name_columns_in_any_case_unless_ambiguous() {
    let mut cols = columns(&Postgres);
    cols.insert(
        "CamelCol".into(),
        Column {
            name: "CamelCol".into(),
            select: Postgres.quote("CamelCol").unwrap(),
            data_type: DataType::Utf8,
            output: None,
        },
    );
    let builder = SelectBuilder {
        dialect: &Postgres,
        from: "t".into(),
        columns: &cols,
    };
    let eq = |col: &str| {
        with(vec![(
            col,
            ValueSet::ranges(
                &DataType::Utf8,
                vec![Range::equal(Scalar::Utf8("y".into()))],
                false,
            ),
        )])
    };
    for name in ["CamelCol", "camelcol"] {
        let q = builder.build(&["id"], &eq(name), &[]).unwrap();
        assert_eq!(
            q.sql, "SELECT \"id\" FROM t WHERE (\"CamelCol\" = $1::text)",
            "{name}"
        );
    }
    cols.insert(
        "camelcol".into(),
        Column {
            name: "camelcol".into(),
            select: Postgres.quote("camelcol").unwrap(),
            data_type: DataType::Utf8,
            output: None,
        },
    );
    let builder = SelectBuilder {
        dialect: &Postgres,
        from: "t".into(),
        columns: &cols,
    };
    // An exact name still wins; a name matching two columns only by case is refused.
    assert!(builder.build(&["id"], &eq("camelcol"), &[]).is_ok());
    assert_eq!(
        builder.build(&["id"], &eq("CAMELCOL"), &[]).unwrap_err(),
        SqlError::AmbiguousColumn("CAMELCOL".into())
    );
}

#[test]
fn timestamps_compare_the_millisecond_athena_sees() {
    use arrow::datatypes::TimeUnit;
    let cols: IndexMap<String, Column> = [(
        "ts".to_owned(),
        Column {
            name: "ts".into(),
            select: "\"ts\"".into(),
            data_type: DataType::Date64,
            output: None,
        },
    )]
    .into_iter()
    .collect();
    let b = SelectBuilder {
        dialect: &Postgres,
        from: "t".into(),
        columns: &cols,
    };
    let ns = |v| Scalar::Timestamp {
        value: v,
        unit: TimeUnit::Nanosecond,
        tz: Some("America/New_York".into()),
    };
    let t = DataType::Timestamp(TimeUnit::Nanosecond, Some("America/New_York".into()));
    // ts <= -1 ns (millisecond -1 and before), = 5 ms, = 5 ms + 1 ns (no millisecond).
    let set = ValueSet::ranges(
        &t,
        vec![
            Range::between(&t, None, Some((ns(-1), true))),
            Range::equal(ns(5_000_000)),
            Range::equal(ns(5_000_001)),
        ],
        true,
    );
    let q = b.build(&["ts"], &with(vec![("ts", set)]), &[]).unwrap();
    assert_eq!(
        q.sql,
        "SELECT \"ts\" FROM t WHERE (\"ts\" IS NULL OR \"ts\" < $1::timestamp OR (\"ts\" >= $2::timestamp AND \"ts\" < $3::timestamp))"
    );
    assert_eq!(
        q.params,
        vec![Scalar::Date64(0), Scalar::Date64(5), Scalar::Date64(6)]
    );
    // NOT IN of values finer than a millisecond: every non-null value.
    let set = ValueSet::values(&t, &[ns(1), ns(2)], false, false).unwrap();
    let q = b.build(&["ts"], &with(vec![("ts", set)]), &[]).unwrap();
    assert_eq!(q.sql, "SELECT \"ts\" FROM t WHERE (\"ts\" IS NOT NULL)");
    // A bound no calendar holds names the column.
    let s = DataType::Timestamp(TimeUnit::Second, None);
    let huge = Scalar::Timestamp {
        value: i64::MAX,
        unit: TimeUnit::Second,
        tz: None,
    };
    let set = ValueSet::ranges(
        &s,
        vec![Range::between(&s, Some((huge, true)), None)],
        false,
    );
    let e = b
        .build(&["ts"], &with(vec![("ts", set)]), &[])
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("unusable constraint on \"ts\": timestamp bound"),
        "{e}"
    );
    assert!(e.contains("out of range"), "{e}");
}
