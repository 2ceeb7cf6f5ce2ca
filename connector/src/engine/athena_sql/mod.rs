//! Athena's (Trino's) everyday SQL functions for the local engine, so queries pasted from
//! Athena run in DataFusion with Athena's results.
//!
//! Left to DataFusion, whose behaviour already matches: `regexp_like` (a partial match),
//! `approx_distinct` (typed UInt64, not BIGINT), `try_cast`, `||`, `CAST(x AS VARCHAR)` of
//! numbers and dates, interval arithmetic, `ARRAY[...]` and `a[i]`, `ROW(...)`,
//! `cardinality`, `strpos`, `length`, `lower`, `upper`, `trim`. The rest is here:
//!
//! - new: `date_diff`, `date_add`, `from_iso8601_timestamp[_nanos]`, `from_iso8601_date`,
//!   `date_parse`, `split`, `current_timezone`, `year` … `millisecond`, `day_of_week`
//!   (`dow`), `day_of_year` (`doy`), `week` (`week_of_year`), `year_of_week` (`yow`),
//!   `day` (`day_of_month`);
//! - replaced (DataFusion has the name with other semantics): `date_trunc` (DATE stays
//!   DATE), `date_format` (MySQL specifiers, not strftime), `element_at` (the value, not a
//!   list; arrays too), `contains` (arrays; strings still work), `to_unixtime` (DOUBLE),
//!   `from_unixtime` (DOUBLE seconds → timestamp with time zone), `substr`/`substring`
//!   (a negative start counts from the end);
//! - alias: `arbitrary` = DataFusion's `any_value`;
//! - rewritten before planning (`rewrites.rs`): `TIMESTAMP 'yyyy-mm-dd hh:mm'` and
//!   `CAST(ROW(..) AS STRUCT<..>)`.
//!
//! Not supported, and why:
//! - Trino's `ROW(x BIGINT, ...)` type: sqlparser's Generic dialect cannot parse it; write
//!   `CAST(ROW(1, 2e0) AS STRUCT<x BIGINT, y DOUBLE>)`.
//! - `(expr).x` on an expression: DataFusion's planner only takes `.x` after a column
//!   (`s.x`); write `expr['x']`.
//! - `CAST(timestamp AS VARCHAR)` prints Arrow's `2012-08-08T01:02:03`, not Trino's
//!   `2012-08-08 01:02:03.000`; doubles print `1.5`, not `1.5E0`.
//! - `contains(ARRAY[1, NULL], 2)` is false (Trino: NULL); `from_unixtime(x, h, m)`.
//!
//! Unknown functions fail in DataFusion's planner with "Invalid function 'name'".

mod collections;
mod common;
mod datetime;
mod fields;
mod format;
mod iso8601;
mod rewrites;
mod strings;
mod unixtime;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use arrow::datatypes::TimeUnit;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::logical_expr::ScalarUDF;
use datafusion::prelude::SessionContext;

/// Registers Athena's functions that DataFusion lacks (or names differently) on `ctx`.
pub fn register(ctx: &SessionContext) {
    let substr = Arc::new(ScalarUDF::new_from_impl(strings::Substr::new()));
    put_substr_planner_first(ctx, &substr);
    ctx.register_udf(substr.as_ref().clone());

    let udfs = [
        ScalarUDF::new_from_impl(datetime::DateDiff::new()),
        ScalarUDF::new_from_impl(datetime::DateAdd::new()),
        ScalarUDF::new_from_impl(datetime::DateTrunc::new()),
        ScalarUDF::new_from_impl(format::DateFormat::new()),
        ScalarUDF::new_from_impl(format::DateParse::new()),
        ScalarUDF::new_from_impl(iso8601::FromIso8601Timestamp::new(
            "from_iso8601_timestamp",
            TimeUnit::Millisecond,
        )),
        ScalarUDF::new_from_impl(iso8601::FromIso8601Timestamp::new(
            "from_iso8601_timestamp_nanos",
            TimeUnit::Nanosecond,
        )),
        ScalarUDF::new_from_impl(iso8601::FromIso8601Date::new()),
        ScalarUDF::new_from_impl(unixtime::ToUnixtime::new()),
        ScalarUDF::new_from_impl(unixtime::FromUnixtime::new()),
        ScalarUDF::new_from_impl(unixtime::CurrentTimezone::new()),
        ScalarUDF::new_from_impl(collections::ElementAt::new()),
        ScalarUDF::new_from_impl(collections::Contains::new()),
        ScalarUDF::new_from_impl(collections::Split::new()),
    ];
    for udf in udfs.into_iter().chain(fields::udfs()) {
        ctx.register_udf(udf);
    }

    ctx.add_analyzer_rule(Arc::new(rewrites::AthenaRewrites));

    let any_value = datafusion::functions_aggregate::any_value::any_value_udaf();
    ctx.register_udaf(any_value.as_ref().clone().with_aliases(["arbitrary"]));
}

/// DataFusion plans SUBSTRING syntax with the first expression planner that accepts it and
/// only lets new planners be appended, so the state is rebuilt with ours in front. This
/// must run before any UDF is registered here: rebuilding re-registers every function, in
/// no particular order, and could let a DataFusion alias win over a replacement.
fn put_substr_planner_first(ctx: &SessionContext, substr: &Arc<ScalarUDF>) {
    let state = ctx.state_ref();
    let mut state = state.write();
    let session_id = state.session_id().to_string();
    let mut builder =
        SessionStateBuilder::new_from_existing(state.clone()).with_session_id(session_id);
    builder
        .expr_planners()
        .get_or_insert_with(Vec::new)
        .insert(0, Arc::new(strings::SubstrPlanner(Arc::clone(substr))));
    *state = builder.build();
}
