//! Each function against Trino's/Athena's documented examples, through SQL.

use arrow::array::{ArrayRef, RecordBatch};
use arrow::util::display::array_value_to_string;
use datafusion::prelude::SessionContext;

use super::register;

fn ctx() -> SessionContext {
    let ctx = SessionContext::new();
    register(&ctx);
    ctx
}

fn shown(col: &ArrayRef, i: usize) -> String {
    if col.is_null(i) {
        "NULL".to_string()
    } else {
        array_value_to_string(col, i).unwrap()
    }
}

/// Every batch `sql` returns.
async fn run(sql: &str) -> Vec<RecordBatch> {
    ctx()
        .sql(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .collect()
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Every value of the first column `sql` returns, displayed.
async fn column(sql: &str) -> Vec<String> {
    run(sql)
        .await
        .iter()
        .flat_map(|b| (0..b.num_rows()).map(|i| shown(b.column(0), i)))
        .collect()
}

/// The single row `sql` returns, as (arrow type, displayed value) per column.
async fn typed_row(sql: &str) -> Vec<(String, String)> {
    let batches = run(sql).await;
    let batch = batches
        .iter()
        .find(|b| b.num_rows() > 0)
        .unwrap_or_else(|| panic!("{sql}: no rows"));
    assert_eq!(batch.num_rows(), 1, "{sql}");
    batch
        .columns()
        .iter()
        .map(|col| (col.data_type().to_string(), shown(col, 0)))
        .collect()
}

/// The single value `sql` returns, as (arrow type, displayed value).
async fn typed(sql: &str) -> (String, String) {
    typed_row(sql).await.swap_remove(0)
}

async fn value(sql: &str) -> String {
    typed(sql).await.1
}

/// Evaluates every `(expression, expected value)` case in one `SELECT` and checks each
/// value, and its arrow type when `arrow_type` is given.
async fn assert_values<E: AsRef<str>>(cases: &[(E, &str)], arrow_type: Option<&str>) {
    let select: Vec<String> = cases
        .iter()
        .enumerate()
        .map(|(i, (expr, _))| format!("{} AS c{i}", expr.as_ref()))
        .collect();
    let row = typed_row(&format!("SELECT {}", select.join(", "))).await;
    assert_eq!(row.len(), cases.len());
    for ((expr, expected), (t, v)) in cases.iter().zip(row) {
        let expr = expr.as_ref();
        if let Some(arrow_type) = arrow_type {
            assert_eq!(t, arrow_type, "{expr}");
        }
        assert_eq!(v, *expected, "{expr}");
    }
}

async fn error(sql: &str) -> String {
    let result = match ctx().sql(sql).await {
        Ok(df) => df.collect().await.map(|_| ()),
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => panic!("{sql}: expected an error"),
        Err(e) => e.to_string(),
    }
}

async fn assert_error(sql: &str, expected: &str) {
    let e = error(sql).await;
    assert!(
        e.contains(expected),
        "{sql}: error {e:?} lacks {expected:?}"
    );
}

#[tokio::test]
async fn date_diff_trino_examples() {
    let cases = [
        ("date_diff('second', TIMESTAMP '2020-03-01 00:00:00', TIMESTAMP '2020-03-02 00:00:00')", "86400"),
        ("date_diff('hour', TIMESTAMP '2020-03-01 00:00:00', TIMESTAMP '2020-03-02 00:00:00')", "24"),
        ("date_diff('day', DATE '2020-03-01', DATE '2020-03-02')", "1"),
        ("date_diff('second', TIMESTAMP '2020-06-01 12:30:45.000000000', TIMESTAMP '2020-06-02 12:30:45.123456789')", "86400"),
        ("date_diff('millisecond', TIMESTAMP '2020-06-01 12:30:45.000000000', TIMESTAMP '2020-06-02 12:30:45.123456789')", "86400123"),
    ];
    assert_values(&cases, Some("Int64")).await;
}

#[tokio::test]
async fn date_diff_calendar() {
    let cases = [
        // Truncated toward zero, both ways.
        ("date_diff('hour', TIMESTAMP '2020-03-01 00:00:00', TIMESTAMP '2020-03-01 01:59:59')", "1"),
        ("date_diff('hour', TIMESTAMP '2020-03-01 01:59:59', TIMESTAMP '2020-03-01 00:00:00')", "-1"),
        ("date_diff('day', DATE '2020-03-02', DATE '2020-03-01')", "-1"),
        ("date_diff('week', DATE '2020-03-01', DATE '2020-03-14')", "1"),
        // Months by the calendar; a month's last day completes the month.
        ("date_diff('month', DATE '2012-01-31', DATE '2012-02-29')", "1"),
        ("date_diff('month', DATE '2012-01-31', DATE '2012-02-28')", "0"),
        ("date_diff('month', TIMESTAMP '2020-01-15 12:00:00', TIMESTAMP '2020-03-15 11:59:59')", "1"),
        ("date_diff('month', DATE '2020-03-15', DATE '2020-01-15')", "-2"),
        ("date_diff('quarter', DATE '2020-01-15', DATE '2020-07-14')", "1"),
        ("date_diff('year', DATE '2012-02-29', DATE '2013-02-28')", "1"),
        ("date_diff('year', DATE '2011-03-01', DATE '2012-02-29')", "0"),
        // Unit is case-insensitive; DATE and TIMESTAMP mix.
        ("date_diff('DAY', DATE '2020-03-01', TIMESTAMP '2020-03-03 12:00:00')", "2"),
        // Instants, whatever the zones.
        ("date_diff('minute', from_iso8601_timestamp('2020-05-11T11:00:00+01:00'), from_iso8601_timestamp('2020-05-11T11:00:00Z'))", "60"),
    ];
    assert_values(&cases, None).await;
}

#[tokio::test]
async fn date_diff_columns_nulls_and_errors() {
    let rows = column(
        "SELECT date_diff(u, a, b) FROM (VALUES \
         ('day', DATE '2020-03-01', DATE '2020-03-11'), \
         ('month', DATE '2020-01-31', DATE '2020-02-29'), \
         ('year', NULL, DATE '2020-01-01'), \
         (NULL, DATE '2020-01-01', DATE '2020-01-02')) t(u, a, b)",
    )
    .await;
    assert_eq!(rows, ["10", "1", "NULL", "NULL"]);
    assert_eq!(
        value("SELECT date_diff('day', NULL, DATE '2020-03-02')").await,
        "NULL"
    );
    assert_error(
        "SELECT date_diff('fortnight', DATE '2020-03-01', DATE '2020-03-02')",
        "date_diff: unknown unit 'fortnight'",
    )
    .await;
    assert_error(
        "SELECT date_diff('hour', DATE '2020-03-01', DATE '2020-03-02')",
        "date_diff: 'hour' is not a valid DATE field",
    )
    .await;
}

#[tokio::test]
async fn date_add_trino_examples() {
    let cases = [
        (
            "date_add('second', 86, TIMESTAMP '2020-03-01 00:00:00')",
            "2020-03-01T00:01:26",
        ),
        (
            "date_add('hour', 9, TIMESTAMP '2020-03-01 00:00:00')",
            "2020-03-01T09:00:00",
        ),
        (
            "date_add('day', -1, TIMESTAMP '2020-03-01 00:00:00')",
            "2020-02-29T00:00:00",
        ),
        (
            "date_add('millisecond', 5, TIMESTAMP '2020-03-01 00:00:00')",
            "2020-03-01T00:00:00.005",
        ),
        (
            "date_add('week', 1, TIMESTAMP '2020-03-01 10:00:00')",
            "2020-03-08T10:00:00",
        ),
        (
            "date_add('month', 1, TIMESTAMP '2012-10-31 01:00:00')",
            "2012-11-30T01:00:00",
        ),
    ];
    assert_values(&cases, Some("Timestamp(ns)")).await;
}

#[tokio::test]
async fn date_add_dates_stay_dates() {
    let cases = [
        ("date_add('month', 1, DATE '2012-01-31')", "2012-02-29"),
        ("date_add('month', -1, DATE '2012-03-31')", "2012-02-29"),
        ("date_add('quarter', 1, DATE '2012-11-30')", "2013-02-28"),
        ("date_add('year', 1, DATE '2012-02-29')", "2013-02-28"),
        ("date_add('Day', 2, DATE '2012-08-08')", "2012-08-10"),
    ];
    assert_values(&cases, Some("Date32")).await;
    // Zone kept; days follow the zone's wall clock.
    assert_eq!(
        value("SELECT date_add('day', 1, from_iso8601_timestamp('2020-05-11T23:30:00+01:00'))")
            .await,
        "2020-05-12T23:30:00+01:00"
    );
}

#[tokio::test]
async fn date_add_columns_nulls_and_errors() {
    let rows = column(
        "SELECT date_add('day', n, d) FROM (VALUES (1, DATE '2020-02-28'), (NULL, DATE '2020-01-01'), (2, NULL)) t(n, d)",
    )
    .await;
    assert_eq!(rows, ["2020-02-29", "NULL", "NULL"]);
    assert_error(
        "SELECT date_add('fortnight', 1, DATE '2020-03-01')",
        "date_add: unknown unit 'fortnight'",
    )
    .await;
    assert_error(
        "SELECT date_add('minute', 1, DATE '2020-03-01')",
        "date_add: 'minute' is not a valid DATE field",
    )
    .await;
}

#[tokio::test]
async fn date_trunc_trino_examples() {
    let ts = "TIMESTAMP '2001-08-22 03:04:05.321'";
    let cases = [
        ("second", "2001-08-22T03:04:05"),
        ("minute", "2001-08-22T03:04:00"),
        ("hour", "2001-08-22T03:00:00"),
        ("day", "2001-08-22T00:00:00"),
        ("week", "2001-08-20T00:00:00"),
        ("month", "2001-08-01T00:00:00"),
        ("quarter", "2001-07-01T00:00:00"),
        ("year", "2001-01-01T00:00:00"),
    ];
    let cases = cases.map(|(unit, expected)| (format!("date_trunc('{unit}', {ts})"), expected));
    assert_values(&cases, Some("Timestamp(ns)")).await;
    // A DATE stays a DATE, as in Trino.
    let cases = [
        ("day", "2001-08-22"),
        ("week", "2001-08-20"),
        ("month", "2001-08-01"),
        ("quarter", "2001-07-01"),
        ("year", "2001-01-01"),
    ];
    let cases = cases
        .map(|(unit, expected)| (format!("date_trunc('{unit}', DATE '2001-08-22')"), expected));
    assert_values(&cases, Some("Date32")).await;
    assert_eq!(
        value("SELECT date_trunc('day', CAST(NULL AS DATE))").await,
        "NULL"
    );
    assert_error(
        "SELECT date_trunc('fortnight', DATE '2001-08-22')",
        "date_trunc: unknown unit 'fortnight'",
    )
    .await;
    assert_error(
        "SELECT date_trunc('hour', DATE '2001-08-22')",
        "date_trunc: 'hour' is not a valid DATE field",
    )
    .await;
    // DataFusion's own message for timestamps names the function too.
    assert_error(
        &format!("SELECT date_trunc('fortnight', {ts})"),
        "date_trunc",
    )
    .await;
}

#[tokio::test]
async fn from_iso8601() {
    assert_eq!(
        typed("SELECT from_iso8601_timestamp('2020-05-11T11:15:05')").await,
        (
            "Timestamp(ms, \"UTC\")".into(),
            "2020-05-11T11:15:05Z".into()
        )
    );
    assert_eq!(
        typed("SELECT from_iso8601_timestamp('2020-05-11T11:15:05.055+01:00')").await,
        (
            "Timestamp(ms, \"+01:00\")".into(),
            "2020-05-11T11:15:05.055+01:00".into()
        )
    );
    assert_eq!(
        typed("SELECT from_iso8601_timestamp_nanos('2020-05-11T11:15:05.123456789+01:00')").await,
        (
            "Timestamp(ns, \"+01:00\")".into(),
            "2020-05-11T11:15:05.123456789+01:00".into()
        )
    );
    assert_eq!(
        value("SELECT from_iso8601_timestamp('2020-05-11')").await,
        "2020-05-11T00:00:00Z"
    );
    // A column keeps the instants, in UTC.
    assert_eq!(
        column("SELECT from_iso8601_timestamp(s) FROM (VALUES ('2020-05-11T11:15:05.055+01:00'), (NULL)) t(s)").await,
        ["2020-05-11T10:15:05.055Z", "NULL"]
    );
    let cases = [
        ("2020-05-11", "2020-05-11"),
        ("2020-W10", "2020-03-02"),
        ("2020-123", "2020-05-02"),
    ]
    .map(|(s, expected)| (format!("from_iso8601_date('{s}')"), expected));
    assert_values(&cases, Some("Date32")).await;
    assert_eq!(value("SELECT from_iso8601_date(NULL)").await, "NULL");
    assert_error(
        "SELECT from_iso8601_date('2020-13-01')",
        "from_iso8601_date: invalid ISO 8601 date '2020-13-01'",
    )
    .await;
    assert_error(
        "SELECT from_iso8601_timestamp('yesterday')",
        "from_iso8601_timestamp: invalid ISO 8601 timestamp 'yesterday'",
    )
    .await;
}

#[tokio::test]
async fn date_format_and_parse() {
    assert_eq!(
        typed("SELECT date_format(TIMESTAMP '2022-10-20 05:10:00', '%m-%d-%Y %H')").await,
        ("Utf8".into(), "10-20-2022 05".into())
    );
    let all = "%a %b %c %d %e %f %H %h %I %i %j %k %l %M %m %p %r %S %s %T %v %W %x %Y %y %% %Q";
    assert_eq!(
        value(&format!("SELECT date_format(TIMESTAMP '2022-10-20 15:04:05.123', '{all}')")).await,
        "Thu Oct 10 20 20 123000 15 03 03 04 293 15 3 October 10 PM 03:04:05 PM 05 05 15:04:05 42 Thursday 2022 2022 22 % Q"
    );
    assert_eq!(
        value("SELECT date_format(DATE '2022-10-20', '%Y/%m/%d %T')").await,
        "2022/10/20 00:00:00"
    );
    assert_eq!(value("SELECT date_format(NULL, '%Y')").await, "NULL");
    for s in ["D", "U", "u", "V", "w", "X"] {
        assert_error(
            &format!("SELECT date_format(TIMESTAMP '2022-10-20 05:10:00', '%{s}')"),
            &format!("date_format: %{s} not supported in date format string"),
        )
        .await;
    }

    assert_eq!(
        typed("SELECT date_parse('2022/10/20/05', '%Y/%m/%d/%H')").await,
        ("Timestamp(ms)".into(), "2022-10-20T05:00:00".into())
    );
    assert_eq!(
        value("SELECT date_parse('Thu, 20 Oct 22 03:04:05 PM .5', '%a, %d %b %y %r .%f')").await,
        "2022-10-20T15:04:05.500"
    );
    assert_eq!(
        value("SELECT date_parse('2022-293', '%Y-%j')").await,
        "2022-10-20T00:00:00"
    );
    assert_eq!(value("SELECT date_parse(NULL, '%Y')").await, "NULL");
    assert_error(
        "SELECT date_parse('2022-13', '%Y-%m')",
        "date_parse: invalid value '2022-13' for format '%Y-%m'",
    )
    .await;
}

#[tokio::test]
async fn field_extractors() {
    let ts = "TIMESTAMP '2001-08-22 03:04:05.321'";
    let cases = [
        ("year", "2001"),
        ("quarter", "3"),
        ("month", "8"),
        ("week", "34"),
        ("week_of_year", "34"),
        ("day", "22"),
        ("day_of_month", "22"),
        ("day_of_week", "3"),
        ("dow", "3"),
        ("day_of_year", "234"),
        ("doy", "234"),
        ("year_of_week", "2001"),
        ("hour", "3"),
        ("minute", "4"),
        ("second", "5"),
        ("millisecond", "321"),
    ];
    let cases = cases.map(|(f, expected)| (format!("{f}({ts})"), expected));
    assert_values(&cases, Some("Int64")).await;
    assert_eq!(value("SELECT day_of_week(DATE '2001-08-26')").await, "7");
    assert_eq!(
        value("SELECT hour(from_iso8601_timestamp('2020-05-11T23:15:05+01:00'))").await,
        "23"
    );
    assert_eq!(value("SELECT year(CAST(NULL AS DATE))").await, "NULL");
    assert_error(
        "SELECT hour(DATE '2001-08-22')",
        "hour: unexpected argument type DATE",
    )
    .await;
}

#[tokio::test]
async fn unixtime_and_timezone() {
    assert_eq!(
        typed("SELECT to_unixtime(TIMESTAMP '2020-03-01 00:00:00.5')").await,
        ("Float64".into(), "1583020800.5".into())
    );
    assert_eq!(
        typed("SELECT from_unixtime(1583020800.5)").await,
        (
            "Timestamp(ms, \"UTC\")".into(),
            "2020-03-01T00:00:00.500Z".into()
        )
    );
    assert_eq!(
        value("SELECT from_unixtime(0, '+02:00')").await,
        "1970-01-01T02:00:00+02:00"
    );
    assert_eq!(value("SELECT from_unixtime(NULL)").await, "NULL");
    assert_eq!(value("SELECT current_timezone()").await, "UTC");
}

#[tokio::test]
async fn regexp_like_is_a_partial_match() {
    assert_eq!(
        value(r"SELECT regexp_like('1a 2b 14m', '\d+b')").await,
        "true"
    );
    assert_eq!(value("SELECT regexp_like('abc', '^b')").await, "false");
    assert_eq!(value("SELECT regexp_like(NULL, 'b')").await, "NULL");
}

#[tokio::test]
async fn element_at_arrays_and_maps() {
    assert_eq!(value("SELECT element_at(ARRAY[1, 2, 3], 2)").await, "2");
    assert_eq!(value("SELECT element_at(ARRAY[1, 2, 3], -1)").await, "3");
    assert_eq!(value("SELECT element_at(ARRAY[1, 2, 3], 4)").await, "NULL");
    assert_error(
        "SELECT element_at(ARRAY[1, 2, 3], 0)",
        "element_at: SQL array indices start at 1",
    )
    .await;
    assert_eq!(
        typed("SELECT element_at(MAP(ARRAY['a', 'b'], ARRAY[1, 2]), 'b')").await,
        ("Int64".into(), "2".into())
    );
    assert_eq!(
        value("SELECT element_at(MAP(ARRAY['a', 'b'], ARRAY[1, 2]), 'z')").await,
        "NULL"
    );
    assert_eq!(
        column("SELECT element_at(a, i) FROM (VALUES (ARRAY[10, 20], 1), (ARRAY[10, 20], -1), (ARRAY[10], 3), (NULL, 1)) t(a, i)").await,
        ["10", "20", "NULL", "NULL"]
    );
}

#[tokio::test]
async fn rows_and_arrays() {
    assert_eq!(value("SELECT ARRAY[1, 2, 3][2]").await, "2");
    assert_eq!(
        value("SELECT CAST(ROW(1, 2e0) AS STRUCT<x BIGINT, y DOUBLE>)['x']").await,
        "1"
    );
    assert_eq!(
        typed("SELECT s.y FROM (SELECT CAST(ROW(1, 2e0) AS STRUCT<x BIGINT, y DOUBLE>) AS s) t")
            .await,
        ("Float64".into(), "2.0".into())
    );
    // Trino's ROW type syntax does not parse (documented in mod.rs).
    error("SELECT CAST(ROW(1, 2e0) AS ROW(x BIGINT, y DOUBLE))").await;
}

#[tokio::test]
async fn native_functions_behave_as_in_athena() {
    let cases = [
        (
            "SELECT approx_distinct(x) FROM (VALUES (1), (2), (2), (NULL)) t(x)",
            "2",
        ),
        (
            "SELECT arbitrary(x) FROM (VALUES (CAST(NULL AS BIGINT)), (5)) t(x)",
            "5",
        ),
        ("SELECT try_cast('abc' AS INTEGER)", "NULL"),
        ("SELECT try_cast('12' AS INTEGER)", "12"),
        ("SELECT 'a' || 'b'", "ab"),
        ("SELECT 'a' || NULL", "NULL"),
        ("SELECT CAST(12 AS VARCHAR)", "12"),
        ("SELECT CAST(DATE '2012-08-08' AS VARCHAR)", "2012-08-08"),
        ("SELECT DATE '2012-08-08' + INTERVAL '2' DAY", "2012-08-10"),
        (
            "SELECT TIMESTAMP '2012-10-31 01:00' + INTERVAL '1' MONTH",
            "2012-11-30T01:00:00",
        ),
        ("SELECT TIMESTAMP '2012-10-31 01:00'", "2012-10-31T01:00:00"),
        ("SELECT cardinality(ARRAY[1, 2, 3])", "3"),
        ("SELECT strpos('high', 'ig')", "2"),
        ("SELECT strpos('high', 'x')", "0"),
        ("SELECT length('héllo')", "5"),
        ("SELECT lower('AbC')", "abc"),
        ("SELECT upper('AbC')", "ABC"),
        ("SELECT trim('  a ')", "a"),
    ];
    for (sql, expected) in cases {
        assert_eq!(value(sql).await, expected, "{sql}");
    }
}

#[tokio::test]
async fn string_and_array_helpers() {
    let cases = [
        ("contains(ARRAY[1, 2, 3], 2)", "true"),
        ("contains(ARRAY[1, 2, 3], 4)", "false"),
        ("contains(ARRAY['a', 'b'], 'b')", "true"),
        ("contains('abc', 'b')", "true"),
        ("split('a.b.c', '.')", "[a, b, c]"),
        ("split('a.b.c', '.', 2)", "[a, b.c]"),
        ("split(NULL, '.')", "NULL"),
        ("substr('hello', 2, 3)", "ell"),
        ("substr('hello', -3)", "llo"),
        ("substr('hello', -3, 2)", "ll"),
        ("substr('hello', 0)", ""),
        ("substr('hello', 9)", ""),
        ("substring('héllo', 2)", "éllo"),
        ("SUBSTRING('hello' FROM 2 FOR 2)", "el"),
        ("substr(NULL, 1)", "NULL"),
    ];
    assert_values(&cases, None).await;
    assert_error(
        "SELECT split('abc', '')",
        "split: the delimiter may not be the empty string",
    )
    .await;
}

#[tokio::test]
async fn unknown_function_is_named() {
    assert_error("SELECT no_such_function(1)", "no_such_function").await;
}

/// Connectors send TIMESTAMP columns as Date64 (the SDK's DATEMILLI): Athena reads them as
/// timestamps, so whole days elapsed count, not calendar days.
#[tokio::test]
async fn datemilli_columns_are_timestamps() {
    assert_eq!(
        value("SELECT date_diff('day', arrow_cast(TIMESTAMP '2023-01-13 14:22:54', 'Date64'), TIMESTAMP '2030-01-01 00:00:00')").await,
        "2544"
    );
    assert_eq!(
        value("SELECT date_diff('hour', arrow_cast(TIMESTAMP '2023-01-13 14:22:54', 'Date64'), TIMESTAMP '2023-01-14 00:00:00')").await,
        "9"
    );
}

/// Dates at the edge of Date32 (beyond chrono's range) fail with the function's name
/// instead of overflowing.
#[tokio::test]
async fn extreme_dates_are_errors() {
    let max = "arrow_cast(CAST(2147483647 AS INT), 'Date32')";
    assert_error(
        &format!("SELECT date_trunc('month', {max})"),
        "date_trunc: date is out of range",
    )
    .await;
    assert_error(
        &format!("SELECT year({max})"),
        "year: timestamp is out of range",
    )
    .await;
    assert_error(
        &format!("SELECT date_format({max}, '%Y')"),
        "date_format: timestamp is out of range",
    )
    .await;
}
