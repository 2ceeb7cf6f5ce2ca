//! Golden SQL for the engines no server runs here: a matrix of constraints through the SQL
//! Server (T-SQL) and Oracle dialects, each statement compared with the text written here
//! and parsed by `sqlglot` in its dialect (installed in `.venv` by `scripts/services.sh`).

use std::io::Write;
use std::process::{Command, Stdio};

use arrow::datatypes::DataType;
use athena_connector::protocol::{
    value_block, ArrowType, Constraints, Expression, OrderByField, Range, Scalar, SortDirection,
    ValueSet,
};
use athena_connector::source::Column;
use athena_connector::sql::{Dialect, Oracle, SelectBuilder, SqlServer};
use indexmap::IndexMap;

fn columns(d: &dyn Dialect) -> IndexMap<String, Column> {
    [
        ("id", DataType::Int64),
        ("Name", DataType::Utf8),
        ("price", DataType::Decimal128(10, 2)),
        ("placed", DataType::Date64),
    ]
    .into_iter()
    .map(|(n, t)| (n.to_owned(), Column::new(n, d.quote(n).unwrap(), t)))
    .collect()
}

fn var(n: &str, t: ArrowType) -> Expression {
    Expression::Variable {
        column_name: n.into(),
        arrow_type: t,
    }
}

fn constant(v: Scalar, t: &DataType) -> Expression {
    Expression::Constant {
        values: value_block(t, &[v]).unwrap(),
        arrow_type: ArrowType::from_data_type(t).unwrap(),
    }
}

fn call(f: &str, args: Vec<Expression>) -> Expression {
    Expression::FunctionCall {
        arrow_type: ArrowType::Bool,
        function_name: f.into(),
        arguments: args,
    }
}

/// The constraints of the matrix, by name.
fn matrix() -> Vec<(&'static str, Constraints)> {
    let int = ArrowType::Int {
        bit_width: 64,
        signed: true,
    };
    let i = Scalar::Int64;
    let text = |s: &str| Scalar::Utf8(s.into());
    let summary = |k: &str, v: ValueSet| Constraints {
        summary: [(k.to_owned(), v)].into_iter().collect(),
        ..Default::default()
    };
    let expression = |e: Expression| Constraints {
        expression: vec![e],
        ..Default::default()
    };
    vec![
        (
            "ranges, points and NULL",
            summary(
                "id",
                ValueSet::ranges(
                    &DataType::Int64,
                    vec![
                        Range::equal(i(1)),
                        Range::equal(i(5)),
                        Range::between(&DataType::Int64, Some((i(10), false)), Some((i(20), true))),
                    ],
                    true,
                ),
            ),
        ),
        (
            "exact text, NOT IN",
            Constraints {
                summary: [
                    (
                        "name".to_owned(),
                        ValueSet::values(&DataType::Utf8, &[text("a'b"), text("Z")], false, false)
                            .unwrap(),
                    ),
                    (
                        "price".to_owned(),
                        ValueSet::ranges(
                            &DataType::Decimal128(10, 2),
                            vec![Range::between(
                                &DataType::Decimal128(10, 2),
                                Some((
                                    Scalar::Decimal {
                                        value: 1999,
                                        precision: 10,
                                        scale: 2,
                                    },
                                    true,
                                )),
                                None,
                            )],
                            false,
                        ),
                    ),
                ]
                .into_iter()
                .collect(),
                ..Default::default()
            },
        ),
        (
            "text ordered by code point",
            summary(
                "Name",
                ValueSet::ranges(
                    &DataType::Utf8,
                    vec![Range::between(
                        &DataType::Utf8,
                        Some((text("m"), true)),
                        None,
                    )],
                    false,
                ),
            ),
        ),
        (
            "timestamps",
            summary(
                "placed",
                ValueSet::ranges(
                    &DataType::Date64,
                    vec![Range::between(
                        &DataType::Date64,
                        Some((Scalar::Date64(-1), true)),
                        Some((Scalar::Date64(86_400_000), false)),
                    )],
                    false,
                ),
            ),
        ),
        (
            "LIKE, IN, integer division, IS DISTINCT FROM",
            expression(call(
                "$and",
                vec![
                    call(
                        "$like_pattern",
                        vec![
                            var("Name", ArrowType::Utf8),
                            constant(text("[a]_%"), &DataType::Utf8),
                        ],
                    ),
                    call(
                        "$in",
                        vec![var("id", int.clone()), constant(i(7), &DataType::Int64)],
                    ),
                    call(
                        "$greater_than",
                        vec![
                            call(
                                "$divide",
                                vec![var("id", int.clone()), constant(i(2), &DataType::Int64)],
                            ),
                            constant(i(3), &DataType::Int64),
                        ],
                    ),
                    call(
                        "$is_distinct_from",
                        vec![var("id", int.clone()), constant(i(4), &DataType::Int64)],
                    ),
                ],
            )),
        ),
        (
            "LIMIT alone",
            Constraints {
                limit: 10,
                ..Default::default()
            },
        ),
        (
            "ORDER BY with LIMIT (top-N)",
            Constraints {
                limit: 3,
                order_by: vec![
                    OrderByField {
                        column_name: "name".into(),
                        direction: SortDirection::DescNullsLast,
                    },
                    OrderByField {
                        column_name: "id".into(),
                        direction: SortDirection::AscNullsFirst,
                    },
                ],
                ..Default::default()
            },
        ),
    ]
}

fn build(d: &dyn Dialect, c: &Constraints) -> String {
    let cols = columns(d);
    SelectBuilder {
        dialect: d,
        from: d.qualified("dbo", "Orders").unwrap(),
        columns: &cols,
    }
    .build(&["id", "Name"], c, &[])
    .unwrap()
    .sql
}

/// Parses each statement with sqlglot in `dialect`; returns those it refused, with why.
fn sqlglot_refusals(dialect: &str, statements: &[String]) -> Vec<String> {
    let python = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    assert!(
        python.is_file(),
        "{} is missing: run scripts/services.sh (it installs sqlglot)",
        python.display()
    );
    let script = format!(
        "import sys, sqlglot\n\
         for line in sys.stdin.read().split('\\x00'):\n    \
             if not line: continue\n    \
             try: sqlglot.parse_one(line, read='{dialect}')\n    \
             except Exception as e: print(repr(line), '->', str(e).splitlines()[0])\n"
    );
    let mut child = Command::new(python)
        .args(["-c", &script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(statements.join("\0").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// `:1` → `:p1` outside quoted text.
fn numbered_binds_named(sql: &str) -> String {
    let mut out = String::new();
    let mut quoted = None;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        match (quoted, c) {
            (None, '\'' | '"') => quoted = Some(c),
            (Some(q), c) if c == q => quoted = None,
            (None, ':') if chars.peek().is_some_and(char::is_ascii_digit) => out.push('p'),
            _ => {}
        }
    }
    out
}

fn check(d: &dyn Dialect, sqlglot_dialect: &str, golden: &[&str]) {
    let got: Vec<String> = matrix().iter().map(|(_, c)| build(d, c)).collect();
    for ((name, _), (got, want)) in matrix().iter().zip(got.iter().zip(golden)) {
        assert_eq!(got, want, "{}: {name}", d.name());
    }
    assert_eq!(got.len(), golden.len());
    // sqlglot reads Oracle's numbered binds (`:1`, valid Oracle) only when named (`:p1`).
    let parsed: Vec<String> = got
        .iter()
        .map(|sql| match sqlglot_dialect {
            "oracle" => numbered_binds_named(sql),
            _ => sql.clone(),
        })
        .collect();
    assert_eq!(
        sqlglot_refusals(sqlglot_dialect, &parsed),
        Vec::<String>::new()
    );
}

#[test]
fn sql_server_statements_are_golden_and_parse_as_t_sql() {
    // The check can fail: a statement cut short is refused.
    assert_eq!(
        sqlglot_refusals("tsql", &["SELECT [id] FROM [t] WHERE ([id] = @P1".into()]).len(),
        1
    );
    check(
        &SqlServer,
        "tsql",
        &[
            "SELECT [id], [Name] FROM [dbo].[Orders] WHERE ([id] IS NULL OR [id] IN (@P1, @P2) OR ([id] > @P3 AND [id] <= @P4))",
            "SELECT [id], [Name] FROM [dbo].[Orders] WHERE (([Name] COLLATE Latin1_General_100_BIN2) NOT IN ((@P1 COLLATE Latin1_General_100_BIN2), (@P2 COLLATE Latin1_General_100_BIN2))) AND ([price] >= @P3)",
            "SELECT [id], [Name] FROM [dbo].[Orders] WHERE (([Name] COLLATE Latin1_General_100_BIN2) >= (@P1 COLLATE Latin1_General_100_BIN2))",
            "SELECT [id], [Name] FROM [dbo].[Orders] WHERE (([placed] >= @P1 AND [placed] < @P2))",
            "SELECT [id], [Name] FROM [dbo].[Orders] WHERE (([Name] COLLATE Latin1_General_100_BIN2 LIKE @P1) AND ([id] IN (@P2)) AND (([id] / @P3) > @P4) AND (NOT EXISTS (SELECT [id] INTERSECT SELECT @P5)))",
            "SELECT TOP (10) [id], [Name] FROM [dbo].[Orders]",
            "SELECT [id], [Name] FROM [dbo].[Orders] ORDER BY CASE WHEN ([Name] COLLATE Latin1_General_100_BIN2) IS NULL THEN 1 ELSE 0 END, ([Name] COLLATE Latin1_General_100_BIN2) DESC, CASE WHEN [id] IS NULL THEN 0 ELSE 1 END, [id] ASC OFFSET 0 ROWS FETCH NEXT 3 ROWS ONLY",
        ],
    );
}

#[test]
fn oracle_statements_are_golden_and_parse_as_oracle() {
    check(
        &Oracle,
        "oracle",
        &[
            r#"SELECT "id", "Name" FROM "dbo"."Orders" WHERE ("id" IS NULL OR "id" IN (:1, :2) OR ("id" > :3 AND "id" <= :4))"#,
            r#"SELECT "id", "Name" FROM "dbo"."Orders" WHERE ("Name" NOT IN (:1, :2)) AND ("price" >= :3)"#,
            r#"SELECT "id", "Name" FROM "dbo"."Orders" WHERE (NLSSORT("Name", 'NLS_SORT=BINARY') >= :1)"#,
            r#"SELECT "id", "Name" FROM "dbo"."Orders" WHERE (("placed" >= :1 AND "placed" < :2))"#,
            r#"SELECT "id", "Name" FROM "dbo"."Orders" WHERE (("Name" LIKE :1) AND ("id" IN (:2)) AND (TRUNC("id" / :3) > :4) AND (DECODE("id", :5, 0, 1) = 1))"#,
            r#"SELECT "id", "Name" FROM "dbo"."Orders" FETCH FIRST 10 ROWS ONLY"#,
            r#"SELECT "id", "Name" FROM "dbo"."Orders" ORDER BY NLSSORT("Name", 'NLS_SORT=BINARY') DESC NULLS LAST, "id" ASC NULLS FIRST FETCH FIRST 3 ROWS ONLY"#,
        ],
    );
}
