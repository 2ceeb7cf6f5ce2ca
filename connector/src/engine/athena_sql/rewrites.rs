//! An analyzer rule for Trino forms DataFusion parses but cannot run as written:
//! - `TIMESTAMP 'yyyy-mm-dd hh:mm'` (no seconds), which Arrow's parser rejects: `:00` is
//!   added before the cast is evaluated;
//! - `CAST(ROW(a, b) AS STRUCT<x .., y ..>)`, naming a row's fields by position, which
//!   DataFusion refuses (it casts structs by field name): the row is built with the
//!   target's names.

use arrow::datatypes::DataType;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::expr::{Cast, ScalarFunction, TryCast};
use datafusion::logical_expr::expr_rewriter::NamePreserver;
use datafusion::logical_expr::{Expr, LogicalPlan};
use datafusion::optimizer::AnalyzerRule;

#[derive(Debug)]
pub(super) struct AthenaRewrites;

impl AnalyzerRule for AthenaRewrites {
    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> Result<LogicalPlan> {
        plan.transform_up_with_subqueries(|plan| {
            let names = NamePreserver::new(&plan);
            plan.map_expressions(|e| {
                let saved = names.save(&e);
                Ok(e.transform_up(fix)?.update_data(|e| saved.restore(e)))
            })
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "athena_rewrites"
    }
}

fn fix(e: Expr) -> Result<Transformed<Expr>> {
    if let Some(named) = name_row_fields(&e) {
        return Ok(Transformed::yes(named));
    }
    let (Expr::Cast(Cast { expr, field }) | Expr::TryCast(TryCast { expr, field })) = &e else {
        return Ok(Transformed::no(e));
    };
    let Expr::Literal(ScalarValue::Utf8(Some(s)), meta) = expr.as_ref() else {
        return Ok(Transformed::no(e));
    };
    let s = s.trim();
    if !field.data_type().is_temporal() || !lacks_seconds(s) {
        return Ok(Transformed::no(e));
    }
    let literal = Box::new(Expr::Literal(
        ScalarValue::Utf8(Some(format!("{s}:00"))),
        meta.clone(),
    ));
    Ok(Transformed::yes(match e {
        Expr::TryCast(c) => Expr::TryCast(TryCast { expr: literal, ..c }),
        Expr::Cast(c) => Expr::Cast(Cast { expr: literal, ..c }),
        other => other,
    }))
}

/// `yyyy-mm-dd hh:mm` (or with `T`), and nothing more.
fn lacks_seconds(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    // The hour has one or two digits; the minutes follow the colon 3 bytes from the end.
    let colon = b.len().wrapping_sub(3);
    matches!(b.len(), 15 | 16)
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && matches!(b[10], b' ' | b'T')
        && digits(11..colon)
        && b[colon] == b':'
        && digits(colon + 1..b.len())
}

/// `CAST(ROW(a, b) AS STRUCT<x .., y ..>)` → `CAST(named_struct('x', a, 'y', b) AS ..)`.
fn name_row_fields(e: &Expr) -> Option<Expr> {
    let Expr::Cast(Cast { expr, field }) = e else {
        return None;
    };
    // The planner names the ROW(...) call with an alias inside the cast.
    let mut row = expr.as_ref();
    while let Expr::Alias(a) = row {
        row = a.expr.as_ref();
    }
    let (DataType::Struct(target), Expr::ScalarFunction(ScalarFunction { func, args })) =
        (field.data_type(), row)
    else {
        return None;
    };
    let positional = args.iter().all(|a| !matches!(a, Expr::Alias(_)));
    if func.name() != "struct" || !positional || args.len() != target.len() {
        return None;
    }
    let named = target
        .iter()
        .zip(args)
        .flat_map(|(f, a)| {
            [
                Expr::Literal(ScalarValue::from(f.name().as_str()), None),
                a.clone(),
            ]
        })
        .collect();
    Some(Expr::Cast(Cast {
        expr: Box::new(datafusion::functions::core::named_struct().call(named)),
        field: field.clone(),
    }))
}

#[cfg(test)]
mod tests {
    use super::lacks_seconds;

    #[test]
    fn lacks_seconds_takes_one_or_two_hour_digits() {
        for s in ["2012-10-31 01:00", "2012-10-31T01:00", "2012-10-31 1:00"] {
            assert!(lacks_seconds(s), "{s}");
        }
        for s in [
            "2012-10-31 01:00:00",
            "2012-10-31 0a:00",
            "2012-10-31 001:0",
            "2012-10-31 01:0",
            "2012-10-31",
            "2012-10-31 é:00",
        ] {
            assert!(!lacks_seconds(s), "{s}");
        }
    }
}
